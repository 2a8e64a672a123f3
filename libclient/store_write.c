/* SPDX-License-Identifier: MIT */
/*
 * store_write.c -- the write path of a handle: turns at the writer (the
 * exclusive section of streams and compaction, in-flight appends), the
 * two halves of a write (append, then sync and index update: group
 * commit), puts, deletes, batches, streams and sync.
 */
#include "srd_features.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "format.h"
#include "store_impl.h"

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
        srdi_store_pend_push(st, start);
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
        srdi_store_pend_pop(st, placed[0].start);
        srdi_store_shared_cover(st);
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
    if (!srdi_val_ok(key) || srdi_format_check_value(value.ptr, value.len))
        return SRD_EINVAL;
    srdi_op op = {srdi_key_of(key), value.ptr, value.len, false};
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
        if (!srdi_val_ok(keys[i]) || srdi_format_check_value(values[i].ptr,
                                                        values[i].len))
            rc = SRD_EINVAL;
        else
            ops[i] = (srdi_op){srdi_key_of(keys[i]), values[i].ptr,
                               values[i].len, false};
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

/* Tombstones for the present, distinct keys among hashes[0..n). */
static srd_err st_delete_hashes(srd_store *st, uint64_t *hashes, size_t n,
                                size_t *deleted)
{
    qsort(hashes, n, sizeof *hashes, srdi_cmp_u64);
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
    if (!srdi_val_ok(key))
        return SRD_EINVAL;
    uint64_t h = srdi_key_of(key);
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
        if (!srdi_val_ok(keys[i]))
            rc = SRD_EINVAL;
        else
            hs[i] = srdi_key_of(keys[i]);
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
    if (!out || !srdi_val_ok(key))
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
    rc = srdi_writer_stream_begin(st->w, srdi_key_of(key), &s->ws);
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
        srdi_store_pend_push(st, placed.start);
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
        srdi_store_shared_cover(st);
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
