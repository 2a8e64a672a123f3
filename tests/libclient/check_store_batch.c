/* SPDX-License-Identifier: MIT */
/*
 * check_store_batch.c -- the public store API (srd.h) in embedded mode:
 * batch writes, get_many and batch deletes.
 * Split from check_store.c; the reference test ported is named above
 * each port (shared/REFERENCE-TESTS.md). Fixture: store_fixture.h.
 */
#define _GNU_SOURCE 1
#include <stdlib.h>
#include <string.h>

#include "store_fixture.h"

/* ------------------------------------------------------------------------ */
/* Batches (reference: tests/batch_ops_tests.rs)                             */
/* ------------------------------------------------------------------------ */

/* reference: test_batch_write_and_individual_reads */
START_TEST(test_batch_put_then_single_gets)
{
    srd_store *st = open_rw(g_path);
    srd_val k[3] = {tu_s("alpha"), tu_s("beta"), tu_s("gamma")};
    srd_val v[3] = {tu_s("one"), tu_s("two"), tu_s("three")};
    ck_srd(srd_put_batch(st, k, v, 3));
    expect_str(st, "alpha", "one");
    expect_str(st, "beta", "two");
    expect_str(st, "gamma", "three");
    ck_assert_uint_eq(count_of(st), 3);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_batch_write_and_batch_read (batch_read -> srd_get_many) */
START_TEST(test_batch_put_then_get_many_in_order)
{
    srd_store *st = open_rw(g_path);
    srd_val k[4] = {tu_s("a"), tu_s("b"), tu_s("c"), tu_s("d")};
    srd_val v[4] = {tu_s("AAA"), tu_s("BBB"), tu_s("CCC"), tu_s("DDD")};
    ck_srd(srd_put_batch(st, k, v, 4));
    srd_view views[4];
    size_t found = 0;
    ck_srd(srd_get_many(st, k, 4, views, &found));
    ck_assert_uint_eq(found, 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_uint_eq(views[i].len, 3);
        ck_assert_mem_eq(views[i].data, v[i].ptr, 3);
        ck_assert_uint_eq(views[i].key_hash, srd_key_hash(k[i].ptr, 1));
        srd_view_release(&views[i]);
    }
    ck_srd(srd_close(st));
}
END_TEST

/* Checks a rejected batch left no trace: file bytes and count unchanged. */
static void expect_batch_rejected(const srd_val *k, const srd_val *v, size_t n)
{
    srd_store *st = open_rw(g_path);
    ck_assert_int_eq(srd_put_batch(st, k, v, n), SRD_EINVAL);
    ck_assert_uint_eq(count_of(st), 0);
    ck_assert_uint_eq(tail_of(st), 0);
    ck_assert_int_eq(tu_file_size(g_path), 0);
    for (size_t i = 0; i < n; i++)
        expect_absent_(st, k[i], __LINE__);
    /* also on a non-empty store: byte-identical afterwards */
    put_str(st, "existing", "value");
    snap s = snap_file(g_path);
    ck_assert_int_eq(srd_put_batch(st, k, v, n), SRD_EINVAL);
    expect_file_is(g_path, s);
    ck_assert_uint_eq(count_of(st), 1);
    free(s.b);
    ck_srd(srd_close(st));
}

/* reference: test_batch_write_rejects_null_byte_payload */
START_TEST(test_batch_with_single_zero_byte_value_is_einval)
{
    srd_val k[2] = {tu_s("good_key"), tu_s("bad_key")};
    srd_val v[2] = {tu_s("OK"), bytes("\0", 1)};
    expect_batch_rejected(k, v, 2);
}
END_TEST

/* reference: test_batch_write_rejects_empty_payload */
START_TEST(test_batch_with_empty_value_is_einval)
{
    srd_val k[1] = {tu_s("empty")};
    srd_val v[1] = {bytes("", 0)};
    expect_batch_rejected(k, v, 1);
}
END_TEST

/* reference: test_batch_write_rejects_empty_payload_among_many */
START_TEST(test_batch_with_empty_value_among_many_writes_nothing)
{
    srd_val k[3] = {tu_s("k1"), tu_s("bad"), tu_s("k2")};
    srd_val v[3] = {tu_s("v1"), bytes("", 0), tu_s("v2")};
    expect_batch_rejected(k, v, 3);
}
END_TEST

/* reference: test_batch_read_with_missing_key */
START_TEST(test_get_many_zeroes_view_of_missing_key)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "exists_1", "one");
    put_str(st, "exists_2", "two");
    srd_val k[3] = {tu_s("exists_1"), tu_s("missing_key"), tu_s("exists_2")};
    srd_view views[3];
    memset(views, 0xA5, sizeof views);
    size_t found = 0;
    ck_srd(srd_get_many(st, k, 3, views, &found));
    ck_assert_uint_eq(found, 2);
    ck_assert_uint_eq(views[0].len, 3);
    ck_assert_mem_eq(views[0].data, "one", 3);
    ck_assert_ptr_null(views[1].data);
    ck_assert_uint_eq(views[1].len, 0);
    ck_assert_uint_eq(views[2].len, 3);
    ck_assert_mem_eq(views[2].data, "two", 3);
    srd_view_release(&views[0]);
    srd_view_release(&views[1]); /* releasing a zeroed view is harmless */
    srd_view_release(&views[2]);
    /* found may be NULL */
    ck_srd(srd_get_many(st, k, 3, views, NULL));
    for (int i = 0; i < 3; i++)
        srd_view_release(&views[i]);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_batch_write_rejects_null_byte_among_many */
