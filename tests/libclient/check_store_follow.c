/* SPDX-License-Identifier: MIT */
/*
 * check_store_follow.c -- tests of libclient/store_follow.c (a handle
 * whose writer is another process: what client mode calls) and of
 * srdi_store_open's divert hook, without srdd: the test plays the client,
 * an embedded writer in the same process plays srdd (both with private
 * indexes). Fixture: store_fixture.h.
 */
#define _GNU_SOURCE 1
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
