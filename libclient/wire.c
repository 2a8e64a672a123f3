/* SPDX-License-Identifier: MIT */
/*
 * wire.c -- encode and decode srd wire messages (see wire.h and
 * docs/PROTOCOL.md). The only module besides generated code that includes
 * srd.pb-c.h. Every length a peer declares is checked against the bytes
 * actually received before anything is read through it.
 */
#include "srd_features.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbcost.h"
#include "pbfast.h"
#include "srd.pb-c.h"
#include "wire.h"

/* ======================================================================== */
/* Framing: [u32 LE header_len][header][raw]                                */
/* ======================================================================== */

/* Tests: every message through protobuf-c alone (srdi_wire_pb_only). */
static bool wire_pb_only;

void srdi_wire_pb_only(bool on)
{
    wire_pb_only = on;
}

static srd_err wire_fail(char *why, srd_err rc, const char *fmt, ...)
{
    if (why) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, SRDI_WIRE_WHY, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* One message split into its parts; the header is still unparsed. */
typedef struct wire_frame {
    const uint8_t *hdr;
    size_t hdr_len;
    const uint8_t *raw;
    size_t raw_len;
} wire_frame;

static srd_err wire_split(const void *buf, size_t len, size_t max,
                          wire_frame *f, char *why)
{
    const uint8_t *p = buf;
    if (max && len > max)
        return wire_fail(why, SRD_ETOOBIG,
                         "message of %zu bytes exceeds the limit of %zu",
                         len, max);
    if (!p || len < SRDI_WIRE_PREFIX)
        return wire_fail(why, SRD_EPROTO,
                         "message of %zu bytes is shorter than its 4-byte "
                         "header length", len);
    uint32_t hl = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                  (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    if (hl > len - SRDI_WIRE_PREFIX)
        return wire_fail(why, SRD_EPROTO,
                         "declared header length %" PRIu32
                         " exceeds the %zu bytes that follow it",
                         hl, len - SRDI_WIRE_PREFIX);
    f->hdr = p + SRDI_WIRE_PREFIX;
    f->hdr_len = hl;
    f->raw = f->hdr + hl;
    f->raw_len = len - SRDI_WIRE_PREFIX - hl;
    return SRD_OK;
}

/* Size of a frame holding m plus raw_len raw bytes (SRD_EINVAL when the
 * header is too large for the u32 prefix or the sum overflows). */
static srd_err wire_frame_size(const ProtobufCMessage *m, size_t raw_len,
                               size_t *len)
{
    size_t hl = protobuf_c_message_get_packed_size(m);
    if (hl > UINT32_MAX || raw_len > SIZE_MAX - SRDI_WIRE_PREFIX - hl)
        return SRD_EINVAL;
    *len = SRDI_WIRE_PREFIX + hl + raw_len;
    return SRD_OK;
}

/* Write prefix and header; returns where the raw bytes go, or NULL when
 * they would not fit in len exactly raw_len bytes. */
static uint8_t *wire_frame_put(const ProtobufCMessage *m, size_t raw_len,
                               void *buf, size_t len)
{
    size_t need;
    if (!buf || wire_frame_size(m, raw_len, &need) != SRD_OK || need != len)
        return NULL;
    uint8_t *p = buf;
    size_t hl = len - SRDI_WIRE_PREFIX - raw_len;
    p[0] = (uint8_t)hl;
    p[1] = (uint8_t)(hl >> 8);
    p[2] = (uint8_t)(hl >> 16);
    p[3] = (uint8_t)(hl >> 24);
    protobuf_c_message_pack(m, p + SRDI_WIRE_PREFIX);
    return p + SRDI_WIRE_PREFIX + hl;
}

/* A header ready to be framed, with the raw byte count that follows it
 * and the memory its build allocated (freed once framed). */
typedef struct wire_out {
    const ProtobufCMessage *m;
    size_t raw_len;
    void *own;
} wire_out;

/* The size half of every *_size function: rc is the build's result. */
static srd_err wire_out_size(srd_err rc, wire_out *o, size_t *len)
{
    if (rc == SRD_OK)
        rc = len ? wire_frame_size(o->m, o->raw_len, len) : SRD_EINVAL;
    free(o->own);
    return rc;
}

/* The encode half: frames o into buf; *raw is where raw bytes go. */
static srd_err wire_out_encode(srd_err rc, wire_out *o, void *buf, size_t len,
                               uint8_t **raw)
{
    if (rc == SRD_OK) {
        *raw = wire_frame_put(o->m, o->raw_len, buf, len);
        rc = *raw ? SRD_OK : SRD_EINVAL;
    }
    free(o->own);
    return rc;
}

/* ======================================================================== */
/* Entry refs                                                               */
/* ======================================================================== */

/* n EntryRef messages and the pointer array protobuf-c wants, in one
 * block; NULL on ENOMEM (n == 0 gives a valid empty block). */
static Srd__V1__EntryRef **refs_build(const srdi_entry *e, size_t n)
{
    if (n > SIZE_MAX / (sizeof(Srd__V1__EntryRef) + sizeof(void *)))
        return NULL;
    Srd__V1__EntryRef **v =
        malloc(n * (sizeof(void *) + sizeof(Srd__V1__EntryRef)) + 1);
    if (!v)
        return NULL;
    Srd__V1__EntryRef *r = (Srd__V1__EntryRef *)(v + n);
    for (size_t i = 0; i < n; i++) {
        srd__v1__entry_ref__init(&r[i]);
        r[i].key_hash = e[i].key_hash;
        r[i].start = e[i].start;
        r[i].end = e[i].end;
        r[i].tombstone = e[i].tombstone;
        v[i] = &r[i];
    }
    return v;
}

/* Derive the entry a ref describes; false when no entry has that shape. */
static bool ref_to_entry(const srdi_pbf_ref *r, srdi_entry *e)
{
    uint64_t tail_room = 1 + SRDI_TRAILER_SIZE;
    if (r->start > UINT64_MAX - SRDI_ALIGN - tail_room)
        return false;
    e->key_hash = r->key_hash;
    e->start = r->start;
    e->end = r->end;
    e->tombstone = r->tombstone;
    e->crc = 0;
    /* The 64-byte layout's payload when it fits, else the unpadded one:
     * a receiving store derives it again in its own layout
     * (srdi_store_apply). */
    uint64_t pad = r->tombstone ? 0 : srdi_format_pad(r->start);
    if (r->end < r->start + pad + tail_room)
        pad = 0;
    e->payload = r->start + pad;
    if (r->tombstone ? r->end != r->start + tail_room
                     : r->end < e->payload + tail_room)
        return false;
    e->len = r->end - SRDI_TRAILER_SIZE - e->payload;
    return true;
}

static srd_err refs_fail(char *why, size_t i, const srdi_pbf_ref *r)
{
    return wire_fail(why, SRD_EPROTO,
                     "entry %zu [%" PRIu64 ", %" PRIu64
                     ") has an impossible shape", i, r->start, r->end);
}

/* Decode n refs into a malloc'd array (*out; NULL when n == 0). The array
 * and its length (*n_out) are set together and only on success, so a
 * caller never sees a count without its entries. */
static srd_err refs_decode(Srd__V1__EntryRef *const *refs, size_t n,
                           srdi_entry **out, size_t *n_out, char *why)
{
    *out = NULL;
    *n_out = 0;
    if (n == 0)
        return SRD_OK;
    srdi_entry *e = malloc(n * sizeof *e);
    if (!e)
        return SRD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        srdi_pbf_ref r = {refs[i]->key_hash, refs[i]->start, refs[i]->end,
                          refs[i]->tombstone};
        if (!ref_to_entry(&r, &e[i])) {
            free(e);
            return refs_fail(why, i, &r);
        }
    }
    *out = e;
    *n_out = n;
    return SRD_OK;
}

/* The entries of a canonical message scanned by pbfast, as refs_decode. */
static srd_err refs_decode_fast(const srdi_pbf_refs *s, srdi_entry **out,
                                size_t *n_out, char *why)
{
    size_t n = s->n;
    *out = NULL;
    *n_out = 0;
    if (n == 0)
        return SRD_OK;
    if (n > SIZE_MAX / sizeof(srdi_entry))
        return SRD_ENOMEM;
    srdi_entry *e = malloc(n * sizeof *e);
    if (!e)
        return SRD_ENOMEM;
    /* a few refs at a time through a buffer that stays in the cache */
    srdi_pbf_refs_it it = {s->refs, s->refs_len, s->field};
    srdi_pbf_ref r[64];
    size_t got, i = 0;
    while (i < n && (got = srdi_pbf_refs_next(&it, r, 64)) > 0) {
        for (size_t j = 0; j < got; j++, i++) {
            if (!ref_to_entry(&r[j], &e[i])) {
                free(e);
                return refs_fail(why, i, &r[j]);
            }
        }
    }
    if (i != n) { /* the scan counted them: cannot happen */
        free(e);
        return wire_fail(why, SRD_EPROTO, "entries changed under the decoder");
    }
    *out = e;
    *n_out = n;
    return SRD_OK;
}

/* ======================================================================== */
/* Requests                                                                 */
/* ======================================================================== */

bool srdi_wire_op_mutates(srdi_wire_op op)
{
    return op == SRDI_WIRE_PUT || op == SRDI_WIRE_PUT_BATCH ||
           op == SRDI_WIRE_DELETE || op == SRDI_WIRE_DELETE_BATCH ||
           op == SRDI_WIRE_STREAM_END;
}

const char *srdi_wire_op_name(srdi_wire_op op)
{
    static const char *const names[] = {
        "none", "hello", "put", "put_batch", "delete", "delete_batch",
        "stream_begin", "stream_chunk", "stream_end", "sync", "stats",
        "compact"};
    return (unsigned)op < sizeof names / sizeof names[0] ? names[op]
                                                         : "unknown";
}

/* The protobuf form of a request, with everything it points to. */
typedef struct req_pb {
    Srd__V1__Request rq;
    union {
        Srd__V1__Hello hello;
        Srd__V1__Put put;
        Srd__V1__PutBatch batch;
        Srd__V1__Delete del;
        Srd__V1__DeleteBatch dels;
        Srd__V1__StreamBegin sbegin;
        Srd__V1__StreamChunk schunk;
        Srd__V1__StreamEnd send;
        Srd__V1__Sync sync;
        Srd__V1__Stats stats;
        Srd__V1__Compact compact;
    } u;
    void *arrays;     /* batch items or keys (malloc'd) */
    size_t raw_len;   /* value or chunk bytes after the header */
} req_pb;

static ProtobufCBinaryData bin_of(srd_val v)
{
    return (ProtobufCBinaryData){v.len, (uint8_t *)(uintptr_t)v.ptr};
}

static bool vals_ok(const srd_val *v, size_t n)
{
    if (n > 0 && !v)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!v[i].ptr && v[i].len)
            return false;
    return true;
}

