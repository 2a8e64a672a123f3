/* SPDX-License-Identifier: MIT */
/*
 * store_read.c -- the lock-free read path of a handle: a key's loc from
 * the snap's index (and the shared index, checked against the store
 * before use), views, gets, exists, meta, read streams, iteration and the
 * handle's figures (srd_get_info).
 */
#include "srd_features.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "srd_assert.h"
#include "store_impl.h"

/* ======================================================================== */
/* The shared index: trusting nothing it says                               */
/* ======================================================================== */

/* The end of the entry a loc names, computed from the loc alone. */
static uint64_t st_loc_end(uint64_t loc)
{
    if (loc & SRDI_LOC_TOMB)
        return (loc & ~SRDI_LOC_TOMB) + 1 + SRDI_TRAILER_SIZE;
    if (loc & SRDI_LOC_LARGE)
        return loc & ~SRDI_LOC_LARGE;
    return srdi_loc_payload(loc) + srdi_loc_len(loc) + SRDI_TRAILER_SIZE;
}

/*
 * Whether loc, read from a shared index for hash, names an entry of that
 * key the reader of m may read. Inside the committed bytes it knows: the
 * trailer's key hash must be hash and the entry well formed (the payload
 * the loc names is the whole of the entry's, from its pad to its
 * trailer). Past them (written since): also inside the file fd (a pread
 * reaches its end; fd -1: never) and with a matching CRC. Never reads a
 * byte the checks have not bounded. With span (a get: the value is read
 * next), the payload's first line is prefetched and span gets {payload,
 * len} of a live loc.
 */
static bool st_loc_ok(const srdi_map *m, int fd, uint64_t hash, uint64_t loc,
                      uint64_t *bound, uint64_t span[2])
{
    uint64_t committed = atomic_load_explicit(&m->committed,
                                              memory_order_acquire);
    uint64_t end = st_loc_end(loc);
    if (end <= SRDI_TRAILER_SIZE || end > m->reserved)
        return false;
    bool fresh = end > committed;
    /* A small value's payload and length come from the loc alone, and
     * p + len + trailer == end by st_loc_end: worked out before the
     * trailer's load, so little is left behind its miss. */
    bool small = !(loc & (SRDI_LOC_TOMB | SRDI_LOC_LARGE));
    uint64_t p = small ? srdi_loc_payload(loc) : 0;
    uint64_t len = small ? srdi_loc_len(loc) : 0;
    if (span && small) /* the value's first line, which the caller reads
        next: its miss overlaps the trailer's */
        __builtin_prefetch(m->base + p);
    uint8_t tr[SRDI_TRAILER_SIZE];
    if (fresh && (fd < 0 || pread(fd, tr, sizeof tr,
                                  (off_t)(end - SRDI_TRAILER_SIZE)) !=
                                (ssize_t)sizeof tr))
        return false;
    uint64_t h, prev;
    uint32_t crc;
    /* Past the committed bytes, decode the trailer the pread just read. */
    srdi_format_get_trailer(fresh ? tr : m->base + end - SRDI_TRAILER_SIZE,
                            &h, &prev, &crc);
    if (h != hash)
        return false;
    *bound = fresh ? end : committed;
    if (loc & SRDI_LOC_TOMB)
        return prev == end - 1 - SRDI_TRAILER_SIZE && m->base[prev] == 0 &&
               crc == SRDI_TOMBSTONE_CRC;
    /* end <= bound: a small loc resolves below it (st_loc_end) */
    if (!small && (!srdi_store_resolve_below(m, loc, *bound, &p, &len) ||
                   p + len + SRDI_TRAILER_SIZE != end))
        return false;
    /* the payload starts where the entry's pad ends: a loc naming a
     * later 64-byte line of the key's own value (a suffix) is refused */
    if (prev > p || p != prev + srdi_format_pad_in(prev, m->align))
        return false;
    if (span) {
        span[0] = p;
        span[1] = len;
    }
    return !fresh || srdi_crc32(0, m->base + p, (size_t)len) == crc;
}

/* span of a live loc of the snap's own table, read below bound (the
 * shared index's locs get theirs from st_loc_ok). */
static srd_err st_span(const srdi_map *m, uint64_t loc, uint64_t bound,
                       uint64_t span[2])
{
    if (!span || !srdi_loc_is_live(loc))
        return SRD_OK;
    return srdi_store_resolve_below(m, loc, bound, &span[0], &span[1])
               ? SRD_OK
               : SRD_ECORRUPT;
}

