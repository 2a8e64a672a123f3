/* SPDX-License-Identifier: MIT */
/*
 * check_crashpoints_compact.c -- a crash at every point of a compaction
 * (srd_compact_ex, embedded). Every write, sync and cut of the store, of
 * "<path>.compact" and of the sidecar, and every unlink, create, rename and
 * fsync of the directory, are logged through the linker's --wrap
 * (tests/CMakeLists.txt) while a compaction runs with a put landing in its
 * catch-up, a put acknowledged between its switch and its directory fsync
 * (both from a second thread, as srdd's clients would), then writes to the
 * new file and a close. A stale, complete store is planted as
 * "<path>.compact" first.
 *
 * For every point of the log the files are rebuilt as a crash there would
 * leave them: a process crash (the page cache keeps every completed call;
 * the call in progress torn at sampled lengths), and an OS crash, where
 * only data synced per file is safe (each unsynced write lost in turn, or
 * all of them) and the directory operations since its last fsync
 * persisted up to any point, in order. After each: the store opens (read
 * only, then as the writer) on a state between the acknowledged writes
 * and those begun, every key whole; nothing of the stale file appears;
 * nothing below what was synced of the file the path names is cut (no
 * shorter file, no ".cut-" file below it); srd_verify is clean; and a new
 * compaction and a write work.
 */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "fileimg.h"
#include "synced.h"
#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* The log                                                                   */
/* ------------------------------------------------------------------------ */

/* Files (inodes) and the names that can point at them. */
enum { F_OLD, F_NEW, F_STALE, F_SIDE, F_N };
enum { N_STORE, N_COMPACT, N_SIDE, N_N };
static const char *const nm_suffix[N_N] = {"", ".compact", ".synced"};

enum { EV_WRITE, EV_TRUNC, EV_SYNC, EV_UNLINK, EV_CREATE, EV_RENAME,
       EV_DIRSYNC };

typedef struct cc_ev {
    int type;
    int file;       /* EV_WRITE/TRUNC/SYNC/CREATE: F_* */
    int name, to;   /* EV_UNLINK/CREATE: name; EV_RENAME: name -> to */
    uint64_t off;   /* EV_WRITE: offset; EV_TRUNC: new length */
    uint8_t *data;
    size_t len;
    uint64_t size;  /* the file's size after the event (EV_SYNC: durable) */
} cc_ev;

static struct {
    bool on;
    char *names[N_N];     /* full paths of the names */
    uint64_t ino[F_N];    /* inodes of the recorded files (0: unknown) */
    uint64_t size[F_N];   /* their sizes as the log goes */
    cc_ev *ev;
    size_t n, cap;
    int unknown;          /* writes to a file the model does not know */
} g_log;

/* The log is written by the compaction's thread and the side thread
 * (the wrappers below hold g_mu). */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t cc_log_len(void)
{
    pthread_mutex_lock(&g_mu);
    size_t n = g_log.n;
    pthread_mutex_unlock(&g_mu);
    return n;
}

static cc_ev *cc_add(int type, int file)
{
    if (g_log.n == g_log.cap) {
        g_log.cap = g_log.cap ? g_log.cap * 2 : 128;
        g_log.ev = realloc(g_log.ev, g_log.cap * sizeof *g_log.ev);
        ck_assert_ptr_nonnull(g_log.ev);
    }
    cc_ev *e = &g_log.ev[g_log.n++];
    memset(e, 0, sizeof *e);
    e->type = type;
    e->file = file;
    e->name = e->to = -1;
    if (file >= 0)
        e->size = g_log.size[file];
    return e;
}

static void cc_log_free(void)
{
    for (size_t i = 0; i < g_log.n; i++)
        free(g_log.ev[i].data);
    free(g_log.ev);
    for (int i = 0; i < N_N; i++)
        free(g_log.names[i]);
    memset(&g_log, 0, sizeof g_log);
}

/* The model's file behind fd: F_*, -2 a directory, -1 unknown. */
static int cc_file_of(int fd)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return -1;
    if (S_ISDIR(sb.st_mode))
        return -2;
    for (int f = 0; f < F_N; f++)
        if (g_log.ino[f] == (uint64_t)sb.st_ino)
            return f;
    return -1;
}

static int cc_name_of(const char *path)
{
    for (int i = 0; i < N_N; i++)
        if (g_log.names[i] && strcmp(path, g_log.names[i]) == 0)
            return i;
    return -1;
}

