/* SPDX-License-Identifier: MIT */
/*
 * check_wire.c -- tests of libclient/wire.c: every message kind survives a
 * round trip, and every malformed input (short, truncated, lying lengths,
 * bad version, no op, oversized, random bytes, impossible entries) is
 * rejected with SRD_EPROTO, SRD_EVERSION or SRD_ETOOBIG and a message.
 */
#define _GNU_SOURCE 1
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wire.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* enc_req, enc_rsp, enc_upd: encode into a malloc'd buffer of *len bytes
 * through the codec's size and encode pair. */
#define DEFINE_ENC(name, type, prefix)                        \
    static uint8_t *name(const type *x, size_t *len)          \
    {                                                         \
        ck_srd(prefix##_size(x, len));                        \
        uint8_t *buf = malloc(*len);                          \
        ck_assert_ptr_nonnull(buf);                           \
        ck_srd(prefix##_encode(x, buf, *len));                \
        return buf;                                           \
    }
DEFINE_ENC(enc_req, srdi_wire_request, srdi_wire_request)
DEFINE_ENC(enc_rsp, srdi_wire_response, srdi_wire_response)
DEFINE_ENC(enc_upd, srdi_wire_update, srdi_wire_update)

static srdi_wire_request base_req(srdi_wire_op op)
{
    srdi_wire_request rq;
    memset(&rq, 0, sizeof rq);
    rq.version = SRDI_WIRE_VERSION;
    rq.client_id = 0x0123456789abcdefull;
    rq.seq = 42;
    rq.op = op;
    return rq;
}

/* A put of key = val from base_req, encoded. */
static uint8_t *enc_put(const char *key, const char *val, size_t *len)
{
    srdi_wire_request rq = base_req(SRDI_WIRE_PUT);
    srd_val k = tu_s(key), v = tu_s(val);
    rq.n = 1;
    rq.keys = &k;
    rq.values = &v;
    return enc_req(&rq, len);
}

/* A copy of buf[0, len) followed by extra bytes of value b. */
static uint8_t *grown(const uint8_t *buf, size_t len, size_t extra, uint8_t b)
{
    uint8_t *more = malloc(len + extra);
    ck_assert_ptr_nonnull(more);
    memcpy(more, buf, len);
    memset(more + len, b, extra);
    return more;
}

static void assert_val(srd_val got, const void *p, size_t n)
{
    ck_assert_uint_eq(got.len, n);
    if (n)
        ck_assert_mem_eq(got.ptr, p, n);
}

/* Decode buf and expect rc with a non-empty explanation. */
static void expect_req_error(const uint8_t *buf, size_t len, size_t max,
                             srd_err rc)
{
    srdi_wire_request rq;
    char why[SRDI_WIRE_WHY] = "";
    srd_err got = srdi_wire_request_decode(buf, len, max, &rq, why);
    ck_assert_msg(got == rc, "expected %s, got %s (%s)", srd_errname(rc),
                  srd_errname(got), why);
    ck_assert_msg(why[0] != '\0', "no explanation for %s", srd_errname(rc));
    ck_assert_ptr_null(rq._own);
    srdi_wire_request_free(&rq);
}

/* A value entry placed at start with a len-byte payload. */
static srdi_entry value_at(uint64_t hash, uint64_t start, uint64_t len)
{
    srdi_entry e = {.start = start, .key_hash = hash, .len = len};
    e.payload = start + ((64 - start % 64) & 63);
    e.end = e.payload + len + 20;
    return e;
}

static srdi_entry tomb_at(uint64_t hash, uint64_t start)
{
    return (srdi_entry){.start = start, .payload = start, .len = 1,
                        .end = start + 21, .key_hash = hash,
                        .tombstone = true};
}

static void assert_entry(const srdi_entry *got, const srdi_entry *want)
{
    ck_assert_uint_eq(got->key_hash, want->key_hash);
    ck_assert_uint_eq(got->start, want->start);
    ck_assert_uint_eq(got->payload, want->payload);
    ck_assert_uint_eq(got->len, want->len);
    ck_assert_uint_eq(got->end, want->end);
    ck_assert_int_eq(got->tombstone, want->tombstone);
}

/* ------------------------------------------------------------------------ */
/* Request round trips                                                       */
/* ------------------------------------------------------------------------ */

START_TEST(test_put_round_trips_with_raw_value)
{
    srdi_wire_request out;
    size_t len;
    uint8_t *buf = enc_put("key", "the value", &len);
    /* The value travels raw at the end of the message. */
    ck_assert_mem_eq(buf + len - 9, "the value", 9);
    ck_srd(srdi_wire_request_decode(buf, len, 0, &out, NULL));
    ck_assert_int_eq(out.op, SRDI_WIRE_PUT);
    ck_assert_uint_eq(out.client_id, 0x0123456789abcdefull);
    ck_assert_uint_eq(out.seq, 42);
    ck_assert_uint_eq(out.n, 1);
    assert_val(out.keys[0], "key", 3);
    assert_val(out.values[0], "the value", 9);
    ck_assert_ptr_eq(out.values[0].ptr, buf + len - 9); /* no copy */
    srdi_wire_request_free(&out);
    free(buf);
}
END_TEST

START_TEST(test_put_batch_round_trips_values_back_to_back)
{
    srd_val k[3] = {tu_s("a"), tu_s(""), tu_s("ccc")};
    srd_val v[3] = {tu_s("one"), tu_s("twotwo"), {"\0\0", 2}};
    srdi_wire_request rq = base_req(SRDI_WIRE_PUT_BATCH), out;
    rq.n = 3;
    rq.keys = k;
    rq.values = v;
    size_t len;
    uint8_t *buf = enc_req(&rq, &len);
    ck_srd(srdi_wire_request_decode(buf, len, 0, &out, NULL));
    ck_assert_int_eq(out.op, SRDI_WIRE_PUT_BATCH);
    ck_assert_uint_eq(out.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_val(out.keys[i], k[i].ptr, k[i].len);
        assert_val(out.values[i], v[i].ptr, v[i].len);
    }
    srdi_wire_request_free(&out);
    free(buf);
}
END_TEST

START_TEST(test_empty_put_batch_round_trips)
{
    srdi_wire_request rq = base_req(SRDI_WIRE_PUT_BATCH), out;
    size_t len;
    uint8_t *buf = enc_req(&rq, &len);
    ck_srd(srdi_wire_request_decode(buf, len, 0, &out, NULL));
    ck_assert_int_eq(out.op, SRDI_WIRE_PUT_BATCH);
    ck_assert_uint_eq(out.n, 0);
    srdi_wire_request_free(&out);
    free(buf);
}
END_TEST

START_TEST(test_delete_and_delete_batch_round_trip)
{
    srd_val k[2] = {tu_s("gone"), tu_s("also gone")};
    srdi_wire_request rq = base_req(SRDI_WIRE_DELETE), out;
    rq.n = 1;
    rq.keys = k;
    size_t len;
    uint8_t *buf = enc_req(&rq, &len);
    ck_srd(srdi_wire_request_decode(buf, len, 0, &out, NULL));
    ck_assert_int_eq(out.op, SRDI_WIRE_DELETE);
    assert_val(out.keys[0], "gone", 4);
    srdi_wire_request_free(&out);
    free(buf);

    rq.op = SRDI_WIRE_DELETE_BATCH;
    rq.n = 2;
    buf = enc_req(&rq, &len);
    ck_srd(srdi_wire_request_decode(buf, len, 0, &out, NULL));
    ck_assert_int_eq(out.op, SRDI_WIRE_DELETE_BATCH);
    ck_assert_uint_eq(out.n, 2);
    assert_val(out.keys[1], "also gone", 9);
    srdi_wire_request_free(&out);
    free(buf);
}
END_TEST

START_TEST(test_stream_messages_round_trip)
{
    srd_val k = tu_s("big");
    srdi_wire_request rq = base_req(SRDI_WIRE_STREAM_BEGIN), out;
    rq.n = 1;
    rq.keys = &k;
    size_t len;
    uint8_t *buf = enc_req(&rq, &len);
    ck_srd(srdi_wire_request_decode(buf, len, 0, &out, NULL));
    ck_assert_int_eq(out.op, SRDI_WIRE_STREAM_BEGIN);
    assert_val(out.keys[0], "big", 3);
    srdi_wire_request_free(&out);
    free(buf);

    rq = base_req(SRDI_WIRE_STREAM_CHUNK);
    rq.stream_id = 0xfeedfacecafebeefull;
    rq.chunk = tu_s("chunk of bytes");
    buf = enc_req(&rq, &len);
    ck_srd(srdi_wire_request_decode(buf, len, 0, &out, NULL));
    ck_assert_int_eq(out.op, SRDI_WIRE_STREAM_CHUNK);
    ck_assert_uint_eq(out.stream_id, rq.stream_id);
    assert_val(out.chunk, "chunk of bytes", 14);
    srdi_wire_request_free(&out);
    free(buf);

    rq = base_req(SRDI_WIRE_STREAM_END);
    rq.stream_id = 7;
    rq.abort = true;
    buf = enc_req(&rq, &len);
    ck_srd(srdi_wire_request_decode(buf, len, 0, &out, NULL));
    ck_assert_int_eq(out.op, SRDI_WIRE_STREAM_END);
    ck_assert_uint_eq(out.stream_id, 7);
    ck_assert(out.abort);
    srdi_wire_request_free(&out);
    free(buf);
}
END_TEST

START_TEST(test_hello_sync_and_stats_round_trip)
{
    srdi_wire_op ops[] = {SRDI_WIRE_HELLO, SRDI_WIRE_SYNC, SRDI_WIRE_STATS};
    for (size_t i = 0; i < 3; i++) {
        srdi_wire_request rq = base_req(ops[i]), out;
        rq.hello_version = 1;
        size_t len;
        uint8_t *buf = enc_req(&rq, &len);
        ck_srd(srdi_wire_request_decode(buf, len, 0, &out, NULL));
        ck_assert_int_eq(out.op, ops[i]);
        ck_assert_uint_eq(out.seq, 42);
        if (ops[i] == SRDI_WIRE_HELLO)
            ck_assert_uint_eq(out.hello_version, 1);
        srdi_wire_request_free(&out);
        free(buf);
    }
}
END_TEST

START_TEST(test_compact_request_round_trips_and_is_not_a_mutation)
{
    srdi_wire_request rq = base_req(SRDI_WIRE_COMPACT), out;
    size_t len;
    uint8_t *buf = enc_req(&rq, &len);
    ck_srd(srdi_wire_request_decode(buf, len, 0, &out, NULL));
    ck_assert_int_eq(out.op, SRDI_WIRE_COMPACT);
    ck_assert_uint_eq(out.seq, 42);
    srdi_wire_request_free(&out);
    ck_assert_str_eq(srdi_wire_op_name(SRDI_WIRE_COMPACT), "compact");
    ck_assert(!srdi_wire_op_mutates(SRDI_WIRE_COMPACT));
    /* Compact takes no raw bytes. */
    uint8_t *more = malloc(len + 3);
    memcpy(more, buf, len);
    memset(more + len, 7, 3);
    char why[SRDI_WIRE_WHY];
    ck_assert_int_eq(srdi_wire_request_decode(more, len + 3, 0, &out, why),
                     SRD_EPROTO);
    ck_assert_ptr_nonnull(strstr(why, "compact"));
    free(more);
    free(buf);
}
END_TEST

START_TEST(test_compact_reply_and_compaction_stats_round_trip)
{
    srdi_wire_response rs = {.seq = 5, .generation = 8, .has_compact = true,
                             .has_stats = true};
    rs.compact.rep = (srd_compact_report){1000, 400, 600, 10, 2, 33, 444};
    rs.compact.generation = 8;
    rs.stats.compacting = true;
    rs.stats.compact_done = 70;
    rs.stats.compact_total = 140;
    rs.stats.writes = 9;
    rs.stats.group_max = 4;
    rs.stats.compactions = 3;
    rs.stats.last_compact_unix_ms = 1700000000000ull;
    rs.stats.has_last_compact = true;
    rs.stats.last_compact = rs.compact;
    size_t len;
    uint8_t *buf = enc_rsp(&rs, &len);
    srdi_wire_response out;
    ck_srd(srdi_wire_response_decode(buf, len, 0, &out, NULL));
    ck_assert(out.has_compact);
    ck_assert_mem_eq(&out.compact.rep, &rs.compact.rep, sizeof rs.compact.rep);
    ck_assert_uint_eq(out.compact.generation, 8);
    ck_assert(out.stats.compacting);
    ck_assert_uint_eq(out.stats.compact_done, 70);
    ck_assert_uint_eq(out.stats.compact_total, 140);
    ck_assert_uint_eq(out.stats.writes, 9);
    ck_assert_uint_eq(out.stats.group_max, 4);
    ck_assert_uint_eq(out.stats.compactions, 3);
    ck_assert_uint_eq(out.stats.last_compact_unix_ms, 1700000000000ull);
    ck_assert(out.stats.has_last_compact);
    ck_assert_uint_eq(out.stats.last_compact.rep.reclaimed, 600);
    ck_assert_uint_eq(out.stats.last_compact.generation, 8);
    srdi_wire_response_free(&out);
    free(buf);
    /* Without a compaction neither is present. */
    rs.has_compact = false;
    rs.stats.has_last_compact = false;
    buf = enc_rsp(&rs, &len);
    ck_srd(srdi_wire_response_decode(buf, len, 0, &out, NULL));
    ck_assert(!out.has_compact);
    ck_assert(!out.stats.has_last_compact);
    srdi_wire_response_free(&out);
    free(buf);
}
END_TEST

START_TEST(test_op_names_and_mutation_kinds)
{
    ck_assert_str_eq(srdi_wire_op_name(SRDI_WIRE_PUT_BATCH), "put_batch");
    ck_assert_str_eq(srdi_wire_op_name((srdi_wire_op)99), "unknown");
    ck_assert(srdi_wire_op_mutates(SRDI_WIRE_PUT));
    ck_assert(srdi_wire_op_mutates(SRDI_WIRE_DELETE_BATCH));
    ck_assert(srdi_wire_op_mutates(SRDI_WIRE_STREAM_END));
    ck_assert(!srdi_wire_op_mutates(SRDI_WIRE_STREAM_CHUNK));
    ck_assert(!srdi_wire_op_mutates(SRDI_WIRE_HELLO));
}
END_TEST

START_TEST(test_encoder_rejects_inconsistent_requests)
{
    size_t len;
    srdi_wire_request rq = base_req(SRDI_WIRE_PUT);
    rq.n = 1; /* keys and values missing */
    ck_assert_int_eq(srdi_wire_request_size(&rq, &len), SRD_EINVAL);
    rq = base_req((srdi_wire_op)77);
    ck_assert_int_eq(srdi_wire_request_size(&rq, &len), SRD_EINVAL);
    rq = base_req(SRDI_WIRE_NONE);
    ck_assert_int_eq(srdi_wire_request_size(&rq, &len), SRD_EINVAL);
    rq = base_req(SRDI_WIRE_SYNC);
    uint8_t buf[64];
    ck_srd(srdi_wire_request_size(&rq, &len));
    /* The buffer must be exactly the reported size. */
    ck_assert_int_eq(srdi_wire_request_encode(&rq, buf, len + 1), SRD_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Malformed requests                                                        */
/* ------------------------------------------------------------------------ */

START_TEST(test_message_shorter_than_prefix_is_eproto)
{
    uint8_t b[3] = {1, 0, 0};
    for (size_t n = 0; n < 4; n++)
        expect_req_error(b, n, 0, SRD_EPROTO);
    expect_req_error(NULL, 0, 0, SRD_EPROTO);
}
END_TEST

START_TEST(test_header_length_past_the_message_is_eproto)
{
    srdi_wire_request rq = base_req(SRDI_WIRE_SYNC);
    size_t len;
    uint8_t *buf = enc_req(&rq, &len);
    tu_put_le32(buf, (uint32_t)(len - 4 + 1));
    expect_req_error(buf, len, 0, SRD_EPROTO);
    tu_put_le32(buf, UINT32_MAX);
    expect_req_error(buf, len, 0, SRD_EPROTO);
    free(buf);
}
END_TEST

START_TEST(test_every_truncation_of_a_put_is_rejected)
{
    size_t len;
    uint8_t *buf = enc_put("key", "value bytes here", &len);
    for (size_t n = 0; n < len; n++) {
        /* A copy of exactly n bytes so that ASan sees any over-read. */
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, buf, n);
        srdi_wire_request out;
        srd_err rc = srdi_wire_request_decode(cut, n, 0, &out, NULL);
        ck_assert_msg(rc == SRD_EPROTO, "truncated to %zu: %s", n,
                      srd_errname(rc));
        free(cut);
    }
    free(buf);
}
END_TEST

START_TEST(test_value_length_larger_than_message_is_eproto)
{
    size_t len;
    uint8_t *buf = enc_put("k", "0123456789", &len);
    /* Drop the last raw byte: value_len now exceeds what follows. */
    expect_req_error(buf, len - 1, 0, SRD_EPROTO);
    free(buf);
}
END_TEST

START_TEST(test_raw_bytes_beyond_declared_values_are_eproto)
{
    srd_val k[2] = {tu_s("a"), tu_s("b")}, v[2] = {tu_s("x1"), tu_s("y2")};
    srdi_wire_request rq = base_req(SRDI_WIRE_PUT_BATCH);
    rq.n = 2;
    rq.keys = k;
    rq.values = v;
    size_t len;
    uint8_t *buf = enc_req(&rq, &len);
    uint8_t *more = grown(buf, len, 5, 'z');
    expect_req_error(more, len + 5, 0, SRD_EPROTO);
    free(more);
    free(buf);
}
END_TEST

START_TEST(test_raw_bytes_after_a_delete_are_eproto)
{
    srd_val k = tu_s("k");
    srdi_wire_request rq = base_req(SRDI_WIRE_DELETE);
    rq.n = 1;
    rq.keys = &k;
    size_t len;
    uint8_t *buf = enc_req(&rq, &len);
    uint8_t *more = grown(buf, len, 1, 1);
    expect_req_error(more, len + 1, 0, SRD_EPROTO);
    free(more);
    free(buf);
}
END_TEST

START_TEST(test_wrong_version_is_eversion_with_ids_kept)
{
    srdi_wire_request rq = base_req(SRDI_WIRE_SYNC), out;
    rq.version = 2;
    size_t len;
    uint8_t *buf = enc_req(&rq, &len);
    char why[SRDI_WIRE_WHY];
    ck_assert_int_eq(srdi_wire_request_decode(buf, len, 0, &out, why),
                     SRD_EVERSION);
    ck_assert_uint_eq(out.seq, 42);
    ck_assert_uint_eq(out.client_id, rq.client_id);
    ck_assert_uint_eq(out.version, 2);
    ck_assert_ptr_nonnull(strstr(why, "version 2"));
    free(buf);
    rq.version = 0; /* an unset version is wrong too */
    buf = enc_req(&rq, &len);
    expect_req_error(buf, len, 0, SRD_EVERSION);
    free(buf);
}
END_TEST

START_TEST(test_request_without_op_is_eproto)
{
    /* Request{protocol_version = 1, seq = 5}, no oneof. */
    uint8_t m[] = {4, 0, 0, 0, 0x08, 0x01, 0x18, 0x05};
    expect_req_error(m, sizeof m, 0, SRD_EPROTO);
}
END_TEST

START_TEST(test_request_with_unknown_op_is_eproto)
{
    /* Request{protocol_version = 1} plus an empty field 30 (a future op). */
    uint8_t m[] = {5, 0, 0, 0, 0x08, 0x01, 0xF2, 0x01, 0x00};
    expect_req_error(m, sizeof m, 0, SRD_EPROTO);
}
END_TEST

START_TEST(test_header_that_does_not_parse_is_eproto)
{
    /* A length-delimited field whose length runs past the header. */
    uint8_t m[] = {3, 0, 0, 0, 0x5A, 0x7F, 0x01};
    expect_req_error(m, sizeof m, 0, SRD_EPROTO);
}
END_TEST

START_TEST(test_size_limit_is_exact)
{
    srdi_wire_request out;
    size_t len;
    uint8_t *buf = enc_put("k", "some value", &len);
    ck_srd(srdi_wire_request_decode(buf, len, len, &out, NULL));
    srdi_wire_request_free(&out);
    expect_req_error(buf, len, len - 1, SRD_ETOOBIG);
    free(buf);
}
END_TEST

/* [u32 hlen][version 1, client 7, seq 9, put_batch of n empty items]. */
static uint8_t *empty_items(size_t n, size_t *len)
{
    size_t inner = 2 * n, hl = 2 + 9 + 2 + 1 + 4 + inner;
    uint8_t *b = calloc(1, 4 + hl), *p = b + 4;
    ck_assert_ptr_nonnull(b);
    b[0] = (uint8_t)hl;
    b[1] = (uint8_t)(hl >> 8);
    b[2] = (uint8_t)(hl >> 16);
    *p++ = 0x08, *p++ = 1;      /* protocol_version */
    *p++ = 0x11, *p = 7, p += 8; /* client_id (fixed64) */
    *p++ = 0x18, *p++ = 9;      /* seq */
    *p++ = 0x62;                /* put_batch, 4-byte length */
    for (int i = 0; i < 4; i++)
        *p++ = (uint8_t)(((inner >> (7 * i)) & 0x7f) | (i < 3 ? 0x80 : 0));
    for (size_t i = 0; i < n; i++)
        *p++ = 0x0a, *p++ = 0;  /* an empty Put */
    *len = 4 + hl;
    return b;
}

START_TEST(test_costly_header_is_etoobig_before_decoding)
{
    size_t len;
    uint8_t *b = empty_items(200000, &len); /* 400 KB: ~27 MB unpacked */
    uint64_t cost = 0;
    srdi_wire_request ids;
    ck_srd(srdi_wire_request_cost(b, len, 0, &cost, &ids, NULL));
    ck_assert_uint_gt(cost, 100u * 200000);
    ck_assert_uint_eq(ids.client_id, 7);
    ck_assert_uint_eq(ids.seq, 9);
    /* a 1 MiB limit allows 3 MiB of decoding: refused, ids kept */
    srdi_wire_request rq;
    char why[SRDI_WIRE_WHY] = "";
    ck_assert_int_eq(srdi_wire_request_decode(b, len, 1u << 20, &rq, why),
                     SRD_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(why, "fewer items"));
    ck_assert_uint_eq(rq.seq, 9);
    ck_assert_ptr_null(rq._own);
    /* without a limit it decodes (the bound is not a parse failure) */
    ck_srd(srdi_wire_request_decode(b, len, 0, &rq, NULL));
    ck_assert_uint_eq(rq.n, 200000);
    srdi_wire_request_free(&rq);
    free(b);
}
END_TEST

START_TEST(test_random_bytes_never_decode_or_crash)
{
    uint64_t seed = 0x5eed;
    uint8_t buf[512];
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)(tu_rand(&seed) % sizeof buf);
        tu_fill_random(&seed, buf, n);
        if (n >= 4 && (i & 1)) /* half of them with a plausible prefix */
            tu_put_le32(buf, (uint32_t)(tu_rand(&seed) % (n - 3)));
        srdi_wire_request rq;
        srdi_wire_response rs;
        srdi_wire_update up;
        srd_err rc = srdi_wire_request_decode(buf, n, 0, &rq, NULL);
        srdi_wire_request_free(&rq);
        tu_require(rc == SRD_OK || rc == SRD_EPROTO || rc == SRD_EVERSION,
                   "unexpected %s", srd_errname(rc));
        rc = srdi_wire_response_decode(buf, n, 0, &rs, NULL);
        srdi_wire_response_free(&rs);
        tu_require(rc == SRD_OK || rc == SRD_EPROTO, "rsp %s",
                   srd_errname(rc));
        rc = srdi_wire_update_decode(buf, n, 0, &up, NULL);
        srdi_wire_update_free(&up);
        tu_require(rc == SRD_OK || rc == SRD_EPROTO, "upd %s",
                   srd_errname(rc));
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Responses and updates                                                     */
/* ------------------------------------------------------------------------ */

START_TEST(test_response_round_trips_entries_hello_and_stats)
{
    srdi_entry e[3] = {value_at(11, 0, 100), tomb_at(22, 120),
                       value_at(33, 141, 1)};
    srdi_wire_response rs = {.seq = 9, .error = SRD_OK, .generation = 3,
                             .committed_tail = 999, .n_entries = 3,
                             .entries = e, .stream_id = 77,
                             .has_hello = true, .has_stats = true};
    rs.hello = (srdi_wire_hello){1, "/tmp/s", 5, 6, 3, 999, "ipc:///p", 1024, 1};
    rs.stats.live_keys = 12;
    rs.stats.clients = 4;
    rs.stats.publish_drops = 2;
    size_t len;
    uint8_t *buf = enc_rsp(&rs, &len);
    srdi_wire_response out;
    ck_srd(srdi_wire_response_decode(buf, len, 0, &out, NULL));
    ck_assert_uint_eq(out.seq, 9);
    ck_assert_uint_eq(out.committed_tail, 999);
    ck_assert_uint_eq(out.generation, 3);
    ck_assert_uint_eq(out.stream_id, 77);
    ck_assert_uint_eq(out.n_entries, 3);
    for (int i = 0; i < 3; i++)
        assert_entry(&out.entries[i], &e[i]);
    ck_assert(out.has_hello);
    ck_assert_str_eq(out.hello.store_path, "/tmp/s");
    ck_assert_str_eq(out.hello.publish_url, "ipc:///p");
    ck_assert_uint_eq(out.hello.store_ino, 6);
    ck_assert_uint_eq(out.hello.max_message, 1024);
    ck_assert_uint_eq(out.hello.shared_index, 1);
    ck_assert(out.has_stats);
    ck_assert_uint_eq(out.stats.live_keys, 12);
    ck_assert_uint_eq(out.stats.clients, 4);
    ck_assert_uint_eq(out.stats.publish_drops, 2);
    srdi_wire_response_free(&out);
    free(buf);
}
END_TEST

START_TEST(test_error_response_carries_code_and_message)
{
    srdi_wire_response rs = {.seq = 1, .error = SRD_EPERM,
                             .message = "uid 5 may not put"};
    size_t len;
    uint8_t *buf = enc_rsp(&rs, &len);
    srdi_wire_response out;
    ck_srd(srdi_wire_response_decode(buf, len, 0, &out, NULL));
    ck_assert_int_eq(out.error, SRD_EPERM);
    ck_assert_str_eq(out.message, "uid 5 may not put");
    ck_assert(!out.has_hello && !out.has_stats);
    ck_assert_uint_eq(out.n_entries, 0);
    srdi_wire_response_free(&out);
    free(buf);
}
END_TEST

START_TEST(test_response_with_impossible_entry_is_eproto)
{
    srdi_entry bad[2] = {tomb_at(1, 64), value_at(2, 0, 5)};
    bad[0].end += 1;  /* a tombstone is exactly 21 bytes */
    bad[1].end = 20;  /* a value needs at least 21 bytes past its payload */
    for (int i = 0; i < 2; i++) {
        srdi_wire_response rs = {.n_entries = 1, .entries = &bad[i]};
        size_t len;
        uint8_t *buf = enc_rsp(&rs, &len);
        srdi_wire_response out;
        char why[SRDI_WIRE_WHY] = "";
        ck_assert_int_eq(srdi_wire_response_decode(buf, len, 0, &out, why),
                         SRD_EPROTO);
        ck_assert_ptr_nonnull(strstr(why, "impossible"));
        free(buf);
    }
}
END_TEST

START_TEST(test_response_followed_by_raw_bytes_is_eproto)
{
    srdi_wire_response rs = {.seq = 1};
    size_t len;
    uint8_t *buf = enc_rsp(&rs, &len);
    uint8_t *more = grown(buf, len, 2, 0);
    srdi_wire_response out;
    ck_assert_int_eq(srdi_wire_response_decode(more, len + 2, 0, &out, NULL),
                     SRD_EPROTO);
    ck_assert_int_eq(srdi_wire_response_decode(buf, len, len - 1, &out,
                                               NULL), SRD_ETOOBIG);
    free(more);
    free(buf);
}
END_TEST

START_TEST(test_update_round_trips)
{
    srdi_entry e[2] = {value_at(5, 128, 300), tomb_at(6, 0)};
    e[1] = tomb_at(6, e[0].end);
    srdi_wire_update up = {.generation = 2, .from_tail = 128,
                           .to_tail = e[1].end, .n_entries = 2,
                           .entries = e};
    size_t len;
    uint8_t *buf = enc_upd(&up, &len);
    srdi_wire_update out;
    ck_srd(srdi_wire_update_decode(buf, len, 0, &out, NULL));
    ck_assert_uint_eq(out.generation, 2);
    ck_assert_uint_eq(out.from_tail, 128);
    ck_assert_uint_eq(out.to_tail, e[1].end);
    ck_assert_uint_eq(out.n_entries, 2);
    assert_entry(&out.entries[0], &e[0]);
    assert_entry(&out.entries[1], &e[1]);
    srdi_wire_update_free(&out);
    free(buf);
}
END_TEST

START_TEST(test_update_with_entries_outside_its_range_is_eproto)
{
    srdi_entry e = value_at(5, 128, 10);
    srdi_wire_update cases[3] = {
        {.from_tail = 200, .to_tail = 100},                   /* reversed */
        {.from_tail = 192, .to_tail = 400, .n_entries = 1, .entries = &e},
        {.from_tail = 128, .to_tail = 150, .n_entries = 1, .entries = &e}};
    for (int i = 0; i < 3; i++) {
        size_t len;
        uint8_t *buf = enc_upd(&cases[i], &len);
        srdi_wire_update out;
        char why[SRDI_WIRE_WHY] = "";
        ck_assert_int_eq(srdi_wire_update_decode(buf, len, 0, &out, why),
                         SRD_EPROTO);
        ck_assert_msg(why[0], "case %d has no message", i);
        ck_assert_ptr_null(out.entries);
        free(buf);
    }
}
END_TEST

static Suite *wire_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("requests");
    tcase_add_test(tc, test_put_round_trips_with_raw_value);
    tcase_add_test(tc, test_put_batch_round_trips_values_back_to_back);
    tcase_add_test(tc, test_empty_put_batch_round_trips);
    tcase_add_test(tc, test_delete_and_delete_batch_round_trip);
    tcase_add_test(tc, test_stream_messages_round_trip);
    tcase_add_test(tc, test_hello_sync_and_stats_round_trip);
    tcase_add_test(tc, test_compact_request_round_trips_and_is_not_a_mutation);
    tcase_add_test(tc, test_compact_reply_and_compaction_stats_round_trip);
    tcase_add_test(tc, test_op_names_and_mutation_kinds);
    tcase_add_test(tc, test_encoder_rejects_inconsistent_requests);
    suite_add_tcase(s, tc);

    tc = tcase_create("malformed");
    tcase_add_test(tc, test_message_shorter_than_prefix_is_eproto);
    tcase_add_test(tc, test_header_length_past_the_message_is_eproto);
    tcase_add_test(tc, test_every_truncation_of_a_put_is_rejected);
    tcase_add_test(tc, test_value_length_larger_than_message_is_eproto);
    tcase_add_test(tc, test_raw_bytes_beyond_declared_values_are_eproto);
    tcase_add_test(tc, test_raw_bytes_after_a_delete_are_eproto);
    tcase_add_test(tc, test_wrong_version_is_eversion_with_ids_kept);
    tcase_add_test(tc, test_request_without_op_is_eproto);
    tcase_add_test(tc, test_request_with_unknown_op_is_eproto);
    tcase_add_test(tc, test_header_that_does_not_parse_is_eproto);
    tcase_add_test(tc, test_size_limit_is_exact);
    tcase_add_test(tc, test_costly_header_is_etoobig_before_decoding);
    tcase_add_test(tc, test_random_bytes_never_decode_or_crash);
    suite_add_tcase(s, tc);

    tc = tcase_create("responses");
    tcase_add_test(tc, test_response_round_trips_entries_hello_and_stats);
    tcase_add_test(tc, test_error_response_carries_code_and_message);
    tcase_add_test(tc, test_response_with_impossible_entry_is_eproto);
    tcase_add_test(tc, test_response_followed_by_raw_bytes_is_eproto);
    tcase_add_test(tc, test_update_round_trips);
    tcase_add_test(tc, test_update_with_entries_outside_its_range_is_eproto);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(wire_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