/* The loc a read of hash uses in sn (0: none) and the bound its entry is
 * read below: the newer of the private table's and, once checked, the
 * shared index's. SRD_ECORRUPT when the shared index names anything else
 * than an entry of this key. With span (a get), a live loc's {payload,
 * len}, resolved below the bound (SRD_ECORRUPT when it is not). The
 * overlay of a shared index is probed only once it ever held a slot
 * (srdi_index_unused: nothing applied to it can be missed). */
static srd_err st_find(const st_snap *sn, uint64_t hash, uint64_t *out,
                       uint64_t *bound, uint64_t span[2])
{
    if (span)
        span[0] = span[1] = 0;
    /* The committed tail is loaded after the lookups: a loc the writer
     * stored (release) after raising it lies below what this load sees. */
    if (!sn->shx) { /* checked: a writer's table taken from the file */
        uint64_t own = srdi_index_lookup(sn->idx, hash);
        *out = own;
        *bound = atomic_load_explicit(&sn->map->committed,
                                      memory_order_acquire);
        if (sn->checked && own != 0)
            return st_loc_ok(sn->map, -1, hash, own, bound, span)
                       ? SRD_OK
                       : SRD_ECORRUPT;
        return st_span(sn->map, own, *bound, span);
    }
    /* srdd's table given up before it could be copied: it cannot say */
    if (sn->wshared && srdi_shx_superseded(sn->shx))
        return SRD_ENOMEM;
    uint64_t sh = srdi_shx_lookup(sn->shx, hash);
    uint64_t own = srdi_index_unused(sn->idx)
                       ? 0
                       : srdi_index_lookup(sn->idx, hash);
    *out = own;
    *bound = atomic_load_explicit(&sn->map->committed, memory_order_acquire);
    if (sh == 0 || (own != 0 && srdi_loc_pos(own) >= srdi_loc_pos(sh)))
        return st_span(sn->map, own, *bound, span);
    if (!st_loc_ok(sn->map, sn->shx_fd, hash, sh, bound, span))
        return SRD_ECORRUPT;
    *out = sh;
    return SRD_OK;
}

/* ======================================================================== */
/* Reads                                                                    */
/* ======================================================================== */

void srd_view_release(srd_view *view)
{
    if (!view)
        return;
    srdi_map_unref(view->_map);
    memset(view, 0, sizeof *view);
}

/* Fill *v from span {payload, len} of a live loc of map m, resolved
 * below bound (inside an EBR section). */
static void view_fill(srdi_map *m, uint64_t hash, const uint64_t span[2],
                      uint64_t bound, srd_view *v)
{
    uint64_t payload = span[0], len = span[1];
    (void)bound; /* NDEBUG */
    /* invariant 2: a view lies below the bound its checks established
     * (the committed tail, or a shared-index entry whose CRC was checked)
     * and inside the mapping */
    SRD_ASSERT(payload + len <= bound && payload + len <= m->reserved);
    srdi_map_ref(m);
    v->data = m->base + payload;
    v->len = (size_t)len;
    v->key_hash = hash;
    v->offset = payload;
    v->_map = m;
}

/* ---- client handles that follow the shared index --------------------- */

/* A client handle without subscription (st->follow, client.c) learns what
 * srdd wrote from the shared index itself: before a read answers, an
 * index file found replaced (growth, compaction, abandoned) is followed,
 * and a loc that failed its checks is checked again after catching up (it
 * may lie past the mapping); a read that used an entry past the committed
 * tail has the handle raise it if its locks are free, so that the next
 * read of the key needs no pread. Other handles read as before.
 *
 * What such a read learns inside its own EBR section (st_follow_read):
 * with check, whether the index it would read through was replaced (then
 * nothing was read), and whether an entry it used lay past the committed
 * tail. A read of any other handle passes NULL. */
typedef struct st_chk {
    bool check;    /* in: see whether the shared index was replaced */
    bool replaced; /* out: it was; nothing was read */
    bool fresh;    /* out: a loc past the committed tail was used */
} st_chk;

/* In a read's EBR section on sn: whether c asks to stop because sn's
 * shared index was replaced (the header line: no second section). */
