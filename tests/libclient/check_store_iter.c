/* SPDX-License-Identifier: MIT */
/*
 * check_store_iter.c -- the public store API (srd.h) in embedded mode:
 * iteration, counts and srd_get_info.
 * Split from check_store.c; the reference test ported is named above
 * each port (shared/REFERENCE-TESTS.md). Fixture: store_fixture.h.
 */
#define _GNU_SOURCE 1
#include <stdlib.h>
#include <string.h>

#include "store_fixture.h"

/* ------------------------------------------------------------------------ */
/* Iteration (reference: tests/parallel_iterator_tests.rs, sequentially)     */
/* ------------------------------------------------------------------------ */

/* reference: par_iter set equals iter set; a deleted key is excluded; only
 * the latest version appears; updated-then-deleted appears in neither */
START_TEST(test_iter_yields_each_live_key_once_in_file_order)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "a", "a1");
    put_str(st, "b", "b1");
    put_str(st, "c", "c1");
    put_str(st, "a", "a2");
    put_str(st, "d", "d1");
    ck_srd(srd_delete(st, tu_s("b"), NULL));
    put_str(st, "f", "f1");
    put_str(st, "e", "e1");
    put_str(st, "f", "f2");
    ck_srd(srd_delete(st, tu_s("f"), NULL));
    put_str(st, "c", "c2");
    /* live entries in file order: a2, d1, e1, c2 */
    const char *keys[4] = {"a", "d", "e", "c"};
    const char *vals[4] = {"a2", "d1", "e1", "c2"};
    for (int pass = 0; pass < 2; pass++) {
        srd_iter *it;
        ck_srd(srd_iter_open(st, &it));
        srd_view v;
        uint64_t last = 0;
        for (int i = 0; i < 4; i++) {
            ck_srd(srd_iter_next(it, &v));
            ck_assert_uint_eq(v.key_hash, srd_key_hash(keys[i], 1));
            ck_assert_uint_eq(v.len, 2);
            ck_assert_mem_eq(v.data, vals[i], 2);
            if (i)
                ck_assert_uint_gt(v.offset, last);
            last = v.offset;
            srd_view_release(&v);
        }
        ck_assert_int_eq(srd_iter_next(it, &v), SRD_ENOTFOUND);
        ck_assert_ptr_null(v.data);
        ck_assert_int_eq(srd_iter_next(it, &v), SRD_ENOTFOUND);
        srd_iter_close(it);
        ck_srd(srd_close(st));
        st = open_ro(g_path); /* same after reopen (rebuilt index) */
    }
    ck_srd(srd_close(st));
}
END_TEST

/* reference: an empty store gives 0 */
START_TEST(test_iter_on_empty_store_yields_nothing)
{
    srd_store *st = open_rw(g_path);
    srd_iter *it;
    srd_view v;
    ck_srd(srd_iter_open(st, &it));
    ck_assert_int_eq(srd_iter_next(it, &v), SRD_ENOTFOUND);
    srd_iter_close(it);
    put_str(st, "k", "v");
    ck_srd(srd_delete(st, tu_s("k"), NULL));
    ck_srd(srd_iter_open(st, &it));
    ck_assert_int_eq(srd_iter_next(it, &v), SRD_ENOTFOUND);
    srd_iter_close(it);
    ck_srd(srd_close(st));
}
END_TEST

/* srd: the iterator works on the snapshot taken when it was opened */
START_TEST(test_iter_ignores_keys_added_after_open)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "one", "1");
    srd_iter *it;
    ck_srd(srd_iter_open(st, &it));
    put_str(st, "two", "2");
    srd_view v;
    ck_srd(srd_iter_next(it, &v));
    ck_assert_uint_eq(v.key_hash, srd_key_hash("one", 3));
    srd_view_release(&v);
    ck_assert_int_eq(srd_iter_next(it, &v), SRD_ENOTFOUND);
    srd_iter_close(it);
    ck_srd(srd_close(st));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Counts (reference: python-ws-client count semantics; golden README)       */
/* ------------------------------------------------------------------------ */

START_TEST(test_update_does_not_change_count)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "k", "v1");
    put_str(st, "j", "w");
    ck_assert_uint_eq(count_of(st), 2);
    put_str(st, "k", "v2");
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_deleting_deleted_key_changes_nothing)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "k", "v");
    put_str(st, "j", "w");
    bool existed = false;
    ck_srd(srd_delete(st, tu_s("k"), &existed));
    ck_assert(existed);
    ck_assert_uint_eq(count_of(st), 1);
    snap s = snap_file(g_path);
    ck_srd(srd_delete(st, tu_s("k"), &existed));
    ck_assert(!existed);
    ck_assert_uint_eq(count_of(st), 1);
    expect_file_is(g_path, s);
    free(s.b);
    ck_srd(srd_close(st));
}
END_TEST

/* golden small.bin: delete("nope") writes nothing */
START_TEST(test_deleting_missing_key_writes_nothing)
{
    srd_store *st = open_rw(g_path);
    bool existed = true;
    ck_srd(srd_delete(st, tu_s("nope"), &existed));
    ck_assert(!existed);
    ck_assert_int_eq(tu_file_size(g_path), 0);
    put_str(st, "k", "v");
    snap s = snap_file(g_path);
    uint64_t t = tail_of(st);
    ck_srd(srd_delete(st, tu_s("nope"), NULL));
    expect_file_is(g_path, s);
    ck_assert_uint_eq(tail_of(st), t);
    ck_assert_uint_eq(info_of(st).entries, 1);
    free(s.b);
    ck_srd(srd_close(st));
}
END_TEST

