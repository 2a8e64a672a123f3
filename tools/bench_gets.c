/* SPDX-License-Identifier: MIT */
/*
 * bench_gets.c -- sections 2-3 of srd-bench: random srd_get against
 * mdb_get, and srd_get_many in batches, on the 8 B and 100 B value stores.
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
/* 2-3. Random gets                                                         */
/* ======================================================================== */

/* ns per srd_get over keys [lo, hi) of the random order; touches the
 * first and last byte. */
static double srd_gets_range(srd_store *st, const kv_data *kv, size_t vlen,
                             size_t lo, size_t hi)
{
    uint64_t acc = 0, t0 = now_ns();
    for (size_t i = lo; i < hi; i++) {
        srd_view v;
        srd_err rc = srd_get(st, kv->qk[i], &v);
        if (rc != SRD_OK)
            die_srd("srd_get", rc, __LINE__);
        if (v.len != vlen)
            die("srd_get: length %zu, expected %zu", v.len, vlen);
        acc += v.data[0] + v.data[v.len - 1];
        srd_view_release(&v);
    }
    double ns = (double)(now_ns() - t0) / (double)(hi - lo);
    g_sink += acc;
    return ns;
}

static double srd_gets_ns(srd_store *st, const kv_data *kv, size_t vlen)
{
    return srd_gets_range(st, kv, vlen, 0, kv->n);
}

/* ns per get with srd_get_many in batches of batch keys. */
static double srd_get_many_ns(srd_store *st, const kv_data *kv, size_t vlen,
                              size_t batch)
{
    srd_view views[64];
    uint64_t acc = 0, t0 = now_ns();
    for (size_t i = 0; i < kv->n; i += batch) {
        size_t m = kv->n - i < batch ? kv->n - i : batch, found = 0;
        SRD_CHECK(srd_get_many(st, kv->qk + i, m, views, &found));
        if (found != m)
            die("srd_get_many found %zu of %zu keys", found, m);
        for (size_t j = 0; j < m; j++) {
            if (views[j].len != vlen)
                die("srd_get_many: length %zu, expected %zu", views[j].len,
                    vlen);
            acc += views[j].data[0] + views[j].data[views[j].len - 1];
            srd_view_release(&views[j]);
        }
    }
    double ns = (double)(now_ns() - t0) / (double)kv->n;
    g_sink += acc;
    return ns;
}

/*
 * ns per mdb_get over the same order, touching the same bytes. One read txn
 * is reused with reset/renew about every LMDB_TXN_GETS lookups (rounded to
 * whole batches of batch keys), the cheapest fair way to read in LMDB.
 */
static double lmdb_gets_range(MDB_env *env, MDB_dbi dbi, const kv_data *kv,
                              size_t vlen, size_t batch, size_t lo, size_t hi)
{
    MDB_txn *txn;
    size_t every = batch * (LMDB_TXN_GETS / batch ? LMDB_TXN_GETS / batch : 1);
    uint64_t acc = 0;
    MDB_CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    uint64_t t0 = now_ns();
    for (size_t i = lo; i < hi; i++) {
        MDB_val d;
        if ((i - lo) % every == 0 && i > lo) {
            mdb_txn_reset(txn);
            MDB_CHECK(mdb_txn_renew(txn));
        }
        int rc = mdb_get(txn, dbi, &kv->qm[i], &d);
        if (rc != MDB_SUCCESS)
            die_mdb("mdb_get", rc, __LINE__);
        if (d.mv_size != vlen)
            die("mdb_get: length %zu, expected %zu", d.mv_size, vlen);
        acc += ((const uint8_t *)d.mv_data)[0] +
               ((const uint8_t *)d.mv_data)[d.mv_size - 1];
    }
    double ns = (double)(now_ns() - t0) / (double)(hi - lo);
    mdb_txn_abort(txn);
    g_sink += acc;
    return ns;
}

static double lmdb_gets_ns(MDB_env *env, MDB_dbi dbi, const kv_data *kv,
                           size_t vlen, size_t batch)
{
    return lmdb_gets_range(env, dbi, kv, vlen, batch, 0, kv->n);
}

/*
 * One interleaved pass: the shared handle st, LMDB and the private
 * handle priv take turns over GET_CHUNKS chunks of the random order, each
 * at its own chunk (a third of the way round from the others), so every
 * key is read once by each and a burst of load on the shared machine
 * falls on all three alike; out[] gets ns per get of each.
 */
#define GET_CHUNKS 60

