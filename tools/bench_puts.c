/* SPDX-License-Identifier: MIT */
/*
 * bench_puts.c -- sections 4-5 of srd-bench: single puts and srd_put_batch
 * against LMDB transactions, with sync never and always.
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

#include "bench_embed.h"
#include "bench_util.h"
#include "format.h"
#include "srd/srd.h"

/* ======================================================================== */
/* 4-5. Puts                                                                */
/* ======================================================================== */

static size_t lmdb_put_mapsize(size_t n)
{
    return (size_t)n * 512 + (1u << 30);
}

/* Single srd_put of n new keys (random order, 8 B values) into a fresh
 * store; returns puts/s. */
static double srd_puts_rate(const kv_data *kv, size_t n, srd_sync_mode mode)
{
    char path[PATH_MAX];
    wpath(path, "put.srd");
    srd_store *st = srd_open_mode(path, SRD_OPEN_CREATE, mode);
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        srd_err rc = srd_put(st, kv->qk[i], kv->qv[i]);
        if (rc != SRD_OK)
            die_srd("srd_put", rc, __LINE__);
    }
    double rate = (double)n * 1e9 / (double)(now_ns() - t0);
    uint64_t live;
    SRD_CHECK(srd_count(st, &live));
    if (live != n)
        die("after %zu puts srd_count says %llu", n, (unsigned long long)live);
    SRD_CHECK(srd_close(st));
    remove_files("put.srd");
    return rate;
}

static double lmdb_puts_rate(const kv_data *kv, size_t n, unsigned flags)
{
    char path[PATH_MAX];
    MDB_dbi dbi;
    MDB_txn *txn;
    wpath(path, "put.mdb");
    MDB_env *env = lmdb_open(path, lmdb_put_mapsize(n), flags, &dbi);
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        MDB_CHECK(mdb_txn_begin(env, NULL, 0, &txn));
        MDB_CHECK(mdb_put(txn, dbi, &kv->qm[i], &kv->qmv[i], 0));
        MDB_CHECK(mdb_txn_commit(txn));
    }
    double rate = (double)n * 1e9 / (double)(now_ns() - t0);
    mdb_env_close(env);
    remove_files("put.mdb");
    return rate;
}

void bench_put(const bench_cfg *cfg, const kv_data *kv)
{
    double s[16], l[16];
    size_t n = cfg->single_puts < kv->n ? cfg->single_puts : kv->n;
    row *r;

    progress("put: %zu single puts, sync never / MDB_NOSYNC", n);
    for (unsigned i = 0; i < cfg->slow_reps; i++) {
        s[i] = srd_puts_rate(kv, n, SRD_SYNC_NEVER);
        l[i] = lmdb_puts_rate(kv, n, MDB_NOSYNC);
    }
    double sr = median(s, cfg->slow_reps), lr = median(l, cfg->slow_reps);
    r = row_add("put", "puts/s", +1, sr, lr,
                "single put, sync never / MDB_NOSYNC");
    row_target(r, sr >= 500e3, ">= 500k/s");

    n = cfg->sync_puts < kv->n ? cfg->sync_puts : kv->n;
    progress("put: %zu single puts, sync always / LMDB default sync", n);
    for (unsigned i = 0; i < cfg->slow_reps; i++) {
        s[i] = srd_puts_rate(kv, n, SRD_SYNC_ALWAYS);
        l[i] = lmdb_puts_rate(kv, n, 0);
    }
    sr = median(s, cfg->slow_reps);
    lr = median(l, cfg->slow_reps);
    row_add("put", "puts/s", +1, sr, lr, "single put, sync always / default");
    row_add("put", "us/put", -1, 1e6 / sr, 1e6 / lr,
            "single put latency, sync always / default");
}

/* n entries (random order, 8 B values) in srd_put_batch calls of
 * PUT_BATCH into a fresh store; returns entries/s. */
static double srd_batch_rate(const kv_data *kv, size_t n, srd_sync_mode mode)
{
    char path[PATH_MAX];
    wpath(path, "batch.srd");
    srd_store *st = srd_open_mode(path, SRD_OPEN_CREATE, mode);
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i += PUT_BATCH) {
        size_t m = n - i < PUT_BATCH ? n - i : PUT_BATCH;
        SRD_CHECK(srd_put_batch(st, kv->qk + i, kv->qv + i, m));
    }
    double rate = (double)n * 1e9 / (double)(now_ns() - t0);
    uint64_t live;
    SRD_CHECK(srd_count(st, &live));
    if (live != n)
        die("after %zu batched puts srd_count says %llu", n,
            (unsigned long long)live);
    SRD_CHECK(srd_close(st));
    remove_files("batch.srd");
    return rate;
}

static double lmdb_batch_rate(const kv_data *kv, size_t n, unsigned flags)
{
    char path[PATH_MAX];
    MDB_dbi dbi;
    MDB_txn *txn;
    wpath(path, "batch.mdb");
    MDB_env *env = lmdb_open(path, lmdb_put_mapsize(n), flags, &dbi);
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i += PUT_BATCH) {
        size_t m = n - i < PUT_BATCH ? n - i : PUT_BATCH;
        MDB_CHECK(mdb_txn_begin(env, NULL, 0, &txn));
        for (size_t j = i; j < i + m; j++)
            MDB_CHECK(mdb_put(txn, dbi, &kv->qm[j], &kv->qmv[j], 0));
        MDB_CHECK(mdb_txn_commit(txn));
    }
    double rate = (double)n * 1e9 / (double)(now_ns() - t0);
    mdb_env_close(env);
    remove_files("batch.mdb");
    return rate;
}

void bench_batch(const bench_cfg *cfg, const kv_data *kv)
{
    double s[16], l[16];
    size_t n = kv->n;
    row *r;

    progress("batch: %zu entries in batches of %d, sync never", n, PUT_BATCH);
    for (unsigned i = 0; i < cfg->slow_reps; i++) {
        s[i] = srd_batch_rate(kv, n, SRD_SYNC_NEVER);
        l[i] = lmdb_batch_rate(kv, n, MDB_NOSYNC);
    }
    double sr = median(s, cfg->slow_reps), lr = median(l, cfg->slow_reps);
    r = row_add("batch", "entries/s", +1, sr, lr,
                "batch of %d x 8 B, sync never / NOSYNC", PUT_BATCH);
    row_target(r, sr >= 4e6, ">= 4M/s");

    n = cfg->sync_batch_entries < kv->n ? cfg->sync_batch_entries : kv->n;
    progress("batch: %zu entries in batches of %d, sync always", n,
             PUT_BATCH);
    for (unsigned i = 0; i < cfg->slow_reps; i++) {
        s[i] = srd_batch_rate(kv, n, SRD_SYNC_ALWAYS);
        l[i] = lmdb_batch_rate(kv, n, 0);
    }
    sr = median(s, cfg->slow_reps);
    lr = median(l, cfg->slow_reps);
    row_add("batch", "entries/s", +1, sr, lr,
            "batch of %d x 8 B, sync always / default", PUT_BATCH);
}
