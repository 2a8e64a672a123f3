/* SPDX-License-Identifier: MIT */
/*
 * store_snap.c -- the handle's snaps and index: applying entries to the
 * index and the statistics, publishing a snap (readers never see half of
 * a swap), the recovery walk that loads a store, adopting what the writer
 * committed, and the reload/catch-up of handles without writer
 * (store_impl.h says how the parts interlock).
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errno_map.h"
#include "format.h"
#include "recovery.h"
#include "srd_assert.h"
#include "store_impl.h"

/* ======================================================================== */
/* Snaps, index updates                                                     */
/* ======================================================================== */

void srdi_store_snap_free(void *p)
{
    st_snap *sn = p;
    if (!sn)
        return;
    if (sn->own_index)
        srdi_index_destroy(sn->idx);
    free(sn->deltas); /* NULL unless it still owns the overlay's */
    if (sn->shx) {
        srdi_shx_unref(sn->shx);
        close(sn->shx_fd);
    }
    srdi_map_unref(sn->map);
    free(sn);
}

/* Resolve a live loc whose entry must end at or below committed. */
bool srdi_store_resolve_below(const srdi_map *m, uint64_t loc,
                              uint64_t committed, uint64_t *payload,
                              uint64_t *len)
{
    if (!(loc & SRDI_LOC_LARGE)) {
        *payload = srdi_loc_payload(loc);
        *len = srdi_loc_len(loc);
        return *payload < committed && *len <= committed - *payload;
    }
    uint64_t end = loc & ~SRDI_LOC_LARGE;
    if (end > committed || end < SRDI_TRAILER_SIZE + 1)
        return false;
    uint64_t hash, prev;
    uint32_t crc;
    srdi_format_get_trailer(m->base + end - SRDI_TRAILER_SIZE, &hash, &prev,
                            &crc);
    uint64_t start = prev + srdi_format_pad_in(prev, m->align);
    if (prev >= end || start >= end - SRDI_TRAILER_SIZE)
        return false;
    *payload = start;
    *len = end - SRDI_TRAILER_SIZE - start;
    return true;
}

bool srdi_store_resolve(const srdi_map *m, uint64_t loc, uint64_t *payload,
                        uint64_t *len)
{
    return srdi_store_resolve_below(m, loc,
                            atomic_load_explicit(&m->committed,
                                                 memory_order_acquire),
                            payload, len);
}

/* Payload length and whole-entry span (pad + payload + trailer) of a live
 * loc; zeros when it cannot be resolved. */
static void loc_size(const srdi_map *m, uint64_t loc, uint64_t *len,
                     uint64_t *span)
{
    uint64_t p, hash, prev;
    uint32_t crc;
    *len = *span = 0;
    if (!srdi_store_resolve(m, loc, &p, len))
        return;
    srdi_format_get_trailer(m->base + p + *len, &hash, &prev, &crc);
    *span = prev <= p ? p + *len + SRDI_TRAILER_SIZE - prev : 0;
}

/* Record what the overlay entry ending at end changes in the live-key
 * count (caller holds mu). */
static srd_err st_delta_add(st_snap *sn, uint64_t end, int64_t d)
{
    if (d == 0)
        return SRD_OK;
    if (sn->n_deltas == sn->cap_deltas) {
        size_t cap = sn->cap_deltas ? 2 * sn->cap_deltas : 64;
        st_delta *p = realloc(sn->deltas, cap * sizeof *p);
        if (!p)
            return SRD_ENOMEM;
        sn->deltas = p;
        sn->cap_deltas = cap;
    }
    sn->deltas[sn->n_deltas++] = (st_delta){end, d};
    return SRD_OK;
}

/* The loc of entry e and its payload length, in this store's layout
 * (entries from srdd carry the 64-byte layout's payload). */
uint64_t srdi_store_entry_loc(const srd_store *st, const srdi_entry *e,
                              uint64_t *vlen)
{
    uint64_t pay = e->start + srdi_format_pad_in(e->start, st->align);
    *vlen = e->end - SRDI_TRAILER_SIZE - pay;
    return e->tombstone ? srdi_loc_tomb(e->start)
                        : srdi_loc_value(pay, *vlen, e->end);
}

