/* SPDX-License-Identifier: MIT */
/*
 * check_writer_fault.c -- failure paths of the writer (writer.c), driven
 * through the public API. srdi_writer_set_sys makes pwritev, pwrite,
 * fdatasync or ftruncate fail (EIO, ENOSPC, a short count) at every call a
 * put, batch, stream or delete makes; RLIMIT_FSIZE gives a real EFBIG.
 * Invariant under test: a failed write leaves the file exactly as before.
 * The writer's pwrite writes only the synced-tail sidecar (writer.h): its
 * failures must not fail the write at all (test_failed_sidecar_write_...).
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bufsrc.h"
#include "synced.h"
#include "testutil.h"
#include "writer.h"

/* ------------------------------------------------------------------------ */
/* Fault-injecting system calls                                              */
/* ------------------------------------------------------------------------ */

enum { F_PWRITEV, F_PWRITE, F_FDATASYNC, F_FTRUNCATE, F_COUNT };
static const char *const fn_names[F_COUNT] = {"pwritev", "pwrite",
                                              "fdatasync", "ftruncate"};

/* What the armed call does. Once a fault trips, the failure is sticky for
 * the rest of the operation (a failing disk stays failed until disarmed),
 * so a writer that merely retries cannot hide it. */
enum {
    K_EIO,       /* -1/EIO, nothing written */
    K_EIO_DIRTY, /* half the bytes reach the file, then -1/EIO */
    K_ENOSPC,    /* -1/ENOSPC, nothing written */
    K_SHORT,     /* half the bytes written and that count returned; the
                    disk is then full: further writes get ENOSPC */
    K_COUNT
};
static const char *const kind_names[K_COUNT] = {"EIO", "EIO+partial",
                                                "ENOSPC", "short"};

typedef struct fault {
    int fn;       /* F_* */
    unsigned at;  /* 1-based call number of fn */
    int kind;     /* K_* */
    bool tripped;
} fault;

static struct {
    unsigned calls[F_COUNT]; /* calls seen since the last reset */
    fault f[2];
    int nf;
    int write_err; /* sticky errno for pwrite/pwritev once tripped */
    int sync_err;  /* sticky errno for fdatasync */
    int trunc_err; /* sticky errno for ftruncate */
    int sidecar_kind; /* 1 + K_*: every sidecar write fails so (0: none),
                         leaving the store's writes alone */
} g_fi;

static void fi_reset_counts(void)
{
    memset(g_fi.calls, 0, sizeof g_fi.calls);
}

static void fi_disarm(void)
{
    g_fi.nf = 0;
    g_fi.write_err = g_fi.sync_err = g_fi.trunc_err = 0;
}

static void fi_arm(int fn, unsigned at, int kind)
{
    ck_assert_int_lt(g_fi.nf, 2);
    fault f = {fn, at, kind, false};
    g_fi.f[g_fi.nf++] = f;
}

static bool fi_tripped(void)
{
    for (int i = 0; i < g_fi.nf; i++)
        if (g_fi.f[i].tripped)
            return true;
    return false;
}

/* The armed fault for call number c of fn, if any. "at == 0" means every
 * call. */
static fault *fi_match(int fn, unsigned c)
{
    for (int i = 0; i < g_fi.nf; i++) {
        fault *f = &g_fi.f[i];
        if (f->fn == fn && !f->tripped && (f->at == 0 || f->at == c))
            return f;
    }
    return NULL;
}

/* Writes the first len bytes described by iov at off (really). */
static ssize_t fi_write_prefix(int fd, const struct iovec *iov, int n,
                               off_t off, size_t len)
{
    struct iovec part[64];
    int k = 0;
    for (int i = 0; i < n && len > 0 && k < 64; i++) {
        size_t take = iov[i].iov_len < len ? iov[i].iov_len : len;
        if (take == 0)
            continue;
        part[k].iov_base = iov[i].iov_base;
        part[k].iov_len = take;
        len -= take;
        k++;
    }
    if (k == 0)
        return 0;
    return pwritev(fd, part, k, off);
}

static ssize_t fi_write(int fn, int fd, const struct iovec *iov, int n,
                        off_t off)
{
    unsigned c = ++g_fi.calls[fn];
    if (g_fi.write_err) {
        errno = g_fi.write_err;
        return -1;
    }
    fault *f = fi_match(fn, c);
    if (!f)
        return pwritev(fd, iov, n, off);
    f->tripped = true;
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    switch (f->kind) {
    case K_EIO:
        g_fi.write_err = EIO;
        break;
    case K_ENOSPC:
        g_fi.write_err = ENOSPC;
        break;
    case K_EIO_DIRTY:
        fi_write_prefix(fd, iov, n, off, total / 2);
        g_fi.write_err = EIO;
        break;
    case K_SHORT:
        g_fi.write_err = ENOSPC;
        if (total >= 2)
            return fi_write_prefix(fd, iov, n, off, total / 2);
        break;
    }
    errno = g_fi.write_err;
    return -1;
}

static ssize_t fi_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    return fi_write(F_PWRITEV, fd, iov, n, off);
}

