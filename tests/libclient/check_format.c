/* SPDX-License-Identifier: MIT */
/*
 * check_format.c -- tests of libclient/format.c: CRC-32/IEEE (against its
 * check value and zlib), the pinned XXH3-64 vectors, pad arithmetic, the
 * little-endian trailer, srdi_format_decode on hand-built entries, and the
 * value rules (empty and the single byte 0x00 are not storable).
 */
#define _GNU_SOURCE 1 /* strdup under -std=c11 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zlib.h>

#include "format.h"
#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static uint32_t zlib_crc(const void *p, size_t n)
{
    return (uint32_t)crc32(0L, (const Bytef *)p, (uInt)n);
}

/* A store image built by hand, with zlib's CRC (not srd's). */
typedef struct img {
    uint8_t buf[8192];
    uint64_t end;
} img;

static void put_trailer(uint8_t *t, uint64_t hash, uint64_t prev,
                        uint32_t crc)
{
    tu_put_le64(t, hash);
    tu_put_le64(t + 8, prev);
    tu_put_le32(t + 16, crc);
}

static uint64_t img_value(img *m, uint64_t hash, const void *v, size_t len)
{
    uint64_t prev = m->end;
    uint64_t pad = (64 - prev % 64) & 63;
    ck_assert_uint_le(prev + pad + len + 20, sizeof m->buf);
    memset(m->buf + prev, 0, pad);
    memcpy(m->buf + prev + pad, v, len);
    put_trailer(m->buf + prev + pad + len, hash, prev, zlib_crc(v, len));
    m->end = prev + pad + len + 20;
    return prev + pad;
}

/* Append body as it is (no pad) and a trailer with the given CRC. */
static void img_raw(img *m, const void *body, size_t n, uint64_t hash,
                    uint32_t crc)
{
    uint64_t prev = m->end;
    ck_assert_uint_le(prev + n + 20, sizeof m->buf);
    memcpy(m->buf + prev, body, n);
    put_trailer(m->buf + prev + n, hash, prev, crc);
    m->end = prev + n + 20;
}

static void img_tomb(img *m, uint64_t hash)
{
    img_raw(m, "", 1, hash, SRDI_TOMBSTONE_CRC);
}

/* Decode the entry of m ending at end the way recovery does: read the
 * trailer, then hand over [prev, min(prev + 64, end - 20)). */
static bool img_decode(const img *m, uint64_t end, srdi_entry *e)
{
    const uint8_t *t = m->buf + end - SRDI_TRAILER_SIZE;
    uint64_t prev = tu_get_le64(t + 8);
    const uint8_t *head = m->buf;
    size_t hl = 0;
    if (prev < end - SRDI_TRAILER_SIZE) {
        uint64_t body = end - SRDI_TRAILER_SIZE - prev;
        hl = body < SRDI_ALIGN ? (size_t)body : SRDI_ALIGN;
        head = m->buf + prev;
    }
    memset(e, 0xa5, sizeof *e);
    return srdi_format_decode(end, t, head, hl, e);
}

/* ------------------------------------------------------------------------ */
/* CRC-32/IEEE                                                               */
/* ------------------------------------------------------------------------ */

