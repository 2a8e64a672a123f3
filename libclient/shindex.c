/* SPDX-License-Identifier: MIT */
/*
 * shindex.c -- the shared index file (see shindex.h).
 *
 * Layout (native byte order, checked through `order`):
 *   0   header, SRDI_SHX_HDR bytes
 *       0 magic "SRDINDEX"  8 u32 version  12 u32 header size
 *      16 u64 order (0x0102030405060708)  24 u64 st_dev  32 u64 st_ino
 *      40 u64 cap  48 u64 align (the store's layout, format.h)
 *      56 boot id (16)  72 u64 XXH3 of bytes 0..71
 *     128 mutable u64s: cover_seq, covered, superseded, clean, used, live,
 *         entries, live_bytes, live_span; 200 the trailer (20 bytes, in
 *         three u64s) of the store entry ending at covered; 224 u64 one
 *         past the highest position (srdi_loc_pos) any slot holds; 232
 *         spare (0); 240 the slots' running sum (shx_mix); 248 exact
 *   4096 cap slots {u64 hash, u64 loc}, loc 0 = empty, home slot
 *        (hash * cap) >> 64, linear probing
 *
 * Invariants
 *   1. A slot's hash is written before its loc (release); once claimed a
 *      slot keeps its hash until the file is replaced.
 *   2. covered is raised (release) only when every entry below it is in
 *      the slots; slots may already hold entries past it. covered and the
 *      trailer of the entry ending there change together under the
 *      seqlock cover_seq (odd while they change), so a reader can check
 *      the store still holds that entry at that offset.
 *   3. The writer never shrinks or truncates a file readers may map: a new
 *      table is a new file renamed over the old one, and then the old one
 *      gets superseded = 1. A reader maps exactly the size it checked with
 *      fstat and never reads header fields it did not check (cap is its
 *      own copy).
 *   4. clean = 1 is written only after the slots were made durable, and a
 *      file is not modified after that (but for superseded, and the boot
 *      id of a file checked after a reboot) until a writer changes it,
 *      which first clears clean durably (invariant 8); so a clean file
 *      describes its covered tail across a reboot, an unclean one only
 *      within the boot its header names (page cache).
 *   5. The slots' sum (the sum mod 2^64 of shx_mix over every used slot)
 *      is kept as the slots change, in the writer's memory, and stored
 *      with used and live by every covered-tail update: no pass over the
 *      slots computes it, but srdi_shxw_verify checks it. A writer takes over
 *      without reading the slots a file of the running boot (the page
 *      cache holds what the last writer stored); a clean file of another
 *      boot (read back from the disk) must match its sum and counts.
 *   6. exact = 1 + covered is stored (after covered) only when no index
 *      update is in flight, so the slots, their sum and the statistics
 *      describe exactly the entries below covered; it is cleared before
 *      any slot changes. Only a file exact at its covered tail is taken
 *      over (a clean close leaves it so; after kill -9 the page cache
 *      holds every store the writer made); else a new one is written.
 *   7. max_pos1 is raised before the loc that needs it is stored, so
 *      after kill -9 no slot names a position at or past max_pos1.
 *   8. A writer that took a file over changes nothing in it (clean stays
 *      set, nothing is synced at close) until its first real change:
 *      then it clears clean durably (shxw_touch), as invariant 4 asks.
 *   9. srdi_shxw_verify answers for every slot since the file was
 *      written or taken over, across growth: a grow checks the old slots
 *      against their sum as it copies them, and a mismatch stays reported
 *      (the new file's sum is the copies', damaged or not). Compaction
 *      relies on it before it trusts a table taken over from a header
 *      (compact.c).
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "errno_map.h"
#include "format.h"
#include "index.h"
#include "shindex.h"
#include "synced.h"

#define SHX_ORDER 0x0102030405060708ull
#define SHX_CHECKED 72u /* header bytes the checksum covers */
#define SHX_MIN_CAP 1024u

static const char shx_magic[8] = {'S', 'R', 'D', 'I', 'N', 'D', 'E', 'X'};

typedef struct shx_hdr {
    char magic[8];
    uint32_t version;
    uint32_t hdr_size;
    uint64_t order;
    uint64_t dev, ino;
    uint64_t cap;
    uint64_t align;
    uint8_t boot[SRDI_BOOT_ID_SIZE];
    uint64_t check;
    uint8_t pad[48];
    _Atomic uint64_t cover_seq;
    _Atomic uint64_t covered;
    _Atomic uint64_t superseded;
    _Atomic uint64_t clean;
    _Atomic uint64_t used, live, entries, live_bytes, live_span;
    _Atomic uint64_t cover_trailer[3];
    _Atomic uint64_t max_pos1; /* 1 + the highest srdi_loc_pos in a slot */
    _Atomic uint64_t spare;
    _Atomic uint64_t slots_sum; /* invariant 5 */
    _Atomic uint64_t exact;    /* 1 + covered: invariant 6 */
} shx_hdr;

