/* SPDX-License-Identifier: MIT */
/*
 * check_store_stream.c -- the public store API (srd.h) in embedded mode:
 * pull/push write streams and read streams.
 * Split from check_store.c; the reference test ported is named above
 * each port (shared/REFERENCE-TESTS.md). Fixture: store_fixture.h.
 */
#define _GNU_SOURCE 1
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "store_fixture.h"

/* Read a value back through srd_read_stream_* in chunks of `chunk`. */
static uint8_t *read_back_stream(srd_store *st, srd_val key, size_t chunk,
                                 size_t *len)
{
    srd_read_stream *rs = NULL;
    ck_srd(srd_read_stream_open(st, key, &rs));
    size_t cap = 1 << 16, got = 0;
    uint8_t *out = malloc(cap);
    uint8_t *buf = malloc(chunk);
    ck_assert(out && buf);
    for (;;) {
        size_t n = SIZE_MAX;
        ck_srd(srd_read_stream_read(rs, buf, chunk, &n));
        ck_assert_uint_le(n, chunk);
        if (n == 0)
            break;
        if (got + n > cap) {
            cap = (got + n) * 2;
            out = realloc(out, cap);
            ck_assert_ptr_nonnull(out);
        }
        memcpy(out + got, buf, n);
        got += n;
    }
    srd_read_stream_close(rs);
    free(buf);
    *len = got;
    return out;
}


/* reference: test_write_and_read_streams (pull stream) */
START_TEST(test_pull_stream_of_1mib_reads_back_in_4k_chunks)
{
    srd_store *st = open_rw(g_path);
    uint8_t *data = malloc(MIB);
    memset(data, 'X', MIB);
    src s = src_of(data, MIB);
    s.chunk = 8192;
    ck_srd(srd_put_stream(st, tu_s("stream_key"), src_read, &s));
    size_t n = 0;
    uint8_t *back = read_back_stream(st, tu_s("stream_key"), 4096, &n);
    ck_assert_uint_eq(n, MIB);
    ck_assert_uint_eq(crc32(0, back, (uInt)n), crc32(0, data, MIB));
    ck_assert(memcmp(back, data, MIB) == 0);
    srd_entry_meta m;
    ck_srd(srd_meta(st, tu_s("stream_key"), &m));
    ck_assert_uint_eq(m.checksum, (uint32_t)crc32(0, data, MIB));
    ck_assert(m.checksum_valid);
    free(back);
    ck_srd(srd_close(st));
    st = open_ro(g_path);
    expect_bytes(st, tu_s("stream_key"), data, MIB);
    ck_srd(srd_close(st));
    free(data);
}
END_TEST

/* reference: test_write_and_read_streams (push stream) */
START_TEST(test_push_stream_of_1mib_reads_back_in_4k_chunks)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "before", "b"); /* the stream starts unaligned */
    uint8_t *data = pattern(MIB, 9);
    srd_stream *s = NULL;
    ck_srd(srd_stream_begin(st, tu_s("pushed"), &s));
    for (size_t off = 0; off < MIB; off += 3000) {
        size_t k = MIB - off < 3000 ? MIB - off : 3000;
        ck_srd(srd_stream_write(s, data + off, k));
    }
    ck_srd(srd_stream_commit(s));
    size_t n = 0;
    uint8_t *back = read_back_stream(st, tu_s("pushed"), 4096, &n);
    ck_assert_uint_eq(n, MIB);
    ck_assert(memcmp(back, data, MIB) == 0);
    free(back);
    srd_view v;
    ck_srd(srd_get(st, tu_s("pushed"), &v));
    ck_assert_uint_eq(v.offset % 64, 0);
    srd_view_release(&v);
    ck_srd(srd_close(st));
    st = open_ro(g_path);
    expect_bytes(st, tu_s("pushed"), data, MIB);
    expect_str(st, "before", "b");
    ck_srd(srd_close(st));
    free(data);
}
END_TEST

/* A writer on g_path that holds "existing" = "value", and in *before the
 * file as it then is (the caller frees before->b). */
static srd_store *open_with_existing(snap *before)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "existing", "value");
    *before = snap_file(g_path);
    return st;
}

/* A pull stream and a push stream (its n bytes written, if any) of the n
 * bytes at p to key "k" are both refused with SRD_EINVAL: the file stays
 * as before and "k" absent. */
static void expect_streams_refused(srd_store *st, const void *p, size_t n,
                                   snap before)
{
    src s = src_of(p, n);
    ck_assert_int_eq(srd_put_stream(st, tu_s("k"), src_read, &s), SRD_EINVAL);
    expect_file_is(g_path, before);
    srd_stream *ps = NULL;
    ck_srd(srd_stream_begin(st, tu_s("k"), &ps));
    if (n > 0)
        ck_srd(srd_stream_write(ps, p, n));
    ck_assert_int_eq(srd_stream_commit(ps), SRD_EINVAL);
    expect_file_is(g_path, before);
    expect_absent(st, "k");
}

