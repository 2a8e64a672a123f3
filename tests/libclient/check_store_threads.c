/* SPDX-License-Identifier: MIT */
/*
 * check_store_threads.c -- the public store API (srd.h) in embedded mode:
 * threads writing, streaming and reading one handle at once.
 * Split from check_store.c; the reference test ported is named above
 * each port (shared/REFERENCE-TESTS.md). Fixture: store_fixture.h.
 */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_fixture.h"

/* ------------------------------------------------------------------------ */
/* Concurrency (reference: tests/concurrency_tests.rs)                       */
/* ------------------------------------------------------------------------ */

typedef struct thr_arg {
    srd_store *st;
    int id;
    srd_err rc;
    pthread_barrier_t *bar;
    const uint8_t *data;
    size_t len;
    atomic_int *stop;
    long checks;
} thr_arg;

static void *put10_thread(void *p)
{
    thr_arg *a = p;
    pthread_barrier_wait(a->bar);
    for (int i = 0; i < 10 && a->rc == SRD_OK; i++) {
        char k[64], v[64];
        snprintf(k, sizeof k, "thread%d_key%d", a->id, i);
        snprintf(v, sizeof v, "thread%d_value%d", a->id, i);
        a->rc = srd_put(a->st, tu_s(k), tu_s(v));
    }
    return NULL;
}

/* reference: concurrent_write_test */
START_TEST(test_16_threads_writing_10_keys_each_all_read_back)
{
    srd_store *st = open_rw(g_path);
    pthread_t t[16];
    thr_arg a[16];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 16);
    for (int i = 0; i < 16; i++) {
        memset(&a[i], 0, sizeof a[i]);
        a[i].st = st;
        a[i].id = i;
        a[i].bar = &bar;
        ck_assert_int_eq(pthread_create(&t[i], NULL, put10_thread, &a[i]), 0);
    }
    for (int i = 0; i < 16; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(a[i].rc == SRD_OK, "thread %d: %s", i,
                      srd_errname(a[i].rc));
    }
    pthread_barrier_destroy(&bar);
    for (int pass = 0; pass < 2; pass++) {
        ck_assert_uint_eq(count_of(st), 160);
        for (int i = 0; i < 16; i++)
            for (int j = 0; j < 10; j++) {
                char k[64], v[64];
                snprintf(k, sizeof k, "thread%d_key%d", i, j);
                snprintf(v, sizeof v, "thread%d_value%d", i, j);
                expect_str(st, k, v);
            }
        ck_srd(srd_close(st));
        st = open_rw(g_path);
    }
    srd_verify_report r;
    ck_srd(srd_verify(st, &r, NULL, NULL));
    ck_assert_uint_eq(r.entries, 160);
    ck_srd(srd_close(st));
}
END_TEST

static void *slow_stream_thread(void *p)
{
    thr_arg *a = p;
    src s = src_of(a->data, a->len);
    s.chunk = 64 * 1024;
    s.sleep_ms = 10;
    char k[32];
    snprintf(k, sizeof k, "stream_%c", (char)a->data[0]);
    pthread_barrier_wait(a->bar);
    a->rc = srd_put_stream(a->st, tu_s(k), src_read, &s);
    return NULL;
}

/* reference: concurrent_slow_streamed_write_test (sleep 10 ms per chunk) */
START_TEST(test_slow_concurrent_streams_do_not_interleave)
{
    srd_store *st = open_rw(g_path);
    uint8_t *va = malloc(MIB), *vb = malloc(MIB);
    memset(va, 'A', MIB);
    memset(vb, 'B', MIB);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 3);
    thr_arg a[2];
    pthread_t t[2];
    memset(a, 0, sizeof a);
    a[0].st = a[1].st = st;
    a[0].bar = a[1].bar = &bar;
    a[0].data = va;
    a[1].data = vb;
    a[0].len = a[1].len = MIB;
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, slow_stream_thread,
                                        &a[i]), 0);
    pthread_barrier_wait(&bar);
    /* while the streams run, a small put from a third thread also works */
    msleep(30);
    put_str(st, "during", "streams");
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        ck_srd(a[i].rc);
    }
    pthread_barrier_destroy(&bar);
    expect_bytes(st, tu_s("stream_A"), va, MIB);
    expect_bytes(st, tu_s("stream_B"), vb, MIB);
    expect_str(st, "during", "streams");
    srd_entry_meta ma, mb;
    ck_srd(srd_meta(st, tu_s("stream_A"), &ma));
    ck_srd(srd_meta(st, tu_s("stream_B"), &mb));
    ck_assert(ma.entry_end <= mb.payload_offset ||
              mb.entry_end <= ma.payload_offset);
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_bytes(st, tu_s("stream_A"), va, MIB);
    expect_bytes(st, tu_s("stream_B"), vb, MIB);
    srd_verify_report r;
    ck_srd(srd_verify(st, &r, NULL, NULL));
    ck_assert_uint_eq(r.entries, 3);
    ck_srd(srd_close(st));
    free(va);
    free(vb);
}
END_TEST

