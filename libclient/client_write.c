/* SPDX-License-Identifier: MIT */
/*
 * client_write.c -- client mode's blocking writes: put, batch, delete,
 * sync, compact and refresh as one request each, and streams (srdd knows
 * a stream by the handle's client id). Pipelined puts are in client.c.
 */
#include "srd_features.h"

#include <stdlib.h>
#include <string.h>

#include "client_impl.h"
#include "store_impl.h"

/* A write: handshake first if the connection is new, then round trip. */
static srd_err cl_write(srdi_client *c, srdi_wire_request *rq,
                        srdi_wire_response *rs)
{
    srd_err rc = srdi_cl_hello_if(c, false);
    if (rc != SRD_OK) {
        if (rs)
            memset(rs, 0, sizeof *rs);
        return rc;
    }
    return srdi_cl_roundtrip(c, rq, rs);
}

static srd_err cl_put_streamed(srdi_client *c, srd_val key, srd_val value)
{
    srdi_cstream *cs;
    srd_err rc = srdi_client_stream_begin(c, key, &cs);
    if (rc != SRD_OK)
        return rc;
    rc = srdi_client_stream_write(cs, value.ptr, value.len);
    srd_err end = srdi_client_stream_end(cs, rc != SRD_OK);
    return rc != SRD_OK ? rc : end;
}

srd_err srdi_client_put(srdi_client *c, srd_val key, srd_val value)
{
    if (cl_put_too_big(c, key, value))
        return cl_put_streamed(c, key, value);
    srdi_wire_request rq;
    cl_request(&rq, SRDI_WIRE_PUT, 1, &key, &value);
    return cl_write(c, &rq, NULL);
}

srd_err srdi_client_put_batch(srdi_client *c, const srd_val *keys,
                              const srd_val *values, size_t n)
{
    if (n == 0)
        return SRD_OK;
    srdi_wire_request rq;
    cl_request(&rq, SRDI_WIRE_PUT_BATCH, n, keys, values);
    return cl_write(c, &rq, NULL);
}

/* Delete or delete_batch; *written receives the tombstones srdd wrote. */
static srd_err cl_delete(srdi_client *c, srdi_wire_op op, const srd_val *keys,
                         size_t n, size_t *written)
{
    *written = 0;
    srdi_wire_request rq;
    srdi_wire_response rs;
    cl_request(&rq, op, n, keys, NULL);
    srd_err rc = cl_write(c, &rq, &rs);
    if (rc == SRD_OK)
        *written = rs.n_entries;
    srdi_wire_response_free(&rs);
    return rc;
}

srd_err srdi_client_delete(srdi_client *c, srd_val key, bool *existed)
{
    size_t k;
    srd_err rc = cl_delete(c, SRDI_WIRE_DELETE, &key, 1, &k);
    if (existed)
        *existed = rc == SRD_OK && k > 0;
    return rc;
}

srd_err srdi_client_delete_batch(srdi_client *c, const srd_val *keys,
                                 size_t n, size_t *deleted)
{
    size_t k = 0;
    srd_err rc = n == 0 ? SRD_OK
                 : keys ? cl_delete(c, SRDI_WIRE_DELETE_BATCH, keys, n, &k)
                        : SRD_EINVAL;
    if (deleted)
        *deleted = k;
    return rc;
}

srd_err srdi_client_sync(srdi_client *c)
{
    srdi_wire_request rq;
    cl_request(&rq, SRDI_WIRE_SYNC, 0, NULL, NULL);
    return cl_write(c, &rq, NULL);
}

/* Compaction may take long: wait up to an hour (a lost connection fails
 * the call at once). */
#define CL_COMPACT_TIMEOUT_MS (3600 * 1000)

srd_err srdi_client_compact(srdi_client *c, srd_compact_report *report)
{
    srdi_wire_request rq;
    srdi_wire_response rs;
    cl_request(&rq, SRDI_WIRE_COMPACT, 0, NULL, NULL);
    srd_err rc = srdi_cl_hello_if(c, false);
    if (rc != SRD_OK)
        return rc;
    rc = srdi_cl_roundtrip_for(c, &rq, &rs, CL_COMPACT_TIMEOUT_MS);
    if (rc == SRD_OK && !rs.has_compact)
        rc = SRD_EPROTO;
    if (rc == SRD_OK && report)
        *report = rs.compact.rep;
    srdi_wire_response_free(&rs);
    /* catch up with the new file now rather than at the next update */
    if (rc == SRD_OK)
        srdi_cl_hello_if(c, true);
    return rc;
}

