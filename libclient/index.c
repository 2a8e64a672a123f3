/* SPDX-License-Identifier: MIT */
/*
 * index.c -- the lock-free key hash -> location table (see index.h).
 *
 * Capacity is any number (not a power of two): the home slot of a hash is
 * (hash * cap) >> 64, so the table can grow by 1.5x and keep 16 bytes per
 * slot at 62-80% load, i.e. 20-26 bytes per key. Used slots (tombstones
 * included) above 80% trigger a rebuild into a new table, published with a
 * release store; the old table is retired through EBR. Publication order
 * inside a slot: hash first, then loc with release, so a reader that sees a
 * non-zero loc (acquire) sees the right hash.
 *
 * A table may also be borrowed: a private (copy-on-write) mapping of a
 * file that holds one laid out the same way, cap then the slots (the
 * shared index file, shindex.h), so a writer opens without copying it.
 * Pages it changes become its own; growth leaves the mapping (retired
 * through EBR, then unmapped).
 */
#include "srd_features.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "index.h"

typedef struct idx_slot {
    _Atomic uint64_t hash;
    _Atomic uint64_t loc; /* 0: empty */
} idx_slot;

typedef struct idx_table {
    uint64_t cap;
    idx_slot slots[];
} idx_table;

struct srdi_index {
    _Atomic(idx_table *) table;
    uint64_t used;      /* non-empty slots, tombstones included */
    uint64_t live;      /* slots holding a live value */
    srdi_ebr_list *retired;
    _Atomic bool any;   /* a slot was ever used (srdi_index_unused) */
    idx_table *borrowed;       /* the table, while it is borrowed */
    struct idx_borrow *borrow; /* its mapping */
};

#define IDX_MIN_CAP 64u
#define IDX_HUGE ((uintptr_t)2 << 20) /* a huge page */

/* ---- locations -------------------------------------------------------- */

uint64_t srdi_loc_value(uint64_t payload, uint64_t len, uint64_t end)
{
    if (len <= SRDI_LOC_MAXLEN && payload % 64 == 0 &&
        payload / 64 < (1ull << 42))
        return (payload / 64) | (len << 42);
    return SRDI_LOC_LARGE | end;
}

uint64_t srdi_loc_tomb(uint64_t start)
{
    return SRDI_LOC_TOMB | start;
}

uint64_t srdi_loc_pos(uint64_t loc)
{
    if (loc & SRDI_LOC_TOMB)
        return loc & ~SRDI_LOC_TOMB;
    if (loc & SRDI_LOC_LARGE)
        return (loc & ~SRDI_LOC_LARGE) - 1; /* inside the trailer */
    return srdi_loc_payload(loc);
}

/* ---- tables ----------------------------------------------------------- */

static inline uint64_t idx_home(uint64_t hash, uint64_t cap)
{
    return (uint64_t)(((unsigned __int128)hash * cap) >> 64);
}

static idx_table *idx_table_new(uint64_t cap)
{
    if (cap < IDX_MIN_CAP)
        cap = IDX_MIN_CAP;
    size_t len = sizeof(idx_table) + cap * sizeof(idx_slot);
    idx_table *t = calloc(1, len);
    if (t)
        t->cap = cap;
    /* Lookups land anywhere in a large table: huge pages spare most of
     * their TLB misses (advice only; calloc mapped it fresh). */
    uintptr_t lo = ((uintptr_t)t + IDX_HUGE - 1) & ~(uintptr_t)(IDX_HUGE - 1);
    uintptr_t hi = ((uintptr_t)t + len) & ~(uintptr_t)(IDX_HUGE - 1);
    if (t && hi > lo)
        madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
    return t;
}

static void idx_table_free(void *p)
{
    free(p);
}

/* Slot of hash in t: its own slot if present, else the empty slot where
 * it would go; NULL when there is none (only a borrowed table whose counts
 * were wrong can be full). At most cap probes. */
static idx_slot *idx_find(idx_table *t, uint64_t hash)
{
    uint64_t i = idx_home(hash, t->cap);
    for (uint64_t n = 0; n < t->cap; n++) {
        idx_slot *s = &t->slots[i];
        uint64_t loc = atomic_load_explicit(&s->loc, memory_order_acquire);
        if (loc == 0 ||
            atomic_load_explicit(&s->hash, memory_order_relaxed) == hash)
            return s;
        if (++i == t->cap)
            i = 0;
    }
    return NULL;
}

