/* SPDX-License-Identifier: MIT */
/*
 * check_procfaults.c -- faults inside real processes: srdd's appends and
 * syncs of the store failing (EIO, ENOSPC) under a client's workload,
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
    ck_assert_msg(rc == SRD_OK, "get %s: %s", key, srd_errname(rc));
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
static void pf_put_gone(srd_store *st, const char *prefix)
{
    char key[64];
    snprintf(key, sizeof key, "%sgone", prefix);
    pf_value(g_buf, 10, key);
    ck_srd(srd_put(st, tu_s(key), (srd_val){g_buf, 10}));
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

/* Put the shim's variables in the environment a child will inherit
 * (spec NULL: take them out again). ASan must not insist on coming first
 * in the library list: the shim does. */
static void pf_shim_env(const char *spec, const char *file, const char *mark)
{
    if (!spec) {
        unsetenv("LD_PRELOAD");
        unsetenv("SRD_FAULT");
        unsetenv("SRD_FAULT_FILE");
        unsetenv("SRD_FAULT_MARK");
        return;
    }
    const char *asan = getenv("ASAN_OPTIONS");
    if (!asan || !strstr(asan, "verify_asan_link_order")) {
        char opts[1024];
        snprintf(opts, sizeof opts, "%s%sverify_asan_link_order=0",
                 asan ? asan : "", asan && *asan ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
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
    pf_put_gone(st, "");
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
    char *mdir = strdup(tu_tmpdir());
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
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    static const ch_role roles[] = {
        {NULL, 0, NULL},
    };
    return ch_main(argc, argv, roles, procfaults_suite);
}
