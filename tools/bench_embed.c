/* SPDX-License-Identifier: MIT */
/*
 * bench_embed.c -- the embedded benchmarks' common ground: LMDB errors, the
 * keys and values both engines get, opening either engine, and the N-key
 * store pair that get, get_many, open and index share (loaded and
 * verified).
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

_Noreturn void die_mdb(const char *what, int rc, int line)
{
    die("line %d: %s failed: %s", line, what, mdb_strerror(rc));
}


/* ======================================================================== */
/* Keys and values                                                          */
/* ======================================================================== */


/* The value of key i: len pseudo-random bytes, never the lone byte 0x00. */
void make_value(size_t i, size_t len, uint8_t *out)
{
    fill_random(out, len, SEED ^ (uint64_t)i * 0x100000001b3ull);
    out[0] |= 1;
}

void kv_init(kv_data *kv, size_t n)
{
    uint64_t s = SEED;
    kv->n = n;
    kv->keys = xmalloc(n * KEY_SLOT);
    kv->order = xmalloc(n * sizeof *kv->order);
    kv->qkeys = xmalloc(n * KEY_SLOT);
    kv->qk = xmalloc(n * sizeof *kv->qk);
    kv->qm = xmalloc(n * sizeof *kv->qm);
    kv->qv8 = xmalloc(n * 8);
    kv->qv = xmalloc(n * sizeof *kv->qv);
    kv->qmv = xmalloc(n * sizeof *kv->qmv);
    for (size_t i = 0; i < n; i++) {
        snprintf(kv->keys + i * KEY_SLOT, KEY_SLOT, "key%08d", (int)i);
        kv->order[i] = (uint32_t)i;
    }
    for (size_t k = n; k > 1; k--) { /* Fisher-Yates: swap k-1 and j < k */
        size_t j = rng_next(&s) % k;
        uint32_t t = kv->order[k - 1];
        kv->order[k - 1] = kv->order[j];
        kv->order[j] = t;
    }
    for (size_t i = 0; i < n; i++) {
        char *q = kv->qkeys + i * KEY_SLOT;
        memcpy(q, kv->keys + (size_t)kv->order[i] * KEY_SLOT, KEY_SLOT);
        kv->qk[i] = (srd_val){q, KEY_LEN};
        kv->qm[i] = (MDB_val){KEY_LEN, q};
        make_value(kv->order[i], 8, kv->qv8 + 8 * i);
        kv->qv[i] = (srd_val){kv->qv8 + 8 * i, 8};
        kv->qmv[i] = (MDB_val){8, kv->qv8 + 8 * i};
    }
}

void kv_free(kv_data *kv)
{
    free(kv->keys);
    free(kv->order);
    free(kv->qkeys);
    free(kv->qk);
    free(kv->qm);
    free(kv->qv8);
    free(kv->qv);
    free(kv->qmv);
    memset(kv, 0, sizeof *kv);
}

/* ======================================================================== */
/* Engine helpers                                                           */
/* ======================================================================== */

srd_store *srd_open_mode(const char *path, unsigned flags,
                         srd_sync_mode sync)
{
    srd_options o;
    srd_store *st = NULL;
    srd_options_init(&o);
    o.flags = flags;
    o.sync = sync;
    SRD_CHECK(srd_open(path, &o, &st));
    return st;
}

/* mapsize 0: keep the size recorded in an existing environment. */
/* A read-only handle that builds its own index (SRD_SHARED_INDEX=0), the
 * way every process did before the shared index file. */
srd_store *srd_open_private(const char *path)
{
    setenv("SRD_SHARED_INDEX", "0", 1);
    srd_store *st = srd_open_mode(path, SRD_OPEN_READONLY, SRD_SYNC_NEVER);
    unsetenv("SRD_SHARED_INDEX");
    return st;
}

MDB_env *lmdb_open(const char *path, size_t mapsize, unsigned flags,
                   MDB_dbi *dbi)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_CHECK(mdb_env_create(&env));
    if (mapsize)
        MDB_CHECK(mdb_env_set_mapsize(env, mapsize));
    MDB_CHECK(mdb_env_open(env, path, MDB_NOSUBDIR | flags, 0644));
    MDB_CHECK(mdb_txn_begin(env, NULL, flags & MDB_RDONLY, &txn));
    MDB_CHECK(mdb_dbi_open(txn, NULL, 0, dbi));
    MDB_CHECK(mdb_txn_commit(txn));
    return env;
}


