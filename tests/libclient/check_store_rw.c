/* SPDX-License-Identifier: MIT */
/*
 * check_store_rw.c -- the public store API (srd.h) in embedded mode:
 * put, get, exists, delete, reopen and bad arguments.
 * Split from check_store.c; the reference test ported is named above
 * each port (shared/REFERENCE-TESTS.md). Fixture: store_fixture.h.
 */
#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "store_fixture.h"

/* The newest live entry in file order, found through iteration; checks that
 * it really is the last entry of the file (its trailer ends at the tail). */
static void last_entry(srd_store *st, srd_view *out)
{
    srd_iter *it = NULL;
    ck_srd(srd_iter_open(st, &it));
    srd_view v, last;
    memset(&last, 0, sizeof last);
    srd_err rc;
    while ((rc = srd_iter_next(it, &v)) == SRD_OK) {
        srd_view_release(&last);
        last = v;
    }
    ck_assert_int_eq(rc, SRD_ENOTFOUND);
    srd_iter_close(it);
    ck_assert_ptr_nonnull(last.data);
    ck_assert_uint_eq(last.offset + last.len + 20, tail_of(st));
    *out = last;
}


/* ------------------------------------------------------------------------ */
/* Basic operations (reference: tests/basic_operations_tests.rs)             */
/* ------------------------------------------------------------------------ */

/* reference: test_emptiness_check */
START_TEST(test_new_store_is_empty_until_first_put)
{
    srd_store *st = open_rw(g_path);
    ck_assert_uint_eq(count_of(st), 0);
    ck_assert_uint_eq(tail_of(st), 0);
    ck_assert_int_eq(tu_file_size(g_path), 0);
    put_str(st, "test_key", "Hello, world!");
    ck_assert_uint_eq(count_of(st), 1);
    ck_assert_int_gt(tu_file_size(g_path), 0);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_exists_checks_key_presence */
START_TEST(test_exists_follows_put_and_delete)
{
    srd_store *st = open_rw(g_path);
    ck_assert(!exists(st, "exists_key"));
    put_str(st, "exists_key", "some value");
    ck_assert(exists(st, "exists_key"));
    bool existed = false;
    ck_srd(srd_delete(st, tu_s("exists_key"), &existed));
    ck_assert(existed);
    ck_assert(!exists(st, "exists_key"));
    expect_absent(st, "exists_key");
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_append_and_read_last_entry (srd has no read_last_entry:
 * the newest entry is the last one iteration yields, ending at the tail) */
START_TEST(test_put_becomes_last_entry)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "test_key", "Hello, world!");
    srd_view v;
    last_entry(st, &v);
    ck_assert_uint_eq(v.len, 13);
    ck_assert_mem_eq(v.data, "Hello, world!", 13);
    ck_assert_uint_eq(v.key_hash, srd_key_hash("test_key", 8));
    srd_view_release(&v);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_multiple_appends_and_reads */
START_TEST(test_last_of_three_puts_is_last_entry)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "key1", "First Entry");
    put_str(st, "key2", "Second Entry");
    put_str(st, "key3", "Third Entry");
    srd_view v;
    last_entry(st, &v);
    ck_assert_uint_eq(v.len, 11);
    ck_assert_mem_eq(v.data, "Third Entry", 11);
    srd_view_release(&v);
    expect_str(st, "key1", "First Entry");
    expect_str(st, "key2", "Second Entry");
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_varying_payload_sizes */
START_TEST(test_values_of_varying_sizes_read_back)
{
    srd_store *st = open_rw(g_path);
    static const size_t sizes[3] = {10, 1024, 4096};
    static const char fill[3] = {'a', 'b', 'c'};
    uint8_t *buf[3];
    char key[8];
    for (int i = 0; i < 3; i++) {
        buf[i] = malloc(sizes[i]);
        memset(buf[i], fill[i], sizes[i]);
        snprintf(key, sizeof key, "key%d", i);
        ck_srd(srd_put(st, tu_s(key), bytes(buf[i], sizes[i])));
    }
    srd_view v;
    last_entry(st, &v);
    ck_assert_uint_eq(v.len, 4096);
    ck_assert_mem_eq(v.data, buf[2], 4096);
    srd_view_release(&v);
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "key%d", i);
        expect_bytes(st, tu_s(key), buf[i], sizes[i]);
        free(buf[i]);
    }
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_retrieve_entry_by_key */
START_TEST(test_get_returns_put_bytes)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "test_key", "Some payload to read back");
    expect_str(st, "test_key", "Some payload to read back");
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_update_entries_with_varying_lengths */
START_TEST(test_put_replaces_value_with_other_lengths)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "key1", "Short");
    put_str(st, "key2", "Medium length payload");
    put_str(st, "key3", "Unchanged");
    put_str(st, "key1", "Updated with longer data!");
    put_str(st, "key2", "Short");
    expect_str(st, "key1", "Updated with longer data!");
    expect_str(st, "key2", "Short");
    expect_str(st, "key3", "Unchanged");
    ck_assert_uint_eq(count_of(st), 3);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_open_existing_storage */