/* Items of a put batch: n Put messages plus the pointer array. */
static srd_err req_build_batch(const srdi_wire_request *in, req_pb *o)
{
    size_t n = in->n;
    if (n > SIZE_MAX / (sizeof(Srd__V1__Put) + sizeof(void *)))
        return SRD_EINVAL;
    Srd__V1__Put **v = malloc(n * (sizeof(void *) + sizeof(Srd__V1__Put)) + 1);
    if (!v)
        return SRD_ENOMEM;
    Srd__V1__Put *items = (Srd__V1__Put *)(v + n);
    for (size_t i = 0; i < n; i++) {
        srd__v1__put__init(&items[i]);
        items[i].key = bin_of(in->keys[i]);
        items[i].value_len = in->values[i].len;
        if (in->values[i].len > SIZE_MAX - o->raw_len) {
            free(v);
            return SRD_EINVAL;
        }
        o->raw_len += in->values[i].len;
        v[i] = &items[i];
    }
    srd__v1__put_batch__init(&o->u.batch);
    o->u.batch.n_items = n;
    o->u.batch.items = v;
    o->arrays = v;
    o->rq.put_batch = &o->u.batch;
    return SRD_OK;
}

static srd_err req_build_dels(const srdi_wire_request *in, req_pb *o)
{
    if (in->n > SIZE_MAX / sizeof(ProtobufCBinaryData))
        return SRD_EINVAL;
    ProtobufCBinaryData *k = malloc(in->n * sizeof *k + 1);
    if (!k)
        return SRD_ENOMEM;
    for (size_t i = 0; i < in->n; i++)
        k[i] = bin_of(in->keys[i]);
    srd__v1__delete_batch__init(&o->u.dels);
    o->u.dels.n_keys = in->n;
    o->u.dels.keys = k;
    o->arrays = k;
    o->rq.delete_batch = &o->u.dels;
    return SRD_OK;
}