void load_pair(store_pair *sp, const kv_data *kv)
{
    char name[64];
    size_t n = kv->n, vlen = sp->vlen;
    srd_val keys[PUT_BATCH], vals[PUT_BATCH];
    uint8_t *vbuf = xmalloc(PUT_BATCH * vlen);
    MDB_dbi dbi;
    MDB_txn *txn = NULL;

    snprintf(name, sizeof name, "get%zu.srd", vlen);
    wpath(sp->srd, name);
    snprintf(name, sizeof name, "get%zu.mdb", vlen);
    wpath(sp->mdb, name);
    progress("loading %zu keys with %zu-byte values into srd and LMDB", n,
             vlen);

    srd_store *st = srd_open_mode(sp->srd, SRD_OPEN_CREATE, SRD_SYNC_NEVER);
    for (size_t i = 0; i < n; i += PUT_BATCH) {
        size_t m = n - i < PUT_BATCH ? n - i : PUT_BATCH;
        for (size_t j = 0; j < m; j++) {
            keys[j] = (srd_val){kv->keys + (i + j) * KEY_SLOT, KEY_LEN};
            make_value(i + j, vlen, vbuf + j * vlen);
            vals[j] = (srd_val){vbuf + j * vlen, vlen};
        }
        SRD_CHECK(srd_put_batch(st, keys, vals, m));
    }
    SRD_CHECK(srd_sync(st)); /* no writeback noise in later figures */
    SRD_CHECK(srd_close(st));

    /* Sorted keys with MDB_APPEND: full pages, LMDB's best read layout. */
    MDB_env *env = lmdb_open(sp->mdb, (size_t)n * (vlen + 96) * 2 + (256u << 20),
                             MDB_NOSYNC, &dbi);
    for (size_t i = 0; i < n; i++) {
        uint8_t v[128];
        if (i % 100000 == 0) {
            if (txn)
                MDB_CHECK(mdb_txn_commit(txn));
            MDB_CHECK(mdb_txn_begin(env, NULL, 0, &txn));
        }
        MDB_val k = {KEY_LEN, kv->keys + i * KEY_SLOT};
        MDB_val d = {vlen, v};
        make_value(i, vlen, v);
        MDB_CHECK(mdb_put(txn, dbi, &k, &d, MDB_APPEND));
    }
    if (txn)
        MDB_CHECK(mdb_txn_commit(txn));
    MDB_CHECK(mdb_env_sync(env, 1));
    mdb_env_close(env);
    free(vbuf);
    sp->loaded = true;
}

/*
 * Untimed pass over every key: both engines must return the exact bytes
 * (so the figures compare equal work), and the pages get mapped.
 */
void verify_pair(const store_pair *sp, srd_store *st, MDB_env *env,
                 MDB_dbi dbi, const kv_data *kv)
{
    uint8_t want[128];
    MDB_txn *txn;
    uint64_t live;
    SRD_CHECK(srd_count(st, &live));
    if (live != kv->n)
        die("srd_count says %llu live keys, expected %zu",
            (unsigned long long)live, kv->n);
    MDB_CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    for (size_t i = 0; i < kv->n; i++) {
        srd_view v;
        srd_val k = {kv->keys + i * KEY_SLOT, KEY_LEN};
        MDB_val mk = {KEY_LEN, kv->keys + i * KEY_SLOT}, md;
        make_value(i, sp->vlen, want);
        SRD_CHECK(srd_get(st, k, &v));
        if (v.len != sp->vlen || memcmp(v.data, want, sp->vlen) != 0)
            die("srd_get returned wrong bytes for %s", kv->keys + i * KEY_SLOT);
        if (((uintptr_t)v.data & 63) != 0)
            die("srd_get view of %s is not 64-byte aligned",
                kv->keys + i * KEY_SLOT);
        srd_view_release(&v);
        MDB_CHECK(mdb_get(txn, dbi, &mk, &md));
        if (md.mv_size != sp->vlen || memcmp(md.mv_data, want, sp->vlen) != 0)
            die("mdb_get returned wrong bytes for %s", kv->keys + i * KEY_SLOT);
    }
    mdb_txn_abort(txn);
}