START_TEST(test_reopen_existing_store_without_create)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "k", "v1");
    ck_srd(srd_close(st));
    st = open_with(g_path, 0, SRD_SYNC_ALWAYS);
    expect_str(st, "k", "v1");
    put_str(st, "k2", "v2");
    expect_str(st, "k2", "v2");
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_open_existing_fails_for_missing_file */
START_TEST(test_open_missing_file_without_create_is_enoent)
{
    ck_assert_int_eq(try_open(g_path, 0), SRD_ENOENT);
    ck_assert_int_eq(try_open(g_path, SRD_OPEN_READONLY), SRD_ENOENT);
    ck_assert_int_eq(tu_file_size(g_path), -1); /* nothing was created */
}
END_TEST

/* reference: test_write_null_byte_fails */
START_TEST(test_put_single_zero_byte_is_einval)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "before", "x1");
    snap s = snap_file(g_path);
    ck_assert_int_eq(srd_put(st, tu_s("k"), bytes("\0", 1)), SRD_EINVAL);
    expect_file_is(g_path, s);
    expect_absent(st, "k");
    ck_assert_uint_eq(count_of(st), 1);
    free(s.b);
    ck_srd(srd_close(st));
}
END_TEST

/* srd: two or more zero bytes are an ordinary value on every write path. */
START_TEST(test_zero_bytes_of_length_two_are_an_ordinary_value)
{
    static const uint8_t z2[2] = {0, 0};
    static const uint8_t z64[64] = {0};
    srd_store *st = open_rw(g_path);
    ck_srd(srd_put(st, tu_s("p"), bytes(z2, 2)));
    srd_val k = tu_s("b"), v = bytes(z64, 64);
    ck_srd(srd_put_batch(st, &k, &v, 1));
    src s = src_of(z2, 2);
    ck_srd(srd_put_stream(st, tu_s("s"), src_read, &s));
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_bytes(st, tu_s("p"), z2, 2);
    expect_bytes(st, tu_s("b"), z64, 64);
    expect_bytes(st, tu_s("s"), z2, 2);
    ck_assert_uint_eq(count_of(st), 3);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_read_with_key_hash */
START_TEST(test_get_hash_reads_value_and_misses_unknown_hash)
{
    srd_store *st = open_rw(g_path);
    const char *key = "test_key_for_hash_read";
    put_str(st, key, "some data");
    uint64_t h = srd_key_hash(key, strlen(key));
    ck_assert_uint_eq(h, XXH3_64bits(key, strlen(key)));
    srd_view v;
    ck_srd(srd_get_hash(st, h, &v));
    ck_assert_uint_eq(v.len, 9);
    ck_assert_mem_eq(v.data, "some data", 9);
    ck_assert_uint_eq(v.key_hash, h);
    srd_view_release(&v);
    ck_assert_int_eq(srd_get_hash(st, h ^ 1, &v), SRD_ENOTFOUND);
    ck_assert_ptr_null(v.data);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_exists_with_key_hash */
START_TEST(test_exists_hash_for_written_and_unknown_key)
{
    ck_assert_uint_eq(srd_key_hash("test_key", 8), 0xe0614cc5ecbeed92ull);
    srd_store *st = open_rw(g_path);
    put_str(st, "test_key", "v");
    bool e = false;
    ck_srd(srd_exists_hash(st, 0xe0614cc5ecbeed92ull, &e));
    ck_assert(e);
    ck_srd(srd_exists_hash(st, 0x1234, &e));
    ck_assert(!e);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_exists_with_key_hash_after_deletion */
START_TEST(test_exists_hash_false_after_delete)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "gone", "soon");
    uint64_t h = srd_key_hash("gone", 4);
    bool e = false;
    ck_srd(srd_exists_hash(st, h, &e));
    ck_assert(e);
    ck_srd(srd_delete(st, tu_s("gone"), NULL));
    ck_srd(srd_exists_hash(st, h, &e));
    ck_assert(!e);
    ck_srd(srd_close(st));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Storage operations (reference: tests/storage_operation_tests.rs)          */
/* ------------------------------------------------------------------------ */

/* reference: test_update_and_delete_entry */
START_TEST(test_deleted_key_has_no_version_in_iteration)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "key1", "Initial Value 1");
    put_str(st, "key2", "Initial Value 2");
    put_str(st, "key1", "Updated Value 1");
    put_str(st, "key2", "Updated Value 2");
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_delete(st, tu_s("key1"), NULL));
    ck_assert_uint_eq(count_of(st), 1);
    expect_absent(st, "key1");
    expect_str(st, "key2", "Updated Value 2");
    srd_iter *it;
    ck_srd(srd_iter_open(st, &it));
    srd_view v;
    int n = 0;
    while (srd_iter_next(it, &v) == SRD_OK) {
        ck_assert_uint_ne(v.key_hash, srd_key_hash("key1", 4));
        ck_assert_uint_eq(v.len, 15);
        ck_assert_mem_eq(v.data, "Updated Value 2", 15);
        srd_view_release(&v);
        n++;
    }
    srd_iter_close(it);
    ck_assert_int_eq(n, 1);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_nested_storage_extraction */
