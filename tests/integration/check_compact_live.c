/* SPDX-License-Identifier: MIT */
/*
 * check_compact_live.c -- online compaction in srdd with real processes:
 * writers and readers in client mode (one reader holding a zero-copy view
 * from before) while srdd compacts; kill -9 of srdd at several points of a
 * compaction, then restart and a full check; a stale "<store>.compact" is
 * never merged in; the generation changes across restarts; automatic
 * compaction; srdctl status/compact in daemon mode with exit codes.
 * Measurements (writer pause, MB/s of live data) are printed, not asserted.
 */
#include "srd_features.h"

#include <check.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>

#include <json-c/json.h>

#include "client_harness.h"
#include "nngfix.h"
#include "reqconn.h"
#include "shindex.h"
#include "wire.h"

#define VLEN 100u          /* value bytes of preloaded keys */
#define LIVE_KEYS 100000u  /* preloaded: each written twice (half dead) */
#define KILL_KEYS 60000u
#define WRITES 1500u       /* per writer process */

/* ======================================================================== */
/* Data                                                                     */
/* ======================================================================== */

/* Version ver of key i's value (never empty, never the single 0x00). */
static void value_of(unsigned i, unsigned ver, uint8_t *buf, size_t len)
{
    for (size_t j = 0; j < len; j++)
        buf[j] = (uint8_t)(i * 31u + ver * 7u + j + 1u);
}

static srd_val key_of(unsigned i, char *buf)
{
    int n = snprintf(buf, 24, "k%u", i);
    return (srd_val){buf, (size_t)n};
}

/* n keys, version 1 then version 2 of each: half the file is dead. */
static void preload(const char *store, unsigned n)
{
    srd_store *st;
    ck_srd(tu_open(store, SRD_OPEN_CREATE | SRD_OPEN_EMBEDDED, &st));
    enum { B = 1000 };
    static char kb[B][24];
    static uint8_t vb[B][VLEN];
    srd_val keys[B], vals[B];
    for (unsigned ver = 1; ver <= 2; ver++) {
        for (unsigned i = 0; i < n; i += B) {
            unsigned m = n - i < B ? n - i : B;
            for (unsigned k = 0; k < m; k++) {
                keys[k] = key_of(i + k, kb[k]);
                value_of(i + k, ver, vb[k], VLEN);
                vals[k] = (srd_val){vb[k], VLEN};
            }
            ck_srd(srd_put_batch(st, keys, vals, m));
        }
    }
    ck_srd(srd_close(st));
}

/* Every preloaded key holds version 2; count live keys in total. */
static void check_preload(srd_store *st, unsigned n, uint64_t total_keys)
{
    uint8_t want[VLEN], got[VLEN];
    char kb[24];
    for (unsigned i = 0; i < n; i++) {
        size_t len = 0;
        value_of(i, 2, want, VLEN);
        srd_err rc = srd_get_copy(st, key_of(i, kb), got, sizeof got, &len);
        tu_require(rc == SRD_OK && len == VLEN && !memcmp(got, want, VLEN),
                   "key %s: %s, %zu bytes", kb, srd_errname(rc), len);
    }
    uint64_t live = 0;
    ck_srd(srd_count(st, &live));
    ck_assert_uint_eq(live, total_keys);
    srd_verify_report vr;
    ck_srd(srd_verify(st, &vr, NULL, NULL));
}

static void check_store_file(const char *store, unsigned n, uint64_t keys)
{
    srd_store *st;
    ck_srd(tu_open(store, SRD_OPEN_READONLY, &st));
    check_preload(st, n, keys);
    srd_close(st);
}

/* ======================================================================== */
/* Talking to srdd with the wire codec                                      */
/* ======================================================================== */