_Static_assert(offsetof(shx_hdr, check) == SHX_CHECKED, "header layout");
_Static_assert(offsetof(shx_hdr, cover_seq) == 128, "header layout");
_Static_assert(offsetof(shx_hdr, cover_trailer) == 200, "header layout");
_Static_assert(offsetof(shx_hdr, exact) == 248, "header layout");
_Static_assert(sizeof(shx_hdr) <= SRDI_SHX_HDR, "header layout");

typedef struct shx_slot {
    _Atomic uint64_t hash;
    _Atomic uint64_t loc;
} shx_slot;

struct srdi_shx {
    const uint8_t *base;
    size_t len;
    uint64_t cap;             /* checked against the size; never re-read */
    uint32_t align;           /* the store's layout it was written for */
    const shx_hdr *h;
    const shx_slot *slots;
    _Atomic long refs;
};

struct srdi_shxw {
    char *path, *tmp;
    int fd;
    mode_t mode;
    uint8_t *base;
    size_t len;
    uint64_t cap, used, live;
    uint64_t dev, ino, align;
    bool published;           /* tmp was renamed to path */
    bool touched;             /* invariant 8: clean cleared, may change */
    int err;                  /* clearing clean failed: change nothing */
    uint64_t sum;             /* the slots' running sum (invariant 5) */
    bool mismatched;          /* a grow found the slots off their sum */
    shx_hdr *h;
    shx_slot *slots;
};

char *srdi_shx_path(const char *store)
{
    size_t n = strlen(store) + sizeof SRDI_SHX_SUFFIX + 4;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s", store, SRDI_SHX_SUFFIX);
    return p;
}

static inline uint64_t shx_home(uint64_t hash, uint64_t cap)
{
    return (uint64_t)(((unsigned __int128)hash * cap) >> 64);
}

static uint64_t shx_checksum(const shx_hdr *h)
{
    return srdi_hash(h, SHX_CHECKED);
}

static inline uint64_t shx_fmix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* What used slot i {hash, loc} adds to the slots' sum (invariant 5): a
 * damaged hash, loc or position changes the sum with probability about
 * 1 - 2^-64. Not a defence against a forger, who can recompute it. */
static inline uint64_t shx_mix(uint64_t i, uint64_t hash, uint64_t loc)
{
    return shx_fmix(hash ^ shx_fmix(loc ^ (i * 0x9e3779b97f4a7c15ull)));
}

static bool shx_this_boot(const uint8_t boot[SRDI_BOOT_ID_SIZE])
{
    uint8_t now[SRDI_BOOT_ID_SIZE];
    return srdi_synced_boot_id(now) &&
           memcmp(now, boot, SRDI_BOOT_ID_SIZE) == 0;
}

/* ======================================================================== */
/* Reader side                                                              */
/* ======================================================================== */

/* Lookups land anywhere in the slots, as in a private table (index.c):
 * ask for huge pages (advice only). A writer's mapping asking for them
 * makes the page cache fill with PMD-sized folios, which every reader then
 * maps with one TLB entry per 2 MiB (ext4 and tmpfs large folios; measured
 * on Linux 6.18, docs/PERFORMANCE.md); a reader's own advice counts when
 * its faults read the file in. */
static void shx_advise(void *p, size_t len)
{
    (void)madvise(p, len, MADV_HUGEPAGE);
}

/* The checks of srdi_shx_open on a header copy and the file size. */
static bool shx_header_ok(const shx_hdr *h, uint64_t size,
                          const struct stat *store_sb)
{
    if (memcmp(h->magic, shx_magic, sizeof shx_magic) != 0 ||
        h->version != SRDI_SHX_VERSION || h->hdr_size != SRDI_SHX_HDR ||
        h->order != SHX_ORDER || h->check != shx_checksum(h))
        return false;
    if ((h->align != SRDI_ALIGN && h->align != SRDI_ALIGN_NONE) ||
        h->cap == 0 || h->cap > SRDI_SHX_MAX_CAP ||
        size != SRDI_SHX_HDR + h->cap * sizeof(shx_slot))
        return false;
    if (h->dev != (uint64_t)store_sb->st_dev ||
        h->ino != (uint64_t)store_sb->st_ino)
        return false;
    if (atomic_load(&h->superseded) != 0)
        return false;
    return atomic_load(&h->clean) != 0 || shx_this_boot(h->boot);
}