/* Check the fields op needs; the single-key ops need exactly one key. */
static bool req_shape_ok(const srdi_wire_request *in)
{
    switch (in->op) {
    case SRDI_WIRE_PUT:
        return in->n == 1 && vals_ok(in->keys, 1) && vals_ok(in->values, 1);
    case SRDI_WIRE_PUT_BATCH:
        return vals_ok(in->keys, in->n) && vals_ok(in->values, in->n);
    case SRDI_WIRE_DELETE:
    case SRDI_WIRE_STREAM_BEGIN:
        return in->n == 1 && vals_ok(in->keys, 1);
    case SRDI_WIRE_DELETE_BATCH:
        return vals_ok(in->keys, in->n);
    case SRDI_WIRE_STREAM_CHUNK:
        return vals_ok(&in->chunk, 1);
    case SRDI_WIRE_HELLO:
    case SRDI_WIRE_STREAM_END:
    case SRDI_WIRE_SYNC:
    case SRDI_WIRE_STATS:
    case SRDI_WIRE_COMPACT:
        return true;
    default:
        return false;
    }
}

/* Fill the single-message ops (no arrays to allocate). */
static void req_build_simple(const srdi_wire_request *in, req_pb *o)
{
    switch (in->op) {
    case SRDI_WIRE_HELLO:
        srd__v1__hello__init(&o->u.hello);
        o->u.hello.protocol_version = in->hello_version;
        o->rq.hello = &o->u.hello;
        break;
    case SRDI_WIRE_PUT:
        srd__v1__put__init(&o->u.put);
        o->u.put.key = bin_of(in->keys[0]);
        o->u.put.value_len = in->values[0].len;
        o->raw_len = in->values[0].len;
        o->rq.put = &o->u.put;
        break;
    case SRDI_WIRE_DELETE:
        srd__v1__delete__init(&o->u.del);
        o->u.del.key = bin_of(in->keys[0]);
        o->rq.delete_ = &o->u.del;
        break;
    case SRDI_WIRE_STREAM_BEGIN:
        srd__v1__stream_begin__init(&o->u.sbegin);
        o->u.sbegin.key = bin_of(in->keys[0]);
        o->rq.stream_begin = &o->u.sbegin;
        break;
    case SRDI_WIRE_STREAM_CHUNK:
        srd__v1__stream_chunk__init(&o->u.schunk);
        o->u.schunk.stream_id = in->stream_id;
        o->raw_len = in->chunk.len;
        o->rq.stream_chunk = &o->u.schunk;
        break;
    case SRDI_WIRE_STREAM_END:
        srd__v1__stream_end__init(&o->u.send);
        o->u.send.stream_id = in->stream_id;
        o->u.send.abort = in->abort;
        o->rq.stream_end = &o->u.send;
        break;
    case SRDI_WIRE_SYNC:
        srd__v1__sync__init(&o->u.sync);
        o->rq.sync = &o->u.sync;
        break;
    case SRDI_WIRE_STATS:
        srd__v1__stats__init(&o->u.stats);
        o->rq.stats = &o->u.stats;
        break;
    default: /* SRDI_WIRE_COMPACT; req_shape_ok let nothing else through */
        srd__v1__compact__init(&o->u.compact);
        o->rq.compact = &o->u.compact;
        break;
    }
}

/* The oneof case for each op, indexed by srdi_wire_op. */
static const Srd__V1__Request__OpCase req_cases[] = {
    SRD__V1__REQUEST__OP__NOT_SET,      SRD__V1__REQUEST__OP_HELLO,
    SRD__V1__REQUEST__OP_PUT,           SRD__V1__REQUEST__OP_PUT_BATCH,
    SRD__V1__REQUEST__OP_DELETE,        SRD__V1__REQUEST__OP_DELETE_BATCH,
    SRD__V1__REQUEST__OP_STREAM_BEGIN,  SRD__V1__REQUEST__OP_STREAM_CHUNK,
    SRD__V1__REQUEST__OP_STREAM_END,    SRD__V1__REQUEST__OP_SYNC,
    SRD__V1__REQUEST__OP_STATS,         SRD__V1__REQUEST__OP_COMPACT};

static srd_err req_build_pb(const srdi_wire_request *in, req_pb *o)
{
    if (!in || !req_shape_ok(in))
        return SRD_EINVAL;
    srd__v1__request__init(&o->rq);
    o->rq.protocol_version = in->version;
    o->rq.client_id = in->client_id;
    o->rq.seq = in->seq;
    o->rq.op_case = req_cases[in->op];
    if (in->op == SRDI_WIRE_PUT_BATCH)
        return req_build_batch(in, o);
    if (in->op == SRDI_WIRE_DELETE_BATCH)
        return req_build_dels(in, o);
    req_build_simple(in, o);
    return SRD_OK;
}

static srd_err req_build(const srdi_wire_request *in, req_pb *pb,
                         wire_out *o)
{
    memset(pb, 0, sizeof *pb);
    srd_err rc = req_build_pb(in, pb);
    *o = (wire_out){&pb->rq.base, pb->raw_len, pb->arrays};
    return rc;
}

/* Put and PutBatch are written by pbfast (protobuf-c's bytes, without
 * building its structs first); every other op by protobuf-c. */
static bool req_fast(const srdi_wire_request *rq)
{
    return !wire_pb_only && rq &&
           (rq->op == SRDI_WIRE_PUT || rq->op == SRDI_WIRE_PUT_BATCH) &&
           req_shape_ok(rq);
}

/* The fast path's sizes: header, op body (for srdi_pbf_puts_put) and
 * the whole message. */
typedef struct req_fast_len {
    size_t hl, op, len;
} req_fast_len;

static srd_err req_fast_size(const srdi_wire_request *rq, req_fast_len *l)
{
    size_t raw;
    l->hl = srdi_pbf_puts_size(rq->version, rq->client_id, rq->seq,
                               rq->op == SRDI_WIRE_PUT_BATCH, rq->keys,
                               rq->values, rq->n, &l->op, &raw);
    if (raw == SIZE_MAX || l->hl > UINT32_MAX ||
        raw > SIZE_MAX - SRDI_WIRE_PREFIX - l->hl)
        return SRD_EINVAL;
    l->len = SRDI_WIRE_PREFIX + l->hl + raw;
    return SRD_OK;
}

srd_err srdi_wire_request_size(const srdi_wire_request *rq, size_t *len)
{
    req_pb pb;
    wire_out o;
    req_fast_len l;
    if (req_fast(rq)) {
        srd_err rc = len ? req_fast_size(rq, &l) : SRD_EINVAL;
        if (rc == SRD_OK)
            *len = l.len;
        return rc;
    }
    return wire_out_size(req_build(rq, &pb, &o), &o, len);
}