#define ST_PREFETCH 16u

/* Start loading the index slots an entry of hash will touch. */
static void st_prefetch(const srd_store *st, const st_snap *sn, uint64_t hash)
{
    srdi_index_prefetch(sn->idx, hash);
    srdi_store_shared_prefetch(st, hash);
}

/* The live statistics after entry e (loc of payload length vlen)
 * replaced old (0: none) in the index. */
static void st_count(srd_store *st, const srdi_map *m, uint64_t old,
                     const srdi_entry *e, uint64_t vlen)
{
    if (srdi_loc_is_live(old)) {
        uint64_t len, span;
        loc_size(m, old, &len, &span);
        st->live_bytes -= len;
        st->live_span -= span;
    }
    if (!e->tombstone) {
        st->live_bytes += vlen;
        st->live_span += e->end - e->start;
    }
}

/* A writer whose only table is the shared index file (sn->wshared,
 * store_shared.c): the entries go to st->shw alone. When that fails the
 * file's slots become the private table and the rest goes there; a grown
 * file is followed before the caller lets go of mu. */
static srd_err st_apply_wshared(srd_store *st, st_snap *sn,
                                const srdi_entry *e, size_t n)
{
    for (size_t i = 0; n > 1 && i < n && i < ST_PREFETCH; i++)
        srdi_store_shared_prefetch(st, e[i].key_hash);
    for (size_t i = 0; i < n; i++) {
        if (n > 1 && i + ST_PREFETCH < n)
            srdi_store_shared_prefetch(st, e[i + ST_PREFETCH].key_hash);
        if (!st->shw) /* given up before its slots could be copied */
            return SRD_ENOMEM;
        uint64_t vlen, old;
        bool applied;
        uint64_t loc = srdi_store_entry_loc(st, &e[i], &vlen);
        srd_err rc = srdi_shxw_update(st->shw, e[i].key_hash, loc, &old,
                                      &applied);
        if (rc != SRD_OK) {
            srdi_store_shared_give_up(st);
            sn = atomic_load(&st->snap);
            return sn->wshared ? rc : srdi_store_apply(st, sn, e + i, n - i);
        }
        st->entries++;
        if (applied)
            st_count(st, sn->map, old, &e[i], vlen);
    }
    return srdi_store_wshared_follow(st);
}

srd_err srdi_store_apply(srd_store *st, st_snap *sn, const srdi_entry *e,
                         size_t n)
{
    if (sn->wshared)
        return st_apply_wshared(st, sn, e, n);
    /* Entries the shared index covers need no overlay slot. */
    uint64_t covered = sn->shx ? srdi_shx_covered(sn->shx) : 0;
    /* Slots are loaded ST_PREFETCH entries ahead of their use: far enough
     * to hide a miss, near enough to stay in the cache. */
    for (size_t i = 0; n > 1 && i < n && i < ST_PREFETCH; i++)
        st_prefetch(st, sn, e[i].key_hash);
    for (size_t i = 0; i < n; i++) {
        if (n > 1 && i + ST_PREFETCH < n)
            st_prefetch(st, sn, e[i + ST_PREFETCH].key_hash);
        uint64_t vlen;
        uint64_t loc = srdi_store_entry_loc(st, &e[i], &vlen);
        uint64_t old;
        bool applied;
        st->entries++;
        uint64_t sh = 0;
        if (sn->shx) {
            if (e[i].end <= covered)
                continue;
            sh = srdi_shx_lookup(sn->shx, e[i].key_hash);
            if (sh != 0 && srdi_loc_pos(sh) >= srdi_loc_pos(loc))
                continue; /* the shared index has it or a newer one */
        }
        srd_err rc = srdi_index_apply(sn->idx, e[i].key_hash, loc, &old,
                                      &applied);
        if (rc != SRD_OK) {
            st->entries--;
            return rc;
        }
        if (sn->shx && e[i].end > sn->over_max)
            sn->over_max = e[i].end;
        if (!applied)
            continue;
        if (sn->shx) { /* live keys: what this entry changes in the merge */
            uint64_t prior = sh != 0 && (old == 0 || srdi_loc_pos(sh) >
                                                     srdi_loc_pos(old))
                                 ? sh
                                 : old;
            rc = st_delta_add(sn, e[i].end,
                              (int64_t)srdi_loc_is_live(loc) -
                                  (int64_t)srdi_loc_is_live(prior));
            if (rc != SRD_OK)
                return rc;
        }
        srdi_store_shared_mirror(st, e[i].key_hash, loc);
        st_count(st, sn->map, old, &e[i], vlen);
    }
    srdi_index_collect(sn->idx);
    return SRD_OK;
}