static ssize_t fi_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    struct iovec iov = {(void *)(uintptr_t)buf, n};
    if (g_fi.sidecar_kind == 0)
        return fi_write(F_PWRITE, fd, &iov, 1, off);
    g_fi.calls[F_PWRITE]++;
    switch (g_fi.sidecar_kind - 1) {
    case K_EIO_DIRTY:
        fi_write_prefix(fd, &iov, 1, off, n / 2);
        errno = EIO;
        return -1;
    case K_SHORT:
        if (n >= 2)
            return fi_write_prefix(fd, &iov, 1, off, n / 2);
        errno = ENOSPC;
        return -1;
    default:
        errno = g_fi.sidecar_kind - 1 == K_ENOSPC ? ENOSPC : EIO;
        return -1;
    }
}

static int fi_fdatasync(int fd)
{
    unsigned c = ++g_fi.calls[F_FDATASYNC];
    if (!g_fi.sync_err) {
        fault *f = fi_match(F_FDATASYNC, c);
        if (!f)
            return fdatasync(fd);
        f->tripped = true;
        g_fi.sync_err = f->kind == K_ENOSPC ? ENOSPC : EIO;
    }
    errno = g_fi.sync_err;
    return -1;
}

static int fi_ftruncate(int fd, off_t len)
{
    unsigned c = ++g_fi.calls[F_FTRUNCATE];
    if (!g_fi.trunc_err) {
        fault *f = fi_match(F_FTRUNCATE, c);
        if (!f) {
            int rc = ftruncate(fd, len);
            if (rc == 0 && g_fi.write_err == ENOSPC)
                g_fi.write_err = 0; /* cutting frees space */
            return rc;
        }
        f->tripped = true;
        g_fi.trunc_err = EIO;
    }
    errno = g_fi.trunc_err;
    return -1;
}

static const srdi_sys fi_sys = {fi_pwritev, fi_pwrite, fi_fdatasync,
                                fi_ftruncate};

/* ------------------------------------------------------------------------ */
/* Fixture, model of the store and helpers                                   */
/* ------------------------------------------------------------------------ */

static char *g_dir;
static void fill_bytes(void);

static void setup(void)
{
    fill_bytes();
    g_dir = tu_tmpdir();
    memset(&g_fi, 0, sizeof g_fi);
    srdi_writer_set_sys(&fi_sys);
}

static void teardown(void)
{
    srdi_writer_set_sys(NULL);
    tu_rmtree(g_dir);
    free(g_dir);
}

/* A key and the value it should hold (val NULL: absent). */
typedef struct kv {
    const char *key;
    const uint8_t *val;
    size_t len;
} kv;

#define MIB (1u << 20)
#define MAX_KV 24

/* Backing bytes for every value used below (filled once per process). */
static uint8_t g_bytes[4 * MIB];

static void fill_bytes(void)
{
    for (size_t i = 0; i < sizeof g_bytes; i++)
        g_bytes[i] = (uint8_t)((i * 131u + (i >> 9) + 3u) & 0xFF);
    g_bytes[0] = 0x5A;
}

/* Value number i of length len: a window into g_bytes. */
static const uint8_t *val_at(unsigned i, size_t len)
{
    size_t off = ((size_t)i * 4099u) % (sizeof g_bytes - len);
    if (g_bytes[off] == 0)
        off++;
    return g_bytes + off;
}

/* The state every trial starts from. */
static kv g_prior[MAX_KV];
static int g_nprior;

static void prior_add(const char *key, const uint8_t *val, size_t len)
{
    ck_assert_int_lt(g_nprior, MAX_KV);
    kv e = {key, val, len};
    g_prior[g_nprior++] = e;
}

static const kv *prior_find(const char *key)
{
    for (int i = 0; i < g_nprior; i++)
        if (strcmp(g_prior[i].key, key) == 0)
            return &g_prior[i];
    return NULL;
}

static srd_store *open_store(const char *path)
{
    srd_options o;
    srd_options_init(&o);
    o.sync = SRD_SYNC_ALWAYS;
    srd_store *st = NULL;
    ck_srd(srd_open(path, &o, &st));
    return st;
}

/* Builds the prior state (hooks disarmed). */
static void write_prior(srd_store *st)
{
    static const char *const keys[6] = {"p0", "p1", "p2", "p3", "p4", "p5"};
    g_nprior = 0;
    for (unsigned i = 0; i < 6; i++) {
        size_t len = 10 + i * 300;
        const uint8_t *v = val_at(i, len);
        ck_srd(srd_put(st, tu_s(keys[i]), (srd_val){v, len}));
        prior_add(keys[i], v, len);
    }
    const uint8_t *big = val_at(50, 100000);
    ck_srd(srd_put(st, tu_s("big"), (srd_val){big, 100000}));
    prior_add("big", big, 100000);
    ck_srd(srd_put(st, tu_s("gone"), tu_s("soon deleted")));
    ck_srd(srd_delete(st, tu_s("gone"), NULL));
    prior_add("gone", NULL, 0);
    static const char *const victims[3] = {"victim1", "victim2", "victim3"};
    srd_val vk[3], vv[3];
    for (unsigned i = 0; i < 3; i++) {
        vk[i] = tu_s(victims[i]);
        vv[i] = (srd_val){val_at(60 + i, 77), 77};
        prior_add(victims[i], vv[i].ptr, 77);
    }
    ck_srd(srd_put_batch(st, vk, vv, 3));
}