srd_err srdi_shx_open_fd(int fd, const struct stat *store_sb, srdi_shx **out)
{
    *out = NULL;
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return srdi_errno(errno);
    if (!S_ISREG(sb.st_mode) || sb.st_size < (off_t)SRDI_SHX_HDR)
        return SRD_ECORRUPT;
    shx_hdr h;
    if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
        return SRD_ECORRUPT;
    if (!shx_header_ok(&h, (uint64_t)sb.st_size, store_sb))
        return SRD_ECORRUPT;
    srdi_shx *x = calloc(1, sizeof *x);
    if (!x)
        return SRD_ENOMEM;
    x->len = (size_t)sb.st_size;
    void *p = mmap(NULL, x->len, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        free(x);
        return srdi_errno(e);
    }
    shx_advise(p, x->len);
    x->base = p;
    x->cap = h.cap;
    x->align = (uint32_t)h.align;
    x->h = (const shx_hdr *)x->base;
    x->slots = (const shx_slot *)(x->base + SRDI_SHX_HDR);
    atomic_init(&x->refs, 1);
    *out = x;
    return SRD_OK;
}

srd_err srdi_shx_open(const char *store, const struct stat *store_sb,
                      srdi_shx **out)
{
    *out = NULL;
    char *path = srdi_shx_path(store);
    if (!path)
        return SRD_ENOMEM;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    free(path);
    if (fd < 0)
        return errno == ENOENT ? SRD_ENOENT : SRD_ECORRUPT;
    srd_err rc = srdi_shx_open_fd(fd, store_sb, out);
    close(fd);
    return rc;
}

void srdi_shx_ref(srdi_shx *x)
{
    atomic_fetch_add_explicit(&x->refs, 1, memory_order_relaxed);
}

void srdi_shx_unref(srdi_shx *x)
{
    if (!x || atomic_fetch_sub_explicit(&x->refs, 1, memory_order_acq_rel) != 1)
        return;
    munmap((void *)x->base, x->len);
    free(x);
}

uint64_t srdi_shx_covered(const srdi_shx *x)
{
    return atomic_load_explicit(&x->h->covered, memory_order_acquire);
}

static bool shx_hdr_covered_at(const shx_hdr *h, uint64_t *covered,
                               uint8_t trailer[SRDI_TRAILER_SIZE],
                               uint64_t *entries)
{
    for (int tries = 0; tries < 100000; tries++) {
        uint64_t s1 = atomic_load_explicit(&h->cover_seq,
                                           memory_order_acquire);
        if (s1 & 1)
            continue;
        uint64_t c = atomic_load_explicit(&h->covered, memory_order_acquire);
        uint64_t t[3];
        for (int i = 0; i < 3; i++)
            t[i] = atomic_load_explicit(&h->cover_trailer[i],
                                        memory_order_relaxed);
        uint64_t e = atomic_load_explicit(&h->entries, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&h->cover_seq, memory_order_relaxed) != s1)
            continue;
        *covered = c;
        memcpy(trailer, t, SRDI_TRAILER_SIZE);
        if (entries)
            *entries = e;
        return true;
    }
    return false; /* a writer stuck mid-update: a file not to trust */
}

bool srdi_shx_covered_at(const srdi_shx *x, uint64_t *covered,
                         uint8_t trailer[SRDI_TRAILER_SIZE])
{
    return shx_hdr_covered_at(x->h, covered, trailer, NULL);
}

bool srdi_shx_entries_at(const srdi_shx *x, uint64_t *covered,
                         uint8_t trailer[SRDI_TRAILER_SIZE],
                         uint64_t *entries)
{
    return shx_hdr_covered_at(x->h, covered, trailer, entries);
}

bool srdi_shx_live_at(const srdi_shx *x, uint64_t *covered, uint64_t *live)
{
    const shx_hdr *h = x->h;
    for (int tries = 0; tries < 100000; tries++) {
        uint64_t s1 = atomic_load_explicit(&h->cover_seq,
                                           memory_order_acquire);
        if (s1 & 1)
            continue;
        uint64_t c = atomic_load_explicit(&h->covered, memory_order_acquire);
        uint64_t l = atomic_load_explicit(&h->live, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&h->cover_seq, memory_order_relaxed) != s1)
            continue;
        *covered = c;
        *live = l;
        return true;
    }
    return false;
}

bool srdi_shx_superseded(const srdi_shx *x)
{
    return atomic_load_explicit(&x->h->superseded, memory_order_acquire) != 0;
}

