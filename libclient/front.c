/* SPDX-License-Identifier: MIT */
/*
 * front.c -- srd.h's open, close and writes: the arguments are checked
 * here once (the value rule: keys may be empty, values may not be empty
 * or the single byte 0x00), then every write goes through the handle's
 * write-op table (front.h): local (the engine's srdi_store_* functions)
 * or remote (client mode, the srdi_client_* functions). Reads do not come
 * here: they are the same in both modes (store_read.c).
 */
#include "srd_features.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "client.h"
#include "format.h"
#include "front.h"
#include "multiproc.h"
#include "srd_assert.h"
#include "store_impl.h"

/* ======================================================================== */
/* The local table: the embedded writer                                     */
/* ======================================================================== */

static srd_err lc_stream_begin(srd_store *st, srd_val key, void **impl)
{
    srdi_wstream *ws = NULL;
    srd_err rc = srdi_store_stream_begin(st, srdi_key_of(key), &ws);
    *impl = ws;
    return rc;
}

static srd_err lc_stream_write(void *impl, const void *data, size_t len)
{
    return srdi_writer_stream_write(impl, data, len);
}

static srd_err lc_stream_end(srd_store *st, void *impl, bool abort)
{
    if (!abort)
        return srdi_store_stream_commit(st, impl);
    srdi_store_stream_abort(st, impl);
    return SRD_OK;
}

/* Without a daemon a put is done when it returns: done hears it at once. */
static srd_err lc_put_async(srd_store *st, srd_val key, srd_val value,
                            srd_done_fn done, void *ctx)
{
    if (!st->w)
        return SRD_EREADONLY;
    done(ctx, srdi_store_put(st, &key, &value, 1));
    return SRD_OK;
}

static srd_err lc_flush(srd_store *st)
{
    (void)st;
    return SRD_OK;
}

static const srdi_front fr_local = {
    .remote = false,
    .writable = srdi_store_writable,
    .put = srdi_store_put,
    .del = srdi_store_delete,
    .stream_begin = lc_stream_begin,
    .stream_write = lc_stream_write,
    .stream_end = lc_stream_end,
    .sync = srdi_store_sync,
    .refresh = srdi_store_refresh,
    .put_async = lc_put_async,
    .flush = lc_flush,
    .compact = srdi_store_compact_to,
    .close = srdi_store_close,
};

/* ======================================================================== */
/* The remote table: srdd writes (client.c, client_write.c)                 */
/* ======================================================================== */

static srd_err rm_writable(const srd_store *st)
{
    (void)st;
    return SRD_OK; /* srdd decides; a fork() child hears SRD_EFORKED */
}

static srd_err rm_put(srd_store *st, const srd_val *keys,
                      const srd_val *values, size_t n)
{
    return n == 1 ? srdi_client_put(st->client, keys[0], values[0])
                  : srdi_client_put_batch(st->client, keys, values, n);
}

static srd_err rm_del(srd_store *st, const srd_val *keys, size_t n,
                      size_t *deleted)
{
    if (n > 1)
        return srdi_client_delete_batch(st->client, keys, n, deleted);
    bool existed = false;
    srd_err rc = srdi_client_delete(st->client, keys[0], &existed);
    *deleted = existed ? 1 : 0;
    return rc;
}

static srd_err rm_stream_begin(srd_store *st, srd_val key, void **impl)
{
    srdi_cstream *cs = NULL;
    srd_err rc = srdi_client_stream_begin(st->client, key, &cs);
    *impl = cs;
    return rc;
}

static srd_err rm_stream_write(void *impl, const void *data, size_t len)
{
    return srdi_client_stream_write(impl, data, len);
}

static srd_err rm_stream_end(srd_store *st, void *impl, bool abort)
{
    (void)st;
    return srdi_client_stream_end(impl, abort);
}

static srd_err rm_sync(srd_store *st)
{
    return srdi_client_sync(st->client);
}

static srd_err rm_refresh(srd_store *st, uint64_t *added)
{
    return srdi_client_refresh(st->client, added);
}

static srd_err rm_put_async(srd_store *st, srd_val key, srd_val value,
                            srd_done_fn done, void *ctx)
{
    return srdi_client_put_async(st->client, key, value, done, ctx);
}

static srd_err rm_flush(srd_store *st)
{
    return srdi_client_flush(st->client);
}

