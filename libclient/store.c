/* SPDX-License-Identifier: MIT */
/*
 * store.c -- the public API of an embedded store: open/close with
 * recovery, lock-free reads through the index and the mapping, and writes
 * through the one writer (see store_impl.h for how they interlock).
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "multiproc.h"
#include "errno_map.h"
#include "format.h"
#include "io.h"
#include "openrec.h"
#include "recovery.h"
#include "srd_assert.h"
#include "store_impl.h"
#include "synced.h"

#define ST_KNOWN_FLAGS                                                      \
    (SRD_OPEN_CREATE | SRD_OPEN_READONLY | SRD_OPEN_REPAIR |                \
     SRD_OPEN_EMBEDDED | SRD_OPEN_CLIENT | SRD_OPEN_GROUP)

static bool val_ok(srd_val v)
{
    return v.ptr != NULL || v.len == 0;
}

static uint64_t key_of(srd_val k)
{
    return srd_key_hash(k.ptr, k.len);
}

static void st_shared_cover(srd_store *st);

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
static bool st_resolve_below(const srdi_map *m, uint64_t loc,
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
    return st_resolve_below(m, loc,
                            atomic_load_explicit(&m->committed,
                                                 memory_order_acquire),
                            payload, len);
}

/* ======================================================================== */
/* The shared index: trusting nothing it says                               */
/* ======================================================================== */

static bool st_shared_enabled(void)
{
    const char *e = getenv("SRD_SHARED_INDEX");
    return !e || strcmp(e, "0") != 0;
}

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
 * trailer's key hash must be hash and the entry well formed. Past them
 * (written since): also inside the file fd (a pread reaches its end; fd
 * -1: never) and with a matching CRC. Never reads a byte the checks have
 * not bounded.
 */
static bool st_loc_ok(const srdi_map *m, int fd, uint64_t hash, uint64_t loc,
                      uint64_t *bound)
{
    uint64_t committed = atomic_load_explicit(&m->committed,
                                              memory_order_acquire);
    uint64_t end = st_loc_end(loc);
    if (end <= SRDI_TRAILER_SIZE || end > m->reserved)
        return false;
    bool fresh = end > committed;
    if (!(loc & (SRDI_LOC_TOMB | SRDI_LOC_LARGE))) /* the value's first line,
        which the caller reads next: its miss overlaps the trailer's */
        __builtin_prefetch(m->base + srdi_loc_payload(loc));
    uint8_t tr[SRDI_TRAILER_SIZE];
    if (fresh && (fd < 0 || pread(fd, tr, sizeof tr,
                                  (off_t)(end - SRDI_TRAILER_SIZE)) !=
                                (ssize_t)sizeof tr))
        return false;
    uint64_t h, prev, p, len;
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
    if (!st_resolve_below(m, loc, *bound, &p, &len) || prev > p ||
        p + len + SRDI_TRAILER_SIZE != end)
        return false;
    return !fresh || srdi_crc32(0, m->base + p, (size_t)len) == crc;
}

/* The loc a read of hash uses in sn (0: none) and the bound its entry is
 * read below: the newer of the private table's and, once checked, the
 * shared index's. SRD_ECORRUPT when the shared index names anything else
 * than an entry of this key. */