/* A logged write of file f (unknown files are counted: the test fails). */
static void cc_log_write(int fd, const struct iovec *iov, int n, off_t off,
                         ssize_t done)
{
    int f = cc_file_of(fd);
    if (f < 0) {
        g_log.unknown++;
        return;
    }
    if (done <= 0)
        return;
    cc_ev *e = cc_add(EV_WRITE, f);
    e->off = (uint64_t)off;
    e->len = (size_t)done;
    e->data = malloc(e->len);
    ck_assert_ptr_nonnull(e->data);
    size_t at = 0;
    for (int i = 0; i < n && at < e->len; i++) {
        size_t k = iov[i].iov_len < e->len - at ? iov[i].iov_len
                                                : e->len - at;
        memcpy(e->data + at, iov[i].iov_base, k);
        at += k;
    }
    if (e->off + e->len > g_log.size[f])
        g_log.size[f] = e->off + e->len;
    e->size = g_log.size[f];
}

static void cc_log_sync(int fd)
{
    pthread_mutex_lock(&g_mu);
    int f = cc_file_of(fd);
    if (f == -2)
        cc_add(EV_DIRSYNC, -1);
    else if (f >= 0)
        cc_add(EV_SYNC, f);
    pthread_mutex_unlock(&g_mu);
}

/* ------------------------------------------------------------------------ */
/* The wrapped calls (-Wl,--wrap=NAME)                                       */
/* ------------------------------------------------------------------------ */

ssize_t __real_pwritev(int fd, const struct iovec *iov, int n, off_t off);
ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int n, off_t off);
ssize_t __real_pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off);
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __real_ftruncate(int fd, off_t len);
int __wrap_ftruncate(int fd, off_t len);
int __real_rename(const char *from, const char *to);
int __wrap_rename(const char *from, const char *to);
int __real_unlink(const char *path);
int __wrap_unlink(const char *path);
int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);

static void (*g_dirsync_hook)(void); /* runs before a directory fsync */

ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    ssize_t k = __real_pwritev(fd, iov, n, off);
    if (g_log.on) {
        pthread_mutex_lock(&g_mu);
        cc_log_write(fd, iov, n, off, k);
        pthread_mutex_unlock(&g_mu);
    }
    return k;
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    ssize_t k = __real_pwrite(fd, buf, n, off);
    struct iovec iov = {(void *)(uintptr_t)buf, n};
    if (g_log.on) {
        pthread_mutex_lock(&g_mu);
        cc_log_write(fd, &iov, 1, off, k);
        pthread_mutex_unlock(&g_mu);
    }
    return k;
}

int __wrap_fdatasync(int fd)
{
    int rc = __real_fdatasync(fd);
    if (g_log.on && rc == 0)
        cc_log_sync(fd);
    return rc;
}

int __wrap_fsync(int fd)
{
    if (g_log.on && g_dirsync_hook && cc_file_of(fd) == -2) {
        void (*hook)(void) = g_dirsync_hook;
        g_dirsync_hook = NULL;
        hook();
    }
    int rc = __real_fsync(fd);
    if (g_log.on && rc == 0)
        cc_log_sync(fd);
    return rc;
}

