/* SPDX-License-Identifier: MIT */
/*
 * check_pbfast.c -- tests of libclient/pbfast.c through wire.h: the
 * hand-written codec of put, put_batch, reply and update messages writes
 * byte for byte what protobuf-c writes, and every header, canonical or
 * not, damaged or not, decodes to the same result (code, ids, keys,
 * values, entries) with it as with protobuf-c alone
 * (srdi_wire_pb_only).
 */
#define _GNU_SOURCE 1
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wire.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* A value that is often 0 (proto3 leaves zeros out) or needs every varint
 * length. */
static uint64_t some_u64(uint64_t *seed)
{
    uint64_t r = tu_rand(seed);
    switch (r % 5) {
    case 0:
        return 0;
    case 1:
        return r >> 57;
    case 2:
        return r >> (r % 64);
    default:
        return tu_rand(seed);
    }
}

/* Encode through size + encode, with protobuf-c alone when pb_only. */
#define DEFINE_ENC(name, type, prefix)                               \
    static uint8_t *name(const type *x, bool pb_only, size_t *len)   \
    {                                                                \
        srdi_wire_pb_only(pb_only);                                  \
        ck_srd(prefix##_size(x, len));                               \
        uint8_t *buf = malloc(*len);                                 \
        ck_assert_ptr_nonnull(buf);                                  \
        ck_srd(prefix##_encode(x, buf, *len));                       \
        srdi_wire_pb_only(false);                                    \
        return buf;                                                  \
    }
DEFINE_ENC(enc_req, srdi_wire_request, srdi_wire_request)
DEFINE_ENC(enc_rsp, srdi_wire_response, srdi_wire_response)
DEFINE_ENC(enc_upd, srdi_wire_update, srdi_wire_update)

static void assert_same_bytes(const uint8_t *a, size_t al, const uint8_t *b,
                              size_t bl)
{
    ck_assert_uint_eq(al, bl);
    ck_assert_mem_eq(a, b, al);
}

#define MAXN 40

/* Random put (n == 1) or put_batch request over the caller's arrays. */
static srdi_wire_request rand_puts(uint64_t *seed, srd_val *k, srd_val *v,
                                   uint8_t (*kb)[300], uint8_t (*vb)[64])
{
    srdi_wire_request rq;
    memset(&rq, 0, sizeof rq);
    rq.version = (uint32_t)(tu_rand(seed) % 4 ? SRDI_WIRE_VERSION
                                              : some_u64(seed));
    rq.client_id = some_u64(seed);
    rq.seq = some_u64(seed);
    rq.op = tu_rand(seed) % 3 ? SRDI_WIRE_PUT_BATCH : SRDI_WIRE_PUT;
    rq.n = rq.op == SRDI_WIRE_PUT ? 1 : (size_t)(tu_rand(seed) % MAXN);
    for (size_t i = 0; i < rq.n; i++) {
        size_t kl = tu_rand(seed) % 7 ? tu_rand(seed) % 20
                                      : tu_rand(seed) % 300;
        size_t vl = tu_rand(seed) % 64;
        tu_fill_random(seed, kb[i], kl);
        tu_fill_random(seed, vb[i], vl);
        k[i] = (srd_val){kl ? kb[i] : NULL, kl};
        v[i] = (srd_val){vl ? vb[i] : NULL, vl};
    }
    rq.keys = k;
    rq.values = v;
    return rq;
}

static void rand_entries(uint64_t *seed, srdi_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(&e[i], 0, sizeof e[i]);
        e[i].key_hash = some_u64(seed);
        e[i].start = some_u64(seed);
        e[i].end = some_u64(seed);
        e[i].tombstone = tu_rand(seed) % 4 == 0;
    }
}

/* Decoded requests must agree field by field. */
static void assert_same_request(srd_err ra, const srdi_wire_request *a,
                                srd_err rb, const srdi_wire_request *b)
{
    ck_assert_int_eq(ra, rb);
    ck_assert_uint_eq(a->version, b->version);
    ck_assert_uint_eq(a->client_id, b->client_id);
    ck_assert_uint_eq(a->seq, b->seq);
    if (ra != SRD_OK)
        return;
    ck_assert_int_eq(a->op, b->op);
    ck_assert_uint_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        ck_assert_uint_eq(a->keys[i].len, b->keys[i].len);
        if (a->keys[i].len)
            ck_assert_mem_eq(a->keys[i].ptr, b->keys[i].ptr, a->keys[i].len);
        if (a->op != SRDI_WIRE_PUT && a->op != SRDI_WIRE_PUT_BATCH)
            continue; /* the others carry no values */
        ck_assert_ptr_eq(a->values[i].ptr, b->values[i].ptr);
        ck_assert_uint_eq(a->values[i].len, b->values[i].len);
    }
    ck_assert_uint_eq(a->stream_id, b->stream_id);
    ck_assert_uint_eq(a->hello_version, b->hello_version);
}

