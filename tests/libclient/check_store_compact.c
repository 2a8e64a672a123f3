/* SPDX-License-Identifier: MIT */
/*
 * check_store_compact.c -- the public store API (srd.h) in embedded mode:
 * offline and online compaction.
 * Split from check_store.c; the reference test ported is named above
 * each port (shared/REFERENCE-TESTS.md). Fixture: store_fixture.h.
 */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_fixture.h"

/* ------------------------------------------------------------------------ */
/* Compaction (reference: tests/compaction_tests.rs)                         */
/* ------------------------------------------------------------------------ */

/* reference: test_compact_storage_with_mixed_types */
START_TEST(test_compact_shrinks_file_and_keeps_latest_values)
{
    srd_store *st = open_rw(g_path);
    uint64_t u = 0x0102030405060708ull;
    double f = 3.141592653589793;
    struct { uint32_t id; char name[12]; } rec = {7, "record-one"};
    uint8_t bin[300];
    fill_pattern(bin, sizeof bin, 11);
    put_str(st, "text_key", "some text");
    ck_srd(srd_put(st, tu_s("binary_key"), bytes(bin, sizeof bin)));
    ck_srd(srd_put(st, tu_s("struct_key"), bytes(&rec, sizeof rec)));
    ck_srd(srd_put(st, tu_s("u64_key"), bytes(&u, sizeof u)));
    ck_srd(srd_put(st, tu_s("f64_key"), bytes(&f, sizeof f)));
    put_str(st, "mixed_key", "mixed\x01\x02 bytes");
    put_str(st, "temp_key", "temporary");
    /* overwrite each with another type and size */
    uint64_t u2 = 42;
    double f2 = -0.5;
    uint8_t bin2[64];
    fill_pattern(bin2, sizeof bin2, 12);
    ck_srd(srd_put(st, tu_s("text_key"), bytes(&u2, sizeof u2)));
    put_str(st, "binary_key", "now text");
    ck_srd(srd_put(st, tu_s("struct_key"), bytes(bin2, sizeof bin2)));
    ck_srd(srd_put(st, tu_s("u64_key"), bytes(&f2, sizeof f2)));
    ck_srd(srd_put(st, tu_s("f64_key"), bytes(&rec, sizeof rec)));
    put_str(st, "mixed_key", "replaced");
    put_str(st, "temp_key", "temporary 2");
    bool existed = false;
    ck_srd(srd_delete(st, tu_s("temp_key"), &existed));
    ck_assert(existed);

    long long before = tu_file_size(g_path);
    uint64_t reclaimed = 0;
    ck_srd(srd_compact(st, &reclaimed));
    long long after = tu_file_size(g_path);
    ck_assert_int_lt(after, before);
    ck_assert_uint_eq(reclaimed, (uint64_t)(before - after));
    ck_assert_uint_eq(tail_of(st), (uint64_t)after);
    ck_assert_uint_eq(count_of(st), 6);

    for (int pass = 0; pass < 2; pass++) {
        expect_bytes(st, tu_s("text_key"), &u2, sizeof u2);
        expect_str(st, "binary_key", "now text");
        expect_bytes(st, tu_s("struct_key"), bin2, sizeof bin2);
        expect_bytes(st, tu_s("u64_key"), &f2, sizeof f2);
        expect_bytes(st, tu_s("f64_key"), &rec, sizeof rec);
        expect_str(st, "mixed_key", "replaced");
        expect_absent(st, "temp_key");
        ck_srd(srd_close(st));
        st = open_rw(g_path);
    }
    ck_assert_uint_eq(count_of(st), 6);
    srd_verify_report r;
    ck_srd(srd_verify(st, &r, NULL, NULL));
    ck_assert_uint_eq(r.entries, 6);
    ck_srd(srd_close(st));
}
END_TEST

/* srd: compaction keeps live entries in file order (oldest first); the
 * reference writes them newest first */