static void gets_interleaved(srd_store *st, MDB_env *env, MDB_dbi dbi,
                             srd_store *priv, const kv_data *kv, size_t vlen,
                             double out[3])
{
    double sum[3] = {0, 0, 0};
    for (size_t c = 0; c < GET_CHUNKS; c++)
        for (size_t h = 0; h < 3; h++) {
            size_t k = (c + h * (GET_CHUNKS / 3)) % GET_CHUNKS;
            size_t lo = kv->n * k / GET_CHUNKS;
            size_t hi = kv->n * (k + 1) / GET_CHUNKS;
            if (hi == lo)
                continue;
            double ns = h == 1 ? lmdb_gets_range(env, dbi, kv, vlen, 1, lo, hi)
                               : srd_gets_range(h == 0 ? st : priv, kv, vlen,
                                                lo, hi);
            sum[h] += ns * (double)(hi - lo);
        }
    for (size_t h = 0; h < 3; h++)
        out[h] = sum[h] / (double)kv->n;
}

static void open_pair(const store_pair *sp, const kv_data *kv, srd_store **st,
                      MDB_env **env, MDB_dbi *dbi)
{
    *st = srd_open_mode(sp->srd, SRD_OPEN_READONLY, SRD_SYNC_NEVER);
    *env = lmdb_open(sp->mdb, 0, MDB_RDONLY, dbi);
    verify_pair(sp, *st, *env, *dbi, kv);
}

void bench_get(const bench_cfg *cfg, const kv_data *kv,
               const store_pair *sp, double miss)
{
    srd_store *st;
    MDB_env *env;
    MDB_dbi dbi;
    double s[16], l[16], p[16];
    row *r;

    progress("get: %zu-byte values, %u passes of %zu random gets", sp->vlen,
             cfg->reps, kv->n);
    open_pair(sp, kv, &st, &env, &dbi);
    srd_store *priv = srd_open_private(sp->srd);
    double is[16], il[16], ip[16];
    for (unsigned i = 0; i < cfg->reps; i++) { /* whole passes, in turn */
        s[i] = srd_gets_ns(st, kv, sp->vlen);
        l[i] = lmdb_gets_ns(env, dbi, kv, sp->vlen, 1);
        p[i] = srd_gets_ns(priv, kv, sp->vlen);
    }
    for (unsigned i = 0; i < cfg->reps; i++) { /* chunks, interleaved */
        double t[3];
        gets_interleaved(st, env, dbi, priv, kv, sp->vlen, t);
        is[i] = t[0];
        il[i] = t[1];
        ip[i] = t[2];
    }
    SRD_CHECK(srd_close(priv));
    double sn = median(is, cfg->reps), ln = median(il, cfg->reps);
    double pn = median(ip, cfg->reps);
    double wsn = median(s, cfg->reps), wln = median(l, cfg->reps);
    double wpn = median(p, cfg->reps);
    row_add("get", "ns/get", -1, sn, ln, "random get, %zu B values", sp->vlen);
    r = row_add("get", "gets/s", +1, 1e9 / sn, 1e9 / ln,
                "random get, %zu B values", sp->vlen);
    row_target(r, ln / sn >= 1.5, ">= 1.5x LMDB");
    r = row_add("get", "gets/s", +1, 1e9 / sn, 1e9 / pn,
                "random get, %zu B, shared index vs private (base)", sp->vlen);
    row_target(r, pn / sn >= 0.9, ">= 0.9x private");
    row_add("get", "gets/s", +1, 1e9 / wsn, 1e9 / wln,
            "random get, %zu B values, whole passes", sp->vlen);
    row_add("get", "gets/s", +1, 1e9 / wsn, 1e9 / wpn,
            "random get, %zu B, shared vs private (base), whole passes",
            sp->vlen);
    if (!isnan(miss)) {
        r = row_add("get", "x 2 miss", 0, sn / (2 * miss), NAN,
                    "random get %zu B / two DRAM misses", sp->vlen);
        row_target(r, sn / (2 * miss) <= 1.3, "<= 1.3 (%.0f ns)", 2.6 * miss);
    }
    SRD_CHECK(srd_close(st));
    mdb_env_close(env);
}

void bench_get_many(const bench_cfg *cfg, const kv_data *kv,
                    const store_pair *sp)
{
    static const size_t batches[] = {16, 64};
    srd_store *st;
    MDB_env *env;
    MDB_dbi dbi;
    double s[16], l[16];

    progress("get_many: %zu-byte values", sp->vlen);
    open_pair(sp, kv, &st, &env, &dbi);
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        for (unsigned i = 0; i < cfg->reps; i++) {
            s[i] = srd_get_many_ns(st, kv, sp->vlen, batches[b]);
            l[i] = lmdb_gets_ns(env, dbi, kv, sp->vlen, batches[b]);
        }
        double sn = median(s, cfg->reps), ln = median(l, cfg->reps);
        row *r = row_add("get_many", "gets/s", +1, 1e9 / sn, 1e9 / ln,
                         "get_many x%zu, %zu B values", batches[b], sp->vlen);
        row_target(r, ln / sn >= 4.0, ">= 4x LMDB");
    }
    SRD_CHECK(srd_close(st));
    mdb_env_close(env);
}