static void assert_same_entries(const srdi_entry *a, const srdi_entry *b,
                                size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(a[i].key_hash, b[i].key_hash);
        ck_assert_uint_eq(a[i].start, b[i].start);
        ck_assert_uint_eq(a[i].end, b[i].end);
        ck_assert_uint_eq(a[i].payload, b[i].payload);
        ck_assert_uint_eq(a[i].len, b[i].len);
        ck_assert_int_eq(a[i].tombstone, b[i].tombstone);
    }
}

/* Decode buf as a request, a response and an update, with and without
 * pbfast, and expect the same outcome each time. */
static void assert_decoders_agree(const uint8_t *buf, size_t len)
{
    srdi_wire_request qa, qb;
    srd_err ra = srdi_wire_request_decode(buf, len, 1u << 20, &qa, NULL);
    srdi_wire_pb_only(true);
    srd_err rb = srdi_wire_request_decode(buf, len, 1u << 20, &qb, NULL);
    srdi_wire_pb_only(false);
    assert_same_request(ra, &qa, rb, &qb);
    srdi_wire_request_free(&qa);
    srdi_wire_request_free(&qb);

    srdi_wire_response sa, sb;
    ra = srdi_wire_response_decode(buf, len, 0, &sa, NULL);
    srdi_wire_pb_only(true);
    rb = srdi_wire_response_decode(buf, len, 0, &sb, NULL);
    srdi_wire_pb_only(false);
    ck_assert_int_eq(ra, rb);
    if (ra == SRD_OK) {
        ck_assert_uint_eq(sa.seq, sb.seq);
        ck_assert_int_eq(sa.error, sb.error);
        ck_assert_str_eq(sa.message, sb.message);
        ck_assert_uint_eq(sa.generation, sb.generation);
        ck_assert_uint_eq(sa.committed_tail, sb.committed_tail);
        ck_assert_uint_eq(sa.stream_id, sb.stream_id);
        ck_assert_int_eq(sa.has_hello, sb.has_hello);
        ck_assert_int_eq(sa.has_stats, sb.has_stats);
        ck_assert_int_eq(sa.has_compact, sb.has_compact);
        ck_assert_uint_eq(sa.n_entries, sb.n_entries);
        assert_same_entries(sa.entries, sb.entries, sa.n_entries);
    }
    srdi_wire_response_free(&sa);
    srdi_wire_response_free(&sb);

    srdi_wire_update ua, ub;
    ra = srdi_wire_update_decode(buf, len, 0, &ua, NULL);
    srdi_wire_pb_only(true);
    rb = srdi_wire_update_decode(buf, len, 0, &ub, NULL);
    srdi_wire_pb_only(false);
    ck_assert_int_eq(ra, rb);
    if (ra == SRD_OK) {
        ck_assert_uint_eq(ua.generation, ub.generation);
        ck_assert_uint_eq(ua.from_tail, ub.from_tail);
        ck_assert_uint_eq(ua.to_tail, ub.to_tail);
        ck_assert_uint_eq(ua.n_entries, ub.n_entries);
        assert_same_entries(ua.entries, ub.entries, ua.n_entries);
    }
    srdi_wire_update_free(&ua);
    srdi_wire_update_free(&ub);
}

/* Damage a copy of msg in one of several ways and check the decoders
 * agree on it. */