static srd_err st_find(const st_snap *sn, uint64_t hash, uint64_t *out,
                       uint64_t *bound)
{
    uint64_t own = srdi_index_lookup(sn->idx, hash);
    *out = own;
    *bound = atomic_load_explicit(&sn->map->committed, memory_order_acquire);
    if (!sn->shx) /* checked: a writer's table taken from the file */
        return sn->checked && own != 0 &&
                       !st_loc_ok(sn->map, -1, hash, own, bound)
                   ? SRD_ECORRUPT
                   : SRD_OK;
    uint64_t sh = srdi_shx_lookup(sn->shx, hash);
    if (sh == 0 || (own != 0 && srdi_loc_pos(own) >= srdi_loc_pos(sh)))
        return SRD_OK;
    if (!st_loc_ok(sn->map, sn->shx_fd, hash, sh, bound))
        return SRD_ECORRUPT;
    *out = sh;
    return SRD_OK;
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

/* The writer stops keeping a shared index (it failed to update it):
 * readers fall back to their own (caller holds mu or is alone). */
static void st_shared_drop(srd_store *st)
{
    srdi_shxw_abandon(st->shw);
    st->shw = NULL;
}

static void st_shared_mirror(srd_store *st, uint64_t hash, uint64_t loc)
{
    if (st->shw && srdi_shxw_apply(st->shw, hash, loc) != SRD_OK)
        st_shared_drop(st);
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

/* The loc of entry e and its payload length, in this store's layout
 * (entries from srdd carry the 64-byte layout's payload). */
static uint64_t st_entry_loc(const srd_store *st, const srdi_entry *e,
                             uint64_t *vlen)
{
    uint64_t pay = e->start + srdi_format_pad_in(e->start, st->align);
    *vlen = e->end - SRDI_TRAILER_SIZE - pay;
    return e->tombstone ? srdi_loc_tomb(e->start)
                        : srdi_loc_value(pay, *vlen, e->end);
}

srd_err srdi_store_apply(srd_store *st, st_snap *sn, const srdi_entry *e,
                         size_t n)
{
    /* Entries the shared index covers need no overlay slot. */
    uint64_t covered = sn->shx ? srdi_shx_covered(sn->shx) : 0;
    for (size_t i = 0; n > 1 && i < n; i++)
        srdi_index_prefetch(sn->idx, e[i].key_hash);
    for (size_t i = 0; i < n; i++) {
        uint64_t vlen;
        uint64_t loc = st_entry_loc(st, &e[i], &vlen);
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
        st_shared_mirror(st, e[i].key_hash, loc);
        if (srdi_loc_is_live(old)) {
            uint64_t len, span;
            loc_size(sn->map, old, &len, &span);
            st->live_bytes -= len;
            st->live_span -= span;
        }
        if (!e[i].tombstone) {
            st->live_bytes += vlen;
            st->live_span += e[i].end - e[i].start;
        }
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
static srd_err st_load_walk(srd_store *st, st_snap *sn, int fd, uint64_t base,
                            uint64_t tail)
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
        rc = st_load_walk(st, sn, fd, 0, tail);
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

/* ---- reader handles over the shared index --------------------------- */

/* The shared index's covered tail c, checked: the store holds, at c, the
 * end of an entry with the trailer the index recorded (so the file was not
 * rewritten or cut under it). */
static srd_err st_shared_claim_ok(int fd, const srdi_shx *x, uint64_t *c)
{
    uint8_t want[SRDI_TRAILER_SIZE], have[SRDI_TRAILER_SIZE] = {0};
    if (!srdi_shx_covered_at(x, c, want))
        return SRD_ECORRUPT;
    if (*c == 0)
        return SRD_OK;
    if (*c < SRDI_TRAILER_SIZE)
        return SRD_ECORRUPT;
    int err;
    size_t k = srdi_pread_full(fd, have, sizeof have, *c - SRDI_TRAILER_SIZE,
                               &err);
    return k == sizeof have && memcmp(have, want, sizeof have) == 0
               ? SRD_OK
               : SRD_ECORRUPT;
}

/* The writer is ahead of our tail (it covers c > tail): every entry in
 * (tail, c] must be one recovery would keep, i.e. chained down to tail
 * and with a good CRC (recovery cut the store short of c otherwise). */
static srd_err st_shared_ahead_ok(int fd, uint64_t tail, uint64_t c,
                                  uint32_t align)
{
    uint8_t tr[SRDI_TRAILER_SIZE];
    int err;
    bool have = tail >= SRDI_TRAILER_SIZE &&
                srdi_pread_full(fd, tr, sizeof tr, tail - SRDI_TRAILER_SIZE,
                                &err) == sizeof tr;
    if (tail > 0 && !have)
        return SRD_ECORRUPT;
    uint64_t good = 0, t = tail;
    bool reached = false;
    /* find_tail checks c's own CRC and chain, check the CRCs below it */
    srd_err rc = srdi_recovery_find_tail_in(fd, tail, c, align, &t, NULL);
    if (rc == SRD_OK && t != c)
        rc = SRD_ECORRUPT;
    if (rc == SRD_OK)
        rc = srdi_recovery_check_in(fd, c, tail, have ? tr : NULL, align,
                                    &good, &reached);
    if (rc == SRD_OK && (good != c || (tail > 0 && !reached)))
        rc = SRD_ECORRUPT;
    return rc;
}

/* A snap over the shared index x for fd, whose committed tail is tail:
 * map is reused (a reference is taken) or, when NULL, opened. The claim
 * x makes about its covered tail c is checked here: c must be an entry end
 * of fd's chain, so the chain from tail walks down to c (whose entries go
 * into the overlay) or, when the writer is ahead, from c down to tail.
 * Takes x's reference, also on failure. */
static srd_err st_shared_snap(srd_store *st, int fd, uint64_t tail,
                              srdi_shx *x, srdi_map *map, st_snap **out)
{
    st_snap *sn = calloc(1, sizeof *sn);
    if (!sn) {
        srdi_shx_unref(x);
        return SRD_ENOMEM;
    }
    sn->shx = x;
    sn->shx_fd = dup(fd);
    sn->own_index = true;
    srd_err rc = sn->shx_fd >= 0 ? srdi_index_create(64, &sn->idx)
                                 : srdi_errno(errno);
    if (sn->shx_fd < 0) {
        sn->shx = NULL;
        srdi_shx_unref(x);
    }
    if (rc == SRD_OK && map) {
        srdi_map_ref(map);
        sn->map = map;
    } else if (rc == SRD_OK) {
        rc = srdi_map_open(fd, tail, &sn->map);
        if (rc == SRD_OK) {
            sn->map->align = st->align;
            atomic_store(&sn->map->committed, tail);
        }
    }
    uint64_t c = 0;
    if (rc == SRD_OK)
        rc = st_shared_claim_ok(fd, x, &c);
    if (rc == SRD_OK && c <= tail) {
        rc = st_load_walk(st, sn, fd, c, tail);
    } else if (rc == SRD_OK) {
        rc = st_shared_ahead_ok(fd, tail, c, st->align);
    }
    if (rc != SRD_OK) {
        srdi_store_snap_free(sn);
        return rc;
    }
    *out = sn;
    return SRD_OK;
}

/* The shared index of st's store file fd, if one is usable. */
static srd_err st_shared_open(const srd_store *st, int fd, srdi_shx **x)
{
    struct stat sb;
    *x = NULL;
    if (!st_shared_enabled())
        return SRD_ENOENT;
    if (fstat(fd, &sb) != 0)
        return srdi_errno(errno);
    return srdi_shx_open(st->path, &sb, x);
}

srd_err srdi_store_load_reader(srd_store *st, int fd, uint64_t tail,
                               uint64_t entries, st_snap **out)
{
    srdi_shx *x = NULL;
    /* a file written for another reading of the store does not apply */
    if (st_shared_open(st, fd, &x) == SRD_OK && srdi_shx_align(x) == st->align) {
        srdi_shx_stats s;
        srdi_shx_stats_get(x, &s);
        uint64_t e0 = st->entries;
        st->entries = 0;
        if (st_shared_snap(st, fd, tail, x, NULL, out) == SRD_OK) {
            st->entries += s.entries;
            return SRD_OK;
        }
        st->entries = e0;
    } else {
        srdi_shx_unref(x);
    }
    return srdi_store_load(st, fd, tail, entries, out);
}

/* The entry ending at c (the shared index's covered tail, whose trailer
 * matched) decodes and has a good CRC. */
static srd_err st_entry_ok(int fd, const srdi_shx *x, uint64_t c,
                           uint32_t align)
{
    uint8_t tr[SRDI_TRAILER_SIZE];
    uint64_t cov, hash, prev, t = 0;
    uint32_t crc;
    if (!srdi_shx_covered_at(x, &cov, tr) || cov != c)
        return SRD_ECORRUPT;
    srdi_format_get_trailer(tr, &hash, &prev, &crc);
    if (prev >= c)
        return SRD_ECORRUPT;
    srd_err rc = srdi_recovery_find_tail_in(fd, prev, c, align, &t, NULL);
    return rc == SRD_OK && t != c ? SRD_ECORRUPT : rc;
}

/* The entries of fd in (from, t] that the synced-tail sidecar does not
 * vouch for have good CRCs (t's own is checked); SRD_ECORRUPT when one
 * does not, or the sidecar is missing or is not of this file (then only
 * the whole recovery may decide). */
static srd_err st_unsynced_ok(const srd_store *st, const struct stat *sb,
                              int fd, uint64_t t, uint32_t align)
{
    srdi_synced rec;
    if (!srdi_synced_read(st->path, &rec) || !srdi_synced_applies(&rec, sb))
        return SRD_ECORRUPT;
    bool written = rec.written >= rec.synced && srdi_synced_this_boot(&rec);
    uint64_t v = written ? rec.written : rec.synced;
    const uint8_t *vt = written ? rec.written_trailer : rec.synced_trailer;
    if (v > t)
        return SRD_ECORRUPT;
    if (v == t)
        return SRD_OK;
    uint64_t good = 0;
    bool reached = false;
    srd_err rc = srdi_recovery_check_in(fd, t, v, v ? vt : NULL, align, &good,
                                        &reached);
    return rc == SRD_OK && (good != t || (v > 0 && !reached)) ? SRD_ECORRUPT
                                                              : rc;
}

/*
 * A read-only open through the shared index, without walking the store:
 * the file vouches (checked as in st_shared_snap) for the chain up to its
 * covered tail c > 0, so recovery only searches for the tail t past c;
 * the entries the synced-tail sidecar does not vouch for must have good
 * CRCs. Any doubt (no sidecar, a bad CRC, anything odd): SRD_ECORRUPT,
 * and the caller runs the whole recovery, which decides and reports.
 */
/* The shared index file of fd when it vouches for a chain up to its
 * covered tail *c > 0: the store holds there the entry it recorded, sound
 * and with a good CRC; *align is the layout it was written for. */
static srd_err st_shared_base(const srd_store *st, int fd, srdi_shx **x,
                              uint64_t *c, uint32_t *align)
{
    srd_err rc = st_shared_open(st, fd, x);
    if (rc == SRD_OK)
        rc = st_shared_claim_ok(fd, *x, c);
    if (rc == SRD_OK && *c == 0)
        rc = SRD_ECORRUPT; /* nothing to gain; the full rules apply */
    *align = rc == SRD_OK ? srdi_shx_align(*x) : SRDI_ALIGN;
    if (rc == SRD_OK) /* the entry ending at c: sound, good CRC */
        rc = st_entry_ok(fd, *x, *c, *align);
    if (rc != SRD_OK) {
        srdi_shx_unref(*x);
        *x = NULL;
    }
    return rc;
}

static srd_err st_open_ro_shared(srd_store *st, int fd, st_snap **out)
{
    struct stat sb;
    srdi_shx *x = NULL;
    uint64_t c = 0, t = 0;
    uint32_t align;
    srd_err rc = st_shared_base(st, fd, &x, &c, &align);
    if (rc == SRD_OK && fstat(fd, &sb) != 0)
        rc = srdi_errno(errno);
    if (rc == SRD_OK)
        rc = srdi_recovery_find_tail_in(fd, c, (uint64_t)sb.st_size, align,
                                        &t, NULL);
    if (rc == SRD_OK)
        rc = st_unsynced_ok(st, &sb, fd, t, align);
    if (rc != SRD_OK) {
        srdi_shx_unref(x);
        return rc;
    }
    st->align = align;
    st->entries = 0;
    srdi_shx_stats s;
    srdi_shx_stats_get(x, &s);
    rc = st_shared_snap(st, fd, t, x, NULL, out);
    st->entries += s.entries;
    return rc;
}

/* ---- the writer's open from the shared index file ------------------- */

/* The writer's snap over fd at tail from the index file st->shw took over
 * at c: its slots become the private table as they lie (a copy-on-write
 * mapping of the file: nothing is copied), the statistics it holds for c the store's, and the entries in
 * (c, tail] are replayed into both. Reads check every loc of that table
 * against its entry's trailer (checked), as readers of the file do. */
static srd_err st_snap_from_file(srd_store *st, int fd, uint64_t c,
                                 uint64_t tail, st_snap **out)
{
    st_snap *sn = calloc(1, sizeof *sn);
    if (!sn)
        return SRD_ENOMEM;
    sn->own_index = true;
    sn->checked = true;
    srdi_shx_stats s;
    srdi_shxw_stats_get(st->shw, &s);
    srd_err rc = srdi_index_borrow(srdi_shxw_fd(st->shw),
                                   srdi_shxw_len(st->shw), SRDI_SHX_CAP_AT,
                                   srdi_shxw_used(st->shw), s.live,
                                   &sn->idx);
    if (rc == SRD_OK)
        rc = srdi_map_open(fd, tail, &sn->map);
    if (rc == SRD_OK) {
        sn->map->align = st->align;
        atomic_store(&sn->map->committed, tail);
        st->entries = s.entries;
        st->live_bytes = s.live_bytes;
        st->live_span = s.live_span;
        if (c < tail)
            rc = st_load_walk(st, sn, fd, c, tail);
    }
    if (rc == SRD_OK && !st->shw)
        rc = SRD_ENOMEM; /* the replay could not update the file */
    if (rc != SRD_OK) {
        srdi_store_snap_free(sn);
        return rc;
    }
    *out = sn;
    return SRD_OK;
}

/*
 * A writer open that does not walk the store: the index file vouches for
 * the chain up to its covered tail c (checked as for readers), so the
 * tail search starts at c (srdi_openrec_run_from: the same rules for what
 * follows), and a file the last writer left whole (a checksum from its
 * close, or exact at c after kill -9 in this boot: shindex.c invariants 5
 * and 6) is taken over as the index. *ran: the recovery ran (rec holds
 * its result, and the open goes on from it even without *sn); otherwise
 * nothing was done and the whole recovery is to run.
 */
static srd_err st_open_writer_shared(srd_store *st, int fd, unsigned flags,
                                     srdi_openrec *rec, st_snap **sn,
                                     bool *ran)
{
    srdi_shx *x = NULL;
    uint64_t c = 0, c2 = 0;
    uint32_t align;
    uint8_t tr[SRDI_TRAILER_SIZE];
    *ran = false;
    *sn = NULL;
    if (st_shared_base(st, fd, &x, &c, &align) != SRD_OK)
        return SRD_OK;
    srdi_shx_unref(x);
    srd_err rc = srdi_openrec_run_from(st->path, fd, flags, align, c, rec);
    if (rc == SRD_ENOENT)
        return SRD_OK;
    *ran = true;
    if (rc != SRD_OK)
        return rc;
    st->align = align;
    if (srdi_shxw_reuse(st->path, fd, align, rec->tail, &st->shw, &c2, tr) !=
        SRD_OK)
        return SRD_OK; /* a new file is written after the load */
    if (c2 != c || st_snap_from_file(st, fd, c, rec->tail, sn) != SRD_OK) {
        srdi_shxw_abandon(st->shw); /* not to be taken over again */
        st->shw = NULL;
    }
    return SRD_OK;
}

/* Reader side, under mu: follow a replaced shared index (growth, a new
 * writer) when the new one is usable for our file, and drop an overlay the
 * shared index has caught up with. Failures keep the current snap: it
 * stays correct, the overlay just keeps what the index lacks. */
static void st_shared_follow(srd_store *st)
{
    st_snap *sn = atomic_load(&st->snap);
    if (!sn->shx || st->ro_fd < 0)
        return;
    uint64_t committed = atomic_load(&sn->map->committed);
    srdi_shx *x = NULL;
    if (srdi_shx_superseded(sn->shx)) {
        if (st_shared_open(st, st->ro_fd, &x) != SRD_OK)
            return;
    } else if (sn->over_max == 0 || srdi_shx_covered(sn->shx) < sn->over_max) {
        return;
    } else {
        srdi_shx_ref(sn->shx);
        x = sn->shx;
    }
    uint64_t entries = st->entries;
    st_snap *next;
    if (st_shared_snap(st, st->ro_fd, committed, x, sn->map, &next) ==
        SRD_OK)
        srdi_store_publish(st, next);
    st->entries = entries; /* the walk counted entries already known */
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
        st_shared_follow(st);
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
/* Open and close                                                           */
/* ======================================================================== */

void srd_options_init(srd_options *opts)
{
    if (!opts)
        return;
    opts->flags = SRD_OPEN_CREATE;
    opts->sync = SRD_SYNC_ALWAYS;
    opts->sync_interval_ms = 100;
    opts->layout = SRD_LAYOUT_ALIGNED64;
}

/* *made: the lock file is this open's (removed again if it fails). */
static srd_err st_open_files(srd_store *st, const srd_options *o, int *lfd,
                             int *fd, bool *made)
{
    if (!(o->flags & SRD_OPEN_READONLY)) {
        srd_err rc = srdi_writer_lock(st->path, o->flags & SRD_OPEN_CREATE,
                                      o->flags & SRD_OPEN_GROUP ? 0640 : 0600,
                                      lfd, fd, made);
        if (rc == SRD_OK) {
            /* We hold the lock: any compaction file is a crashed one. */
            char tmp[4096];
            snprintf(tmp, sizeof tmp, "%s.compact", st->path);
            unlink(tmp);
        }
        return rc;
    }
    /* O_NONBLOCK: opening a FIFO must not hang; regular files ignore it. */
    *fd = open(st->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (*fd < 0)
        return srdi_errno(errno);
    struct stat sb;
    srd_err rc = SRD_OK;
    if (fstat(*fd, &sb) != 0)
        rc = srdi_errno(errno);
    else if (S_ISDIR(sb.st_mode))
        rc = srdi_errno(EISDIR);
    else if (!S_ISREG(sb.st_mode))
        rc = SRD_EINVAL;
    if (rc != SRD_OK) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

srd_err srd_open(const char *path, const srd_options *opts, srd_store **out)
{
    srd_options o;
    if (out)
        *out = NULL;
    if (!path || !*path || !out)
        return SRD_EINVAL;
    if (opts)
        o = *opts;
    else
        srd_options_init(&o);
    if ((o.flags & ~ST_KNOWN_FLAGS) || (unsigned)o.sync > SRD_SYNC_NEVER ||
        (unsigned)o.layout > SRD_LAYOUT_UNPADDED ||
        !srdi_client_flags_ok(o.flags))
        return SRD_EINVAL;
    return srdi_multi_open(path, &o, out);
}

/* A switch must not wait behind a stream of readers: prefer the writer. */
static void st_gate_init(srd_store *st)
{
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&st->gate, &a);
    pthread_rwlockattr_destroy(&a);
}

srd_err srdi_store_open_once(const char *path, const srd_options *opts,
                             srd_store **out)
{
    srd_options o = *opts;
    *out = NULL;
    srd_store *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        return SRD_ENOMEM;
    }
    st->flags = o.flags;
    st->sync_never = o.sync == SRD_SYNC_NEVER;
    st->sync_mode = o.sync;
    st->sync_ms = o.sync_interval_ms;
    st->ro_fd = -1;
    st->pid = getpid();
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    st_gate_init(st);
    int lfd = -1, fd = -1;
    bool lock_made = false;
    srdi_openrec rec = {0};
    st_snap *sn = NULL;
    srd_err rc = (o.flags & SRD_OPEN_CLIENT)
                     ? SRD_EBUSY
                     : st_open_files(st, &o, &lfd, &fd, &lock_made);
    /* ---- client mode: srdd holds the store (client.c) ---- */
    if (srdi_client_wanted(st->path, o.flags, rc)) {
        rc = srdi_client_open(st);
        if (rc != SRD_OK) {
            srd_close(st);
            return rc;
        }
        *out = st;
        return SRD_OK;
    }
    bool fast = rc == SRD_OK && (o.flags & SRD_OPEN_READONLY) &&
                st_open_ro_shared(st, fd, &sn) == SRD_OK;
    bool ran = false;
    if (rc == SRD_OK && !(o.flags & SRD_OPEN_READONLY) && st_shared_enabled())
        rc = st_open_writer_shared(st, fd, o.flags, &rec, &sn, &ran);
    fast = fast || sn != NULL;
    if (rc == SRD_OK && !fast && !ran)
        rc = srdi_openrec_run(st->path, fd, o.flags,
                              srdi_format_align(o.layout), &rec);
    if (!fast)
        st->align = rec.align;
    if (rc == SRD_OK && !fast)
        rc = (o.flags & SRD_OPEN_READONLY)
                 ? srdi_store_load_reader(st, fd, rec.tail, rec.entries, &sn)
                 : srdi_store_load(st, fd, rec.tail, rec.entries, &sn);
    if (rc == SRD_OK) {
        atomic_init(&st->snap, sn);
        if (o.flags & SRD_OPEN_READONLY) {
            st->ro_fd = fd;
        } else {
            rc = srdi_writer_start(st->path, lfd, fd, rec.tail,
                                   rec.trusted ? &rec.rec : NULL, o.sync,
                                   o.sync_interval_ms, &st->w);
            lfd = fd = -1; /* owned by the writer now, also on failure */
            if (rc == SRD_OK) {
                srdi_writer_set_align(st->w, st->align);
                if (st->shw)
                    st_shared_cover(st); /* taken over at open */
                else
                    srdi_store_shared_open(st);
            }
        }
    }
    if (rc != SRD_OK) {
        if (fd >= 0)
            close(fd);
        srdi_writer_unlock(st->path, lfd, lock_made); /* a refused path */
        st->ro_fd = -1;
        srd_close(st);
        return rc;
    }
    *out = st;
    return SRD_OK;
}

srd_err srd_close(srd_store *st)
{
    if (!st)
        return SRD_OK;
    return srdi_multi_close(st);
}

srd_err srdi_store_close_now(srd_store *st)
{
    srd_err rc = srdi_client_close(st->client);
    if (st->w && srdi_store_forked(st))
        srdi_writer_abandon(st->w); /* the parent's to sync and record */
    else if (st->w)
        rc = srdi_writer_stop(st->w);
    if (st->shw && srdi_store_forked(st)) {
        srdi_shxw_forget(st->shw); /* the parent's file: leave it as it is */
    } else if (st->shw) {
        st->n_pend = 0; /* nothing is in flight any more */
        st_shared_cover(st);
        /* clean vouches for the store too: only after a syncing close */
        srdi_shxw_close(st->shw, rc == SRD_OK && !st->sync_never);
    }
    free(st->pend);
    if (st->ro_fd >= 0)
        close(st->ro_fd);
    srdi_ebr_drain(&st->retired);
    srdi_store_snap_free(atomic_load(&st->snap));
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    pthread_rwlock_destroy(&st->gate);
    free(st->path);
    free(st);
    return rc;
}

const char *srd_path(const srd_store *st)
{
    return st ? st->path : NULL;
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

/* Fill *v from a live loc of sn whose entry ends at or below bound
 * (inside an EBR section). */
static srd_err view_from_loc(const st_snap *sn, uint64_t hash, uint64_t loc,
                             uint64_t bound, srd_view *v)
{
    uint64_t payload, len;
    if (!st_resolve_below(sn->map, loc, bound, &payload, &len))
        return SRD_ECORRUPT;
    /* invariant 2: a view lies below the bound its checks established
     * (the committed tail, or a shared-index entry whose CRC was checked)
     * and inside the mapping */
    SRD_ASSERT(payload + len <= bound && payload + len <= sn->map->reserved);
    srdi_map_ref(sn->map);
    v->data = sn->map->base + payload;
    v->len = (size_t)len;
    v->key_hash = hash;
    v->offset = payload;
    v->_map = sn->map;
    return SRD_OK;
}

srd_err srd_get_hash(srd_store *st, uint64_t key_hash, srd_view *view)
{
    if (!st || !view)
        return SRD_EINVAL;
    memset(view, 0, sizeof *view);
    srdi_ebr_rec *r = srdi_ebr_enter();
    const st_snap *sn = atomic_load_explicit(&st->snap, memory_order_acquire);
    uint64_t loc, bound;
    srd_err rc = st_find(sn, key_hash, &loc, &bound);
    if (rc == SRD_OK)
        rc = srdi_loc_is_live(loc)
                 ? view_from_loc(sn, key_hash, loc, bound, view)
                 : SRD_ENOTFOUND;
    srdi_ebr_leave(r);
    return rc;
}

srd_err srd_get(srd_store *st, srd_val key, srd_view *view)
{
    if (!val_ok(key)) {
        if (view)
            memset(view, 0, sizeof *view);
        return SRD_EINVAL;
    }
    return srd_get_hash(st, key_of(key), view);
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

srd_err srd_get_many_hash(srd_store *st, const uint64_t *hashes, size_t n,
                          srd_view *views, size_t *found)
{
    if (!st || (n > 0 && (!hashes || !views)))
        return SRD_EINVAL;
    size_t hits = 0;
    srd_err rc = SRD_OK;
    srdi_ebr_rec *r = srdi_ebr_enter();
    const st_snap *sn = atomic_load_explicit(&st->snap, memory_order_acquire);
    for (size_t g = 0; g < n; g += MANY_GROUP) {
        size_t m = n - g < MANY_GROUP ? n - g : MANY_GROUP;
        uint64_t locs[MANY_GROUP], bounds[MANY_GROUP];
        srd_err errs[MANY_GROUP] = {SRD_OK};
        for (size_t i = 0; i < m; i++) {
            srdi_index_prefetch(sn->idx, hashes[g + i]);
            if (sn->shx)
                srdi_shx_prefetch(sn->shx, hashes[g + i]);
        }
        for (size_t i = 0; i < m; i++) {
            errs[i] = st_find(sn, hashes[g + i], &locs[i], &bounds[i]);
            if (srdi_loc_is_live(locs[i]) && !(locs[i] & SRDI_LOC_LARGE))
                __builtin_prefetch(sn->map->base +
                                   srdi_loc_payload(locs[i]));
        }
        for (size_t i = 0; i < m; i++) {
            srd_view *v = &views[g + i];
            memset(v, 0, sizeof *v);
            if (errs[i] != SRD_OK)
                rc = errs[i];
            if (errs[i] != SRD_OK || !srdi_loc_is_live(locs[i]))
                continue;
            srd_err e = view_from_loc(sn, hashes[g + i], locs[i], bounds[i],
                                      v);
            if (e == SRD_OK)
                hits++;
            else
                rc = e;
        }
    }
    srdi_ebr_leave(r);
    if (found)
        *found = hits;
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
            if (!val_ok(keys[g + i])) {
                for (size_t j = 0; j < g; j++)
                    srd_view_release(&views[j]);
                return SRD_EINVAL;
            }
            hs[i] = key_of(keys[g + i]);
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

srd_err srd_exists_hash(srd_store *st, uint64_t key_hash, bool *exists)
{
    if (!st || !exists)
        return SRD_EINVAL;
    srdi_ebr_rec *r = srdi_ebr_enter();
    const st_snap *sn = atomic_load_explicit(&st->snap, memory_order_acquire);
    uint64_t loc, bound;
    srd_err rc = st_find(sn, key_hash, &loc, &bound);
    *exists = rc == SRD_OK && srdi_loc_is_live(loc);
    srdi_ebr_leave(r);
    return rc;
}

srd_err srd_exists(srd_store *st, srd_val key, bool *exists)
{
    if (!val_ok(key))
        return SRD_EINVAL;
    return srd_exists_hash(st, key_of(key), exists);
}

srd_err srd_meta(srd_store *st, srd_val key, srd_entry_meta *meta)
{
    if (!meta)
        return SRD_EINVAL;
    srd_view v;
    srd_err rc = srd_get(st, key, &v);
    if (rc != SRD_OK)
        return rc;
    const srdi_map *m = v._map;
    uint64_t end = v.offset + v.len + SRDI_TRAILER_SIZE;
    memset(meta, 0, sizeof *meta);
    if (end > atomic_load(&m->committed)) {
        srd_view_release(&v);
        return SRD_ECORRUPT;
    }
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
/* Writes                                                                   */
/* ======================================================================== */

/* The handle whose gate this thread holds (nested calls skip it). */
static _Thread_local const srd_store *st_gate_held;

srdi_gate srdi_store_gate_enter(srd_store *st)
{
    srdi_gate g = {st_gate_held, false};
    if (st_gate_held == st)
        return g;
    pthread_rwlock_rdlock(&st->gate);
    st_gate_held = st;
    g.locked = true;
    return g;
}

void srdi_store_gate_leave(srd_store *st, srdi_gate g)
{
    if (!g.locked)
        return;
    st_gate_held = g.prev;
    pthread_rwlock_unlock(&st->gate);
}

void srdi_store_begin_exclusive(srd_store *st)
{
    pthread_mutex_lock(&st->mu);
    while (st->busy)
        pthread_cond_wait(&st->cv, &st->mu);
    st->busy = true;
    while (st->inflight > 0)
        pthread_cond_wait(&st->cv, &st->mu);
    pthread_mutex_unlock(&st->mu);
}

void srdi_store_end_exclusive(srd_store *st)
{
    pthread_mutex_lock(&st->mu);
    st->busy = false;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* ---- the shared index's covered tail (writer, under mu) ---------------- */

/* Invariant 2 of shindex.c: units finish out of order (group commit), so
 * the covered tail is the start of the oldest unit still to be indexed,
 * or the committed tail when none is. */
static void st_pend_push(srd_store *st, uint64_t start)
{
    if (!st->shw)
        return;
    if (st->n_pend == st->cap_pend) {
        size_t cap = st->cap_pend ? st->cap_pend * 2 : 16;
        uint64_t *p = realloc(st->pend, cap * sizeof *p);
        if (!p) {
            st_shared_drop(st);
            return;
        }
        st->pend = p;
        st->cap_pend = cap;
    }
    st->pend[st->n_pend++] = start;
}

static void st_pend_pop(srd_store *st, uint64_t start)
{
    for (size_t i = 0; i < st->n_pend; i++) {
        if (st->pend[i] == start) {
            memmove(&st->pend[i], &st->pend[i + 1],
                    (st->n_pend - i - 1) * sizeof *st->pend);
            st->n_pend--;
            return;
        }
    }
}

static void st_shared_cover(srd_store *st)
{
    if (!st->shw)
        return;
    st_snap *sn = atomic_load(&st->snap);
    uint64_t covered = st->n_pend ? st->pend[0]
                                  : atomic_load(&sn->map->committed);
    uint8_t tr[SRDI_TRAILER_SIZE] = {0};
    if (covered >= SRDI_TRAILER_SIZE) /* below committed: mapped */
        memcpy(tr, sn->map->base + covered - SRDI_TRAILER_SIZE, sizeof tr);
    srdi_shx_stats s = {0, st->entries, st->live_bytes, st->live_span};
    srdi_shxw_set_covered(st->shw, covered, tr, &s, st->n_pend == 0);
}

static int st_shared_fill(void *ctx, uint64_t hash, uint64_t loc)
{
    return srdi_shxw_apply(ctx, hash, loc) != SRD_OK;
}

typedef struct replay_ctx {
    const srd_store *st;
    srdi_shxw *w;
    srd_err rc;
} replay_ctx;

static int st_replay_entry(void *ctx, const srdi_entry *e)
{
    replay_ctx *rc = ctx;
    uint64_t vlen;
    rc->rc = srdi_shxw_apply(rc->w, e->key_hash, st_entry_loc(rc->st, e, &vlen));
    return rc->rc != SRD_OK;
}

/* Take over the index file the last writer left, when it describes this
 * store up to a tail c at or below ours (the entry ending at c is the one
 * it recorded), replaying the entries in (c, tail] into it. */
static srd_err st_shared_reuse(srd_store *st)
{
    st_snap *sn = atomic_load(&st->snap);
    uint64_t tail = atomic_load(&sn->map->committed), c = 0;
    uint8_t tr[SRDI_TRAILER_SIZE];
    int fd = srdi_writer_fd(st->w);
    srdi_shxw *w = NULL;
    srd_err rc = srdi_shxw_reuse(st->path, fd, st->align, tail, &w, &c, tr);
    if (rc != SRD_OK)
        return rc;
    /* c <= tail: below the committed tail, so mapped */
    if (c > 0 && (c < SRDI_TRAILER_SIZE ||
                  memcmp(sn->map->base + c - SRDI_TRAILER_SIZE, tr,
                         sizeof tr) != 0))
        rc = SRD_ECORRUPT;
    replay_ctx ctx = {st, w, SRD_OK};
    if (rc == SRD_OK && c < tail) {
        rc = srdi_recovery_walk_in(fd, c, tail, st->align, st_replay_entry,
                                   &ctx);
        if (rc == SRD_ECANCELED)
            rc = ctx.rc;
    }
    if (rc != SRD_OK) {
        srdi_shxw_close(w, false); /* replaced (and flagged) next */
        return rc;
    }
    st->shw = w;
    st_shared_cover(st);
    return SRD_OK;
}

void srdi_store_shared_open(srd_store *st)
{
    if (st_shared_enabled() && st_shared_reuse(st) == SRD_OK)
        return;
    srdi_store_shared_rebuild(st);
}

void srdi_store_shared_rebuild(srd_store *st)
{
    if (st->shw) {
        srdi_shxw_close(st->shw, false);
        st->shw = NULL;
    }
    if (!st_shared_enabled())
        return; /* an old file stays: readers check it against the store */
    st_snap *sn = atomic_load(&st->snap);
    srdi_shxw *w = NULL;
    srd_err rc = srdi_shxw_create(st->path, srdi_writer_fd(st->w), st->align,
                                  srdi_index_live(sn->idx), &w);
    if (rc == SRD_OK && srdi_index_each(sn->idx, st_shared_fill, w) != 0)
        rc = SRD_ENOMEM;
    if (rc == SRD_OK) {
        st->shw = w;
        st_shared_cover(st);
        rc = srdi_shxw_publish(w);
    }
    if (rc != SRD_OK) {
        srdi_shxw_abandon(w);
        st->shw = NULL;
        srdi_shx_retire(st->path);
    }
}

bool srdi_store_forked(const srd_store *st)
{
    return st->pid != getpid();
}

static srd_err st_writable(const srd_store *st)
{
    if (!st)
        return SRD_EINVAL;
    if (st->w && srdi_store_forked(st))
        return SRD_EFORKED; /* the parent's writer: its writes would be lost */
    return st->w || st->client ? SRD_OK : SRD_EREADONLY;
}

/* An append's turn: wait until no stream or compaction owns the writer;
 * on leaving, the append counts as in flight until srdi_store_finish. */
static void st_append_enter(srd_store *st)
{
    pthread_mutex_lock(&st->mu);
    while (st->busy)
        pthread_cond_wait(&st->cv, &st->mu);
}

static void st_append_leave(srd_store *st, bool placed, uint64_t start)
{
    if (placed)
        st_pend_push(st, start);
    st->inflight++;
    pthread_mutex_unlock(&st->mu);
}

srd_err srdi_store_append_unit(srd_store *st, const srdi_op *ops, size_t n,
                               srdi_entry *placed)
{
    st_append_enter(st);
    srd_err rc = srdi_writer_append(st->w, ops, n, placed);
    st_append_leave(st, rc == SRD_OK && n > 0,
                    rc == SRD_OK && n > 0 ? placed[0].start : 0);
    return rc;
}

srd_err srdi_store_append_file(srd_store *st, uint64_t key_hash, int src_fd,
                               uint64_t len, uint32_t crc, srdi_entry *placed)
{
    st_append_enter(st);
    srd_err rc = srdi_writer_append_file(st->w, key_hash, src_fd, len, crc,
                                         placed);
    st_append_leave(st, rc == SRD_OK, rc == SRD_OK ? placed->start : 0);
    return rc;
}

srd_err srdi_store_finish(srd_store *st, const srdi_entry *placed, size_t n,
                          srd_err rc)
{
    if (rc == SRD_OK && n > 0)
        rc = srdi_writer_sync_to(st->w, placed[n - 1].end);
    pthread_mutex_lock(&st->mu);
    if (rc == SRD_OK && n > 0)
        rc = srdi_store_adopt(st, placed, n, placed[n - 1].end);
    if (n > 0) {
        st_pend_pop(st, placed[0].start);
        st_shared_cover(st);
    }
    if (--st->inflight == 0)
        pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

/* Append ops as one unit, wait for durability, update the index. */
static srd_err st_write_unit(srd_store *st, const srdi_op *ops, size_t n)
{
    srdi_entry one = {0};
    srdi_entry *placed = n == 1 ? &one : malloc(n * sizeof *placed);
    if (!placed)
        return SRD_ENOMEM;
    srd_err rc = srdi_store_append_unit(st, ops, n, placed);
    rc = srdi_store_finish(st, placed, rc == SRD_OK ? n : 0, rc);
    if (placed != &one)
        free(placed);
    return rc;
}

static srd_err st_put(srd_store *st, srd_val key, srd_val value)
{
    if (st && st->client)
        return srdi_client_put(st->client, key, value);
    srd_err rc = st_writable(st);
    if (rc != SRD_OK)
        return rc;
    if (!val_ok(key) || srdi_format_check_value(value.ptr, value.len))
        return SRD_EINVAL;
    srdi_op op = {key_of(key), value.ptr, value.len, false};
    return st_write_unit(st, &op, 1);
}

srd_err srd_put(srd_store *st, srd_val key, srd_val value)
{
    if (!st)
        return SRD_EINVAL;
    srdi_gate g = srdi_store_gate_enter(st);
    srd_err rc = st_put(st, key, value);
    srdi_store_gate_leave(st, g);
    return rc;
}

static srd_err st_put_batch(srd_store *st, const srd_val *keys, const srd_val *values,
                               size_t n)
{
    if (st && st->client)
        return srdi_client_put_batch(st->client, keys, values, n);
    srd_err rc = st_writable(st);
    if (rc != SRD_OK)
        return rc;
    if (n == 0)
        return SRD_OK;
    if (!keys || !values || n > SIZE_MAX / sizeof(srdi_op))
        return SRD_EINVAL;
    srdi_op *ops = malloc(n * sizeof *ops);
    if (!ops)
        return SRD_ENOMEM;
    for (size_t i = 0; i < n && rc == SRD_OK; i++) {
        if (!val_ok(keys[i]) || srdi_format_check_value(values[i].ptr,
                                                        values[i].len))
            rc = SRD_EINVAL;
        else
            ops[i] = (srdi_op){key_of(keys[i]), values[i].ptr, values[i].len,
                               false};
    }
    if (rc == SRD_OK)
        rc = st_write_unit(st, ops, n);
    free(ops);
    return rc;
}

srd_err srd_put_batch(srd_store *st, const srd_val *keys, const srd_val *values,
                      size_t n)
{
    if (!st)
        return SRD_EINVAL;
    srdi_gate g = srdi_store_gate_enter(st);
    srd_err rc = st_put_batch(st, keys, values, n);
    srdi_store_gate_leave(st, g);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Tombstones for the present, distinct keys among hashes[0..n). */
static srd_err st_delete_hashes(srd_store *st, uint64_t *hashes, size_t n,
                                size_t *deleted)
{
    qsort(hashes, n, sizeof *hashes, cmp_u64);
    srdi_op *ops = malloc((n ? n : 1) * sizeof *ops);
    if (!ops)
        return SRD_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool there;
        if (i > 0 && hashes[i] == hashes[i - 1])
            continue;
        srd_exists_hash(st, hashes[i], &there);
        if (there)
            ops[k++] = (srdi_op){hashes[i], NULL, 0, true};
    }
    srd_err rc = k ? st_write_unit(st, ops, k) : SRD_OK;
    free(ops);
    if (deleted)
        *deleted = rc == SRD_OK ? k : 0;
    return rc;
}

static srd_err st_delete(srd_store *st, srd_val key, bool *existed)
{
    if (st && st->client)
        return srdi_client_delete(st->client, key, existed);
    srd_err rc = st_writable(st);
    if (rc != SRD_OK)
        return rc;
    if (!val_ok(key))
        return SRD_EINVAL;
    uint64_t h = key_of(key);
    size_t d = 0;
    rc = st_delete_hashes(st, &h, 1, &d);
    if (existed)
        *existed = d == 1;
    return rc;
}

srd_err srd_delete(srd_store *st, srd_val key, bool *existed)
{
    if (!st)
        return SRD_EINVAL;
    srdi_gate g = srdi_store_gate_enter(st);
    srd_err rc = st_delete(st, key, existed);
    srdi_store_gate_leave(st, g);
    return rc;
}

static srd_err st_delete_batch(srd_store *st, const srd_val *keys, size_t n,
                                        size_t *deleted)
{
    if (st && st->client)
        return srdi_client_delete_batch(st->client, keys, n, deleted);
    srd_err rc = st_writable(st);
    if (rc != SRD_OK)
        return rc;
    if (deleted)
        *deleted = 0;
    if (n == 0)
        return SRD_OK;
    if (!keys || n > SIZE_MAX / sizeof(srdi_op))
        return SRD_EINVAL;
    uint64_t *hs = malloc(n * sizeof *hs);
    if (!hs)
        return SRD_ENOMEM;
    for (size_t i = 0; i < n && rc == SRD_OK; i++) {
        if (!val_ok(keys[i]))
            rc = SRD_EINVAL;
        else
            hs[i] = key_of(keys[i]);
    }
    if (rc == SRD_OK)
        rc = st_delete_hashes(st, hs, n, deleted);
    free(hs);
    return rc;
}

srd_err srd_delete_batch(srd_store *st, const srd_val *keys, size_t n,
                         size_t *deleted)
{
    if (!st)
        return SRD_EINVAL;
    srdi_gate g = srdi_store_gate_enter(st);
    srd_err rc = st_delete_batch(st, keys, n, deleted);
    srdi_store_gate_leave(st, g);
    return rc;
}

/* ---- streams ------------------------------------------------------------ */

struct srd_stream {
    srd_store *st;
    srdi_wstream *ws;
    srdi_cstream *cs; /* client mode: the stream lives in srdd */
};

static srd_err st_stream_begin(srd_store *st, srd_val key, srd_stream **out)
{
    if (out)
        *out = NULL;
    srd_err rc = st_writable(st);
    if (rc != SRD_OK)
        return rc;
    if (!out || !val_ok(key))
        return SRD_EINVAL;
    srd_stream *s = calloc(1, sizeof *s);
    if (!s)
        return SRD_ENOMEM;
    s->st = st;
    if (st->client) {
        rc = srdi_client_stream_begin(st->client, key, &s->cs);
        if (rc != SRD_OK)
            free(s);
        else
            *out = s;
        return rc;
    }
    srdi_store_begin_exclusive(st);
    rc = srdi_writer_stream_begin(st->w, key_of(key), &s->ws);
    if (rc != SRD_OK) {
        srdi_store_end_exclusive(st);
        free(s);
        return rc;
    }
    *out = s;
    return SRD_OK;
}

srd_err srd_stream_begin(srd_store *st, srd_val key, srd_stream **out)
{
    if (!st)
        return SRD_EINVAL;
    srdi_gate g = srdi_store_gate_enter(st);
    srd_err rc = st_stream_begin(st, key, out);
    srdi_store_gate_leave(st, g);
    return rc;
}

srd_err srd_stream_write(srd_stream *s, const void *data, size_t len)
{
    if (!s || (!data && len > 0))
        return SRD_EINVAL;
    if (s->cs)
        return srdi_client_stream_write(s->cs, data, len);
    return srdi_writer_stream_write(s->ws, data, len);
}

srd_err srd_stream_commit(srd_stream *s)
{
    if (!s)
        return SRD_EINVAL;
    if (s->cs) {
        srd_err crc = srdi_client_stream_end(s->cs, false);
        free(s);
        return crc;
    }
    srd_store *st = s->st;
    srdi_entry placed;
    srd_err rc = srdi_writer_stream_commit(s->ws, &placed);
    free(s);
    pthread_mutex_lock(&st->mu);
    if (rc == SRD_OK)
        st_pend_push(st, placed.start);
    st->busy = false;
    st->inflight++;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    return srdi_store_finish(st, &placed, rc == SRD_OK ? 1 : 0, rc);
}

void srd_stream_abort(srd_stream *s)
{
    if (!s)
        return;
    if (s->cs) {
        srdi_client_stream_end(s->cs, true);
        free(s);
        return;
    }
    srdi_writer_stream_abort(s->ws);
    srdi_store_end_exclusive(s->st);
    free(s);
}

#define PULL_CHUNK (1u << 20)

srd_err srd_put_stream(srd_store *st, srd_val key, srd_read_fn read_fn,
                       void *ctx)
{
    if (!read_fn)
        return SRD_EINVAL;
    uint8_t *buf = malloc(PULL_CHUNK);
    if (!buf)
        return SRD_ENOMEM;
    srd_stream *s;
    srd_err rc = srd_stream_begin(st, key, &s);
    while (rc == SRD_OK) {
        size_t n = 0;
        int r = read_fn(ctx, buf, PULL_CHUNK, &n);
        if (r != 0) {
            rc = r > 0 && r <= SRD_ESTATE ? (srd_err)r : SRD_ECANCELED;
        } else if (n > PULL_CHUNK) {
            rc = SRD_EINVAL;
        } else if (n == 0) {
            free(buf);
            return srd_stream_commit(s);
        } else {
            rc = srd_stream_write(s, buf, n);
        }
        if (rc != SRD_OK)
            srd_stream_abort(s);
    }
    free(buf);
    return rc;
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
    if (l->check && !st_loc_ok(l->check, -1, hash, loc, &bound)) {
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
    return cmp_u64(&((const srdi_live_item *)a)->pos,
                   &((const srdi_live_item *)b)->pos);
}

srd_err srdi_store_live_sorted(const st_snap *sn, uint64_t below,
                               srdi_live_item **items, size_t *n)
{
    live_list l = {.below = below, .check = sn->checked ? sn->map : NULL};
    if (srdi_index_each(sn->idx, live_collect, &l)) {
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
    mc->rc = st_find(mc->sn, hash, &found, &bound);
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
    st_snap tmp = {.idx = NULL, .map = it->map, .own_index = false};
    uint64_t bound = atomic_load(&it->map->committed);
    if (it->checked && st_loc_end(x->loc) > bound)
        bound = st_loc_end(x->loc);
    return view_from_loc(&tmp, x->hash, x->loc, bound, view);
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

srd_err srd_get_info(srd_store *st, srd_info *info)
{
    if (!st || !info)
        return SRD_EINVAL;
    memset(info, 0, sizeof *info);
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
    pthread_mutex_unlock(&st->mu);
    info->dead_bytes = info->tail > live_span ? info->tail - live_span : 0;
    info->readonly = st->w == NULL && st->client == NULL;
    info->daemon = st->client != NULL;
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

static srd_err st_sync(srd_store *st)
{
    if (st && st->client)
        return srdi_client_sync(st->client);
    srd_err rc = st_writable(st);
    return rc == SRD_OK ? srdi_writer_sync(st->w) : rc;
}

srd_err srd_sync(srd_store *st)
{
    if (!st)
        return SRD_EINVAL;
    srdi_gate g = srdi_store_gate_enter(st);
    srd_err rc = st_sync(st);
    srdi_store_gate_leave(st, g);
    return rc;
}

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
    rc = st_load_walk(st, atomic_load(&st->snap), st->ro_fd, base, tail);
    if (added)
        *added = st->entries - before;
    return rc;
}

static srd_err st_refresh(srd_store *st, uint64_t *added)
{
    if (!st)
        return SRD_EINVAL;
    if (added)
        *added = 0;
    if (st->client)
        return srdi_client_refresh(st->client, added);
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
        uint64_t base = atomic_load(&sn->map->committed), tail = base;
        rc = fstat(st->ro_fd, &ours) == 0 ? SRD_OK : srdi_errno(errno);
        if (rc == SRD_OK)
            rc = srdi_recovery_find_tail_in(st->ro_fd, base,
                                            (uint64_t)ours.st_size,
                                            st->align, &tail, NULL);
        if (rc == SRD_OK)
            rc = srdi_store_catch_up(st, base, tail, added);
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

srd_err srd_refresh(srd_store *st, uint64_t *added)
{
    if (!st)
        return SRD_EINVAL;
    srdi_gate g = srdi_store_gate_enter(st);
    srd_err rc = st_refresh(st, added);
    srdi_store_gate_leave(st, g);
    return rc;
}

/* ======================================================================== */
/* Hand-over (multiproc.c)                                                  */
/* ======================================================================== */

srd_err srdi_store_writer_release(srd_store *st)
{
    if (!st->w || srdi_store_forked(st))
        return SRD_ESTATE;
    srd_err rc = srdi_writer_sync(st->w);
    if (rc != SRD_OK)
        return rc;
    pthread_mutex_lock(&st->mu);
    if (st->shw) {
        st->n_pend = 0; /* exclusive: nothing is in flight */
        st_shared_cover(st);
        srdi_shxw_close(st->shw, true); /* synced just now */
        st->shw = NULL;
    }
    srdi_writer *w = st->w;
    st->w = NULL;
    pthread_mutex_unlock(&st->mu);
    /* the mapping would keep the inode's flock: views stay valid */
    srdi_writer_unlock_inode(w);
    return srdi_writer_stop(w); /* closes the store and the lock file */
}

void srdi_store_writer_adopt(srd_store *st, srd_store *fresh)
{
    pthread_mutex_lock(&st->mu);
    st->w = fresh->w;
    st->shw = fresh->shw;
    st->entries = fresh->entries;
    st->live_bytes = fresh->live_bytes;
    st->live_span = fresh->live_span;
    st->align = fresh->align;
    st->n_pend = 0;
    srdi_store_publish(st, atomic_exchange(&fresh->snap, NULL));
    pthread_mutex_unlock(&st->mu);
    fresh->w = NULL;
    fresh->shw = NULL;
    srdi_store_close_now(fresh);
}

void srdi_store_child_unlock(srd_store *st)
{
    srdi_writer_child_unlock(st->w);
}