static bool has_value(srd_store *st, const char *key, const uint8_t *val,
                      size_t len)
{
    srd_view v;
    srd_err rc = srd_get(st, tu_s(key), &v);
    if (val == NULL) {
        ck_assert_msg(rc == SRD_ENOTFOUND || rc == SRD_OK, "get %s: %s", key,
                      srd_errname(rc));
        if (rc == SRD_OK)
            srd_view_release(&v);
        return rc == SRD_ENOTFOUND;
    }
    ck_assert_msg(rc == SRD_OK || rc == SRD_ENOTFOUND, "get %s: %s", key,
                  srd_errname(rc));
    if (rc != SRD_OK)
        return false;
    bool same = v.len == len && memcmp(v.data, val, len) == 0;
    srd_view_release(&v);
    return same;
}

/* ------------------------------------------------------------------------ */
/* Operations under test                                                     */
/* ------------------------------------------------------------------------ */

/* One write operation and the state it leads to. */
typedef struct scen {
    const char *name;
    srd_err (*op)(srd_store *st);
    kv effects[12]; /* keys the op changes and their new values */
    int neffects;
} scen;

static srd_err op_put(srd_store *st)
{
    return srd_put(st, tu_s("new_put"), (srd_val){val_at(100, 5000), 5000});
}

static srd_err op_put_overwrite(srd_store *st)
{
    return srd_put(st, tu_s("p1"), (srd_val){val_at(101, 64), 64});
}

static srd_err op_put_large(srd_store *st)
{
    return srd_put(st, tu_s("large"), (srd_val){val_at(102, 3 * MIB), 3 * MIB});
}

static const char *const batch_keys[10] = {"bk0", "bk1", "bk2", "bk3", "bk4",
                                           "bk5", "bk6", "bk7", "bk8", "p2"};
static size_t batch_len(unsigned i)
{
    return 2 + i * 997;
}

static srd_err op_batch(srd_store *st)
{
    srd_val k[10], v[10];
    for (unsigned i = 0; i < 10; i++) {
        k[i] = tu_s(batch_keys[i]);
        v[i] = (srd_val){val_at(200 + i, batch_len(i)), batch_len(i)};
    }
    return srd_put_batch(st, k, v, 10);
}

static srd_err op_delete(srd_store *st)
{
    bool existed = false;
    srd_err rc = srd_delete(st, tu_s("victim2"), &existed);
    if (rc == SRD_OK)
        ck_assert(existed);
    return rc;
}

static srd_err op_delete_batch(srd_store *st)
{
    srd_val k[4] = {tu_s("victim1"), tu_s("never_there"), tu_s("victim3"),
                    tu_s("p4")};
    size_t n = 0;
    srd_err rc = srd_delete_batch(st, k, 4, &n);
    if (rc == SRD_OK)
        ck_assert_uint_eq(n, 3);
    return rc;
}

#define PSTREAM_LEN (5 * MIB / 2)
#define QSTREAM_LEN (3 * MIB / 2)

static srd_err op_pull_stream(srd_store *st)
{
    src s = src_of(val_at(300, PSTREAM_LEN), PSTREAM_LEN);
    s.chunk = 256 * 1024;
    return srd_put_stream(st, tu_s("pstream"), src_read, &s);
}

/* Small enough to stay in the writer's stream buffer until the commit. */
#define SSTREAM_LEN 100000

static srd_err op_small_stream(srd_store *st)
{
    src s = src_of(val_at(302, SSTREAM_LEN), SSTREAM_LEN);
    s.chunk = 7000;
    return srd_put_stream(st, tu_s("sstream"), src_read, &s);
}

static srd_err op_push_stream(srd_store *st)
{
    const uint8_t *p = val_at(301, QSTREAM_LEN);
    srd_stream *s = NULL;
    srd_err rc = srd_stream_begin(st, tu_s("qstream"), &s);
    if (rc != SRD_OK)
        return rc;
    for (size_t off = 0; off < QSTREAM_LEN; off += 100000) {
        size_t k = QSTREAM_LEN - off < 100000 ? QSTREAM_LEN - off : 100000;
        rc = srd_stream_write(s, p + off, k);
        if (rc != SRD_OK) {
            srd_stream_abort(s);
            return rc;
        }
    }
    return srd_stream_commit(s);
}

static scen scen_put(void)
{
    scen s = {"put", op_put, {{"new_put", val_at(100, 5000), 5000}}, 1};
    return s;
}

static scen scen_put_overwrite(void)
{
    scen s = {"put over existing key", op_put_overwrite,
              {{"p1", val_at(101, 64), 64}}, 1};
    return s;
}

static scen scen_put_large(void)
{
    scen s = {"put 3 MiB", op_put_large,
              {{"large", val_at(102, 3 * MIB), 3 * MIB}}, 1};
    return s;
}

static scen scen_batch(void)
{
    scen s = {"batch", op_batch, {{NULL, NULL, 0}}, 10};
    for (unsigned i = 0; i < 10; i++) {
        kv e = {batch_keys[i], val_at(200 + i, batch_len(i)), batch_len(i)};
        s.effects[i] = e;
    }
    return s;
}

static scen scen_delete(void)
{
    scen s = {"delete", op_delete, {{"victim2", NULL, 0}}, 1};
    return s;
}

static scen scen_delete_batch(void)
{
    scen s = {"delete batch",
              op_delete_batch,
              {{"victim1", NULL, 0}, {"victim3", NULL, 0}, {"p4", NULL, 0}},
              3};
    return s;
}

static scen scen_pull_stream(void)
{
    scen s = {"pull stream", op_pull_stream,
              {{"pstream", val_at(300, PSTREAM_LEN), PSTREAM_LEN}}, 1};
    return s;
}

