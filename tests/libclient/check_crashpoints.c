/* SPDX-License-Identifier: MIT */
/*
 * check_crashpoints.c -- a crash at every point of a workload. The
 * writer's pwritev, pwrite, ftruncate and fdatasync are logged through
 * srdi_writer_set_sys while puts, batches, deletes and streams run; then,
 * for every prefix of that log, the file is rebuilt as a crash there would
 * leave it and opened, read-only and as the writer: every write
 * acknowledged before the crash is there, each operation is all or
 * nothing, srd_verify is clean and a new write works. Besides clean
 * prefixes, the last write is torn at sampled lengths (a process crash),
 * and in SRD_SYNC_ALWAYS writeback is reordered (an OS crash): an unsynced
 * earlier write is lost while later ones persisted, or only the last page
 * of a write reached the disk, which the CRC and chain checks must catch.
 *
 * The synced-tail sidecar ("<store>.synced", written with srdi_sys.pwrite,
 * never synced) is logged in the same sequence and rebuilt with the store
 * at every crash point: as written, or with its last write lost, or as it
 * was before the workload, or missing. An OS crash also means a new boot,
 * so the rebuilt record's boot id is cleared for those points.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <sys/stat.h>

#include "store_impl.h"
#include "fileimg.h"
#include "synced.h"
#include "testutil.h"
#include "writer.h"

/* ------------------------------------------------------------------------ */
/* The write log                                                             */
/* ------------------------------------------------------------------------ */

enum { EV_WRITE, EV_TRUNC, EV_SYNC };
enum { F_STORE, F_SIDECAR };

/* One logged call. */
typedef struct cp_ev {
    int type;
    uint64_t off;  /* EV_WRITE: file offset; EV_TRUNC: the new length */
    uint8_t *data; /* EV_WRITE: the bytes */
    size_t len;
    int file;      /* F_*: the writer writes the sidecar with pwrite only */
} cp_ev;

static struct {
    bool on;
    cp_ev *ev;
    size_t n, cap;
} g_log;

static cp_ev *cp_log_add(int type, uint64_t off, size_t len, int file)
{
    if (g_log.n == g_log.cap) {
        g_log.cap = g_log.cap ? g_log.cap * 2 : 64;
        g_log.ev = realloc(g_log.ev, g_log.cap * sizeof *g_log.ev);
        ck_assert_ptr_nonnull(g_log.ev);
    }
    cp_ev *e = &g_log.ev[g_log.n++];
    *e = (cp_ev){type, off, len ? malloc(len) : NULL, len, file};
    ck_assert(len == 0 || e->data != NULL);
    return e;
}

static void cp_log_free(void)
{
    for (size_t i = 0; i < g_log.n; i++)
        free(g_log.ev[i].data);
    free(g_log.ev);
    memset(&g_log, 0, sizeof g_log);
}

/* Logs what the call will write, then makes it. */
static ssize_t cp_write(int file, int fd, const struct iovec *iov, int n,
                        off_t off)
{
    if (g_log.on) {
        size_t total = 0;
        for (int i = 0; i < n; i++)
            total += iov[i].iov_len;
        cp_ev *e = cp_log_add(EV_WRITE, (uint64_t)off, total, file);
        size_t at = 0;
        for (int i = 0; i < n; i++) {
            memcpy(e->data + at, iov[i].iov_base, iov[i].iov_len);
            at += iov[i].iov_len;
        }
    }
    return pwritev(fd, iov, n, off);
}

static ssize_t cp_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    return cp_write(F_STORE, fd, iov, n, off);
}

/* writer.h: srdi_sys.pwrite writes only the sidecar's record. */
static ssize_t cp_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    struct iovec iov = {(void *)(uintptr_t)buf, n};
    return cp_write(F_SIDECAR, fd, &iov, 1, off);
}

/* The writer syncs and cuts only the store file. */
static int cp_fdatasync(int fd)
{
    if (g_log.on)
        cp_log_add(EV_SYNC, 0, 0, F_STORE);
    return fdatasync(fd);
}

static int cp_ftruncate(int fd, off_t len)
{
    if (g_log.on)
        cp_log_add(EV_TRUNC, (uint64_t)len, 0, F_STORE);
    return ftruncate(fd, len);
}

static const srdi_sys cp_sys = {cp_pwritev, cp_pwrite, cp_fdatasync,
                                cp_ftruncate};