START_TEST(test_compact_keeps_live_entries_in_file_order)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "a", "a-old");
    put_str(st, "b", "b-value");
    put_str(st, "c", "c-value");
    put_str(st, "a", "a-new");
    put_str(st, "d", "d-value");
    ck_srd(srd_delete(st, tu_s("d"), NULL));
    ck_srd(srd_compact(st, NULL));
    const char *order[3] = {"b", "c", "a"};
    const char *vals[3] = {"b-value", "c-value", "a-new"};
    srd_iter *it;
    ck_srd(srd_iter_open(st, &it));
    srd_view v;
    uint64_t prev_off = 0;
    for (int i = 0; i < 3; i++) {
        ck_srd(srd_iter_next(it, &v));
        ck_assert_uint_eq(v.key_hash, srd_key_hash(order[i], 1));
        ck_assert_uint_eq(v.len, strlen(vals[i]));
        ck_assert_mem_eq(v.data, vals[i], v.len);
        if (i == 0)
            ck_assert_uint_eq(v.offset, 0);
        else
            ck_assert_uint_gt(v.offset, prev_off);
        prev_off = v.offset;
        srd_view_release(&v);
    }
    ck_assert_int_eq(srd_iter_next(it, &v), SRD_ENOTFOUND);
    srd_iter_close(it);
    ck_srd(srd_close(st));
}
END_TEST

/* srd (DESIGN.md invariant 6): a view taken before compaction still reads
 * the same bytes after it */
START_TEST(test_view_taken_before_compact_reads_same_bytes_after)
{
    srd_store *st = open_rw(g_path);
    uint8_t *val = pattern(4096, 21);
    for (int i = 0; i < 20; i++)
        put_str(st, "churn", i % 2 ? "odd" : "even");
    ck_srd(srd_put(st, tu_s("kept"), bytes(val, 4096)));
    put_str(st, "churn", "final");
    srd_view v;
    ck_srd(srd_get(st, tu_s("kept"), &v));
    const uint8_t *p = v.data;
    ck_srd(srd_compact(st, NULL));
    put_str(st, "after", "compaction");
    ck_assert_ptr_eq(v.data, p);
    ck_assert_uint_eq(v.len, 4096);
    ck_assert(memcmp(v.data, val, 4096) == 0);
    srd_view v2;
    ck_srd(srd_get(st, tu_s("kept"), &v2));
    ck_assert(memcmp(v2.data, val, 4096) == 0);
    srd_view_release(&v2);
    srd_view_release(&v);
    ck_assert_ptr_null(v.data);
    srd_view_release(&v); /* idempotent */
    ck_srd(srd_close(st));
    free(val);
}
END_TEST

/* srd: a stale "<path>.compact" (from a crash) is deleted, never merged in;
 * here it holds a valid store with an intruder key, and bigger than the
 * result, so reuse of its bytes would show */
START_TEST(test_compact_deletes_stale_temp_file_without_merging)
{
    char *tmp = tu_join(g_dir, "store.srd.compact");
    char *other = tu_join(g_dir, "other.srd");
    srd_store *st = open_fast(other);
    uint8_t *big = pattern(50000, 8);
    ck_srd(srd_put(st, tu_s("filler"), bytes(big, 50000)));
    put_str(st, "intruder", "evil");
    ck_srd(srd_close(st));
    ck_assert_int_eq(rename(other, tmp), 0);

    st = open_rw(g_path);
    put_str(st, "a", "1");
    put_str(st, "a", "2");
    put_str(st, "b", "3");
    ck_srd(srd_compact(st, NULL));
    ck_assert_int_eq(tu_file_size(tmp), -1);
    expect_absent(st, "intruder");
    expect_absent(st, "filler");
    expect_str(st, "a", "2");
    expect_str(st, "b", "3");
    ck_assert_uint_eq(count_of(st), 2);
    ck_assert_int_eq(tu_file_size(g_path), (long long)tail_of(st));
    ck_assert_int_lt(tu_file_size(g_path), 200);
    ck_srd(srd_close(st));

    /* plain garbage in the way as well */
    ck_assert_int_eq(tu_write_file(tmp, big, 50000), 0);
    st = open_rw(g_path);
    ck_srd(srd_compact(st, NULL));
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_absent(st, "intruder");
    expect_str(st, "a", "2");
    expect_str(st, "b", "3");
    ck_assert_uint_eq(count_of(st), 2);
    srd_verify_report r;
    ck_srd(srd_verify(st, &r, NULL, NULL));
    ck_assert_uint_eq(r.entries, 2);
    ck_srd(srd_close(st));
    free(big);
    free(tmp);
    free(other);
}
END_TEST

/* srd: writes made through the same handle after compaction persist (the
 * reference loses them) */
START_TEST(test_put_after_compact_survives_reopen)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "x", "1");
    put_str(st, "x", "2");
    ck_srd(srd_compact(st, NULL));
    put_str(st, "y", "after");
    put_str(st, "x", "3");
    ck_srd(srd_delete(st, tu_s("x"), NULL));
    put_str(st, "z", "last");
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_str(st, "y", "after");
    expect_str(st, "z", "last");
    expect_absent(st, "x");
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
}
END_TEST

