/* SPDX-License-Identifier: MIT */
/*
 * bench_open.c -- section 6 of srd-bench: open + first get + close of the
 * N-key store (clean, after kill -9 of the writer, as a client of srdd).
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_daemon.h"
#include "bench_embed.h"
#include "bench_util.h"
#include "format.h"
#include "srd/srd.h"

/* ======================================================================== */
/* 6. Open                                                                  */
/* ======================================================================== */

/* srdd from --srdd, else beside srd-bench in the build tree
 * (build/tools/srd-bench -> build/daemon/srdd); guess holds the latter. */
const char *srdd_path(const bench_cfg *cfg, char *guess, size_t cap)
{
    if (cfg->srdd)
        return cfg->srdd;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(guess, cap, "%s/../daemon/srdd", n > 0 ? self : ".");
    return guess;
}


/* ms for srd_open + one srd_get + srd_close. */
static double srd_open_ms(const store_pair *sp, const kv_data *kv,
                          unsigned flags)
{
    srd_view v;
    uint64_t t0 = now_ns();
    /* the default mode: a writer's close syncs, which lets its shared
     * index file and synced-tail record vouch for the store */
    srd_store *st = srd_open_mode(sp->srd, flags, SRD_SYNC_ALWAYS);
    SRD_CHECK(srd_get(st, kv->qk[0], &v));
    g_sink += v.data[0];
    srd_view_release(&v);
    SRD_CHECK(srd_close(st));
    return (double)(now_ns() - t0) / 1e6;
}

/* Keys a writer rewrites (same bytes) before it is killed. */
#define KILL_TAIL 1000

/* ms for the first writer open (+ get + close) after kill -9 of a writer
 * process that rewrote KILL_TAIL keys since its open. */
static double srd_open_killed_ms(const store_pair *sp, const kv_data *kv)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        srd_store *st = srd_open_mode(sp->srd, 0, SRD_SYNC_ALWAYS);
        uint8_t v[128];
        for (size_t i = 0; i < KILL_TAIL && i < kv->n; i++) {
            make_value(i, sp->vlen, v);
            srd_val k = {kv->keys + i * KEY_SLOT, KEY_LEN};
            SRD_CHECK(srd_put(st, k, (srd_val){v, sp->vlen}));
        }
        raise(SIGKILL);
        _exit(1);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status))
        die("the writer to kill did not die of SIGKILL");
    return srd_open_ms(sp, kv, 0);
}

/* The row for the first open after kill -9 of the writer. */
static void bench_open_killed(const bench_cfg *cfg, const kv_data *kv,
                              const store_pair *sp)
{
    double s[16];
    for (unsigned i = 0; i < cfg->reps; i++)
        s[i] = srd_open_killed_ms(sp, kv);
    row *r = row_add("open", "ms", -1, median(s, cfg->reps), NAN,
                     "open+get+close %zu keys, writer after kill -9 of the "
                     "writer (%d puts since its open)",
                     kv->n, KILL_TAIL);
    row_target(r, median(s, cfg->reps) <= 50.0, "<= tail replay + 50 ms");
}

/* ms for mdb_env_create/open + first read txn with one get + close. */
static double lmdb_open_ms(const store_pair *sp, const kv_data *kv,
                           unsigned flags)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val d;
    uint64_t t0 = now_ns();
    MDB_CHECK(mdb_env_create(&env));
    MDB_CHECK(mdb_env_open(env, sp->mdb, MDB_NOSUBDIR | flags, 0644));
    MDB_CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    MDB_CHECK(mdb_dbi_open(txn, NULL, 0, &dbi));
    MDB_CHECK(mdb_get(txn, dbi, &kv->qm[0], &d));
    g_sink += ((const uint8_t *)d.mv_data)[0];
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return (double)(now_ns() - t0) / 1e6;
}

/* The client-of-srdd open row (srdd serving the same store). */
static void bench_open_client(const bench_cfg *cfg, const kv_data *kv,
                              const store_pair *sp, double lmdb_ms)
{
#ifdef SRD_BENCH_DAEMON
    char guess[PATH_MAX + 32];
    double ms, bytes;
    if (!bench_daemon_open(srdd_path(cfg, guess, sizeof guess), sp->srd,
                           kv->qk[0], cfg->reps, &ms, &bytes))
        return;
    row *r = row_add("open", "ms", -1, ms, lmdb_ms,
                     "open+get+close %zu keys, client of srdd", kv->n);
    row_target(r, ms <= 5.0, "<= 5 ms");
    r = row_add("open", "KiB", 0, bytes / 1024.0, NAN,
                "client process index memory, %zu keys", kv->n);
    row_target(r, bytes <= 4.0 * MIB, "<= 4 MiB");
#else
    (void)cfg;
    (void)kv;
    (void)sp;
    (void)lmdb_ms;
#endif
}

void bench_open(const bench_cfg *cfg, const kv_data *kv,
                const store_pair *sp)
{
    double s[16], l[16], ro_lmdb = NAN;
    static const struct {
        unsigned srd_flags, mdb_flags;
        bool private_index;
        double target;
        const char *what;
    } modes[] = {
        {0, 0, false, 50.0, "writer after a clean close"},
        {SRD_OPEN_READONLY, MDB_RDONLY, false, 5.0, "read-only"},
        {SRD_OPEN_READONLY, MDB_RDONLY, true, NAN,
         "read-only, private index (SRD_SHARED_INDEX=0)"},
    };

    progress("open: %zu-entry store, median of %u", kv->n, cfg->reps);
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        if (modes[m].private_index)
            setenv("SRD_SHARED_INDEX", "0", 1);
        srd_open_ms(sp, kv, modes[m].srd_flags); /* warm */
        lmdb_open_ms(sp, kv, modes[m].mdb_flags);
        for (unsigned i = 0; i < cfg->reps; i++) {
            s[i] = srd_open_ms(sp, kv, modes[m].srd_flags);
            l[i] = lmdb_open_ms(sp, kv, modes[m].mdb_flags);
        }
        unsetenv("SRD_SHARED_INDEX");
        double sm = median(s, cfg->reps), lm = median(l, cfg->reps);
        if (modes[m].srd_flags & SRD_OPEN_READONLY)
            ro_lmdb = lm;
        row *r = row_add("open", "ms", -1, sm, lm,
                         "open+get+close %zu keys, %s", kv->n, modes[m].what);
        if (!isnan(modes[m].target))
            row_target(r, sm <= modes[m].target, "<= %.0f ms",
                       modes[m].target);
    }
    bench_open_killed(cfg, kv, sp);
    bench_open_client(cfg, kv, sp, ro_lmdb);
}