START_TEST(test_store_file_as_value_reopens_as_store)
{
    char *inner = tu_join(g_dir, "inner.srd");
    char *out = tu_join(g_dir, "extracted.srd");
    srd_store *st = open_rw(inner);
    put_str(st, "original_key", "Initial Data");
    put_str(st, "second", "more");
    ck_srd(srd_close(st));
    snap s = snap_file(inner);

    st = open_rw(g_path);
    put_str(st, "extra1", "x");
    ck_srd(srd_put(st, tu_s("nested"), bytes(s.b, s.n)));
    put_str(st, "extra2", "y");
    srd_view v;
    ck_srd(srd_get(st, tu_s("nested"), &v));
    ck_assert_uint_eq(v.len, s.n);
    ck_assert_int_eq(tu_write_file(out, v.data, v.len), 0);
    srd_view_release(&v);
    ck_srd(srd_close(st));

    st = open_ro(out);
    expect_str(st, "original_key", "Initial Data");
    expect_str(st, "second", "more");
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
    free(s.b);
    free(inner);
    free(out);
}
END_TEST

/* srd: values around the index's inline length limit (2^20 - 1) */
START_TEST(test_values_around_one_mib_read_back)
{
    srd_store *st = open_fast(g_path);
    static const size_t sizes[4] = {MIB - 1, MIB, MIB + 1, 3 * MIB + 17};
    uint8_t *data = pattern(4 * MIB, 13);
    char key[16];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "v%d", i);
        ck_srd(srd_put(st, tu_s(key), bytes(data + i, sizes[i])));
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 4; i++) {
            snprintf(key, sizeof key, "v%d", i);
            expect_bytes(st, tu_s(key), data + i, sizes[i]);
            srd_entry_meta m;
            ck_srd(srd_meta(st, tu_s(key), &m));
            ck_assert_uint_eq(m.len, sizes[i]);
            ck_assert(m.checksum_valid);
        }
        ck_srd(srd_close(st));
        st = open_ro(g_path);
    }
    ck_srd(srd_close(st));
    free(data);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Bad arguments                                                             */
/* ------------------------------------------------------------------------ */