static bool st_chk_replaced(const st_snap *sn, st_chk *c)
{
    if (!c || !c->check || !sn->shx || !srdi_shx_superseded(sn->shx))
        return false;
    c->replaced = true;
    return true;
}

/* In a read's EBR section on sn: note in c (if any) whether bound, that
 * of a loc the read used, lies past the committed tail (st_find gives a
 * loc past it the bound of its own end). */
static void st_chk_bound(const st_snap *sn, st_chk *c, uint64_t bound)
{
    if (c && bound > atomic_load_explicit(&sn->map->committed,
                                          memory_order_relaxed))
        c->fresh = true;
}

static srd_err st_get_hash(srd_store *st, uint64_t key_hash, srd_view *view,
                           st_chk *c)
{
    if (!st || !view)
        return SRD_EINVAL;
    memset(view, 0, sizeof *view);
    srdi_ebr_rec *r = srdi_ebr_enter();
    const st_snap *sn = atomic_load_explicit(&st->snap, memory_order_acquire);
    if (st_chk_replaced(sn, c)) {
        srdi_ebr_leave(r);
        return SRD_OK;
    }
    uint64_t loc = 0, bound = 0, span[2];
    srd_err rc = st_find(sn, key_hash, &loc, &bound, span);
    if (rc == SRD_OK && srdi_loc_is_live(loc))
        view_fill(sn->map, key_hash, span, bound, view);
    else if (rc == SRD_OK)
        rc = SRD_ENOTFOUND;
    if (rc != SRD_ECORRUPT)
        st_chk_bound(sn, c, bound);
    srdi_ebr_leave(r);
    return rc;
}

static srd_err st_get_many_hash(srd_store *st, const uint64_t *hashes,
                                size_t n, srd_view *views, size_t *found,
                                st_chk *c);
static srd_err st_exists_hash(srd_store *st, uint64_t key_hash, bool *exists,
                              st_chk *c);

/* One read of a follow handle: a get, a get_many or an exists. */
typedef struct st_read {
    enum { RD_GET, RD_MANY, RD_EXISTS } kind;
    const uint64_t *hashes; /* one for RD_GET and RD_EXISTS */
    size_t n;
    srd_view *views;
    size_t *found;
    bool *exists;
} st_read;

static srd_err st_read_run(srd_store *st, const st_read *rd, st_chk *c)
{
    switch (rd->kind) {
    case RD_GET:
        return st_get_hash(st, rd->hashes[0], rd->views, c);
    case RD_MANY:
        return st_get_many_hash(st, rd->hashes, rd->n, rd->views, rd->found,
                                c);
    default:
        return st_exists_hash(st, rd->hashes[0], rd->exists, c);
    }
}

/* rd on a handle that follows the shared index with f: follow a replaced
 * index first (seen inside the read's own section), once more and retry
 * on SRD_ECORRUPT, and raise the committed tail (if the handle's locks are
 * free) after a read that used an entry past it. */
static srd_err st_follow_read(srd_store *st, srdi_follow_fn f,
                              const st_read *rd)
{
    st_chk c = {.check = true};
    srd_err rc = st_read_run(st, rd, &c);
    if (c.replaced) {
        f(st, true);
        c = (st_chk){0};
        rc = st_read_run(st, rd, &c);
    }
    if (rc == SRD_ECORRUPT) { /* views read before the error: released */
        f(st, true);
        c = (st_chk){0};
        rc = st_read_run(st, rd, &c);
    }
    if (rc == SRD_OK && c.fresh)
        f(st, false);
    return rc;
}

srd_err srd_get_hash(srd_store *st, uint64_t key_hash, srd_view *view)
{
    srdi_follow_fn f = st ? atomic_load(&st->follow) : NULL;
    if (!f || !view)
        return st_get_hash(st, key_hash, view, NULL);
    st_read rd = {.kind = RD_GET, .hashes = &key_hash, .views = view};
    return st_follow_read(st, f, &rd);
}

srd_err srd_get_many_hash(srd_store *st, const uint64_t *hashes, size_t n,
                          srd_view *views, size_t *found)
{
    srdi_follow_fn f = st ? atomic_load(&st->follow) : NULL;
    if (!f || (n > 0 && (!hashes || !views)))
        return st_get_many_hash(st, hashes, n, views, found, NULL);
    st_read rd = {.kind = RD_MANY, .hashes = hashes, .n = n, .views = views,
                  .found = found};
    return st_follow_read(st, f, &rd);
}