void srdi_store_publish(srd_store *st, st_snap *next)
{
    st_snap *old = atomic_exchange(&st->snap, next);
    if (old)
        srdi_ebr_retire(&st->retired, old, srdi_store_snap_free);
}

/* Recovery walk callback: newest first; the index keeps the newest.
 * Entries are applied in groups so their index slots can be prefetched
 * together (a cold open is bound by one cache miss per key otherwise). */
#define LOAD_GROUP 32

typedef struct load_ctx {
    srd_store *st;
    st_snap *sn;
    srd_err rc;
    size_t n;
    srdi_entry pending[LOAD_GROUP];
} load_ctx;

static int load_flush(load_ctx *lc)
{
    lc->rc = srdi_store_apply(lc->st, lc->sn, lc->pending, lc->n);
    lc->n = 0;
    return lc->rc != SRD_OK;
}

static int load_entry(void *ctx, const srdi_entry *e)
{
    load_ctx *lc = ctx;
    lc->pending[lc->n++] = *e;
    return lc->n == LOAD_GROUP ? load_flush(lc) : 0;
}

/* Apply the entries of fd's chain in (base, tail] to sn (newest first). */
srd_err srdi_store_load_walk(srd_store *st, st_snap *sn, int fd,
                             uint64_t base, uint64_t tail)
{
    load_ctx *lc = malloc(sizeof *lc);
    if (!lc)
        return SRD_ENOMEM;
    *lc = (load_ctx){.st = st, .sn = sn, .rc = SRD_OK, .n = 0};
    srd_err rc = srdi_recovery_walk_in(fd, base, tail, st->align, load_entry,
                                       lc);
    if (rc == SRD_OK && lc->n > 0)
        load_flush(lc);
    if (rc == SRD_ECANCELED || rc == SRD_OK)
        rc = lc->rc;
    free(lc);
    return rc;
}

srd_err srdi_store_load(srd_store *st, int fd, uint64_t tail,
                        uint64_t entries, st_snap **out)
{
    st_snap *sn = calloc(1, sizeof *sn);
    if (!sn)
        return SRD_ENOMEM;
    sn->own_index = true;
    /* Sized for every entry being a distinct key (no growth while
     * loading); trimmed below when many were overwrites. */
    srd_err rc = srdi_index_create(entries > 1024 ? (size_t)entries : 1024,
                                   &sn->idx);
    if (rc == SRD_OK)
        rc = srdi_map_open(fd, tail, &sn->map);
    if (rc == SRD_OK) {
        sn->map->align = st->align;
        /* Entries being loaded are committed: the map may show them. */
        atomic_store(&sn->map->committed, tail);
        st->entries = 0;
        st->live_bytes = 0;
        st->live_span = 0;
        rc = srdi_store_load_walk(st, sn, fd, 0, tail);
    }
    if (rc == SRD_OK)
        rc = srdi_index_fit(sn->idx);
    if (rc != SRD_OK) {
        srdi_store_snap_free(sn);
        return rc;
    }
    *out = sn;
    return SRD_OK;
}

/* Make sure the mapping covers tail, remapping into a larger reservation
 * when the file outgrew it (caller holds mu). */
