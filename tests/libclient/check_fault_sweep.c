/* SPDX-License-Identifier: MIT */
/*
 * check_fault_sweep.c -- a fault at every system call of a realistic
 * workload (puts, batch, deletes, streams, compaction, close, a torn tail
 * and reopen). The writer's calls fail through srdi_writer_set_sys; open,
 * mmap, rename, fsync and compaction's pwrite, which are not behind that
 * hook, are intercepted with the linker's --wrap (tests/CMakeLists.txt).
 * For every call N and every way it can fail, a fresh store runs the whole
 * workload with call N failing; the failure must be reported, transient
 * ones (EINTR, short counts) must be absorbed, an fdatasync failure must
 * fail the handle until it is reopened, and after a reopen every
 * acknowledged write is there and nothing unacknowledged is half-there.
 * A read error at every read of an opening writer (pread, wrapped too)
 * must fail the open or be absorbed, and never cut an entry.
 * The writer's pwrite writes only the synced-tail sidecar (writer.h): its
 * failures are absorbed by design (the sidecar saves recovery work, no
 * write depends on it), so the step must succeed and the reopen be clean.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "testutil.h"
#include "writer.h"

/* ------------------------------------------------------------------------ */
/* Fault injection                                                           */
/* ------------------------------------------------------------------------ */

/* Every call the sweep can fail. SW_CPWRITE is pwrite outside the writer
 * (compaction's copy); the writer's own calls go through srdi_sys, where
 * SW_PWRITE is the sidecar's record. */
enum { SW_PWRITEV, SW_PWRITE, SW_FDATASYNC, SW_FTRUNCATE, SW_OPEN, SW_MMAP,
       SW_RENAME, SW_FSYNC, SW_CPWRITE, SW_NFN };
static const char *const sw_fn_names[SW_NFN] = {
    "pwritev", "pwrite (sidecar)", "fdatasync", "ftruncate", "open", "mmap",
    "rename", "fsync", "pwrite (compaction)"};

/* How the chosen call fails. */
enum {
    K_EIO,     /* -1/EIO, nothing written */
    K_ENOSPC,  /* -1/ENOSPC, nothing written */
    K_ENOMEM,  /* mmap: -1/ENOMEM */
    K_EINTR,   /* -1/EINTR once: must be retried, the workload succeeds */
    K_SHORT,   /* half the bytes written and counted: must be resumed */
    K_CUTFAIL, /* half the bytes written, -1/EIO, and the ftruncate that
                  should undo them fails too */
    K_FULL,    /* the disk is full: this write and every later one of the
                  same step get ENOSPC (cutting still works) */
    K_NKIND
};
static const char *const sw_kind_names[K_NKIND] = {
    "EIO", "ENOSPC", "ENOMEM", "EINTR", "short count", "EIO + failed cut",
    "ENOSPC until the step ends"};

#define SW_MAX_CALLS 512

static struct {
    bool counting;      /* workload running: calls are counted */
    unsigned calls;     /* counted calls so far */
    unsigned at;        /* the call to fail (1-based), 0: none */
    int kind;           /* K_* */
    bool tripped;       /* the fault happened */
    int trip_fn;        /* SW_* of the failed call */
    int step;           /* workload step running */
    int trip_step;      /* step during which the fault happened */
    bool fail_next_cut; /* K_CUTFAIL: the next ftruncate fails */
    bool full;          /* K_FULL tripped: writes fail until the step ends */
    int fn_of[SW_MAX_CALLS]; /* SW_* of each call (dry run) */
} g_sw;

/* What a counted call does: 0 = the real call, -1 = write half and return
 * that count, else the errno to fail with. */
static int sw_enter(int fn)
{
    if (!g_sw.counting)
        return 0;
    unsigned c = ++g_sw.calls;
    if (c <= SW_MAX_CALLS)
        g_sw.fn_of[c - 1] = fn;
    if (fn == SW_FTRUNCATE && g_sw.fail_next_cut) {
        g_sw.fail_next_cut = false;
        return EIO;
    }
    bool write = fn == SW_PWRITEV || fn == SW_PWRITE || fn == SW_CPWRITE;
    if (write && g_sw.full)
        return ENOSPC;
    if (c != g_sw.at)
        return 0;
    g_sw.tripped = true;
    g_sw.trip_fn = fn;
    g_sw.trip_step = g_sw.step;
    static const int err_of[K_NKIND] = {EIO,   ENOSPC, ENOMEM, EINTR,
                                        -1,    EIO,    ENOSPC};
    g_sw.fail_next_cut = g_sw.kind == K_CUTFAIL;
    g_sw.full = g_sw.kind == K_FULL;
    return err_of[g_sw.kind];
}

/* Writes the first len bytes of iov at off (really). */
static ssize_t sw_write_prefix(int fd, const struct iovec *iov, int n,
                               off_t off, size_t len)
{
    struct iovec part[64];
    int k = 0;
    for (int i = 0; i < n && len > 0 && k < 64; i++) {
        size_t take = iov[i].iov_len < len ? iov[i].iov_len : len;
        part[k].iov_base = iov[i].iov_base;
        part[k++].iov_len = take;
        len -= take;
    }
    return k ? pwritev(fd, part, k, off) : 0;
}

