/* SPDX-License-Identifier: MIT */
/*
 * check_procfaults.c -- faults inside real processes: srdd's appends and
 * syncs of the store failing (EIO, ENOSPC) under a client's workload,
 * srdd unable to allocate its shared index file (a full disk),
 * client processes killed at random points of batches and streams, and a
 * client's socket calls failing. The failures are injected with the
 * LD_PRELOAD library tests/faultshim.c (SRD_FAULT=KIND:N:ERRNO), swept
 * over every call N of the workload until one runs without a fault.
 *
 * After each run: the client got a clear error for what failed (or none:
 * a reset connection may be redialled and the request resent, applied
 * once by srdd's dedupe), srdd still serves, every acknowledged write is
 * there after a restart, whole, every batch and stream whole or absent,
 * and srd_verify is clean.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client_harness.h"

#ifndef SRD_FAULTSHIM_PATH
#error "SRD_FAULTSHIM_PATH (the LD_PRELOAD library) is not defined"
#endif

/* ------------------------------------------------------------------------ */
/* The workload                                                              */
/* ------------------------------------------------------------------------ */

enum { W_PUT, W_BATCH, W_DEL, W_STREAM };

typedef struct pf_op {
    int type;
    const char *key; /* W_BATCH: keys key-0 .. key-2 */
    size_t len;
} pf_op;

/* Every kind of write srdd serves: small, medium and large puts, a batch,
 * a delete (of "gone", written before) and a stream. */
static const pf_op g_ops[] = {
    {W_PUT, "p0", 100},      {W_PUT, "p1", 5000},  {W_BATCH, "b2", 700},
    {W_DEL, "gone", 0},      {W_STREAM, "s4", 300000},
    {W_PUT, "p5", 200000},   {W_PUT, "p6", 10},
};
#define PF_NOPS ((int)(sizeof g_ops / sizeof g_ops[0]))
#define PF_BATCH 3
#define PF_MAXLEN 300000

/* "<prefix><key>" (and "-<i>" for batch items). */
static void pf_key(char *out, size_t cap, const char *prefix, const pf_op *op,
                   int item)
{
    if (op->type == W_BATCH)
        snprintf(out, cap, "%s%s-%d", prefix, op->key, item);
    else
        snprintf(out, cap, "%s%s", prefix, op->key);
}

/* The value of a key: bytes derived from its name (never a lone 0x00). */
static void pf_value(uint8_t *buf, size_t len, const char *key)
{
    uint64_t seed = srd_key_hash(key, strlen(key));
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(((seed >> (i % 7)) + i * 131u) | 1u);
}

static uint8_t g_buf[PF_MAXLEN];

static srd_err pf_stream(srd_store *st, const char *key, size_t len)
{
    srd_stream *s = NULL;
    pf_value(g_buf, len, key);
    srd_err rc = srd_stream_begin(st, tu_s(key), &s);
    for (size_t off = 0; off < len && rc == SRD_OK; off += 65536)
        rc = srd_stream_write(s, g_buf + off,
                              len - off < 65536 ? len - off : 65536);
    if (rc == SRD_OK)
        return srd_stream_commit(s);
    if (s)
        srd_stream_abort(s);
    return rc;
}

static srd_err pf_batch(srd_store *st, const char *prefix, const pf_op *op)
{
    char keys[PF_BATCH][64];
    static uint8_t vals[PF_BATCH][1000];
    srd_val k[PF_BATCH], v[PF_BATCH];
    for (int i = 0; i < PF_BATCH; i++) {
        pf_key(keys[i], sizeof keys[i], prefix, op, i);
        pf_value(vals[i], op->len, keys[i]);
        k[i] = tu_s(keys[i]);
        v[i] = (srd_val){vals[i], op->len};
    }
    return srd_put_batch(st, k, v, PF_BATCH);
}

static srd_err pf_run_op(srd_store *st, const char *prefix, const pf_op *op)
{
    char key[64];
    pf_key(key, sizeof key, prefix, op, 0);
    switch (op->type) {
    case W_BATCH:
        return pf_batch(st, prefix, op);
    case W_DEL:
        return srd_delete(st, tu_s(key), NULL);
    case W_STREAM:
        return pf_stream(st, key, op->len);
    default:
        pf_value(g_buf, op->len, key);
        return srd_put(st, tu_s(key), (srd_val){g_buf, op->len});
    }
}

/* What a handle shows of one write. */
enum { SEEN_ABSENT, SEEN_WHOLE, SEEN_HALF };

/* 1: key holds its value, 0: absent, -1: something else. */
static int pf_key_state(srd_store *st, const char *key, size_t len)
{
    srd_view v;
    srd_err rc = srd_get(st, tu_s(key), &v);
    if (rc == SRD_ENOTFOUND)
        return 0;
    /* tu_require: silent on success, so child processes may call it */
    tu_require(rc == SRD_OK, "get %s: %s", key, srd_errname(rc));
    pf_value(g_buf, len, key);
    bool same = v.len == len && memcmp(v.data, g_buf, len) == 0;
    srd_view_release(&v);
    return same ? 1 : -1;
}

