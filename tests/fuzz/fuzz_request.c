/* SPDX-License-Identifier: MIT */
/*
 * fuzz_request.c -- libFuzzer target: the wire codec (libclient/wire.c),
 * where srdd first touches a client's bytes. The input is decoded as a
 * request, a response and an index update; whatever decodes must encode
 * again into a message that decodes to the same thing. A rejected message
 * must come with an SRD_E* code and a reason. The input is also taken as
 * the bytes of a request connection: split into frames the way srdd
 * splits them (srdi_wire_frame_next), each frame is costed and decoded
 * as srdd does before it serves it. The hand-written codec of the hot
 * messages (pbfast.h) must agree with protobuf-c alone on every input.
 * With SRD_FUZZ_WRITE_SEEDS=DIR
 * the target writes one message of each type into DIR and exits (seeds).
 */
#define _GNU_SOURCE 1
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "wire.h"

/* The limit srdd applies by default; inputs are far smaller anyway. */
#define RQ_MAX SRDI_WIRE_MAX_DEFAULT

static bool rq_same_val(srd_val a, srd_val b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool rq_same_vals(const srd_val *a, const srd_val *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!rq_same_val(a[i], b[i]))
            return false;
    return true;
}

/* Fields that must survive a round trip (values only for puts). */
static bool rq_same_request(const srdi_wire_request *a,
                            const srdi_wire_request *b)
{
    bool puts = a->op == SRDI_WIRE_PUT || a->op == SRDI_WIRE_PUT_BATCH;
    return a->version == b->version && a->client_id == b->client_id &&
           a->seq == b->seq && a->op == b->op &&
           a->hello_version == b->hello_version && a->n == b->n &&
           a->stream_id == b->stream_id && a->abort == b->abort &&
           rq_same_val(a->chunk, b->chunk) &&
           rq_same_vals(a->keys, b->keys, a->n) &&
           (!puts || rq_same_vals(a->values, b->values, a->n));
}

static bool rq_same_entries(const srdi_entry *a, const srdi_entry *b,
                            size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].key_hash != b[i].key_hash || a[i].start != b[i].start ||
            a[i].end != b[i].end || a[i].tombstone != b[i].tombstone ||
            a[i].payload != b[i].payload || a[i].len != b[i].len)
            return false;
    return true;
}

/* A decoded entry has a shape some entry can have (wire.h). */
static void rq_check_entries(const srdi_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fz_require(e[i].start <= e[i].payload && e[i].payload < e[i].end,
                   "entry %zu: payload outside the entry", i);
        fz_require(e[i].len >= 1 &&
                       e[i].payload + e[i].len + SRDI_TRAILER_SIZE == e[i].end,
                   "entry %zu: length does not match its end", i);
    }
}

static void rq_rejected(srd_err rc, const char *why, const char *what)
{
    fz_require(rc == SRD_EPROTO || rc == SRD_ETOOBIG || rc == SRD_EVERSION ||
                   rc == SRD_ENOMEM,
               "%s rejected with %s", what, srd_errname(rc));
    fz_require(why[0] != 0, "%s rejected (%s) without a reason", what,
               srd_errname(rc));
}

/* ---- one codec per message type, behind one interface ---------------- */

typedef struct rq_codec {
    const char *what;
    srd_err (*decode)(const void *buf, size_t len, void *m, char *why);
    srd_err (*size)(const void *m, size_t *len);
    srd_err (*encode)(const void *m, void *buf, size_t len);
    void (*release)(void *m);
    void (*check)(const void *m);            /* invariants once decoded */
    bool (*same)(const void *a, const void *b); /* round trip kept it */
} rq_codec;

static srd_err rq_req_decode(const void *b, size_t n, void *m, char *why)
{
    return srdi_wire_request_decode(b, n, RQ_MAX, m, why);
}
static srd_err rq_req_size(const void *m, size_t *n)
{
    return srdi_wire_request_size(m, n);
}
static srd_err rq_req_encode(const void *m, void *b, size_t n)
{
    return srdi_wire_request_encode(m, b, n);
}
static void rq_req_free(void *m)
{
    srdi_wire_request_free(m);
}
static void rq_req_check(const void *m)
{
    (void)m;
}
static bool rq_req_same(const void *a, const void *b)
{
    return rq_same_request(a, b);
}