/* ------------------------------------------------------------------------ */
/* Workload and model                                                        */
/* ------------------------------------------------------------------------ */

#define CP_NKEYS 40
#define CP_MIB (1u << 20)

static char g_keyname[CP_NKEYS][8];
static uint8_t g_pool[3 * CP_MIB / 2];

/* Bytes of value `v` (len bytes): a window of the pool (odd bytes, so
 * never the lone 0x00 the format cannot store). */
static const uint8_t *cp_bytes(unsigned v, size_t len)
{
    size_t off = ((size_t)v * 104729u) % (sizeof g_pool - len);
    return g_pool + off;
}

/* OP_GROUP1 and OP_GROUP2 are two puts under one fdatasync, the way
 * srdd's group commit writes a put after a batch (srdi_store_append_unit
 * twice, then srdi_store_finish for both): acknowledged together, after
 * that sync. OP_RUN1 and OP_RUN2 are two single puts the way srdd writes
 * them in a row: one write of both (srdi_store_append_each), one finish. */
enum { OP_PUT, OP_BATCH, OP_DEL, OP_DELS, OP_PULL, OP_PUSH, OP_GROUP1,
       OP_GROUP2, OP_RUN1, OP_RUN2 };

/* One operation: keys k0 .. k0+n-1 get value v, v+1, ... of length len
 * (deletes: removed). */
typedef struct cp_op {
    int type;
    int k0, n;
    unsigned v;
    size_t len;
} cp_op;

/* The workload: every kind of write, large values, overwrites, deletes. */
static const cp_op g_ops[] = {
    {OP_PUT, 3, 1, 10, 100},         {OP_PUT, 4, 1, 11, 20000},
    {OP_BATCH, 5, 5, 20, 700},       {OP_BATCH, 3, 1, 30, 64},
    {OP_DEL, 5, 1, 0, 0},            {OP_PULL, 10, 1, 40, CP_MIB + 200000},
    {OP_PUT, 11, 1, 41, 2},          {OP_DELS, 6, 2, 0, 0},
    {OP_PUSH, 12, 1, 50, 100000},    {OP_BATCH, 13, 20, 60, 300},
    {OP_PUT, 0, 1, 90, 5000},        {OP_DEL, 1, 1, 0, 0},
    {OP_PUT, 33, 1, 91, 4096 - 20},   {OP_BATCH, 34, 3, 95, 10000},
};

/* Group commit (srdd, or threads of one handle in SRD_SYNC_ALWAYS): two
 * multi-page puts reach the file before the one fdatasync that covers
 * both, then an overwrite of the first key. */
static const cp_op g_group_ops[] = {
    {OP_PUT, 3, 1, 10, 100},          {OP_GROUP1, 37, 1, 100, 9000},
    {OP_GROUP2, 38, 1, 101, 9000},    {OP_PUT, 4, 1, 11, 300},
    {OP_GROUP1, 37, 1, 102, 12000},   {OP_GROUP2, 39, 1, 103, 7000},
    {OP_RUN1, 35, 1, 104, 9000},      {OP_RUN2, 36, 1, 105, 5000},
    {OP_RUN1, 37, 1, 106, 300},       {OP_RUN2, 35, 1, 107, 12000},
};

#define CP_MAX_OPS 32
#define CP_N(a) ((int)(sizeof(a) / sizeof(a)[0]))

/* A workload and the store it starts from. */
typedef struct cp_workload {
    const char *label;
    const cp_op *ops;
    int nops;
    bool empty_base; /* start from a new store instead of three keys */
    bool no_sidecar; /* the store starts without its sidecar (a store
                        written by another implementation, or an older srd) */
} cp_workload;

static const cp_workload w_main = {"", g_ops, CP_N(g_ops), false, false};
/* The open of a store with no sidecar checks every entry and records
 * the result: crash points in that open, then a short workload. */
static const cp_workload w_bare = {", no sidecar", g_group_ops,
                                   CP_N(g_group_ops), false, true};
static const cp_workload w_new = {", new store", g_ops, CP_N(g_ops), true,
                                  true};
static const cp_workload w_group = {", group commit", g_group_ops,
                                    CP_N(g_group_ops), false, false};

/* What every key holds (len 0: absent). */
typedef struct cp_state {
    unsigned v[CP_NKEYS];
    size_t len[CP_NKEYS];
} cp_state;