/* srdd compacts, keeping the layout; progress from its figures. */
static srd_err rm_compact(srd_store *st, srd_layout layout,
                          srd_progress_fn progress, void *ctx,
                          srd_compact_report *report)
{
    if (srdi_format_align(layout) != srdi_store_align(st))
        return SRD_ESTATE;
    return srdi_client_compact_ex(st->client, st->path, progress, ctx,
                                  report);
}

static srd_err rm_close(srd_store *st)
{
    srd_err rc = srdi_client_close(st->client);
    srd_err rc2 = srdi_store_close(st);
    return rc != SRD_OK ? rc : rc2;
}

static const srdi_front fr_remote = {
    .remote = true,
    .writable = rm_writable,
    .put = rm_put,
    .del = rm_del,
    .stream_begin = rm_stream_begin,
    .stream_write = rm_stream_write,
    .stream_end = rm_stream_end,
    .sync = rm_sync,
    .refresh = rm_refresh,
    .put_async = rm_put_async,
    .flush = rm_flush,
    .compact = rm_compact,
    .close = rm_close,
};

/* ======================================================================== */
/* Choosing the table                                                       */
/* ======================================================================== */

static const srdi_front *fr_of(srd_store *st)
{
    const srdi_front *f = atomic_load_explicit(&st->front,
                                               memory_order_acquire);
    return f ? f : &fr_local;
}

void srdi_front_become_client(srd_store *st, srdi_client *c)
{
    pthread_mutex_lock(&st->mu);
    SRD_ASSERT(st->busy && st->inflight == 0 && st->w == NULL);
    st->client = c;
    pthread_mutex_unlock(&st->mu);
    atomic_store_explicit(&st->front, &fr_remote, memory_order_release);
}

/* srdi_store_open's hook: client mode when srdi_client_wanted says so. */
static bool fr_divert(srd_store *st, unsigned flags, srd_err lock_rc,
                      srd_err *rc)
{
    if (!srdi_client_wanted(st->path, flags, lock_rc))
        return false;
    *rc = srdi_client_open(st);
    if (*rc == SRD_OK) /* nobody else has the handle yet */
        atomic_store_explicit(&st->front, &fr_remote, memory_order_release);
    return true;
}

/* The handle's table, when st is one to write through. */
static srd_err fr_enter(srd_store *st, const srdi_front **f)
{
    if (!st)
        return SRD_EINVAL;
    *f = fr_of(st);
    return (*f)->writable(st);
}

/* ======================================================================== */
/* The write gate: one table per write call (multiproc.c's hand-over)       */
/* ======================================================================== */

/* A write call's hold on the handle's mode (st->gate, shared), taken
 * around every call into the write-op table; multiproc.c's switch takes
 * it exclusive. A call nested in another of the same thread on the same
 * handle does not take it again: a waiting switch would deadlock it. */
typedef struct srdi_gate {
    const srd_store *prev;
    bool locked;
} srdi_gate;

/* The handle whose gate this thread holds (nested calls skip it). */
static _Thread_local const srd_store *st_gate_held;

static srdi_gate fr_gate_enter(srd_store *st)
{
    srdi_gate g = {st_gate_held, false};
    if (st_gate_held == st)
        return g;
    pthread_rwlock_rdlock(&st->gate);
    st_gate_held = st;
    g.locked = true;
    return g;
}

static void fr_gate_leave(srd_store *st, srdi_gate g)
{
    if (!g.locked)
        return;
    st_gate_held = g.prev;
    pthread_rwlock_unlock(&st->gate);
}

#define FR_GATED(st, call)                                                    \
    do {                                                                      \
        srdi_gate g_ = fr_gate_enter(st);                             \
        srd_err rc_ = (call);                                                 \
        fr_gate_leave(st, g_);                                        \
        return rc_;                                                           \
    } while (0)

/* ======================================================================== */
/* The value rule                                                           */
/* ======================================================================== */

static srd_err fr_check_key(srd_val key)
{
    return srdi_val_ok(key) ? SRD_OK : SRD_EINVAL;
}

static srd_err fr_check_pair(srd_val key, srd_val value)
{
    if (fr_check_key(key) != SRD_OK ||
        srdi_format_check_value(value.ptr, value.len) != SRD_OK)
        return SRD_EINVAL;
    return SRD_OK;
}

/* keys (values NULL) or pairs [0, n): present when n > 0, n not so large
 * that an op table for them would overflow, each one valid. */