static srd_err rq_rsp_decode(const void *b, size_t n, void *m, char *why)
{
    return srdi_wire_response_decode(b, n, RQ_MAX, m, why);
}
static srd_err rq_rsp_size(const void *m, size_t *n)
{
    return srdi_wire_response_size(m, n);
}
static srd_err rq_rsp_encode(const void *m, void *b, size_t n)
{
    return srdi_wire_response_encode(m, b, n);
}
static void rq_rsp_free(void *m)
{
    srdi_wire_response_free(m);
}
static void rq_rsp_check(const void *m)
{
    const srdi_wire_response *r = m;
    rq_check_entries(r->entries, r->n_entries);
}
static bool rq_rsp_same(const void *pa, const void *pb)
{
    const srdi_wire_response *a = pa, *b = pb;
    return a->seq == b->seq && a->error == b->error &&
           a->generation == b->generation &&
           a->committed_tail == b->committed_tail &&
           a->n_entries == b->n_entries && a->has_hello == b->has_hello &&
           a->has_stats == b->has_stats && a->stream_id == b->stream_id &&
           rq_same_entries(a->entries, b->entries, a->n_entries);
}

static srd_err rq_upd_decode(const void *b, size_t n, void *m, char *why)
{
    return srdi_wire_update_decode(b, n, RQ_MAX, m, why);
}
static srd_err rq_upd_size(const void *m, size_t *n)
{
    return srdi_wire_update_size(m, n);
}
static srd_err rq_upd_encode(const void *m, void *b, size_t n)
{
    return srdi_wire_update_encode(m, b, n);
}
static void rq_upd_free(void *m)
{
    srdi_wire_update_free(m);
}
static void rq_upd_check(const void *m)
{
    const srdi_wire_update *up = m;
    rq_check_entries(up->entries, up->n_entries);
    fz_require(up->from_tail <= up->to_tail, "update tails reversed");
    for (size_t i = 0; i < up->n_entries; i++)
        fz_require(up->entries[i].start >= up->from_tail &&
                       up->entries[i].end <= up->to_tail,
                   "update entry %zu outside [from_tail, to_tail]", i);
}
static bool rq_upd_same(const void *pa, const void *pb)
{
    const srdi_wire_update *a = pa, *b = pb;
    return a->generation == b->generation && a->from_tail == b->from_tail &&
           a->to_tail == b->to_tail && a->n_entries == b->n_entries &&
           rq_same_entries(a->entries, b->entries, a->n_entries);
}

static const rq_codec rq_codecs[] = {
    {"request", rq_req_decode, rq_req_size, rq_req_encode, rq_req_free,
     rq_req_check, rq_req_same},
    {"response", rq_rsp_decode, rq_rsp_size, rq_rsp_encode, rq_rsp_free,
     rq_rsp_check, rq_rsp_same},
    {"update", rq_upd_decode, rq_upd_size, rq_upd_encode, rq_upd_free,
     rq_upd_check, rq_upd_same},
};

/* Room for any of the three decoded structs. */
typedef union rq_msg {
    srdi_wire_request rq;
    srdi_wire_response rs;
    srdi_wire_update up;
} rq_msg;

/* Encode m through c into a malloc'd buffer (*len bytes). */
static uint8_t *rq_encode(const rq_codec *c, const rq_msg *m, size_t *len)
{
    srd_err rc = c->size(m, len);
    fz_require(rc == SRD_OK, "a decoded %s has no size: %s", c->what,
               srd_errname(rc));
    uint8_t *buf = malloc(*len ? *len : 1);
    fz_require(buf != NULL, "out of memory");
    rc = c->encode(m, buf, *len);
    fz_require(rc == SRD_OK, "a decoded %s does not encode: %s", c->what,
               srd_errname(rc));
    return buf;
}