void srdi_shx_stats_get(const srdi_shx *x, srdi_shx_stats *s)
{
    s->live = atomic_load_explicit(&x->h->live, memory_order_relaxed);
    s->entries = atomic_load_explicit(&x->h->entries, memory_order_relaxed);
    s->live_bytes = atomic_load_explicit(&x->h->live_bytes,
                                         memory_order_relaxed);
    s->live_span = atomic_load_explicit(&x->h->live_span,
                                        memory_order_relaxed);
}

uint64_t srdi_shx_lookup(const srdi_shx *x, uint64_t hash)
{
    uint64_t i = shx_home(hash, x->cap);
    for (uint64_t n = 0; n < x->cap; n++) {
        const shx_slot *s = &x->slots[i];
        uint64_t loc = atomic_load_explicit(&s->loc, memory_order_acquire);
        if (loc == 0)
            return 0;
        if (atomic_load_explicit(&s->hash, memory_order_relaxed) == hash)
            return loc;
        if (++i == x->cap)
            i = 0;
    }
    return 0; /* a full table: only a damaged file has none empty */
}

void srdi_shx_prefetch(const srdi_shx *x, uint64_t hash)
{
    __builtin_prefetch(&x->slots[shx_home(hash, x->cap)]);
}

/* fn(ctx, hash, loc) for every used slot of slots[0, cap), each loc
 * loaded with order (acquire for a reader: the writer publishes a loc
 * with a release store after its hash), until fn returns non-zero. */
static int shx_each_slot(const shx_slot *slots, uint64_t cap,
                         memory_order order, srdi_shx_fn fn, void *ctx)
{
    for (uint64_t i = 0; i < cap; i++) {
        uint64_t loc = atomic_load_explicit(&slots[i].loc, order);
        if (loc == 0)
            continue;
        int rc = fn(ctx, atomic_load_explicit(&slots[i].hash,
                                              memory_order_relaxed), loc);
        if (rc)
            return rc;
    }
    return 0;
}

int srdi_shx_each(const srdi_shx *x, srdi_shx_fn fn, void *ctx)
{
    return shx_each_slot(x->slots, x->cap, memory_order_acquire, fn, ctx);
}

uint32_t srdi_shx_align(const srdi_shx *x)
{
    return x->align;
}

size_t srdi_shx_mapped(const srdi_shx *x)
{
    return x->len;
}

/* ======================================================================== */
/* Writer side                                                              */
/* ======================================================================== */

/* A zeroed, fully allocated, mapped file at w->tmp for cap slots, with its
 * header written; w's mapping fields describe it. */
static srd_err shxw_new_file(srdi_shxw *w, uint64_t cap)
{
    if (cap > SRDI_SHX_MAX_CAP)
        return SRD_ENOMEM;
    unlink(w->tmp); /* a leftover of a crash: never reused */
    int fd = open(w->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, w->mode);
    if (fd < 0)
        return srdi_errno(errno);
    size_t len = SRDI_SHX_HDR + (size_t)cap * sizeof(shx_slot);
    int e = posix_fallocate(fd, 0, (off_t)len);
    void *p = e == 0 ? mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
                            fd, 0)
                     : MAP_FAILED;
    if (p == MAP_FAILED) {
        e = e ? e : errno;
        close(fd);
        unlink(w->tmp);
        return srdi_errno(e);
    }
    shx_advise(p, len);
    w->fd = fd;
    w->base = p;
    w->len = len;
    w->cap = cap;
    w->used = 0;
    w->live = 0;
    w->sum = 0;
    w->h = p;
    w->slots = (shx_slot *)(w->base + SRDI_SHX_HDR);
    w->touched = true; /* a new file: never clean yet */
    shx_hdr *h = w->h;
    memcpy(h->magic, shx_magic, sizeof shx_magic);
    h->version = SRDI_SHX_VERSION;
    h->hdr_size = SRDI_SHX_HDR;
    h->order = SHX_ORDER;
    h->dev = w->dev;
    h->ino = w->ino;
    h->cap = cap;
    h->align = w->align;
    srdi_synced_boot_id(h->boot); /* zeros (never trusted) if unknown */
    h->check = shx_checksum(h);
    /* cap again just before the slots: the layout of index.c's table, so
     * a writer can map the file as its own table (srdi_index_borrow) */
    uint64_t c64 = cap;
    memcpy(w->base + SRDI_SHX_CAP_AT, &c64, sizeof c64);
    return SRD_OK;
}

static void shxw_unmap(srdi_shxw *w)
{
    if (w->base)
        munmap(w->base, w->len);
    if (w->fd >= 0)
        close(w->fd);
    w->base = NULL;
    w->fd = -1;
}

static void shxw_free(srdi_shxw *w);

