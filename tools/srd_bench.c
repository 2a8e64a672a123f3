/* SPDX-License-Identifier: MIT */
/*
 * srd_bench.c -- srd-bench: embedded-mode srd measured against LMDB.
 *
 * Each benchmark runs srd and LMDB in the same process, on the same keys
 * ("key%08d") and values, interleaving their repetitions, and prints the
 * absolute figures, the srd/LMDB ratio (> 1 always means srd is better) and
 * the targets of docs/PERFORMANCE.md. Every srd and LMDB call is checked:
 * any failure prints a message and exits non-zero.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <lmdb.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_daemon.h"
#include "bench_transport.h"
#include "bench_util.h"
#include "format.h"
#include "srd/srd.h"

/* ======================================================================== */
/* Constants and configuration                                              */
/* ======================================================================== */

#define KEY_SLOT 16          /* bytes per pre-formatted key ("key%08d\0") */
#define KEY_LEN 11           /* strlen("key00000000") */
#define MAX_KEYS 99999999u   /* "key%08d" stays 11 bytes long */
#define LMDB_TXN_GETS 1000   /* LMDB read txn reset/renew cadence */
#define PUT_BATCH 1000       /* entries per srd_put_batch / LMDB txn */
#define CHUNK (1u << 20)     /* streaming chunk */

enum {
    B_MACHINE = 1u << 0,
    B_GET = 1u << 1,
    B_GET_MANY = 1u << 2,
    B_PUT = 1u << 3,
    B_BATCH = 1u << 4,
    B_OPEN = 1u << 5,
    B_STREAM = 1u << 6,
    B_INDEX = 1u << 7,
    B_DAEMON = 1u << 8,
    B_TRANSPORT = 1u << 9,
    B_ALL = 0x3ffu
};

static const struct {
    const char *name;
    unsigned bit;
    const char *what;
} bench_names[] = {
    {"machine", B_MACHINE, "DRAM miss, memcpy, fdatasync, CRC-32"},
    {"get", B_GET, "random srd_get vs mdb_get, 8 B and 100 B values"},
    {"get_many", B_GET_MANY, "srd_get_many in batches of 16 and 64"},
    {"put", B_PUT, "single puts, sync never and always"},
    {"batch", B_BATCH, "srd_put_batch of 1000 entries"},
    {"open", B_OPEN, "open + first get + close of the N-key store"},
    {"stream", B_STREAM, "streaming write and read of one large value"},
    {"index", B_INDEX, "index and file bytes per live key"},
    {"daemon", B_DAEMON, "srdd + client processes: reads, puts, visibility"},
    {"transport", B_TRANSPORT,
     "request-path candidates: seqpacket+epoll, NNG, shm+futex, Redis"},
};

typedef struct bench_cfg {
    const char *parent;   /* where the work dir is created */
    size_t keys;          /* N */
    bool quick;
    bool json;
    unsigned only;        /* B_* bits */
    unsigned reps;        /* repetitions of short measurements */
    unsigned slow_reps;   /* repetitions of long measurements */
    size_t chase_bytes;   /* pointer-chase array */
    size_t chase_hops;    /* hops per timed chase */
    size_t memcpy_bytes;
    size_t crc_bytes;
    unsigned fsync_iters;
    size_t single_puts;   /* srd_put / LMDB txn count, never/nosync mode */
    size_t sync_puts;     /* same, sync always / default sync */
    size_t sync_batch_entries;
    size_t stream_bytes;
    const char *srdd;     /* srdd binary for the daemon section */
} bench_cfg;

/* ======================================================================== */
/* LMDB errors                                                              */
/* ======================================================================== */

static _Noreturn void die_mdb(const char *what, int rc, int line)
{
    die("line %d: %s failed: %s", line, what, mdb_strerror(rc));
}

