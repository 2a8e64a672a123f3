/* SPDX-License-Identifier: MIT */
/*
 * check_store_follow.c -- tests of libclient/store_follow.c (a handle
 * whose writer is another process: what client mode calls) and of
 * srdi_store_open's divert hook, without srdd: the test plays the client,
 * an embedded writer in the same process plays srdd (both with private
 * indexes). Fixture: store_fixture.h.
 */
#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "store_fixture.h"
#include "store_impl.h"

/* ------------------------------------------------------------------------ */
/* A follower opened through the divert hook                                */
/* ------------------------------------------------------------------------ */

static uint64_t g_dev, g_ino, g_tail; /* what the "daemon" reports */
static srd_err g_divert_rc;           /* follow_start's result */

static bool divert_follow(srd_store *st, unsigned flags, srd_err lock_rc,
                          srd_err *rc)
{
    (void)flags;
    ck_assert_int_eq(lock_rc, SRD_EBUSY); /* SRD_OPEN_CLIENT: no lock tried */
    *rc = g_divert_rc = srdi_store_follow_start(st, g_dev, g_ino, g_tail);
    return true;
}

/* The store file's identity and size, as srdd's handshake would say. */
static void report_file(const char *path)
{
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    g_dev = (uint64_t)sb.st_dev;
    g_ino = (uint64_t)sb.st_ino;
    g_tail = (uint64_t)sb.st_size;
}

static srd_store *open_follower(void)
{
    srd_options o;
    srd_options_init(&o);
    o.flags = SRD_OPEN_CLIENT;
    srd_store *st = NULL;
    ck_srd(srdi_store_open(g_path, &o, divert_follow, &st));
    ck_assert_ptr_nonnull(st);
    return st;
}

START_TEST(test_follow_start_maps_the_file_the_writer_names)
{
    srd_store *w = open_rw(g_path);
    put_str(w, "a", "1");
    put_str(w, "b", "2");
    report_file(g_path);
    srd_store *f = open_follower();
    expect_str(f, "a", "1");
    expect_str(f, "b", "2");
    ck_assert_uint_eq(srdi_store_entries(f), 2);
    ck_assert(srdi_store_follow_is(f, g_dev, g_ino));
    ck_assert(!srdi_store_follow_is(f, g_dev, g_ino + 1));
    ck_assert(info_of(f).readonly); /* no writer, no client */
    ck_srd(srd_close(f));
    ck_srd(srd_close(w));
}
END_TEST

START_TEST(test_follow_start_refuses_another_file_or_a_short_one)
{
    srd_store *w = open_rw(g_path);
    put_str(w, "a", "1");
    report_file(g_path);
    srd_options o;
    srd_options_init(&o);
    o.flags = SRD_OPEN_CLIENT;
    srd_store *st = (srd_store *)&o; /* must be reset */
    g_ino++; /* srdd writes another file than the one at our path */
    ck_assert_int_eq(srdi_store_open(g_path, &o, divert_follow, &st),
                     SRD_ESTATE);
    ck_assert_ptr_null(st);
    g_ino--;
    g_tail += 1; /* a tail the file does not reach */
    ck_assert_int_eq(srdi_store_open(g_path, &o, divert_follow, &st),
                     SRD_ECORRUPT);
    ck_assert_ptr_null(st);
    ck_srd(srd_close(w));
}
END_TEST

START_TEST(test_follow_walk_and_adopt_bring_in_new_entries)
{
    srd_store *w = open_rw(g_path);
    put_str(w, "a", "1");
    report_file(g_path);
    srd_store *f = open_follower();
    uint64_t base = g_tail;
    put_str(w, "b", "2");
    put_str(w, "a", "3");
    report_file(g_path);
    /* a tail past the file's end is refused and changes nothing */
    ck_assert_int_eq(srdi_store_follow_walk(f, base, g_tail + 64),
                     SRD_ECORRUPT);
    ck_assert_int_eq(srdi_store_follow_adopt(f, NULL, 0, g_tail + 64, true),
                     SRD_ECORRUPT);
    expect_absent(f, "b");
    expect_str(f, "a", "1");
    ck_srd(srdi_store_follow_walk(f, base, g_tail));
    expect_str(f, "b", "2");
    expect_str(f, "a", "3");
    ck_assert_uint_eq(srdi_store_entries(f), 3);
    ck_assert_uint_eq(tail_of(f), g_tail);
    ck_srd(srd_close(f));
    ck_srd(srd_close(w));
}
END_TEST