START_TEST(test_open_rejects_bad_arguments)
{
    srd_options o;
    srd_options_init(&o);
    ck_assert_uint_eq(o.flags, SRD_OPEN_CREATE);
    ck_assert_int_eq(o.sync, SRD_SYNC_ALWAYS);
    ck_assert_uint_eq(o.sync_interval_ms, 100);
    srd_store *st = NULL;
    ck_assert_int_eq(srd_open(NULL, &o, &st), SRD_EINVAL);
    ck_assert_ptr_nonnull(strstr(srd_open_why(), "path is NULL"));
    ck_assert_int_eq(srd_open(g_path, &o, NULL), SRD_EINVAL);
    ck_assert_ptr_nonnull(strstr(srd_open_why(), "out is NULL"));
    o.flags = SRD_OPEN_CLIENT | SRD_OPEN_READONLY;
    ck_assert_int_eq(srd_open(g_path, &o, &st), SRD_EINVAL);
    ck_assert_ptr_nonnull(strstr(srd_open_why(), "SRD_OPEN_CLIENT"));
    ck_assert_ptr_null(st);
    o.flags = SRD_OPEN_CREATE | 0x100u;
    ck_assert_int_eq(srd_open(g_path, &o, &st), SRD_EINVAL);
    ck_assert_ptr_null(st);
    srd_options_init(&o);
    o.sync = (srd_sync_mode)77;
    ck_assert_int_eq(srd_open(g_path, &o, &st), SRD_EINVAL);
    ck_assert_ptr_null(st);
    ck_assert_int_eq(tu_file_size(g_path), -1); /* nothing created */
    /* NULL options are the defaults (create) */
    ck_srd(srd_open(g_path, NULL, &st));
    ck_srd(srd_close(st));
    ck_assert_int_eq(tu_file_size(g_path), 0);
}
END_TEST