static void assert_agree_when_damaged(uint64_t *seed, const uint8_t *msg,
                                      size_t len)
{
    uint8_t *b = malloc(len + 16);
    ck_assert_ptr_nonnull(b);
    for (int round = 0; round < 8; round++) {
        memcpy(b, msg, len);
        size_t n = len;
        size_t at = len > 4 ? 4 + tu_rand(seed) % (len - 4) : 0;
        switch (tu_rand(seed) % 4) {
        case 0: /* flip a byte of the header or the values */
            b[at] ^= (uint8_t)(1u << (tu_rand(seed) % 8));
            break;
        case 1: /* a random byte */
            b[at] = (uint8_t)tu_rand(seed);
            break;
        case 2: /* cut short */
            n = at;
            break;
        default: /* the header length off by one either way */
            tu_put_le32(b, (uint32_t)(b[0] | b[1] << 8) +
                               (tu_rand(seed) % 2 ? 1u : (uint32_t)-1));
            break;
        }
        assert_decoders_agree(b, n);
    }
    free(b);
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

START_TEST(test_puts_encode_to_protobuf_c_bytes_and_decode_alike)
{
    uint64_t seed = 0xfa57;
    static uint8_t kb[MAXN][300], vb[MAXN][64];
    srd_val k[MAXN], v[MAXN];
    for (int i = 0; i < 3000; i++) {
        srdi_wire_request rq = rand_puts(&seed, k, v, kb, vb);
        size_t fl, pl;
        uint8_t *fast = enc_req(&rq, false, &fl);
        uint8_t *pb = enc_req(&rq, true, &pl);
        assert_same_bytes(fast, fl, pb, pl);
        assert_decoders_agree(fast, fl);
        assert_agree_when_damaged(&seed, fast, fl);
        free(fast);
        free(pb);
    }
}
END_TEST

START_TEST(test_replies_and_updates_encode_to_protobuf_c_bytes)
{
    uint64_t seed = 0x4e91;
    srdi_entry e[MAXN];
    const char *msgs[] = {NULL, "", "stale sequence", "x"};
    for (int i = 0; i < 3000; i++) {
        size_t n = (size_t)(tu_rand(&seed) % MAXN);
        rand_entries(&seed, e, n);
        srdi_wire_response rs;
        memset(&rs, 0, sizeof rs);
        rs.seq = some_u64(&seed);
        rs.error = tu_rand(&seed) % 3 ? SRD_OK : (srd_err)(some_u64(&seed) >> 40);
        rs.message = msgs[tu_rand(&seed) % 4];
        rs.generation = some_u64(&seed);
        rs.committed_tail = some_u64(&seed);
        rs.n_entries = n;
        rs.entries = e;
        size_t fl, pl;
        uint8_t *fast = enc_rsp(&rs, false, &fl);
        uint8_t *pb = enc_rsp(&rs, true, &pl);
        assert_same_bytes(fast, fl, pb, pl);
        assert_decoders_agree(fast, fl);
        assert_agree_when_damaged(&seed, fast, fl);
        free(fast);
        free(pb);

        srdi_wire_update up = {.generation = some_u64(&seed),
                               .from_tail = some_u64(&seed),
                               .to_tail = some_u64(&seed),
                               .n_entries = n,
                               .entries = e};
        fast = enc_upd(&up, false, &fl);
        pb = enc_upd(&up, true, &pl);
        assert_same_bytes(fast, fl, pb, pl);
        assert_decoders_agree(fast, fl);
        free(fast);
        free(pb);
    }
}
END_TEST

/* Headers a peer may send that our encoder never writes: fields out of
 * order, repeated, unknown, in longer varints; protobuf-c decides. */
START_TEST(test_non_canonical_headers_decode_as_protobuf_c_reads_them)
{
    static const uint8_t hdrs[][32] = {
        /* seq before client_id */
        {0x08, 1, 0x18, 9, 0x11, 7, 0, 0, 0, 0, 0, 0, 0, 0x5a, 5, 0x0a, 1,
         'k', 0x10, 2},
        /* seq twice: the last wins */
        {0x08, 1, 0x18, 9, 0x18, 10, 0x5a, 5, 0x0a, 1, 'k', 0x10, 2},
        /* value_len before key */
        {0x08, 1, 0x18, 9, 0x5a, 5, 0x10, 2, 0x0a, 1, 'k'},
        /* an unknown field (30) */
        {0x08, 1, 0x18, 9, 0xf0, 0x01, 3, 0x5a, 5, 0x0a, 1, 'k', 0x10, 2},
        /* a two-byte varint for seq */
        {0x08, 1, 0x18, 0x89, 0x00, 0x5a, 5, 0x0a, 1, 'k', 0x10, 2},
        /* put and then put_batch: the oneof's last member wins */
        {0x08, 1, 0x18, 9, 0x5a, 5, 0x0a, 1, 'k', 0x10, 2, 0x62, 7, 0x0a,
         5, 0x0a, 1, 'j', 0x10, 2},
        /* a Put's key twice */
        {0x08, 1, 0x18, 9, 0x5a, 8, 0x0a, 1, 'k', 0x0a, 1, 'j', 0x10, 2},
    };
    static const size_t lens[] = {20, 13, 11, 14, 12, 20, 14};
    uint8_t buf[64];
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        tu_put_le32(buf, (uint32_t)lens[i]);
        memcpy(buf + 4, hdrs[i], lens[i]);
        memcpy(buf + 4 + lens[i], "vv", 2);
        assert_decoders_agree(buf, 4 + lens[i] + 2);
        srdi_wire_request rq;
        char why[SRDI_WIRE_WHY] = "";
        srd_err rc = srdi_wire_request_decode(buf, 4 + lens[i] + 2, 0, &rq,
                                              why);
        ck_assert_msg(rc == SRD_OK, "header %zu: %s", i, why);
        ck_assert_uint_eq(rq.values[0].len, 2);
        srdi_wire_request_free(&rq);
    }
}
END_TEST