/* reference: test_write_stream_null_byte_fails, for both stream kinds */
START_TEST(test_stream_of_single_zero_byte_is_einval_and_writes_nothing)
{
    snap before;
    srd_store *st = open_with_existing(&before);
    expect_streams_refused(st, "\0", 1, before);
    /* the next write lands where the rejected stream would have */
    put_str(st, "next", "ok");
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_str(st, "existing", "value");
    expect_str(st, "next", "ok");
    expect_absent(st, "k");
    ck_srd(srd_close(st));
    free(before.b);
}
END_TEST

/* srd: an empty stream cannot be stored either */
START_TEST(test_empty_stream_is_einval_and_writes_nothing)
{
    snap before;
    srd_store *st = open_with_existing(&before);
    expect_streams_refused(st, "", 0, before);
    put_str(st, "next", "ok");
    expect_str(st, "next", "ok");
    ck_srd(srd_close(st));
    free(before.b);
}
END_TEST

/* srd: an aborted push stream leaves no bytes that could corrupt the next
 * entry (a known defect of the reference) */
START_TEST(test_aborted_stream_leaves_file_unchanged)
{
    snap before;
    srd_store *st = open_with_existing(&before);
    uint8_t *data = pattern(100000, 5);
    srd_stream *ps = NULL;
    ck_srd(srd_stream_begin(st, tu_s("aborted"), &ps));
    ck_srd(srd_stream_write(ps, data, 100000));
    srd_stream_abort(ps);
    expect_file_is(g_path, before);
    expect_absent(st, "aborted");
    put_str(st, "next", "after abort");
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_str(st, "next", "after abort");
    expect_absent(st, "aborted");
    srd_verify_report r;
    ck_srd(srd_verify(st, &r, NULL, NULL));
    ck_srd(srd_close(st));
    free(data);
    free(before.b);
}
END_TEST

/* srd: a pull callback's error aborts the stream with its code, or with
 * SRD_ECANCELED when it is not an srd_err; nothing of the value remains */
START_TEST(test_pull_stream_callback_error_aborts_write)
{
    snap before;
    srd_store *st = open_with_existing(&before);
    uint8_t *data = pattern(200000, 6);
    src s = src_of(data, 200000);
    s.chunk = 10000;
    s.fail_after = 4;
    s.fail_rc = SRD_ETOOBIG;
    ck_assert_int_eq(srd_put_stream(st, tu_s("s"), src_read, &s), SRD_ETOOBIG);
    expect_file_is(g_path, before);
    s = src_of(data, 200000);
    s.chunk = 10000;
    s.fail_after = 3;
    s.fail_rc = -1;
    ck_assert_int_eq(srd_put_stream(st, tu_s("s"), src_read, &s),
                     SRD_ECANCELED);
    expect_file_is(g_path, before);
    expect_absent(st, "s");
    s = src_of(data, 200000);
    ck_srd(srd_put_stream(st, tu_s("s"), src_read, &s));
    expect_bytes(st, tu_s("s"), data, 200000);
    ck_srd(srd_close(st));
    free(data);
    free(before.b);
}
END_TEST

/* srd: a read stream of a missing key is SRD_ENOTFOUND */
START_TEST(test_read_stream_of_missing_key_is_enotfound)
{
    srd_store *st = open_rw(g_path);
    srd_read_stream *rs = NULL;
    ck_assert_int_eq(srd_read_stream_open(st, tu_s("nope"), &rs),
                     SRD_ENOTFOUND);
    ck_srd(srd_close(st));
}
END_TEST

static Suite *store_stream_suite(void)
{
    Suite *s = suite_create("store_stream");
    TCase *tc = store_tcase(s, "streaming");
    tcase_add_test(tc, test_pull_stream_of_1mib_reads_back_in_4k_chunks);
    tcase_add_test(tc, test_push_stream_of_1mib_reads_back_in_4k_chunks);
    tcase_add_test(tc,
                   test_stream_of_single_zero_byte_is_einval_and_writes_nothing);
    tcase_add_test(tc, test_empty_stream_is_einval_and_writes_nothing);
    tcase_add_test(tc, test_aborted_stream_leaves_file_unchanged);
    tcase_add_test(tc, test_pull_stream_callback_error_aborts_write);
    tcase_add_test(tc, test_read_stream_of_missing_key_is_enotfound);
    return s;
}

int main(void)
{
    return tu_main(store_stream_suite());
}