/* A writer handle for store's index file, no file yet. */
static srd_err shxw_handle(const char *store, int store_fd, uint32_t align,
                           srdi_shxw **out)
{
    struct stat sb;
    if (fstat(store_fd, &sb) != 0)
        return srdi_errno(errno);
    srdi_shxw *w = calloc(1, sizeof *w);
    if (!w)
        return SRD_ENOMEM;
    w->fd = -1;
    w->path = srdi_shx_path(store);
    w->tmp = w->path ? malloc(strlen(w->path) + 5) : NULL;
    if (!w->tmp) {
        free(w->path);
        free(w);
        return SRD_ENOMEM;
    }
    snprintf(w->tmp, strlen(w->path) + 5, "%s.tmp", w->path);
    w->mode = sb.st_mode & 0666;
    w->dev = (uint64_t)sb.st_dev;
    w->ino = (uint64_t)sb.st_ino;
    w->align = align;
    *out = w;
    return SRD_OK;
}

srd_err srdi_shxw_create(const char *store, int store_fd, uint32_t align,
                         uint64_t expected, srdi_shxw **out)
{
    *out = NULL;
    srdi_shxw *w = NULL;
    srd_err rc = shxw_handle(store, store_fd, align, &w);
    if (rc == SRD_OK)
        rc = shxw_new_file(w, expected + expected / 2 + SHX_MIN_CAP);
    if (rc != SRD_OK) {
        if (w)
            shxw_free(w);
        return rc;
    }
    *out = w;
    return SRD_OK;
}

/* Map the published file fd for the writer (fields of w from it). */
static srd_err shxw_map_existing(srdi_shxw *w, int fd, const shx_hdr *h,
                                 uint64_t size)
{
    int e = posix_fallocate(fd, 0, (off_t)size); /* a sparse file: fill */
    void *p = e == 0 ? mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
                            MAP_SHARED, fd, 0)
                     : MAP_FAILED;
    if (p == MAP_FAILED)
        return srdi_errno(e ? e : errno);
    shx_advise(p, (size_t)size);
    w->fd = fd;
    w->base = p;
    w->len = (size_t)size;
    w->cap = h->cap;
    w->h = p;
    w->slots = (shx_slot *)(w->base + SRDI_SHX_HDR);
    /* invariant 6 (checked by the caller): these describe the slots */
    w->used = atomic_load(&w->h->used);
    w->live = atomic_load(&w->h->live);
    w->sum = atomic_load(&w->h->slots_sum);
    w->published = true;
    w->touched = false; /* invariant 8 */
    return SRD_OK;
}

/* Invariant 8, before the first change of a file taken over: it stops
 * vouching durably (invariant 4); it names the running boot already
 * (header_ok, or stamped by shxw_trusted). false (and w->err, so nothing
 * else changes either) when that cannot be made durable. */
static bool shxw_touch(srdi_shxw *w)
{
    if (w->touched || w->err)
        return w->err == 0;
    if (atomic_load(&w->h->clean) != 0) {
        atomic_store(&w->h->clean, 0);
        if (msync(w->base, SRDI_SHX_HDR, MS_SYNC) != 0) {
            w->err = errno ? errno : EIO;
            return false;
        }
    }
    w->touched = true;
    return true;
}

srd_err srdi_shxw_verify(const srdi_shxw *w)
{
    const uint64_t *p = (const uint64_t *)(const void *)w->slots;
    uint64_t used = 0, live = 0, sum = 0;
    for (uint64_t i = 0; i < w->cap; i++) {
        uint64_t loc = p[2 * i + 1];
        if (loc == 0)
            continue;
        used++;
        live += !(loc & SRDI_LOC_TOMB);
        sum += shx_mix(i, p[2 * i], loc);
    }
    return used == w->used && live == w->live && sum == w->sum &&
                   !w->mismatched
               ? SRD_OK
               : SRD_ECORRUPT;
}

/* Invariants 5 and 6: the slots are the last writer's, whole, and the
 * header's sum and counts describe them: the file must be exact at
 * covered, keep an empty slot (lookups end there), and, when it comes
 * from another boot (the disk, not the page cache, holds it), match its
 * sum and counts; it then names this boot. Nothing else reads the slots. */
static bool shxw_trusted(srdi_shxw *w, uint64_t covered)
{
    if (atomic_load(&w->h->exact) != covered + 1 || w->used >= w->cap ||
        w->live > w->used)
        return false;
    if (shx_this_boot(w->h->boot))
        return true;
    if (srdi_shxw_verify(w) != SRD_OK)
        return false;
    srdi_synced_boot_id(w->h->boot); /* a clean file: no reader needs it */
    w->h->check = shx_checksum(w->h);
    return true;
}