static void cp_apply(cp_state *s, const cp_op *op)
{
    bool del = op->type == OP_DEL || op->type == OP_DELS;
    for (int i = 0; i < op->n; i++) {
        s->v[op->k0 + i] = del ? 0 : op->v + (unsigned)i;
        s->len[op->k0 + i] = del ? 0 : op->len;
    }
}

/* The value of one pair of a put or batch. */
static srd_val cp_val(const cp_op *op, int i)
{
    return (srd_val){cp_bytes(op->v + (unsigned)i, op->len), op->len};
}

typedef struct cp_feed {
    const uint8_t *p;
    size_t len, pos;
} cp_feed;

static int cp_feed_read(void *ctx, void *buf, size_t cap, size_t *n)
{
    cp_feed *f = ctx;
    size_t k = f->len - f->pos < cap ? f->len - f->pos : cap;
    memcpy(buf, f->p + f->pos, k);
    f->pos += k;
    *n = k;
    return 0;
}

static srd_err cp_push(srd_store *st, const cp_op *op)
{
    srd_stream *s = NULL;
    const uint8_t *p = cp_bytes(op->v, op->len);
    ck_srd(srd_stream_begin(st, tu_s(g_keyname[op->k0]), &s));
    for (size_t off = 0; off < op->len; off += 40000) {
        size_t k = op->len - off < 40000 ? op->len - off : 40000;
        ck_srd(srd_stream_write(s, p + off, k));
    }
    return srd_stream_commit(s);
}

/* A group: the first put is appended and left in flight; the second is
 * appended, then one sync makes both durable and both are acknowledged. */
static srd_err cp_group(srd_store *st, const cp_op *op, srd_val key,
                        srd_val val)
{
    static srdi_entry first;
    srdi_op o = {srd_key_hash(key.ptr, key.len), val.ptr, val.len, false};
    if (op->type == OP_GROUP1)
        return srdi_store_append_unit(st, &o, 1, &first);
    srdi_entry second;
    srd_err rc = srdi_store_append_unit(st, &o, 1, &second);
    srd_err rc1 = srdi_store_finish(st, &first, 1, SRD_OK);
    srd_err rc2 = srdi_store_finish(st, &second, rc == SRD_OK, rc);
    return rc1 != SRD_OK ? rc1 : rc2;
}

/* A run: the first put waits; the second writes both in one write, and
 * one finish (its sync) acknowledges both. */
static srd_err cp_run_pair(srd_store *st, const cp_op *op, srd_val key,
                           srd_val val)
{
    static srdi_op ops[2];
    ops[op->type == OP_RUN2] =
        (srdi_op){srd_key_hash(key.ptr, key.len), val.ptr, val.len, false};
    if (op->type == OP_RUN1)
        return SRD_OK;
    srdi_entry placed[2];
    srd_err rc = srdi_store_append_each(st, ops, 2, placed);
    return srdi_store_finish(st, placed, rc == SRD_OK ? 2 : 0, rc);
}

static srd_err cp_run_op(srd_store *st, const cp_op *op)
{
    srd_val keys[32], vals[32];
    for (int i = 0; i < op->n; i++) {
        keys[i] = tu_s(g_keyname[op->k0 + i]);
        vals[i] = cp_val(op, i);
    }
    switch (op->type) {
    case OP_PUT:
        return srd_put(st, keys[0], vals[0]);
    case OP_BATCH:
        return srd_put_batch(st, keys, vals, (size_t)op->n);
    case OP_DEL:
        return srd_delete(st, keys[0], NULL);
    case OP_DELS:
        return srd_delete_batch(st, keys, (size_t)op->n, NULL);
    case OP_PULL: {
        cp_feed f = {vals[0].ptr, op->len, 0};
        return srd_put_stream(st, keys[0], cp_feed_read, &f);
    }
    case OP_GROUP1:
    case OP_GROUP2:
        return cp_group(st, op, keys[0], vals[0]);
    case OP_RUN1:
    case OP_RUN2:
        return cp_run_pair(st, op, keys[0], vals[0]);
    default:
        return cp_push(st, op);
    }
}

/* ------------------------------------------------------------------------ */
/* Recording                                                                 */
/* ------------------------------------------------------------------------ */

