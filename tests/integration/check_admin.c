/* SPDX-License-Identifier: MIT */
/*
 * check_admin.c -- the administration API of srd.h (srd_daemon_*,
 * libclient/client_admin.c) against a real srdd: finding the daemon of a
 * path without opening the store, its figures, an online compaction
 * through it, and srd_compact_ex of a client-mode handle with progress.
 */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_harness.h"

/* A store with n keys, each written twice (half of its bytes are dead). */
static void put_twice(srd_store *st, unsigned n)
{
    char k[32], v[64];
    for (int round = 0; round < 2; round++)
        for (unsigned i = 0; i < n; i++) {
            snprintf(k, sizeof k, "key-%u", i);
            snprintf(v, sizeof v, "value-%u-round-%d", i, round);
            ck_srd(srd_put(st, tu_s(k), tu_s(v)));
        }
}

/* What progress was given: every call must have done <= total. */
typedef struct seen {
    unsigned calls;
    bool bad;
} seen;

static int record_progress(void *ctx, uint64_t done, uint64_t total)
{
    seen *s = ctx;
    s->calls++;
    if (done > total || total == 0)
        s->bad = true;
    return 1; /* ignored: srdd's compaction cannot be cancelled */
}

START_TEST(test_daemon_open_finds_no_srdd_where_none_runs)
{
    srd_daemon *d = (srd_daemon *)&d; /* must be reset to NULL */
    ck_assert_int_eq(srd_daemon_open(NULL, &d), SRD_EINVAL);
    ck_assert_int_eq(srd_daemon_open(g_store, NULL), SRD_EINVAL);
    /* no store, no discovery file */
    ck_assert_int_eq(srd_daemon_open(g_store, &d), SRD_ENOTFOUND);
    ck_assert_ptr_null(d);
    /* a discovery file left by a daemon that died: the lock is free */
    srd_store *st;
    ck_srd(tu_open(g_store, SRD_OPEN_CREATE, &st));
    ck_srd(srd_close(st));
    char *disc = tu_join(g_dir, "s.srd.srdd");
    static const char text[] = "listen=ipc:///nonexistent/srd-test\n"
                               "publish=ipc:///nonexistent/srd-test-pub\n";
    ck_assert_int_eq(tu_write_file(disc, text, sizeof text - 1), 0);
    ck_assert_int_eq(srd_daemon_open(g_store, &d), SRD_ENOTFOUND);
    srd_daemon_close(NULL); /* does nothing */
    ck_assert_str_eq(srd_daemon_message(NULL), "");
    free(disc);
}
END_TEST

START_TEST(test_daemon_stats_are_those_of_the_running_srdd)
{
    start_srdd(NULL);
    srd_store *st = ch_open_client();
    put_twice(st, 50);
    uint64_t tail;
    ck_srd(srd_refresh(st, NULL));
    ck_srd(srd_tail(st, &tail));
    srd_daemon *d = NULL;
    ck_srd(srd_daemon_open(g_store, &d));
    srd_daemon_stats s;
    ck_assert_int_eq(srd_daemon_stats_get(d, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_daemon_stats_get(NULL, &s), SRD_EINVAL);
    ck_srd(srd_daemon_stats_get(d, &s));
    ck_assert_uint_eq(s.pid, (uint64_t)g_srdd);
    ck_assert_uint_eq(s.committed_tail, tail);
    ck_assert_uint_eq(s.live_keys, 50);
    ck_assert_uint_ge(s.writes, 100);
    ck_assert_uint_ge(s.clients, 1);
    ck_assert_uint_ge(s.file_size, tail);
    ck_assert(!s.compacting);
    ck_assert_uint_eq(s.compactions, 0);
    ck_assert_uint_eq(s.last_compact_unix_ms, 0);
    /* the store was not opened as writer: srdd still holds it */
    srd_err rc;
    srd_store *emb = ch_open_flags(SRD_OPEN_EMBEDDED, &rc);
    ck_assert_int_eq(rc, SRD_EBUSY);
    ck_assert_ptr_null(emb);
    srd_daemon_close(d);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_daemon_compact_reclaims_and_reports)
{
    start_srdd(NULL);
    srd_store *st = ch_open_client();
    put_twice(st, 200);
    srd_daemon *d = NULL;
    ck_srd(srd_daemon_open(g_store, &d));
    srd_daemon_stats before, after;
    ck_srd(srd_daemon_stats_get(d, &before));
    seen pg = {0, false};
    srd_compact_report rep;
    uint64_t gen = 0;
    ck_assert_int_eq(srd_daemon_compact(NULL, NULL, NULL, &rep, &gen),
                     SRD_EINVAL);
    ck_srd(srd_daemon_compact(d, record_progress, &pg, &rep, &gen));
    ck_assert(!pg.bad);
    ck_assert_uint_gt(rep.reclaimed, 0);
    ck_assert_uint_eq(rep.old_size - rep.new_size, rep.reclaimed);
    ck_assert_uint_eq(rep.copied_entries + rep.caught_up_entries, 200);
    ck_srd(srd_daemon_stats_get(d, &after));
    ck_assert_uint_ne(gen, before.generation);
    ck_assert_uint_eq(after.generation, gen);
    ck_assert_uint_eq(after.compactions, before.compactions + 1);
    ck_assert_uint_eq(after.file_size, rep.new_size);
    ck_assert_uint_gt(after.last_compact_unix_ms, 0);
    ck_assert_uint_eq(after.last_compact.reclaimed, rep.reclaimed);
    ck_assert_str_eq(srd_daemon_message(d), "");
    srd_daemon_close(d);
    /* the client follows the new file: every key is still there */
    ck_srd(srd_refresh(st, NULL));
    uint64_t n;
    ck_srd(srd_count(st, &n));
    ck_assert_uint_eq(n, 200);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_client_compact_ex_takes_a_progress_callback)
{
    start_srdd(NULL);
    srd_store *st = ch_open_client();
    put_twice(st, 200);
    seen pg = {0, false};
    srd_compact_report rep;
    ck_srd(srd_compact_ex(st, record_progress, &pg, &rep));
    ck_assert(!pg.bad);
    ck_assert_uint_gt(rep.reclaimed, 0);
    ck_assert_uint_eq(rep.old_size - rep.new_size, rep.reclaimed);
    ch_state mine = ch_state_of(st);
    ck_assert_uint_eq(mine.count, 200);
    ck_srd(srd_close(st));
    ck_assert(ch_state_eq(mine, ch_state_fresh(g_store)));
}
END_TEST

static Suite *admin_suite(void)
{
    Suite *s = suite_create("admin");
    TCase *tc = tcase_create("admin");
    tcase_add_checked_fixture(tc, ch_setup, ch_teardown);
    tcase_set_timeout(tc, 60);
    CH_ADD_TEST(tc, test_daemon_open_finds_no_srdd_where_none_runs);
    CH_ADD_TEST(tc, test_daemon_stats_are_those_of_the_running_srdd);
    CH_ADD_TEST(tc, test_daemon_compact_reclaims_and_reports);
    CH_ADD_TEST(tc, test_client_compact_ex_takes_a_progress_callback);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    static const ch_role roles[] = {{NULL, 0, NULL}};
    return ch_main(argc, argv, roles, admin_suite);
}