static ssize_t sw_write(int fn, int fd, const struct iovec *iov, int n,
                        off_t off)
{
    int act = sw_enter(fn);
    if (act == 0)
        return pwritev(fd, iov, n, off);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    if (act == -1 && total >= 2) /* K_SHORT */
        return sw_write_prefix(fd, iov, n, off, total / 2);
    if (act == -1)
        return pwritev(fd, iov, n, off);
    if (g_sw.kind == K_CUTFAIL)
        sw_write_prefix(fd, iov, n, off, total / 2);
    errno = act;
    return -1;
}

static ssize_t sw_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    return sw_write(SW_PWRITEV, fd, iov, n, off);
}

static ssize_t sw_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    struct iovec iov = {(void *)(uintptr_t)buf, n};
    return sw_write(SW_PWRITE, fd, &iov, 1, off);
}

/* A call that either works or fails with the errno sw_enter chose. */
#define SW_CALL(fn, call)            \
    do {                             \
        int act_ = sw_enter(fn);     \
        if (act_ > 0) {              \
            errno = act_;            \
            return -1;               \
        }                            \
        return call;                 \
    } while (0)

static int sw_fdatasync(int fd)
{
    SW_CALL(SW_FDATASYNC, fdatasync(fd));
}

static int sw_ftruncate(int fd, off_t len)
{
    SW_CALL(SW_FTRUNCATE, ftruncate(fd, len));
}

static const srdi_sys sw_sys = {sw_pwritev, sw_pwrite, sw_fdatasync,
                                sw_ftruncate};

/* The calls outside srdi_sys, redirected here by -Wl,--wrap=NAME. */
int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd,
                  off_t off);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
                  off_t off);
int __real_rename(const char *from, const char *to);
int __wrap_rename(const char *from, const char *to);
int __real_fsync(int fd);
int __wrap_fsync(int fd);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off);

int __wrap_open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    SW_CALL(SW_OPEN, __real_open(path, flags, mode));
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
                  off_t off)
{
    int act = sw_enter(SW_MMAP);
    if (act > 0) {
        errno = act;
        return MAP_FAILED;
    }
    return __real_mmap(addr, len, prot, flags, fd, off);
}

int __wrap_rename(const char *from, const char *to)
{
    SW_CALL(SW_RENAME, __real_rename(from, to));
}

/* Set by a test: the next fsync fails with this errno (0: none). */
static int g_fsync_fail;

int __wrap_fsync(int fd)
{
    if (g_fsync_fail) {
        errno = g_fsync_fail;
        g_fsync_fail = 0;
        return -1;
    }
    SW_CALL(SW_FSYNC, __real_fsync(fd));
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    struct iovec iov = {(void *)(uintptr_t)buf, n};
    return sw_write(SW_CPWRITE, fd, &iov, 1, off);
}

/* pread, for the read-error sweep only (its own count, so the write
 * sweeps above number their calls as before): the at-th pread while
 * armed fails with EIO. */
typedef struct rd_fault {
    bool armed;
    unsigned calls, at;
    bool tripped;
} rd_fault;
static rd_fault g_rd;

ssize_t __real_pread(int fd, void *buf, size_t n, off_t off);
ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off);

ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off)
{
    if (g_rd.armed && ++g_rd.calls == g_rd.at) {
        g_rd.tripped = true;
        errno = EIO;
        return -1;
    }
    return __real_pread(fd, buf, n, off);
}

/* The ways call fn can fail (K_* list); returns how many. */
static int sw_kinds_for(int fn, int out[K_NKIND])
{
    static const int writes[] = {K_EIO,   K_ENOSPC,  K_EINTR,
                                 K_SHORT, K_CUTFAIL, K_FULL};
    static const int cpwrite[] = {K_EIO, K_ENOSPC, K_EINTR, K_SHORT, K_FULL};
    /* the sidecar write is never cut: no K_CUTFAIL */
    static const int sidecar[] = {K_EIO, K_ENOSPC, K_EINTR, K_SHORT, K_FULL};
    static const int syncs[] = {K_EIO, K_ENOSPC, K_EINTR};
    /* EINTR on the cut at open has its own test (below). */
    static const int trunc[] = {K_EIO};
    static const int files[] = {K_EIO, K_ENOSPC};
    static const int maps[] = {K_ENOMEM};
    static const int once[] = {K_EIO};
    const int *k;
    int n;
#define SW_PICK(a) (k = (a), n = (int)(sizeof(a) / sizeof(a)[0]))
    switch (fn) {
    case SW_PWRITEV: SW_PICK(writes); break;
    case SW_PWRITE: SW_PICK(sidecar); break;
    case SW_CPWRITE: SW_PICK(cpwrite); break;
    case SW_FDATASYNC: SW_PICK(syncs); break;
    case SW_FTRUNCATE: SW_PICK(trunc); break;
    case SW_OPEN:
    case SW_RENAME: SW_PICK(files); break;
    case SW_MMAP: SW_PICK(maps); break;
    default: SW_PICK(once); break;
    }
#undef SW_PICK
    memcpy(out, k, (size_t)n * sizeof *k);
    return n;
}