/* A reply with a tombstone flag written as 2, and entries after a field
 * of a later number: protobuf-c's reading, not the fast one. */
START_TEST(test_odd_replies_decode_as_protobuf_c_reads_them)
{
    static const uint8_t hdrs[][40] = {
        {0x08, 3, 0x32, 6, 0x10, 64, 0x18, 85, 0x20, 2},
        {0x08, 3, 0x32, 4, 0x10, 64, 0x18, 85, 0x60, 5, 0x32, 4, 0x10, 0,
         0x18, 21},
        {0x32, 4, 0x18, 85, 0x10, 64, 0x08, 3},
        {0x08, 3, 0x1a, 2, 'n', 'o', 0x32, 4, 0x10, 64, 0x18, 85},
    };
    static const size_t lens[] = {10, 16, 8, 12};
    uint8_t buf[64];
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        tu_put_le32(buf, (uint32_t)lens[i]);
        memcpy(buf + 4, hdrs[i], lens[i]);
        assert_decoders_agree(buf, 4 + lens[i]);
    }
}
END_TEST

START_TEST(test_random_bytes_decode_alike)
{
    uint64_t seed = 0xb17e;
    uint8_t buf[256];
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)(tu_rand(&seed) % sizeof buf);
        tu_fill_random(&seed, buf, n);
        if (n >= 4)
            tu_put_le32(buf, (uint32_t)(tu_rand(&seed) % (n - 3)));
        if (n >= 6 && i % 3 == 0) /* steer towards the fast paths */
            buf[4] = 0x08, buf[5] = 1;
        assert_decoders_agree(buf, n);
    }
}
END_TEST

static Suite *pbfast_suite(void)
{
    Suite *s = suite_create("pbfast");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, test_puts_encode_to_protobuf_c_bytes_and_decode_alike);
    tcase_add_test(tc, test_replies_and_updates_encode_to_protobuf_c_bytes);
    tcase_add_test(tc,
                   test_non_canonical_headers_decode_as_protobuf_c_reads_them);
    tcase_add_test(tc, test_odd_replies_decode_as_protobuf_c_reads_them);
    tcase_add_test(tc, test_random_bytes_decode_alike);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pbfast_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