#define MDB_CHECK(call)                                                       \
    do {                                                                      \
        int chk_rc_ = (call);                                                 \
        if (chk_rc_ != MDB_SUCCESS)                                           \
            die_mdb(#call, chk_rc_, __LINE__);                                \
    } while (0)

/* ======================================================================== */
/* Keys and values                                                          */
/* ======================================================================== */

/* The same data for both engines. Lookups and puts walk a pre-generated
 * random order; its keys are laid out contiguously, like a request stream. */
typedef struct kv_data {
    size_t n;
    char *keys;       /* key i at keys + i * KEY_SLOT, NUL-terminated */
    uint32_t *order;  /* random permutation of [0, n) */
    char *qkeys;      /* key order[i] at qkeys + i * KEY_SLOT */
    srd_val *qk;      /* qkeys as srd_val */
    MDB_val *qm;      /* qkeys as MDB_val */
    uint8_t *qv8;     /* 8-byte value of key order[i] at qv8 + 8 * i */
    srd_val *qv;      /* qv8 as srd_val */
    MDB_val *qmv;     /* qv8 as MDB_val */
} kv_data;

/* The value of key i: len pseudo-random bytes, never the lone byte 0x00. */
static void make_value(size_t i, size_t len, uint8_t *out)
{
    fill_random(out, len, SEED ^ (uint64_t)i * 0x100000001b3ull);
    out[0] |= 1;
}

static void kv_init(kv_data *kv, size_t n)
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
    for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        size_t j = rng_next(&s) % (i + 1);
        uint32_t t = kv->order[i];
        kv->order[i] = kv->order[j];
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

static void kv_free(kv_data *kv)
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

static srd_store *srd_open_mode(const char *path, unsigned flags,
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
static srd_store *srd_open_private(const char *path)
{
    setenv("SRD_SHARED_INDEX", "0", 1);
    srd_store *st = srd_open_mode(path, SRD_OPEN_READONLY, SRD_SYNC_NEVER);
    unsetenv("SRD_SHARED_INDEX");
    return st;
}

static MDB_env *lmdb_open(const char *path, size_t mapsize, unsigned flags,
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

/* The N-key stores shared by get, get_many, open and index. */
typedef struct store_pair {
    size_t vlen;
    char srd[PATH_MAX];
    char mdb[PATH_MAX];
    bool loaded;
} store_pair;

static void load_pair(store_pair *sp, const kv_data *kv)
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
static void verify_pair(const store_pair *sp, srd_store *st, MDB_env *env,
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

/* ======================================================================== */
/* 1. Machine limits                                                        */
/* ======================================================================== */

/* ns per hop of a pointer chase through one random cycle over all 64-byte
 * lines of a bytes-sized array: one dependent cache (and TLB) miss each. */
static double chase_ns(const bench_cfg *cfg, bool huge)
{
    size_t bytes = cfg->chase_bytes, lines = bytes / 64;
    uint64_t s = SEED;
    double t[16];
    uint64_t *a = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
        die("mmap %zu bytes: %s", bytes, strerror(errno));
    /* Explicit either way, whatever the system's THP default is. */
    if (madvise(a, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0)
        progress("madvise(%s) failed: %s", huge ? "HUGEPAGE" : "NOHUGEPAGE",
                 strerror(errno));
    /* Sattolo's shuffle yields a single cycle through every line. */
    for (size_t i = 0; i < lines; i++)
        a[i * 8] = i;
    for (size_t i = lines - 1; i > 0; i--) {
        size_t j = rng_next(&s) % i;
        uint64_t x = a[i * 8];
        a[i * 8] = a[j * 8];
        a[j * 8] = x;
    }
    for (size_t i = 0; i < lines; i++)
        a[i * 8] = (uint64_t)(uintptr_t)(a + a[i * 8] * 8);

    const uint64_t *p = a;
    for (size_t h = 0; h < cfg->chase_hops / 4; h++) /* warm up */
        p = (const uint64_t *)(uintptr_t)*p;
    for (unsigned r = 0; r < 3; r++) {
        uint64_t t0 = now_ns();
        for (size_t h = 0; h < cfg->chase_hops; h++)
            p = (const uint64_t *)(uintptr_t)*p;
        t[r] = (double)(now_ns() - t0) / (double)cfg->chase_hops;
    }
    g_sink += (uint64_t)(uintptr_t)p;
    munmap(a, bytes);
    return median(t, 3);
}

static double memcpy_gbs(const bench_cfg *cfg)
{
    size_t n = cfg->memcpy_bytes;
    double t[16];
    uint8_t *src = xmalloc(n), *dst = xmalloc(n);
    fill_random(src, n, SEED);
    memset(dst, 1, n);
    memcpy(dst, src, n);
    for (unsigned r = 0; r < cfg->reps; r++) {
        uint64_t t0 = now_ns();
        memcpy(dst, src, n);
        t[r] = (double)n / (double)(now_ns() - t0);
        g_sink += dst[r];
    }
    free(src);
    free(dst);
    return median(t, cfg->reps);
}

/* Median and 99th percentile of (64-byte append + fdatasync), in µs. */
static void fdatasync_us(const bench_cfg *cfg, double *med, double *p99)
{
    char path[PATH_MAX];
    unsigned n = cfg->fsync_iters;
    double *t = xmalloc(n * sizeof *t);
    uint8_t buf[64];
    memset(buf, 'x', sizeof buf);
    wpath(path, "fdatasync.dat");
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644);
    if (fd < 0)
        die("open %s: %s", path, strerror(errno));
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
            die("write %s: %s", path, strerror(errno));
        if (fdatasync(fd) != 0)
            die("fdatasync %s: %s", path, strerror(errno));
        t[i] = (double)(now_ns() - t0) / 1e3;
    }
    close(fd);
    unlink(path);
    *med = median(t, n); /* sorts t */
    *p99 = t[(size_t)((n - 1) * 0.99)];
    free(t);
}

static double crc_gbs(const bench_cfg *cfg)
{
    size_t n = cfg->crc_bytes;
    double t[16];
    uint8_t *buf = xmalloc(n);
    if (srdi_crc32(0, "123456789", 9) != 0xcbf43926u)
        die("srdi_crc32 is not CRC-32/IEEE (check value mismatch)");
    fill_random(buf, n, SEED);
    g_sink += srdi_crc32(0, buf, n); /* warm */
    for (unsigned r = 0; r < cfg->reps; r++) {
        uint64_t t0 = now_ns();
        g_sink += srdi_crc32(0, buf, n);
        t[r] = (double)n / (double)(now_ns() - t0);
    }
    free(buf);
    return median(t, cfg->reps);
}

static double bench_machine(const bench_cfg *cfg)
{
    double med, p99, miss, v;
    row *r;
    progress("machine: pointer chase over %zu MiB", cfg->chase_bytes >> 20);
    miss = chase_ns(cfg, false);
    row_add("machine", "ns", 0, miss, NAN,
            "dependent DRAM miss, %zu MiB, 4 KiB pages", cfg->chase_bytes >> 20);
    v = chase_ns(cfg, true);
    row_add("machine", "ns", 0, v, NAN, "dependent DRAM miss, 2 MiB pages");
    progress("machine: memcpy, fdatasync, CRC-32");
    row_add("machine", "GB/s", 0, memcpy_gbs(cfg), NAN,
            "memcpy %zu MiB", cfg->memcpy_bytes >> 20);
    fdatasync_us(cfg, &med, &p99);
    row_add("machine", "us", 0, med, NAN,
            "fdatasync after 64 B append, median of %u", cfg->fsync_iters);
    row_add("machine", "us", 0, p99, NAN, "fdatasync after 64 B append, p99");
    v = crc_gbs(cfg);
    r = row_add("machine", "GB/s", 0, v, NAN, "CRC-32 srdi_crc32, %zu MiB",
                cfg->crc_bytes >> 20);
    row_target(r, v >= 10.0, ">= 10 GB/s");
    return miss;
}

/* ======================================================================== */
/* 2-3. Random gets                                                         */
/* ======================================================================== */

/* ns per srd_get over the random order; touches first and last byte. */
static double srd_gets_ns(srd_store *st, const kv_data *kv, size_t vlen)
{
    uint64_t acc = 0, t0 = now_ns();
    for (size_t i = 0; i < kv->n; i++) {
        srd_view v;
        srd_err rc = srd_get(st, kv->qk[i], &v);
        if (rc != SRD_OK)
            die_srd("srd_get", rc, __LINE__);
        if (v.len != vlen)
            die("srd_get: length %zu, expected %zu", v.len, vlen);
        acc += v.data[0] + v.data[v.len - 1];
        srd_view_release(&v);
    }
    double ns = (double)(now_ns() - t0) / (double)kv->n;
    g_sink += acc;
    return ns;
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
static double lmdb_gets_ns(MDB_env *env, MDB_dbi dbi, const kv_data *kv,
                           size_t vlen, size_t batch)
{
    MDB_txn *txn;
    size_t every = batch * (LMDB_TXN_GETS / batch ? LMDB_TXN_GETS / batch : 1);
    uint64_t acc = 0;
    MDB_CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < kv->n; i++) {
        MDB_val d;
        if (i % every == 0 && i > 0) {
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
    double ns = (double)(now_ns() - t0) / (double)kv->n;
    mdb_txn_abort(txn);
    g_sink += acc;
    return ns;
}

static void open_pair(const store_pair *sp, const kv_data *kv, srd_store **st,
                      MDB_env **env, MDB_dbi *dbi)
{
    *st = srd_open_mode(sp->srd, SRD_OPEN_READONLY, SRD_SYNC_NEVER);
    *env = lmdb_open(sp->mdb, 0, MDB_RDONLY, dbi);
    verify_pair(sp, *st, *env, *dbi, kv);
}

static void bench_get(const bench_cfg *cfg, const kv_data *kv,
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
    for (unsigned i = 0; i < cfg->reps; i++) { /* interleaved: same caches */
        s[i] = srd_gets_ns(st, kv, sp->vlen);
        l[i] = lmdb_gets_ns(env, dbi, kv, sp->vlen, 1);
        p[i] = srd_gets_ns(priv, kv, sp->vlen);
    }
    SRD_CHECK(srd_close(priv));
    double sn = median(s, cfg->reps), ln = median(l, cfg->reps);
    double pn = median(p, cfg->reps);
    row_add("get", "ns/get", -1, sn, ln, "random get, %zu B values", sp->vlen);
    r = row_add("get", "gets/s", +1, 1e9 / sn, 1e9 / ln,
                "random get, %zu B values", sp->vlen);
    row_target(r, ln / sn >= 1.5, ">= 1.5x LMDB");
    r = row_add("get", "gets/s", +1, 1e9 / sn, 1e9 / pn,
                "random get, %zu B, shared index vs private (base)", sp->vlen);
    row_target(r, pn / sn >= 0.9, ">= 0.9x private");
    if (!isnan(miss)) {
        r = row_add("get", "x 2 miss", 0, sn / (2 * miss), NAN,
                    "random get %zu B / two DRAM misses", sp->vlen);
        row_target(r, sn / (2 * miss) <= 1.3, "<= 1.3 (%.0f ns)", 2.6 * miss);
    }
    SRD_CHECK(srd_close(st));
    mdb_env_close(env);
}

static void bench_get_many(const bench_cfg *cfg, const kv_data *kv,
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

static void bench_put(const bench_cfg *cfg, const kv_data *kv)
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

static void bench_batch(const bench_cfg *cfg, const kv_data *kv)
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

/* ======================================================================== */
/* 6. Open                                                                  */
/* ======================================================================== */

/* srdd from --srdd, else beside srd-bench in the build tree
 * (build/tools/srd-bench -> build/daemon/srdd); guess holds the latter. */
static const char *srdd_path(const bench_cfg *cfg, char *guess, size_t cap)
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

static void bench_open(const bench_cfg *cfg, const kv_data *kv,
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

/* ======================================================================== */
/* 7. Streaming                                                             */
/* ======================================================================== */

static const srd_val stream_key = {"stream-value", 12};

/* Writes total bytes as one value in CHUNK pieces into a fresh store;
 * *nosync_s and *sync_s get the seconds to commit and to a final srd_sync. */
static void srd_stream_write_s(const char *path, const uint8_t *chunk,
                               size_t total, double *nosync_s, double *sync_s)
{
    srd_stream *s;
    remove_files("stream.srd");
    srd_store *st = srd_open_mode(path, SRD_OPEN_CREATE, SRD_SYNC_NEVER);
    uint64_t t0 = now_ns();
    SRD_CHECK(srd_stream_begin(st, stream_key, &s));
    for (size_t off = 0; off < total; off += CHUNK) {
        size_t m = total - off < CHUNK ? total - off : CHUNK;
        srd_err rc = srd_stream_write(s, chunk, m);
        if (rc != SRD_OK) {
            srd_stream_abort(s);
            die_srd("srd_stream_write", rc, __LINE__);
        }
    }
    SRD_CHECK(srd_stream_commit(s));
    uint64_t t1 = now_ns();
    SRD_CHECK(srd_sync(st));
    uint64_t t2 = now_ns();
    SRD_CHECK(srd_close(st));
    *nosync_s = (double)(t1 - t0) / 1e9;
    *sync_s = (double)(t2 - t0) / 1e9;
}

/* LMDB's equivalent: one txn, mdb_put(MDB_RESERVE) then CHUNK copies. */
static void lmdb_stream_write_s(const char *path, const uint8_t *chunk,
                                size_t total, double *nosync_s, double *sync_s)
{
    MDB_dbi dbi;
    MDB_txn *txn;
    remove_files("stream.mdb");
    MDB_env *env = lmdb_open(path, 2 * total + (64u << 20), MDB_NOSYNC, &dbi);
    MDB_val k = {stream_key.len, (void *)stream_key.ptr}, d = {total, NULL};
    uint64_t t0 = now_ns();
    MDB_CHECK(mdb_txn_begin(env, NULL, 0, &txn));
    MDB_CHECK(mdb_put(txn, dbi, &k, &d, MDB_RESERVE));
    for (size_t off = 0; off < total; off += CHUNK) {
        size_t m = total - off < CHUNK ? total - off : CHUNK;
        memcpy((uint8_t *)d.mv_data + off, chunk, m);
    }
    MDB_CHECK(mdb_txn_commit(txn));
    uint64_t t1 = now_ns();
    MDB_CHECK(mdb_env_sync(env, 1));
    uint64_t t2 = now_ns();
    mdb_env_close(env);
    *nosync_s = (double)(t1 - t0) / 1e9;
    *sync_s = (double)(t2 - t0) / 1e9;
}

static uint64_t sum_words(const uint8_t *p, size_t n)
{
    uint64_t acc = 0, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        acc += w;
    }
    for (; i < n; i++)
        acc += p[i];
    return acc;
}

/* Seconds to copy the value out in CHUNK pieces; verify compares them. */
static double srd_stream_read_s(srd_store *st, const uint8_t *chunk,
                                uint8_t *buf, size_t total, bool verify)
{
    srd_read_stream *rs;
    size_t got = 0, n;
    uint64_t t0 = now_ns();
    SRD_CHECK(srd_read_stream_open(st, stream_key, &rs));
    for (;;) {
        srd_err rc = srd_read_stream_read(rs, buf, CHUNK, &n);
        if (rc != SRD_OK) {
            srd_read_stream_close(rs);
            die_srd("srd_read_stream_read", rc, __LINE__);
        }
        if (n == 0)
            break;
        if (verify && memcmp(buf, chunk + got % CHUNK, n) != 0)
            die("srd_read_stream_read returned wrong bytes at %zu", got);
        g_sink += buf[0];
        got += n;
    }
    srd_read_stream_close(rs);
    double s = (double)(now_ns() - t0) / 1e9;
    if (got != total)
        die("srd read stream gave %zu bytes, expected %zu", got, total);
    return s;
}

static double srd_view_scan_s(srd_store *st, size_t total)
{
    srd_view v;
    uint64_t t0 = now_ns();
    SRD_CHECK(srd_get(st, stream_key, &v));
    if (v.len != total)
        die("srd_get of the streamed value: %zu bytes, expected %zu", v.len,
            total);
    g_sink += sum_words(v.data, v.len);
    srd_view_release(&v);
    return (double)(now_ns() - t0) / 1e9;
}

static double lmdb_read_s(MDB_env *env, MDB_dbi dbi, const uint8_t *chunk,
                          uint8_t *buf, size_t total, bool copy, bool verify)
{
    MDB_txn *txn;
    MDB_val k = {stream_key.len, (void *)stream_key.ptr}, d;
    uint64_t t0 = now_ns();
    MDB_CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    MDB_CHECK(mdb_get(txn, dbi, &k, &d));
    if (d.mv_size != total)
        die("mdb_get of the streamed value: %zu bytes, expected %zu",
            d.mv_size, total);
    if (copy) {
        for (size_t off = 0; off < total; off += CHUNK) {
            size_t m = total - off < CHUNK ? total - off : CHUNK;
            memcpy(buf, (const uint8_t *)d.mv_data + off, m);
            if (verify && memcmp(buf, chunk, m) != 0)
                die("LMDB value has wrong bytes at %zu", off);
            g_sink += buf[0];
        }
    } else {
        g_sink += sum_words(d.mv_data, d.mv_size);
    }
    mdb_txn_abort(txn);
    return (double)(now_ns() - t0) / 1e9;
}

static void bench_stream(const bench_cfg *cfg)
{
    char spath[PATH_MAX], mpath[PATH_MAX];
    size_t total = cfg->stream_bytes;
    double sw[16], sws[16], lw[16], lws[16], sr[16], lr[16], sv[16], lv[16];
    double gb = (double)total / 1e9;
    uint8_t *chunk = xmalloc(CHUNK), *buf = xmalloc(CHUNK);
    unsigned reps = cfg->slow_reps;
    MDB_dbi dbi;
    row *r;

    fill_random(chunk, CHUNK, SEED ^ 7);
    chunk[0] |= 1;
    memset(buf, 0, CHUNK);
    wpath(spath, "stream.srd");
    wpath(mpath, "stream.mdb");
    progress("stream: %zu MiB value in %u KiB chunks", total >> 20,
             CHUNK >> 10);
    for (unsigned i = 0; i < reps; i++) {
        srd_stream_write_s(spath, chunk, total, &sw[i], &sws[i]);
        lmdb_stream_write_s(mpath, chunk, total, &lw[i], &lws[i]);
        sw[i] = gb / sw[i];
        sws[i] = gb / sws[i];
        lw[i] = gb / lw[i];
        lws[i] = gb / lws[i];
    }
    double v = median(sw, reps);
    r = row_add("stream", "GB/s", +1, v, median(lw, reps),
                "write %zu MiB, sync never / NOSYNC", total >> 20);
    row_target(r, v >= 2.0, ">= 2 GB/s");
    row_add("stream", "GB/s", +1, median(sws, reps), median(lws, reps),
            "write %zu MiB + srd_sync / env_sync", total >> 20);

    /* Reads of the value the last repetition left. */
    srd_store *st = srd_open_mode(spath, SRD_OPEN_READONLY, SRD_SYNC_NEVER);
    MDB_env *env = lmdb_open(mpath, 0, MDB_RDONLY, &dbi);
    srd_stream_read_s(st, chunk, buf, total, true);
    lmdb_read_s(env, dbi, chunk, buf, total, true, true);
    for (unsigned i = 0; i < cfg->reps; i++) {
        sr[i] = gb / srd_stream_read_s(st, chunk, buf, total, false);
        lr[i] = gb / lmdb_read_s(env, dbi, chunk, buf, total, true, false);
        sv[i] = gb / srd_view_scan_s(st, total);
        lv[i] = gb / lmdb_read_s(env, dbi, chunk, buf, total, false, false);
    }
    row_add("stream", "GB/s", +1, median(sr, cfg->reps), median(lr, cfg->reps),
            "read %zu MiB, 1 MiB copies (read stream)", total >> 20);
    row_add("stream", "GB/s", +1, median(sv, cfg->reps), median(lv, cfg->reps),
            "read %zu MiB in place (view, sum words)", total >> 20);
    SRD_CHECK(srd_close(st));
    mdb_env_close(env);
    remove_files("stream.");
    free(chunk);
    free(buf);
}

/* ======================================================================== */
/* 8. Index size                                                            */
/* ======================================================================== */

static void bench_index(const kv_data *kv, const store_pair *sp)
{
    srd_info info;
    MDB_envinfo ei;
    MDB_stat ms;
    MDB_dbi dbi;

    srd_store *st = srd_open_mode(sp->srd, 0, SRD_SYNC_NEVER);
    SRD_CHECK(srd_get_info(st, &info));
    SRD_CHECK(srd_close(st));
    if (info.live_keys != kv->n)
        die("srd_get_info: %llu live keys, expected %zu",
            (unsigned long long)info.live_keys, kv->n);
    MDB_env *env = lmdb_open(sp->mdb, 0, MDB_RDONLY, &dbi);
    MDB_CHECK(mdb_env_info(env, &ei));
    MDB_CHECK(mdb_env_stat(env, &ms));
    mdb_env_close(env);

    double live = (double)info.live_keys;
    row_add("index", "B/key", 0, (double)info.index_bytes / live, NAN,
            "index bytes per live key, %zu keys", kv->n);
    srd_info ro, priv;
    st = srd_open_mode(sp->srd, SRD_OPEN_READONLY, SRD_SYNC_NEVER);
    SRD_CHECK(srd_get_info(st, &ro));
    SRD_CHECK(srd_close(st));
    st = srd_open_private(sp->srd);
    SRD_CHECK(srd_get_info(st, &priv));
    SRD_CHECK(srd_close(st));
    row *r = row_add("index", "KiB", -1, (double)ro.index_bytes / 1024.0,
                     (double)priv.index_bytes / 1024.0,
                     "reader process index memory, %zu keys, vs private "
                     "(base)", kv->n);
    row_target(r, (double)ro.index_bytes <= 4.0 * MIB, "<= 4 MiB");
    row_add("index", "B/key", -1, (double)info.tail / live,
            (double)(ei.me_last_pgno + 1) * ms.ms_psize / (double)ms.ms_entries,
            "file bytes per key, %zu B values", sp->vlen);
}

/* ======================================================================== */
/* Main                                                                     */
/* ======================================================================== */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: srd-bench [--dir DIR] [--keys N] [--quick] "
            "[--only NAME[,NAME]] [--json] [--srdd PATH]\n"
            "  --dir DIR   create the work directory in DIR (default /tmp);\n"
            "              it is removed at the end\n"
            "  --keys N    keys in the get/put stores (default 1000000;\n"
            "              20000 with --quick)\n"
            "  --quick     small sizes, for a CI smoke run (< 30 s)\n"
            "  --only LIST comma-separated benchmarks to run (default all):\n");
    for (size_t i = 0; i < sizeof bench_names / sizeof bench_names[0]; i++)
        fprintf(f, "                %-9s %s\n", bench_names[i].name,
                bench_names[i].what);
    fprintf(f, "  --json      print the results as JSON instead of a table\n"
               "  --srdd PATH srdd for the daemon section (default: the build\n"
               "              tree's daemon/srdd next to srd-bench)\n");
}

static unsigned parse_only(const char *arg)
{
    unsigned bits = 0;
    char *copy = strdup(arg), *save = NULL;
    if (copy == NULL)
        die("out of memory");
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t i;
        for (i = 0; i < sizeof bench_names / sizeof bench_names[0]; i++)
            if (strcmp(t, bench_names[i].name) == 0)
                break;
        if (i == sizeof bench_names / sizeof bench_names[0]) {
            fprintf(stderr, "srd-bench: unknown benchmark '%s'\n", t);
            usage(stderr);
            free(copy);
            exit(2);
        }
        bits |= bench_names[i].bit;
    }
    free(copy);
    if (bits == 0) {
        usage(stderr);
        exit(2);
    }
    return bits;
}

static void cfg_sizes(bench_cfg *c)
{
    if (c->quick) {
        c->reps = 3;
        c->slow_reps = 1;
        c->chase_bytes = 64u << 20;
        c->chase_hops = 1000000;
        c->memcpy_bytes = 32u << 20;
        c->crc_bytes = 16u << 20;
        c->fsync_iters = 20;
        c->single_puts = 20000;
        c->sync_puts = 50;
        c->sync_batch_entries = 5000;
        c->stream_bytes = 16u << 20;
    } else {
        c->reps = 5;
        c->slow_reps = 3;
        c->chase_bytes = 1024u << 20;
        c->chase_hops = 10000000;
        c->memcpy_bytes = 256u << 20;
        c->crc_bytes = 64u << 20;
        c->fsync_iters = 200;
        c->single_puts = 200000;
        c->sync_puts = 2000;
        c->sync_batch_entries = 100000;
        c->stream_bytes = 256u << 20;
    }
}

#ifdef SRD_BENCH_DAEMON
/* The daemon section, with srdd from --srdd or beside srd-bench in the
 * build tree (build/tools/srd-bench -> build/daemon/srdd). */
static void run_daemon_section(const bench_cfg *cfg)
{
    char guess[PATH_MAX + 32];
    const char *srdd = srdd_path(cfg, guess, sizeof guess);
    bench_daemon_cfg d = {
        .srdd = srdd,
        .keys = cfg->quick ? 20000 : 200000,
        .gets = cfg->quick ? 200000 : 2000000,
        .rtts = cfg->quick ? 2000 : 20000,
        .puts = cfg->quick ? 50000 : 1000000,
        .visibility = cfg->quick ? 200 : 2000,
        .seconds = cfg->quick ? 0.5 : 2.0,
    };
    bench_daemon(&d);
}
#endif

/* One line describing the machine, for the header and the JSON. */
static void machine_line(char *out, size_t cap)
{
    char model[128] = "unknown CPU", line[256], thp[64] = "?";
    struct utsname u;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            char *c = strchr(line, ':');
            if (strncmp(line, "model name", 10) == 0 && c) {
                snprintf(model, sizeof model, "%s", c + 2);
                model[strcspn(model, "\n")] = '\0';
                break;
            }
        }
        fclose(f);
    }
    f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f) {
        if (fgets(line, sizeof line, f)) {
            char *a = strchr(line, '['), *b = a ? strchr(a, ']') : NULL;
            if (a && b)
                snprintf(thp, sizeof thp, "%.*s", (int)(b - a - 1), a + 1);
        }
        fclose(f);
    }
    if (uname(&u) != 0)
        snprintf(u.release, sizeof u.release, "?");
    double mem = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    snprintf(out, cap, "%s, %ld cores, %.1f GiB RAM, Linux %s, THP %s", model,
             sysconf(_SC_NPROCESSORS_ONLN), mem / (MIB * 1024), u.release, thp);
}