/* Faults the writer must absorb: EINTR and short counts, and any
 * failure of the sidecar's record. */
static bool sw_transient(int kind)
{
    return kind == K_EINTR || kind == K_SHORT || g_sw.trip_fn == SW_PWRITE;
}

/* ------------------------------------------------------------------------ */
/* The workload                                                              */
/* ------------------------------------------------------------------------ */

#define MIB (1u << 20)
#define S1_LEN (MIB + 300000) /* crosses the writer's 1 MiB stream buffer */
#define S2_LEN 70000

static uint8_t g_bytes[2 * MIB];

static void sw_fill_bytes(void)
{
    for (size_t i = 0; i < sizeof g_bytes; i++)
        g_bytes[i] = (uint8_t)((i * 167u + (i >> 11) + 5u) & 0xFF);
}

/* Value number i of length len: a window of g_bytes (first byte != 0). */
static const uint8_t *sw_val(unsigned i, size_t len)
{
    size_t off = ((size_t)i * 7919u) % (sizeof g_bytes - len - 1);
    return g_bytes + off + (g_bytes[off] == 0);
}

typedef struct sw_ctx {
    char *path;
    srd_sync_mode mode;
    srd_store *st;
} sw_ctx;

/* A key and its new value (val NULL: deleted). */
typedef struct sw_eff {
    const char *key;
    unsigned vi;  /* sw_val number */
    size_t len;   /* 0: deleted */
} sw_eff;

enum { ST_OPEN, ST_CLOSE, ST_WRITE, ST_COMPACT, ST_TEAR };

typedef struct sw_step sw_step;
struct sw_step {
    const char *name;
    int type;
    srd_err (*run)(sw_ctx *c, const sw_step *s);
    sw_eff eff[8]; /* what the step changes when it succeeds */
    int neff;
};

static srd_err run_open(sw_ctx *c, const sw_step *s)
{
    (void)s;
    srd_options o;
    srd_options_init(&o);
    o.sync = c->mode;
    return srd_open(c->path, &o, &c->st);
}

static srd_err run_close(sw_ctx *c, const sw_step *s)
{
    (void)s;
    srd_err rc = srd_close(c->st);
    c->st = NULL;
    return rc;
}

/* One put (one effect) or a batch of them. */
static srd_err run_put(sw_ctx *c, const sw_step *s)
{
    srd_val k[8], v[8];
    for (int i = 0; i < s->neff; i++) {
        k[i] = tu_s(s->eff[i].key);
        v[i] = (srd_val){sw_val(s->eff[i].vi, s->eff[i].len), s->eff[i].len};
    }
    if (s->neff == 1)
        return srd_put(c->st, k[0], v[0]);
    return srd_put_batch(c->st, k, v, (size_t)s->neff);
}

/* A delete (one effect) or a delete batch that also names a key that
 * was never there. */
static srd_err run_delete(sw_ctx *c, const sw_step *s)
{
    srd_val k[9];
    for (int i = 0; i < s->neff; i++)
        k[i] = tu_s(s->eff[i].key);
    if (s->neff == 1)
        return srd_delete(c->st, k[0], NULL);
    k[s->neff] = tu_s("missing");
    return srd_delete_batch(c->st, k, (size_t)s->neff + 1, NULL);
}

typedef struct sw_src {
    const uint8_t *p;
    size_t len, pos;
} sw_src;

static int sw_read(void *ctx, void *buf, size_t cap, size_t *n)
{
    sw_src *s = ctx;
    size_t k = s->len - s->pos;
    k = k < cap ? k : cap;
    k = k < 200000 ? k : 200000;
    memcpy(buf, s->p + s->pos, k);
    s->pos += k;
    *n = k;
    return 0;
}

static srd_err run_pull_stream(sw_ctx *c, const sw_step *s)
{
    const sw_eff *e = &s->eff[0];
    sw_src src = {sw_val(e->vi, e->len), e->len, 0};
    return srd_put_stream(c->st, tu_s(e->key), sw_read, &src);
}

static srd_err run_push_stream(sw_ctx *c, const sw_step *s)
{
    const sw_eff *e = &s->eff[0];
    const uint8_t *p = sw_val(e->vi, e->len);
    srd_stream *st = NULL;
    srd_err rc = srd_stream_begin(c->st, tu_s(e->key), &st);
    for (size_t off = 0; rc == SRD_OK && off < e->len; off += 30000) {
        size_t k = e->len - off < 30000 ? e->len - off : 30000;
        rc = srd_stream_write(st, p + off, k);
    }
    if (rc == SRD_OK)
        return srd_stream_commit(st);
    srd_stream_abort(st);
    return rc;
}