static scen scen_small_stream(void)
{
    scen s = {"small pull stream", op_small_stream,
              {{"sstream", val_at(302, SSTREAM_LEN), SSTREAM_LEN}}, 1};
    return s;
}

static scen scen_push_stream(void)
{
    scen s = {"push stream", op_push_stream,
              {{"qstream", val_at(301, QSTREAM_LEN), QSTREAM_LEN}}, 1};
    return s;
}

/* How many of sc's effects are visible; asserts each key holds either its
 * new value or its prior one (nothing torn, nothing else). */
static int effects_applied(srd_store *st, const scen *sc, const char *ctx)
{
    int applied = 0;
    for (int i = 0; i < sc->neffects; i++) {
        const kv *e = &sc->effects[i];
        if (has_value(st, e->key, e->val, e->len)) {
            applied++;
            continue;
        }
        const kv *p = prior_find(e->key);
        bool old = p ? has_value(st, p->key, p->val, p->len)
                     : has_value(st, e->key, NULL, 0);
        ck_assert_msg(old, "%s: %s: key %s holds neither its old nor its new "
                      "value", sc->name, ctx, e->key);
    }
    return applied;
}

/* Every prior key not touched by sc still holds its prior value. */
static void expect_prior(srd_store *st, const scen *sc, const char *ctx)
{
    for (int i = 0; i < g_nprior; i++) {
        const kv *p = &g_prior[i];
        bool touched = false;
        for (int j = 0; sc && j < sc->neffects; j++)
            if (strcmp(sc->effects[j].key, p->key) == 0)
                touched = true;
        if (!touched)
            ck_assert_msg(has_value(st, p->key, p->val, p->len),
                          "%s: %s: earlier key %s lost or changed",
                          sc ? sc->name : "-", ctx, p->key);
    }
}

static void expect_clean_store(srd_store *st, const char *path,
                               const char *ctx)
{
    srd_verify_report r;
    srd_err rc = srd_verify(st, &r, NULL, NULL);
    ck_assert_msg(rc == SRD_OK, "%s: srd_verify: %s", ctx, srd_errname(rc));
    uint64_t tail = 0;
    ck_srd(srd_tail(st, &tail));
    ck_assert_msg((long long)tail == tu_file_size(path),
                  "%s: tail %llu but file size %lld", ctx,
                  (unsigned long long)tail, tu_file_size(path));
}

static bool rc_is_errno(srd_err rc, int e)
{
    if (rc == (srd_err)((int)SRD_ESYSERR | e))
        return true;
    return (e == EIO && rc == SRD_EIO) || (e == ENOSPC && rc == SRD_ENOSPC);
}

/* The error an injected fault may surface as. */
static bool rc_matches(srd_err rc, int fn, int kind)
{
    if (fn == F_FDATASYNC && rc == SRD_EFAILED)
        return true;
    switch (kind) {
    case K_EIO:
    case K_EIO_DIRTY:
        return rc_is_errno(rc, EIO);
    case K_ENOSPC:
        return rc_is_errno(rc, ENOSPC);
    default: /* a short count may be reported as such or as what follows */
        return rc_is_errno(rc, ENOSPC) || rc_is_errno(rc, EIO);
    }
}

typedef struct snap {
    uint8_t *b;
    size_t n;
} snap;

static snap snap_file(const char *path)
{
    snap s = {NULL, 0};
    s.b = tu_read_file(path, &s.n);
    ck_assert_msg(s.b != NULL, "cannot read %s", path);
    return s;
}

static bool same_file(const char *path, snap s)
{
    snap now = snap_file(path);
    bool same = now.n == s.n && memcmp(now.b, s.b, s.n) == 0;
    free(now.b);
    return same;
}

static bool file_starts_with(const char *path, snap s)
{
    snap now = snap_file(path);
    bool same = now.n >= s.n && memcmp(now.b, s.b, s.n) == 0;
    free(now.b);
    return same;
}

/* ------------------------------------------------------------------------ */
/* The fault matrix                                                          */
/* ------------------------------------------------------------------------ */

static char *trial_path(int n)
{
    char name[64];
    snprintf(name, sizeof name, "t%d.srd", n);
    return tu_join(g_dir, name);
}

/* Runs sc once without faults and counts the system calls it makes. */
static void dry_run(const scen *sc, unsigned counts[F_COUNT])
{
    char *path = trial_path(0);
    fi_disarm();
    srd_store *st = open_store(path);
    write_prior(st);
    fi_reset_counts();
    ck_srd(sc->op(st));
    memcpy(counts, g_fi.calls, sizeof g_fi.calls);
    ck_assert_int_eq(effects_applied(st, sc, "dry run"), sc->neffects);
    ck_srd(srd_close(st));
    tu_rmtree(path);
    free(path);
}

