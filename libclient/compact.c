/* SPDX-License-Identifier: MIT */
/*
 * compact.c -- maintenance of a writer's store: srd_verify walks the whole
 * chain through the mapping checking every CRC; srd_compact copies the live
 * set into "<path>.compact" and renames it over the store, online.
 *
 * Compaction (a crash at any point leaves the old or the new store,
 * complete): create the temporary file exclusively (a stale one is deleted
 * first, never reused) -> copy the entries live at tail T0 in file order,
 * keeping their stored CRCs, while readers and writers go on (T0 is read
 * with no append in flight) -> take the writer -> catch up: copy every
 * entry appended after T0 -> fsync ->
 * rename over the store (the commit point) -> switch the writer, publish
 * the new {index, map} -> fsync the directory -> release the writer: a
 * write acknowledged in the new file must not depend on a rename that
 * power loss could still undo. Writers wait for the catch-up and that
 * fsync, and, when the writer's table was taken over from the shared index
 * file at open, for one pass over that file proving its slots before T0 is
 * chosen (cp_table_proven; some 70 ms at 10M keys, once per compaction);
 * readers never wait. Views of the old file stay valid: they hold the old
 * mapping.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errno_map.h"
#include "format.h"
#include "openrec.h"
#include "recovery.h"
#include "store_impl.h"

/* Decode the entry ending at end through the mapping (end <= committed). */
static bool map_entry(const srdi_map *m, uint64_t end, srdi_entry *e)
{
    if (end < SRDI_TRAILER_SIZE + 1)
        return false;
    const uint8_t *tr = m->base + end - SRDI_TRAILER_SIZE;
    uint64_t hash, prev;
    uint32_t crc;
    srdi_format_get_trailer(tr, &hash, &prev, &crc);
    if (prev >= end - SRDI_TRAILER_SIZE)
        return false;
    uint64_t body = end - SRDI_TRAILER_SIZE - prev;
    return srdi_format_decode_in(end, tr, m->base + prev,
                                 body < SRDI_ALIGN ? (size_t)body : SRDI_ALIGN,
                                 m->align, e);
}

/* A reference to the current map (safe against concurrent swaps). */
static srdi_map *current_map(srd_store *st)
{
    srdi_ebr_rec *r = srdi_ebr_enter();
    st_snap *sn = atomic_load(&st->snap);
    srdi_map *m = sn->map;
    srdi_map_ref(m);
    srdi_ebr_leave(r);
    return m;
}

#define VERIFY_PROGRESS_STEP (64ull << 20)

/* A read-only handle's file past its tail: what an open would do with
 * it (openrec.h). Bytes a writer may cut (a torn or unsynced write) are
 * counted, not an error; anything else breaks the chain at the tail. A
 * writer's file ends at its tail, and in client mode bytes past the tail
 * are srdd's appends in flight: nothing to do. */
static srd_err verify_past_tail(srd_store *st, uint64_t tail,
                                srd_verify_report *r)
{
    if (st->w || st->client || st->ro_fd < 0)
        return SRD_OK;
    srdi_tail_scan sc;
    bool torn;
    srd_err rc = srdi_openrec_judge(st->path, st->ro_fd, tail,
                                    srdi_store_align(st), &sc, &torn);
    if (rc != SRD_OK)
        return rc;
    struct stat sb;
    if (fstat(st->ro_fd, &sb) == 0 && (uint64_t)sb.st_size > tail)
        r->past_tail_bytes = (uint64_t)sb.st_size - tail;
    r->past_tail_entries = sc.intact;
    if (torn)
        return SRD_OK;
    r->entries += sc.bad;
    r->bad_entries += sc.bad;
    if (sc.bad && sc.first_bad < r->first_bad_offset)
        r->first_bad_offset = sc.first_bad;
    r->break_offset = tail;
    return SRD_OK;
}