static tu_req rpc_send(const char *store, srdi_wire_op op)
{
    char url[4200];
    snprintf(url, sizeof url, "unix://%s.sock", store);
    tu_req s;
    ck_assert_int_eq(tu_req_open(&s, url, 5000), 0);
    srdi_wire_request rq = {.version = SRDI_WIRE_VERSION, .client_id = 77,
                            .seq = 1, .op = op};
    size_t len;
    ck_srd(srdi_wire_request_size(&rq, &len));
    uint8_t *m = malloc(len);
    ck_assert_ptr_nonnull(m);
    ck_srd(srdi_wire_request_encode(&rq, m, len));
    ck_assert_int_eq(tu_req_send(&s, m, len), 0);
    free(m);
    return s;
}

static void rpc_close(tu_req s)
{
    tu_req_close(&s);
}

/* The reply on s (closing it); false on timeout or a dead daemon. */
static bool rpc_recv(tu_req s, int timeout_ms, srdi_wire_response *rs)
{
    void *m = NULL;
    size_t len = 0;
    s.timeout_ms = timeout_ms;
    bool ok = tu_req_recv(&s, &m, &len) == 0;
    if (ok)
        ok = srdi_wire_response_decode(m, len, 0, rs, NULL) == SRD_OK;
    free(m);
    rpc_close(s);
    return ok;
}

static srdi_wire_stats stats_of(const char *store)
{
    srdi_wire_response rs;
    ck_assert(rpc_recv(rpc_send(store, SRDI_WIRE_STATS), 5000, &rs));
    ck_assert_int_eq(rs.error, SRD_OK);
    ck_assert(rs.has_stats);
    srdi_wire_stats s = rs.stats;
    srdi_wire_response_free(&rs);
    return s;
}

static srdi_wire_compact compact_rpc(const char *store)
{
    srdi_wire_response rs;
    ck_assert(rpc_recv(rpc_send(store, SRDI_WIRE_COMPACT), 120000, &rs));
    ck_assert_msg(rs.error == SRD_OK, "compact: %s", rs.message);
    ck_assert(rs.has_compact);
    srdi_wire_compact c = rs.compact;
    ck_assert_uint_eq(c.generation, rs.generation);
    srdi_wire_response_free(&rs);
    return c;
}

static void print_measure(const char *what, const srdi_wire_compact *c)
{
    double mb = (double)c->rep.new_size / 1e6;
    printf("%s: %" PRIu64 " -> %" PRIu64 " bytes, %" PRIu64 " copied + %"
           PRIu64 " caught up; writer pause %.3f ms; total %.1f ms; "
           "%.0f MB/s of live data\n", what, c->rep.old_size, c->rep.new_size,
           c->rep.copied_entries, c->rep.caught_up_entries,
           (double)c->rep.pause_us / 1e3, (double)c->rep.total_us / 1e3,
           c->rep.total_us ? mb / ((double)c->rep.total_us / 1e6) : 0.0);
}

/* ======================================================================== */
/* Child roles                                                              */
/* ======================================================================== */

static void writer_value(unsigned id, unsigned i, char *buf, size_t cap)
{
    snprintf(buf, cap, "writer %u wrote value %u", id, i);
}

/* writer STORE ID COUNT: COUNT blocking puts of "w<ID>-<i>". */
static int role_writer(char **argv)
{
    srd_store *st = ch_child_open(argv[0]);
    unsigned id = (unsigned)atoi(argv[1]), count = (unsigned)atoi(argv[2]);
    for (unsigned i = 0; i < count; i++) {
        char k[32], v[64];
        snprintf(k, sizeof k, "w%u-%u", id, i);
        writer_value(id, i, v, sizeof v);
        srd_err rc = srd_put(st, tu_s(k), tu_s(v));
        if (rc != SRD_OK) {
            printf("error at %u: %s\n", i, srd_errname(rc));
            return 1;
        }
    }
    printf("done %u\n", count);
    srd_close(st);
    return 0;
}

/* A "stop SIZE" line on stdin, without blocking; 0 when none yet. */
static long long reader_stop_size(void)
{
    struct pollfd p = {.fd = 0, .events = POLLIN};
    char line[64];
    if (poll(&p, 1, 0) != 1 || !fgets(line, sizeof line, stdin))
        return 0;
    return strtoll(line + 5, NULL, 10);
}