srd_err srdi_index_create(size_t expected, srdi_index **out)
{
    srdi_index *idx = calloc(1, sizeof *idx);
    idx_table *t = idx_table_new((uint64_t)expected * 3 / 2 + 1);
    if (!idx || !t) {
        free(idx);
        free(t);
        return SRD_ENOMEM;
    }
    atomic_init(&idx->table, t);
    *out = idx;
    return SRD_OK;
}

/* A table borrowed from a private mapping (srdi_index_borrow). */
typedef struct idx_borrow {
    void *base;
    size_t len;
} idx_borrow;

static void idx_borrow_free(void *p)
{
    idx_borrow *b = p;
    munmap(b->base, b->len);
    free(b);
}

/* Free the table t of idx now, or later through EBR (retire). */
static void idx_table_drop(srdi_index *idx, idx_table *t, bool retire)
{
    if (idx->borrowed == NULL || t != idx->borrowed) {
        if (retire)
            srdi_ebr_retire(&idx->retired, t, idx_table_free);
        else
            free(t);
        return;
    }
    idx->borrowed = NULL;
    if (retire)
        srdi_ebr_retire(&idx->retired, idx->borrow, idx_borrow_free);
    else
        idx_borrow_free(idx->borrow);
    idx->borrow = NULL;
}

srd_err srdi_index_borrow(int fd, size_t len, size_t off, uint64_t used,
                          uint64_t live, srdi_index **out)
{
    *out = NULL;
    if (off % 16 != 8 || len < off + sizeof(idx_table) ||
        (len - off - sizeof(idx_table)) % sizeof(idx_slot) != 0)
        return SRD_ECORRUPT;
    uint64_t cap = (len - off - sizeof(idx_table)) / sizeof(idx_slot);
    srdi_index *idx = calloc(1, sizeof *idx);
    idx_borrow *b = malloc(sizeof *b);
    void *p = idx && b ? mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE,
                              fd, 0)
                       : MAP_FAILED;
    if (p == MAP_FAILED) {
        free(idx);
        free(b);
        return SRD_ENOMEM;
    }
    *b = (idx_borrow){p, len};
    idx_table *t = (idx_table *)(void *)((uint8_t *)p + off);
    if (t->cap != cap || cap < IDX_MIN_CAP || used >= cap || live > used) {
        idx_borrow_free(b); /* lookups need an empty slot */
        free(idx);
        return SRD_ECORRUPT;
    }
    idx->used = used;
    idx->live = live;
    atomic_init(&idx->any, true); /* a file's slots: never taken as empty */
    idx->borrowed = t;
    idx->borrow = b;
    atomic_init(&idx->table, t);
    *out = idx;
    return SRD_OK;
}

void srdi_index_destroy(srdi_index *idx)
{
    if (!idx)
        return;
    srdi_ebr_drain(&idx->retired);
    idx_table_drop(idx, atomic_load(&idx->table), false);
    free(idx);
}

uint64_t srdi_index_lookup(const srdi_index *idx, uint64_t hash)
{
    idx_table *t = atomic_load_explicit(&idx->table, memory_order_acquire);
    uint64_t i = idx_home(hash, t->cap);
    for (uint64_t n = 0; n < t->cap; n++) {
        idx_slot *s = &t->slots[i];
        uint64_t loc = atomic_load_explicit(&s->loc, memory_order_acquire);
        if (loc == 0)
            return 0;
        if (atomic_load_explicit(&s->hash, memory_order_relaxed) == hash)
            return loc;
        if (++i == t->cap)
            i = 0;
    }
    return 0; /* a full (borrowed, miscounted) table */
}

bool srdi_index_unused(const srdi_index *idx)
{
    return !atomic_load_explicit(&idx->any, memory_order_relaxed);
}

void srdi_index_prefetch(const srdi_index *idx, uint64_t hash)
{
    idx_table *t = atomic_load_explicit(&idx->table, memory_order_acquire);
    __builtin_prefetch(&t->slots[idx_home(hash, t->cap)]);
}

/* Rebuild into a table 1.5x the used slots. Tombstones are kept: an older
 * update may still arrive (group commit, replayed pub/sub) and must not
 * resurrect a deleted key. Compaction starts a fresh index without them. */
/* Count the used and live slots of a borrowed table (its counts came
 * from a file: the shared index file's header, which may lie). */