srd_err srd_verify(srd_store *st, srd_verify_report *report,
                   srd_progress_fn progress, void *ctx)
{
    if (!st || !report)
        return SRD_EINVAL;
    memset(report, 0, sizeof *report);
    srdi_map *m = current_map(st);
    uint64_t tail = atomic_load(&m->committed);
    uint64_t node = tail, next_report = 0;
    srd_err rc = SRD_OK;
    report->first_bad_offset = UINT64_MAX;
    while (node > 0 && rc == SRD_OK) {
        srdi_entry e;
        if (!map_entry(m, node, &e)) {
            rc = SRD_ECORRUPT;
            break;
        }
        report->entries++;
        if (srdi_crc32(0, m->base + e.payload, (size_t)e.len) != e.crc) {
            report->bad_entries++;
            report->first_bad_offset = e.payload;
        }
        report->bytes += node - e.start;
        node = e.start;
        if (progress && report->bytes >= next_report) {
            next_report = report->bytes + VERIFY_PROGRESS_STEP;
            if (progress(ctx, report->bytes, tail))
                rc = SRD_ECANCELED;
        }
    }
    if (rc == SRD_OK)
        rc = verify_past_tail(st, tail, report);
    if (progress && rc == SRD_OK)
        progress(ctx, tail, tail);
    srdi_map_unref(m);
    if (report->bad_entries == 0)
        report->first_bad_offset = 0;
    if (rc == SRD_OK && report->break_offset)
        rc = SRD_ECORRUPT;
    if (rc == SRD_OK && report->bad_entries)
        rc = SRD_ECHECKSUM;
    return rc;
}

/* ---- compaction --------------------------------------------------------- */

/* A buffered appender into the temporary file. */
typedef struct cp_out {
    int fd;
    uint64_t off;      /* file offset of buf[0] */
    uint8_t *buf;
    size_t n;
} cp_out;

#define CP_BUF (1u << 20)
#define CP_PROGRESS_STEP (64ull << 20)

/* One compaction in progress. stats is a private srd_store that only
 * counts (srdi_store_apply keeps entries/live_bytes/live_span in one):
 * the real handle's counts change only at the switch. */
typedef struct cp_run {
    srd_store *st;
    st_snap *next;           /* the new file's {index, map} */
    srd_store stats;
    cp_out out;
    char tmp[4096];
    uint64_t t0;             /* tail the live set was taken at */
    uint32_t align;          /* the new file's layout (format.h) */
    uint64_t total;          /* live bytes to copy (progress) */
    uint64_t next_report;
    srd_progress_fn progress;
    void *ctx;
    srd_compact_report rep;
} cp_run;