/* srd: online compaction. A writer thread keeps putting, overwriting and
 * deleting while the main thread compacts again and again; afterwards (and
 * after a reopen) every key holds exactly what the writer last did. */
#define OC_KEYS 200
#define OC_OPS 20000

typedef struct oc_writer {
    srd_store *st;
    atomic_int done;
    int last[OC_KEYS]; /* -1 deleted/never, else op number of the last put */
} oc_writer;

static void oc_key(char *b, size_t n, int k)
{
    snprintf(b, n, "oc%d", k);
}

static size_t oc_val(char *b, size_t n, int op)
{
    return (size_t)snprintf(b, n, "value of op %d %*s", op, op % 300, "+");
}

static void *oc_write(void *arg)
{
    oc_writer *w = arg;
    for (int k = 0; k < OC_KEYS; k++)
        w->last[k] = -1;
    for (int op = 0; op < OC_OPS; op++) {
        int k = (int)(((unsigned)op * 2654435761u) % OC_KEYS);
        char key[32], val[400];
        oc_key(key, sizeof key, k);
        if (op % 7 == 3) {
            if (srd_delete(w->st, tu_s(key), NULL) != SRD_OK)
                break;
            w->last[k] = -1;
        } else {
            size_t n = oc_val(val, sizeof val, op);
            if (srd_put(w->st, tu_s(key), (srd_val){val, n}) != SRD_OK)
                break;
            w->last[k] = op;
        }
    }
    atomic_store(&w->done, 1);
    return NULL;
}

static void oc_expect(srd_store *st, const oc_writer *w)
{
    uint64_t live = 0;
    for (int k = 0; k < OC_KEYS; k++) {
        char key[32], want[400], got[400];
        oc_key(key, sizeof key, k);
        size_t n = 0;
        srd_err rc = srd_get_copy(st, tu_s(key), got, sizeof got, &n);
        if (w->last[k] < 0) {
            ck_assert_msg(rc == SRD_ENOTFOUND, "%s: %s", key, srd_errname(rc));
            continue;
        }
        live++;
        ck_assert_msg(rc == SRD_OK, "%s: %s", key, srd_errname(rc));
        size_t wn = oc_val(want, sizeof want, w->last[k]);
        ck_assert_msg(n == wn && memcmp(got, want, n) == 0,
                      "%s holds the wrong value", key);
    }
    ck_assert_uint_eq(count_of(st), live);
}

START_TEST(test_online_compaction_keeps_concurrent_writes)
{
    srd_store *st = open_fast(g_path);
    oc_writer w = {.st = st};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, oc_write, &w), 0);
    int rounds = 0;
    uint64_t caught_up = 0;
    while (!atomic_load(&w.done) || rounds < 3) {
        srd_compact_report rep;
        ck_srd(srd_compact_ex(st, NULL, NULL, &rep));
        ck_assert_uint_eq(rep.old_size - rep.new_size, rep.reclaimed);
        caught_up += rep.caught_up_entries;
        rounds++;
    }
    pthread_join(t, NULL);
    fprintf(stderr, "online compaction: %d rounds, %llu entries caught up\n",
            rounds, (unsigned long long)caught_up);
    oc_expect(st, &w);
    srd_verify_report vr;
    ck_srd(srd_verify(st, &vr, NULL, NULL));
    ck_srd(srd_close(st));
    char *tmp = tu_join(g_dir, "store.srd.compact");
    ck_assert_int_eq(access(tmp, F_OK), -1);
    free(tmp);
    st = open_ro(g_path);
    oc_expect(st, &w);
    ck_srd(srd_close(st));
}
END_TEST

/* Regression: with several writer threads, appends finish out of order, so
 * the committed tail can cover an entry not yet indexed; compaction taking
 * T0 then lost that acknowledged write (found by the Python suite). */
#define MW_THREADS 4
#define MW_PUTS 2000

typedef struct mw_arg {
    srd_store *st;
    int id;
} mw_arg;

static void *mw_write(void *p)
{
    mw_arg *a = p;
    char k[32], v[32];
    for (int i = 0; i < MW_PUTS; i++) {
        int kl = snprintf(k, sizeof k, "k%d-%d", a->id, i);
        int vl = snprintf(v, sizeof v, "v%d", i);
        if (srd_put(a->st, (srd_val){k, (size_t)kl}, (srd_val){v, (size_t)vl}))
            return p;
    }
    return NULL;
}