/* Wait until the handle maps a file of size bytes (it switched). */
static bool reader_switched(srd_store *st, long long size)
{
    for (int i = 0; i < 500; i++) {
        srd_info in;
        srd_refresh(st, NULL);
        if (srd_get_info(st, &in) == SRD_OK &&
            (long long)in.file_size == size)
            return true;
        ch_sleep_ms(10);
    }
    return false;
}

/* reader STORE N: reads preloaded keys and checks a view held from the
 * start until "stop SIZE"; then waits to map the new file. */
static int role_reader(char **argv)
{
    srd_store *st = ch_child_open(argv[0]);
    unsigned n = (unsigned)atoi(argv[1]);
    char kb[24];
    srd_view pinned;
    uint8_t copy[VLEN], want[VLEN], got[VLEN];
    if (srd_get(st, key_of(0, kb), &pinned) != SRD_OK || pinned.len != VLEN)
        return 4;
    memcpy(copy, pinned.data, VLEN);
    uint64_t rnd = 1, reads = 0;
    long long size;
    while ((size = reader_stop_size()) == 0) {
        unsigned i = (unsigned)(tu_rand(&rnd) % n);
        size_t len = 0;
        value_of(i, 2, want, VLEN);
        srd_err rc = srd_get_copy(st, key_of(i, kb), got, sizeof got, &len);
        if (rc != SRD_OK || len != VLEN || memcmp(got, want, VLEN) ||
            memcmp(pinned.data, copy, VLEN)) {
            printf("bad read of %s: %s\n", kb, srd_errname(rc));
            return 1;
        }
        reads++;
    }
    bool sw = reader_switched(st, size);
    bool intact = memcmp(pinned.data, copy, VLEN) == 0;
    srd_view_release(&pinned);
    printf("%s reads=%" PRIu64 " switched=%d intact=%d\n",
           sw && intact ? "ok" : "bad", reads, sw, intact);
    srd_close(st);
    return sw && intact ? 0 : 1;
}

static const ch_role roles[] = {
    {"writer", 3, role_writer},
    {"reader", 2, role_reader},
    {NULL, 0, NULL},
};

/* ======================================================================== */
/* Compaction under a live multi-process load                               */
/* ======================================================================== */

static void check_writer_keys(const char *store, unsigned writers)
{
    srd_store *st;
    ck_srd(tu_open(store, SRD_OPEN_READONLY, &st));
    for (unsigned id = 0; id < writers; id++) {
        for (unsigned i = 0; i < WRITES; i++) {
            char k[32], v[64], got[64];
            size_t len = 0;
            snprintf(k, sizeof k, "w%u-%u", id, i);
            writer_value(id, i, v, sizeof v);
            srd_err rc = srd_get_copy(st, tu_s(k), got, sizeof got, &len);
            tu_require(rc == SRD_OK && len == strlen(v) &&
                           !memcmp(got, v, len),
                       "acknowledged write %s lost: %s", k, srd_errname(rc));
        }
    }
    srd_close(st);
}