static int pf_seen(srd_store *st, const char *prefix, const pf_op *op)
{
    char key[64];
    pf_key(key, sizeof key, prefix, op, 0);
    if (op->type == W_DEL) { /* "gone" holds 10 bytes until deleted */
        int s = pf_key_state(st, key, 10);
        return s == 0 ? SEEN_WHOLE : s == 1 ? SEEN_ABSENT : SEEN_HALF;
    }
    int n = op->type == W_BATCH ? PF_BATCH : 1, whole = 0, absent = 0;
    for (int i = 0; i < n; i++) {
        pf_key(key, sizeof key, prefix, op, i);
        int s = pf_key_state(st, key, op->len);
        whole += s == 1;
        absent += s == 0;
    }
    return whole == n ? SEEN_WHOLE : absent == n ? SEEN_ABSENT : SEEN_HALF;
}

/* The key the delete removes, written before the workload. */
static srd_err pf_put_gone(srd_store *st, const char *prefix)
{
    char key[64];
    snprintf(key, sizeof key, "%sgone", prefix);
    pf_value(g_buf, 10, key);
    return srd_put(st, tu_s(key), (srd_val){g_buf, 10});
}

/* How a failed write may show after the restart. */
enum {
    AFTER_ABSENT,   /* a failed write left the file as before */
    AFTER_EITHER    /* whole or absent (a failed sync, a reset connection) */
};

/* Each write as its result says: acknowledged ones whole, failed ones as
 * allowed; never half. Returns how many were acknowledged. */
static int pf_check(srd_store *st, const char *prefix, const srd_err *rc,
                    const int *allowed, const char *what)
{
    int acked = 0;
    for (int i = 0; i < PF_NOPS; i++) {
        int s = pf_seen(st, prefix, &g_ops[i]);
        ck_assert_msg(s != SEEN_HALF, "%s: write %d (%s) is half there",
                      what, i, g_ops[i].key);
        if (rc[i] == SRD_OK) {
            acked++;
            ck_assert_msg(s == SEEN_WHOLE, "%s: acknowledged write %d (%s) "
                          "is lost", what, i, g_ops[i].key);
        } else {
            ck_assert_msg(s == SEEN_ABSENT || allowed[i] == AFTER_EITHER,
                          "%s: failed write %d (%s, %s) is there", what, i,
                          g_ops[i].key, srd_errname(rc[i]));
        }
    }
    return acked;
}

static void pf_verify_clean(srd_store *st, const char *what)
{
    srd_verify_report vr;
    srd_err rc = srd_verify(st, &vr, NULL, NULL);
    ck_assert_msg(rc == SRD_OK, "%s: srd_verify: %s", what, srd_errname(rc));
}

/* ------------------------------------------------------------------------ */
/* Running a process under the shim                                          */
/* ------------------------------------------------------------------------ */

/* ASAN_OPTIONS as the test got it, before pf_asan_env changed it. */
static char g_asan0[1024];
static bool g_asan0_set;

/* ASan options for a child under the shim (restored with NULL): ASan
 * must not insist on coming first in the library list (the shim does);
 * extra is appended. */
static void pf_asan_env(const char *extra)
{
    if (!extra) {
        if (g_asan0_set)
            setenv("ASAN_OPTIONS", g_asan0, 1);
        else
            unsetenv("ASAN_OPTIONS");
        return;
    }
    const char *asan = getenv("ASAN_OPTIONS");
    g_asan0_set = asan != NULL;
    snprintf(g_asan0, sizeof g_asan0, "%s", asan ? asan : "");
    char opts[2048];
    snprintf(opts, sizeof opts, "%s%sverify_asan_link_order=0%s", g_asan0,
             *g_asan0 ? ":" : "", extra);
    setenv("ASAN_OPTIONS", opts, 1);
}

/* Put the shim's variables in the environment a child will inherit
 * (spec NULL: take them out again). */
static void pf_shim_env(const char *spec, const char *file, const char *mark)
{
    if (!spec) {
        unsetenv("LD_PRELOAD");
        unsetenv("SRD_FAULT");
        unsetenv("SRD_FAULT_FILE");
        unsetenv("SRD_FAULT_MARK");
        pf_asan_env(NULL);
        return;
    }
    setenv("LD_PRELOAD", SRD_FAULTSHIM_PATH, 1);
    setenv("SRD_FAULT", spec, 1);
    if (file)
        setenv("SRD_FAULT_FILE", file, 1);
    setenv("SRD_FAULT_MARK", mark, 1);
}

/* Whether the shim injected its fault (and removes its mark). */
static bool pf_tripped(const char *mark)
{
    bool yes = access(mark, F_OK) == 0;
    unlink(mark);
    return yes;
}