static srd_err st_cover(srd_store *st, uint64_t tail)
{
    st_snap *cur = atomic_load(&st->snap);
    if (srdi_map_covers(cur->map, tail))
        return SRD_OK;
    int fd = st->w ? srdi_writer_fd(st->w) : st->ro_fd;
    st_snap *next = calloc(1, sizeof *next);
    if (!next)
        return SRD_ENOMEM;
    srd_err rc = srdi_map_open(fd, tail, &next->map);
    if (rc != SRD_OK) {
        free(next);
        return rc;
    }
    atomic_store(&next->map->committed, atomic_load(&cur->map->committed));
    next->map->align = cur->map->align;
    next->idx = cur->idx;
    next->checked = cur->checked;
    next->wshared = cur->wshared;
    next->own_index = cur->own_index; /* ownership moves to the new snap */
    cur->own_index = false;
    if (cur->shx) { /* readers may still be in cur: share, do not move */
        next->shx_fd = dup(cur->shx_fd);
        if (next->shx_fd < 0) {
            int e = errno;
            cur->own_index = true;
            srdi_map_unref(next->map);
            free(next);
            return srdi_errno(e);
        }
        srdi_shx_ref(cur->shx);
        next->shx = cur->shx;
        next->over_max = cur->over_max;
        next->deltas = cur->deltas; /* they describe idx: move with it */
        next->n_deltas = cur->n_deltas;
        next->cap_deltas = cur->cap_deltas;
        cur->deltas = NULL;
        cur->n_deltas = cur->cap_deltas = 0;
    }
    srdi_store_publish(st, next);
    return SRD_OK;
}

srd_err srdi_store_adopt(srd_store *st, const srdi_entry *e, size_t n,
                         uint64_t tail)
{
    if (!st->w)
        srdi_store_shared_follow(st);
    srd_err rc = st_cover(st, tail);
    if (rc != SRD_OK)
        return rc;
    st_snap *sn = atomic_load(&st->snap);
    /* invariant 2: the committed tail stays inside the mapping (readers
     * dereference below it); always on, one compare per update */
    SRD_ASSERT_ALWAYS(tail <= sn->map->reserved);
    if (atomic_load(&sn->map->committed) < tail)
        atomic_store(&sn->map->committed, tail);
    return n > 0 ? srdi_store_apply(st, sn, e, n) : SRD_OK;
}

/* ======================================================================== */
/* Layout, reload and catch-up (handles without writer)                     */
/* ======================================================================== */

/* The layout of the chain of fd ending at tail (vote; 64 when its
 * entries do not tell, as both readings then agree). */
static srd_err st_layout_of(int fd, uint64_t tail, uint32_t *align)
{
    uint32_t vote = 0;
    srd_err rc = tail ? srdi_recovery_vote(fd, tail, &vote) : SRD_OK;
    *align = vote ? vote : SRDI_ALIGN;
    return rc;
}

uint32_t srdi_store_align(srd_store *st)
{
    pthread_mutex_lock(&st->mu);
    uint32_t a = st->align;
    pthread_mutex_unlock(&st->mu);
    return a;
}

srd_err srdi_store_layout_of(int fd, uint64_t tail, uint32_t *align)
{
    return st_layout_of(fd, tail, align);
}

/* A handle without writer whose file was replaced (compaction by the
 * writer) reloads everything from the new file. */