START_TEST(test_compaction_under_live_load_loses_nothing_and_clients_switch)
{
    preload(g_store, LIVE_KEYS);
    long long before = tu_file_size(g_store);
    start_srdd((const char *const[]){"--sync", "interval:20", NULL});
    char n[16];
    snprintf(n, sizeof n, "%u", LIVE_KEYS);
    ch_child rd[2], wr[2];
    for (int i = 0; i < 2; i++)
        rd[i] = ch_spawn((const char *const[]){"reader", g_store, n, NULL});
    ch_sleep_ms(300); /* the readers hold their views of the old file */
    char cnt[16];
    snprintf(cnt, sizeof cnt, "%u", WRITES);
    for (int i = 0; i < 2; i++)
        wr[i] = ch_spawn((const char *const[]){"writer", g_store,
                                               i ? "1" : "0", cnt, NULL});
    ch_sleep_ms(100);
    srdi_wire_compact c = compact_rpc(g_store);
    print_measure("live compaction (200k entries, half dead, 2 writers)", &c);
    char line[256];
    for (int i = 0; i < 2; i++) {
        ck_assert(ch_line(&wr[i], line, sizeof line));
        ck_assert_msg(!strncmp(line, "done", 4), "writer %d: %s", i, line);
        ck_assert_int_eq(ch_wait(&wr[i]), 0);
    }
    long long after = tu_file_size(g_store);
    for (int i = 0; i < 2; i++) {
        char stop[64];
        snprintf(stop, sizeof stop, "stop %lld", after);
        ch_say(&rd[i], stop);
        ck_assert(ch_line(&rd[i], line, sizeof line));
        printf("reader %d: %s\n", i, line);
        ck_assert_msg(!strncmp(line, "ok", 2), "reader %d: %s", i, line);
        ck_assert_int_eq(ch_wait(&rd[i]), 0);
    }
    /* Half the preload was dead: the file shrank by about that. */
    ck_assert_int_lt(after, before * 3 / 4);
    ck_assert_uint_gt(c.rep.reclaimed, (uint64_t)before / 3);
    ck_assert_uint_eq(stats_of(g_store).generation, c.generation);
    int st = stop_srdd(SIGTERM);
    ck_assert_msg(st == 0, "srdd did not stop cleanly (exit %d)", st);
    check_writer_keys(g_store, 2);
    check_store_file(g_store, LIVE_KEYS, LIVE_KEYS + 2 * WRITES);
}
END_TEST

/* ======================================================================== */
/* kill -9 during compaction                                                */
/* ======================================================================== */

static char *path_in(const char *name)
{
    return tu_join(g_dir, name);
}

static void unlink_sidecar(const char *store, const char *suffix)
{
    char p[4200];
    if (snprintf(p, sizeof p, "%s%s", store, suffix) < (int)sizeof p)
        unlink(p);
}

static bool sidecar_exists(const char *store, const char *suffix)
{
    char p[4200];
    snprintf(p, sizeof p, "%s%s", store, suffix);
    return ch_exists(p);
}

/* Start a compaction, kill srdd at_us after asking (UINT64_MAX: after the
 * reply); returns the file size seen after the kill. */
static long long kill_during(const char *store, pid_t pid, uint64_t at_us)
{
    tu_req s = rpc_send(store, SRDI_WIRE_COMPACT);
    if (at_us == UINT64_MAX) {
        srdi_wire_response rs;
        ck_assert(rpc_recv(s, 120000, &rs));
        srdi_wire_response_free(&rs);
    } else {
        uint64_t t0 = ch_now_us();
        while (ch_now_us() - t0 < at_us)
            ;
        rpc_close(s);
    }
    tu_srdd_stop(pid, SIGKILL);
    return tu_file_size(store);
}

START_TEST(test_kill9_at_any_point_of_compaction_leaves_one_complete_store)
{
    char *tmpl = path_in("template.srd");
    preload(tmpl, KILL_KEYS);
    long long old_size = tu_file_size(tmpl);
    /* A clean run measures how long a compaction takes here. */
    char *dry = path_in("dry.srd");
    ck_assert_int_eq(tu_copy_file(tmpl, dry), 0);
    pid_t pid = tu_srdd_start(dry, NULL, NULL);
    srdi_wire_compact c = compact_rpc(dry);
    tu_srdd_stop(pid, SIGTERM);
    print_measure("kill test store, clean run", &c);
    long long new_size = (long long)c.rep.new_size;
    static const double at[] = {0.0, 0.2, 0.5, 0.8, 0.9, 0.97, 1.1, -1};
    for (size_t p = 0; p < sizeof at / sizeof at[0]; p++) {
        char name[32];
        snprintf(name, sizeof name, "k%zu.srd", p);
        char *store = path_in(name);
        ck_assert_int_eq(tu_copy_file(tmpl, store), 0);
        pid = tu_srdd_start(store, NULL, NULL);
        uint64_t us = at[p] < 0 ? UINT64_MAX
                                : (uint64_t)(at[p] * (double)c.rep.total_us);
        long long size = kill_during(store, pid, us);
        printf("kill -9 at %s%.0f%% of a compaction: store %s\n",
               at[p] < 0 ? "the reply, " : "", at[p] < 0 ? 100 : at[p] * 100,
               size == old_size ? "old" : size == new_size ? "new" : "??");
        ck_assert_msg(size == old_size || size == new_size,
                      "store of %lld bytes is neither old (%lld) nor new "
                      "(%lld)", size, old_size, new_size);
        check_store_file(store, KILL_KEYS, KILL_KEYS);
        unlink_sidecar(store, ".srdd"); /* left by the killed daemon */
        pid = tu_srdd_start(store, NULL, NULL);
        ck_assert(!sidecar_exists(store, ".compact"));
        srdi_wire_compact again = compact_rpc(store);
        ck_assert_uint_eq(again.rep.new_size, (uint64_t)new_size);
        int st = tu_srdd_stop(pid, SIGTERM);
        ck_assert_msg(st == 0, "srdd did not stop cleanly (exit %d)", st);
        check_store_file(store, KILL_KEYS, KILL_KEYS);
        unlink(store);
        free(store);
    }
    free(dry);
    free(tmpl);
}
END_TEST