/* One trial: the at-th call of fn fails as kind during sc. */
static void run_trial(const scen *sc, int fn, unsigned at, int kind, int n)
{
    char ctx[160];
    snprintf(ctx, sizeof ctx, "%s, %s call %u fails with %s", sc->name,
             fn_names[fn], at, kind_names[kind]);
    char *path = trial_path(n);
    fi_disarm();
    srd_store *st = open_store(path);
    write_prior(st);
    snap before = snap_file(path);

    fi_reset_counts();
    fi_arm(fn, at, kind);
    srd_err rc = sc->op(st);
    bool tripped = fi_tripped();
    fi_disarm();
    ck_assert_msg(tripped, "%s: the fault was never reached", ctx);
    ck_assert_msg(rc != SRD_OK, "%s: the call returned SRD_OK", ctx);
    ck_assert_msg(rc_matches(rc, fn, kind), "%s: returned %s (%s)", ctx,
                  srd_errname(rc), srd_strerror(rc));
    expect_prior(st, sc, ctx);

    if (fn != F_FDATASYNC) {
        ck_assert_msg(same_file(path, before),
                      "%s: the file changed (%lld bytes, was %zu)", ctx,
                      tu_file_size(path), before.n);
        ck_assert_msg(effects_applied(st, sc, ctx) == 0,
                      "%s: the failed write is visible", ctx);
        srd_err rc2 = srd_put(st, tu_s("after"), tu_s("next write"));
        ck_assert_msg(rc2 == SRD_OK, "%s: next write: %s", ctx,
                      srd_errname(rc2));
        ck_assert(has_value(st, "after", (const uint8_t *)"next write", 10));
        ck_srd(srd_close(st));
    } else {
        /* the sync failed: the handle refuses further writes */
        snap mid = snap_file(path);
        srd_err rc2 = srd_put(st, tu_s("after"), tu_s("next write"));
        ck_assert_msg(rc2 == SRD_EFAILED, "%s: next write: %s, expected "
                      "SRD_EFAILED", ctx, srd_errname(rc2));
        ck_assert_msg(same_file(path, mid), "%s: a refused write changed "
                      "the file", ctx);
        free(mid.b);
        srd_close(st);
    }

    /* reopen: everything acknowledged before is there, the failed op is
     * all or nothing, and writing works again */
    st = open_store(path);
    expect_prior(st, sc, ctx);
    int applied = effects_applied(st, sc, ctx);
    if (fn != F_FDATASYNC) {
        ck_assert_msg(applied == 0, "%s: failed write present after reopen",
                      ctx);
        ck_assert(has_value(st, "after", (const uint8_t *)"next write", 10));
    } else {
        ck_assert_msg(applied == 0 || applied == sc->neffects,
                      "%s: %d of %d effects after reopen", ctx, applied,
                      sc->neffects);
        ck_assert(has_value(st, "after", NULL, 0));
        ck_assert_msg(file_starts_with(path, before),
                      "%s: bytes before the failed call changed", ctx);
    }
    expect_clean_store(st, path, ctx);
    if (applied == 0) { /* the same write works now */
        srd_err rc3 = sc->op(st);
        ck_assert_msg(rc3 == SRD_OK, "%s: retry after reopen: %s", ctx,
                      srd_errname(rc3));
        ck_assert_int_eq(effects_applied(st, sc, ctx), sc->neffects);
    }
    ck_srd(srd_close(st));
    free(before.b);
    tu_rmtree(path);
    free(path);
}

/* Call numbers worth failing among n calls (all of them when few). */
static int pick_calls(unsigned n, unsigned out[8])
{
    if (n <= 8) {
        for (unsigned i = 0; i < n; i++)
            out[i] = i + 1;
        return (int)n;
    }
    unsigned pick[8] = {1, 2, 3, n / 2, n / 2 + 1, n - 2, n - 1, n};
    memcpy(out, pick, sizeof pick);
    return 8;
}

static void fault_matrix(scen sc)
{
    unsigned counts[F_COUNT];
    dry_run(&sc, counts);
    ck_assert_msg(counts[F_PWRITEV] + counts[F_PWRITE] > 0,
                  "%s made no write through srdi_sys: the hooks are not "
                  "used", sc.name);
    ck_assert_msg(counts[F_FDATASYNC] > 0,
                  "%s in SRD_SYNC_ALWAYS made no fdatasync through srdi_sys",
                  sc.name);
    if (getenv("SRD_FAULT_VERBOSE"))
        fprintf(stderr, "%s: pwritev %u, pwrite %u, fdatasync %u, "
                "ftruncate %u calls\n", sc.name, counts[F_PWRITEV],
                counts[F_PWRITE], counts[F_FDATASYNC], counts[F_FTRUNCATE]);
    int trials = 0;
    for (int fn = 0; fn < F_COUNT; fn++) {
        if (fn == F_PWRITE) /* the sidecar: absorbed, tested below */
            continue;
        unsigned at[8];
        int nat = pick_calls(counts[fn], at);
        for (int i = 0; i < nat; i++) {
            for (int kind = 0; kind < K_COUNT; kind++) {
                if ((fn == F_FDATASYNC || fn == F_FTRUNCATE) &&
                    kind != K_EIO && kind != K_ENOSPC)
                    continue;
                if (fn == F_FTRUNCATE && kind != K_EIO)
                    continue;
                run_trial(&sc, fn, at[i], kind, ++trials);
            }
        }
    }
    ck_assert_int_gt(trials, 0);
}

START_TEST(test_failed_put_leaves_file_unchanged)
{
    fault_matrix(scen_put());
}
END_TEST

START_TEST(test_failed_overwrite_keeps_old_value)
{
    fault_matrix(scen_put_overwrite());
}
END_TEST

START_TEST(test_failed_large_put_leaves_file_unchanged)
{
    fault_matrix(scen_put_large());
}
END_TEST

START_TEST(test_failed_batch_leaves_file_unchanged)
{
    fault_matrix(scen_batch());
}
END_TEST

START_TEST(test_failed_delete_keeps_value)
{
    fault_matrix(scen_delete());
}
END_TEST