/* Copy the raw bytes that follow a request header. */
static void req_put_raw(const srdi_wire_request *rq, uint8_t *raw)
{
    if (rq->op == SRDI_WIRE_STREAM_CHUNK) {
        if (rq->chunk.len)
            memcpy(raw, rq->chunk.ptr, rq->chunk.len);
        return;
    }
    if (rq->op != SRDI_WIRE_PUT && rq->op != SRDI_WIRE_PUT_BATCH)
        return;
    for (size_t i = 0; i < rq->n; i++) {
        if (rq->values[i].len)
            memcpy(raw, rq->values[i].ptr, rq->values[i].len);
        raw += rq->values[i].len;
    }
}

/* The fast path's encode of sizes l: prefix, header, raw bytes. */
static void req_fast_put(const srdi_wire_request *rq, const req_fast_len *l,
                         uint8_t *p)
{
    srdi_wire_frame_put(p, (uint32_t)l->hl);
    srdi_pbf_puts_put(p + SRDI_WIRE_PREFIX, rq->version, rq->client_id,
                      rq->seq, rq->op == SRDI_WIRE_PUT_BATCH, rq->keys,
                      rq->values, rq->n, l->op);
    req_put_raw(rq, p + SRDI_WIRE_PREFIX + l->hl);
}

srd_err srdi_wire_request_encode(const srdi_wire_request *rq, void *buf,
                                 size_t len)
{
    req_pb pb;
    wire_out o;
    uint8_t *raw;
    req_fast_len l;
    if (req_fast(rq)) {
        srd_err rc = req_fast_size(rq, &l);
        if (rc != SRD_OK || !buf || l.len != len)
            return SRD_EINVAL;
        req_fast_put(rq, &l, buf);
        return SRD_OK;
    }
    srd_err rc = wire_out_encode(req_build(rq, &pb, &o), &o, buf, len, &raw);
    if (rc == SRD_OK)
        req_put_raw(rq, raw);
    return rc;
}

/* Make *buf (of *cap bytes) hold need bytes. */
static srd_err req_room(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return SRD_OK;
    uint8_t *p = realloc(*buf, need);
    if (!p)
        return SRD_ENOMEM;
    *buf = p;
    *cap = need;
    return SRD_OK;
}

srd_err srdi_wire_request_pack(const srdi_wire_request *rq, size_t max,
                               uint8_t **buf, size_t *cap, size_t *len)
{
    req_fast_len l;
    bool fast = req_fast(rq);
    srd_err rc = fast ? req_fast_size(rq, &l)
                      : srdi_wire_request_size(rq, &l.len);
    *len = 0;
    if (rc == SRD_OK && l.len > max)
        rc = SRD_ETOOBIG;
    if (rc == SRD_OK)
        rc = req_room(buf, cap, l.len);
    if (rc != SRD_OK)
        return rc;
    *len = l.len;
    if (!fast)
        return srdi_wire_request_encode(rq, *buf, l.len);
    req_fast_put(rq, &l, *buf); /* sized once, written once */
    return SRD_OK;
}

/* What a decoded request owns: the unpacked header and the key/value
 * arrays (2 * n srd_val). */
typedef struct req_own {
    Srd__V1__Request *pb;
    srd_val vals[];
} req_own;

static srd_val val_of(ProtobufCBinaryData b)
{
    return (srd_val){b.data, b.len};
}

static srd_err req_own_alloc(srdi_wire_request *rq, Srd__V1__Request *pb,
                             size_t n)
{
    if (n > (SIZE_MAX - sizeof(req_own)) / (2 * sizeof(srd_val)))
        return SRD_ENOMEM;
    req_own *o = malloc(sizeof *o + 2 * n * sizeof(srd_val));
    if (!o)
        return SRD_ENOMEM;
    o->pb = pb;
    rq->_own = o;
    rq->n = n;
    rq->keys = o->vals;
    rq->values = o->vals + n;
    return SRD_OK;
}

/* Put and PutBatch, once rq->values[i].len hold the declared lengths:
 * they must add up to exactly the raw bytes received; the values then
 * point at them. */
static srd_err req_place_values(srdi_wire_request *rq, const wire_frame *f,
                                char *why)
{
    size_t off = 0;
    for (size_t i = 0; i < rq->n; i++) {
        size_t vl = rq->values[i].len;
        if (vl > f->raw_len - off)
            return wire_fail(why, SRD_EPROTO,
                             "value %zu declares %zu bytes but only "
                             "%zu remain in the message", i, vl,
                             f->raw_len - off);
        rq->values[i].ptr = f->raw + off;
        off += vl;
    }
    if (off != f->raw_len)
        return wire_fail(why, SRD_EPROTO,
                         "%zu raw bytes follow the values the header "
                         "declares", f->raw_len - off);
    return SRD_OK;
}

/* Put and PutBatch decoded by protobuf-c. */
static srd_err req_decode_puts(srdi_wire_request *rq, Srd__V1__Put *const *items,
                               size_t n, const wire_frame *f, char *why)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t vl = items[i]->value_len;
        if (vl > SIZE_MAX) /* only where size_t is narrower */
            return wire_fail(why, SRD_EPROTO,
                             "value %zu declares %" PRIu64 " bytes but only "
                             "%zu remain in the message", i, vl, f->raw_len);
        rq->keys[i] = val_of(items[i]->key);
        rq->values[i] = (srd_val){NULL, (size_t)vl};
    }
    return req_place_values(rq, f, why);
}

static srd_err req_no_raw(const srdi_wire_request *rq, const wire_frame *f,
                          char *why)
{
    if (f->raw_len == 0)
        return SRD_OK;
    return wire_fail(why, SRD_EPROTO,
                     "%zu unexpected raw bytes after a %s request",
                     f->raw_len, srdi_wire_op_name(rq->op));
}

/* Fill rq's op fields from its unpacked header (rq->_own holds pb with
 * no arrays yet). */