/* ======================================================================== */
/* Stale temporary file, generations, auto-compaction                       */
/* ======================================================================== */

static bool has_key(const char *store, const char *key)
{
    srd_store *st;
    bool there = false;
    ck_srd(tu_open(store, SRD_OPEN_READONLY, &st));
    ck_srd(srd_exists(st, tu_s(key), &there));
    srd_close(st);
    return there;
}

/* A valid store holding only "ghost", as "<store>.compact". */
static void plant_ghost(const char *store)
{
    char p[4200];
    snprintf(p, sizeof p, "%s.compact", store);
    unlink(p);
    srd_store *st;
    ck_srd(tu_open(p, SRD_OPEN_CREATE | SRD_OPEN_EMBEDDED, &st));
    ck_srd(srd_put(st, tu_s("ghost"), tu_s("never merged")));
    srd_close(st);
    unlink_sidecar(p, ".lock");
}

START_TEST(test_stale_temporary_file_is_never_merged_in)
{
    preload(g_store, 1000);
    plant_ghost(g_store);
    start_srdd(NULL);
    ck_assert(!sidecar_exists(g_store, ".compact")); /* removed at start */
    plant_ghost(g_store); /* and one appearing while srdd runs */
    compact_rpc(g_store);
    ck_assert(!sidecar_exists(g_store, ".compact"));
    ck_assert(!has_key(g_store, "ghost"));
    check_store_file(g_store, 1000, 1000);
}
END_TEST

/* Zero, in place, the slot of key i in the shared index file the last
 * writer closed cleanly (a third party writing into it between two writer
 * sessions of the same boot). */
static void zero_index_slot(const char *store, unsigned i)
{
    char path[4200], kb[24];
    snprintf(path, sizeof path, "%s.idx", store);
    srd_val k = key_of(i, kb);
    uint64_t want = srd_key_hash(k.ptr, k.len);
    size_t len = 0;
    uint8_t *b = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(b);
    long at = -1;
    for (size_t off = SRDI_SHX_HDR; off + 16 <= len && at < 0; off += 16) {
        uint64_t h, loc;
        memcpy(&h, b + off, 8);
        memcpy(&loc, b + off + 8, 8);
        if (loc != 0 && h == want)
            at = (long)off;
    }
    free(b);
    ck_assert_int_gt(at, 0);
    static const uint8_t zeros[16];
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, zeros, sizeof zeros, at), 16);
    close(fd);
}

/* srdd takes the damaged file over from its header alone (same boot);
 * its compaction proves the table against the running sum, finds it
 * wrong and takes the live set from a walk of the store: key 7 is kept. */