static srd_err run_compact(sw_ctx *c, const sw_step *s)
{
    (void)s;
    return srd_compact(c->st, NULL);
}

/* A crash left garbage past the tail: the next writer open cuts it. An
 * empty store is left alone: garbage alone is not a store, and srd_open
 * refuses it without SRD_OPEN_REPAIR (by design: see check_recovery). */
#define SW_TEAR_BYTES 100

static srd_err run_tear(sw_ctx *c, const sw_step *s)
{
    (void)s;
    if (tu_file_size(c->path) <= 0)
        return SRD_OK;
    int fd = open(c->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, g_bytes + 1000, SW_TEAR_BYTES), SW_TEAR_BYTES);
    close(fd);
    return SRD_OK;
}

static const sw_step g_steps[] = {
    {"open (create)", ST_OPEN, run_open, {{0}}, 0},
    {"put a", ST_WRITE, run_put, {{"a", 1, 100}}, 1},
    {"put big", ST_WRITE, run_put, {{"big", 2, 20000}}, 1},
    {"batch of 6", ST_WRITE, run_put,
     {{"b1", 10, 50}, {"b2", 11, 750}, {"b3", 12, 1450}, {"b4", 13, 5000},
      {"b5", 14, 90}, {"a", 3, 64}}, 6},
    {"delete big", ST_WRITE, run_delete, {{"big", 0, 0}}, 1},
    {"delete batch", ST_WRITE, run_delete, {{"b1", 0, 0}, {"b2", 0, 0}}, 2},
    {"pull stream", ST_WRITE, run_pull_stream, {{"s1", 4, S1_LEN}}, 1},
    {"push stream", ST_WRITE, run_push_stream, {{"s2", 5, S2_LEN}}, 1},
    {"compact", ST_COMPACT, run_compact, {{0}}, 0},
    {"put c", ST_WRITE, run_put, {{"c", 6, 300}}, 1},
    {"close", ST_CLOSE, run_close, {{0}}, 0},
    {"torn tail", ST_TEAR, run_tear, {{0}}, 0},
    {"reopen", ST_OPEN, run_open, {{0}}, 0},
    {"batch of 3", ST_WRITE, run_put,
     {{"d1", 20, 10}, {"d2", 21, 9000}, {"d3", 22, 333}}, 3},
    {"overwrite a", ST_WRITE, run_put, {{"a", 7, 5000}}, 1},
    {"close", ST_CLOSE, run_close, {{0}}, 0},
};
#define SW_NSTEPS ((int)(sizeof g_steps / sizeof g_steps[0]))

/* ------------------------------------------------------------------------ */
/* The model: what the store must hold                                       */
/* ------------------------------------------------------------------------ */

static const char *const g_keys[] = {"a",  "big", "b1", "b2", "b3", "b4",
                                     "b5", "s1",  "s2", "c",  "d1", "d2",
                                     "d3", "missing"};
#define SW_NKEYS ((int)(sizeof g_keys / sizeof g_keys[0]))

/* One possible state: value number and length per key (len 0: absent). */
typedef struct sw_state {
    unsigned vi[SW_NKEYS];
    size_t len[SW_NKEYS];
} sw_state;

/* State without (a) and with (b) the one write whose fdatasync failed. */
typedef struct sw_model {
    sw_state a, b;
    bool maybe;
} sw_model;

static int sw_key_index(const char *key)
{
    for (int i = 0; i < SW_NKEYS; i++)
        if (strcmp(g_keys[i], key) == 0)
            return i;
    ck_abort_msg("unknown key %s", key);
    return -1;
}

static void sw_apply(sw_state *s, const sw_step *step)
{
    for (int i = 0; i < step->neff; i++) {
        int k = sw_key_index(step->eff[i].key);
        s->vi[k] = step->eff[i].vi;
        s->len[k] = step->eff[i].len;
    }
}

/* Whether step changes nothing in s. */
static bool sw_no_op(const sw_state *s, const sw_step *step)
{
    sw_state after = *s;
    sw_apply(&after, step);
    return memcmp(&after, s, sizeof after) == 0;
}