static srd_err req_decode_op(srdi_wire_request *rq, const Srd__V1__Request *pb,
                             const wire_frame *f, char *why)
{
    switch (pb->op_case) {
    case SRD__V1__REQUEST__OP_HELLO:
        rq->hello_version = pb->hello->protocol_version;
        return req_no_raw(rq, f, why);
    case SRD__V1__REQUEST__OP_PUT:
        return req_decode_puts(rq, &pb->put, 1, f, why);
    case SRD__V1__REQUEST__OP_PUT_BATCH:
        return req_decode_puts(rq, pb->put_batch->items,
                               pb->put_batch->n_items, f, why);
    case SRD__V1__REQUEST__OP_DELETE:
        rq->keys[0] = val_of(pb->delete_->key);
        return req_no_raw(rq, f, why);
    case SRD__V1__REQUEST__OP_DELETE_BATCH:
        for (size_t i = 0; i < rq->n; i++)
            rq->keys[i] = val_of(pb->delete_batch->keys[i]);
        return req_no_raw(rq, f, why);
    case SRD__V1__REQUEST__OP_STREAM_BEGIN:
        rq->keys[0] = val_of(pb->stream_begin->key);
        return req_no_raw(rq, f, why);
    case SRD__V1__REQUEST__OP_STREAM_CHUNK:
        rq->stream_id = pb->stream_chunk->stream_id;
        rq->chunk = (srd_val){f->raw, f->raw_len};
        return SRD_OK;
    case SRD__V1__REQUEST__OP_STREAM_END:
        rq->stream_id = pb->stream_end->stream_id;
        rq->abort = pb->stream_end->abort;
        return req_no_raw(rq, f, why);
    default: /* sync, stats, compact */
        return req_no_raw(rq, f, why);
    }
}

/* The op of a oneof case (NONE for an unknown or unset one). */
static srdi_wire_op req_op_of(Srd__V1__Request__OpCase c)
{
    for (size_t i = 1; i < sizeof req_cases / sizeof req_cases[0]; i++)
        if (req_cases[i] == c)
            return (srdi_wire_op)i;
    return SRDI_WIRE_NONE;
}

/* Keys the op carries. */
static size_t req_nkeys(const Srd__V1__Request *pb)
{
    switch (pb->op_case) {
    case SRD__V1__REQUEST__OP_PUT:
    case SRD__V1__REQUEST__OP_DELETE:
    case SRD__V1__REQUEST__OP_STREAM_BEGIN:
        return 1;
    case SRD__V1__REQUEST__OP_PUT_BATCH:
        return pb->put_batch->n_items;
    case SRD__V1__REQUEST__OP_DELETE_BATCH:
        return pb->delete_batch->n_keys;
    default:
        return 0;
    }
}

static srd_err req_version_fail(const srdi_wire_request *rq, char *why)
{
    return wire_fail(why, SRD_EVERSION,
                     "protocol version %" PRIu32 " is not supported "
                     "(this side speaks %u)", rq->version, SRDI_WIRE_VERSION);
}

/* A put or put_batch header in canonical form, read by pbfast: what
 * protobuf-c would have made of it, with the keys pointing into the
 * message instead of into copies. */
static srd_err req_decode_fast(srdi_wire_request *rq, const srdi_pbf_puts *s,
                               const wire_frame *f, char *why)
{
    rq->version = s->version;
    rq->client_id = s->client_id;
    rq->seq = s->seq;
    rq->op = s->batch ? SRDI_WIRE_PUT_BATCH : SRDI_WIRE_PUT;
    if (rq->version != SRDI_WIRE_VERSION)
        return req_version_fail(rq, why);
    srd_err rc = req_own_alloc(rq, NULL, s->n);
    if (rc != SRD_OK)
        return rc;
    srdi_pbf_puts_items(s, rq->keys, rq->values);
    return req_place_values(rq, f, why);
}

static srd_err req_decode_body(srdi_wire_request *rq, Srd__V1__Request *pb,
                               const wire_frame *f, char *why)
{
    rq->version = pb->protocol_version;
    rq->client_id = pb->client_id;
    rq->seq = pb->seq;
    rq->op = req_op_of(pb->op_case);
    if (rq->version != SRDI_WIRE_VERSION)
        return req_version_fail(rq, why);
    if (rq->op == SRDI_WIRE_NONE)
        return wire_fail(why, SRD_EPROTO,
                         "request names no known operation");
    srd_err rc = req_own_alloc(rq, pb, req_nkeys(pb));
    return rc == SRD_OK ? req_decode_op(rq, pb, f, why) : rc;
}

/* Memory any header may take to decode, whatever the message limit. */
#define WIRE_COST_FLOOR ((uint64_t)1 << 20)

/* What unpacking f's header costs (pbcost.h); refused past 2 * max plus
 * WIRE_COST_FLOOR. */
static srd_err req_cost(const wire_frame *f, size_t max, uint64_t *cost,
                        char *why)
{
    *cost = 0;
    if (!srdi_pb_cost(&srd__v1__request__descriptor, f->hdr, f->hdr_len,
                      cost))
        return wire_fail(why, SRD_EPROTO,
                         "header of %zu bytes is not a valid srd.v1.Request",
                         f->hdr_len);
    uint64_t limit = 2 * (uint64_t)max + WIRE_COST_FLOOR;
    if (max && *cost > limit)
        return wire_fail(why, SRD_ETOOBIG,
                         "a header of %zu bytes would take %" PRIu64
                         " MiB to decode (limit %" PRIu64 " MiB: twice "
                         "--max-message + 1): send fewer items per request",
                         f->hdr_len, *cost >> 20, limit >> 20);
    return SRD_OK;
}

/* Version, client id and sequence of a header not unpacked (for the
 * reply to a request refused before decoding). */
static void req_peek_ids(const wire_frame *f, srdi_wire_request *ids)
{
    uint64_t v = 0;
    memset(ids, 0, sizeof *ids);
    if (srdi_pb_scalar(f->hdr, f->hdr_len, 1, &v))
        ids->version = (uint32_t)v;
    srdi_pb_scalar(f->hdr, f->hdr_len, 2, &ids->client_id);
    srdi_pb_scalar(f->hdr, f->hdr_len, 3, &ids->seq);
}

srd_err srdi_wire_request_cost(const void *buf, size_t len, size_t max,
                               uint64_t *cost, srdi_wire_request *ids,
                               char *why)
{
    wire_frame f = {0};
    *cost = 0;
    memset(ids, 0, sizeof *ids);
    srd_err rc = wire_split(buf, len, max, &f, why);
    if (rc == SRD_OK)
        req_peek_ids(&f, ids);
    return rc == SRD_OK ? req_cost(&f, max, cost, why) : rc;
}