START_TEST(test_compaction_keeps_writes_of_many_threads)
{
    srd_store *st = open_fast(g_path);
    pthread_t t[MW_THREADS];
    mw_arg a[MW_THREADS];
    for (int i = 0; i < MW_THREADS; i++) {
        a[i] = (mw_arg){st, i};
        ck_assert_int_eq(pthread_create(&t[i], NULL, mw_write, &a[i]), 0);
    }
    for (int round = 0; round < 20; round++)
        ck_srd(srd_compact(st, NULL));
    for (int i = 0; i < MW_THREADS; i++) {
        void *failed;
        pthread_join(t[i], &failed);
        ck_assert_ptr_null(failed);
    }
    ck_srd(srd_compact(st, NULL));
    for (int reopen = 0; reopen < 2; reopen++) {
        for (int i = 0; i < MW_THREADS; i++)
            for (int j = 0; j < MW_PUTS; j++) {
                char k[32], v[32];
                snprintf(k, sizeof k, "k%d-%d", i, j);
                snprintf(v, sizeof v, "v%d", j);
                expect_str(st, k, v);
            }
        ck_assert_uint_eq(count_of(st), MW_THREADS * MW_PUTS);
        ck_srd(srd_close(st));
        st = open_ro(g_path);
    }
    ck_srd(srd_close(st));
}
END_TEST

/* Progress callback that tries a second compaction and then cancels. */
typedef struct oc_prog {
    srd_store *st;
    srd_err nested;
    int calls;
    bool cancel;
} oc_prog;

static int oc_progress(void *ctx, uint64_t done, uint64_t total)
{
    oc_prog *p = ctx;
    ck_assert_uint_le(done, total);
    if (p->calls++ == 0)
        p->nested = srd_compact_ex(p->st, NULL, NULL, NULL);
    return p->cancel;
}

START_TEST(test_compaction_while_compacting_is_estate)
{
    srd_store *st = open_fast(g_path);
    put_str(st, "a", "1");
    put_str(st, "a", "2");
    oc_prog p = {.st = st};
    srd_compact_report rep;
    ck_srd(srd_compact_ex(st, oc_progress, &p, &rep));
    ck_assert_int_ge(p.calls, 1);
    ck_assert_int_eq(p.nested, SRD_ESTATE);
    ck_assert_uint_eq(rep.copied_entries, 1);
    ck_assert_uint_gt(rep.reclaimed, 0);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_cancelled_compaction_leaves_store_unchanged)
{
    srd_store *st = open_fast(g_path);
    put_str(st, "a", "1");
    put_str(st, "a", "2");
    put_str(st, "b", "3");
    long long before = tu_file_size(g_path);
    oc_prog p = {.st = st, .cancel = true};
    ck_assert_int_eq(srd_compact_ex(st, oc_progress, &p, NULL), SRD_ECANCELED);
    ck_assert_int_eq(tu_file_size(g_path), before);
    char *tmp = tu_join(g_dir, "store.srd.compact");
    ck_assert_int_eq(access(tmp, F_OK), -1);
    free(tmp);
    expect_str(st, "a", "2");
    put_str(st, "c", "after cancel");
    ck_srd(srd_compact(st, NULL)); /* a later one runs */
    expect_str(st, "c", "after cancel");
    expect_str(st, "b", "3");
    ck_srd(srd_close(st));
}
END_TEST

static Suite *store_compact_suite(void)
{
    Suite *s = suite_create("store_compact");
    TCase *tc = store_tcase(s, "compaction");
    tcase_add_test(tc, test_compact_shrinks_file_and_keeps_latest_values);
    tcase_add_test(tc, test_compact_keeps_live_entries_in_file_order);
    tcase_add_test(tc, test_view_taken_before_compact_reads_same_bytes_after);
    tcase_add_test(tc, test_compact_deletes_stale_temp_file_without_merging);
    tcase_add_test(tc, test_put_after_compact_survives_reopen);
    tcase_add_test(tc, test_online_compaction_keeps_concurrent_writes);
    tcase_add_test(tc, test_compaction_while_compacting_is_estate);
    tcase_add_test(tc, test_compaction_keeps_writes_of_many_threads);
    tcase_add_test(tc, test_cancelled_compaction_leaves_store_unchanged);
    return s;
}

int main(void)
{
    return tu_main(store_compact_suite());
}