/* Whether st holds exactly state s. */
static bool sw_holds(srd_store *st, const sw_state *s)
{
    for (int k = 0; k < SW_NKEYS; k++) {
        srd_view v;
        srd_err rc = srd_get(st, tu_s(g_keys[k]), &v);
        tu_require(rc == SRD_OK || rc == SRD_ENOTFOUND, "get %s: %s",
                   g_keys[k], srd_errname(rc));
        bool same = s->len[k] == 0
                        ? rc == SRD_ENOTFOUND
                        : rc == SRD_OK && v.len == s->len[k] &&
                              memcmp(v.data, sw_val(s->vi[k], v.len),
                                     v.len) == 0;
        if (rc == SRD_OK)
            srd_view_release(&v);
        if (!same)
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* One trial                                                                 */
/* ------------------------------------------------------------------------ */

static char *g_dir;

typedef struct sw_trial {
    sw_ctx c;
    sw_model m;
    bool failed_handle; /* the writer refuses writes until a reopen */
    unsigned efailed_compactions; /* compactions that ran on a failed handle */
    char what[200];     /* for messages */
} sw_trial;

static bool sw_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void sw_no_stale_compact_file(sw_trial *t)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.compact", t->c.path);
    tu_require(!sw_exists(tmp), "%s: %s left behind", t->what, tmp);
}

/* An open that failed must have been the fault; the retry must work. */
static void sw_judge_open(sw_trial *t, srd_err rc, bool here)
{
    if (rc == SRD_OK)
        return;
    tu_require(here && !sw_transient(g_sw.kind), "%s: open failed with %s "
               "(not caused by a fault it had to report)", t->what,
               srd_errname(rc));
    srd_err again = run_open(&t->c, NULL);
    tu_require(again == SRD_OK, "%s: open after the fault: %s", t->what,
               srd_errname(again));
}

/* A write or compaction that hit the fault. */
static void sw_judge_failure(sw_trial *t, const sw_step *s, srd_err rc,
                             long long size_before)
{
    tu_require(rc != SRD_OK, "%s: the fault was not reported", t->what);
    if (g_sw.trip_fn == SW_FDATASYNC) {
        /* invariant 3 of writer.c: the handle is failed; the write may be
         * in the file (whole) or not */
        t->failed_handle = true;
        t->m.b = t->m.a;
        sw_apply(&t->m.b, s);
        t->m.maybe = true;
        return;
    }
    if (g_sw.kind == K_CUTFAIL) {
        t->failed_handle = true;
        return;
    }
    if (s->type == ST_COMPACT)
        return; /* it may fail after its commit point (directory fsync) */
    long long now = tu_file_size(t->c.path);
    tu_require(now == size_before, "%s: the failed %s left %lld bytes, "
               "was %lld", t->what, s->name, now, size_before);
}

static void sw_judge_write(sw_trial *t, const sw_step *s, srd_err rc,
                           bool here, long long size_before)
{
    if (s->type == ST_COMPACT)
        sw_no_stale_compact_file(t);
    if (here && !sw_transient(g_sw.kind)) {
        sw_judge_failure(t, s, rc, size_before);
        return;
    }
    if (t->failed_handle && s->type == ST_COMPACT && rc == SRD_OK) {
        t->efailed_compactions++; /* see docs/RELIABILITY.md */
        return;
    }
    if (t->failed_handle && rc == SRD_OK && sw_no_op(&t->m.a, s))
        return; /* deleting absent keys writes nothing */
    if (t->failed_handle) {
        tu_require(rc == SRD_EFAILED, "%s: %s on a failed handle returned "
                   "%s, expected SRD_EFAILED", t->what, s->name,
                   srd_errname(rc));
        return;
    }
    tu_require(rc == SRD_OK, "%s: %s failed: %s (%s)", t->what, s->name,
               srd_errname(rc), srd_strerror(rc));
    sw_apply(&t->m.a, s);
    sw_apply(&t->m.b, s);
}

static void sw_run_step(sw_trial *t, int i)
{
    const sw_step *s = &g_steps[i];
    g_sw.step = i;
    bool before = g_sw.tripped;
    bool counting = g_sw.counting;
    if (s->type == ST_TEAR)
        g_sw.counting = false; /* the test's own writes */
    long long size_before = tu_file_size(t->c.path);
    srd_err rc = s->run(&t->c, s);
    g_sw.counting = counting;
    g_sw.full = false; /* the step's writer cut what it wrote: space again */
    bool here = g_sw.tripped && !before;
    tu_require(!g_sw.fail_next_cut, "%s: %s did not cut after the failed "
               "write", t->what, s->name);
    if (here && sw_transient(g_sw.kind))
        tu_require(rc == SRD_OK, "%s: %s returned %s after a transient "
                   "fault", t->what, s->name, srd_errname(rc));
    switch (s->type) {
    case ST_OPEN:
        sw_judge_open(t, rc, here);
        t->failed_handle = false;
        break;
    case ST_CLOSE:
        tu_require(rc == SRD_OK || here, "%s: close: %s", t->what,
                   srd_errname(rc));
        tu_require(rc != SRD_OK || !here || sw_transient(g_sw.kind),
                   "%s: close hid the fault", t->what);
        break;
    case ST_TEAR:
        break;
    default:
        sw_judge_write(t, s, rc, here, size_before);
    }
}

/* After the workload: the store reopens clean and holds state a or b. */
static void sw_final_check(sw_trial *t)
{
    srd_store *st = NULL;
    srd_err rc = tu_open(t->c.path, SRD_OPEN_CREATE, &st);
    tu_require(rc == SRD_OK, "%s: final reopen: %s", t->what,
               srd_errname(rc));
    srd_verify_report r;
    rc = srd_verify(st, &r, NULL, NULL);
    tu_require(rc == SRD_OK, "%s: srd_verify: %s", t->what, srd_errname(rc));
    uint64_t tail = 0;
    ck_srd(srd_tail(st, &tail));
    tu_require((long long)tail == tu_file_size(t->c.path),
               "%s: tail %llu, file %lld", t->what, (unsigned long long)tail,
               tu_file_size(t->c.path));
    bool a = sw_holds(st, &t->m.a);
    bool b = t->m.maybe && sw_holds(st, &t->m.b);
    tu_require(a || b, "%s: after reopen the store holds neither every "
               "acknowledged write nor that plus the unsynced one", t->what);
    sw_no_stale_compact_file(t);
    ck_srd(srd_put(st, tu_s("after"), tu_s("the sweep")));
    ck_srd(srd_close(st));
}

/* Runs the workload with call `at` failing as `kind` (at 0: no fault). */
static void sw_run_trial(srd_sync_mode mode, unsigned at, int kind,
                         unsigned *efailed_compactions)
{
    sw_trial t;
    memset(&t, 0, sizeof t);
    /* a directory per trial: a .cut file an earlier trial's reopen saved
     * would change this one's calls (cuts never overwrite each other) */
    char *sub = tu_join(g_dir, "trial");
    tu_rmtree(sub);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    t.c.path = tu_join(sub, "sweep.srd");
    t.c.mode = mode;
    snprintf(t.what, sizeof t.what, "call %u (%s) fails with %s", at,
             at ? sw_fn_names[g_sw.fn_of[at - 1]] : "-",
             at ? sw_kind_names[kind] : "-");
    g_sw.calls = 0;
    g_sw.at = at;
    g_sw.kind = kind;
    g_sw.tripped = false;
    g_sw.fail_next_cut = false;
    g_sw.full = false;
    g_sw.counting = true;
    for (int i = 0; i < SW_NSTEPS; i++)
        sw_run_step(&t, i);
    g_sw.counting = false;
    tu_require(at == 0 || g_sw.tripped, "%s: the fault was never reached",
               t.what);
    sw_final_check(&t);
    *efailed_compactions += t.efailed_compactions;
    tu_rmtree(sub);
    free(sub);
    free(t.c.path);
}

/* ------------------------------------------------------------------------ */
/* The sweeps                                                                */
/* ------------------------------------------------------------------------ */

static void setup(void)
{
    sw_fill_bytes();
    g_dir = tu_tmpdir();
    memset(&g_sw, 0, sizeof g_sw);
    srdi_writer_set_sys(&sw_sys);
}

static void teardown(void)
{
    srdi_writer_set_sys(NULL);
    tu_rmtree(g_dir);
    free(g_dir);
}

/* The dry run must have passed every intercepted call, or a hook is dead
 * and the sweep would prove nothing about it. */
static void sw_expect_coverage(unsigned n, srd_sync_mode mode)
{
    bool seen[SW_NFN] = {false};
    for (unsigned i = 0; i < n; i++)
        seen[g_sw.fn_of[i]] = true;
    for (int fn = 0; fn < SW_NFN; fn++) {
        if (fn == SW_FDATASYNC && mode == SRD_SYNC_NEVER)
            continue;
        ck_assert_msg(seen[fn], "the workload made no %s call through the "
                      "hooks", sw_fn_names[fn]);
    }
}

static void sw_sweep(srd_sync_mode mode, const char *label)
{
    unsigned efc = 0;
    sw_run_trial(mode, 0, K_EIO, &efc); /* dry run: counts the calls */
    unsigned n = g_sw.calls;
    ck_assert_uint_le(n, SW_MAX_CALLS);
    sw_expect_coverage(n, mode);
    int fn_of[SW_MAX_CALLS];
    memcpy(fn_of, g_sw.fn_of, sizeof fn_of);
    unsigned points = 0;
    for (unsigned at = 1; at <= n; at++) {
        int kinds[K_NKIND];
        int nk = sw_kinds_for(fn_of[at - 1], kinds);
        for (int i = 0; i < nk; i++) {
            memcpy(g_sw.fn_of, fn_of, sizeof fn_of);
            sw_run_trial(mode, at, kinds[i], &efc);
            points++;
        }
    }
    printf("fault sweep (%s): %u system calls in the workload, %u fault "
           "points swept, %u compactions succeeded on a failed handle\n",
           label, n, points, efc);
    fflush(stdout);
}

START_TEST(test_fault_at_every_call_sync_always_loses_nothing_acked)
{
    sw_sweep(SRD_SYNC_ALWAYS, "sync always");
}
END_TEST

START_TEST(test_fault_at_every_call_sync_never_loses_nothing_acked)
{
    sw_sweep(SRD_SYNC_NEVER, "sync never");
}
END_TEST

/* srd: an EINTR while the opening writer cuts a torn tail is retried, as
 * every other call of the writer is, instead of failing srd_open. */
START_TEST(test_eintr_while_cutting_a_torn_tail_is_retried)
{
    sw_ctx c = {tu_join(g_dir, "eintr.srd"), SRD_SYNC_ALWAYS, NULL};
    ck_srd(run_open(&c, NULL));
    ck_srd(srd_put(c.st, tu_s("k"), tu_s("kept")));
    ck_srd(run_close(&c, NULL));
    ck_srd(run_tear(&c, NULL));
    size_t len = 0;
    uint8_t *torn = tu_read_file(c.path, &len);
    ck_assert_ptr_nonnull(torn);
    /* a dry run finds which call of the open is the cut */
    g_sw.counting = true;
    ck_srd(run_open(&c, NULL));
    g_sw.counting = false;
    ck_srd(run_close(&c, NULL));
    unsigned cut = 0;
    for (unsigned i = g_sw.calls; i > 0; i--)
        if (g_sw.fn_of[i - 1] == SW_FTRUNCATE)
            cut = i;
    ck_assert_msg(cut > 0, "opening a torn store made no ftruncate");
    ck_assert_int_eq(tu_write_file(c.path, torn, len), 0);
    free(torn);
    /* the dry run saved the cut: without its .cut file the real open
     * makes the same calls (it never overwrites an earlier one) */
    char *saved = NULL;
    ck_assert_int_gt(asprintf(&saved, "%s.cut-%llu", c.path,
                              (unsigned long long)tu_file_size(c.path) -
                                  (unsigned long long)SW_TEAR_BYTES), 0);
    ck_assert_int_eq(unlink(saved), 0);
    free(saved);
    g_sw.calls = 0;
    g_sw.at = cut;
    g_sw.kind = K_EINTR;
    g_sw.counting = true;
    srd_err rc = run_open(&c, NULL);
    g_sw.counting = false;
    ck_assert(g_sw.tripped && g_sw.trip_fn == SW_FTRUNCATE);
    ck_assert_msg(rc == SRD_OK, "srd_open failed with %s (%s) after one "
                  "EINTR from ftruncate", srd_errname(rc), srd_strerror(rc));
    char buf[16];
    size_t n = 0;
    ck_srd(srd_get_copy(c.st, tu_s("k"), buf, sizeof buf, &n));
    ck_srd(run_close(&c, NULL));
    free(c.path);
}
END_TEST

/* The store the read-error sweep opens: small entries, a batch, a value
 * over 512 KiB (CRCed in its own reads when every entry is checked), and
 * a last value over 2 KiB (CRCed through crcrange.c by the tail search),
 * then 1500 torn bytes with zero runs the tail search must skip. Returns
 * its entry count. */
static uint64_t rd_make_store(const char *path)
{
    srd_store *st;
    ck_srd(tu_open(path, SRD_OPEN_CREATE, &st));
    for (unsigned i = 0; i < 200; i++) {
        char k[16];
        snprintf(k, sizeof k, "r%u", i);
        ck_srd(srd_put(st, tu_s(k), (srd_val){sw_val(i, 100), 100}));
    }
    srd_val keys[10], vals[10];
    static char kb[10][8];
    for (unsigned i = 0; i < 10; i++) {
        snprintf(kb[i], sizeof kb[i], "b%u", i);
        keys[i] = tu_s(kb[i]);
        vals[i] = (srd_val){sw_val(i, 64), 64};
    }
    ck_srd(srd_put_batch(st, keys, vals, 10));
    ck_srd(srd_put(st, tu_s("big"), (srd_val){sw_val(1, 600000), 600000}));
    ck_srd(srd_put(st, tu_s("z"), tu_s("small")));
    ck_srd(srd_put(st, tu_s("last"), (srd_val){sw_val(2, 4000), 4000}));
    uint64_t count;
    ck_srd(srd_count(st, &count));
    ck_srd(srd_close(st));
    uint8_t torn[1500];
    for (size_t i = 0; i < sizeof torn; i++)
        torn[i] = i % 37 < 12 ? 0 : (uint8_t)(i * 7 + 1);
    int fd = open(path, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, torn, sizeof torn), (ssize_t)sizeof torn);
    close(fd);
    return count;
}