srd_err srdi_wire_request_decode(const void *buf, size_t len, size_t max,
                                 srdi_wire_request *rq, char *why)
{
    wire_frame f = {0};
    uint64_t cost;
    if (!rq)
        return SRD_EINVAL;
    memset(rq, 0, sizeof *rq);
    if (why)
        why[0] = '\0';
    srd_err rc = wire_split(buf, len, max, &f, why);
    if (rc == SRD_OK && max && (rc = req_cost(&f, max, &cost, why)) != SRD_OK)
        req_peek_ids(&f, rq);
    if (rc != SRD_OK)
        return rc;
    srdi_pbf_puts fast;
    Srd__V1__Request *pb = NULL;
    if (!wire_pb_only && srdi_pbf_puts_scan(f.hdr, f.hdr_len, &fast)) {
        rc = req_decode_fast(rq, &fast, &f, why);
    } else {
        pb = srd__v1__request__unpack(NULL, f.hdr_len, f.hdr);
        if (!pb)
            return wire_fail(why, SRD_EPROTO, "header of %zu bytes is not "
                             "a valid srd.v1.Request", f.hdr_len);
        rc = req_decode_body(rq, pb, &f, why);
    }
    if (rc != SRD_OK) {
        uint64_t cid = rq->client_id, seq = rq->seq;
        uint32_t ver = rq->version;
        if (rq->_own)
            srdi_wire_request_free(rq); /* frees pb too */
        else if (pb)
            srd__v1__request__free_unpacked(pb, NULL);
        *rq = (srdi_wire_request){.version = ver, .client_id = cid,
                                  .seq = seq};
    }
    return rc;
}

void srdi_wire_request_free(srdi_wire_request *rq)
{
    if (!rq || !rq->_own)
        return;
    req_own *o = rq->_own;
    if (o->pb) /* NULL: decoded by pbfast */
        srd__v1__request__free_unpacked(o->pb, NULL);
    free(o);
    rq->_own = NULL;
    rq->keys = rq->values = NULL;
    rq->n = 0;
}

/* ======================================================================== */
/* Responses                                                                */
/* ======================================================================== */

/* u64 fields copied one to one between a C struct and its message. */
typedef struct u64_field {
    size_t c_off, pb_off;
} u64_field;

#define U64F(ctype, pbtype, f) {offsetof(ctype, f), offsetof(pbtype, f)}

static const u64_field stats_fields[] = {
    U64F(srdi_wire_stats, Srd__V1__StatsReply, pid),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, uptime_ms),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, generation),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, committed_tail),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, file_size),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, live_keys),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, dead_bytes),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, requests),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, groups),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, syncs),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, publish_drops),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, clients),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, writes),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, group_max),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, compact_done),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, compact_total),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, compactions),
    U64F(srdi_wire_stats, Srd__V1__StatsReply, last_compact_unix_ms),
};

/* CompactReply: the report's fields, then the generation. */
static const u64_field compact_fields[] = {
    U64F(srd_compact_report, Srd__V1__CompactReply, old_size),
    U64F(srd_compact_report, Srd__V1__CompactReply, new_size),
    U64F(srd_compact_report, Srd__V1__CompactReply, reclaimed),
    U64F(srd_compact_report, Srd__V1__CompactReply, copied_entries),
    U64F(srd_compact_report, Srd__V1__CompactReply, caught_up_entries),
    U64F(srd_compact_report, Srd__V1__CompactReply, pause_us),
    U64F(srd_compact_report, Srd__V1__CompactReply, total_us),
};

static const u64_field hello_fields[] = {
    U64F(srdi_wire_hello, Srd__V1__HelloReply, store_dev),
    U64F(srdi_wire_hello, Srd__V1__HelloReply, store_ino),
    U64F(srdi_wire_hello, Srd__V1__HelloReply, generation),
    U64F(srdi_wire_hello, Srd__V1__HelloReply, committed_tail),
    U64F(srdi_wire_hello, Srd__V1__HelloReply, max_message),
    U64F(srdi_wire_hello, Srd__V1__HelloReply, shared_index),
};

/* Copy the listed fields from C struct to message (to_pb) or back. */
static void u64_copy(const u64_field *f, size_t n, void *c, void *pb,
                     bool to_pb)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t *cv = (uint64_t *)((char *)c + f[i].c_off);
        uint64_t *pv = (uint64_t *)((char *)pb + f[i].pb_off);
        if (to_pb)
            *pv = *cv;
        else
            *cv = *pv;
    }
}

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static char *str_in(const char *s)
{
    return (char *)(uintptr_t)(s ? s : "");
}

/* CompactReply from its C form (to_pb) or back. */
static void compact_copy(srdi_wire_compact *c, Srd__V1__CompactReply *pb,
                         bool to_pb)
{
    u64_copy(compact_fields, NFIELDS(compact_fields), &c->rep, pb, to_pb);
    if (to_pb)
        pb->generation = c->generation;
    else
        c->generation = pb->generation;
}

/* The protobuf form of a response. */
typedef struct rsp_pb {
    Srd__V1__Response rs;
    Srd__V1__HelloReply hello;
    Srd__V1__StatsReply stats;
    Srd__V1__CompactReply compact, last_compact;
    srdi_wire_hello hello_c; /* mutable copies for u64_copy */
    srdi_wire_stats stats_c;
    srdi_wire_compact compact_c;
} rsp_pb;

static void rsp_build_stats(const srdi_wire_response *in, rsp_pb *o)
{
    srd__v1__stats_reply__init(&o->stats);
    o->stats_c = in->stats;
    u64_copy(stats_fields, NFIELDS(stats_fields), &o->stats_c, &o->stats,
             true);
    o->stats.compacting = in->stats.compacting;
    if (in->stats.has_last_compact) {
        srd__v1__compact_reply__init(&o->last_compact);
        compact_copy(&o->stats_c.last_compact, &o->last_compact, true);
        o->stats.last_compact = &o->last_compact;
    }
    o->rs.stats = &o->stats;
}

static void rsp_build_extras(const srdi_wire_response *in, rsp_pb *o)
{
    if (in->has_hello) {
        srd__v1__hello_reply__init(&o->hello);
        o->hello_c = in->hello;
        u64_copy(hello_fields, NFIELDS(hello_fields), &o->hello_c, &o->hello,
                 true);
        o->hello.protocol_version = in->hello.protocol_version;
        o->hello.store_path = str_in(in->hello.store_path);
        o->hello.publish_url = str_in(in->hello.publish_url);
        o->rs.hello = &o->hello;
    }
    if (in->has_stats)
        rsp_build_stats(in, o);
    if (in->has_compact) {
        srd__v1__compact_reply__init(&o->compact);
        o->compact_c = in->compact;
        compact_copy(&o->compact_c, &o->compact, true);
        o->rs.compact = &o->compact;
    }
}