START_TEST(test_follow_reload_takes_the_compacted_file)
{
    srd_store *w = open_rw(g_path);
    put_str(w, "a", "1");
    put_str(w, "a", "2");
    report_file(g_path);
    srd_store *f = open_follower();
    ck_srd(srd_compact(w, NULL)); /* a new file at the path */
    report_file(g_path);
    ck_assert(!srdi_store_follow_is(f, g_dev, g_ino));
    ck_srd(srdi_store_follow_reload(f, g_tail));
    ck_assert(srdi_store_follow_is(f, g_dev, g_ino));
    expect_str(f, "a", "2");
    ck_assert_uint_eq(count_of(f), 1);
    ck_srd(srd_close(f));
    ck_srd(srd_close(w));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Reads of a handle following the shared index (st->follow, client.c)      */
/* ------------------------------------------------------------------------ */

static int g_raises, g_waits; /* st->follow calls: wait false / true */

static srd_err count_follow(srd_store *st, bool wait)
{
    if (wait)
        g_waits++;
    else
        g_raises++;
    return srdi_store_follow_raise(st, wait);
}

/* A follower reading through the writer's shared index file, its reads
 * reporting to count_follow. */
static srd_store *open_index_follower(srd_store *w)
{
    put_str(w, "a", "1");
    report_file(g_path);
    srd_store *f = open_follower();
    ck_assert_ptr_nonnull(atomic_load(&f->snap)->shx);
    g_raises = g_waits = 0;
    atomic_store(&f->follow, count_follow);
    return f;
}

/* srd_exists of an entry past the tail answers without raising it (a
 * raise inside the call that first sees a key delays that answer: the
 * visibility p99 rose from 54 us to 629 us when it did); a get raises it
 * once. */
START_TEST(test_exists_past_the_tail_leaves_it_and_a_get_raises_it_once)
{
    setenv("SRD_SHARED_INDEX", "1", 1);
    srd_store *w = open_rw(g_path);
    srd_store *f = open_index_follower(w);
    put_str(w, "b", "2"); /* in the index file, past f's tail */
    uint64_t before = atomic_load(&atomic_load(&f->snap)->map->committed);
    bool there = false;
    ck_srd(srd_exists(f, (srd_val){"b", 1}, &there));
    ck_assert(there);
    ck_srd(srd_exists(f, (srd_val){"b", 1}, &there));
    ck_assert(there);
    ck_assert_int_eq(g_raises, 0);
    ck_assert_uint_eq(atomic_load(&atomic_load(&f->snap)->map->committed),
                      before);
    expect_str(f, "b", "2"); /* the entry was past the tail: one raise */
    ck_assert_int_eq(g_raises, 1);
    ck_assert_uint_gt(atomic_load(&atomic_load(&f->snap)->map->committed),
                      before);
    ck_srd(srd_exists(f, (srd_val){"a", 1}, &there));
    ck_assert(there);
    expect_str(f, "b", "2");
    ck_assert_int_eq(g_raises, 1); /* below the raised tail: no more */
    ck_assert_int_eq(g_waits, 0);  /* the index file was never replaced */
    ck_srd(srd_close(f));
    ck_srd(srd_close(w));
    setenv("SRD_SHARED_INDEX", "0", 1);
}
END_TEST

START_TEST(test_reads_follow_a_replaced_index_file_first)
{
    setenv("SRD_SHARED_INDEX", "1", 1);
    srd_store *w = open_rw(g_path);
    srd_store *f = open_index_follower(w);
    const srdi_shx *old = atomic_load(&f->snap)->shx;
    char k[16];
    for (int i = 0; i < 3000; i++) { /* grows the table: a new file */
        snprintf(k, sizeof k, "k%d", i);
        put_str(w, k, "v");
    }
    ck_assert(srdi_shx_superseded(old));
    srd_view v[2];
    size_t found = 0;
    uint64_t hs[2] = {srdi_key_of((srd_val){"k2999", 5}),
                      srdi_key_of((srd_val){"a", 1})};
    ck_srd(srd_get_many_hash(f, hs, 2, v, &found));
    ck_assert_uint_eq(found, 2);
    ck_assert_int_eq(g_waits, 1); /* followed before the read */
    ck_assert_ptr_ne(atomic_load(&f->snap)->shx, old);
    ck_assert_uint_eq(v[0].len, 1);
    ck_assert_int_eq(v[0].data[0], 'v');
    srd_view_release(&v[0]);
    srd_view_release(&v[1]);
    bool there = false;
    ck_srd(srd_exists(f, (srd_val){"k0", 2}, &there));
    ck_assert(there);
    ck_assert_int_eq(g_waits, 1); /* the new file is current */
    ck_srd(srd_close(f));
    ck_srd(srd_close(w));
    setenv("SRD_SHARED_INDEX", "0", 1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Suite                                                                     */
/* ------------------------------------------------------------------------ */

static Suite *store_follow_suite(void)
{
    Suite *s = suite_create("store_follow");
    TCase *tc = store_tcase(s, "follow");
    tcase_add_test(tc, test_follow_start_maps_the_file_the_writer_names);
    tcase_add_test(tc, test_follow_start_refuses_another_file_or_a_short_one);
    tcase_add_test(tc, test_follow_walk_and_adopt_bring_in_new_entries);
    tcase_add_test(tc, test_follow_reload_takes_the_compacted_file);
    tcase_add_test(tc, test_exists_past_the_tail_leaves_it_and_a_get_raises_it_once);
    tcase_add_test(tc, test_reads_follow_a_replaced_index_file_first);
    return s;
}

int main(void)
{
    /* Private indexes only: what a follower sees is what it was given
     * (through the shared index file it would see the writer's newer
     * entries before any walk). */
    setenv("SRD_SHARED_INDEX", "0", 1);
    return tu_main(store_follow_suite());
}