START_TEST(test_srdd_compaction_keeps_a_key_whose_index_slot_was_zeroed)
{
    preload(g_store, 1000);
    zero_index_slot(g_store, 7);
    start_srdd(NULL);
    srdi_wire_compact c = compact_rpc(g_store);
    ck_assert_uint_eq(c.rep.copied_entries, 1000);
    stop_srdd(SIGTERM);
    check_store_file(g_store, 1000, 1000);
}
END_TEST

START_TEST(test_generation_changes_with_every_file_and_across_restarts)
{
    preload(g_store, 1000);
    start_srdd(NULL);
    uint64_t g0 = stats_of(g_store).generation;
    uint64_t g1 = compact_rpc(g_store).generation;
    ck_assert_uint_ne(g1, g0);
    ck_assert_uint_eq(stats_of(g_store).generation, g1);
    stop_srdd(SIGKILL);
    unlink_sidecar(g_store, ".srdd");
    start_srdd(NULL);
    ck_assert_uint_eq(stats_of(g_store).generation, g1); /* same file */
    stop_srdd(SIGTERM);
    /* Compacted by an embedded writer while no daemon ran. */
    srd_store *st;
    ck_srd(tu_open(g_store, SRD_OPEN_EMBEDDED, &st));
    ck_srd(srd_compact(st, NULL));
    srd_close(st);
    start_srdd(NULL);
    uint64_t g2 = stats_of(g_store).generation;
    /* The sidecar named the old inode (as after a crash between the
     * rename and its rewrite): the new file still gets a new number. */
    ck_assert_uint_ne(g2, g1);
    ck_assert_uint_ne(g2, g0);
}
END_TEST

START_TEST(test_auto_compact_runs_when_dead_bytes_pass_the_ratio)
{
    preload(g_store, 20000); /* about half dead */
    start_srdd((const char *const[]){"--auto-compact", "0.4",
                                     "--auto-compact-min-dead", "4096",
                                     NULL});
    long long before = tu_file_size(g_store);
    srd_store *st = ch_child_open(g_store); /* one group wakes the check */
    ck_srd(srd_put(st, tu_s("poke"), tu_s("1")));
    srd_close(st);
    srdi_wire_stats s = {0};
    for (int i = 0; i < 500 && s.compactions == 0; i++) {
        ch_sleep_ms(20);
        s = stats_of(g_store);
    }
    ck_assert_uint_ge(s.compactions, 1);
    ck_assert(s.has_last_compact);
    ck_assert_uint_gt(s.last_compact_unix_ms, 0);
    ck_assert_int_lt(tu_file_size(g_store), before * 3 / 4);
    check_store_file(g_store, 20000, 20001);
}
END_TEST

START_TEST(test_srdd_rejects_a_bad_auto_compact_ratio)
{
    static const char *const bad[] = {"0", "1", "1.5", "-0.2", "x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *err = NULL;
        char *argv[] = {SRDD_PATH, "--store", g_store, "--foreground",
                        "--auto-compact", (char *)bad[i], NULL};
        ck_assert_int_eq(tu_run(argv, NULL, NULL, 0, NULL, NULL, &err), 2);
        ck_assert_ptr_nonnull(strstr(err, "--auto-compact"));
        free(err);
    }
}
END_TEST

/* ======================================================================== */
/* srdctl in daemon mode                                                    */
/* ======================================================================== */

static int ctl(char **out, char **err, const char *a, const char *b,
               const char *c)
{
    char *argv[] = {SRDCTL_PATH, (char *)a, "--store", g_store, (char *)b,
                    (char *)c, NULL};
    return tu_run(argv, (char *const[]){"FORCE_NO_TTY=1", NULL}, NULL, 0, out,
                  NULL, err);
}