START_TEST(test_batch_with_zero_byte_among_many_writes_nothing)
{
    srd_val k[3] = {tu_s("k1"), tu_s("bad"), tu_s("k2")};
    srd_val v[3] = {tu_s("v1"), bytes("\0", 1), tu_s("v2")};
    expect_batch_rejected(k, v, 3);
}
END_TEST

/* reference: test_batch_read_hashed_keys_with_verification and
 * test_batch_read_hashed_keys_without_verification. srd stores no keys, so
 * there is nothing to verify a hash against: both are srd_get_many_hash. */
START_TEST(test_get_many_hash_returns_values)
{
    srd_store *st = open_rw(g_path);
    srd_val k[3] = {tu_s("alpha"), tu_s("beta"), tu_s("gamma")};
    srd_val v[3] = {tu_s("one"), tu_s("two"), tu_s("three")};
    ck_srd(srd_put_batch(st, k, v, 3));
    uint64_t h[3];
    for (int i = 0; i < 3; i++)
        h[i] = srd_key_hash(k[i].ptr, k[i].len);
    srd_view views[3];
    size_t found = 0;
    ck_srd(srd_get_many_hash(st, h, 3, views, &found));
    ck_assert_uint_eq(found, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(views[i].len, v[i].len);
        ck_assert_mem_eq(views[i].data, v[i].ptr, v[i].len);
        ck_assert_uint_eq(views[i].key_hash, h[i]);
        srd_view_release(&views[i]);
    }
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_batch_read_hashed_keys_with_missing_keys */
START_TEST(test_get_many_hash_zeroes_view_of_unknown_hash)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "exists", "here");
    uint64_t h[2] = {srd_key_hash("exists", 6), 12345};
    srd_view views[2];
    size_t found = 99;
    ck_srd(srd_get_many_hash(st, h, 2, views, &found));
    ck_assert_uint_eq(found, 1);
    ck_assert_uint_eq(views[0].len, 4);
    ck_assert_mem_eq(views[0].data, "here", 4);
    ck_assert_ptr_null(views[1].data);
    srd_view_release(&views[0]);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_batch_read_hashed_keys_detects_collision. srd keeps no
 * keys, so it cannot tell two keys with one hash apart (a documented limit);
 * what it can promise is that another key's hash does not find the value. */