static void idx_recount(srdi_index *idx, const idx_table *t)
{
    uint64_t used = 0, live = 0;
    for (uint64_t i = 0; i < t->cap; i++) {
        uint64_t loc = atomic_load_explicit(&t->slots[i].loc,
                                            memory_order_relaxed);
        used += loc != 0;
        live += srdi_loc_is_live(loc);
    }
    idx->used = used;
    idx->live = live;
}

static srd_err idx_grow(srdi_index *idx)
{
    idx_table *old = atomic_load_explicit(&idx->table, memory_order_relaxed);
    if (old == idx->borrowed)
        idx_recount(idx, old); /* sizes the new table: must be right */
    idx_table *t = idx_table_new(idx->used + idx->used / 2 + IDX_MIN_CAP);
    if (!t)
        return SRD_ENOMEM;
    for (uint64_t i = 0; i < old->cap; i++) {
        uint64_t loc = atomic_load_explicit(&old->slots[i].loc,
                                            memory_order_relaxed);
        if (loc == 0)
            continue;
        uint64_t h = atomic_load_explicit(&old->slots[i].hash,
                                          memory_order_relaxed);
        idx_slot *s = idx_find(t, h); /* cap > used: never NULL */
        if (!s) {
            free(t);
            return SRD_ENOMEM;
        }
        atomic_store_explicit(&s->hash, h, memory_order_relaxed);
        atomic_store_explicit(&s->loc, loc, memory_order_relaxed);
    }
    atomic_store_explicit(&idx->table, t, memory_order_seq_cst);
    idx_table_drop(idx, old, true);
    return SRD_OK;
}

srd_err srdi_index_fit(srdi_index *idx)
{
    idx_table *t = atomic_load_explicit(&idx->table, memory_order_relaxed);
    uint64_t want = idx->used + idx->used / 2 + IDX_MIN_CAP;
    return t->cap > 2 * want ? idx_grow(idx) : SRD_OK;
}

srd_err srdi_index_apply(srdi_index *idx, uint64_t hash, uint64_t loc,
                         uint64_t *old, bool *applied)
{
    idx_table *t = atomic_load_explicit(&idx->table, memory_order_relaxed);
    idx_slot *s = idx_find(t, hash);
    uint64_t cur = s ? atomic_load_explicit(&s->loc, memory_order_relaxed)
                     : 0;
    *old = cur;
    *applied = false;
    if (cur != 0 && srdi_loc_pos(loc) <= srdi_loc_pos(cur))
        return SRD_OK; /* what we hold is as new or newer */
    if (cur == 0) {
        if (!s || (idx->used + 1) * 5 > t->cap * 4) {
            srd_err rc = idx_grow(idx);
            if (rc != SRD_OK)
                return rc;
            t = atomic_load_explicit(&idx->table, memory_order_relaxed);
            s = idx_find(t, hash);
            if (!s) /* cannot happen: the new table has room */
                return SRD_ENOMEM;
        }
        idx->used++;
        if (!atomic_load_explicit(&idx->any, memory_order_relaxed))
            atomic_store_explicit(&idx->any, true, memory_order_relaxed);
        atomic_store_explicit(&s->hash, hash, memory_order_relaxed);
    }
    atomic_store_explicit(&s->loc, loc, memory_order_release);
    idx->live += (uint64_t)srdi_loc_is_live(loc) - (uint64_t)srdi_loc_is_live(cur);
    *applied = true;
    return SRD_OK;
}

uint64_t srdi_index_live(const srdi_index *idx)
{
    return idx->live;
}

size_t srdi_index_memory(const srdi_index *idx)
{
    idx_table *t = atomic_load_explicit(&idx->table, memory_order_relaxed);
    return sizeof *idx + sizeof *t + (size_t)t->cap * sizeof(idx_slot);
}

int srdi_index_each(const srdi_index *idx, srdi_index_fn fn, void *ctx)
{
    idx_table *t = atomic_load_explicit(&idx->table, memory_order_acquire);
    for (uint64_t i = 0; i < t->cap; i++) {
        uint64_t loc = atomic_load_explicit(&t->slots[i].loc,
                                            memory_order_acquire);
        if (!srdi_loc_is_live(loc))
            continue;
        int rc = fn(ctx, atomic_load_explicit(&t->slots[i].hash,
                                              memory_order_relaxed), loc);
        if (rc)
            return rc;
    }
    return 0;
}

void srdi_index_collect(srdi_index *idx)
{
    srdi_ebr_collect(&idx->retired);
}