/* golden README: the reference counts deleted keys as live after a reopen;
 * srd must not */
START_TEST(test_count_excludes_deleted_keys_after_reopen)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "alpha", "one");
    put_str(st, "beta", "two");
    put_str(st, "gamma", "three");
    put_str(st, "alpha", "uno");
    ck_srd(srd_delete(st, tu_s("beta"), NULL));
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
    st = open_ro(g_path);
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Info and srd_get_copy                                                     */
/* ------------------------------------------------------------------------ */

/* Read st's info into i and check its counts, tail and file size (the
 * same: nothing past the tail here). A macro, so that a failure names the
 * test's line and figures. */
#define CK_INFO(i, st, keys, ents, tl, live)                                   \
    do {                                                                       \
        (i) = info_of(st);                                                     \
        ck_assert_uint_eq((i).live_keys, keys);                                \
        ck_assert_uint_eq((i).entries, ents);                                  \
        ck_assert_uint_eq((i).tail, tl);                                       \
        ck_assert_uint_eq((i).file_size, tl);                                  \
        ck_assert_uint_eq((i).live_bytes, live);                               \
    } while (0)

START_TEST(test_info_fields_follow_writes_deletes_and_compaction)
{
    srd_store *st = open_rw(g_path);
    srd_info i;
    CK_INFO(i, st, 0, 0, 0, 0);
    ck_assert_uint_eq(i.dead_bytes, 0);
    ck_assert(!i.readonly);

    uint8_t hundred[100];
    fill_pattern(hundred, sizeof hundred, 4);
    put_str(st, "a", "abc");                                     /* 0..23 */
    ck_srd(srd_put(st, tu_s("b"), bytes(hundred, 100)));        /* 64..184 */
    CK_INFO(i, st, 2, 2, 184, 103);
    ck_assert_uint_eq(i.dead_bytes, 0);
    ck_assert_uint_gt(i.index_bytes, 0);

    ck_srd(srd_delete(st, tu_s("a"), NULL));                     /* ..205 */
    CK_INFO(i, st, 1, 3, 205, 100);
    /* compaction would keep b alone at offset 0 (100 + 20 bytes), so the
     * exact figure is 205 - 120 = 85; srd counts live entries with the pad
     * they have now (41 bytes for b), so it may report as little as the
     * dead entries themselves: 23 + 21 = 44 (see the report) */
    ck_assert_uint_ge(i.dead_bytes, 44);
    ck_assert_uint_le(i.dead_bytes, 85);

    uint64_t reclaimed = 0;
    ck_srd(srd_compact(st, &reclaimed));
    ck_assert_uint_eq(reclaimed, 85);
    CK_INFO(i, st, 1, 1, 120, 100);
    ck_assert_uint_eq(i.dead_bytes, 0);
    ck_srd(srd_close(st));

    st = open_ro(g_path);
    i = info_of(st);
    ck_assert(i.readonly);
    ck_assert_uint_eq(i.live_keys, 1);
    ck_assert_uint_eq(i.entries, 1);
    ck_assert_uint_eq(i.tail, 120);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_get_copy_reports_length_when_buffer_too_small)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "k", "hello world");
    char buf[32];
    memset(buf, 0xEE, sizeof buf);
    size_t n = 0;
    ck_assert_int_eq(srd_get_copy(st, tu_s("k"), buf, 4, &n), SRD_ETOOBIG);
    ck_assert_uint_eq(n, 11);
    for (size_t i = 0; i < sizeof buf; i++)
        ck_assert_uint_eq((uint8_t)buf[i], 0xEE); /* untouched */
    ck_srd(srd_get_copy(st, tu_s("k"), buf, 11, &n));
    ck_assert_uint_eq(n, 11);
    ck_assert_mem_eq(buf, "hello world", 11);
    ck_assert_uint_eq((uint8_t)buf[11], 0xEE);
    ck_assert_int_eq(srd_get_copy(st, tu_s("missing"), buf, sizeof buf, &n),
                     SRD_ENOTFOUND);
    ck_srd(srd_close(st));
}
END_TEST

static Suite *store_iter_suite(void)
{
    Suite *s = suite_create("store_iter");
    TCase *tc = store_tcase(s, "iteration");
    tcase_add_test(tc, test_iter_yields_each_live_key_once_in_file_order);
    tcase_add_test(tc, test_iter_on_empty_store_yields_nothing);
    tcase_add_test(tc, test_iter_ignores_keys_added_after_open);

    tc = store_tcase(s, "counts");
    tcase_add_test(tc, test_update_does_not_change_count);
    tcase_add_test(tc, test_deleting_deleted_key_changes_nothing);
    tcase_add_test(tc, test_deleting_missing_key_writes_nothing);
    tcase_add_test(tc, test_count_excludes_deleted_keys_after_reopen);
    tcase_add_test(tc, test_info_fields_follow_writes_deletes_and_compaction);
    tcase_add_test(tc, test_get_copy_reports_length_when_buffer_too_small);
    return s;
}

int main(void)
{
    return tu_main(store_iter_suite());
}
