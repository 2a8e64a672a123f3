/* SPDX-License-Identifier: MIT */
/*
 * store_shared.c -- the handle's side of the shared index file
 * (shindex.c): opening readers and the writer from it without walking
 * the store (every claim it makes checked against the file first),
 * following a replaced one, and the writer keeping it up to date (its
 * covered tail, take-over at open, rebuild).
 */
#include "srd_features.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errno_map.h"
#include "format.h"
#include "io.h"
#include "openrec.h"
#include "recovery.h"
#include "store_impl.h"
#include "synced.h"

/* ======================================================================== */
/* The shared index: trusting nothing it says                               */
/* ======================================================================== */

bool srdi_store_shared_enabled(void)
{
    const char *e = getenv("SRD_SHARED_INDEX");
    return !e || strcmp(e, "0") != 0;
}

/* The writer stops keeping a shared index (it failed to update it):
 * readers fall back to their own (caller holds mu or is alone). A writer
 * whose only table is the file copies its slots first. */
static void st_shared_drop(srd_store *st)
{
    if (srdi_store_wshared(st))
        (void)srdi_store_wshared_private(st);
    srdi_shxw_abandon(st->shw);
    st->shw = NULL;
}

void srdi_store_shared_give_up(srd_store *st)
{
    if (st->shw)
        st_shared_drop(st);
}

void srdi_store_shared_mirror(srd_store *st, uint64_t hash, uint64_t loc)
{
    if (st->shw && srdi_shxw_apply(st->shw, hash, loc) != SRD_OK)
        st_shared_drop(st);
}