START_TEST(test_crc32_check_value_is_cbf43926)
{
    ck_assert_uint_eq(srdi_crc32(0, "123456789", 9), 0xCBF43926u);
    /* the public one (srd.h, what srdctl's dumps use) is the same */
    ck_assert_uint_eq(srd_crc32(0, "123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(srd_crc32(srd_crc32(0, "1234", 4), "56789", 5),
                      0xCBF43926u);
}
END_TEST

START_TEST(test_crc32_of_nothing_is_the_start_value)
{
    ck_assert_uint_eq(srdi_crc32(0, "", 0), 0);
    ck_assert_uint_eq(srdi_crc32(0xCBF43926u, "x", 0), 0xCBF43926u);
}
END_TEST

START_TEST(test_crc32_of_tombstone_byte_is_d202ef8d)
{
    const uint8_t z = 0;
    ck_assert_uint_eq(srdi_crc32(0, &z, 1), 0xd202ef8du);
    ck_assert_uint_eq(SRDI_TOMBSTONE_CRC, 0xd202ef8du);
}
END_TEST

START_TEST(test_crc32_chained_in_pieces_equals_one_call)
{
    uint64_t rs = 1;
    enum { N = 5000 };
    uint8_t *b = malloc(N);
    tu_fill_random(&rs, b, N);
    uint32_t whole = srdi_crc32(0, b, N);
    ck_assert_uint_eq(whole, zlib_crc(b, N));
    /* Every split point of a short prefix. */
    for (size_t n = 0; n <= 300; n++) {
        uint32_t ref = srdi_crc32(0, b, n);
        for (size_t k = 0; k <= n; k++) {
            uint32_t c = srdi_crc32(0, b, k);
            c = srdi_crc32(c, b + k, n - k);
            ck_assert_msg(c == ref, "n=%zu split=%zu", n, k);
        }
    }
    /* Fixed-size pieces over the whole buffer. */
    const size_t pieces[] = {1, 3, 7, 15, 16, 63, 64, 65, 255, 4095, 4096};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        uint32_t c = 0;
        for (size_t off = 0; off < N; off += pieces[i]) {
            size_t k = N - off < pieces[i] ? N - off : pieces[i];
            c = srdi_crc32(c, b + off, k);
        }
        ck_assert_msg(c == whole, "piece size %zu", pieces[i]);
    }
    free(b);
}
END_TEST

START_TEST(test_crc32_equals_zlib_for_every_length_to_4096)
{
    uint64_t rs = 2;
    uint8_t *b = malloc(4096 + 64);
    tu_fill_random(&rs, b, 4096 + 64);
    for (size_t n = 0; n <= 4096; n++) {
        /* Vary the start address too: SIMD code paths care. */
        const uint8_t *p = b + (n % 61);
        tu_require(srdi_crc32(0, p, n) == zlib_crc(p, n), "len %zu", n);
    }
    free(b);
}
END_TEST

START_TEST(test_crc32_equals_zlib_on_mib_buffers)
{
    const size_t lens[] = {1u << 20, (3u << 20) + 13, (8u << 20) - 1};
    uint64_t rs = 3;
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t *b = malloc(lens[i]);
        ck_assert_ptr_nonnull(b);
        tu_fill_random(&rs, b, lens[i]);
        ck_assert_uint_eq(srdi_crc32(0, b, lens[i]), zlib_crc(b, lens[i]));
        /* And chained over 1 MiB + 1 pieces. */
        uint32_t c = 0;
        for (size_t off = 0; off < lens[i]; off += (1u << 20) + 1) {
            size_t k = lens[i] - off;
            if (k > (1u << 20) + 1)
                k = (1u << 20) + 1;
            c = srdi_crc32(c, b + off, k);
        }
        ck_assert_uint_eq(c, zlib_crc(b, lens[i]));
        free(b);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* XXH3-64 key hash                                                          */
/* ------------------------------------------------------------------------ */

static const struct {
    const char *key;
    size_t len;
    uint64_t hash;
} hash_vectors[] = {
    {"", 0, 0x2d06800538d394c2ull},
    {"\0", 1, 0xc44bdff4074eecdbull},
    {"alice", 5, 0x4da10dd61a0116b0ull},
    {"bob", 3, 0x1403c0c40f49b8e5ull},
    {"carol", 5, 0xe2fdb994ad3fcba4ull},
    {"key1", 4, 0x384d070cd5d829e2ull},
    {"test_key", 8, 0xe0614cc5ecbeed92ull},
    {"longer_key_name", 15, 0x4c21bc57c3b572eeull},
};

START_TEST(test_hash_matches_pinned_xxh3_vectors)
{
    for (size_t i = 0; i < sizeof hash_vectors / sizeof hash_vectors[0];
         i++) {
        ck_assert_msg(srdi_hash(hash_vectors[i].key, hash_vectors[i].len) ==
                          hash_vectors[i].hash,
                      "srdi_hash vector %zu", i);
        ck_assert_msg(srd_key_hash(hash_vectors[i].key,
                                   hash_vectors[i].len) ==
                          hash_vectors[i].hash,
                      "srd_key_hash vector %zu", i);
    }
}
END_TEST

START_TEST(test_key_hash_of_null_empty_key_is_the_empty_hash)
{
    ck_assert_uint_eq(srd_key_hash(NULL, 0), 0x2d06800538d394c2ull);
}
END_TEST

START_TEST(test_batch_of_names_hashes_like_single_keys)
{
    const char *names[] = {"alice", "bob", "carol", "key1", "test_key"};
    uint64_t h[5];
    for (int i = 0; i < 5; i++)
        h[i] = srd_key_hash(names[i], strlen(names[i]));
    ck_assert_uint_eq(h[0], 0x4da10dd61a0116b0ull);
    ck_assert_uint_eq(h[1], 0x1403c0c40f49b8e5ull);
    ck_assert_uint_eq(h[2], 0xe2fdb994ad3fcba4ull);
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++)
            ck_assert_uint_ne(h[i], h[j]);
}
END_TEST