/* pbfast.h's hand-written codec and protobuf-c alone must agree on every
 * input: the same code, the same message when it decodes, and the same
 * bytes when that message is encoded again. */
static void rq_agree(const rq_codec *c, const uint8_t *data, size_t size)
{
    rq_msg a, b;
    char why[SRDI_WIRE_WHY] = "";
    srd_err ra = c->decode(data, size, &a, why);
    srdi_wire_pb_only(true);
    srd_err rb = c->decode(data, size, &b, why);
    srdi_wire_pb_only(false);
    fz_require(ra == rb, "%s: pbfast says %s, protobuf-c %s", c->what,
               srd_errname(ra), srd_errname(rb));
    if (ra != SRD_OK)
        return;
    fz_require(c->same(&a, &b), "%s: pbfast and protobuf-c decode it "
               "differently", c->what);
    size_t la, lb;
    uint8_t *ea = rq_encode(c, &a, &la);
    srdi_wire_pb_only(true);
    uint8_t *eb = rq_encode(c, &a, &lb);
    srdi_wire_pb_only(false);
    fz_require(la == lb && memcmp(ea, eb, la) == 0,
               "%s: pbfast and protobuf-c encode it differently", c->what);
    free(ea);
    free(eb);
    c->release(&a);
    c->release(&b);
}

/* Decode; what decodes must encode into its own size and decode again to
 * the same message. */
static void rq_round_trip(const rq_codec *c, const uint8_t *data, size_t size)
{
    rq_msg m, again;
    char why[SRDI_WIRE_WHY] = "";
    srd_err rc = c->decode(data, size, &m, why);
    if (rc != SRD_OK) {
        rq_rejected(rc, why, c->what);
        return;
    }
    c->check(&m);
    size_t len = 0;
    uint8_t *buf = rq_encode(c, &m, &len);
    rc = c->decode(buf, len, &again, why);
    fz_require(rc == SRD_OK, "a re-encoded %s does not decode: %s (%s)",
               c->what, srd_errname(rc), why);
    fz_require(c->same(&m, &again), "a %s changed in a round trip",
               c->what);
    c->release(&again);
    c->release(&m);
    free(buf);
}

/* ---- seeds: one request of each op, a response and an update -------- */

static void rq_seed_file(const char *dir, const char *name, uint8_t *buf,
                         size_t len)
{
    char path[4200];
    fz_path(path, sizeof path, dir, name);
    fz_write_file(path, buf, len);
    free(buf);
}

static void rq_seed_request(const char *dir, srdi_wire_op op)
{
    static const srd_val keys[2] = {{"k1", 2}, {"key-two", 7}};
    static const srd_val vals[2] = {{"value", 5}, {"\0\0", 2}};
    bool two = op == SRDI_WIRE_PUT_BATCH || op == SRDI_WIRE_DELETE_BATCH;
    bool one = op == SRDI_WIRE_PUT || op == SRDI_WIRE_DELETE ||
               op == SRDI_WIRE_STREAM_BEGIN;
    srdi_wire_request rq;
    memset(&rq, 0, sizeof rq);
    rq.version = SRDI_WIRE_VERSION;
    rq.client_id = 0x1234;
    rq.seq = 7;
    rq.op = op;
    rq.hello_version = SRDI_WIRE_VERSION;
    rq.n = two ? 2 : one ? 1 : 0;
    rq.keys = (srd_val *)keys;
    rq.values = (srd_val *)vals;
    rq.stream_id = 99;
    rq.chunk = (srd_val){"chunk bytes", 11};
    size_t len = 0;
    fz_require(srdi_wire_request_size(&rq, &len) == SRD_OK, "seed size");
    uint8_t *buf = malloc(len);
    fz_require(buf && srdi_wire_request_encode(&rq, buf, len) == SRD_OK,
               "seed encode");
    char name[64];
    snprintf(name, sizeof name, "request-%s", srdi_wire_op_name(op));
    rq_seed_file(dir, name, buf, len);
}

