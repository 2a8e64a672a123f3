/* SPDX-License-Identifier: MIT */
/*
 * compact.c -- offline maintenance of an embedded store: srd_verify walks
 * the whole chain through the mapping checking every CRC; srd_compact
 * copies the live set into "<path>.compact" and renames it over the store.
 *
 * Compaction order of operations (a crash at any point leaves the old or
 * the new store, complete): create the temporary file exclusively (a stale
 * one is deleted first, never reused) -> copy live entries in file order,
 * keeping their stored CRCs -> fsync -> rename over the store -> fsync the
 * directory -> switch the writer and publish the new {index, map}. Views
 * of the old file stay valid: they hold the old mapping.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
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
    return srdi_format_decode(end, tr, m->base + prev,
                              body < SRDI_ALIGN ? (size_t)body : SRDI_ALIGN, e);
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
    if (progress && rc == SRD_OK)
        progress(ctx, tail, tail);
    srdi_map_unref(m);
    if (report->bad_entries == 0)
        report->first_bad_offset = 0;
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

static srd_err cp_flush(cp_out *o)
{
    size_t done = 0;
    while (done < o->n) {
        ssize_t k = pwrite(o->fd, o->buf + done, o->n - done,
                           (off_t)(o->off + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 && errno == ENOSPC ? SRD_ENOSPC
                   : k < 0               ? (srd_err)(SRD_ESYSERR | errno)
                                         : SRD_EIO;
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

/* Copy the live entries of sn into o, applying them to the new snap. */
static srd_err cp_copy(srd_store *st, const st_snap *sn, cp_out *o,
                       st_snap *next)
{
    srdi_live_item *items;
    size_t n;
    srd_err rc = srdi_store_live_sorted(sn, &items, &n);
    if (rc != SRD_OK)
        return rc;
    static const uint8_t zeros[SRDI_ALIGN];
    st->entries = 0;
    st->live_bytes = 0;
    st->live_span = 0;
    for (size_t i = 0; i < n && rc == SRD_OK; i++) {
        uint64_t payload, len;
        if (!srdi_store_resolve(sn->map, items[i].loc, &payload, &len)) {
            rc = SRD_ECORRUPT;
            break;
        }
        const uint8_t *src = sn->map->base + payload;
        uint64_t hash, prev;
        srdi_entry e;
        srdi_format_get_trailer(src + len, &hash, &prev, &e.crc);
        e.start = o->off + o->n;
        e.payload = e.start + srdi_format_pad(e.start);
        e.len = len;
        e.end = e.payload + len + SRDI_TRAILER_SIZE;
        e.key_hash = items[i].hash;
        e.tombstone = false;
        uint8_t tr[SRDI_TRAILER_SIZE];
        srdi_format_put_trailer(tr, e.key_hash, e.start, e.crc);
        rc = cp_put(o, zeros, (size_t)(e.payload - e.start));
        if (rc == SRD_OK)
            rc = cp_put(o, src, (size_t)len);
        if (rc == SRD_OK)
            rc = cp_put(o, tr, sizeof tr);
        if (rc == SRD_OK)
            rc = srdi_store_apply(st, next, &e, 1);
    }
    free(items);
    return rc == SRD_OK ? cp_flush(o) : rc;
}

static void cp_tmp_name(const srd_store *st, char *tmp, size_t n)
{
    snprintf(tmp, n, "%s.compact", st->path);
}

/* Write and fsync the new file; on success *fd_out is open on it. */
static srd_err cp_write_file(srd_store *st, const st_snap *sn, st_snap *next,
                             int *fd_out, uint64_t *new_tail)
{
    char tmp[4096];
    cp_tmp_name(st, tmp, sizeof tmp);
    unlink(tmp); /* a stale file from a crash: never reused */
    struct stat sb;
    int mode = fstat(srdi_writer_fd(st->w), &sb) == 0 ? (sb.st_mode & 0777)
                                                     : 0644;
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return (srd_err)(SRD_ESYSERR | errno);
    cp_out o = {fd, 0, malloc(CP_BUF), 0};
    srd_err rc = o.buf ? cp_copy(st, sn, &o, next) : SRD_ENOMEM;
    free(o.buf);
    if (rc == SRD_OK && fsync(fd) != 0)
        rc = (srd_err)(SRD_ESYSERR | errno);
    if (rc != SRD_OK) {
        close(fd);
        unlink(tmp);
        return rc;
    }
    *fd_out = fd;
    *new_tail = o.off;
    return SRD_OK;
}

srd_err srd_compact(srd_store *st, uint64_t *reclaimed)
{
    if (!st)
        return SRD_EINVAL;
    if (!st->w)
        return SRD_EREADONLY;
    if (reclaimed)
        *reclaimed = 0;
    srdi_store_begin_exclusive(st);
    pthread_mutex_lock(&st->mu);
    st_snap *sn = atomic_load(&st->snap);
    uint64_t old_tail = atomic_load(&sn->map->committed);
    uint64_t entries = st->entries, live_bytes = st->live_bytes;
    uint64_t live_span = st->live_span;
    st_snap *next = calloc(1, sizeof *next);
    srd_err rc = next ? srdi_index_create(srdi_index_live(sn->idx), &next->idx)
                      : SRD_ENOMEM;
    int fd = -1;
    uint64_t tail = 0;
    if (rc == SRD_OK) {
        next->own_index = true;
        /* Reads go on through the old snap meanwhile: nothing changes it. */
        rc = cp_write_file(st, sn, next, &fd, &tail);
    }
    if (rc == SRD_OK)
        rc = srdi_map_open(fd, tail, &next->map);
    char tmp[4096];
    cp_tmp_name(st, tmp, sizeof tmp);
    /* The rename is the commit point: before it the old store is intact,
     * after it the path names the new file and we must switch to it. */
    if (rc == SRD_OK && rename(tmp, st->path) != 0)
        rc = (srd_err)(SRD_ESYSERR | errno);
    if (rc == SRD_OK) {
        atomic_store(&next->map->committed, tail);
        srdi_writer_switch_file(st->w, fd, tail);
        srdi_store_publish(st, next);
        if (reclaimed)
            *reclaimed = old_tail > tail ? old_tail - tail : 0;
        rc = srdi_writer_fsync_dir(st->path);
    } else {
        st->entries = entries;
        st->live_bytes = live_bytes;
        st->live_span = live_span;
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        srdi_store_snap_free(next);
    }
    pthread_mutex_unlock(&st->mu);
    srdi_store_end_exclusive(st);
    return rc;
}
