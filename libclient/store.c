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
#include "errno_map.h"
#include "format.h"
#include "io.h"
#include "recovery.h"
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
    srdi_map_unref(sn->map);
    free(sn);
}

bool srdi_store_resolve(const srdi_map *m, uint64_t loc, uint64_t *payload,
                        uint64_t *len)
{
    uint64_t committed = atomic_load_explicit(&m->committed,
                                              memory_order_acquire);
    if (!(loc & SRDI_LOC_LARGE)) {
        *payload = (loc & ((1ull << 42) - 1)) * 64;
        *len = (loc >> 42) & SRDI_LOC_MAXLEN;
        return *payload < committed && *len <= committed - *payload;
    }
    uint64_t end = loc & ~SRDI_LOC_LARGE;
    if (end > committed || end < SRDI_TRAILER_SIZE + 1)
        return false;
    uint64_t hash, prev;
    uint32_t crc;
    srdi_format_get_trailer(m->base + end - SRDI_TRAILER_SIZE, &hash, &prev,
                            &crc);
    uint64_t start = prev + srdi_format_pad(prev);
    if (prev >= end || start >= end - SRDI_TRAILER_SIZE)
        return false;
    *payload = start;
    *len = end - SRDI_TRAILER_SIZE - start;
    return true;
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

srd_err srdi_store_apply(srd_store *st, st_snap *sn, const srdi_entry *e,
                         size_t n)
{
    for (size_t i = 0; n > 1 && i < n; i++)
        srdi_index_prefetch(sn->idx, e[i].key_hash);
    for (size_t i = 0; i < n; i++) {
        uint64_t loc = e[i].tombstone
                           ? srdi_loc_tomb(e[i].start)
                           : srdi_loc_value(e[i].payload, e[i].len, e[i].end);
        uint64_t old;
        bool applied;
        srd_err rc = srdi_index_apply(sn->idx, e[i].key_hash, loc, &old,
                                      &applied);
        if (rc != SRD_OK)
            return rc;
        st->entries++;
        if (!applied)
            continue;
        if (srdi_loc_is_live(old)) {
            uint64_t len, span;
            loc_size(sn->map, old, &len, &span);
            st->live_bytes -= len;
            st->live_span -= span;
        }
        if (!e[i].tombstone) {
            st->live_bytes += e[i].len;
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
    load_ctx *lc = rc == SRD_OK ? malloc(sizeof *lc) : NULL;
    if (rc == SRD_OK && !lc)
        rc = SRD_ENOMEM;
    if (rc == SRD_OK) {
        /* Entries being loaded are committed: the map may show them. */
        atomic_store(&sn->map->committed, tail);
        st->entries = 0;
        st->live_bytes = 0;
        st->live_span = 0;
        *lc = (load_ctx){.st = st, .sn = sn, .rc = SRD_OK, .n = 0};
        rc = srdi_recovery_walk(fd, 0, tail, load_entry, lc);
        if (rc == SRD_OK && lc->n > 0)
            load_flush(lc);
        if (rc == SRD_ECANCELED || rc == SRD_OK)
            rc = lc->rc;
    }
    free(lc);
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
    next->idx = cur->idx;
    next->own_index = cur->own_index; /* ownership moves to the new snap */
    cur->own_index = false;
    srdi_store_publish(st, next);
    return SRD_OK;
}

srd_err srdi_store_adopt(srd_store *st, const srdi_entry *e, size_t n,
                         uint64_t tail)
{
    srd_err rc = st_cover(st, tail);
    if (rc != SRD_OK)
        return rc;
    st_snap *sn = atomic_load(&st->snap);
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
}

/* Keep the bytes about to be cut in "<path>.cut-<tail>" (SRD_OPEN_REPAIR,
 * or whole entries cut past the synced tail). */
static srd_err st_save_cut(const char *path, int fd, uint64_t tail,
                           uint64_t size)
{
    char name[4096];
    if (snprintf(name, sizeof name, "%s.cut-%llu", path,
                 (unsigned long long)tail) >= (int)sizeof name)
        return SRD_EINVAL;
    int out = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                   0600);
    if (out < 0)
        return srdi_errno(errno);
    srd_err rc = SRD_OK;
    char buf[65536];
    for (uint64_t off = tail; off < size && rc == SRD_OK;) {
        size_t want = size - off < sizeof buf ? (size_t)(size - off)
                                              : sizeof buf;
        int err;
        size_t k = srdi_pread_full(fd, buf, want, off, &err);
        if (k < want || write(out, buf, k) != (ssize_t)k)
            rc = srdi_errno(err);
        off += k;
    }
    if (rc == SRD_OK && fsync(out) != 0)
        rc = srdi_errno(errno);
    close(out);
    return rc;
}

static srd_err st_open_files(srd_store *st, const srd_options *o, int *lfd,
                             int *fd)
{
    if (!(o->flags & SRD_OPEN_READONLY)) {
        srd_err rc = srdi_writer_lock(st->path, o->flags & SRD_OPEN_CREATE,
                                      o->flags & SRD_OPEN_GROUP ? 0640 : 0600,
                                      lfd, fd);
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

/* Entries past the prefix the sidecar vouches for (synced.h: its synced
 * tail, or its written tail when that is of the running boot) are
 * CRC-checked, all of them when it is missing, damaged or names another
 * file; the store ends before the oldest bad one (an OS crash lost its
 * pages: in SRD_SYNC_ALWAYS it and what follows were never acknowledged).
 * *trusted: the record, when the check found it true of this file.
 * Reads only. */
static srd_err st_check_unsynced(srd_store *st, int fd, const struct stat *sb,
                                 uint64_t *tail, srdi_synced *rec,
                                 bool *trusted)
{
    *trusted = false;
    if (!srdi_synced_read(st->path, rec) || !srdi_synced_applies(rec, sb))
        return *tail == 0 ? SRD_OK : srdi_recovery_check(fd, *tail, 0, NULL,
                                                          tail, trusted);
    uint64_t from = UINT64_MAX;
    const uint8_t *tr = NULL;
    if (rec->written >= rec->synced && rec->written <= *tail &&
        srdi_synced_this_boot(rec)) {
        from = rec->written;
        tr = rec->written_trailer;
    } else if (rec->synced <= *tail) {
        from = rec->synced;
        tr = rec->synced_trailer;
    }
    if (*tail == 0) {
        *trusted = from == 0;
        return SRD_OK;
    }
    bool ok;
    srd_err rc = srdi_recovery_check(fd, *tail, from, tr, tail, &ok);
    *trusted = rc == SRD_OK && ok && tr != NULL;
    return rc;
}

/* Recover the tail, cut (writer) or ignore (reader) what follows it. */
static srd_err st_recover(srd_store *st, const srd_options *o, int fd,
                          uint64_t *tail, uint64_t *entries, srdi_synced *rec,
                          bool *trusted)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return srdi_errno(errno);
    uint64_t size = (uint64_t)sb.st_size;
    srd_err rc = srdi_recovery_find_tail_n(fd, 0, size, tail, entries);
    uint64_t found = *tail;
    if (rc == SRD_OK)
        rc = st_check_unsynced(st, fd, &sb, tail, rec, trusted);
    if (rc != SRD_OK)
        return rc;
    if (*tail < found)
        *entries = 0; /* the count was of the longer chain */
    bool repair = o->flags & SRD_OPEN_REPAIR;
    if (*tail == 0 && size > 0 && !repair)
        return SRD_ECORRUPT;
    /* Cutting whole entries (not just a torn tail) keeps them in a file:
     * written in SRD_SYNC_NEVER or _INTERVAL, or with no sidecar to tell,
     * they may have been acknowledged. */
    if (*tail < size && (repair || *tail < found) &&
        !(o->flags & SRD_OPEN_READONLY))
        return st_save_cut(st->path, fd, *tail, size);
    return SRD_OK;
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
        !srdi_client_flags_ok(o.flags))
        return SRD_EINVAL;
    srd_store *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        return SRD_ENOMEM;
    }
    st->flags = o.flags;
    st->ro_fd = -1;
    st->pid = getpid();
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    int lfd = -1, fd = -1;
    uint64_t tail = 0, entries = 0;
    srdi_synced rec;
    bool trusted = false;
    st_snap *sn = NULL;
    srd_err rc = (o.flags & SRD_OPEN_CLIENT)
                     ? SRD_EBUSY
                     : st_open_files(st, &o, &lfd, &fd);
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
    if (rc == SRD_OK)
        rc = st_recover(st, &o, fd, &tail, &entries, &rec, &trusted);
    if (rc == SRD_OK)
        rc = srdi_store_load(st, fd, tail, entries, &sn);
    if (rc == SRD_OK) {
        atomic_init(&st->snap, sn);
        if (o.flags & SRD_OPEN_READONLY) {
            st->ro_fd = fd;
        } else {
            rc = srdi_writer_start(st->path, lfd, fd, tail,
                                   trusted ? &rec : NULL, o.sync,
                                   o.sync_interval_ms, &st->w);
            lfd = fd = -1; /* owned by the writer now, also on failure */
        }
    }
    if (rc != SRD_OK) {
        if (fd >= 0)
            close(fd);
        if (lfd >= 0)
            close(lfd);
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
    srd_err rc = srdi_client_close(st->client);
    if (st->w && srdi_store_forked(st))
        srdi_writer_abandon(st->w); /* the parent's to sync and record */
    else if (st->w)
        rc = srdi_writer_stop(st->w);
    if (st->ro_fd >= 0)
        close(st->ro_fd);
    srdi_ebr_drain(&st->retired);
    srdi_store_snap_free(atomic_load(&st->snap));
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
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

/* Fill *v from a live loc of sn (inside an EBR section). */
static srd_err view_from_loc(const st_snap *sn, uint64_t hash, uint64_t loc,
                             srd_view *v)
{
    uint64_t payload, len;
    if (!srdi_store_resolve(sn->map, loc, &payload, &len))
        return SRD_ECORRUPT;
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
    uint64_t loc = srdi_index_lookup(sn->idx, key_hash);
    srd_err rc = srdi_loc_is_live(loc)
                     ? view_from_loc(sn, key_hash, loc, view)
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
        uint64_t locs[MANY_GROUP];
        for (size_t i = 0; i < m; i++)
            srdi_index_prefetch(sn->idx, hashes[g + i]);
        for (size_t i = 0; i < m; i++) {
            locs[i] = srdi_index_lookup(sn->idx, hashes[g + i]);
            if (srdi_loc_is_live(locs[i]) && !(locs[i] & SRDI_LOC_LARGE))
                __builtin_prefetch(sn->map->base +
                                   (locs[i] & ((1ull << 42) - 1)) * 64);
        }
        for (size_t i = 0; i < m; i++) {
            srd_view *v = &views[g + i];
            memset(v, 0, sizeof *v);
            if (!srdi_loc_is_live(locs[i]))
                continue;
            srd_err e = view_from_loc(sn, hashes[g + i], locs[i], v);
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
    *exists = srdi_loc_is_live(srdi_index_lookup(sn->idx, key_hash));
    srdi_ebr_leave(r);
    return SRD_OK;
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

static void st_append_leave(srd_store *st)
{
    st->inflight++;
    pthread_mutex_unlock(&st->mu);
}

srd_err srdi_store_append_unit(srd_store *st, const srdi_op *ops, size_t n,
                               srdi_entry *placed)
{
    st_append_enter(st);
    srd_err rc = srdi_writer_append(st->w, ops, n, placed);
    st_append_leave(st);
    return rc;
}

srd_err srdi_store_append_file(srd_store *st, uint64_t key_hash, int src_fd,
                               uint64_t len, uint32_t crc, srdi_entry *placed)
{
    st_append_enter(st);
    srd_err rc = srdi_writer_append_file(st->w, key_hash, src_fd, len, crc,
                                         placed);
    st_append_leave(st);
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

srd_err srd_put(srd_store *st, srd_val key, srd_val value)
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

srd_err srd_put_batch(srd_store *st, const srd_val *keys, const srd_val *values,
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

srd_err srd_delete(srd_store *st, srd_val key, bool *existed)
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

srd_err srd_delete_batch(srd_store *st, const srd_val *keys, size_t n,
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

/* ---- streams ------------------------------------------------------------ */

struct srd_stream {
    srd_store *st;
    srdi_wstream *ws;
    srdi_cstream *cs; /* client mode: the stream lives in srdd */
};

srd_err srd_stream_begin(srd_store *st, srd_val key, srd_stream **out)
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
} live_list;

static int live_collect(void *ctx, uint64_t hash, uint64_t loc)
{
    live_list *l = ctx;
    if (srdi_loc_pos(loc) >= l->below)
        return 0;
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
    live_list l = {.below = below};
    if (srdi_index_each(sn->idx, live_collect, &l)) {
        free(l.v);
        return SRD_ENOMEM;
    }
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, cmp_item);
    *items = l.v;
    *n = l.n;
    return SRD_OK;
}

struct srd_iter {
    srdi_map *map; /* reference: the locs below point into it */
    srdi_live_item *items;
    size_t n, next;
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
    srd_err rc = srdi_store_live_sorted(sn, UINT64_MAX, &it->items, &it->n);
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
    st_snap tmp = {NULL, it->map, false};
    return view_from_loc(&tmp, x->hash, x->loc, view);
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
    /* fstat under mu: a compaction switching files closes the old fd */
    int fd = st->w ? srdi_writer_fd(st->w) : st->ro_fd;
    struct stat sb;
    info->file_size = fstat(fd, &sb) == 0 ? (uint64_t)sb.st_size : info->tail;
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

srd_err srd_sync(srd_store *st)
{
    if (st && st->client)
        return srdi_client_sync(st->client);
    srd_err rc = st_writable(st);
    return rc == SRD_OK ? srdi_writer_sync(st->w) : rc;
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
    if (rc == SRD_OK && tail == UINT64_MAX)
        rc = srdi_recovery_find_tail_n(fd, 0, (uint64_t)sb.st_size, &tail,
                                       &entries);
    else if (rc == SRD_OK && tail > (uint64_t)sb.st_size)
        rc = SRD_ECORRUPT;
    st_snap *sn = NULL;
    uint64_t before = st->entries;
    if (rc == SRD_OK)
        rc = srdi_store_load(st, fd, tail, entries, &sn);
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
    load_ctx *lc = rc == SRD_OK ? malloc(sizeof *lc) : NULL;
    if (rc == SRD_OK && !lc)
        rc = SRD_ENOMEM;
    if (rc != SRD_OK)
        return rc;
    /* Newest first is fine: the index keeps the newest by position. */
    uint64_t before = st->entries;
    *lc = (load_ctx){.st = st, .sn = atomic_load(&st->snap), .rc = SRD_OK};
    rc = srdi_recovery_walk(st->ro_fd, base, tail, load_entry, lc);
    if (rc == SRD_OK && lc->n > 0)
        load_flush(lc);
    if (rc == SRD_ECANCELED || rc == SRD_OK)
        rc = lc->rc;
    free(lc);
    if (added)
        *added = st->entries - before;
    return rc;
}

srd_err srd_refresh(srd_store *st, uint64_t *added)
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
            rc = srdi_recovery_find_tail(st->ro_fd, base,
                                         (uint64_t)ours.st_size, &tail);
        if (rc == SRD_OK)
            rc = srdi_store_catch_up(st, base, tail, added);
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}