START_TEST(test_failed_delete_batch_keeps_values)
{
    fault_matrix(scen_delete_batch());
}
END_TEST

START_TEST(test_failed_pull_stream_leaves_file_unchanged)
{
    fault_matrix(scen_pull_stream());
}
END_TEST

START_TEST(test_failed_small_stream_leaves_file_unchanged)
{
    fault_matrix(scen_small_stream());
}
END_TEST

START_TEST(test_failed_push_stream_leaves_file_unchanged)
{
    fault_matrix(scen_push_stream());
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Failures of the cut itself                                                */
/* ------------------------------------------------------------------------ */

/* srd: a writer that cannot cut a torn tail does not open, and leaves the
 * file alone; once the disk works it opens and cuts. */
START_TEST(test_failed_cut_of_torn_tail_fails_open_and_keeps_file)
{
    char *path = tu_join(g_dir, "torn.srd");
    srd_store *st = open_store(path);
    write_prior(st);
    ck_srd(srd_close(st));
    uint64_t good = (uint64_t)tu_file_size(path);
    int fd = open(path, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "CORRUPT", 7), 7);
    close(fd);
    snap before = snap_file(path);

    fi_reset_counts();
    fi_arm(F_FTRUNCATE, 0, K_EIO);
    srd_options o;
    srd_options_init(&o);
    srd_err rc = srd_open(path, &o, &st);
    bool tripped = fi_tripped();
    fi_disarm();
    ck_assert_msg(tripped, "the writer cut the torn tail without "
                  "srdi_sys.ftruncate");
    ck_assert_msg(rc != SRD_OK, "srd_open succeeded without cutting");
    ck_assert_msg(rc_is_errno(rc, EIO), "srd_open: %s", srd_errname(rc));
    ck_assert(same_file(path, before));

    st = open_store(path);
    ck_assert_int_eq(tu_file_size(path), (long long)good);
    expect_prior(st, NULL, "after cut");
    ck_srd(srd_put(st, tu_s("after"), tu_s("ok")));
    ck_srd(srd_close(st));
    free(before.b);
    free(path);
}
END_TEST

/* srd: when a write fails and the cut that should undo it fails too, the
 * store still converges: the call fails, and after a reopen every earlier
 * value is there, the half-written bytes are gone, and writing works. */
static void write_and_cut_fail(scen sc, int write_fn)
{
    char ctx[128];
    snprintf(ctx, sizeof ctx, "%s, %s and ftruncate fail", sc.name,
             fn_names[write_fn]);
    char *path = tu_join(g_dir, "cutfail.srd");
    fi_disarm();
    srd_store *st = open_store(path);
    write_prior(st);
    snap before = snap_file(path);
    fi_reset_counts();
    fi_arm(write_fn, 0, K_EIO_DIRTY);
    fi_arm(F_FTRUNCATE, 0, K_EIO);
    srd_err rc = sc.op(st);
    bool tripped = g_fi.f[0].tripped;
    fi_disarm();
    if (!tripped) { /* this op does not use write_fn */
        ck_srd(rc);
        ck_srd(srd_close(st));
        tu_rmtree(path);
        free(before.b);
        free(path);
        return;
    }
    ck_assert_msg(rc != SRD_OK, "%s: returned SRD_OK", ctx);
    expect_prior(st, &sc, ctx);
    ck_assert_msg(effects_applied(st, &sc, ctx) == 0, "%s: visible", ctx);
    /* the handle may refuse further writes or repair itself; either way
     * nothing it acknowledges may be lost */
    srd_err rc2 = srd_put(st, tu_s("after"), tu_s("next write"));
    srd_close(st);

    st = open_store(path);
    expect_prior(st, &sc, ctx);
    ck_assert_int_eq(effects_applied(st, &sc, ctx), 0);
    if (rc2 == SRD_OK) {
        ck_assert(has_value(st, "after", (const uint8_t *)"next write", 10));
        ck_assert(file_starts_with(path, before));
    } else {
        ck_assert(has_value(st, "after", NULL, 0));
        ck_assert_msg(same_file(path, before), "%s: reopen did not restore "
                      "the file", ctx);
    }
    expect_clean_store(st, path, ctx);
    ck_srd(sc.op(st));
    ck_assert_int_eq(effects_applied(st, &sc, ctx), sc.neffects);
    ck_srd(srd_close(st));
    free(before.b);
    tu_rmtree(path);
    free(path);
}

START_TEST(test_failed_write_and_failed_cut_recover_on_reopen)
{
    scen all[5] = {scen_put(), scen_batch(), scen_pull_stream(),
                   scen_small_stream(), scen_delete_batch()};
    for (int i = 0; i < 5; i++)
        write_and_cut_fail(all[i], F_PWRITEV);
}
END_TEST

/* srd: the synced-tail sidecar saves recovery work and nothing depends on
 * it, so a failing sidecar write (nothing written, or a torn record) fails
 * no write, and the reopen, with a stale or damaged record, is clean. */