srd_err srd_exists_hash(srd_store *st, uint64_t key_hash, bool *exists)
{
    srdi_follow_fn f = st ? atomic_load(&st->follow) : NULL;
    if (!f || !exists)
        return st_exists_hash(st, key_hash, exists, NULL);
    st_read rd = {.kind = RD_EXISTS, .hashes = &key_hash, .exists = exists};
    return st_follow_read(st, f, &rd);
}

/* Catch up before a figure or a walk over the whole index. */
static void st_follow_now(srd_store *st)
{
    srdi_follow_fn f = atomic_load(&st->follow);
    if (f)
        f(st, true);
}

srd_err srd_get(srd_store *st, srd_val key, srd_view *view)
{
    if (!srdi_val_ok(key)) {
        if (view)
            memset(view, 0, sizeof *view);
        return SRD_EINVAL;
    }
    return srd_get_hash(st, srdi_key_of(key), view);
}

srd_err srd_get_copy(srd_store *st, srd_val key, void *buf, size_t cap,
                     size_t *len)
{
    if (!len || (!buf && cap > 0))
        return SRD_EINVAL;
    srd_view v;
    srd_err rc = srd_get(st, key, &v);
    if (rc != SRD_OK)
        return rc;
    *len = v.len;
    if (v.len > cap)
        rc = SRD_ETOOBIG;
    else /* buf is NULL only when cap is 0, and no value is empty */
        memcpy(buf, v.data, v.len); // NOLINT(clang-analyzer-core.NonNull*)
    srd_view_release(&v);
    return rc;
}

/* Lookups in groups: first touch every slot, then every payload, so the
 * memory misses of a group overlap instead of queueing. */
#define MANY_GROUP 16

static srd_err st_get_many_hash(srd_store *st, const uint64_t *hashes,
                                size_t n, srd_view *views, size_t *found,
                                st_chk *c)
{
    if (!st || (n > 0 && (!hashes || !views)))
        return SRD_EINVAL;
    size_t hits = 0;
    srd_err rc = SRD_OK;
    srdi_ebr_rec *r = srdi_ebr_enter();
    const st_snap *sn = atomic_load_explicit(&st->snap, memory_order_acquire);
    if (st_chk_replaced(sn, c)) {
        srdi_ebr_leave(r);
        return SRD_OK;
    }
    for (size_t g = 0; g < n; g += MANY_GROUP) {
        size_t m = n - g < MANY_GROUP ? n - g : MANY_GROUP;
        uint64_t locs[MANY_GROUP], bounds[MANY_GROUP], spans[MANY_GROUP][2];
        srd_err errs[MANY_GROUP] = {SRD_OK};
        for (size_t i = 0; i < m; i++) {
            srdi_index_prefetch(sn->idx, hashes[g + i]);
            if (sn->shx)
                srdi_shx_prefetch(sn->shx, hashes[g + i]);
        }
        for (size_t i = 0; i < m; i++) {
            errs[i] = st_find(sn, hashes[g + i], &locs[i], &bounds[i],
                              spans[i]);
            if (errs[i] == SRD_OK && srdi_loc_is_live(locs[i]))
                __builtin_prefetch(sn->map->base + spans[i][0]);
        }
        for (size_t i = 0; i < m; i++) {
            srd_view *v = &views[g + i];
            memset(v, 0, sizeof *v);
            if (errs[i] != SRD_OK)
                rc = errs[i];
            if (errs[i] != SRD_OK || !srdi_loc_is_live(locs[i]))
                continue;
            view_fill(sn->map, hashes[g + i], spans[i], bounds[i], v);
            st_chk_bound(sn, c, bounds[i]);
            hits++;
        }
    }
    srdi_ebr_leave(r);
    if (rc != SRD_OK) /* no view of a failed call is left to the caller */
        for (size_t i = 0; i < n; i++)
            srd_view_release(&views[i]);
    if (found)
        *found = rc == SRD_OK ? hits : 0;
    return rc;
}