/* Two framed requests back to back, as a connection carries them. */
static void rq_seed_stream(const char *dir)
{
    static const srd_val key = {"k1", 2}, val = {"value", 5};
    srdi_wire_request rq;
    memset(&rq, 0, sizeof rq);
    rq.version = SRDI_WIRE_VERSION;
    rq.client_id = 0x1234;
    rq.seq = 1;
    rq.op = SRDI_WIRE_PUT;
    rq.n = 1;
    rq.keys = (srd_val *)&key;
    rq.values = (srd_val *)&val;
    size_t len = 0;
    fz_require(srdi_wire_request_size(&rq, &len) == SRD_OK, "seed size");
    uint8_t *buf = malloc(2 * (SRDI_WIRE_FRAME + len));
    fz_require(buf != NULL, "out of memory");
    for (int i = 0; i < 2; i++) {
        uint8_t *f = buf + (size_t)i * (SRDI_WIRE_FRAME + len);
        rq.seq = (uint64_t)i + 1;
        srdi_wire_frame_put(f, (uint32_t)len);
        fz_require(srdi_wire_request_encode(&rq, f + SRDI_WIRE_FRAME, len) ==
                       SRD_OK,
                   "seed encode");
    }
    rq_seed_file(dir, "stream-two-puts", buf, 2 * (SRDI_WIRE_FRAME + len));
}

static void rq_write_seeds(const char *dir)
{
    for (int op = SRDI_WIRE_HELLO; op <= SRDI_WIRE_STATS; op++)
        rq_seed_request(dir, (srdi_wire_op)op);
    rq_seed_stream(dir);
    srdi_entry e[2] = {{128, 128, 5, 153, 0xabc, 0, false},
                       {153, 153, 1, 174, 0xdef, 0, true}};
    srdi_wire_update up = {3, 128, 174, 2, e, NULL};
    size_t len = 0;
    fz_require(srdi_wire_update_size(&up, &len) == SRD_OK, "seed size");
    uint8_t *buf = malloc(len);
    fz_require(buf && srdi_wire_update_encode(&up, buf, len) == SRD_OK,
               "seed encode");
    rq_seed_file(dir, "update", buf, len);
    srdi_wire_response rs;
    memset(&rs, 0, sizeof rs);
    rs.seq = 7;
    rs.message = "";
    rs.generation = 3;
    rs.committed_tail = 174;
    rs.n_entries = 2;
    rs.entries = e;
    fz_require(srdi_wire_response_size(&rs, &len) == SRD_OK, "seed size");
    buf = malloc(len);
    fz_require(buf && srdi_wire_response_encode(&rs, buf, len) == SRD_OK,
               "seed encode");
    rq_seed_file(dir, "response", buf, len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("SRD_FUZZ_WRITE_SEEDS");
    if (dir && *dir) {
        rq_write_seeds(dir);
        exit(0);
    }
    return 0;
}

/* Frames larger than this end the stream, as srdd's --max-message +
 * slack does (inputs are far smaller). */
#define RQ_FRAME_MAX ((size_t)1 << 20)

/* data as a connection's byte stream: every complete frame goes through
 * srdd's checks (cost first, then decode); an oversized frame or an
 * incomplete tail ends it. */
static void rq_stream(const uint8_t *data, size_t size)
{
    size_t off = 0;
    uint32_t flen;
    while (srdi_wire_frame_next(data + off, size - off, RQ_FRAME_MAX,
                                &flen) == 1) {
        const uint8_t *m = data + off + SRDI_WIRE_FRAME;
        srdi_wire_request rq;
        char why[SRDI_WIRE_WHY] = "";
        uint64_t cost = 0;
        srd_err rc = srdi_wire_request_cost(m, flen, RQ_MAX, &cost, &rq, why);
        if (rc == SRD_OK)
            rq_round_trip(&rq_codecs[0], m, flen);
        else
            rq_rejected(rc, why, "framed request");
        off += SRDI_WIRE_FRAME + flen;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < sizeof rq_codecs / sizeof rq_codecs[0]; i++) {
        rq_round_trip(&rq_codecs[i], data, size);
        rq_agree(&rq_codecs[i], data, size);
    }
    rq_stream(data, size);
    return 0;
}