int __wrap_ftruncate(int fd, off_t len)
{
    int rc = __real_ftruncate(fd, len);
    if (!g_log.on || rc != 0)
        return rc;
    pthread_mutex_lock(&g_mu);
    int f = cc_file_of(fd);
    if (f >= 0) {
        g_log.size[f] = (uint64_t)len;
        cc_add(EV_TRUNC, f)->off = (uint64_t)len;
    } else {
        g_log.unknown++;
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

int __wrap_rename(const char *from, const char *to)
{
    int rc = __real_rename(from, to);
    int a = cc_name_of(from), b = cc_name_of(to);
    if (!g_log.on || rc != 0)
        return rc;
    pthread_mutex_lock(&g_mu);
    if (a < 0 || b < 0) {
        g_log.unknown++;
    } else {
        cc_ev *e = cc_add(EV_RENAME, -1);
        e->name = a;
        e->to = b;
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

int __wrap_unlink(const char *path)
{
    int rc = __real_unlink(path);
    int a = cc_name_of(path);
    if (g_log.on && rc == 0 && a >= 0) {
        pthread_mutex_lock(&g_mu);
        cc_add(EV_UNLINK, -1)->name = a;
        pthread_mutex_unlock(&g_mu);
    }
    return rc;
}

/* A created "<path>.compact" is the new file. */
int __wrap_open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = tu_open_mode(flags, ap);
    va_end(ap);
    int fd = __real_open(path, flags, mode);
    if (g_log.on && fd >= 0 && (flags & O_CREAT) &&
        cc_name_of(path) == N_COMPACT) {
        struct stat sb;
        ck_assert_int_eq(fstat(fd, &sb), 0);
        pthread_mutex_lock(&g_mu);
        g_log.ino[F_NEW] = (uint64_t)sb.st_ino;
        g_log.size[F_NEW] = 0;
        cc_ev *e = cc_add(EV_CREATE, F_NEW);
        e->name = N_COMPACT;
        pthread_mutex_unlock(&g_mu);
    }
    return fd;
}

/* ------------------------------------------------------------------------ */
/* Workload and model                                                        */
/* ------------------------------------------------------------------------ */

#define CC_NKEYS 12
#define CC_BIG (700u * 1024u)

static char g_key[CC_NKEYS][8];
static uint8_t g_pool[2 * CC_BIG];

/* Value v of len bytes: a window of the pool (odd bytes). */
static const uint8_t *cc_bytes(unsigned v, size_t len)
{
    return g_pool + ((size_t)v * 7919u) % (sizeof g_pool - len);
}

/* What every key holds (len 0: absent). */
typedef struct cc_state {
    unsigned v[CC_NKEYS];
    size_t len[CC_NKEYS];
} cc_state;

/* A write: keys k0..k0+n-1 get values v.. of len bytes (len 0: deleted). */
typedef struct cc_op {
    int k0, n;
    unsigned v;
    size_t len;
} cc_op;

static void cc_apply(cc_state *s, const cc_op *op)
{
    for (int i = 0; i < op->n; i++) {
        s->v[op->k0 + i] = op->len ? op->v + (unsigned)i : 0;
        s->len[op->k0 + i] = op->len;
    }
}

static srd_err cc_run_op(srd_store *st, const cc_op *op)
{
    srd_val keys[4], vals[4];
    ck_assert_int_le(op->n, 4);
    for (int i = 0; i < op->n; i++) {
        keys[i] = tu_s(g_key[op->k0 + i]);
        vals[i] = (srd_val){cc_bytes(op->v + (unsigned)i, op->len), op->len};
    }
    if (op->len == 0)
        return op->n == 1 ? srd_delete(st, keys[0], NULL)
                          : srd_delete_batch(st, keys, (size_t)op->n, NULL);
    return op->n == 1 ? srd_put(st, keys[0], vals[0])
                      : srd_put_batch(st, keys, vals, (size_t)op->n);
}

/* The store before the compaction: overwrites and deletes to reclaim,
 * and a value large enough that the copy takes two writes. */
static const cc_op g_base_ops[] = {
    {0, 4, 1, 300},    {4, 1, 10, CC_BIG}, {5, 3, 20, 5000},
    {0, 2, 30, 90},    {6, 1, 0, 0},       {8, 2, 40, 20000},
    {4, 1, 11, CC_BIG}, {9, 1, 0, 0},
};

/* Logged, in the order they are acknowledged: a put during the copy (the
 * catch-up copies it), a put between the switch and the directory fsync,
 * then writes to the new file. */
enum { OP_CATCHUP, OP_DIRSYNC, CC_NOPS = 5 };
static const cc_op g_ops[CC_NOPS] = {
    {1, 1, 50, 7000}, {10, 1, 60, 100}, {0, 1, 70, 3000}, {5, 1, 0, 0},
    {2, 2, 80, 9000},
};

typedef struct cc_run {
    uint8_t *img0[F_N];   /* the files before the log (NULL: none) */
    size_t len0[F_N];
    size_t started[CC_NOPS], acked[CC_NOPS];
    cc_state after[CC_NOPS + 1];
} cc_run;

static cc_run g_run;
static srd_store *g_st; /* the recorded handle, for the side thread */

/* A write run from another thread (a client of srdd would). */
typedef struct cc_side {
    pthread_t t;
    int op;
    srd_err rc;
    bool done;
    pthread_cond_t cv;
} cc_side;

static cc_side g_side = {.cv = PTHREAD_COND_INITIALIZER};

/* Runs op i, recording when it starts and when it is acknowledged. */
static void *cc_side_main(void *arg)
{
    cc_side *sd = arg;
    g_run.started[sd->op] = cc_log_len();
    srd_err rc = cc_run_op(g_st, &g_ops[sd->op]);
    pthread_mutex_lock(&g_mu);
    g_run.acked[sd->op] = g_log.n;
    sd->rc = rc;
    sd->done = true;
    pthread_cond_broadcast(&sd->cv);
    pthread_mutex_unlock(&g_mu);
    return NULL;
}

static void cc_side_start(int op)
{
    g_side.op = op;
    g_side.done = false;
    ck_assert_int_eq(pthread_create(&g_side.t, NULL, cc_side_main, &g_side),
                     0);
}

static void cc_side_join(void)
{
    ck_assert_int_eq(pthread_join(g_side.t, NULL), 0);
    ck_assert_int_eq(g_side.rc, SRD_OK);
}

/* Give the side write up to 500 ms to be acknowledged, then go on: it
 * must either finish or wait for the caller (a writer held). Only the
 * order of events depends on this, never the verdict. */
static void cc_side_wait_a_little(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 500000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g_mu);
    while (!g_side.done &&
           pthread_cond_timedwait(&g_side.cv, &g_mu, &ts) == 0)
        ;
    pthread_mutex_unlock(&g_mu);
}

static int cc_progress(void *ctx, uint64_t done, uint64_t total)
{
    bool *once = ctx;
    (void)done;
    (void)total;
    if (!*once) { /* no lock is held while the live set is copied */
        *once = true;
        cc_side_start(OP_CATCHUP);
        cc_side_join();
    }
    return 0;
}

/* A client's put arriving as the compaction fsyncs the directory: it may
 * be acknowledged only once the rename is durable. */
static void cc_dirsync_put(void)
{
    cc_side_start(OP_DIRSYNC);
    cc_side_wait_a_little();
}

static char *g_dir;

static void cc_names(const char *dir, char *out[N_N])
{
    char *store = tu_join(dir, "s.srd");
    for (int i = 0; i < N_N; i++) {
        size_t n = strlen(store) + strlen(nm_suffix[i]) + 1;
        out[i] = malloc(n);
        ck_assert_ptr_nonnull(out[i]);
        snprintf(out[i], n, "%s%s", store, nm_suffix[i]);
    }
    free(store);
}

static void cc_free_names(char *names[N_N])
{
    for (int i = 0; i < N_N; i++)
        free(names[i]);
}

static uint64_t cc_ino(const char *path)
{
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    return (uint64_t)sb.st_ino;
}

/* A complete store holding the key "stale", planted as the .compact. */
static void cc_plant_stale(const char *path)
{
    char *other = tu_join(g_dir, "other.srd");
    srd_store *st = NULL;
    ck_srd(tu_open(other, SRD_OPEN_CREATE, &st));
    ck_srd(srd_put(st, tu_s("stale"), tu_s("never to be merged")));
    ck_srd(srd_put(st, tu_s(g_key[3]), tu_s("stale value")));
    ck_srd(srd_close(st));
    ck_assert_int_eq(rename(other, path), 0);
    free(other);
}

static void cc_snapshot(int f, const char *path)
{
    g_run.img0[f] = tu_read_file(path, &g_run.len0[f]);
    ck_assert_ptr_nonnull(g_run.img0[f]);
    g_log.ino[f] = cc_ino(path);
    g_log.size[f] = g_run.len0[f];
}

static void cc_record(void)
{
    cc_names(g_dir, g_log.names);
    srd_options o;
    srd_options_init(&o);
    o.sync = SRD_SYNC_ALWAYS;
    srd_store *st = NULL;
    ck_srd(srd_open(g_log.names[N_STORE], &o, &st));
    for (size_t i = 0; i < sizeof g_base_ops / sizeof g_base_ops[0]; i++) {
        ck_srd(cc_run_op(st, &g_base_ops[i]));
        cc_apply(&g_run.after[0], &g_base_ops[i]);
    }
    ck_srd(srd_close(st));
    /* A writer's open removes a stale .compact; this one appears after,
     * so that the compaction's own removal is among the crash points. */
    ck_srd(srd_open(g_log.names[N_STORE], &o, &st));
    cc_plant_stale(g_log.names[N_COMPACT]);
    cc_snapshot(F_OLD, g_log.names[N_STORE]);
    cc_snapshot(F_STALE, g_log.names[N_COMPACT]);
    cc_snapshot(F_SIDE, g_log.names[N_SIDE]);
    g_st = st;
    g_log.on = true;
    bool once = false;
    g_dirsync_hook = cc_dirsync_put;
    srd_compact_report rep;
    ck_srd(srd_compact_ex(st, cc_progress, &once, &rep));
    cc_side_join();
    ck_assert_msg(rep.caught_up_entries == 1, "caught up %llu entries",
                  (unsigned long long)rep.caught_up_entries);
    ck_assert_msg(once && g_dirsync_hook == NULL, "a side put did not run");
    for (int i = OP_DIRSYNC + 1; i < CC_NOPS; i++) {
        g_run.started[i] = g_log.n;
        ck_srd(cc_run_op(st, &g_ops[i]));
        g_run.acked[i] = g_log.n;
    }
    ck_srd(srd_close(st));
    g_log.on = false;
    ck_assert_msg(g_log.unknown == 0, "%d writes to files the model lacks",
                  g_log.unknown);
    for (int i = 0; i < CC_NOPS; i++) {
        g_run.after[i + 1] = g_run.after[i];
        cc_apply(&g_run.after[i + 1], &g_ops[i]);
    }
}

/* ------------------------------------------------------------------------ */
/* Rebuilding the files a crash leaves                                       */
/* ------------------------------------------------------------------------ */

/* Bytes [from, to) of write e (a cut: whole). */
static void cc_img_apply(tu_img *im, const cc_ev *e, size_t from, size_t to)
{
    if (e->type == EV_TRUNC)
        tu_img_size(im, (size_t)e->off);
    else if (from < to)
        tu_img_put(im, e->off + from, e->data + from, to - from);
}

/* A crash at event k: events before k done, but for the losses below;
 * of event k bytes [from, to). */
typedef struct cc_crash {
    size_t k;
    size_t from, to;
    bool os;          /* an OS crash: only synced data is safe */
    size_t ns_limit;  /* directory operations at log index >= this lost */
    size_t drop;      /* one unsynced write lost whole, or SIZE_MAX */
    bool lose_all;    /* every unsynced write lost */
    bool no_side;     /* the sidecar is gone */
    const char *how;
} cc_crash;

/* Whether write j of its file is synced by a sync before k. */
static bool cc_synced(size_t j, size_t k)
{
    for (size_t i = j + 1; i < k; i++)
        if (g_log.ev[i].type == EV_SYNC && g_log.ev[i].file == g_log.ev[j].file)
            return true;
    return false;
}

static bool cc_lost(const cc_crash *c, size_t j)
{
    if (g_log.ev[j].type != EV_WRITE || !c->os)
        return false;
    return (j == c->drop || c->lose_all) && !cc_synced(j, c->k);
}

static void cc_ns_apply(int map[N_N], const cc_ev *e)
{
    switch (e->type) {
    case EV_UNLINK:
        map[e->name] = -1;
        break;
    case EV_CREATE:
        map[e->name] = e->file;
        break;
    case EV_RENAME:
        map[e->to] = map[e->name];
        map[e->name] = -1;
        break;
    default:
        break;
    }
}

/* The files' contents and which file each name names after crash c. */
static void cc_build(const cc_crash *c, tu_img im[F_N], int map[N_N])
{
    for (int f = 0; f < F_N; f++)
        tu_img_reset(&im[f], g_run.img0[f], g_run.len0[f]);
    map[N_STORE] = F_OLD;
    map[N_COMPACT] = F_STALE;
    map[N_SIDE] = c->no_side ? -1 : F_SIDE;
    for (size_t i = 0; i <= c->k && i < g_log.n; i++) {
        const cc_ev *e = &g_log.ev[i];
        if (e->type == EV_WRITE || e->type == EV_TRUNC) {
            if (i == c->k && e->type == EV_WRITE)
                cc_img_apply(&im[e->file], e, c->from, c->to);
            else if (i == c->k)
                continue;
            else if (!cc_lost(c, i))
                cc_img_apply(&im[e->file], e, 0, e->len);
        } else if (i < c->k && i < c->ns_limit &&
                   !(c->no_side && e->name == N_SIDE)) {
            cc_ns_apply(map, e);
        }
    }
}

/* The size of file f after the first a events. */
static uint64_t cc_size_at(int f, size_t a)
{
    uint64_t d = f == F_NEW ? 0 : g_run.len0[f];
    for (size_t i = 0; i < a && i < g_log.n; i++)
        if (g_log.ev[i].file == f && g_log.ev[i].type != EV_CREATE)
            d = g_log.ev[i].size;
    return d;
}

/* What of file f a crash at k must keep: its size when the last write
 * acknowledged before k was, or, for the new file, when the rename made
 * it the store (the compaction's copy, fsynced before). Synced bytes of a
 * write not yet acknowledged (a batch whose first back pointer is still
 * poisoned, FORMAT.md section 7) may be cut, saved first. */
static uint64_t cc_kept(int f, size_t k)
{
    uint64_t d = f == F_NEW ? 0 : g_run.len0[f];
    for (size_t i = 0; i < k && i < g_log.n; i++)
        if (g_log.ev[i].type == EV_RENAME && f == F_NEW)
            d = cc_size_at(f, i);
    for (int i = 0; i < CC_NOPS; i++)
        if (g_run.acked[i] <= k && cc_size_at(f, g_run.acked[i]) > d)
            d = cc_size_at(f, g_run.acked[i]);
    return d;
}

/* ------------------------------------------------------------------------ */
/* Checking one crash                                                        */
/* ------------------------------------------------------------------------ */

typedef struct cc_ctx {
    char *dir;           /* where the crashed files are written */
    char *names[N_N];
    tu_img im[F_N];
    int map[N_N];
    unsigned checked;
    char what[200];
} cc_ctx;

/* The sidecar as the crash left it: a record of a recorded file names the
 * crashed file holding the same bytes; after an OS crash, of a past boot. */
static void cc_write_sidecar(cc_ctx *x, const cc_crash *c)
{
    tu_img *side = &x->im[F_SIDE];
    srdi_synced rec;
    if (srdi_synced_decode(side->b, side->len, &rec)) {
        for (int f = F_OLD; f <= F_NEW; f++) {
            int at = x->map[N_STORE] == f ? N_STORE
                     : x->map[N_COMPACT] == f ? N_COMPACT : -1;
            if (rec.ino == g_log.ino[f] && at >= 0) {
                rec.ino = cc_ino(x->names[at]);
                break;
            }
        }
        if (c->os)
            memset(rec.boot, 0, sizeof rec.boot);
        srdi_synced_encode(side->b, &rec);
    }
    ck_assert_int_eq(tu_write_file(x->names[N_SIDE], side->b, side->len), 0);
}

static void cc_write_files(cc_ctx *x, const cc_crash *c)
{
    tu_rmtree(x->dir);
    ck_assert_int_eq(mkdir(x->dir, 0700), 0);
    for (int n = N_STORE; n <= N_COMPACT; n++)
        if (x->map[n] >= 0)
            ck_assert_int_eq(tu_write_file(x->names[n], x->im[x->map[n]].b,
                                           x->im[x->map[n]].len), 0);
    if (x->map[N_SIDE] >= 0)
        cc_write_sidecar(x, c);
}

static bool cc_has(srd_store *st, const char *key)
{
    bool there = false;
    ck_srd(srd_exists(st, tu_s(key), &there));
    return there;
}

static uint8_t g_copy[CC_BIG];

/* Whether key k holds what s says (absent when its length is 0). */
static bool cc_key_is(srd_store *st, int k, const cc_state *s)
{
    size_t n = 0;
    srd_err rc = srd_get_copy(st, tu_s(g_key[k]), g_copy, sizeof g_copy, &n);
    if (rc == SRD_ENOTFOUND)
        return s->len[k] == 0;
    return rc == SRD_OK && n == s->len[k] &&
           memcmp(g_copy, cc_bytes(s->v[k], n), n) == 0;
}

/* Whether st holds exactly s, and nothing of the stale file. */
static bool cc_holds(srd_store *st, const cc_state *s)
{
    if (cc_has(st, "stale"))
        return false;
    for (int k = 0; k < CC_NKEYS; k++)
        if (!cc_key_is(st, k, s))
            return false;
    return true;
}

static int cc_match(srd_store *st, int lo, int hi)
{
    for (int n = hi; n >= lo; n--)
        if (cc_holds(st, &g_run.after[n]))
            return n;
    return -1;
}

/* Ops acknowledged before the crash (lo) and begun (hi). */
static void cc_bounds(const cc_crash *c, int *lo, int *hi)
{
    size_t persisted = c->from < c->to ? c->k + 1 : c->k;
    *lo = *hi = 0;
    for (int i = 0; i < CC_NOPS; i++) {
        if (g_run.acked[i] <= c->k)
            *lo = i + 1;
        if (g_run.started[i] < persisted)
            *hi = i + 1;
    }
    if (*hi < *lo)
        *hi = *lo;
}

static void cc_verify(srd_store *st, const char *what)
{
    srd_verify_report vr;
    srd_err rc = srd_verify(st, &vr, NULL, NULL);
    tu_require(rc == SRD_OK, "%s: srd_verify: %s", what, srd_errname(rc));
}

/* No ".cut-<offset>" file below what the store's file must keep. */
static void cc_check_cuts(cc_ctx *x, uint64_t durable)
{
    DIR *d = opendir(x->dir);
    ck_assert_ptr_nonnull(d);
    const struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *p = strstr(de->d_name, ".cut-");
        if (!p)
            continue;
        unsigned long long off = strtoull(p + 5, NULL, 10);
        tu_require(off >= durable, "%s: %s cuts below the acknowledged "
                   "%llu", x->what, de->d_name, (unsigned long long)durable);
    }
    closedir(d);
}

/* Open as the writer: the reader's state, nothing synced cut; then a
 * compaction (the stale .compact, if any, must not be reused) and a
 * write. */
static void cc_check_writer(cc_ctx *x, const cc_crash *c, int seen)
{
    srd_store *st = NULL;
    srd_err rc = tu_open(x->names[N_STORE], 0, &st);
    tu_require(rc == SRD_OK, "%s: writer open: %s", x->what, srd_errname(rc));
    tu_require(cc_match(st, seen, seen) == seen,
               "%s: the writer sees another state than the reader", x->what);
    uint64_t kept = cc_kept(x->map[N_STORE], c->k);
    long long size = tu_file_size(x->names[N_STORE]);
    tu_require(size >= 0 && (uint64_t)size >= kept,
               "%s: the open cut the store to %lld, below the acknowledged "
               "%llu", x->what, size, (unsigned long long)kept);
    cc_check_cuts(x, kept);
    ck_srd(srd_compact(st, NULL));
    tu_require(cc_match(st, seen, seen) == seen,
               "%s: a compaction after the crash changed the data", x->what);
    ck_srd(srd_put(st, tu_s("after"), tu_s("written after recovery")));
    ck_srd(srd_close(st));
    ck_srd(tu_open(x->names[N_STORE], SRD_OPEN_READONLY, &st));
    tu_require(cc_match(st, seen, seen) == seen && cc_has(st, "after"),
               "%s: the store after recovery lost data", x->what);
    cc_verify(st, x->what);
    ck_srd(srd_close(st));
}

static void cc_try(cc_ctx *x, const cc_crash *c)
{
    cc_build(c, x->im, x->map);
    snprintf(x->what, sizeof x->what,
             "crash at event %zu of %zu (%s; store names the %s file)", c->k,
             g_log.n, c->how, x->map[N_STORE] == F_NEW ? "new" : "old");
    tu_require(x->map[N_STORE] == F_OLD || x->map[N_STORE] == F_NEW,
               "%s: no store file", x->what);
    cc_write_files(x, c);
    int lo, hi;
    cc_bounds(c, &lo, &hi);
    srd_store *st = NULL;
    srd_err rc = tu_open(x->names[N_STORE], SRD_OPEN_READONLY, &st);
    tu_require(rc == SRD_OK, "%s: read-only open: %s", x->what,
               srd_errname(rc));
    int seen = cc_match(st, lo, hi);
    tu_require(seen >= 0, "%s: no state between %d and %d writes (a lost "
               "ack, a half-present write or the stale file merged)", x->what,
               lo, hi);
    cc_verify(st, x->what);
    ck_srd(srd_close(st));
    cc_check_writer(x, c, seen);
    x->checked++;
}

/* ------------------------------------------------------------------------ */
/* The crash points                                                          */
/* ------------------------------------------------------------------------ */

static cc_crash cc_point(size_t k, bool os, const char *how)
{
    return (cc_crash){k, 0, 0, os, SIZE_MAX, SIZE_MAX, false, false, how};
}

/* A process crash at k: completed calls kept, the write at k torn. */
static void cc_process_crashes(cc_ctx *x, size_t k)
{
    cc_crash c = cc_point(k, false, "process crash");
    cc_try(x, &c);
    c.no_side = true;
    c.how = "process crash, no sidecar";
    cc_try(x, &c);
    if (k == g_log.n || g_log.ev[k].type != EV_WRITE)
        return;
    size_t len = g_log.ev[k].len;
    size_t cuts[] = {1, 4096 - (size_t)(g_log.ev[k].off % 4096), len / 2,
                     len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        if (cuts[i] == 0 || cuts[i] >= len || (i && cuts[i] == cuts[i - 1]))
            continue;
        c = cc_point(k, false, "process crash, the write torn");
        c.to = cuts[i];
        cc_try(x, &c);
    }
}

/* The log index of the last directory fsync before k (0: none). */
static size_t cc_last_dirsync(size_t k)
{
    size_t last = 0;
    for (size_t i = 0; i < k && i < g_log.n; i++)
        if (g_log.ev[i].type == EV_DIRSYNC)
            last = i + 1;
    return last;
}

static bool cc_is_ns(size_t i)
{
    int t = g_log.ev[i].type;
    return t == EV_UNLINK || t == EV_CREATE || t == EV_RENAME;
}

/* An OS crash at k with directory operations from ns_limit on lost: all
 * data kept, every unsynced write lost, and (directory complete) each
 * unsynced write lost alone. */
static void cc_os_crashes_ns(cc_ctx *x, size_t k, size_t ns_limit)
{
    cc_crash c = cc_point(k, true, "OS crash");
    c.ns_limit = ns_limit;
    cc_try(x, &c);
    c.lose_all = true;
    c.how = "OS crash, every unsynced write lost";
    cc_try(x, &c);
    if (ns_limit != SIZE_MAX)
        return;
    c.lose_all = false;
    for (size_t j = 0; j < k; j++) {
        if (g_log.ev[j].type != EV_WRITE || cc_synced(j, k))
            continue;
        c.drop = j;
        c.how = "OS crash, an unsynced write lost";
        cc_try(x, &c);
    }
}

/* OS crashes at k: for every point since the last directory fsync up to
 * which its operations persisted. */
static void cc_os_crashes(cc_ctx *x, size_t k)
{
    cc_os_crashes_ns(x, k, SIZE_MAX);
    for (size_t i = cc_last_dirsync(k); i < k; i++)
        if (cc_is_ns(i))
            cc_os_crashes_ns(x, k, i);
}

START_TEST(test_crash_at_every_point_of_a_compaction_keeps_old_or_new)
{
    cc_record();
    cc_ctx x;
    memset(&x, 0, sizeof x);
    x.dir = tu_join(g_dir, "crashed");
    cc_names(x.dir, x.names);
    for (size_t k = 0; k <= g_log.n; k++) {
        cc_process_crashes(&x, k);
        cc_os_crashes(&x, k);
    }
    int counts[EV_DIRSYNC + 1] = {0};
    for (size_t i = 0; i < g_log.n; i++)
        counts[g_log.ev[i].type]++;
    printf("compaction crash points: %zu logged calls (%d writes, %d syncs, "
           "%d cuts, %d unlinks, %d creates, %d renames, %d directory "
           "fsyncs), %u crash points checked\n", g_log.n, counts[EV_WRITE],
           counts[EV_SYNC], counts[EV_TRUNC], counts[EV_UNLINK],
           counts[EV_CREATE], counts[EV_RENAME], counts[EV_DIRSYNC],
           x.checked);
    fflush(stdout);
    ck_assert_int_eq(counts[EV_RENAME], 1);
    ck_assert_uint_gt(x.checked, 0);
    for (int f = 0; f < F_N; f++)
        tu_img_free(&x.im[f]);
    cc_free_names(x.names);
    free(x.dir);
}
END_TEST

static void setup(void)
{
    for (size_t i = 0; i < sizeof g_pool; i++)
        g_pool[i] = (uint8_t)(((i * 2654435761u) >> 11) | 1u);
    for (int k = 0; k < CC_NKEYS; k++)
        snprintf(g_key[k], sizeof g_key[k], "k%02d", k);
    memset(&g_run, 0, sizeof g_run);
    g_dir = tu_tmpdir();
}

static void teardown(void)
{
    g_log.on = false;
    cc_log_free();
    for (int f = 0; f < F_N; f++)
        free(g_run.img0[f]);
    tu_rmtree(g_dir);
    free(g_dir);
}

int main(void)
{
    /* The shared index file is written through a mapping, which this log
     * cannot see: compaction's crash points are those of its files. */
    setenv("SRD_SHARED_INDEX", "0", 1);
    Suite *s = suite_create("crashpoints_compact");
    TCase *tc = tcase_create("replay");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_crash_at_every_point_of_a_compaction_keeps_old_or_new);
    suite_add_tcase(s, tc);
    return tu_main(s);
}