/* Parse the command line into *cfg. Returns -1 to go on, or the exit
 * status to leave with (0 after --help, 2 after a usage error). */
static int parse_args(int argc, char **argv, bench_cfg *cfg)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"keys", required_argument, NULL, 'k'},
        {"quick", no_argument, NULL, 'q'},
        {"only", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},
        {"srdd", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool keys_given = false;
    int c;

    while ((c = getopt_long(argc, argv, "d:k:qo:js:h", longopts, NULL)) != -1) {
        char *end;
        unsigned long long v;
        switch (c) {
        case 'd':
            cfg->parent = optarg;
            break;
        case 'k':
            errno = 0;
            v = strtoull(optarg, &end, 10);
            if (errno || *end || v < 1 || v > MAX_KEYS) {
                fprintf(stderr, "srd-bench: --keys wants 1..%u\n", MAX_KEYS);
                return 2;
            }
            cfg->keys = (size_t)v;
            keys_given = true;
            break;
        case 'q':
            cfg->quick = true;
            break;
        case 'o':
            cfg->only = parse_only(optarg);
            break;
        case 'j':
            cfg->json = true;
            break;
        case 's':
            cfg->srdd = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (!keys_given)
        cfg->keys = cfg->quick ? 20000 : 1000000;
    return -1;
}

/* Run every benchmark cfg->only selects, adding its rows to the table. */
static void run_benchmarks(const bench_cfg *cfg, const kv_data *kv)
{
    double miss = NAN;
    store_pair p8 = {.vlen = 8}, p100 = {.vlen = 100};

    if (cfg->only & B_MACHINE)
        miss = bench_machine(cfg);
    if (cfg->only & (B_GET | B_GET_MANY | B_OPEN | B_INDEX))
        load_pair(&p8, kv);
    if (cfg->only & (B_GET | B_GET_MANY))
        load_pair(&p100, kv);
    if (cfg->only & B_GET) {
        bench_get(cfg, kv, &p8, miss);
        bench_get(cfg, kv, &p100, miss);
    }
    if (cfg->only & B_GET_MANY) {
        bench_get_many(cfg, kv, &p8);
        bench_get_many(cfg, kv, &p100);
    }
    if (cfg->only & B_PUT)
        bench_put(cfg, kv);
    if (cfg->only & B_BATCH)
        bench_batch(cfg, kv);
    if (cfg->only & B_OPEN)
        bench_open(cfg, kv, &p8);
    if (cfg->only & B_STREAM)
        bench_stream(cfg);
    if (cfg->only & B_INDEX)
        bench_index(kv, &p8);
#ifdef SRD_BENCH_DAEMON
    if (cfg->only & B_DAEMON)
        run_daemon_section(cfg);
#else
    if (cfg->only & B_DAEMON)
        progress("daemon: built without client mode: skipped");
#endif
    if (cfg->only & B_TRANSPORT) {
        bench_transport_cfg t = {.rtts = cfg->quick ? 2000 : 20000,
                                 .seconds = cfg->quick ? 0.5 : 2.0};
        bench_transport(&t);
    }
}

/* Print the results (table or JSON), headed by the machine line plus the
 * load average at the start and now. */
static void print_results(const bench_cfg *cfg, char *machine, size_t cap,
                          double load_start)
{
    double load[3] = {NAN, NAN, NAN};
    if (getloadavg(load, 3) < 1)
        load[0] = NAN;
    snprintf(machine + strlen(machine), cap - strlen(machine),
             ", load %.2f at start, %.2f at end", load_start, load[0]);
    if (cfg->json) {
        print_json(cfg->keys, cfg->quick, machine);
    } else {
        printf("srd-bench: %s\n", machine);
        printf("keys %zu%s; median of %u (short) / %u (long) runs; "
               "srd/base > 1 means srd is better; the baseline is LMDB "
               "unless the row names another\n\n",
               cfg->keys, cfg->quick ? " (--quick: not comparable to targets)" : "",
               cfg->reps, cfg->slow_reps);
        print_table();
    }
}

int main(int argc, char **argv)
{
    bench_cfg cfg = {.parent = "/tmp", .only = B_ALL};
    char machine[512];
    int rc = parse_args(argc, argv, &cfg);
    if (rc >= 0)
        return rc;
    cfg_sizes(&cfg);
    machine_line(machine, sizeof machine);
    workdir_create(cfg.parent);
    progress("%s", machine);
    progress("work directory %s, %zu keys%s", g_workdir, cfg.keys,
             cfg.quick ? ", quick" : "");

    double load_start = NAN;
    if (getloadavg(&load_start, 1) < 1)
        load_start = NAN;
    uint64_t t_start = now_ns();
    kv_data kv;
    kv_init(&kv, cfg.keys);
    run_benchmarks(&cfg, &kv);
    print_results(&cfg, machine, sizeof machine, load_start);
    progress("done in %.1f s", (double)(now_ns() - t_start) / 1e9);
    kv_free(&kv);
    rows_free();
    workdir_remove();
    return 0;
}