static void *interleave_a1(void *p)
{
    thr_arg *a = p;
    a->rc = srd_put(a->st, tu_s("shared"), tu_s("value_from_A1"));
    return NULL;
}

static void *interleave_b(void *p)
{
    thr_arg *a = p;
    srd_view v;
    a->rc = srd_get(a->st, tu_s("shared"), &v);
    if (a->rc != SRD_OK)
        return NULL;
    if (v.len != 13 || memcmp(v.data, "value_from_A1", 13) != 0)
        a->rc = SRD_ECHECKSUM;
    srd_view_release(&v);
    if (a->rc == SRD_OK)
        a->rc = srd_put(a->st, tu_s("shared"), tu_s("value_from_B"));
    return NULL;
}

static void *interleave_a2(void *p)
{
    thr_arg *a = p;
    char buf[64];
    size_t n = 0;
    a->rc = srd_get_copy(a->st, tu_s("shared"), buf, sizeof buf, &n);
    if (a->rc == SRD_OK && (n != 12 || memcmp(buf, "value_from_B", 12) != 0))
        a->rc = SRD_ECHECKSUM;
    return NULL;
}

/* reference: interleaved_read_write_test */
START_TEST(test_interleaved_reads_and_writes_across_threads)
{
    srd_store *st = open_rw(g_path);
    void *(*steps[3])(void *) = {interleave_a1, interleave_b, interleave_a2};
    for (int i = 0; i < 3; i++) {
        thr_arg a;
        memset(&a, 0, sizeof a);
        a.st = st;
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, steps[i], &a), 0);
        pthread_join(t, NULL);
        ck_assert_msg(a.rc == SRD_OK, "step %d: %s", i, srd_errname(a.rc));
    }
    ck_srd(srd_close(st));
}
END_TEST

static void *reader_thread(void *p)
{
    thr_arg *a = p;
    while (!atomic_load(a->stop) && a->rc == SRD_OK) {
        srd_view v;
        srd_err rc = srd_get(a->st, tu_s("hot"), &v);
        if (rc != SRD_OK) {
            a->rc = rc;
            break;
        }
        uint8_t c = v.data[0];
        size_t want = c == 'x' ? 1000 : c == 'y' ? 300000 : 0;
        if (v.len != want)
            a->rc = SRD_ECORRUPT;
        for (size_t i = 0; i < v.len && a->rc == SRD_OK; i++)
            if (v.data[i] != c)
                a->rc = SRD_ECORRUPT;
        srd_view_release(&v);
        a->checks++;
    }
    return NULL;
}

/* srd: readers never see a partial value while a writer replaces it (and
 * never block; DESIGN.md invariant 5) */
START_TEST(test_readers_see_whole_values_while_writer_replaces_them)
{
    srd_store *st = open_fast(g_path);
    uint8_t *x = malloc(1000), *y = malloc(300000);
    memset(x, 'x', 1000);
    memset(y, 'y', 300000);
    ck_srd(srd_put(st, tu_s("hot"), bytes(x, 1000)));
    atomic_int stop = 0;
    thr_arg a[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        memset(&a[i], 0, sizeof a[i]);
        a[i].st = st;
        a[i].stop = &stop;
        ck_assert_int_eq(pthread_create(&t[i], NULL, reader_thread, &a[i]),
                         0);
    }
    for (int i = 0; i < 400; i++) {
        if (i % 2)
            ck_srd(srd_put(st, tu_s("hot"), bytes(x, 1000)));
        else
            ck_srd(srd_put(st, tu_s("hot"), bytes(y, 300000)));
        char k[32];
        snprintf(k, sizeof k, "filler%d", i);
        put_str(st, k, "f");
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(a[i].rc == SRD_OK, "reader %d: %s", i,
                      srd_errname(a[i].rc));
        ck_assert_int_gt(a[i].checks, 0);
    }
    ck_srd(srd_close(st));
    free(x);
    free(y);
}
END_TEST

static Suite *store_threads_suite(void)
{
    Suite *s = suite_create("store_threads");
    TCase *tc = store_tcase(s, "concurrency");
    tcase_add_test(tc, test_16_threads_writing_10_keys_each_all_read_back);
    tcase_add_test(tc, test_slow_concurrent_streams_do_not_interleave);
    tcase_add_test(tc, test_interleaved_reads_and_writes_across_threads);
    tcase_add_test(tc,
                   test_readers_see_whole_values_while_writer_replaces_them);
    return s;
}

int main(void)
{
    return tu_main(store_threads_suite());
}