START_TEST(test_other_keys_hash_does_not_find_value)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "real_key", "real value");
    uint64_t fake = srd_key_hash("fake_key", 8);
    ck_assert_uint_ne(fake, srd_key_hash("real_key", 8));
    srd_view views[1];
    size_t found = 99;
    ck_srd(srd_get_many_hash(st, &fake, 1, views, &found));
    ck_assert_uint_eq(found, 0);
    ck_assert_ptr_null(views[0].data);
    expect_absent(st, "fake_key");
    expect_str(st, "real_key", "real value");
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_batch_delete */
START_TEST(test_delete_batch_removes_listed_keys)
{
    srd_store *st = open_rw(g_path);
    srd_val k[4] = {tu_s("alpha"), tu_s("beta"), tu_s("gamma"),
                    tu_s("delta")};
    srd_val v[4] = {tu_s("1"), tu_s("2"), tu_s("3"), tu_s("4")};
    ck_srd(srd_put_batch(st, k, v, 4));
    ck_assert_uint_eq(count_of(st), 4);
    srd_val del[2] = {tu_s("beta"), tu_s("delta")};
    size_t deleted = 99;
    ck_srd(srd_delete_batch(st, del, 2, &deleted));
    ck_assert_uint_eq(deleted, 2);
    ck_assert_uint_eq(count_of(st), 2);
    expect_absent(st, "beta");
    expect_absent(st, "delta");
    expect_str(st, "alpha", "1");
    expect_str(st, "gamma", "3");
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    ck_assert_uint_eq(count_of(st), 2);
    expect_absent(st, "beta");
    expect_absent(st, "delta");
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_batch_delete_with_missing_keys */
START_TEST(test_delete_batch_skips_missing_keys)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "key1", "v");
    srd_val del[2] = {tu_s("key1"), tu_s("non_existent_key")};
    size_t deleted = 99;
    ck_srd(srd_delete_batch(st, del, 2, &deleted));
    ck_assert_uint_eq(deleted, 1);
    ck_assert_uint_eq(count_of(st), 0);
    /* a batch of only missing keys writes nothing */
    snap s = snap_file(g_path);
    ck_srd(srd_delete_batch(st, del, 2, &deleted));
    ck_assert_uint_eq(deleted, 0);
    expect_file_is(g_path, s);
    free(s.b);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_batch_delete_key_hashes. srd has no delete by hash (see
 * the report); the same behaviour through keys: one present key and one
 * that was never written leave an empty store. */
START_TEST(test_delete_batch_of_present_and_unknown_key_empties_store)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "real", "data");
    srd_val del[2] = {tu_s("real"), tu_s("1234567890")};
    ck_srd(srd_delete_batch(st, del, 2, NULL));
    ck_assert_uint_eq(count_of(st), 0);
    expect_absent(st, "real");
    ck_srd(srd_close(st));
}
END_TEST

/* srd: "later pairs win over earlier ones with the same key" */
START_TEST(test_batch_later_pair_wins_for_same_key)
{
    srd_store *st = open_rw(g_path);
    srd_val k[3] = {tu_s("dup"), tu_s("other"), tu_s("dup")};
    srd_val v[3] = {tu_s("first"), tu_s("x"), tu_s("second")};
    ck_srd(srd_put_batch(st, k, v, 3));
    expect_str(st, "dup", "second");
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_str(st, "dup", "second");
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
}
END_TEST

static Suite *store_batch_suite(void)
{
    Suite *s = suite_create("store_batch");
    TCase *tc = store_tcase(s, "batch");
    tcase_add_test(tc, test_batch_put_then_single_gets);
    tcase_add_test(tc, test_batch_put_then_get_many_in_order);
    tcase_add_test(tc, test_batch_with_single_zero_byte_value_is_einval);
    tcase_add_test(tc, test_batch_with_empty_value_is_einval);
    tcase_add_test(tc, test_batch_with_empty_value_among_many_writes_nothing);
    tcase_add_test(tc, test_get_many_zeroes_view_of_missing_key);
    tcase_add_test(tc, test_batch_with_zero_byte_among_many_writes_nothing);
    tcase_add_test(tc, test_get_many_hash_returns_values);
    tcase_add_test(tc, test_get_many_hash_zeroes_view_of_unknown_hash);
    tcase_add_test(tc, test_other_keys_hash_does_not_find_value);
    tcase_add_test(tc, test_delete_batch_removes_listed_keys);
    tcase_add_test(tc, test_delete_batch_skips_missing_keys);
    tcase_add_test(tc,
                   test_delete_batch_of_present_and_unknown_key_empties_store);
    tcase_add_test(tc, test_batch_later_pair_wins_for_same_key);
    return s;
}

int main(void)
{
    return tu_main(store_batch_suite());
}