static uint64_t cp_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static srd_err cp_flush(cp_out *o)
{
    size_t done = 0;
    while (done < o->n) {
        ssize_t k = pwrite(o->fd, o->buf + done, o->n - done,
                           (off_t)(o->off + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? srdi_errno(errno) : SRD_EIO;
        done += (size_t)k;
    }
    o->off += o->n;
    o->n = 0;
    return SRD_OK;
}

static srd_err cp_put(cp_out *o, const void *p, size_t len)
{
    const uint8_t *b = p;
    while (len > 0) {
        if (o->n == CP_BUF) {
            srd_err rc = cp_flush(o);
            if (rc != SRD_OK)
                return rc;
        }
        size_t k = CP_BUF - o->n < len ? CP_BUF - o->n : len;
        memcpy(o->buf + o->n, b, k);
        o->n += k;
        b += k;
        len -= k;
    }
    return SRD_OK;
}

/* Append one entry (value bytes at src, or a tombstone) to the new file,
 * chained after what is there, keeping its CRC; *placed says where. */
static srd_err cp_entry(cp_run *r, uint64_t hash, bool tombstone,
                        const uint8_t *src, uint64_t len, uint32_t crc,
                        srdi_entry *placed)
{
    static const uint8_t zeros[SRDI_ALIGN];
    cp_out *o = &r->out;
    srdi_entry e = {.key_hash = hash, .tombstone = tombstone, .crc = crc};
    e.start = o->off + o->n;
    e.payload = tombstone ? e.start
                          : e.start + srdi_format_pad_in(e.start, r->align);
    e.len = tombstone ? 1 : len;
    e.end = e.payload + e.len + SRDI_TRAILER_SIZE;
    uint8_t tr[SRDI_TRAILER_SIZE];
    srdi_format_put_trailer(tr, hash, e.start, crc);
    srd_err rc = cp_put(o, zeros, (size_t)(e.payload - e.start));
    if (rc == SRD_OK)
        rc = tombstone ? cp_put(o, zeros, 1) : cp_put(o, src, (size_t)len);
    if (rc == SRD_OK)
        rc = cp_put(o, tr, sizeof tr);
    *placed = e;
    return rc;
}

static srd_err cp_report(cp_run *r, uint64_t done)
{
    if (!r->progress || done < r->next_report)
        return SRD_OK;
    r->next_report = done + CP_PROGRESS_STEP;
    return r->progress(r->ctx, done, r->total) ? SRD_ECANCELED : SRD_OK;
}

/* Phase 1, no lock held: copy the entries of sn live below t0. Runs
 * inside the caller's EBR section, so sn and its map stay alive. Each key
 * appears once, so indexing never replaces a live entry and needs no map
 * of the new file yet. */
static srd_err cp_copy_live(cp_run *r, const st_snap *sn)
{
    srdi_live_item *items = NULL;
    size_t n = 0;
    srd_err rc = srdi_store_live_sorted(sn, r->t0, &items, &n);
    for (size_t i = 0; i < n && rc == SRD_OK; i++) {
        uint64_t payload, len;
        if (!srdi_store_resolve(sn->map, items[i].loc, &payload, &len)) {
            rc = SRD_ECORRUPT;
            break;
        }
        const uint8_t *src = sn->map->base + payload;
        uint64_t hash, prev;
        uint32_t crc;
        srdi_format_get_trailer(src + len, &hash, &prev, &crc);
        srdi_entry e;
        rc = cp_entry(r, items[i].hash, false, src, len, crc, &e);
        r->rep.copied_entries++;
        if (rc == SRD_OK)
            rc = srdi_store_apply(&r->stats, r->next, &e, 1);
        if (rc == SRD_OK)
            rc = cp_report(r, r->out.off + r->out.n);
    }
    free(items);
    return rc;
}

/* Entries appended after t0, collected newest first by the walk. */
typedef struct cp_tail_list {
    srdi_entry *v;
    size_t n, cap;
} cp_tail_list;

static int cp_collect(void *ctx, const srdi_entry *e)
{
    cp_tail_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        srdi_entry *p = realloc(l->v, cap * sizeof *p);
        if (!p)
            return 1;
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n++] = *e;
    return 0;
}

/* Phase 2, writer held and mu held: copy everything in (t0, t1], oldest
 * first, tombstones included (they may delete keys copied in phase 1),
 * flush, and map the new file. The copies are indexed only then: they may
 * replace phase 1 entries, whose sizes are read through that map. */
static srd_err cp_catch_up(cp_run *r, const st_snap *cur, uint64_t t1)
{
    cp_tail_list l = {0};
    int fd = srdi_writer_fd(r->st->w);
    srd_err rc = t1 > r->t0 ? srdi_recovery_walk_in(fd, r->t0, t1,
                                                    r->st->align, cp_collect,
                                                    &l)
                            : SRD_OK;
    if (rc == SRD_ECANCELED)
        rc = SRD_ENOMEM;
    /* Reverse in place: l.v[j] becomes the j-th oldest, rewritten with
     * its place in the new file. */
    for (size_t i = 0; i < l.n / 2; i++) {
        srdi_entry t = l.v[i];
        l.v[i] = l.v[l.n - 1 - i];
        l.v[l.n - 1 - i] = t;
    }
    for (size_t i = 0; i < l.n && rc == SRD_OK; i++) {
        srdi_entry e = l.v[i];
        rc = cp_entry(r, e.key_hash, e.tombstone, cur->map->base + e.payload,
                      e.len, e.crc, &l.v[i]);
    }
    r->rep.caught_up_entries = l.n;
    if (rc == SRD_OK)
        rc = cp_flush(&r->out);
    if (rc == SRD_OK)
        rc = srdi_map_open(r->out.fd, r->out.off, &r->next->map);
    if (rc == SRD_OK) {
        r->next->map->align = r->align;
        atomic_store(&r->next->map->committed, r->out.off);
        rc = srdi_store_apply(&r->stats, r->next, l.v, l.n);
    }
    free(l.v);
    return rc;
}

/* Create the temporary file exclusively, with the store's mode. */
static srd_err cp_create(cp_run *r)
{
    snprintf(r->tmp, sizeof r->tmp, "%s.compact", r->st->path);
    unlink(r->tmp); /* a stale file from a crash: never reused */
    struct stat sb;
    int mode = fstat(srdi_writer_fd(r->st->w), &sb) == 0 ? (sb.st_mode & 0777)
                                                        : 0600;
    r->out.fd = open(r->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (r->out.fd < 0)
        return srdi_errno(errno);
    /* The writer's lock on the store's inode (writer.h) must hold on the
     * new file before the rename makes it the store. Nobody else knows
     * this file yet, so the lock cannot be refused but by an error. */
    if (flock(r->out.fd, LOCK_EX | LOCK_NB) != 0)
        return srdi_errno(errno);
    r->out.buf = malloc(CP_BUF);
    return r->out.buf ? SRD_OK : SRD_ENOMEM;
}

/*
 * Whether the table of sn names every key live below t0, as a walk of the
 * store would: a table this process built from the store (open, or the
 * last compaction) does. One taken over from the shared index file
 * (sn->checked) came from slots nothing read at open (shindex.c invariant
 * 5): a slot zeroed or changed since their writer stored them would drop
 * a key from the copy, so they must still match their running sum
 * (srdi_shxw_verify: one pass, invariant 9 across growth), or, with no
 * index file left to check against, nothing vouches for them. Caller
 * holds the writer exclusively and mu: no slot changes during the pass.
 */
static bool cp_table_proven(const srd_store *st, const st_snap *sn)
{
    if (!sn->checked)
        return true;
    return st->shw && srdi_shxw_verify(st->shw) == SRD_OK;
}

/* The table an open with no index file builds, for the chain below t0
 * of the store (a walk: whatever the damaged table says), in *walked,
 * over sn's map. Runs with nothing held: the bytes below t0 never change
 * while this compaction runs (only it may rewrite the store). */
static srd_err cp_rebuild(const cp_run *r, const st_snap *sn, uint64_t live,
                          st_snap *walked)
{
    /* a private store that only counts, in the old file's layout */
    srd_store *walk = calloc(1, sizeof *walk);
    if (!walk)
        return SRD_ENOMEM;
    walk->align = r->st->align;
    *walked = (st_snap){.map = sn->map};
    srd_err rc = srdi_index_create(live + live / 8 + 1024, &walked->idx);
    if (rc == SRD_OK)
        rc = srdi_store_load_walk(walk, walked, srdi_writer_fd(r->st->w), 0,
                                  r->t0);
    free(walk);
    return rc;
}

/* Phase 1, under the writer and mu for an instant: t0, the snap, its
 * live count and whether its table may choose the live set. *er: the EBR
 * section that keeps sn and its map alive (the caller leaves it). */
static st_snap *cp_take_t0(cp_run *r, srdi_ebr_rec **er, uint64_t *live,
                           bool *proven)
{
    srd_store *st = r->st;
    /* Appends finish out of order (group commit): committed may already
     * cover an entry whose index update is still to come, and that entry
     * would be in neither phase. So t0 is taken with the writer held and
     * nothing in flight: writers wait at most for the syncs under way. */
    uint64_t t_drain = cp_now_us();
    srdi_store_begin_exclusive(st);
    *er = srdi_ebr_enter();
    pthread_mutex_lock(&st->mu);
    st_snap *sn = atomic_load(&st->snap);
    r->t0 = atomic_load(&sn->map->committed);
    r->total = st->live_span;
    srdi_shx_stats sx = {0};
    if (sn->wshared && st->shw) /* srdd: the file is its table */
        srdi_shxw_stats_get(st->shw, &sx);
    *live = sn->wshared ? sx.live : srdi_index_live(sn->idx);
    *proven = cp_table_proven(st, sn);
    pthread_mutex_unlock(&st->mu);
    srdi_store_end_exclusive(st);
    r->rep.pause_us += cp_now_us() - t_drain;
    return sn;
}

/* Phase 1: take t0 and the snap, copy the live set with nothing held,
 * from the store's own table or, when that cannot be proven whole, from
 * one a walk of the store builds (never a key lost to a damaged slot). */
static srd_err cp_phase_live(cp_run *r)
{
    uint64_t live;
    bool proven;
    srdi_ebr_rec *er;
    const st_snap *sn = cp_take_t0(r, &er, &live, &proven);
    st_snap walked = {0};
    r->next = calloc(1, sizeof *r->next);
    srd_err rc = r->next ? srdi_index_create(live + live / 8 + 1024,
                                             &r->next->idx)
                         : SRD_ENOMEM;
    if (rc == SRD_OK) {
        r->next->own_index = true;
        rc = cp_create(r);
    }
    if (rc == SRD_OK && !proven) {
        fprintf(stderr,
                "srd: %s%s: the writer's table, taken over from this "
                "index file, cannot be proven whole (its slots do not "
                "match their running sum, or the file was given up): the "
                "compaction takes the live set from a walk of the store "
                "instead, and writes a new index file\n",
                r->st->path, SRDI_SHX_SUFFIX);
        rc = cp_rebuild(r, sn, live, &walked);
    }
    if (rc == SRD_OK)
        rc = cp_copy_live(r, proven ? sn : &walked);
    srdi_ebr_leave(er);
    /* after leaving: destroying waits out the tables its growth retired,
     * which our own section would hold forever */
    srdi_index_destroy(walked.idx);
    /* Make the bulk durable now, writers running: the fsync in phase 2
     * then only has the catch-up to write. */
    if (rc == SRD_OK)
        rc = cp_flush(&r->out);
    if (rc == SRD_OK && fdatasync(r->out.fd) != 0)
        rc = srdi_errno(errno);
    return rc;
}

/* Phase 2 (writer and mu held): catch up, make durable, rename, switch. */
static srd_err cp_phase_switch(cp_run *r)
{
    srd_store *st = r->st;
    st_snap *cur = atomic_load(&st->snap);
    uint64_t t1 = atomic_load(&cur->map->committed);
    r->rep.old_size = t1;
    srd_err rc = cp_catch_up(r, cur, t1);
    uint64_t tail = r->out.off;
    if (rc == SRD_OK && fsync(r->out.fd) != 0)
        rc = srdi_errno(errno);
    /* The rename is the commit point: before it the old store is intact,
     * after it the path names the new file and we must switch to it. */
    if (rc == SRD_OK && rename(r->tmp, st->path) != 0)
        rc = srdi_errno(errno);
    if (rc != SRD_OK)
        return rc;
    srdi_writer_switch_file(st->w, r->out.fd, tail);
    srdi_writer_set_align(st->w, r->align);
    st->align = r->align;
    r->out.fd = -1; /* the writer owns it now */
    srdi_store_publish(st, r->next);
    st->switches++;
    r->next = NULL;
    st->entries = r->stats.entries;
    st->live_bytes = r->stats.live_bytes;
    st->live_span = r->stats.live_span;
    srdi_store_shared_rebuild(st); /* the new file's shared index */
    r->rep.new_size = tail;
    r->rep.reclaimed = t1 > tail ? t1 - tail : 0;
    return SRD_OK;
}

static void cp_cleanup(cp_run *r)
{
    if (r->out.fd >= 0) {
        close(r->out.fd);
        unlink(r->tmp);
    }
    free(r->out.buf);
    if (r->next)
        srdi_store_snap_free(r->next);
}

srd_err srdi_store_compact_ex(srd_store *st, srd_progress_fn progress,
                              void *ctx, srd_compact_report *report)
{
    return srdi_store_compact_to(st, srdi_format_layout(srdi_store_align(st)),
                                 progress, ctx, report);
}

srd_err srdi_store_compact_to(srd_store *st, srd_layout layout,
                              srd_progress_fn progress, void *ctx,
                              srd_compact_report *report)
{
    if ((unsigned)layout > SRD_LAYOUT_UNPADDED)
        return SRD_EINVAL;
    if (!st->w)
        return SRD_EREADONLY;
    if (srdi_store_forked(st))
        return SRD_EFORKED;
    cp_run *r = calloc(1, sizeof *r);
    if (!r)
        return SRD_ENOMEM;
    r->st = st;
    r->align = srdi_format_align(layout);
    r->stats.align = r->align;
    r->out.fd = -1;
    r->progress = progress;
    r->ctx = ctx;
    uint64_t t_start = cp_now_us();
    pthread_mutex_lock(&st->mu);
    srd_err rc = st->compacting ? SRD_ESTATE : SRD_OK;
    st->compacting = true;
    pthread_mutex_unlock(&st->mu);
    if (rc != SRD_OK) {
        free(r);
        return rc;
    }
    rc = cp_phase_live(r);
    if (rc == SRD_OK) {
        srdi_store_begin_exclusive(st);
        uint64_t t_pause = cp_now_us();
        pthread_mutex_lock(&st->mu);
        rc = cp_phase_switch(r);
        pthread_mutex_unlock(&st->mu);
        if (rc == SRD_OK) /* before any write to the new file is acked */
            rc = srdi_writer_fsync_dir(st->path);
        srdi_store_end_exclusive(st);
        r->rep.pause_us += cp_now_us() - t_pause;
    }
    if (rc == SRD_OK && progress)
        progress(ctx, r->total, r->total);
    cp_cleanup(r);
    r->rep.total_us = cp_now_us() - t_start;
    if (report)
        *report = rc == SRD_OK ? r->rep : (srd_compact_report){0};
    free(r);
    pthread_mutex_lock(&st->mu);
    st->compacting = false;
    pthread_mutex_unlock(&st->mu);
    return rc;
}