START_TEST(test_srdctl_status_and_compact_talk_to_srdd)
{
    preload(g_store, KILL_KEYS);
    start_srdd(NULL);
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(ctl(&out, &err, "status", NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "mode:         daemon\n"));
    ck_assert_ptr_nonnull(strstr(out, "generation:"));
    ck_assert_ptr_null(strstr(out, "last compaction"));
    free(out);
    free(err);
    /* A second compaction while one runs: SRD_ESTATE, exit 3. The first
     * may end before srdctl (a process start, slow under the sanitizers)
     * asks; then srdctl compacts itself (exit 0) and the race is rerun. */
    int rc = 0;
    for (int attempt = 0; attempt < 8 && rc != 3; attempt++) {
        tu_req s = rpc_send(g_store, SRDI_WIRE_COMPACT);
        bool running = false;
        for (int ms = 0; ms < 5000 && !running; ms++)
            if (!(running = stats_of(g_store).compacting))
                ch_sleep_ms(1);
        if (running) {
            rc = ctl(&out, &err, "compact", NULL, NULL);
            ck_assert_msg(rc == 3 || rc == 0, "srdctl compact: exit %d: %s",
                          rc, err);
            if (rc == 3)
                ck_assert_ptr_nonnull(strstr(err, "already running"));
            free(out);
            free(err);
        }
        srdi_wire_response rs;
        ck_assert(rpc_recv(s, 120000, &rs));
        srdi_wire_response_free(&rs);
    }
    ck_assert_msg(rc == 3, "srdctl compact never met a running compaction");
    ck_assert_int_eq(ctl(&out, &err, "compact", "--progress", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "writers paused"));
    ck_assert_ptr_nonnull(strstr(err, "compact:"));
    printf("srdctl compact: %s", out);
    free(out);
    free(err);
    ck_assert_int_eq(ctl(&out, &err, "status", "--json", NULL), 0);
    json_object *o = json_tokener_parse(out), *d, *v;
    ck_assert(json_object_object_get_ex(o, "daemon", &d) && d);
    ck_assert(json_object_object_get_ex(d, "generation", &v));
    ck_assert_uint_eq((uint64_t)json_object_get_int64(v),
                      stats_of(g_store).generation);
    ck_assert(json_object_object_get_ex(d, "last_compact_unix", &v));
    ck_assert_int_gt(json_object_get_int64(v), 0);
    json_object_put(o);
    free(out);
    free(err);
}
END_TEST

START_TEST(test_srdctl_reports_an_unresponsive_daemon_with_exit_4)
{
    preload(g_store, 10);
    start_srdd(NULL);
    kill(g_srdd, SIGSTOP);
    char *out = NULL, *err = NULL;
    int rc = ctl(&out, &err, "status", NULL, NULL);
    kill(g_srdd, SIGCONT);
    ck_assert_int_eq(rc, 4);
    ck_assert_ptr_nonnull(strstr(err, "does not answer"));
    free(out);
    free(err);
    /* A discovery file left by a dead daemon: direct mode. */
    stop_srdd(SIGKILL);
    ck_assert_int_eq(ctl(&out, &err, "status", NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "mode:         direct\n"));
    free(out);
    free(err);
    ck_assert_int_eq(ctl(&out, &err, "compact", NULL, NULL), 0);
    free(out);
    free(err);
}
END_TEST

static Suite *compact_live_suite(void)
{
    Suite *s = suite_create("compact_live");
    TCase *tc = tcase_create("daemon");
    tcase_add_checked_fixture(tc, ch_setup, ch_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc,
                   test_compaction_under_live_load_loses_nothing_and_clients_switch);
    tcase_add_test(tc,
                   test_kill9_at_any_point_of_compaction_leaves_one_complete_store);
    tcase_add_test(tc, test_stale_temporary_file_is_never_merged_in);
    tcase_add_test(tc,
                   test_srdd_compaction_keeps_a_key_whose_index_slot_was_zeroed);
    tcase_add_test(tc,
                   test_generation_changes_with_every_file_and_across_restarts);
    tcase_add_test(tc, test_auto_compact_runs_when_dead_bytes_pass_the_ratio);
    tcase_add_test(tc, test_srdd_rejects_a_bad_auto_compact_ratio);
    tcase_add_test(tc, test_srdctl_status_and_compact_talk_to_srdd);
    tcase_add_test(tc, test_srdctl_reports_an_unresponsive_daemon_with_exit_4);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    return ch_main(argc, argv, roles, compact_live_suite);
}