srd_err srdi_client_refresh(srdi_client *c, uint64_t *added)
{
    uint64_t before = srdi_store_entries(c->st);
    /* With no daemon connected nothing new can have been written. */
    srd_err rc = atomic_load(&c->pipes) > 0 ||
                         srdi_cl_writer_alive(c->st->path)
                     ? srdi_cl_hello_if(c, true)
                     : SRD_OK;
    uint64_t after = srdi_store_entries(c->st);
    if (added)
        *added = after > before ? after - before : 0;
    return rc == SRD_EUNREACHABLE ? SRD_OK : rc;
}

/* ---- streams ------------------------------------------------------------ */

static void cl_stream_free(srdi_cstream *cs)
{
    free(cs->buf);
    free(cs);
}

srd_err srdi_client_stream_begin(srdi_client *c, srd_val key,
                                 srdi_cstream **out)
{
    *out = NULL;
    srdi_cstream *cs = calloc(1, sizeof *cs);
    size_t max = atomic_load(&c->max_message) - CL_HEADROOM;
    if (!cs)
        return SRD_ENOMEM;
    cs->c = c;
    cs->cap = max < CL_CHUNK ? max : CL_CHUNK;
    cs->buf = malloc(cs->cap);
    srd_err rc = cs->buf ? SRD_OK : SRD_ENOMEM;
    srdi_wire_request rq;
    srdi_wire_response rs;
    memset(&rs, 0, sizeof rs);
    cl_request(&rq, SRDI_WIRE_STREAM_BEGIN, 1, &key, NULL);
    if (rc == SRD_OK)
        rc = cl_write(c, &rq, &rs);
    cs->id = rs.stream_id;
    srdi_wire_response_free(&rs);
    if (rc != SRD_OK) {
        cl_stream_free(cs);
        return rc;
    }
    *out = cs;
    return SRD_OK;
}

static srd_err cl_chunk(srdi_cstream *cs, const void *p, size_t len)
{
    srdi_wire_request rq;
    cl_request(&rq, SRDI_WIRE_STREAM_CHUNK, 0, NULL, NULL);
    rq.stream_id = cs->id;
    rq.chunk = (srd_val){p, len};
    srd_err rc = srdi_cl_roundtrip(cs->c, &rq, NULL);
    if (rc != SRD_OK && cs->failed == SRD_OK)
        cs->failed = rc;
    return rc;
}

srd_err srdi_client_stream_write(srdi_cstream *cs, const void *p, size_t len)
{
    const uint8_t *b = p;
    while (len > 0 && cs->failed == SRD_OK) {
        if (cs->n == 0 && len >= cs->cap) { /* whole chunk: no copy */
            cl_chunk(cs, b, cs->cap);
            b += cs->cap;
            len -= cs->cap;
            continue;
        }
        size_t k = cs->cap - cs->n < len ? cs->cap - cs->n : len;
        memcpy(cs->buf + cs->n, b, k);
        cs->n += k;
        b += k;
        len -= k;
        if (cs->n == cs->cap) {
            cs->n = 0;
            cl_chunk(cs, cs->buf, cs->cap);
        }
    }
    return cs->failed;
}

srd_err srdi_client_stream_end(srdi_cstream *cs, bool abort)
{
    if (!abort && cs->failed == SRD_OK && cs->n > 0)
        cl_chunk(cs, cs->buf, cs->n);
    srdi_wire_request rq;
    cl_request(&rq, SRDI_WIRE_STREAM_END, 0, NULL, NULL);
    rq.stream_id = cs->id;
    rq.abort = abort || cs->failed != SRD_OK;
    srd_err rc = cl_write(cs->c, &rq, NULL);
    if (cs->failed != SRD_OK)
        rc = cs->failed;
    cl_stream_free(cs);
    return rc;
}