static srd_err rsp_build_pb(const srdi_wire_response *in, rsp_pb *o)
{
    if (!in || (in->n_entries && !in->entries))
        return SRD_EINVAL;
    srd__v1__response__init(&o->rs);
    o->rs.seq = in->seq;
    o->rs.error = (uint32_t)in->error;
    o->rs.message = str_in(in->message);
    o->rs.generation = in->generation;
    o->rs.committed_tail = in->committed_tail;
    o->rs.stream_id = in->stream_id;
    o->rs.n_entries = in->n_entries;
    o->rs.entries = refs_build(in->entries, in->n_entries);
    if (!o->rs.entries)
        return SRD_ENOMEM;
    rsp_build_extras(in, o);
    return SRD_OK;
}

static srd_err rsp_build(const srdi_wire_response *in, rsp_pb *pb,
                         wire_out *o)
{
    memset(pb, 0, sizeof *pb);
    srd_err rc = rsp_build_pb(in, pb);
    *o = (wire_out){&pb->rs.base, 0, pb->rs.entries};
    return rc;
}

/* Messages of scalars and entries (pbfast.h) framed: size and encode. */
static srd_err refs_msg_size(const srdi_pbf_refs_msg *m, size_t *len)
{
    size_t hl = srdi_pbf_refs_msg_size(m);
    if (!len || hl > UINT32_MAX)
        return SRD_EINVAL;
    *len = SRDI_WIRE_PREFIX + hl;
    return SRD_OK;
}

static srd_err refs_msg_encode(const srdi_pbf_refs_msg *m, void *buf,
                               size_t len)
{
    size_t need;
    if (!buf || refs_msg_size(m, &need) != SRD_OK || need != len)
        return SRD_EINVAL;
    srdi_wire_frame_put(buf, (uint32_t)(len - SRDI_WIRE_PREFIX));
    srdi_pbf_refs_msg_put((uint8_t *)buf + SRDI_WIRE_PREFIX, m);
    return SRD_OK;
}

/* The scalar fields of a Response that pbfast reads and writes. */
#define RSP_SCALARS (1u << 1 | 1u << 2 | 1u << 4 | 1u << 5)

/* A reply with no hello, stats, stream id or compact report (every
 * mutation's) is written by pbfast; false for the others. */
static bool rsp_fast(const srdi_wire_response *rs, uint64_t u[5],
                     srdi_pbf_refs_msg *m)
{
    if (wire_pb_only || !rs || (rs->n_entries && !rs->entries) ||
        rs->has_hello ||
        rs->has_stats || rs->has_compact || rs->stream_id)
        return false;
    u[0] = rs->seq;
    u[1] = (uint32_t)rs->error;
    u[2] = 0; /* field 3: the message */
    u[3] = rs->generation;
    u[4] = rs->committed_tail;
    *m = (srdi_pbf_refs_msg){u, 5, 3, rs->message, rs->entries,
                             rs->n_entries};
    return true;
}

srd_err srdi_wire_response_size(const srdi_wire_response *rs, size_t *len)
{
    rsp_pb pb;
    wire_out o;
    uint64_t u[5];
    srdi_pbf_refs_msg m;
    if (rsp_fast(rs, u, &m))
        return refs_msg_size(&m, len);
    return wire_out_size(rsp_build(rs, &pb, &o), &o, len);
}

srd_err srdi_wire_response_encode(const srdi_wire_response *rs, void *buf,
                                  size_t len)
{
    rsp_pb pb;
    wire_out o;
    uint8_t *raw;
    uint64_t u[5];
    srdi_pbf_refs_msg m;
    if (rsp_fast(rs, u, &m))
        return refs_msg_encode(&m, buf, len);
    return wire_out_encode(rsp_build(rs, &pb, &o), &o, buf, len, &raw);
}

/* Split a message that carries no raw bytes (a `name`). */
static srd_err bare_split(const char *name, const void *buf, size_t len,
                          size_t max, wire_frame *f, char *why)
{
    if (why)
        why[0] = '\0';
    srd_err rc = wire_split(buf, len, max, f, why);
    if (rc == SRD_OK && f->raw_len)
        rc = wire_fail(why, SRD_EPROTO, "%zu unexpected raw bytes after a %s",
                       f->raw_len, name);
    return rc;
}

/* Unpack the header of a message that carries no raw bytes. */
static ProtobufCMessage *unpack_bare(const ProtobufCMessageDescriptor *d,
                                     const wire_frame *f, srd_err *rc,
                                     char *why)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, f->hdr_len,
                                                    f->hdr);
    *rc = SRD_OK;
    if (!m)
        *rc = wire_fail(why, SRD_EPROTO,
                        "header of %zu bytes is not a valid %s", f->hdr_len,
                        d->name);
    return m;
}

static void rsp_decode_extras(srdi_wire_response *rs, Srd__V1__Response *pb)
{
    if (pb->hello) {
        rs->has_hello = true;
        u64_copy(hello_fields, NFIELDS(hello_fields), &rs->hello, pb->hello,
                 false);
        rs->hello.protocol_version = pb->hello->protocol_version;
        rs->hello.store_path = pb->hello->store_path;
        rs->hello.publish_url = pb->hello->publish_url;
    }
    if (pb->stats) {
        rs->has_stats = true;
        u64_copy(stats_fields, NFIELDS(stats_fields), &rs->stats, pb->stats,
                 false);
        rs->stats.compacting = pb->stats->compacting;
        rs->stats.has_last_compact = pb->stats->last_compact != NULL;
        if (pb->stats->last_compact)
            compact_copy(&rs->stats.last_compact, pb->stats->last_compact,
                         false);
    }
    if (pb->compact) {
        rs->has_compact = true;
        compact_copy(&rs->compact, pb->compact, false);
    }
}

/* A reply in canonical form with no message (pbfast): what protobuf-c
 * would have made of it. */
static srd_err rsp_decode_fast(srdi_wire_response *rs,
                               const srdi_pbf_refs *s, char *why)
{
    srd_err rc = refs_decode_fast(s, &rs->entries, &rs->n_entries, why);
    if (rc != SRD_OK)
        return rc;
    rs->seq = s->u[1];
    rs->error = (srd_err)s->u[2];
    rs->message = "";
    rs->generation = s->u[4];
    rs->committed_tail = s->u[5];
    return SRD_OK;
}