START_TEST(test_calls_on_null_store_are_einval)
{
    srd_view v;
    bool b;
    uint64_t u;
    srd_info info;
    srd_entry_meta m;
    srd_verify_report r;
    srd_iter *it;
    srd_stream *s;
    srd_read_stream *rs;
    char buf[8];
    size_t n;
    srd_val k = tu_s("k"), val = tu_s("v");
    u = 0;
    ck_assert_int_eq(srd_put(NULL, k, val), SRD_EINVAL);
    ck_assert_int_eq(srd_put_batch(NULL, &k, &val, 1), SRD_EINVAL);
    ck_assert_int_eq(srd_delete(NULL, k, &b), SRD_EINVAL);
    ck_assert_int_eq(srd_delete_batch(NULL, &k, 1, &n), SRD_EINVAL);
    src sr = src_of("ab", 2);
    ck_assert_int_eq(srd_put_stream(NULL, k, src_read, &sr), SRD_EINVAL);
    ck_assert_int_eq(sr.calls, 0); /* a failed call never calls back */
    ck_assert_int_eq(srd_stream_begin(NULL, k, &s), SRD_EINVAL);
    ck_assert_int_eq(srd_get(NULL, k, &v), SRD_EINVAL);
    ck_assert_int_eq(srd_get_hash(NULL, 1, &v), SRD_EINVAL);
    ck_assert_int_eq(srd_get_copy(NULL, k, buf, sizeof buf, &n), SRD_EINVAL);
    ck_assert_int_eq(srd_get_many(NULL, &k, 1, &v, &n), SRD_EINVAL);
    ck_assert_int_eq(srd_get_many_hash(NULL, &u, 1, &v, &n), SRD_EINVAL);
    ck_assert_int_eq(srd_exists(NULL, k, &b), SRD_EINVAL);
    ck_assert_int_eq(srd_exists_hash(NULL, 1, &b), SRD_EINVAL);
    ck_assert_int_eq(srd_meta(NULL, k, &m), SRD_EINVAL);
    ck_assert_int_eq(srd_read_stream_open(NULL, k, &rs), SRD_EINVAL);
    ck_assert_int_eq(srd_iter_open(NULL, &it), SRD_EINVAL);
    ck_assert_int_eq(srd_get_info(NULL, &info), SRD_EINVAL);
    ck_assert_int_eq(srd_count(NULL, &u), SRD_EINVAL);
    ck_assert_int_eq(srd_tail(NULL, &u), SRD_EINVAL);
    ck_assert_int_eq(srd_refresh(NULL, &u), SRD_EINVAL);
    ck_assert_int_eq(srd_verify(NULL, &r, NULL, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_sync(NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_compact(NULL, &u), SRD_EINVAL);
}
END_TEST

START_TEST(test_null_out_pointers_are_einval)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "k", "v1");
    srd_val k = tu_s("k");
    char buf[8];
    ck_assert_int_eq(srd_get(st, k, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_get_hash(st, 1, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_exists(st, k, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_exists_hash(st, 1, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_meta(st, k, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_get_copy(st, k, buf, sizeof buf, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_get_many(st, &k, 1, NULL, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_get_many(st, NULL, 1, NULL, NULL), SRD_EINVAL);
    uint64_t h = 1;
    ck_assert_int_eq(srd_get_many_hash(st, &h, 1, NULL, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_iter_open(st, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_stream_begin(st, k, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_read_stream_open(st, k, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_get_info(st, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_count(st, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_tail(st, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_put_stream(st, k, NULL, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_get_copy(st, k, NULL, 4, &h), SRD_EINVAL);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_key_or_value_pointer_null_with_length_is_einval)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "k", "v1");
    snap s = snap_file(g_path);
    srd_val badk = {NULL, 5}, badv = {NULL, 5}, k = tu_s("k");
    srd_val v = tu_s("value");
    srd_view view;
    bool b;
    srd_entry_meta m;
    ck_assert_int_eq(srd_put(st, badk, v), SRD_EINVAL);
    ck_assert_int_eq(srd_put(st, k, badv), SRD_EINVAL);
    ck_assert_int_eq(srd_get(st, badk, &view), SRD_EINVAL);
    ck_assert_int_eq(srd_exists(st, badk, &b), SRD_EINVAL);
    ck_assert_int_eq(srd_delete(st, badk, &b), SRD_EINVAL);
    ck_assert_int_eq(srd_meta(st, badk, &m), SRD_EINVAL);
    srd_val ks[2] = {tu_s("ok"), badk}, vs[2] = {v, v};
    ck_assert_int_eq(srd_put_batch(st, ks, vs, 2), SRD_EINVAL);
    srd_val ks2[2] = {tu_s("ok"), tu_s("ok2")}, vs2[2] = {v, badv};
    ck_assert_int_eq(srd_put_batch(st, ks2, vs2, 2), SRD_EINVAL);
    ck_assert_int_eq(srd_delete_batch(st, ks, 2, NULL), SRD_EINVAL);
    expect_file_is(g_path, s);
    expect_str(st, "k", "v1");
    expect_absent(st, "ok");
    free(s.b);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_empty_and_single_zero_values_are_einval)
{
    srd_store *st = open_rw(g_path);
    ck_assert_int_eq(srd_put(st, tu_s("k"), bytes("", 0)), SRD_EINVAL);
    ck_assert_int_eq(srd_put(st, tu_s("k"), bytes(NULL, 0)), SRD_EINVAL);
    ck_assert_int_eq(srd_put(st, tu_s("k"), bytes("\0", 1)), SRD_EINVAL);
    ck_assert_int_eq(tu_file_size(g_path), 0);
    ck_assert_uint_eq(count_of(st), 0);
    /* one non-zero byte is fine */
    ck_srd(srd_put(st, tu_s("k"), bytes("\x01", 1)));
    expect_bytes(st, tu_s("k"), "\x01", 1);
    ck_srd(srd_close(st));
}
END_TEST

/* golden mixed.bin: the empty key is an ordinary key */
START_TEST(test_zero_length_key_is_legal)
{
    ck_assert_uint_eq(srd_key_hash("", 0), 0x2d06800538d394c2ull);
    ck_assert_uint_eq(srd_key_hash(NULL, 0), 0x2d06800538d394c2ull);
    srd_store *st = open_rw(g_path);
    srd_val nullkey = {NULL, 0}, emptykey = {"", 0};
    ck_srd(srd_put(st, nullkey, tu_s("empty-key")));
    expect_bytes(st, emptykey, "empty-key", 9);
    expect_bytes(st, nullkey, "empty-key", 9);
    ck_assert_uint_eq(count_of(st), 1);
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_bytes(st, emptykey, "empty-key", 9);
    bool existed = false;
    ck_srd(srd_delete(st, emptykey, &existed));
    ck_assert(existed);
    expect_absent_(st, nullkey, __LINE__);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_huge_n_with_null_arrays_is_einval)
{
    srd_store *st = open_rw(g_path);
    srd_view v;
    ck_assert_int_eq(srd_put_batch(st, NULL, NULL, SIZE_MAX), SRD_EINVAL);
    ck_assert_int_eq(srd_put_batch(st, NULL, NULL, SIZE_MAX / 16 + 1),
                     SRD_EINVAL);
    srd_val k = tu_s("k");
    ck_assert_int_eq(srd_put_batch(st, &k, NULL, SIZE_MAX), SRD_EINVAL);
    ck_assert_int_eq(srd_get_many(st, NULL, SIZE_MAX, NULL, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_get_many(st, NULL, SIZE_MAX, &v, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_get_many_hash(st, NULL, SIZE_MAX, NULL, NULL),
                     SRD_EINVAL);
    ck_assert_int_eq(srd_delete_batch(st, NULL, SIZE_MAX, NULL), SRD_EINVAL);
    ck_assert_int_eq(tu_file_size(g_path), 0);
    ck_assert_uint_eq(count_of(st), 0);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_writes_on_readonly_handle_are_ereadonly)
{
    srd_store *w = open_rw(g_path);
    put_str(w, "k", "v");
    ck_srd(srd_close(w));
    snap s = snap_file(g_path);
    srd_store *st = open_ro(g_path);
    srd_val k = tu_s("k"), v = tu_s("new");
    bool b;
    size_t n;
    srd_stream *ps = NULL;
    ck_assert_int_eq(srd_put(st, k, v), SRD_EREADONLY);
    ck_assert_int_eq(srd_put_batch(st, &k, &v, 1), SRD_EREADONLY);
    ck_assert_int_eq(srd_delete(st, k, &b), SRD_EREADONLY);
    ck_assert_int_eq(srd_delete_batch(st, &k, 1, &n), SRD_EREADONLY);
    src sr = src_of("abc", 3);
    ck_assert_int_eq(srd_put_stream(st, k, src_read, &sr), SRD_EREADONLY);
    ck_assert_int_eq(sr.calls, 0);
    ck_assert_int_eq(srd_stream_begin(st, k, &ps), SRD_EREADONLY);
    ck_assert_int_eq(srd_compact(st, NULL), SRD_EREADONLY);
    expect_str(st, "k", "v");
    ck_srd(srd_close(st));
    expect_file_is(g_path, s);
    free(s.b);
}
END_TEST

START_TEST(test_close_null_does_nothing)
{
    ck_assert_int_eq(srd_close(NULL), SRD_OK);
    srd_view_release(NULL);
    srd_iter_close(NULL);
    srd_read_stream_close(NULL);
    srd_stream_abort(NULL);
}
END_TEST

START_TEST(test_path_is_the_one_opened)
{
    srd_store *st = open_rw(g_path);
    ck_assert_str_eq(srd_path(st), g_path);
    ck_srd(srd_close(st));
}
END_TEST

static Suite *store_rw_suite(void)
{
    Suite *s = suite_create("store_rw");
    TCase *tc = store_tcase(s, "basic");
    tcase_add_test(tc, test_new_store_is_empty_until_first_put);
    tcase_add_test(tc, test_exists_follows_put_and_delete);
    tcase_add_test(tc, test_put_becomes_last_entry);
    tcase_add_test(tc, test_last_of_three_puts_is_last_entry);
    tcase_add_test(tc, test_values_of_varying_sizes_read_back);
    tcase_add_test(tc, test_get_returns_put_bytes);
    tcase_add_test(tc, test_put_replaces_value_with_other_lengths);
    tcase_add_test(tc, test_reopen_existing_store_without_create);
    tcase_add_test(tc, test_open_missing_file_without_create_is_enoent);
    tcase_add_test(tc, test_put_single_zero_byte_is_einval);
    tcase_add_test(tc, test_zero_bytes_of_length_two_are_an_ordinary_value);
    tcase_add_test(tc, test_get_hash_reads_value_and_misses_unknown_hash);
    tcase_add_test(tc, test_exists_hash_for_written_and_unknown_key);
    tcase_add_test(tc, test_exists_hash_false_after_delete);
    tcase_add_test(tc, test_values_around_one_mib_read_back);

    tc = store_tcase(s, "storage");
    tcase_add_test(tc, test_deleted_key_has_no_version_in_iteration);
    tcase_add_test(tc, test_store_file_as_value_reopens_as_store);

    tc = store_tcase(s, "arguments");
    tcase_add_test(tc, test_open_rejects_bad_arguments);
    tcase_add_test(tc, test_calls_on_null_store_are_einval);
    tcase_add_test(tc, test_null_out_pointers_are_einval);
    tcase_add_test(tc, test_key_or_value_pointer_null_with_length_is_einval);
    tcase_add_test(tc, test_empty_and_single_zero_values_are_einval);
    tcase_add_test(tc, test_zero_length_key_is_legal);
    tcase_add_test(tc, test_huge_n_with_null_arrays_is_einval);
    tcase_add_test(tc, test_writes_on_readonly_handle_are_ereadonly);
    tcase_add_test(tc, test_close_null_does_nothing);
    tcase_add_test(tc, test_path_is_the_one_opened);
    return s;
}

int main(void)
{
    return tu_main(store_rw_suite());
}