srd_err srd_get_many(srd_store *st, const srd_val *keys, size_t n,
                     srd_view *views, size_t *found)
{
    if (!st || (n > 0 && (!keys || !views)))
        return SRD_EINVAL;
    uint64_t hs[MANY_GROUP];
    size_t total = 0;
    for (size_t g = 0; g < n; g += MANY_GROUP) {
        size_t m = n - g < MANY_GROUP ? n - g : MANY_GROUP;
        for (size_t i = 0; i < m; i++) {
            if (!srdi_val_ok(keys[g + i])) {
                for (size_t j = 0; j < g; j++)
                    srd_view_release(&views[j]);
                return SRD_EINVAL;
            }
            hs[i] = srdi_key_of(keys[g + i]);
        }
        size_t f = 0;
        srd_err rc = srd_get_many_hash(st, hs, m, views + g, &f);
        if (rc != SRD_OK) {
            for (size_t j = 0; j < g + m; j++)
                srd_view_release(&views[j]);
            return rc;
        }
        total += f;
    }
    if (found)
        *found = total;
    return SRD_OK;
}

static srd_err st_exists_hash(srd_store *st, uint64_t key_hash, bool *exists,
                              st_chk *c)
{
    if (!st || !exists)
        return SRD_EINVAL;
    *exists = false;
    srdi_ebr_rec *r = srdi_ebr_enter();
    const st_snap *sn = atomic_load_explicit(&st->snap, memory_order_acquire);
    if (st_chk_replaced(sn, c)) {
        srdi_ebr_leave(r);
        return SRD_OK;
    }
    uint64_t loc, bound;
    srd_err rc = st_find(sn, key_hash, &loc, &bound, NULL);
    *exists = rc == SRD_OK && srdi_loc_is_live(loc);
    (void)bound; /* no raise: it would delay the answer that first sees a
                   * key (CLIENT.md, "Following the shared index") */
    srdi_ebr_leave(r);
    return rc;
}

srd_err srd_exists(srd_store *st, srd_val key, bool *exists)
{
    if (!srdi_val_ok(key))
        return SRD_EINVAL;
    return srd_exists_hash(st, srdi_key_of(key), exists);
}

srd_err srd_meta(srd_store *st, srd_val key, srd_entry_meta *meta)
{
    if (!meta)
        return SRD_EINVAL;
    srd_view v;
    srd_err rc = srd_get(st, key, &v);
    if (rc != SRD_OK)
        return rc;
    /* A view past the committed tail (an entry srdd wrote since, found in
     * the shared index) was read with pread first: the file holds its
     * trailer, and its CRC was checked (st_loc_ok). */
    const srdi_map *m = v._map;
    uint64_t end = v.offset + v.len + SRDI_TRAILER_SIZE;
    memset(meta, 0, sizeof *meta);
    uint64_t hash;
    srdi_format_get_trailer(m->base + end - SRDI_TRAILER_SIZE, &hash,
                            &meta->prev_offset, &meta->checksum);
    meta->key_hash = hash;
    meta->payload_offset = v.offset;
    meta->len = v.len;
    meta->entry_end = end;
    meta->checksum_valid = srdi_crc32(0, v.data, v.len) == meta->checksum;
    srd_view_release(&v);
    return SRD_OK;
}

struct srd_read_stream {
    srd_view v;
    size_t pos;
};

srd_err srd_read_stream_open(srd_store *st, srd_val key, srd_read_stream **out)
{
    if (!out)
        return SRD_EINVAL;
    *out = NULL;
    srd_read_stream *rs = calloc(1, sizeof *rs);
    if (!rs)
        return SRD_ENOMEM;
    srd_err rc = srd_get(st, key, &rs->v);
    if (rc != SRD_OK) {
        free(rs);
        return rc;
    }
    *out = rs;
    return SRD_OK;
}

srd_err srd_read_stream_read(srd_read_stream *rs, void *buf, size_t cap,
                             size_t *n)
{
    if (!rs || !n || (!buf && cap > 0))
        return SRD_EINVAL;
    size_t left = rs->v.len - rs->pos;
    *n = left < cap ? left : cap;
    if (*n > 0) /* buf may be NULL when cap is 0 */
        memcpy(buf, rs->v.data + rs->pos, *n);
    rs->pos += *n;
    return SRD_OK;
}

void srd_read_stream_close(srd_read_stream *rs)
{
    if (!rs)
        return;
    srd_view_release(&rs->v);
    free(rs);
}

/* ======================================================================== */
/* Iteration                                                                */
/* ======================================================================== */