srd_err srdi_shxw_reuse(const char *store, int store_fd, uint32_t align,
                        uint64_t tail, srdi_shxw **out, uint64_t *covered,
                        uint8_t trailer[SRDI_TRAILER_SIZE])
{
    srdi_shxw *w = NULL;
    *out = NULL;
    srd_err rc = shxw_handle(store, store_fd, align, &w);
    if (rc != SRD_OK)
        return rc;
    struct stat sb, ssb;
    shx_hdr h;
    int fd = open(w->path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    rc = fd >= 0 ? SRD_OK : SRD_ECORRUPT;
    if (rc == SRD_OK &&
        (fstat(fd, &sb) != 0 || fstat(store_fd, &ssb) != 0 ||
         !S_ISREG(sb.st_mode) || sb.st_size < (off_t)SRDI_SHX_HDR ||
         pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h ||
         !shx_header_ok(&h, (uint64_t)sb.st_size, &ssb) || h.align != align))
        rc = SRD_ECORRUPT;
    if (rc == SRD_OK)
        rc = shxw_map_existing(w, fd, &h, (uint64_t)sb.st_size);
    else if (fd >= 0)
        close(fd);
    if (rc == SRD_OK && !shx_hdr_covered_at(w->h, covered, trailer, NULL))
        rc = SRD_ECORRUPT;
    if (rc == SRD_OK && !shxw_trusted(w, *covered))
        rc = SRD_ECORRUPT; /* invariants 5 and 6 */
    /* A slot past tail names bytes recovery cut: new entries will land
     * there, and position order would keep the stale slot. */
    if (rc == SRD_OK && (*covered > tail || atomic_load(&w->h->max_pos1) > tail))
        rc = SRD_ECORRUPT;
    if (rc != SRD_OK) {
        shxw_free(w);
        return rc;
    }
    *out = w;
    return SRD_OK;
}

/* Slot of hash in w: its own, else the empty one where it goes; NULL
 * when the table is full (a reused file whose counts were wrong). */
static shx_slot *shxw_find(srdi_shxw *w, uint64_t hash)
{
    uint64_t i = shx_home(hash, w->cap);
    for (uint64_t n = 0; n < w->cap; n++) {
        shx_slot *s = &w->slots[i];
        uint64_t loc = atomic_load_explicit(&s->loc, memory_order_relaxed);
        if (loc == 0 ||
            atomic_load_explicit(&s->hash, memory_order_relaxed) == hash)
            return s;
        if (++i == w->cap)
            i = 0;
    }
    return NULL;
}

static void shxw_put(srdi_shxw *w, shx_slot *s, uint64_t hash, uint64_t loc)
{
    uint64_t cur = atomic_load_explicit(&s->loc, memory_order_relaxed);
    uint64_t i = (uint64_t)(s - w->slots);
    w->sum += shx_mix(i, hash, loc) - (cur ? shx_mix(i, hash, cur) : 0);
    if (atomic_load_explicit(&w->h->exact, memory_order_relaxed) != 0)
        atomic_store_explicit(&w->h->exact, 0, memory_order_relaxed);
    uint64_t p1 = srdi_loc_pos(loc) + 1; /* invariant 7: before the loc */
    if (p1 > atomic_load_explicit(&w->h->max_pos1, memory_order_relaxed))
        atomic_store_explicit(&w->h->max_pos1, p1, memory_order_relaxed);
    if (cur == 0) {
        w->used++;
        atomic_store_explicit(&s->hash, hash, memory_order_relaxed);
    }
    atomic_store_explicit(&s->loc, loc, memory_order_release);
    w->live += (uint64_t)srdi_loc_is_live(loc) - (uint64_t)srdi_loc_is_live(cur);
}

/* Invariant 3: copy every slot into a new, larger file, rename it over the
 * published one, then flag the old one superseded. The new file holds
 * twice the keys (half full; the next growth comes at 80%, after 60% more
 * keys): each growth copies every slot into random places of a file whose
 * pages are all new, so 1.5x (a growth every 20% more keys) spent most of
 * srdd's time on growths while a store filled (docs/PERFORMANCE.md). */
static srd_err shxw_grow(srdi_shxw *w)
{
    srdi_shxw old = *w;
    uint64_t cap = 2 * w->used + SHX_MIN_CAP;
    srd_err rc = shxw_new_file(w, cap);
    if (rc != SRD_OK) {
        *w = old;
        return rc;
    }
    w->live = 0;
    uint64_t old_sum = 0, old_used = 0, old_live = 0;
    for (uint64_t i = 0; i < old.cap; i++) {
        uint64_t loc = atomic_load_explicit(&old.slots[i].loc,
                                            memory_order_relaxed);
        if (loc == 0)
            continue;
        uint64_t h = atomic_load_explicit(&old.slots[i].hash,
                                          memory_order_relaxed);
        old_sum += shx_mix(i, h, loc);
        old_used++;
        old_live += srdi_loc_is_live(loc);
        shx_slot *s = shxw_find(w, h); /* cap > old used: never full */
        if (s)
            shxw_put(w, s, h, loc);
    }
    /* Invariant 9: the new file's sum is computed afresh from these
     * slots; damage they carry is remembered, not laundered. */
    if (old_sum != old.sum || old_used != old.used || old_live != old.live)
        w->mismatched = true;
    atomic_store(&w->h->covered, atomic_load(&old.h->covered));
    for (int i = 0; i < 3; i++)
        atomic_store(&w->h->cover_trailer[i],
                     atomic_load(&old.h->cover_trailer[i]));
    atomic_store(&w->h->entries, atomic_load(&old.h->entries));
    atomic_store(&w->h->live_bytes, atomic_load(&old.h->live_bytes));
    atomic_store(&w->h->live_span, atomic_load(&old.h->live_span));
    atomic_store(&w->h->used, w->used);
    atomic_store(&w->h->live, w->live);
    atomic_store(&w->h->slots_sum, w->sum);
    atomic_store(&w->h->exact, 0); /* the grow was asked for by an update */
    if (w->published && rename(w->tmp, w->path) != 0) {
        int e = errno;
        shxw_unmap(w);
        unlink(w->tmp);
        *w = old;
        return srdi_errno(e);
    }
    atomic_store_explicit(&old.h->superseded, 1, memory_order_release);
    shxw_unmap(&old);
    return SRD_OK;
}

srd_err srdi_shxw_apply(srdi_shxw *w, uint64_t hash, uint64_t loc)
{
    uint64_t old;
    bool applied;
    return srdi_shxw_update(w, hash, loc, &old, &applied);
}

srd_err srdi_shxw_update(srdi_shxw *w, uint64_t hash, uint64_t loc,
                         uint64_t *old, bool *applied)
{
    shx_slot *s = shxw_find(w, hash);
    uint64_t cur = s ? atomic_load_explicit(&s->loc, memory_order_relaxed)
                     : 0;
    *old = cur;
    *applied = false;
    if (cur != 0 && srdi_loc_pos(loc) <= srdi_loc_pos(cur))
        return SRD_OK;
    if (!shxw_touch(w))
        return srdi_errno(w->err);
    if (!s || (cur == 0 && (w->used + 1) * 5 > w->cap * 4)) {
        if (!s)
            w->used = w->cap; /* the counts lied: grow to fit what is there */
        srd_err rc = shxw_grow(w);
        if (rc != SRD_OK)
            return rc;
        s = shxw_find(w, hash);
        if (!s)
            return SRD_ENOMEM;
    }
    shxw_put(w, s, hash, loc);
    *applied = true;
    return SRD_OK;
}

int srdi_shxw_each(const srdi_shxw *w, srdi_shx_fn fn, void *ctx)
{
    /* the writer's own stores: nothing to synchronise with */
    return shx_each_slot(w->slots, w->cap, memory_order_relaxed, fn, ctx);
}

void srdi_shxw_prefetch(const srdi_shxw *w, uint64_t hash)
{
    __builtin_prefetch(&w->slots[shx_home(hash, w->cap)], 1);
}

/* Whether set_covered with these would store anything new (a file taken
 * over is not touched for an update that changes nothing: invariant 8). */
static bool shxw_cover_changes(const srdi_shxw *w, uint64_t covered,
                               const uint64_t t[3], const srdi_shx_stats *s,
                               bool exact)
{
    const shx_hdr *h = w->h;
    bool same = atomic_load(&h->covered) == covered &&
                atomic_load(&h->used) == w->used &&
                atomic_load(&h->live) == w->live &&
                atomic_load(&h->slots_sum) == w->sum &&
                (!exact || !s || atomic_load(&h->exact) == covered + 1);
    for (int i = 0; i < 3 && same; i++)
        same = atomic_load(&h->cover_trailer[i]) == t[i];
    if (same && s)
        same = atomic_load(&h->entries) == s->entries &&
               atomic_load(&h->live_bytes) == s->live_bytes &&
               atomic_load(&h->live_span) == s->live_span;
    return !same;
}

void srdi_shxw_set_covered(srdi_shxw *w, uint64_t covered,
                           const uint8_t trailer[SRDI_TRAILER_SIZE],
                           const srdi_shx_stats *s, bool exact)
{
    shx_hdr *h = w->h;
    uint64_t t[3] = {0, 0, 0};
    memcpy(t, trailer, SRDI_TRAILER_SIZE);
    if (!shxw_cover_changes(w, covered, t, s, exact) || !shxw_touch(w))
        return; /* nothing new, or nothing may change (w->err) */
    uint64_t seq = atomic_load_explicit(&h->cover_seq, memory_order_relaxed);
    atomic_store_explicit(&h->cover_seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    for (int i = 0; i < 3; i++)
        atomic_store_explicit(&h->cover_trailer[i], t[i],
                              memory_order_relaxed);
    atomic_store_explicit(&h->used, w->used, memory_order_relaxed);
    atomic_store_explicit(&h->live, w->live, memory_order_relaxed);
    atomic_store_explicit(&h->slots_sum, w->sum, memory_order_relaxed);
    if (s) {
        atomic_store_explicit(&h->entries, s->entries, memory_order_relaxed);
        atomic_store_explicit(&h->live_bytes, s->live_bytes,
                              memory_order_relaxed);
        atomic_store_explicit(&h->live_span, s->live_span,
                              memory_order_relaxed);
    }
    atomic_store_explicit(&h->covered, covered, memory_order_release);
    atomic_store_explicit(&h->cover_seq, seq + 2, memory_order_release);
    if (exact && s) /* invariant 6: after covered and the statistics */
        atomic_store_explicit(&h->exact, covered + 1, memory_order_release);
}

/* Flag the regular file open as fd superseded (it may be anything). */
static void shx_flag_superseded(int fd)
{
    struct stat sb;
    uint64_t one = 1;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
        sb.st_size >= (off_t)SRDI_SHX_HDR)
        (void)!pwrite(fd, &one, sizeof one, offsetof(shx_hdr, superseded));
}

srd_err srdi_shxw_publish(srdi_shxw *w)
{
    int old = open(w->path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    srd_err rc = rename(w->tmp, w->path) == 0 ? SRD_OK : srdi_errno(errno);
    if (old >= 0) {
        if (rc == SRD_OK)
            shx_flag_superseded(old);
        close(old);
    }
    w->published = rc == SRD_OK;
    return rc;
}

void srdi_shx_retire(const char *store)
{
    char *path = srdi_shx_path(store);
    if (!path)
        return;
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (fd >= 0) {
        shx_flag_superseded(fd);
        close(fd);
    }
    unlink(path);
    free(path);
}

static void shxw_free(srdi_shxw *w)
{
    shxw_unmap(w);
    free(w->path);
    free(w->tmp);
    free(w);
}

void srdi_shxw_close(srdi_shxw *w, bool clean)
{
    if (!w)
        return;
    /* Invariant 8: a file taken over and never changed is left as it was
     * (clean, or of this boot and exact): nothing to hash or sync. */
    if (!w->touched || w->err) {
        shxw_free(w);
        return;
    }
    /* The sum and counts are the header's as of the last set_covered (a
     * slot changed since cleared exact: not to be taken over). Invariant
     * 4: the slots durable before the flag that vouches for them. */
    if (clean && msync(w->base, w->len, MS_SYNC) == 0 &&
        fdatasync(w->fd) == 0) {
        atomic_store(&w->h->clean, 1);
        msync(w->base, SRDI_SHX_HDR, MS_SYNC);
    }
    shxw_free(w);
}

void srdi_shxw_forget(srdi_shxw *w)
{
    if (w)
        shxw_free(w);
}

void srdi_shxw_abandon(srdi_shxw *w)
{
    if (!w)
        return;
    atomic_store_explicit(&w->h->superseded, 1, memory_order_release);
    struct stat ours, there;
    /* Unlink the path only if it still names our file. */
    if (fstat(w->fd, &ours) == 0 && stat(w->path, &there) == 0 &&
        ours.st_ino == there.st_ino && ours.st_dev == there.st_dev)
        unlink(w->path);
    unlink(w->tmp);
    shxw_free(w);
}

uint64_t srdi_shxw_capacity(const srdi_shxw *w)
{
    return w->cap;
}

uint64_t srdi_shxw_used(const srdi_shxw *w)
{
    return w->used;
}

int srdi_shxw_fd(const srdi_shxw *w)
{
    return w->fd;
}

size_t srdi_shxw_len(const srdi_shxw *w)
{
    return w->len;
}

void srdi_shxw_stats_get(const srdi_shxw *w, srdi_shx_stats *s)
{
    s->live = w->live;
    s->entries = atomic_load(&w->h->entries);
    s->live_bytes = atomic_load(&w->h->live_bytes);
    s->live_span = atomic_load(&w->h->live_span);
}