srd_err srdi_wire_response_decode(const void *buf, size_t len, size_t max,
                                  srdi_wire_response *rs, char *why)
{
    wire_frame f = {0};
    srdi_pbf_refs fast;
    if (!rs)
        return SRD_EINVAL;
    memset(rs, 0, sizeof *rs);
    srd_err rc = bare_split(srd__v1__response__descriptor.name, buf, len,
                            max, &f, why);
    if (rc != SRD_OK)
        return rc;
    if (!wire_pb_only &&
        srdi_pbf_refs_scan(f.hdr, f.hdr_len, RSP_SCALARS, &fast) &&
        fast.u[2] <= UINT32_MAX)
        return rsp_decode_fast(rs, &fast, why);
    Srd__V1__Response *pb = (Srd__V1__Response *)unpack_bare(
        &srd__v1__response__descriptor, &f, &rc, why);
    if (!pb)
        return rc;
    rc = refs_decode(pb->entries, pb->n_entries, &rs->entries,
                     &rs->n_entries, why);
    if (rc != SRD_OK) {
        srd__v1__response__free_unpacked(pb, NULL);
        return rc;
    }
    rs->_own = pb;
    rs->seq = pb->seq;
    rs->error = (srd_err)pb->error;
    rs->message = pb->message;
    rs->generation = pb->generation;
    rs->committed_tail = pb->committed_tail;
    rs->stream_id = pb->stream_id;
    rsp_decode_extras(rs, pb);
    return SRD_OK;
}

void srdi_wire_response_free(srdi_wire_response *rs)
{
    if (!rs)
        return;
    free(rs->entries);
    if (rs->_own)
        srd__v1__response__free_unpacked(rs->_own, NULL);
    memset(rs, 0, sizeof *rs);
}

/* ======================================================================== */
/* Index updates                                                            */
/* ======================================================================== */

static srd_err upd_build(const srdi_wire_update *in, Srd__V1__IndexUpdate *pb,
                         wire_out *o)
{
    srd__v1__index_update__init(pb);
    *o = (wire_out){&pb->base, 0, NULL};
    if (!in || (in->n_entries && !in->entries))
        return SRD_EINVAL;
    pb->generation = in->generation;
    pb->from_tail = in->from_tail;
    pb->to_tail = in->to_tail;
    pb->n_entries = in->n_entries;
    pb->entries = o->own = refs_build(in->entries, in->n_entries);
    return pb->entries ? SRD_OK : SRD_ENOMEM;
}

/* The scalar fields of an IndexUpdate: generation, from_tail, to_tail. */
#define UPD_SCALARS (1u << 1 | 1u << 2 | 1u << 3)

/* Every update is written by pbfast (unless srdi_wire_pb_only). */
static bool upd_fast(const srdi_wire_update *up, uint64_t u[3],
                     srdi_pbf_refs_msg *m)
{
    if (wire_pb_only || !up || (up->n_entries && !up->entries))
        return false;
    u[0] = up->generation;
    u[1] = up->from_tail;
    u[2] = up->to_tail;
    *m = (srdi_pbf_refs_msg){u, 3, 0, NULL, up->entries, up->n_entries};
    return true;
}

srd_err srdi_wire_update_size(const srdi_wire_update *up, size_t *len)
{
    uint64_t u[3];
    srdi_pbf_refs_msg m;
    Srd__V1__IndexUpdate pb;
    wire_out o;
    if (upd_fast(up, u, &m))
        return refs_msg_size(&m, len);
    return wire_out_size(upd_build(up, &pb, &o), &o, len);
}

srd_err srdi_wire_update_encode(const srdi_wire_update *up, void *buf,
                                size_t len)
{
    uint64_t u[3];
    srdi_pbf_refs_msg m;
    Srd__V1__IndexUpdate pb;
    wire_out o;
    uint8_t *raw;
    if (upd_fast(up, u, &m))
        return refs_msg_encode(&m, buf, len);
    return wire_out_encode(upd_build(up, &pb, &o), &o, buf, len, &raw);
}

/* Entries must lie in [from, to] in file order, without overlapping. */
static srd_err upd_check(const srdi_wire_update *up, char *why)
{
    uint64_t at = up->from_tail;
    if (up->from_tail > up->to_tail)
        return wire_fail(why, SRD_EPROTO,
                         "update range [%" PRIu64 ", %" PRIu64 ") is reversed",
                         up->from_tail, up->to_tail);
    for (size_t i = 0; i < up->n_entries; i++) {
        const srdi_entry *e = &up->entries[i];
        if (e->start < at || e->end > up->to_tail)
            return wire_fail(why, SRD_EPROTO,
                             "update entry %zu [%" PRIu64 ", %" PRIu64
                             ") lies outside [%" PRIu64 ", %" PRIu64 ")",
                             i, e->start, e->end, at, up->to_tail);
        at = e->end;
    }
    return SRD_OK;
}

srd_err srdi_wire_update_decode(const void *buf, size_t len, size_t max,
                                srdi_wire_update *up, char *why)
{
    wire_frame f = {0};
    srdi_pbf_refs fast;
    if (!up)
        return SRD_EINVAL;
    memset(up, 0, sizeof *up);
    srd_err rc = bare_split(srd__v1__index_update__descriptor.name, buf, len,
                            max, &f, why);
    if (rc != SRD_OK)
        return rc;
    if (!wire_pb_only &&
        srdi_pbf_refs_scan(f.hdr, f.hdr_len, UPD_SCALARS, &fast)) {
        up->generation = fast.u[1];
        up->from_tail = fast.u[2];
        up->to_tail = fast.u[3];
        rc = refs_decode_fast(&fast, &up->entries, &up->n_entries, why);
    } else {
        Srd__V1__IndexUpdate *pb = (Srd__V1__IndexUpdate *)unpack_bare(
            &srd__v1__index_update__descriptor, &f, &rc, why);
        if (!pb)
            return rc;
        up->_own = pb;
        up->generation = pb->generation;
        up->from_tail = pb->from_tail;
        up->to_tail = pb->to_tail;
        rc = refs_decode(pb->entries, pb->n_entries, &up->entries,
                         &up->n_entries, why);
    }
    if (rc == SRD_OK)
        rc = upd_check(up, why);
    if (rc != SRD_OK)
        srdi_wire_update_free(up);
    return rc;
}

void srdi_wire_update_free(srdi_wire_update *up)
{
    if (!up)
        return;
    free(up->entries);
    if (up->_own)
        srd__v1__index_update__free_unpacked(up->_own, NULL);
    memset(up, 0, sizeof *up);
}