void srdi_store_shared_prefetch(const srd_store *st, uint64_t hash)
{
    if (st->shw)
        srdi_shxw_prefetch(st->shw, hash);
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
        rc = srdi_store_load_walk(st, sn, fd, c, tail);
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
    if (!srdi_store_shared_enabled())
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

srd_err srdi_store_open_ro_shared(srd_store *st, int fd, st_snap **out)
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
            rc = srdi_store_load_walk(st, sn, fd, c, tail);
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
srd_err srdi_store_open_writer_shared(srd_store *st, int fd, unsigned flags,
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
bool srdi_store_shared_follow(srd_store *st)
{
    st_snap *sn = atomic_load(&st->snap);
    if (!sn->shx || st->ro_fd < 0)
        return false;
    uint64_t committed = atomic_load(&sn->map->committed);
    srdi_shx *x = NULL;
    if (srdi_shx_superseded(sn->shx)) {
        if (st_shared_open(st, st->ro_fd, &x) != SRD_OK)
            return false;
    } else if (sn->over_max == 0 || srdi_shx_covered(sn->shx) < sn->over_max) {
        return false;
    } else {
        srdi_shx_ref(sn->shx);
        x = sn->shx;
    }
    uint64_t entries = st->entries;
    st_snap *next;
    bool moved = st_shared_snap(st, st->ro_fd, committed, x, sn->map,
                                &next) == SRD_OK;
    if (moved)
        srdi_store_publish(st, next);
    st->entries = entries; /* the walk counted entries already known */
    return moved;
}

bool srdi_store_shared_kept(srd_store *st)
{
    /* Never waits for mu (a compaction holds it while it switches files):
     * then the setting says it; a file given up is flagged superseded and
     * unlinked anyway, which its readers see. */
    if (pthread_mutex_trylock(&st->mu) != 0)
        return srdi_store_shared_enabled();
    bool kept = st->shw != NULL;
    pthread_mutex_unlock(&st->mu);
    return kept;
}

/* ---- client handles that follow the shared index (under mu) ----------- */

/* Index files followed in a row when each was replaced again meanwhile. */
#define ST_FOLLOW_HOPS 8

/* Whether st's path names another file than the one mapped (a compaction
 * renamed a new store over it). */
static bool st_path_replaced(const srd_store *st)
{
    struct stat now, ours;
    return stat(st->path, &now) == 0 && fstat(st->ro_fd, &ours) == 0 &&
           (now.st_ino != ours.st_ino || now.st_dev != ours.st_dev);
}

/* The index x's covered tail *c and srdd's entry count there, when the
 * store vouches for it: the entry ending at c is the one x recorded, and
 * past committed every entry down to committed chains with a good CRC. */
static srd_err st_shared_vouched(const srd_store *st, const srdi_shx *x,
                                 uint64_t committed, uint64_t *c,
                                 uint64_t *entries)
{
    uint8_t want[SRDI_TRAILER_SIZE], have[SRDI_TRAILER_SIZE];
    if (!srdi_shx_entries_at(x, c, want, entries))
        return SRD_ECORRUPT;
    if (*c == 0)
        return SRD_OK;
    int err;
    if (*c < SRDI_TRAILER_SIZE ||
        srdi_pread_full(st->ro_fd, have, sizeof have, *c - SRDI_TRAILER_SIZE,
                        &err) != sizeof have ||
        memcmp(have, want, sizeof have) != 0)
        return SRD_ECORRUPT; /* past the file's end, or another entry */
    return *c > committed
               ? st_shared_ahead_ok(st->ro_fd, committed, *c, st->align)
               : SRD_OK;
}

srd_err srdi_store_shared_raise(srd_store *st)
{
    st_snap *sn = atomic_load(&st->snap);
    if (!sn->shx || st->ro_fd < 0)
        return SRD_ENOENT;
    if (srdi_shx_superseded(sn->shx)) {
        if (st_path_replaced(st))
            return SRD_ESTATE;
        /* a grown table, or none; the one followed may have grown again
         * while its snap was built (a walk or a CRC pass of what it
         * covers past our tail): follow that too, while we move */
        for (int i = 0; i < ST_FOLLOW_HOPS && srdi_shx_superseded(sn->shx) &&
                        srdi_store_shared_follow(st);
             i++)
            sn = atomic_load(&st->snap);
        if (srdi_shx_superseded(sn->shx))
            return st_path_replaced(st) ? SRD_ESTATE : SRD_ENOENT;
    }
    uint64_t committed = atomic_load(&sn->map->committed), c, entries;
    if (srdi_shx_covered(sn->shx) <= st->counted &&
        srdi_shx_covered(sn->shx) <= committed)
        return SRD_OK; /* nothing new: no system call */
    srd_err rc = st_shared_vouched(st, sn->shx, committed, &c, &entries);
    if (rc == SRD_OK && c > committed)
        rc = srdi_store_adopt(st, NULL, 0, c);
    if (rc == SRD_OK && c > st->counted) {
        st->entries = entries;
        st->counted = c;
    }
    return rc;
}

/* ---- the shared index's covered tail (writer, under mu) ---------------- */

/* Invariant 2 of shindex.c: units finish out of order (group commit), so
 * the covered tail is the start of the oldest unit still to be indexed,
 * or the committed tail when none is. */
void srdi_store_pend_push(srd_store *st, uint64_t start)
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

void srdi_store_pend_pop(srd_store *st, uint64_t start)
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

void srdi_store_shared_cover(srd_store *st)
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
    rc->rc = srdi_shxw_apply(rc->w, e->key_hash,
                             srdi_store_entry_loc(rc->st, e, &vlen));
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
    rc = srdi_shxw_verify(w); /* the store was walked anyway: check it */
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
    srdi_store_shared_cover(st);
    return SRD_OK;
}

void srdi_store_shared_open(srd_store *st)
{
    if (srdi_store_shared_enabled() && st_shared_reuse(st) == SRD_OK)
        return;
    srdi_store_shared_rebuild(st);
}

void srdi_store_shared_rebuild(srd_store *st)
{
    if (st->shw) {
        srdi_shxw_close(st->shw, false);
        st->shw = NULL;
    }
    if (!srdi_store_shared_enabled())
        return; /* an old file stays: readers check it against the store */
    st_snap *sn = atomic_load(&st->snap);
    srdi_shxw *w = NULL;
    srd_err rc = srdi_shxw_create(st->path, srdi_writer_fd(st->w), st->align,
                                  srdi_index_live(sn->idx), &w);
    if (rc == SRD_OK && srdi_index_each(sn->idx, st_shared_fill, w) != 0)
        rc = SRD_ENOMEM;
    if (rc == SRD_OK) {
        st->shw = w;
        srdi_store_shared_cover(st);
        rc = srdi_shxw_publish(w);
    }
    if (rc != SRD_OK) {
        srdi_shxw_abandon(w);
        st->shw = NULL;
        srdi_shx_retire(st->path);
        return;
    }
    srdi_store_wshared_enter(st);
}

/* ======================================================================== */
/* One table in srdd: the shared index file as the writer's only table      */
/* ======================================================================== */

/*
 * srdd serves no reads (its clients probe the shared index file
 * themselves), and its own lookups (a delete's exists, compaction's live
 * set, the Stats figures) can read that file too: a private copy of every
 * slot would cost a second table update per put and its memory. A writer
 * asked for it (srdi_store_shared_only) reads through a snap whose shx is
 * a read-only mapping of the file st->shw writes, checked as every
 * reader's is (store_read.c, st_find), over an empty overlay; updates go
 * to st->shw alone (store_snap.c). When st->shw grows into a new file
 * (strictly larger), a snap over the new one is published under mu,
 * before the update's unit is acknowledged; snaps still in use keep their
 * own mapping of the old file (correct up to the grow). When the file is
 * given up, or cannot be mapped, its slots are first copied into the
 * overlay, which becomes the private table (checked, as a table taken
 * from the file is), and the writer carries on as any other.
 */

bool srdi_store_wshared(const srd_store *st)
{
    st_snap *sn = atomic_load(&st->snap);
    return sn && sn->wshared;
}

/* A snap reading the file st->shw writes, over map (a reference taken),
 * with idx as its overlay (owned by the snap). */
static srd_err st_wshared_snap(srd_store *st, srdi_index *idx, srdi_map *map,
                               st_snap **out)
{
    struct stat sb;
    int fd = srdi_writer_fd(st->w);
    srdi_shx *x = NULL;
    if (fstat(fd, &sb) != 0)
        return srdi_errno(errno);
    srd_err rc = srdi_shx_open_fd(srdi_shxw_fd(st->shw), &sb, &x);
    st_snap *sn = rc == SRD_OK ? calloc(1, sizeof *sn) : NULL;
    if (rc == SRD_OK && !sn)
        rc = SRD_ENOMEM;
    int dfd = sn ? dup(fd) : -1;
    if (rc == SRD_OK && dfd < 0)
        rc = srdi_errno(errno);
    if (rc != SRD_OK) {
        free(sn);
        srdi_shx_unref(x);
        return rc;
    }
    srdi_map_ref(map);
    *sn = (st_snap){.idx = idx, .map = map, .own_index = true, .shx = x,
                    .shx_fd = dfd, .checked = true, .wshared = true};
    *out = sn;
    return SRD_OK;
}

void srdi_store_wshared_enter(srd_store *st)
{
    st_snap *cur = atomic_load(&st->snap);
    srdi_index *idx = NULL;
    st_snap *sn = NULL;
    if (!st->shared_only || !st->w || !st->shw || !cur || cur->wshared ||
        srdi_index_create(64, &idx) != SRD_OK)
        return;
    if (st_wshared_snap(st, idx, cur->map, &sn) != SRD_OK) {
        srdi_index_destroy(idx);
        return; /* the private table stays */
    }
    srdi_store_publish(st, sn); /* retires the private table */
}

void srdi_store_shared_only(srd_store *st)
{
    pthread_mutex_lock(&st->mu);
    st->shared_only = true;
    srdi_store_wshared_enter(st);
    pthread_mutex_unlock(&st->mu);
}

srd_err srdi_store_wshared_follow(srd_store *st)
{
    st_snap *cur = atomic_load(&st->snap);
    if (!cur->wshared || !st->shw ||
        srdi_shx_mapped(cur->shx) == srdi_shxw_len(st->shw))
        return SRD_OK;
    st_snap *sn;
    srd_err rc = st_wshared_snap(st, cur->idx, cur->map, &sn);
    if (rc != SRD_OK) { /* a stale file must not answer: go private */
        rc = srdi_store_wshared_private(st);
        if (rc != SRD_OK) /* then lookups fail (st_find), writes too */
            srdi_store_shared_give_up(st);
        return rc;
    }
    cur->own_index = false; /* the overlay moves to the new snap */
    srdi_store_publish(st, sn);
    return SRD_OK;
}

static int st_wshared_copy(void *ctx, uint64_t hash, uint64_t loc)
{
    uint64_t old;
    bool applied;
    return srdi_index_apply(ctx, hash, loc, &old, &applied) != SRD_OK;
}

srd_err srdi_store_wshared_private(srd_store *st)
{
    st_snap *cur = atomic_load(&st->snap);
    if (!cur->wshared)
        return SRD_OK;
    if (!st->shw)
        return SRD_ENOMEM; /* given up before its slots could be copied */
    st_snap *sn = calloc(1, sizeof *sn);
    if (!sn || srdi_shxw_each(st->shw, st_wshared_copy, cur->idx) != 0) {
        free(sn);
        return SRD_ENOMEM; /* the overlay keeps what it took: newer wins */
    }
    srdi_map_ref(cur->map);
    *sn = (st_snap){.idx = cur->idx, .map = cur->map, .own_index = true,
                    .checked = true};
    cur->own_index = false;
    srdi_store_publish(st, sn);
    return SRD_OK;
}