START_TEST(test_failed_sidecar_write_does_not_fail_the_write)
{
    static const int kinds[] = {K_EIO, K_EIO_DIRTY, K_ENOSPC, K_SHORT};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char ctx[96];
        snprintf(ctx, sizeof ctx, "sidecar writes fail with %s",
                 kind_names[kinds[k]]);
        char *path = trial_path((int)k + 1);
        fi_disarm();
        srd_store *st = open_store(path);
        write_prior(st);
        scen all[4] = {scen_put(), scen_batch(), scen_small_stream(),
                       scen_delete_batch()};
        fi_reset_counts();
        g_fi.sidecar_kind = 1 + kinds[k];
        for (int i = 0; i < 4; i++) {
            srd_err rc = all[i].op(st);
            ck_assert_msg(rc == SRD_OK, "%s: %s returned %s", ctx,
                          all[i].name, srd_errname(rc));
            ck_assert_int_eq(effects_applied(st, &all[i], ctx),
                             all[i].neffects);
        }
        ck_srd(srd_close(st));
        g_fi.sidecar_kind = 0;
        ck_assert_msg(g_fi.calls[F_PWRITE] >= 4, "%s: %u sidecar writes", ctx,
                      g_fi.calls[F_PWRITE]);
        st = open_store(path);
        for (int i = 0; i < 4; i++)
            ck_assert_int_eq(effects_applied(st, &all[i], ctx),
                             all[i].neffects);
        expect_clean_store(st, path, ctx);
        ck_srd(srd_close(st));
        tu_rmtree(path);
        free(path);
    }
}
END_TEST

/* srd: after a failed fdatasync the pages that failed writeback may be
 * dropped, so the sidecar stops vouching for anything past the synced
 * tail, even in this boot (writer.c invariant 4). */