/* Open path as the writer with the at-th pread failing (0: none); the
 * preads made go to *calls. */
static srd_err rd_open_failing(const char *path, unsigned at,
                               unsigned *calls, srd_store **st)
{
    g_rd = (rd_fault){.armed = true, .at = at};
    srd_err rc = tu_open(path, 0, st);
    g_rd.armed = false;
    *calls = g_rd.calls;
    return rc;
}

/* A read error at any read of an opening writer. The open fails with it,
 * or (a read of the sidecar, which only saves work) goes on checking
 * every entry; either way nothing is cut, and the next open has every
 * entry. Before, an unreadable trailer looked like a shorter file: the
 * tail search settled for an older tail and the writer cut acknowledged
 * entries. */
static void rd_sweep(bool keep_sidecar)
{
    char *pristine = tu_join(g_dir, "pristine.srd");
    char *path = tu_join(g_dir, "reads.srd");
    char *side = tu_join(g_dir, "pristine.srd.synced");
    char *work_side = tu_join(g_dir, "reads.srd.synced");
    uint64_t count = rd_make_store(pristine);
    size_t len = 0, side_len = 0;
    uint8_t *bytes = tu_read_file(pristine, &len);
    uint8_t *side_bytes = keep_sidecar ? tu_read_file(side, &side_len) : NULL;
    ck_assert_ptr_nonnull(bytes);
    ck_assert(!keep_sidecar || side_bytes);
    unsigned n = 0, failed = 0;
    for (unsigned at = 0; at == 0 || at <= n; at++) {
        ck_assert_int_eq(tu_write_file(path, bytes, len), 0);
        unlink(work_side);
        if (keep_sidecar)
            ck_assert_int_eq(tu_write_file(work_side, side_bytes, side_len),
                             0);
        srd_store *st = NULL;
        unsigned calls;
        srd_err rc = rd_open_failing(path, at, &calls, &st);
        if (at == 0) {
            n = calls; /* the dry run counts the reads */
            ck_srd(rc);
            ck_srd(srd_close(st));
            continue;
        }
        ck_assert(g_rd.tripped);
        if (rc != SRD_OK) {
            failed++;
            ck_assert_msg(rc == SRD_EIO,
                          "read %u of %u: open failed with %s, not the EIO",
                          at, n, srd_errname(rc));
            ck_assert_int_eq(tu_file_size(path), (long long)len);
        } else {
            ck_srd(srd_close(st));
        }
        ck_srd(tu_open(path, SRD_OPEN_READONLY, &st));
        uint64_t c;
        ck_srd(srd_count(st, &c));
        ck_assert_msg(c == count, "read %u of %u failed: %llu entries "
                      "left of %llu", at, n, (unsigned long long)c,
                      (unsigned long long)count);
        char buf[8];
        size_t got = 0;
        ck_srd(srd_get_copy(st, tu_s("z"), buf, sizeof buf, &got));
        ck_srd(srd_close(st));
    }
    ck_assert_uint_gt(failed, 0);
    printf("read errors (%s sidecar): %u reads of an opening writer, "
           "%u made it fail, none cut an entry\n",
           keep_sidecar ? "with its" : "without a", n, failed);
    fflush(stdout);
    free(bytes);
    free(side_bytes);
    free(pristine);
    free(path);
    free(side);
    free(work_side);
}