static srd_err fr_check_all(const srd_val *keys, const srd_val *values,
                            size_t n, bool pairs)
{
    if (!keys || (pairs && !values) || n > SIZE_MAX / sizeof(srdi_op))
        return SRD_EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((pairs ? fr_check_pair(keys[i], values[i])
                   : fr_check_key(keys[i])) != SRD_OK)
            return SRD_EINVAL;
    return SRD_OK;
}

/* ======================================================================== */
/* srd.h: open, close, writes                                               */
/* ======================================================================== */

srd_err srd_open(const char *path, const srd_options *opts, srd_store **out)
{
    if (out)
        *out = NULL;
    if (!out)
        return srdi_multi_refuse("out is NULL");
    if (!path || !*path)
        return srdi_multi_refuse("path is NULL or empty");
    srd_options o;
    if (opts)
        o = *opts;
    else
        srd_options_init(&o);
    if (!srdi_client_flags_ok(o.flags))
        return srdi_multi_refuse("SRD_OPEN_CLIENT cannot be combined with "
                                 "SRD_OPEN_EMBEDDED or SRD_OPEN_READONLY");
    return srdi_multi_open(path, &o, out);
}

srd_err srdi_front_open(const char *path, const srd_options *o,
                        srd_store **out)
{
    return srdi_store_open(path, o, fr_divert, out);
}

srd_err srd_close(srd_store *st)
{
    return st ? srdi_multi_close(st) : SRD_OK;
}

srd_err srdi_front_close(srd_store *st)
{
    return fr_of(st)->close(st);
}

static srd_err fr_put(srd_store *st, srd_val key, srd_val value)
{
    const srdi_front *f = NULL;
    srd_err rc = fr_enter(st, &f);
    if (rc == SRD_OK)
        rc = fr_check_pair(key, value);
    return rc == SRD_OK ? f->put(st, &key, &value, 1) : rc;
}

srd_err srd_put(srd_store *st, srd_val key, srd_val value)
{
    if (!st)
        return SRD_EINVAL;
    FR_GATED(st, fr_put(st, key, value));
}

static srd_err fr_put_batch(srd_store *st, const srd_val *keys, const srd_val *values,
                            size_t n)
{
    const srdi_front *f = NULL;
    srd_err rc = fr_enter(st, &f);
    if (rc != SRD_OK || n == 0)
        return rc;
    rc = fr_check_all(keys, values, n, true);
    return rc == SRD_OK ? f->put(st, keys, values, n) : rc;
}

srd_err srd_put_batch(srd_store *st, const srd_val *keys, const srd_val *values,
                      size_t n)
{
    if (!st)
        return SRD_EINVAL;
    FR_GATED(st, fr_put_batch(st, keys, values, n));
}

static srd_err fr_delete(srd_store *st, srd_val key, bool *existed)
{
    const srdi_front *f = NULL;
    size_t d = 0;
    srd_err rc = fr_enter(st, &f);
    if (rc == SRD_OK)
        rc = fr_check_key(key);
    if (rc != SRD_OK)
        return rc;
    rc = f->del(st, &key, 1, &d);
    if (existed)
        *existed = rc == SRD_OK && d == 1;
    return rc;
}

srd_err srd_delete(srd_store *st, srd_val key, bool *existed)
{
    if (!st)
        return SRD_EINVAL;
    FR_GATED(st, fr_delete(st, key, existed));
}

static srd_err fr_delete_batch(srd_store *st, const srd_val *keys, size_t n,
                               size_t *deleted)
{
    const srdi_front *f = NULL;
    size_t d = 0;
    srd_err rc = fr_enter(st, &f);
    if (rc != SRD_OK)
        return rc;
    if (deleted)
        *deleted = 0;
    if (n == 0)
        return SRD_OK;
    rc = fr_check_all(keys, NULL, n, false);
    if (rc == SRD_OK)
        rc = f->del(st, keys, n, &d);
    if (deleted)
        *deleted = d;
    return rc;
}

srd_err srd_delete_batch(srd_store *st, const srd_val *keys, size_t n,
                         size_t *deleted)
{
    if (!st)
        return SRD_EINVAL;
    FR_GATED(st, fr_delete_batch(st, keys, n, deleted));
}

static srd_err fr_sync(srd_store *st)
{
    const srdi_front *f = NULL;
    srd_err rc = fr_enter(st, &f);
    return rc == SRD_OK ? f->sync(st) : rc;
}