typedef struct live_list {
    srdi_live_item *v;
    size_t n, cap;
    uint64_t below;
    const srdi_map *check; /* a checked table's map: locs checked on it */
    bool bad;              /* one failed that check */
} live_list;

static int live_collect(void *ctx, uint64_t hash, uint64_t loc)
{
    live_list *l = ctx;
    uint64_t bound;
    if (srdi_loc_pos(loc) >= l->below)
        return 0;
    if (l->check && !st_loc_ok(l->check, -1, hash, loc, &bound, NULL)) {
        l->bad = true; /* never copied, never shown as that key's */
        return 1;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        srdi_live_item *p = realloc(l->v, cap * sizeof *p);
        if (!p)
            return 1;
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n++] = (srdi_live_item){srdi_loc_pos(loc), hash, loc};
    return 0;
}

static int cmp_item(const void *a, const void *b)
{
    return srdi_cmp_u64(&((const srdi_live_item *)a)->pos,
                   &((const srdi_live_item *)b)->pos);
}

/* live_collect for every used slot of a shared index (tombstones too). */
static int live_collect_used(void *ctx, uint64_t hash, uint64_t loc)
{
    return srdi_loc_is_live(loc) ? live_collect(ctx, hash, loc) : 0;
}

srd_err srdi_store_live_sorted(const st_snap *sn, uint64_t below,
                               srdi_live_item **items, size_t *n)
{
    live_list l = {.below = below, .check = sn->checked ? sn->map : NULL};
    /* srdd's writer: its table is the shared index file (wshared) */
    if (sn->wshared ? srdi_shx_each(sn->shx, live_collect_used, &l)
                    : srdi_index_each(sn->idx, live_collect, &l)) {
        free(l.v);
        return l.bad ? SRD_ECORRUPT : SRD_ENOMEM;
    }
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, cmp_item);
    *items = l.v;
    *n = l.n;
    return SRD_OK;
}

/* The live set of a snap with a shared index: every key the shared index
 * or the overlay holds, as st_find resolves it (checked locs only). */
typedef struct merged_ctx {
    const st_snap *sn;
    live_list l;
    bool overlay;  /* second pass: keys only the overlay holds */
    srd_err rc;
} merged_ctx;

static int merged_add(void *ctx, uint64_t hash, uint64_t loc)
{
    merged_ctx *mc = ctx;
    (void)loc;
    if (mc->overlay && srdi_shx_lookup(mc->sn->shx, hash) != 0)
        return 0; /* the first pass resolved it */
    uint64_t found, bound;
    mc->rc = st_find(mc->sn, hash, &found, &bound, NULL);
    if (mc->rc != SRD_OK)
        return 1;
    if (!srdi_loc_is_live(found))
        return 0;
    if (live_collect(&mc->l, hash, found)) {
        mc->rc = SRD_ENOMEM;
        return 1;
    }
    return 0;
}

static srd_err st_live_merged(const st_snap *sn, srdi_live_item **items,
                              size_t *n)
{
    merged_ctx mc = {.sn = sn, .l = {.below = UINT64_MAX}, .rc = SRD_OK};
    if (srdi_shx_each(sn->shx, merged_add, &mc) == 0) {
        mc.overlay = true;
        srdi_index_each(sn->idx, merged_add, &mc);
    }
    if (mc.rc != SRD_OK) {
        free(mc.l.v);
        return mc.rc;
    }
    if (mc.l.n > 1)
        qsort(mc.l.v, mc.l.n, sizeof *mc.l.v, cmp_item);
    *items = mc.l.v;
    *n = mc.l.n;
    return SRD_OK;
}

struct srd_iter {
    srdi_map *map; /* reference: the locs below point into it */
    srdi_live_item *items;
    size_t n, next;
    bool checked;  /* items were checked against the file (shared index):
                      entries past the committed tail may be read */
};

srd_err srd_iter_open(srd_store *st, srd_iter **out)
{
    if (!st || !out)
        return SRD_EINVAL;
    *out = NULL;
    srd_iter *it = calloc(1, sizeof *it);
    if (!it)
        return SRD_ENOMEM;
    st_follow_now(st);
    /* Under mu the table cannot be rebuilt or swapped under us. */
    pthread_mutex_lock(&st->mu);
    st_snap *sn = atomic_load(&st->snap);
    srd_err rc = sn->shx ? st_live_merged(sn, &it->items, &it->n)
                         : srdi_store_live_sorted(sn, UINT64_MAX, &it->items,
                                                  &it->n);
    it->checked = sn->shx != NULL;
    it->map = sn->map;
    srdi_map_ref(it->map);
    pthread_mutex_unlock(&st->mu);
    if (rc != SRD_OK) {
        srd_iter_close(it);
        return rc;
    }
    *out = it;
    return SRD_OK;
}