START_TEST(test_read_error_at_every_read_of_an_open_cuts_nothing)
{
    rd_sweep(true);
    rd_sweep(false);
}
END_TEST

/* A compaction whose fsync of the new file fails with ENOSPC reports
 * SRD_ENOSPC, as srd.h promises (before: SRD_ESYSERR | ENOSPC), and leaves
 * the store and its entries as they were, with no temporary file. */
START_TEST(test_compaction_fsync_enospc_is_srd_enospc)
{
    char *path = tu_join(g_dir, "full.srd");
    srd_store *st = NULL;
    ck_srd(tu_open(path, SRD_OPEN_CREATE, &st));
    for (unsigned i = 0; i < 20; i++)
        ck_srd(srd_put(st, tu_s("k"), (srd_val){sw_val(i, 100), 100}));
    long long size = tu_file_size(path);
    srd_compact_report rep;
    g_fsync_fail = ENOSPC;
    srd_err rc = srd_compact_ex(st, NULL, NULL, &rep);
    int left = g_fsync_fail;
    g_fsync_fail = 0;
    ck_assert_int_eq(left, 0); /* the fsync was reached */
    ck_assert_msg(rc == SRD_ENOSPC, "compaction returned %s, not SRD_ENOSPC",
                  srd_errname(rc));
    ck_assert_int_eq(tu_file_size(path), size);
    char *tmp = tu_join(g_dir, "full.srd.compact");
    ck_assert(!sw_exists(tmp));
    uint8_t buf[100];
    size_t got = 0;
    ck_srd(srd_get_copy(st, tu_s("k"), buf, sizeof buf, &got));
    ck_assert_mem_eq(buf, sw_val(19, 100), 100);
    ck_srd(srd_compact_ex(st, NULL, NULL, &rep)); /* space again: works */
    ck_assert_int_lt(tu_file_size(path), size);
    ck_srd(srd_close(st));
    free(tmp);
    free(path);
}
END_TEST

static Suite *fault_sweep_suite(void)
{
    Suite *s = suite_create("fault_sweep");
    TCase *tc = tcase_create("sweep");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_fault_at_every_call_sync_always_loses_nothing_acked);
    tcase_add_test(tc, test_fault_at_every_call_sync_never_loses_nothing_acked);
    tcase_add_test(tc, test_eintr_while_cutting_a_torn_tail_is_retried);
    tcase_add_test(tc, test_read_error_at_every_read_of_an_open_cuts_nothing);
    tcase_add_test(tc, test_compaction_fsync_enospc_is_srd_enospc);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* The sweep is of the store's own calls. The shared index file's calls
     * (open, mmap, rename, pwrite of <store>.idx) are absorbed by design:
     * a writer that cannot keep the file drops it and readers build their
     * own (check_shindex covers that), so they are left out here. */
    setenv("SRD_SHARED_INDEX", "0", 1);
    SRunner *sr = srunner_create(fault_sweep_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