/* The recorded run: the store and its sidecar before it, the log, and
 * where each op's events begin and where it was acknowledged (log length
 * on return). */
typedef struct cp_run {
    uint8_t *base;
    size_t base_len;
    uint8_t *side_base;     /* NULL: no sidecar before the run */
    size_t side_base_len;
    uint64_t dev, ino;      /* the recorded store file */
    cp_state base_state;
    const cp_op *ops;
    int nops;
    size_t started[CP_MAX_OPS], acked[CP_MAX_OPS];
    cp_state after[CP_MAX_OPS + 1]; /* after[i]: state after ops 0..i-1 */
    srd_sync_mode mode;
} cp_run;

static char *g_dir;

static void setup(void)
{
    for (size_t i = 0; i < sizeof g_pool; i++)
        g_pool[i] = (uint8_t)(((i * 2654435761u) >> 13) | 1u);
    for (int k = 0; k < CP_NKEYS; k++)
        snprintf(g_keyname[k], sizeof g_keyname[k], "k%02d", k);
    g_dir = tu_tmpdir();
    srdi_writer_set_sys(&cp_sys);
}

static void teardown(void)
{
    srdi_writer_set_sys(NULL);
    cp_log_free();
    tu_rmtree(g_dir);
    free(g_dir);
}

static srd_store *cp_open(const char *path, srd_sync_mode mode)
{
    srd_options o;
    srd_options_init(&o);
    o.sync = mode;
    srd_store *st = NULL;
    ck_srd(srd_open(path, &o, &st));
    return st;
}

/* A store with keys 0..2 (unless empty), then the workload, logged from
 * the open that starts it (whose recovery writes too). */
static void cp_record(cp_run *r, srd_sync_mode mode, const cp_workload *w)
{
    char *path = tu_join(g_dir, "recorded.srd");
    char *side = srdi_synced_path(path);
    memset(r, 0, sizeof *r);
    r->mode = mode;
    r->ops = w->ops;
    r->nops = w->nops;
    ck_assert_int_le(w->nops, CP_MAX_OPS);
    srd_store *st = cp_open(path, mode);
    for (int k = 0; k < 3 && !w->empty_base; k++) {
        cp_op op = {OP_PUT, k, 1, 1 + (unsigned)k, 33 + 1000 * (size_t)k};
        ck_srd(cp_run_op(st, &op));
        cp_apply(&r->base_state, &op);
    }
    ck_srd(srd_close(st));
    r->base = tu_read_file(path, &r->base_len);
    ck_assert_ptr_nonnull(r->base);
    if (w->no_sidecar)
        ck_assert_int_eq(unlink(side), 0);
    else
        ck_assert_ptr_nonnull(r->side_base = tu_read_file(side,
                                                          &r->side_base_len));
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    r->dev = (uint64_t)sb.st_dev;
    r->ino = (uint64_t)sb.st_ino;
    r->after[0] = r->base_state;
    g_log.on = true;
    st = cp_open(path, mode);
    for (int i = 0; i < r->nops; i++) {
        r->started[i] = g_log.n;
        ck_srd(cp_run_op(st, &r->ops[i]));
        r->acked[i] = g_log.n;
        if (r->ops[i].type == OP_GROUP2 || r->ops[i].type == OP_RUN2)
            /* the first is acked only now */
            r->acked[i - 1] = r->acked[i];
        r->after[i + 1] = r->after[i];
        cp_apply(&r->after[i + 1], &r->ops[i]);
    }
    ck_srd(srd_close(st));
    g_log.on = false;
    free(side);
    free(path);
}

/* ------------------------------------------------------------------------ */
/* Rebuilding a crashed file                                                 */
/* ------------------------------------------------------------------------ */

/* Apply bytes [from, to) of event e (writes only; others whole). */
static void cp_img_apply(tu_img *im, const cp_ev *e, size_t from, size_t to)
{
    if (e->type == EV_TRUNC)
        tu_img_size(im, (size_t)e->off);
    else if (e->type == EV_WRITE && from < to)
        tu_img_put(im, e->off + from, e->data + from, to - from);
}

/* How a crash at point k leaves the files: events [0, k) persisted except
 * bytes [lost_from, lost_to) of event `drop`, then bytes [from, to) of
 * event k; of the sidecar's writes only those before side_keep. */