srd_err srd_iter_next(srd_iter *it, srd_view *view)
{
    if (!it || !view)
        return SRD_EINVAL;
    memset(view, 0, sizeof *view);
    if (it->next >= it->n)
        return SRD_ENOTFOUND;
    srdi_live_item *x = &it->items[it->next++];
    uint64_t bound = atomic_load(&it->map->committed), span[2];
    if (it->checked && st_loc_end(x->loc) > bound)
        bound = st_loc_end(x->loc);
    if (!srdi_store_resolve_below(it->map, x->loc, bound, &span[0], &span[1]))
        return SRD_ECORRUPT;
    view_fill(it->map, x->hash, span, bound, view);
    return SRD_OK;
}

void srd_iter_close(srd_iter *it)
{
    if (!it)
        return;
    srdi_map_unref(it->map);
    free(it->items);
    free(it);
}

/* ======================================================================== */
/* State and maintenance                                                    */
/* ======================================================================== */

/* Live keys of a snap with a shared index: the writer's count as of its
 * covered tail plus what the overlay's entries past that tail change
 * (caller holds mu). Entries the covered tail has passed are in the
 * writer's count already: counting them again would promise keys a read
 * cannot find yet. */
static uint64_t st_shared_live(const st_snap *sn)
{
    uint64_t covered = 0, live = 0;
    if (!srdi_shx_live_at(sn->shx, &covered, &live)) {
        srdi_shx_stats s;
        srdi_shx_stats_get(sn->shx, &s);
        live = s.live;
        covered = 0;
    }
    int64_t n = (int64_t)live;
    for (size_t i = 0; i < sn->n_deltas; i++)
        if (sn->deltas[i].end > covered)
            n += sn->deltas[i].d;
    return n > 0 ? (uint64_t)n : 0;
}

srd_err srd_get_info(srd_store *st, srd_info *info)
{
    if (!st || !info)
        return SRD_EINVAL;
    memset(info, 0, sizeof *info);
    st_follow_now(st);
    pthread_mutex_lock(&st->mu);
    st_snap *sn = atomic_load(&st->snap);
    info->live_keys = srdi_index_live(sn->idx);
    info->entries = st->entries;
    info->tail = atomic_load(&sn->map->committed);
    info->live_bytes = st->live_bytes;
    info->index_bytes = srdi_index_memory(sn->idx);
    uint64_t live_span = st->live_span;
    if (sn->shx) { /* the writer's figures, as of the tail it covers */
        srdi_shx_stats s;
        srdi_shx_stats_get(sn->shx, &s);
        info->live_keys = st_shared_live(sn);
        info->live_bytes = s.live_bytes;
        live_span = s.live_span;
    }
    /* fstat under mu: a compaction switching files closes the old fd */
    int fd = st->w ? srdi_writer_fd(st->w) : st->ro_fd;
    struct stat sb;
    info->file_size = fstat(fd, &sb) == 0 ? (uint64_t)sb.st_size : info->tail;
    info->layout = srdi_format_layout(st->align); /* compaction sets it */
    info->readonly = st->w == NULL && st->client == NULL;
    info->daemon = st->client != NULL; /* set under mu (front.c) */
    pthread_mutex_unlock(&st->mu);
    info->dead_bytes = info->tail > live_span ? info->tail - live_span : 0;
    return SRD_OK;
}

srd_err srd_count(srd_store *st, uint64_t *live_keys)
{
    srd_info i = {0};
    if (!live_keys)
        return SRD_EINVAL;
    srd_err rc = srd_get_info(st, &i);
    *live_keys = i.live_keys;
    return rc;
}

srd_err srd_tail(srd_store *st, uint64_t *tail)
{
    srd_info i = {0};
    if (!tail)
        return SRD_EINVAL;
    srd_err rc = srd_get_info(st, &i);
    *tail = i.tail;
    return rc;
}