/* ------------------------------------------------------------------------ */
/* Faults in srdd's appends and syncs                                        */
/* ------------------------------------------------------------------------ */

typedef struct pf_kind {
    const char *kind;  /* the shim's KIND */
    const char *err;   /* its ERRNO */
    srd_err want;      /* the error the client must get */
} pf_kind;

static const pf_kind g_store_kinds[] = {
    {"write", "EIO", SRD_EIO},
    {"write", "ENOSPC", SRD_ENOSPC},
    {"sync", "EIO", SRD_EIO},
    {"sync", "ENOSPC", SRD_ENOSPC},
};

/* A new store holding only "gone" (so the fault's file exists), synced:
 * srdd's start has nothing to sync, the workload makes every call. */
static void pf_new_store(void)
{
    tu_rmtree(g_dir);
    ck_assert_int_eq(mkdir(g_dir, 0700), 0);
    srd_store *st = NULL;
    srd_options o;
    srd_options_init(&o);
    o.flags = SRD_OPEN_CREATE;
    o.sync = SRD_SYNC_ALWAYS;
    ck_srd(srd_open(g_store, &o, &st));
    ck_srd(pf_put_gone(st, ""));
    ck_srd(srd_close(st));
}

/* The client's results of one run with srdd's call n failing: the first
 * failed write gets the fault's error (a failed sync may be reported as
 * SRD_EFAILED by a write that shared it); after a failed write the others
 * succeed, after a failed sync every later write gets SRD_EFAILED (the
 * store is not to be trusted until srdd restarts) while reads go on. */
static void pf_check_results(const pf_kind *k, const srd_err *rc,
                             srd_store *st, const char *what)
{
    bool sync = strcmp(k->kind, "sync") == 0;
    int first = -1;
    for (int i = 0; i < PF_NOPS; i++) {
        if (rc[i] == SRD_OK && (first < 0 || !sync))
            continue;
        if (first < 0) {
            first = i;
            ck_assert_msg(rc[i] == k->want || (sync && rc[i] == SRD_EFAILED),
                          "%s: write %d failed with %s, wanted %s", what, i,
                          srd_errname(rc[i]), srd_errname(k->want));
            continue;
        }
        ck_assert_msg(sync ? rc[i] == SRD_EFAILED : rc[i] == SRD_OK,
                      "%s: write %d after the fault: %s", what, i,
                      srd_errname(rc[i]));
    }
    ck_assert_msg(first >= 0, "%s: the fault was injected, no write failed",
                  what);
    char key[16] = "p0";
    int s = pf_key_state(st, key, g_ops[0].len); /* reads still work */
    ck_assert_msg(s != -1, "%s: a read after the fault saw a bad value",
                  what);
}

/* One run: srdd with call n of k failing, the workload through a client,
 * then srdd stopped and the store checked embedded. false: call n was
 * past the workload's calls (no fault injected). */
static bool pf_store_run(const pf_kind *k, unsigned n, const char *mark,
                         int *acked)
{
    char spec[64], what[96];
    snprintf(spec, sizeof spec, "%s:%u:%s", k->kind, n, k->err);
    snprintf(what, sizeof what, "srdd's %s call %u failing with %s", k->kind,
             n, k->err);
    pf_new_store();
    pf_shim_env(spec, g_store, mark);
    pf_asan_env("");
    start_srdd(NULL);
    pf_shim_env(NULL, NULL, NULL);
    srd_store *st = ch_open_client();
    srd_err rc[PF_NOPS];
    for (int i = 0; i < PF_NOPS; i++)
        rc[i] = pf_run_op(st, "", &g_ops[i]);
    bool tripped = pf_tripped(mark);
    if (tripped)
        pf_check_results(k, rc, st, what);
    else
        for (int i = 0; i < PF_NOPS; i++)
            ck_assert_msg(rc[i] == SRD_OK, "%s: no fault, write %d: %s",
                          what, i, srd_errname(rc[i]));
    ck_srd(srd_close(st));
    int status = stop_srdd(SIGTERM);
    ck_assert_msg(status < 128, "%s: srdd died (%d)", what, status);
    /* A failed sync leaves the write it covered whole or absent. */
    int allowed[PF_NOPS];
    bool sync = strcmp(k->kind, "sync") == 0;
    bool seen_fail = false;
    for (int i = 0; i < PF_NOPS; i++) {
        allowed[i] = sync && !seen_fail && rc[i] != SRD_OK ? AFTER_EITHER
                                                           : AFTER_ABSENT;
        seen_fail |= rc[i] != SRD_OK;
    }
    ck_srd(tu_open(g_store, 0, &st));
    *acked += pf_check(st, "", rc, allowed, what);
    pf_verify_clean(st, what);
    ck_srd(srd_put(st, tu_s("after"), tu_s("after the restart")));
    ck_srd(srd_close(st));
    return tripped;
}

#define PF_MAX_CALLS 64