START_TEST(test_key_hash_equals_srdi_hash_and_libxxhash)
{
    uint64_t rs = 4;
    uint8_t b[1100];
    tu_fill_random(&rs, b, sizeof b);
    /* XXH3 switches algorithms at 16, 128 and 240 bytes: cover all. */
    for (size_t n = 0; n <= sizeof b; n += (n < 300 ? 1 : 97)) {
        uint64_t a = srd_key_hash(b, n);
        ck_assert_msg(a == srdi_hash(b, n), "len %zu", n);
        ck_assert_msg(a == (uint64_t)XXH3_64bits(b, n), "len %zu", n);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Pad, entry size and trailer                                               */
/* ------------------------------------------------------------------------ */

START_TEST(test_pad_aligns_payload_for_every_remainder)
{
    const uint64_t bases[] = {0, 64, 4096, 1ull << 40,
                              (UINT64_MAX - 8191) & ~63ull};
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
        ck_assert_uint_eq(bases[b] % 64, 0);
        for (uint64_t r = 0; r < 64; r++) {
            uint64_t prev = bases[b] + r;
            uint64_t pad = srdi_format_pad(prev);
            ck_assert_uint_eq(pad, (64 - r) % 64);
            ck_assert_uint_lt(pad, 64);
            ck_assert_uint_eq((prev + pad) % 64, 0);
            ck_assert_uint_eq(srdi_format_entry_size(prev, 5),
                              pad + 5 + SRDI_TRAILER_SIZE);
        }
    }
    ck_assert_uint_eq(SRDI_TRAILER_SIZE, 20);
    ck_assert_uint_eq(SRDI_ALIGN, 64);
}
END_TEST

START_TEST(test_trailer_layout_is_little_endian)
{
    uint8_t t[SRDI_TRAILER_SIZE];
    memset(t, 0xee, sizeof t);
    srdi_format_put_trailer(t, 0x0102030405060708ull, 0x1112131415161718ull,
                            0xA1B2C3D4u);
    const uint8_t want[SRDI_TRAILER_SIZE] = {
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x18, 0x17,
        0x16, 0x15, 0x14, 0x13, 0x12, 0x11, 0xD4, 0xC3, 0xB2, 0xA1};
    ck_assert_mem_eq(t, want, sizeof want);
}
END_TEST

START_TEST(test_trailer_round_trips)
{
    uint64_t rs = 5;
    const uint64_t edge[] = {0, 1, 0x80, UINT64_MAX, 1ull << 63,
                             0x00ff00ff00ff00ffull};
    for (int i = 0; i < 10000; i++) {
        uint64_t h = i < 6 ? edge[i] : tu_rand(&rs);
        uint64_t p = i < 6 ? edge[5 - i] : tu_rand(&rs);
        uint32_t c = i < 6 ? (uint32_t)edge[i] : (uint32_t)tu_rand(&rs);
        uint8_t t[SRDI_TRAILER_SIZE];
        srdi_format_put_trailer(t, h, p, c);
        /* Independent decoding of the bytes. */
        ck_assert_uint_eq(tu_get_le64(t), h);
        ck_assert_uint_eq(tu_get_le64(t + 8), p);
        ck_assert_uint_eq(tu_get_le32(t + 16), c);
        uint64_t h2, p2;
        uint32_t c2;
        srdi_format_get_trailer(t, &h2, &p2, &c2);
        ck_assert_uint_eq(h2, h);
        ck_assert_uint_eq(p2, p);
        ck_assert_uint_eq(c2, c);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* srdi_format_decode                                                        */
/* ------------------------------------------------------------------------ */

START_TEST(test_decode_value_at_offset_0)
{
    img m = {0};
    img_value(&m, 0x1234, "abc", 3);
    srdi_entry e;
    ck_assert(img_decode(&m, m.end, &e));
    ck_assert(!e.tombstone);
    ck_assert_uint_eq(e.start, 0);
    ck_assert_uint_eq(e.payload, 0);
    ck_assert_uint_eq(e.len, 3);
    ck_assert_uint_eq(e.end, 23);
    ck_assert_uint_eq(e.key_hash, 0x1234);
    ck_assert_uint_eq(e.crc, zlib_crc("abc", 3));
}
END_TEST

START_TEST(test_decode_value_after_pad)
{
    img m = {0};
    img_value(&m, 1, "abc", 3); /* ends at 23 */
    uint64_t p = img_value(&m, 0xfeedull, "hello world", 11);
    ck_assert_uint_eq(p, 64);
    srdi_entry e;
    ck_assert(img_decode(&m, m.end, &e));
    ck_assert(!e.tombstone);
    ck_assert_uint_eq(e.start, 23);
    ck_assert_uint_eq(e.payload, 64);
    ck_assert_uint_eq(e.len, 11);
    ck_assert_uint_eq(e.end, 64 + 11 + 20);
    ck_assert_uint_eq(e.key_hash, 0xfeedull);
    ck_assert_uint_eq(e.crc, zlib_crc("hello world", 11));
}
END_TEST

START_TEST(test_decode_value_longer_than_one_block)
{
    img m = {0};
    img_value(&m, 1, "abc", 3);
    uint8_t v[1000];
    for (int i = 0; i < 1000; i++)
        v[i] = (uint8_t)(i % 251);
    img_value(&m, 2, v, sizeof v);
    srdi_entry e;
    ck_assert(img_decode(&m, m.end, &e));
    ck_assert_uint_eq(e.payload, 64);
    ck_assert_uint_eq(e.len, 1000);
    ck_assert(!e.tombstone);
}
END_TEST

START_TEST(test_decode_tombstone_at_aligned_prev)
{
    img m = {0};
    img_value(&m, 1, "01234567890123456789012345678901234567890123", 44);
    ck_assert_uint_eq(m.end, 64);
    img_tomb(&m, 0x77);
    srdi_entry e;
    ck_assert(img_decode(&m, m.end, &e));
    ck_assert(e.tombstone);
    ck_assert_uint_eq(e.start, 64);
    ck_assert_uint_eq(e.payload, 64);
    ck_assert_uint_eq(e.len, 1);
    ck_assert_uint_eq(e.end, 85);
    ck_assert_uint_eq(e.key_hash, 0x77);
    ck_assert_uint_eq(e.crc, 0xd202ef8du);
}
END_TEST

START_TEST(test_decode_tombstone_at_unaligned_prev)
{
    img m = {0};
    img_value(&m, 1, "hello", 5); /* ends at 25 */
    img_tomb(&m, 0x88);
    srdi_entry e;
    ck_assert(img_decode(&m, m.end, &e));
    ck_assert(e.tombstone);
    ck_assert_uint_eq(e.start, 25);
    ck_assert_uint_eq(e.payload, 25);
    ck_assert_uint_eq(e.len, 1);
    ck_assert_uint_eq(e.end, 46);
    ck_assert_uint_eq(e.key_hash, 0x88);
}
END_TEST

START_TEST(test_decode_tombstone_at_offset_0)
{
    img m = {0};
    img_tomb(&m, 0x99);
    srdi_entry e;
    ck_assert(img_decode(&m, m.end, &e));
    ck_assert(e.tombstone);
    ck_assert_uint_eq(e.start, 0);
    ck_assert_uint_eq(e.end, 21);
}
END_TEST

START_TEST(test_decode_rejects_nonzero_pad)
{
    img m = {0};
    img_value(&m, 1, "abc", 3); /* ends at 23 */
    img_value(&m, 2, "xyz", 3); /* pad 23..63, payload 64 */
    srdi_entry e;
    ck_assert(img_decode(&m, m.end, &e));
    for (uint64_t at = 23; at < 64; at++) {
        m.buf[at] = 0x01;
        ck_assert_msg(!img_decode(&m, m.end, &e), "pad byte %llu",
                      (unsigned long long)at);
        m.buf[at] = 0;
    }
    ck_assert(img_decode(&m, m.end, &e));
}
END_TEST

START_TEST(test_decode_rejects_prev_at_or_past_body_end)
{
    img m = {0};
    img_value(&m, 1, "abc", 3); /* ends at 23: body end 3 */
    uint8_t *prevp = m.buf + m.end - 20 + 8;
    srdi_entry e;
    const uint64_t bad[] = {3, 4, 22, 23, 24, 1000, UINT64_MAX / 2,
                            UINT64_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_put_le64(prevp, bad[i]);
        ck_assert_msg(!img_decode(&m, m.end, &e), "prev %llu accepted",
                      (unsigned long long)bad[i]);
    }
}
END_TEST

START_TEST(test_decode_rejects_poisoned_batch_prev)
{
    /* A batch is written with its first back pointer UINT64_MAX until it
     * is complete: such an entry must never decode. */
    img m = {0};
    img_value(&m, 1, "abc", 3);
    img_value(&m, 2, "def", 3);
    tu_put_le64(m.buf + m.end - 12, UINT64_MAX);
    srdi_entry e;
    ck_assert(!img_decode(&m, m.end, &e));
}
END_TEST

START_TEST(test_decode_rejects_end_below_21)
{
    uint8_t t[SRDI_TRAILER_SIZE] = {0};
    uint8_t head[64] = {0};
    srdi_entry e;
    for (uint64_t end = 0; end < 21; end++)
        ck_assert_msg(!srdi_format_decode(end, t, head, 0, &e),
                      "end %llu accepted", (unsigned long long)end);
    /* 21 is the smallest entry: a tombstone at 0. */
    srdi_format_put_trailer(t, 5, 0, SRDI_TOMBSTONE_CRC);
    ck_assert(srdi_format_decode(21, t, head, 1, &e));
    ck_assert(e.tombstone);
}
END_TEST

START_TEST(test_decode_accepts_one_nonzero_byte_at_aligned_prev)
{
    img m = {0};
    img_value(&m, 1, "01234567890123456789012345678901234567890123", 44);
    ck_assert_uint_eq(m.end, 64);
    img_value(&m, 2, "s", 1);
    srdi_entry e;
    ck_assert(img_decode(&m, m.end, &e));
    ck_assert(!e.tombstone);
    ck_assert_uint_eq(e.start, 64);
    ck_assert_uint_eq(e.payload, 64);
    ck_assert_uint_eq(e.len, 1);
    /* Also at offset 0. */
    img z = {0};
    img_value(&z, 3, "\x01", 1);
    ck_assert(img_decode(&z, z.end, &e));
    ck_assert(!e.tombstone);
    ck_assert_uint_eq(e.len, 1);
}
END_TEST

START_TEST(test_decode_rejects_one_nonzero_byte_at_unaligned_prev)
{
    /* One non-zero byte at an unaligned prev, no pad: not a tombstone,
     * and a value there would need a pad first. */
    img m = {0};
    img_value(&m, 1, "hello", 5); /* ends at 25 */
    img_raw(&m, "s", 1, 2, zlib_crc("s", 1)); /* ends at 46 */
    srdi_entry e;
    ck_assert(!img_decode(&m, m.end, &e));
}
END_TEST

START_TEST(test_decode_rejects_two_bytes_without_pad)
{
    /* A two-byte body at an unaligned prev cannot be a tombstone nor a
     * padded value. */
    img m = {0};
    img_value(&m, 1, "hello", 5); /* ends at 25 */
    img_raw(&m, "\0\0", 2, 2, zlib_crc("\0\0", 2)); /* ends at 47 */
    srdi_entry e;
    ck_assert(!img_decode(&m, m.end, &e));
}
END_TEST

START_TEST(test_decode_two_zero_bytes_at_aligned_prev_is_a_value)
{
    img m = {0};
    img_value(&m, 1, "A", 1); /* ends at 21 */
    img_value(&m, 2, "\0\0", 2);
    srdi_entry e;
    ck_assert(img_decode(&m, m.end, &e));
    ck_assert(!e.tombstone);
    ck_assert_uint_eq(e.payload, 64);
    ck_assert_uint_eq(e.len, 2);
}
END_TEST

START_TEST(test_decode_entry_at_high_offset)
{
    /* Offsets near 2^40 with a pad of 41 bytes: only arithmetic changes. */
    const uint64_t prev = (1ull << 40) + 23;
    uint8_t head[64] = {0};
    head[41] = 'q';
    uint8_t t[SRDI_TRAILER_SIZE];
    uint64_t end = prev + 41 + 100 + 20;
    srdi_format_put_trailer(t, 9, prev, 1234);
    srdi_entry e;
    ck_assert(srdi_format_decode(end, t, head, 64, &e));
    ck_assert(!e.tombstone);
    ck_assert_uint_eq(e.start, prev);
    ck_assert_uint_eq(e.payload, (1ull << 40) + 64);
    ck_assert_uint_eq(e.len, 100);
    ck_assert_uint_eq(e.end, end);
    ck_assert_uint_eq(e.crc, 1234);
}
END_TEST

/* Every entry of the golden files decodes as the independent parser says. */
static void decode_golden(const char *name)
{
    char *path = tu_golden(name);
    size_t n;
    uint8_t *b = tu_read_file(path, &n);
    ck_assert_ptr_nonnull(b);
    tu_entry *ents;
    long k = tu_chain(b, n, &ents);
    ck_assert_int_gt(k, 0);
    for (long i = 0; i < k; i++) {
        const tu_entry *w = &ents[i];
        uint64_t body = w->end - 20 - w->start;
        srdi_entry e;
        ck_assert(srdi_format_decode(w->end, b + w->end - 20, b + w->start,
                                     body < 64 ? (size_t)body : 64, &e));
        ck_assert_uint_eq(e.start, w->start);
        ck_assert_uint_eq(e.payload, w->payload);
        ck_assert_uint_eq(e.len, w->len);
        ck_assert_uint_eq(e.end, w->end);
        ck_assert_uint_eq(e.key_hash, w->key_hash);
        ck_assert_uint_eq(e.crc, w->crc);
        ck_assert_int_eq(e.tombstone, w->tombstone != 0);
        /* The stored CRC is CRC-32/IEEE of the payload. */
        ck_assert_uint_eq(srdi_crc32(0, b + w->payload, w->len), w->crc);
    }
    free(ents);
    free(b);
    free(path);
}

START_TEST(test_decode_agrees_on_every_golden_entry)
{
    decode_golden("basic.bin");
    decode_golden("batch.bin");
    decode_golden("small.bin");
    decode_golden("mixed.bin");
    decode_golden("compacted.bin");
    decode_golden("stream.bin");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Value rules                                                               */
/* ------------------------------------------------------------------------ */

START_TEST(test_value_rules_reject_empty_and_single_zero)
{
    const uint8_t z[3] = {0, 0, 0};
    ck_assert_int_eq(srdi_format_check_value("", 0), SRD_EINVAL);
    ck_assert_int_eq(srdi_format_check_value(NULL, 0), SRD_EINVAL);
    ck_assert_int_eq(srdi_format_check_value(z, 1), SRD_EINVAL);
}
END_TEST

START_TEST(test_value_rules_accept_two_zero_bytes_and_others)
{
    const uint8_t z[3] = {0, 0, 0};
    ck_assert_int_eq(srdi_format_check_value(z, 2), SRD_OK);
    ck_assert_int_eq(srdi_format_check_value(z, 3), SRD_OK);
    ck_assert_int_eq(srdi_format_check_value("\x01", 1), SRD_OK);
    ck_assert_int_eq(srdi_format_check_value("s", 1), SRD_OK);
    ck_assert_int_eq(srdi_format_check_value("\0x", 2), SRD_OK);
}
END_TEST

static Suite *format_suite(void)
{
    Suite *s = suite_create("format");
    TCase *tc = tcase_create("crc");
    tcase_add_test(tc, test_crc32_check_value_is_cbf43926);
    tcase_add_test(tc, test_crc32_of_nothing_is_the_start_value);
    tcase_add_test(tc, test_crc32_of_tombstone_byte_is_d202ef8d);
    tcase_add_test(tc, test_crc32_chained_in_pieces_equals_one_call);
    tcase_add_test(tc, test_crc32_equals_zlib_for_every_length_to_4096);
    tcase_add_test(tc, test_crc32_equals_zlib_on_mib_buffers);
    suite_add_tcase(s, tc);

    tc = tcase_create("hash");
    tcase_add_test(tc, test_hash_matches_pinned_xxh3_vectors);
    tcase_add_test(tc, test_key_hash_of_null_empty_key_is_the_empty_hash);
    tcase_add_test(tc, test_batch_of_names_hashes_like_single_keys);
    tcase_add_test(tc, test_key_hash_equals_srdi_hash_and_libxxhash);
    suite_add_tcase(s, tc);

    tc = tcase_create("layout");
    tcase_add_test(tc, test_pad_aligns_payload_for_every_remainder);
    tcase_add_test(tc, test_trailer_layout_is_little_endian);
    tcase_add_test(tc, test_trailer_round_trips);
    suite_add_tcase(s, tc);

    tc = tcase_create("decode");
    tcase_add_test(tc, test_decode_value_at_offset_0);
    tcase_add_test(tc, test_decode_value_after_pad);
    tcase_add_test(tc, test_decode_value_longer_than_one_block);
    tcase_add_test(tc, test_decode_tombstone_at_aligned_prev);
    tcase_add_test(tc, test_decode_tombstone_at_unaligned_prev);
    tcase_add_test(tc, test_decode_tombstone_at_offset_0);
    tcase_add_test(tc, test_decode_rejects_nonzero_pad);
    tcase_add_test(tc, test_decode_rejects_prev_at_or_past_body_end);
    tcase_add_test(tc, test_decode_rejects_poisoned_batch_prev);
    tcase_add_test(tc, test_decode_rejects_end_below_21);
    tcase_add_test(tc, test_decode_accepts_one_nonzero_byte_at_aligned_prev);
    tcase_add_test(tc,
                   test_decode_rejects_one_nonzero_byte_at_unaligned_prev);
    tcase_add_test(tc, test_decode_rejects_two_bytes_without_pad);
    tcase_add_test(tc, test_decode_two_zero_bytes_at_aligned_prev_is_a_value);
    tcase_add_test(tc, test_decode_entry_at_high_offset);
    tcase_add_test(tc, test_decode_agrees_on_every_golden_entry);
    suite_add_tcase(s, tc);

    tc = tcase_create("values");
    tcase_add_test(tc, test_value_rules_reject_empty_and_single_zero);
    tcase_add_test(tc, test_value_rules_accept_two_zero_bytes_and_others);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(format_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