srd_err srdi_store_reload(srd_store *st, uint64_t tail, uint64_t *added)
{
    int fd = open(st->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return srdi_errno(errno);
    struct stat sb;
    uint64_t entries = 0;
    srd_err rc = fstat(fd, &sb) == 0 ? SRD_OK : srdi_errno(errno);
    uint32_t align = st->align;
    if (rc == SRD_OK && tail == UINT64_MAX)
        rc = srdi_recovery_detect(fd, (uint64_t)sb.st_size, st->align, &align,
                                  &tail, &entries);
    else if (rc == SRD_OK && tail > (uint64_t)sb.st_size)
        rc = SRD_ECORRUPT;
    else if (rc == SRD_OK)
        rc = st_layout_of(fd, tail, &align);
    st_snap *sn = NULL;
    uint64_t before = st->entries;
    uint32_t old_align = st->align;
    st->align = align; /* a compaction may have changed it (upgrade) */
    if (rc == SRD_OK)
        rc = srdi_store_load_reader(st, fd, tail, entries, &sn);
    if (rc != SRD_OK)
        st->align = old_align;
    if (rc == SRD_OK) {
        srdi_store_publish(st, sn);
        st->switches++;
        close(st->ro_fd);
        st->ro_fd = fd;
        fd = -1;
        if (added)
            *added = st->entries > before ? st->entries - before : 0;
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

srd_err srdi_store_catch_up(srd_store *st, uint64_t base, uint64_t tail,
                            uint64_t *added)
{
    if (tail <= base)
        return SRD_OK;
    srd_err rc = srdi_store_adopt(st, NULL, 0, tail);
    if (rc != SRD_OK)
        return rc;
    /* Newest first is fine: the index keeps the newest by position. */
    uint64_t before = st->entries;
    rc = srdi_store_load_walk(st, atomic_load(&st->snap), st->ro_fd, base,
                              tail);
    if (added)
        *added = st->entries - before;
    return rc;
}

/*
 * A read-only handle's catch-up from its committed tail `known` to tail.
 * The committed tail moves first (so no key's older version vanishes
 * while its newer one is indexed), so a walk that fails part way (a read
 * error) leaves entries below the committed tail out of the index: the
 * handle remembers where it must walk from, and every later refresh
 * walks from there until one succeeds (caller holds mu). The entries of
 * a walk re-done are counted once.
 */
static srd_err st_refresh_walk(srd_store *st, uint64_t known, uint64_t tail,
                               uint64_t *added)
{
    uint64_t from = st->ro_behind ? st->ro_walked : known;
    uint64_t entries = st->entries;
    if (tail < known)
        tail = known;
    srd_err rc = srdi_store_catch_up(st, from, tail, added);
    if (rc == SRD_OK) {
        st->ro_behind = false;
    } else if (tail > from) {
        /* The retry walks these entries again: count them once, then.
         * (Their live bytes count once already: an index update with
         * the location it holds changes nothing.) */
        st->entries = entries;
        if (added)
            *added = 0;
        st->ro_behind = true;
        st->ro_walked = from;
    }
    return rc;
}

srd_err srdi_store_refresh(srd_store *st, uint64_t *added)
{
    if (added)
        *added = 0;
    if (st->w)
        return SRD_OK;
    struct stat now, ours;
    bool replaced = stat(st->path, &now) == 0 &&
                    fstat(st->ro_fd, &ours) == 0 &&
                    (now.st_ino != ours.st_ino || now.st_dev != ours.st_dev);
    pthread_mutex_lock(&st->mu);
    srd_err rc = SRD_OK;
    if (replaced) {
        rc = srdi_store_reload(st, UINT64_MAX, added);
    } else {
        st_snap *sn = atomic_load(&st->snap);
        uint64_t known = atomic_load(&sn->map->committed), tail = known;
        rc = fstat(st->ro_fd, &ours) == 0 ? SRD_OK : srdi_errno(errno);
        if (rc == SRD_OK)
            rc = srdi_recovery_find_tail_in(st->ro_fd, known,
                                            (uint64_t)ours.st_size,
                                            st->align, &tail, NULL);
        if (rc == SRD_OK)
            rc = st_refresh_walk(st, known, tail, added);
    }
    if (replaced && rc == SRD_OK)
        st->ro_behind = false;
    pthread_mutex_unlock(&st->mu);
    return rc;
}

void srdi_store_file_state(srd_store *st, srdi_file_state *out)
{
    struct stat sb;
    pthread_mutex_lock(&st->mu);
    st_snap *sn = atomic_load(&st->snap);
    out->switches = st->switches;
    out->tail = atomic_load(&sn->map->committed);
    int fd = st->w ? srdi_writer_fd(st->w) : st->ro_fd;
    bool ok = fstat(fd, &sb) == 0;
    pthread_mutex_unlock(&st->mu);
    out->dev = ok ? (uint64_t)sb.st_dev : 0;
    out->ino = ok ? (uint64_t)sb.st_ino : 0;
}