START_TEST(test_store_faults_under_srdd_fail_cleanly_and_lose_nothing)
{
    const pf_kind *k = &g_store_kinds[_i];
    char *mdir = tu_tmpdir();
    char *mark = tu_join(mdir, "fault.mark");
    unsigned n = 1;
    int acked = 0;
    while (n <= PF_MAX_CALLS && pf_store_run(k, n, mark, &acked))
        n++;
    ck_assert_msg(n > 1 && n <= PF_MAX_CALLS, "%u runs", n);
    printf("srdd's %s calls failing with %s: %u points (every call of the "
           "workload), %d writes acknowledged, 0 lost\n", k->kind, k->err,
           n - 1, acked);
    fflush(stdout);
    tu_rmtree(mdir);
    free(mdir);
    free(mark);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* A full disk for srdd's shared index file                                  */
/* ------------------------------------------------------------------------ */

#define PF_IX_BATCHES 24
#define PF_IX_BATCH 1000

static void pf_ix_kv(unsigned i, char *k, size_t kcap, char *v, size_t vcap)
{
    snprintf(k, kcap, "ix-%05u", i);
    snprintf(v, vcap, "value %u of the index test", i);
}

/* Every key written reads back right through st. */
static void pf_ix_expect(srd_store *st, unsigned n, const char *what)
{
    for (unsigned i = 0; i < n; i++) {
        char k[32], v[64];
        pf_ix_kv(i, k, sizeof k, v, sizeof v);
        srd_view view;
        srd_err rc = srd_get(st, tu_s(k), &view);
        tu_require(rc == SRD_OK, "%s: %s: %s", what, k, srd_errname(rc));
        tu_require(view.len == strlen(v) && memcmp(view.data, v, view.len) == 0,
                   "%s: %s has another value", what, k);
        srd_view_release(&view);
    }
}

/* The index file is a cache of the store: srdd unable to create or grow
 * it (posix_fallocate fails with ENOSPC from call `first` on, for good)
 * must still acknowledge every write, and its clients read every key
 * right. _i: 0 = no index file at srdd's start (its creation fails),
 * 1 = its first growth fails, 2 = its second. */
START_TEST(test_full_disk_for_the_shared_index_costs_no_write)
{
    static const unsigned first_of[] = {1, 1, 2};
    char *mdir = tu_tmpdir();
    char *mark = tu_join(mdir, "fault.mark");
    char what[96], spec[64];
    snprintf(what, sizeof what, "index file allocation %u failing%s",
             first_of[_i], _i == 0 ? " (no index file at the start)" : "");
    pf_new_store();
    if (_i == 0) {
        char *idx = tu_join(g_dir, "s.srd.idx");
        ck_assert_int_eq(unlink(idx), 0);
        free(idx);
    }
    snprintf(spec, sizeof spec, "alloc:%u:ENOSPC:0", first_of[_i]);
    pf_shim_env(spec, NULL, mark);
    pf_asan_env("");
    start_srdd(NULL);
    pf_shim_env(NULL, NULL, NULL);
    srd_store *st = ch_open_client();
    static char keys[PF_IX_BATCH][32], vals[PF_IX_BATCH][64];
    srd_val kv[PF_IX_BATCH], vv[PF_IX_BATCH];
    for (unsigned b = 0; b < PF_IX_BATCHES; b++) {
        for (unsigned j = 0; j < PF_IX_BATCH; j++) {
            pf_ix_kv(b * PF_IX_BATCH + j, keys[j], sizeof keys[j], vals[j],
                     sizeof vals[j]);
            kv[j] = tu_s(keys[j]);
            vv[j] = tu_s(vals[j]);
        }
        srd_err rc = srd_put_batch(st, kv, vv, PF_IX_BATCH);
        if (rc != SRD_OK)
            ch_print_srdd_log();
        ck_assert_msg(rc == SRD_OK, "%s: batch %u: %s", what, b,
                      srd_errname(rc));
    }
    ck_assert_msg(pf_tripped(mark), "%s: no allocation failed", what);
    unsigned n = PF_IX_BATCHES * PF_IX_BATCH;
    pf_ix_expect(st, n, what);
    srd_store *other = ch_open_client(); /* a client that opens now */
    pf_ix_expect(other, n, what);
    srd_store *ro = ch_open_flags(SRD_OPEN_READONLY, &(srd_err){0});
    ck_assert_ptr_nonnull(ro);
    pf_ix_expect(ro, n, what);
    ck_srd(srd_close(ro));
    ck_srd(srd_close(other));
    ck_srd(srd_close(st));
    int status = stop_srdd(SIGTERM);
    ck_assert_msg(status == 0, "%s: srdd exited with %d", what, status);
    ck_srd(tu_open(g_store, 0, &st));
    pf_ix_expect(st, n, what);
    pf_verify_clean(st, what);
    ck_srd(srd_close(st));
    printf("%s: %u keys acknowledged and read back, 0 lost\n", what, n);
    fflush(stdout);
    tu_rmtree(mdir);
    free(mdir);
    free(mark);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* A kernel without epoll_pwait2                                             */
/* ------------------------------------------------------------------------ */

#define PF_GW 6    /* concurrent durable writers */
#define PF_GPUTS 150
#define PF_GLEN 100

/* "gwriter STORE PREFIX": PF_GPUTS blocking puts of "<prefix><i>"
 * (pf_value's bytes); exit 0 when every one was acknowledged. */
static int pf_child_gwriter(char **argv)
{
    srd_store *st = ch_child_open(argv[0]);
    char key[64];
    srd_err rc = SRD_OK;
    for (int i = 0; rc == SRD_OK && i < PF_GPUTS; i++) {
        snprintf(key, sizeof key, "%s%d", argv[1], i);
        pf_value(g_buf, PF_GLEN, key);
        rc = srd_put(st, tu_s(key), (srd_val){g_buf, PF_GLEN});
    }
    printf("gwriter %s\n", srd_errname(rc));
    srd_close(st);
    return rc == SRD_OK ? 0 : 1;
}

/* The commit gather waits with epoll_pwait2; on a kernel that lacks it
 * (ENOSYS) srdd says so once, commits each pass's group at once, and
 * every write of concurrent durable writers is acknowledged and kept. */
START_TEST(test_a_kernel_without_epoll_pwait2_serves_without_the_gather)
{
    char *mdir = tu_tmpdir();
    char *mark = tu_join(mdir, "fault.mark");
    pf_new_store();
    pf_shim_env("pwait2:1:ENOSYS:0", NULL, mark);
    pf_asan_env("");
    const char *args[] = {"--sync", "always", "--log-level", "info", NULL};
    start_srdd(args);
    pf_shim_env(NULL, NULL, NULL);
    ch_child w[PF_GW];
    char prefix[PF_GW][16];
    for (int i = 0; i < PF_GW; i++) {
        snprintf(prefix[i], sizeof prefix[i], "g%d.", i);
        const char *argv[] = {"gwriter", g_store, prefix[i], NULL};
        w[i] = ch_spawn(argv);
    }
    for (int i = 0; i < PF_GW; i++) {
        char line[128] = "";
        bool got = ch_line(&w[i], line, sizeof line);
        int status = ch_wait(&w[i]);
        if (status != 0)
            ch_print_srdd_log();
        ck_assert_msg(status == 0, "writer %d: %d (%s)", i, status,
                      got ? line : "no output");
    }
    ck_assert_msg(pf_tripped(mark), "no gather was tried: no epoll_pwait2");
    srd_store *st = ch_open_client();
    char key[128];
    for (int i = 0; i < PF_GW; i++)
        for (int j = 0; j < PF_GPUTS; j++) {
            snprintf(key, sizeof key, "%s%d", prefix[i], j);
            ck_assert_int_eq(pf_key_state(st, key, PF_GLEN), 1);
        }
    ck_srd(srd_close(st));
    ck_assert_int_eq(stop_srdd(SIGTERM), 0);
    char *log = tu_join(g_dir, "s.srd.log");
    size_t len = 0;
    char *text = (char *)tu_read_file(log, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(strstr(text, "no epoll_pwait2") != NULL,
                  "srdd's log does not say the gather is off");
    free(text);
    free(log);
    tu_rmtree(mdir);
    free(mdir);
    free(mark);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Child processes: a probe, a client under socket faults, a writer killed   */
/* ------------------------------------------------------------------------ */

/* "probe STORE PREFIX": a new client writes "<prefix>gone" and commits a
 * stream it reads back: srdd serves new clients. Exit 0 when all worked.
 * (Child roles use no ck_* call: Check cannot report from them.) */
static int pf_child_probe(char **argv)
{
    srd_store *st = ch_child_open(argv[0]);
    char key[64];
    snprintf(key, sizeof key, "%sprobe", argv[1]);
    srd_err rc = pf_put_gone(st, argv[1]);
    if (rc == SRD_OK)
        rc = pf_stream(st, key, 70000);
    int there = rc == SRD_OK ? pf_key_state(st, key, 70000) : 0;
    printf("probe %s %d\n", srd_errname(rc), there);
    srd_close(st);
    return rc == SRD_OK && there == 1 ? 0 : 1;
}

/* "ops STORE PREFIX": the workload; one line "<i> <rc>" per write. */
static int pf_child_ops(char **argv)
{
    srd_store *st = ch_child_open(argv[0]);
    for (int i = 0; i < PF_NOPS; i++) {
        srd_err rc = pf_run_op(st, argv[1], &g_ops[i]);
        printf("%d %d\n", i, (int)rc);
        fflush(stdout);
    }
    srd_close(st);
    return 0;
}

#define PF_KBATCH 8
#define PF_KSTREAM 150000
#define PF_KASYNC 16

static void pf_done(void *ctx, srd_err rc)
{
    if (rc == SRD_OK) {
        printf("A %s\n", (const char *)ctx);
        fflush(stdout);
    }
}

/* One round of the writer: a batch, a stream, 16 pipelined puts. */
static void pf_writer_round(srd_store *st, const char *r, int j)
{
    static char akeys[PF_KASYNC][64];
    char keys[PF_KBATCH][64];
    static uint8_t vals[PF_KBATCH][2000];
    srd_val k[PF_KBATCH], v[PF_KBATCH];
    for (int i = 0; i < PF_KBATCH; i++) {
        snprintf(keys[i], sizeof keys[i], "%sb%d-%d", r, j, i);
        pf_value(vals[i], sizeof vals[i], keys[i]);
        k[i] = tu_s(keys[i]);
        v[i] = (srd_val){vals[i], sizeof vals[i]};
    }
    if (srd_put_batch(st, k, v, PF_KBATCH) == SRD_OK)
        printf("B %d\n", j);
    fflush(stdout);
    snprintf(keys[0], sizeof keys[0], "%ss%d", r, j);
    if (pf_stream(st, keys[0], PF_KSTREAM) == SRD_OK)
        printf("S %d\n", j);
    fflush(stdout);
    for (int i = 0; i < PF_KASYNC; i++) {
        snprintf(akeys[i], sizeof akeys[i], "%sa%d-%d", r, j, i);
        pf_value(vals[0], 300, akeys[i]);
        if (srd_put_async(st, tu_s(akeys[i]), (srd_val){vals[0], 300},
                          pf_done, akeys[i]) != SRD_OK)
            break;
    }
    srd_flush(st);
}

/* "writer STORE PREFIX": rounds until killed; "B j", "S j" and "A key"
 * lines say what was acknowledged. */
static int pf_child_writer(char **argv)
{
    srd_store *st = ch_child_open(argv[0]);
    printf("ready\n");
    fflush(stdout);
    for (int j = 0; j < 100000; j++)
        pf_writer_round(st, argv[1], j);
    srd_close(st);
    return 0;
}

/* Run a probe child for prefix; the test fails unless it worked. */
static void pf_probe(const char *prefix, const char *what)
{
    const char *argv[] = {"probe", g_store, prefix, NULL};
    ch_child c = ch_spawn(argv);
    char line[256] = "";
    bool got = ch_line(&c, line, sizeof line);
    int status = ch_wait(&c);
    ck_assert_msg(status == 0, "%s: a new client failed (%d, %s)", what,
                  status, got ? line : "no output");
    ck_assert_msg(waitpid(g_srdd, NULL, WNOHANG) == 0, "%s: srdd died",
                  what);
}

/* ------------------------------------------------------------------------ */
/* Faults in a client's socket calls                                         */
/* ------------------------------------------------------------------------ */

#define PF_SOCK_MAX 120

/* The errors a client may report for a connection that failed under it:
 * srdd unreachable (after SRD_TIMEOUT_MS), timed out, and for a stream
 * SRD_ENOTFOUND: srdd drops a connection's streams when it closes, and a
 * chunk or end of a dropped stream gets that code (PROTOCOL.md, Streams;
 * docs/RELIABILITY.md, limit 7). Anything else fails the test. */
static const srd_err g_conn_errors[] = {SRD_EUNREACHABLE, SRD_ETIMEDOUT,
                                        SRD_ENOTFOUND};
#define PF_NCONN ((int)(sizeof g_conn_errors / sizeof g_conn_errors[0]))

typedef struct pf_errs {
    int n[PF_NCONN];
} pf_errs;

static void pf_count_error(pf_errs *e, srd_err rc, unsigned n, int op)
{
    if (rc == SRD_OK)
        return;
    for (int i = 0; i < PF_NCONN; i++)
        if (rc == g_conn_errors[i] &&
            (rc != SRD_ENOTFOUND || g_ops[op].type == W_STREAM)) {
            e->n[i]++;
            return;
        }
    ck_abort_msg("socket call %u reset: write %d (%s) gave %s (%s)", n, op,
                 g_ops[op].key, srd_errname(rc), srd_strerror(rc));
}

static void pf_errs_fmt(const pf_errs *e, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < PF_NCONN && at < cap; i++)
        if (e->n[i])
            at += (size_t)snprintf(buf + at, cap - at, "%s%d %s",
                                   at ? ", " : "", e->n[i],
                                   srd_errname(g_conn_errors[i]));
}

/* One client process with its n-th socket call failing; its results in
 * rc. false: no fault was injected (n was past its calls). */
static bool pf_sock_run(unsigned n, const char *prefix, const char *mark,
                        srd_err rc[PF_NOPS])
{
    char spec[64], what[96];
    snprintf(spec, sizeof spec, "sock:%u:ECONNRESET", n);
    snprintf(what, sizeof what, "the client's socket call %u reset", n);
    pf_probe(prefix, what);
    pf_shim_env(spec, NULL, mark);
    /* A request NNG took before its pipe was reset can stay NNG's (the
     * NNG 1.5.2 defects of tests/lsan-nng.supp; seen once in about 70
     * ASan runs, from a stream's begin): leaks of this child are not
     * checked (docs/RELIABILITY.md, limit 7). */
    pf_asan_env(":detect_leaks=0");
    setenv("SRD_TIMEOUT_MS", "2000", 1);
    const char *argv[] = {"ops", g_store, prefix, NULL};
    ch_child c = ch_spawn(argv);
    pf_shim_env(NULL, NULL, NULL);
    unsetenv("SRD_TIMEOUT_MS");
    for (int i = 0; i < PF_NOPS; i++)
        rc[i] = SRD_EUNREACHABLE; /* not reported: treated as failed */
    char line[256];
    int i, v;
    while (ch_line(&c, line, sizeof line))
        if (sscanf(line, "%d %d", &i, &v) == 2 && i >= 0 && i < PF_NOPS)
            rc[i] = (srd_err)v;
    int status = ch_wait(&c);
    ck_assert_msg(status == 0, "%s: the client exited with %d", what,
                  status);
    bool tripped = pf_tripped(mark);
    if (!tripped)
        for (i = 0; i < PF_NOPS; i++)
            ck_assert_msg(rc[i] == SRD_OK, "%s: no fault, write %d: %s",
                          what, i, srd_errname(rc[i]));
    return tripped;
}

START_TEST(test_client_socket_faults_leave_srdd_and_data_whole)
{
    static srd_err rc[PF_SOCK_MAX][PF_NOPS];
    pf_errs errs = {0};
    char *mdir = tu_tmpdir();
    char *mark = tu_join(mdir, "fault.mark");
    start_srdd(NULL);
    unsigned n = 1;
    int failed = 0;
    char prefix[32];
    for (; n < PF_SOCK_MAX; n++) {
        snprintf(prefix, sizeof prefix, "n%u-", n);
        if (!pf_sock_run(n, prefix, mark, rc[n]))
            break;
        for (int i = 0; i < PF_NOPS; i++) {
            failed += rc[n][i] != SRD_OK;
            pf_count_error(&errs, rc[n][i], n, i);
        }
    }
    ck_assert_msg(n < PF_SOCK_MAX, "more than %d socket calls", PF_SOCK_MAX);
    pf_probe("last-", "after the sweep");
    ck_assert_int_eq(stop_srdd(SIGTERM), 0);
    int allowed[PF_NOPS], acked = 0;
    for (int i = 0; i < PF_NOPS; i++)
        allowed[i] = AFTER_EITHER; /* a request may have been applied */
    srd_store *st = NULL;
    ck_srd(tu_open(g_store, 0, &st));
    for (unsigned r = 1; r < n; r++) {
        char what[64];
        snprintf(prefix, sizeof prefix, "n%u-", r);
        snprintf(what, sizeof what, "socket call %u reset", r);
        acked += pf_check(st, prefix, rc[r], allowed, what);
    }
    pf_verify_clean(st, "after the socket sweep");
    ck_srd(srd_close(st));
    char list[512];
    pf_errs_fmt(&errs, list, sizeof list);
    printf("client socket calls reset: %u points (every call of the "
           "workload), %d writes acknowledged, %d failed (%s), 0 lost, no "
           "half batch\n", n - 1, acked, failed, list);
    fflush(stdout);
    tu_rmtree(mdir);
    free(mdir);
    free(mark);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Client processes killed mid-batch, mid-stream, mid-pipeline               */
/* ------------------------------------------------------------------------ */

#define PF_KILL_ROUNDS 16
#define PF_MAXJ 4096

/* What one killed writer acknowledged. */
typedef struct pf_acks {
    bool batch[PF_MAXJ], stream[PF_MAXJ];
    int maxj; /* highest round seen, +1 */
    char (*async)[64];
    int nasync, capasync;
} pf_acks;

static void pf_parse_ack(pf_acks *a, const char *line)
{
    int j;
    char key[64];
    if (sscanf(line, "B %d", &j) == 1 && j >= 0 && j < PF_MAXJ)
        a->batch[j] = true;
    else if (sscanf(line, "S %d", &j) == 1 && j >= 0 && j < PF_MAXJ)
        a->stream[j] = true;
    else if (sscanf(line, "A %63s", key) == 1) {
        if (a->nasync == a->capasync) {
            a->capasync = a->capasync ? 2 * a->capasync : 256;
            a->async = realloc(a->async, (size_t)a->capasync * 64);
            ck_assert_ptr_nonnull(a->async);
        }
        snprintf(a->async[a->nasync++], 64, "%s", key);
        return;
    } else {
        return;
    }
    if (j + 1 > a->maxj)
        a->maxj = j + 1;
}

/* Spawn a writer, kill it after delay_us, collect what it acknowledged. */
static void pf_kill_writer(const char *prefix, unsigned delay_us, pf_acks *a)
{
    const char *argv[] = {"writer", g_store, prefix, NULL};
    ch_child c = ch_spawn(argv);
    char line[256];
    ck_assert_msg(ch_line(&c, line, sizeof line) && !strcmp(line, "ready"),
                  "the writer did not start");
    ch_sleep_ms(delay_us / 1000);
    kill(c.pid, SIGKILL);
    while (ch_line(&c, line, sizeof line))
        pf_parse_ack(a, line);
    ck_assert_int_eq(ch_wait(&c), 128 + SIGKILL);
}

/* Every acknowledged write whole, every batch and stream whole or absent
 * (rounds up to two past the last one acknowledged). */
static int pf_check_killed(srd_store *st, const char *prefix,
                           const pf_acks *a)
{
    int acked = 0;
    char key[64];
    for (int j = 0; j < a->maxj + 2 && j < PF_MAXJ; j++) {
        int whole = 0, absent = 0;
        for (int i = 0; i < PF_KBATCH; i++) {
            snprintf(key, sizeof key, "%sb%d-%d", prefix, j, i);
            int s = pf_key_state(st, key, 2000);
            whole += s == 1;
            absent += s == 0;
        }
        ck_assert_msg(whole == PF_KBATCH || absent == PF_KBATCH,
                      "%s batch %d: %d of %d items there", prefix, j, whole,
                      PF_KBATCH);
        ck_assert_msg(!a->batch[j] || whole == PF_KBATCH,
                      "%s acknowledged batch %d lost", prefix, j);
        snprintf(key, sizeof key, "%ss%d", prefix, j);
        int s = pf_key_state(st, key, PF_KSTREAM);
        ck_assert_msg(s != -1, "%s stream %d half there", prefix, j);
        ck_assert_msg(!a->stream[j] || s == 1,
                      "%s acknowledged stream %d lost", prefix, j);
        acked += a->batch[j] + a->stream[j];
    }
    for (int i = 0; i < a->nasync; i++)
        ck_assert_msg(pf_key_state(st, a->async[i], 300) == 1,
                      "acknowledged pipelined put %s lost", a->async[i]);
    return acked + a->nasync;
}

START_TEST(test_clients_killed_mid_write_leave_srdd_and_data_whole)
{
    static pf_acks acks[PF_KILL_ROUNDS];
    memset(acks, 0, sizeof acks);
    start_srdd(NULL);
    uint64_t rnd = 17;
    char prefix[32];
    for (int r = 0; r < PF_KILL_ROUNDS; r++) {
        snprintf(prefix, sizeof prefix, "k%d-", r);
        unsigned delay = (unsigned)(tu_rand(&rnd) % 60000u) + 1000u;
        pf_kill_writer(prefix, delay, &acks[r]);
        pf_probe(prefix, "after a client was killed");
    }
    ck_assert_int_eq(stop_srdd(SIGTERM), 0);
    srd_store *st = NULL;
    ck_srd(tu_open(g_store, 0, &st));
    int acked = 0;
    for (int r = 0; r < PF_KILL_ROUNDS; r++) {
        snprintf(prefix, sizeof prefix, "k%d-", r);
        acked += pf_check_killed(st, prefix, &acks[r]);
        free(acks[r].async);
    }
    pf_verify_clean(st, "after the killed clients");
    ck_srd(srd_close(st));
    printf("clients killed mid-write: %d kills (random moments of batches, "
           "streams and pipelined puts), %d writes acknowledged, 0 lost, no "
           "half batch or stream; a new client served after each\n",
           PF_KILL_ROUNDS, acked);
    fflush(stdout);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Runner                                                                    */
/* ------------------------------------------------------------------------ */

static Suite *procfaults_suite(void)
{
    Suite *s = suite_create("procfaults");
    TCase *tc = tcase_create("srdd");
    tcase_add_checked_fixture(tc, ch_setup, ch_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc,
                        test_store_faults_under_srdd_fail_cleanly_and_lose_nothing,
                        0, (int)(sizeof g_store_kinds / sizeof g_store_kinds[0]));
    tcase_add_loop_test(tc, test_full_disk_for_the_shared_index_costs_no_write,
                        0, 3);
    tcase_add_test(tc, test_a_kernel_without_epoll_pwait2_serves_without_the_gather);
    suite_add_tcase(s, tc);
    tc = tcase_create("client");
    tcase_add_checked_fixture(tc, ch_setup, ch_teardown);
    tcase_set_timeout(tc, 300);
    CH_ADD_TEST(tc, test_client_socket_faults_leave_srdd_and_data_whole);
    CH_ADD_TEST(tc, test_clients_killed_mid_write_leave_srdd_and_data_whole);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    static const ch_role roles[] = {
        {"probe", 2, pf_child_probe},
        {"ops", 2, pf_child_ops},
        {"writer", 2, pf_child_writer},
        {"gwriter", 2, pf_child_gwriter},
        {NULL, 0, NULL},
    };
    return ch_main(argc, argv, roles, procfaults_suite);
}