typedef struct cp_crash {
    size_t k;
    size_t drop;     /* index of an earlier write partly lost, or SIZE_MAX */
    size_t lost_from, lost_to;
    size_t from, to; /* part of event k that persisted (from == to: none) */
    bool os_crash;   /* writeback reordered: only synced data is safe, and
                        the machine booted again */
    const char *how;
    size_t side_keep;  /* sidecar writes from this event on are lost
                          (0: as before the run; SIZE_MAX: none lost) */
    bool side_absent;  /* no sidecar at all */
} cp_crash;

/* A crash with nothing of the sidecar lost. */
#define CP_CRASH(k, drop, lf, lt, from, to, os, how) \
    ((cp_crash){(k), (drop), (lf), (lt), (from), (to), (os), (how), \
                SIZE_MAX, false})

static void cp_build(const cp_run *r, const cp_crash *c, tu_img *im,
                     tu_img *side)
{
    tu_img_reset(im, r->base, r->base_len);
    tu_img_reset(side, c->side_absent ? NULL : r->side_base,
                 c->side_absent ? 0 : r->side_base_len);
    for (size_t i = 0; i <= c->k && i < g_log.n; i++) {
        const cp_ev *e = &g_log.ev[i];
        tu_img *t = im;
        if (e->file == F_SIDECAR) {
            if (c->side_absent || i >= c->side_keep)
                continue;
            t = side;
            t->exists = true;
        }
        if (i == c->k) {
            cp_img_apply(t, e, c->from, c->to);
        } else if (i != c->drop) {
            cp_img_apply(t, e, 0, e->len);
        } else {
            /* A partly lost write still sets the size: the lost bytes read
             * as zeros past the old end, as before the write within it. */
            bool partly = c->lost_from > 0 || c->lost_to < e->len;
            if (partly && (size_t)e->off + e->len > t->len)
                tu_img_size(t, (size_t)e->off + e->len);
            cp_img_apply(t, e, 0, c->lost_from);
            cp_img_apply(t, e, c->lost_to, e->len);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Checking one crash point                                                  */
/* ------------------------------------------------------------------------ */

/* Whether st holds exactly s. */
static bool cp_holds(srd_store *st, const cp_state *s)
{
    for (int k = 0; k < CP_NKEYS; k++) {
        srd_view v;
        srd_err rc = srd_get(st, tu_s(g_keyname[k]), &v);
        tu_require(rc == SRD_OK || rc == SRD_ENOTFOUND, "get %s: %s",
                   g_keyname[k], srd_errname(rc));
        bool ok = rc == SRD_OK ? s->len[k] == v.len &&
                                     memcmp(v.data, cp_bytes(s->v[k], v.len),
                                            v.len) == 0
                               : s->len[k] == 0;
        if (rc == SRD_OK)
            srd_view_release(&v);
        if (!ok)
            return false;
    }
    return true;
}

/* The op count n such that st holds after[n], searched in [lo, hi]; -1
 * when none matches (a lost ack or a half-present op). */
static int cp_match(srd_store *st, const cp_run *r, int lo, int hi)
{
    for (int n = hi; n >= lo; n--)
        if (cp_holds(st, &r->after[n]))
            return n;
    return -1;
}

/* Ops acknowledged before the crash (lo) and ops begun (hi). */
static void cp_bounds(const cp_run *r, const cp_crash *c, int *lo, int *hi)
{
    *lo = 0;
    *hi = 0;
    size_t persisted = c->from < c->to ? c->k + 1 : c->k;
    for (int i = 0; i < r->nops; i++) {
        if (r->acked[i] <= c->k)
            *lo = i + 1;
        if (r->started[i] < persisted)
            *hi = i + 1;
    }
    if (*hi < *lo) /* acknowledged ops that wrote nothing (absent keys) */
        *hi = *lo;
}

/* An OS crash without syncs: any write may be lost, and a batch may be
 * cut in two (FORMAT.md section 7), but no torn value may be readable. */
static bool cp_relaxed(const cp_run *r, const cp_crash *c)
{
    return c->os_crash && r->mode != SRD_SYNC_ALWAYS;
}

typedef struct cp_ctx {
    const cp_run *r;
    char *path;
    char *side_path;   /* its sidecar */
    unsigned checked;
    bool empty_base;
    tu_img im, side;   /* the files as the crash left them */
} cp_ctx;

/* With no op acknowledged on an empty base, a torn first entry is not a
 * store: refused untouched, and SRD_OPEN_REPAIR opens it empty. */
static bool cp_refused_first_write(cp_ctx *x, srd_err rc, int lo,
                                   const char *what)
{
    if (rc != SRD_ECORRUPT || !x->empty_base || lo > 0)
        return false;
    srd_store *st = NULL;
    ck_assert_msg(tu_open(x->path, SRD_OPEN_REPAIR, &st) == SRD_OK,
                  "%s: repair open failed", what);
    uint64_t n = 1;
    ck_srd(srd_count(st, &n));
    ck_assert_msg(n == 0, "%s: repaired store has %llu keys", what,
                  (unsigned long long)n);
    ck_srd(srd_close(st));
    return true;
}

static void cp_expect_clean(srd_store *st, const char *what)
{
    srd_verify_report vr;
    srd_err rc = srd_verify(st, &vr, NULL, NULL);
    tu_require(rc == SRD_OK, "%s: srd_verify: %s (%llu bad entries)", what,
               srd_errname(rc), (unsigned long long)vr.bad_entries);
}

/* Write the sidecar as the crash left it, for the crashed file: a record
 * of the recorded file names the crashed one instead (same bytes, other
 * inode), and after an OS crash it is of a past boot. */
static void cp_write_sidecar(cp_ctx *x, const cp_crash *c)
{
    if (!x->side.exists) {
        ck_assert(unlink(x->side_path) == 0 || errno == ENOENT);
        return;
    }
    srdi_synced rec;
    if (srdi_synced_decode(x->side.b, x->side.len, &rec) &&
        rec.dev == x->r->dev && rec.ino == x->r->ino) {
        struct stat sb;
        ck_assert_int_eq(stat(x->path, &sb), 0);
        rec.dev = (uint64_t)sb.st_dev;
        rec.ino = (uint64_t)sb.st_ino;
        if (c->os_crash)
            memset(rec.boot, 0, sizeof rec.boot);
        srdi_synced_encode(x->side.b, &rec);
    }
    ck_assert_int_eq(tu_write_file(x->side_path, x->side.b, x->side.len), 0);
}

/* The sidecar's bytes now (NULL when there is none). */
static uint8_t *cp_sidecar_now(const cp_ctx *x, size_t *len)
{
    *len = 0;
    return tu_read_file(x->side_path, len);
}

/* Read-only and writer opens agree with the model; a write then works. */
static void cp_check(cp_ctx *x, const cp_crash *c)
{
    char what[200];
    snprintf(what, sizeof what, "%s sync, crash at event %zu of %zu (%s)",
             x->r->mode == SRD_SYNC_ALWAYS ? "always" : "never", c->k,
             g_log.n, c->how);
    ck_assert_int_eq(tu_write_file(x->path, x->im.b, x->im.len), 0);
    cp_write_sidecar(x, c);
    int lo, hi;
    cp_bounds(x->r, c, &lo, &hi);
    srd_store *st = NULL;
    size_t side_len0, side_len1;
    uint8_t *side0 = cp_sidecar_now(x, &side_len0);
    srd_err rc = tu_open(x->path, SRD_OPEN_READONLY, &st);
    uint8_t *side1 = cp_sidecar_now(x, &side_len1);
    tu_require((side0 == NULL) == (side1 == NULL) && side_len0 == side_len1 &&
                   (side0 == NULL || memcmp(side0, side1, side_len0) == 0),
               "%s: a read-only open changed the sidecar", what);
    free(side0);
    free(side1);
    if (cp_refused_first_write(x, rc, lo, what))
        return;
    tu_require(rc == SRD_OK, "%s: read-only open: %s", what,
               srd_errname(rc));
    bool relaxed = cp_relaxed(x->r, c);
    int seen = relaxed ? -1 : cp_match(st, x->r, lo, hi);
    tu_require(relaxed || seen >= 0, "%s: the reader sees no state between "
               "%d and %d operations (lost ack or half-present op)", what, lo,
               hi);
    cp_expect_clean(st, what);
    ck_srd(srd_close(st));

    rc = tu_open(x->path, SRD_OPEN_CREATE, &st);
    tu_require(rc == SRD_OK, "%s: writer open: %s", what, srd_errname(rc));
    tu_require(relaxed || cp_match(st, x->r, seen, seen) == seen,
               "%s: the writer sees another state than the reader", what);
    cp_expect_clean(st, what);
    ck_srd(srd_put(st, tu_s("after-crash"), tu_s("written after recovery")));
    ck_srd(srd_close(st));
    ck_srd(tu_open(x->path, SRD_OPEN_READONLY, &st));
    tu_require(relaxed || cp_match(st, x->r, seen, seen) == seen,
               "%s: the write after recovery damaged the store", what);
    char buf[64];
    size_t n = 0;
    ck_srd(srd_get_copy(st, tu_s("after-crash"), buf, sizeof buf, &n));
    cp_expect_clean(st, what);
    ck_srd(srd_close(st));
    x->checked++;
}

static void cp_try(cp_ctx *x, const cp_crash *c)
{
    cp_build(x->r, c, &x->im, &x->side);
    cp_check(x, c);
}

/* ------------------------------------------------------------------------ */
/* The crash points                                                          */
/* ------------------------------------------------------------------------ */

/* Process crash: event k written up to sampled lengths (a kill during a
 * large pwrite leaves a prefix in the page cache). */
static void cp_torn(cp_ctx *x, size_t k)
{
    const cp_ev *e = &g_log.ev[k];
    size_t page = 4096 - (size_t)(e->off % 4096);
    size_t cuts[] = {1, 8, 12, 20, 512, page, e->len / 2, e->len - 20,
                     e->len - 4, e->len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        if (cuts[i] == 0 || cuts[i] >= e->len)
            continue;
        if (i > 0 && cuts[i] == cuts[i - 1])
            continue;
        cp_crash c = CP_CRASH(k, SIZE_MAX, 0, 0, 0, cuts[i], false,
                              "torn write");
        cp_try(x, &c);
    }
}

/* OS crash, page granularity: of event k only its last page, or all but
 * its first page, reached the disk. */
static void cp_pages(cp_ctx *x, size_t k)
{
    const cp_ev *e = &g_log.ev[k];
    size_t first_end = 4096 - (size_t)(e->off % 4096);
    size_t last_start = (size_t)((e->off + e->len - 1) / 4096 * 4096 - e->off);
    if (first_end >= e->len)
        return; /* within one page */
    cp_crash last = CP_CRASH(k, SIZE_MAX, 0, 0, last_start, e->len, true,
                             "only the last page persisted");
    cp_try(x, &last);
    cp_crash rest = CP_CRASH(k, SIZE_MAX, 0, 0, first_end, e->len, true,
                             "all but the first page persisted");
    cp_try(x, &rest);
}

/* The page-aligned byte ranges of event e worth losing: all of it, its
 * first page, its last page and one in the middle. Returns how many. */
static int cp_lost_ranges(const cp_ev *e, size_t from[4], size_t to[4])
{
    size_t first_end = 4096 - (size_t)(e->off % 4096);
    int n = 0;
    from[n] = 0;
    to[n++] = e->len;
    if (first_end >= e->len)
        return n;
    size_t last = (size_t)((e->off + e->len - 1) / 4096 * 4096 - e->off);
    from[n] = 0;
    to[n++] = first_end;
    from[n] = last;
    to[n++] = e->len;
    if (last > first_end) {
        from[n] = first_end + (last - first_end) / 8192 * 4096;
        to[n] = from[n] + 4096;
        n++;
    }
    return n;
}

/* OS crash: an unsynced write before k was lost, whole or one page of it,
 * while the writes after it persisted (a sidecar write after the last
 * sync among them). */
static void cp_drops(cp_ctx *x, size_t k)
{
    size_t j = k;
    while (j > 0 && g_log.ev[j - 1].type != EV_SYNC)
        j--;
    if (x->r->mode != SRD_SYNC_ALWAYS)
        j = 0; /* nothing is synced */
    for (; j < k; j++) {
        if (g_log.ev[j].type != EV_WRITE)
            continue;
        size_t from[4], to[4];
        int n = cp_lost_ranges(&g_log.ev[j], from, to);
        for (int i = 0; i < n; i++) {
            cp_crash c = CP_CRASH(k, j, from[i], to[i], 0, 0, true,
                                  i == 0 ? "an earlier unsynced write lost"
                                         : "a page of an earlier unsynced "
                                           "write lost");
            cp_try(x, &c);
        }
    }
}

/* A clean prefix whose sidecar lost writes (never synced, it may lag any
 * amount behind the store after an OS crash) or is gone: its last write
 * lost, all of this run's, and no sidecar at all. */
static void cp_stale_sidecars(cp_ctx *x, size_t k, bool os_crash)
{
    size_t last = SIZE_MAX;
    for (size_t i = 0; i < k && i < g_log.n; i++)
        if (g_log.ev[i].file == F_SIDECAR)
            last = i;
    if (last != SIZE_MAX) {
        cp_crash c = CP_CRASH(k, SIZE_MAX, 0, 0, 0, 0, os_crash,
                              "clean prefix, the last sidecar write lost");
        c.side_keep = last;
        cp_try(x, &c);
        c.side_keep = 0;
        c.how = "clean prefix, the sidecar as before the run";
        cp_try(x, &c);
    }
    cp_crash c = CP_CRASH(k, SIZE_MAX, 0, 0, 0, 0, os_crash,
                          "clean prefix, no sidecar");
    c.side_absent = true;
    cp_try(x, &c);
}

static unsigned cp_sweep(srd_sync_mode mode, const cp_workload *w)
{
    cp_run r;
    cp_record(&r, mode, w);
    char *path = tu_join(g_dir, "crashed.srd");
    cp_ctx x = {&r, path, srdi_synced_path(path), 0, w->empty_base,
                {NULL, 0, 0, false}, {NULL, 0, 0, false}};
    ck_assert_ptr_nonnull(x.side_path);
    for (size_t k = 0; k <= g_log.n; k++) {
        cp_crash c = CP_CRASH(k, SIZE_MAX, 0, 0, 0, 0, false, "clean prefix");
        cp_try(&x, &c);
        cp_stale_sidecars(&x, k, mode == SRD_SYNC_ALWAYS);
        bool write = k < g_log.n && g_log.ev[k].type == EV_WRITE;
        if (write)
            cp_torn(&x, k);
        if (mode != SRD_SYNC_ALWAYS) {
            /* Without syncs an OS crash may lose any write, but must not
             * leave a torn value readable: once, after the last write
             * (the sidecar then vouches for every entry, in this boot). */
            if (k == g_log.n)
                cp_drops(&x, k);
            continue;
        }
        if (write)
            cp_pages(&x, k);
        cp_drops(&x, k);
    }
    printf("crash points (%s sync%s): %zu logged calls, %u crash points "
           "checked\n", mode == SRD_SYNC_ALWAYS ? "always" : "never",
           w->label, g_log.n, x.checked);
    fflush(stdout);
    tu_img_free(&x.im);
    tu_img_free(&x.side);
    free(r.base);
    free(r.side_base);
    free(x.side_path);
    free(x.path);
    return x.checked;
}

/* The workloads replayed by the loop test below. */
static const struct {
    srd_sync_mode mode;
    const cp_workload *w;
} cp_runs[] = {{SRD_SYNC_ALWAYS, &w_main},
               {SRD_SYNC_NEVER, &w_main},
               {SRD_SYNC_ALWAYS, &w_new},
               {SRD_SYNC_ALWAYS, &w_bare},
               {SRD_SYNC_NEVER, &w_bare}};

START_TEST(test_crash_at_every_write_keeps_acked_writes_and_atomicity)
{
    ck_assert_uint_gt(cp_sweep(cp_runs[_i].mode, cp_runs[_i].w), 0);
}
END_TEST

/* The tail search checks only the tail entry's CRC; a group commit leaves
 * more than one entry unsynced, so a lost page in an earlier entry of the
 * group must not become a readable (corrupt) value: recovery CRC-checks
 * every entry past the synced tail the sidecar records and cuts the store
 * before the first bad one (docs/RELIABILITY.md, "Power loss during a
 * group commit"). */
START_TEST(test_crash_during_group_commit_leaves_no_torn_value)
{
    ck_assert_uint_gt(cp_sweep(SRD_SYNC_ALWAYS, &w_group), 0);
}
END_TEST

static Suite *crashpoints_suite(void)
{
    Suite *s = suite_create("crashpoints");
    TCase *tc = tcase_create("replay");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc,
                        test_crash_at_every_write_keeps_acked_writes_and_atomicity,
                        0, (int)(sizeof cp_runs / sizeof cp_runs[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("group_commit");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_crash_during_group_commit_leaves_no_torn_value);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(crashpoints_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