START_TEST(test_failed_sync_withdraws_the_written_tail)
{
    char *path = trial_path(1);
    fi_disarm();
    srd_options o;
    srd_options_init(&o);
    o.sync = SRD_SYNC_NEVER;
    srd_store *st = NULL;
    ck_srd(srd_open(path, &o, &st));
    write_prior(st);
    ck_srd(srd_close(st));
    srdi_synced rec;
    ck_assert(srdi_synced_read(path, &rec));
    ck_assert_uint_eq(rec.synced, 0);
    ck_assert_int_eq(rec.written, tu_file_size(path));

    ck_srd(srd_open(path, &o, &st));
    ck_srd(srd_put(st, tu_s("more"), tu_s("unsynced")));
    fi_reset_counts();
    fi_arm(F_FDATASYNC, 0, K_EIO);
    srd_err rc = srd_sync(st);
    fi_disarm();
    ck_assert_msg(rc_is_errno(rc, EIO), "srd_sync: %s", srd_errname(rc));
    ck_assert(srdi_synced_read(path, &rec));
    ck_assert_uint_eq(rec.written, rec.synced);
    ck_assert_uint_eq(rec.synced, 0);
    srd_close(st);
    ck_assert(srdi_synced_read(path, &rec));
    ck_assert_uint_eq(rec.written, 0); /* the failed handle recorded no more */

    st = open_store(path); /* checks every entry, then records them */
    expect_prior(st, NULL, "after the failed sync");
    expect_clean_store(st, path, "after the failed sync");
    ck_srd(srd_close(st));
    ck_assert(srdi_synced_read(path, &rec));
    ck_assert_int_eq(rec.synced, tu_file_size(path));
    tu_rmtree(path);
    free(path);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* A real limit: RLIMIT_FSIZE (EFBIG), no hooks                              */
/* ------------------------------------------------------------------------ */

/* What the child reports. */
typedef struct fsize_result {
    int stage;         /* how far the child got (0: finished) */
    int acked;         /* operations acknowledged before the failure */
    int rc_fail;       /* srd_err of the failed operation */
    int identical;     /* file byte-identical after the failed operation */
    int rc_next;       /* srd_err of a write after lifting the limit */
    long long size_before, size_after; /* around the failed operation */
} fsize_result;

enum { OP_PUT, OP_BATCH, OP_STREAM };

static srd_err fsize_op(srd_store *st, int kind, int i)
{
    char key[32];
    if (kind == OP_PUT) {
        snprintf(key, sizeof key, "k%d", i);
        return srd_put(st, tu_s(key), (srd_val){val_at((unsigned)i, 20000),
                                                20000});
    }
    if (kind == OP_BATCH) {
        char keys[5][32];
        srd_val k[5], v[5];
        for (int j = 0; j < 5; j++) {
            snprintf(keys[j], sizeof keys[j], "b%d_%d", i, j);
            k[j] = tu_s(keys[j]);
            v[j] = (srd_val){val_at((unsigned)(i * 5 + j), 9000), 9000};
        }
        return srd_put_batch(st, k, v, 5);
    }
    snprintf(key, sizeof key, "s%d", i);
    src s = src_of(val_at((unsigned)i, 50000), 50000);
    s.chunk = 7000;
    return srd_put_stream(st, tu_s(key), src_read, &s);
}

/* Runs in the forked child: no Check asserts, only the report. */
static void fsize_child(const char *path, int kind, int out)
{
    fsize_result r = {1, 0, 0, 0, -1, 0, 0};
    signal(SIGXFSZ, SIG_IGN);
    srd_options o;
    srd_options_init(&o);
    srd_store *st = NULL;
    if (srd_open(path, &o, &st) != SRD_OK)
        goto done;
    r.stage = 2;
    if (srd_put(st, tu_s("p0"), tu_s("before the limit")) != SRD_OK)
        goto done;
    struct stat sb;
    if (stat(path, &sb) != 0)
        goto done;
    struct rlimit rl;
    getrlimit(RLIMIT_FSIZE, &rl);
    struct rlimit lim = {(rlim_t)sb.st_size + 200000, rl.rlim_max};
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        goto done;
    r.stage = 3;
    for (int i = 0; i < 1000; i++) {
        size_t n0;
        uint8_t *before = tu_read_file(path, &n0);
        srd_err rc = fsize_op(st, kind, i);
        if (rc == SRD_OK) {
            r.acked++;
            free(before);
            continue;
        }
        r.rc_fail = (int)rc;
        size_t n1;
        uint8_t *after = tu_read_file(path, &n1);
        r.size_before = (long long)n0;
        r.size_after = (long long)n1;
        r.identical = before && after && n0 == n1 &&
                      memcmp(before, after, n0) == 0;
        free(before);
        free(after);
        break;
    }
    if (r.rc_fail == 0)
        goto done;
    r.stage = 4;
    setrlimit(RLIMIT_FSIZE, &rl);
    r.rc_next = (int)srd_put(st, tu_s("next"), tu_s("after the limit"));
    srd_close(st);
    r.stage = 0;
done:
    if (write(out, &r, sizeof r) != (ssize_t)sizeof r)
        _exit(3);
    _exit(0);
}

static void fsize_case(int kind)
{
    srdi_writer_set_sys(NULL); /* the real system calls */
    char *path = tu_join(g_dir, "fsize.srd");
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        fsize_child(path, kind, p[1]);
    }
    close(p[1]);
    fsize_result r;
    ck_assert_int_eq(read(p[0], &r, sizeof r), (ssize_t)sizeof r);
    close(p[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_msg(r.rc_fail != 0, "no write failed under RLIMIT_FSIZE "
                  "(stage %d, %d acked)", r.stage, r.acked);
    ck_assert_msg(r.stage == 0, "child stopped at stage %d", r.stage);
    ck_assert_int_gt(r.acked, 0);
    ck_assert_msg(r.rc_fail != SRD_EINVAL, "EFBIG reported as SRD_EINVAL");
    ck_assert_msg(r.identical, "the failed write (%s) changed the file "
                  "(%lld bytes before, %lld after)",
                  srd_strerror((srd_err)r.rc_fail), r.size_before,
                  r.size_after);
    ck_assert_msg(r.rc_next == SRD_OK, "write after lifting the limit: %s",
                  srd_errname((srd_err)r.rc_next));

    srd_store *st = open_store(path);
    ck_assert(has_value(st, "p0", (const uint8_t *)"before the limit", 16));
    ck_assert(has_value(st, "next", (const uint8_t *)"after the limit", 15));
    char key[32];
    for (int i = 0; i <= r.acked; i++) {
        bool want = i < r.acked;
        if (kind == OP_PUT) {
            snprintf(key, sizeof key, "k%d", i);
            ck_assert_msg(has_value(st, key, want ? val_at((unsigned)i, 20000)
                                    : NULL, 20000), "%s", key);
        } else if (kind == OP_BATCH) {
            for (int j = 0; j < 5; j++) {
                snprintf(key, sizeof key, "b%d_%d", i, j);
                ck_assert_msg(has_value(st, key, want ?
                              val_at((unsigned)(i * 5 + j), 9000) : NULL,
                              9000), "%s", key);
            }
        } else {
            snprintf(key, sizeof key, "s%d", i);
            ck_assert_msg(has_value(st, key, want ? val_at((unsigned)i, 50000)
                                    : NULL, 50000), "%s", key);
        }
    }
    expect_clean_store(st, path, "after RLIMIT_FSIZE");
    ck_srd(srd_close(st));
    free(path);
}

START_TEST(test_put_over_file_size_limit_fails_cleanly)
{
    fsize_case(OP_PUT);
}
END_TEST

START_TEST(test_batch_over_file_size_limit_fails_cleanly)
{
    fsize_case(OP_BATCH);
}
END_TEST

START_TEST(test_stream_over_file_size_limit_fails_cleanly)
{
    fsize_case(OP_STREAM);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Suite                                                                     */
/* ------------------------------------------------------------------------ */

static Suite *writer_fault_suite(void)
{
    Suite *s = suite_create("writer_fault");
    TCase *tc = tcase_create("injected");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_failed_put_leaves_file_unchanged);
    tcase_add_test(tc, test_failed_overwrite_keeps_old_value);
    tcase_add_test(tc, test_failed_large_put_leaves_file_unchanged);
    tcase_add_test(tc, test_failed_batch_leaves_file_unchanged);
    tcase_add_test(tc, test_failed_delete_keeps_value);
    tcase_add_test(tc, test_failed_delete_batch_keeps_values);
    tcase_add_test(tc, test_failed_pull_stream_leaves_file_unchanged);
    tcase_add_test(tc, test_failed_small_stream_leaves_file_unchanged);
    tcase_add_test(tc, test_failed_push_stream_leaves_file_unchanged);
    tcase_add_test(tc, test_failed_cut_of_torn_tail_fails_open_and_keeps_file);
    tcase_add_test(tc, test_failed_write_and_failed_cut_recover_on_reopen);
    tcase_add_test(tc, test_failed_sidecar_write_does_not_fail_the_write);
    tcase_add_test(tc, test_failed_sync_withdraws_the_written_tail);
    suite_add_tcase(s, tc);

    tc = tcase_create("rlimit_fsize");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_put_over_file_size_limit_fails_cleanly);
    tcase_add_test(tc, test_batch_over_file_size_limit_fails_cleanly);
    tcase_add_test(tc, test_stream_over_file_size_limit_fails_cleanly);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(writer_fault_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