srd_err srd_sync(srd_store *st)
{
    if (!st)
        return SRD_EINVAL;
    FR_GATED(st, fr_sync(st));
}

static srd_err fr_refresh(srd_store *st, uint64_t *added)
{
    if (added)
        *added = 0;
    return st ? fr_of(st)->refresh(st, added) : SRD_EINVAL;
}

srd_err srd_refresh(srd_store *st, uint64_t *added)
{
    if (!st)
        return SRD_EINVAL;
    FR_GATED(st, fr_refresh(st, added));
}

static srd_err fr_put_async(srd_store *st, srd_val key, srd_val value,
                            srd_done_fn done, void *ctx)
{
    if (!st || !done || fr_check_pair(key, value) != SRD_OK)
        return SRD_EINVAL;
    return fr_of(st)->put_async(st, key, value, done, ctx);
}

srd_err srd_put_async(srd_store *st, srd_val key, srd_val value,
                      srd_done_fn done, void *ctx)
{
    if (!st)
        return SRD_EINVAL;
    FR_GATED(st, fr_put_async(st, key, value, done, ctx));
}

static srd_err fr_flush(srd_store *st)
{
    return st ? fr_of(st)->flush(st) : SRD_EINVAL;
}

srd_err srd_flush(srd_store *st)
{
    if (!st)
        return SRD_EINVAL;
    FR_GATED(st, fr_flush(st));
}

static srd_err fr_compact_to(srd_store *st, srd_layout layout,
                             srd_progress_fn progress, void *ctx,
                             srd_compact_report *report)
{
    if (!st || (unsigned)layout > SRD_LAYOUT_UNPADDED)
        return SRD_EINVAL;
    return fr_of(st)->compact(st, layout, progress, ctx, report);
}

srd_err srd_compact_to(srd_store *st, srd_layout layout,
                       srd_progress_fn progress, void *ctx,
                       srd_compact_report *report)
{
    if (!st)
        return SRD_EINVAL;
    FR_GATED(st, fr_compact_to(st, layout, progress, ctx, report));
}

srd_err srd_compact_ex(srd_store *st, srd_progress_fn progress, void *ctx,
                       srd_compact_report *report)
{
    return srd_compact_to(st, st ? srdi_format_layout(srdi_store_align(st))
                                 : SRD_LAYOUT_ALIGNED64,
                          progress, ctx, report);
}

srd_err srd_compact(srd_store *st, uint64_t *reclaimed)
{
    srd_compact_report rep;
    if (reclaimed)
        *reclaimed = 0;
    srd_err rc = srd_compact_ex(st, NULL, NULL, &rep);
    if (rc == SRD_OK && reclaimed)
        *reclaimed = rep.reclaimed;
    return rc;
}

/* ---- streams ------------------------------------------------------------ */

struct srd_stream {
    srd_store *st;
    const srdi_front *f; /* the table it began on */
    void *impl;          /* srdi_wstream (local) or srdi_cstream (remote) */
};

static srd_err fr_stream_begin(srd_store *st, srd_val key, srd_stream **out)
{
    const srdi_front *f = NULL;
    if (out)
        *out = NULL;
    srd_err rc = fr_enter(st, &f);
    if (rc != SRD_OK)
        return rc;
    if (!out || fr_check_key(key) != SRD_OK)
        return SRD_EINVAL;
    srd_stream *s = calloc(1, sizeof *s);
    if (!s)
        return SRD_ENOMEM;
    *s = (srd_stream){st, f, NULL};
    rc = f->stream_begin(st, key, &s->impl);
    if (rc != SRD_OK) {
        free(s);
        return rc;
    }
    *out = s;
    return SRD_OK;
}

srd_err srd_stream_begin(srd_store *st, srd_val key, srd_stream **out)
{
    if (out)
        *out = NULL;
    if (!st)
        return SRD_EINVAL;
    FR_GATED(st, fr_stream_begin(st, key, out));
}

srd_err srd_stream_write(srd_stream *s, const void *data, size_t len)
{
    if (!s || (!data && len > 0))
        return SRD_EINVAL;
    return s->f->stream_write(s->impl, data, len);
}

srd_err srd_stream_commit(srd_stream *s)
{
    if (!s)
        return SRD_EINVAL;
    srd_err rc = s->f->stream_end(s->st, s->impl, false);
    free(s);
    return rc;
}

void srd_stream_abort(srd_stream *s)
{
    if (!s)
        return;
    s->f->stream_end(s->st, s->impl, true);
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
