/* SPDX-License-Identifier: MIT */
/*
 * check_stats.c -- tests of daemon/stats.c: the Stats reply's counter and
 * store fields come from srdd's counters and the store as they are now,
 * uptime counts from the start time, and the clock never runs backwards.
 */
#define _GNU_SOURCE 1
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"
#include "testutil.h"

static char *g_dir;
static char *g_store;
static srd_store *g_st;

static void setup(void)
{
    tu_fixture_begin(&g_dir, &g_store);
    ck_srd(tu_open(g_store, SRD_OPEN_CREATE | SRD_OPEN_EMBEDDED, &g_st));
}

static void teardown(void)
{
    srd_close(g_st);
    tu_fixture_end(&g_dir, &g_store);
}

static void counters_init(srdd_counters *c, uint64_t started_ms_ago)
{
    memset(c, 0, sizeof *c);
    c->start_ms = stats_now_ms() - started_ms_ago;
}

static srdi_wire_stats collect(const srdd_counters *c)
{
    srdi_wire_stats w;
    memset(&w, 0xA5, sizeof w);
    stats_collect(g_st, c, &w);
    return w;
}

/* The reply of counters all zero, started started_ms_ago. */
static srdi_wire_stats collect_fresh(uint64_t started_ms_ago)
{
    srdd_counters c;
    counters_init(&c, started_ms_ago);
    return collect(&c);
}

START_TEST(test_clock_never_runs_backwards)
{
    uint64_t prev = stats_now_ms();
    ck_assert_uint_gt(prev, 0);
    for (int i = 0; i < 1000; i++) {
        uint64_t now = stats_now_ms();
        tu_require(now >= prev, "clock went from %llu to %llu",
                   (unsigned long long)prev, (unsigned long long)now);
        prev = now;
    }
}
END_TEST

START_TEST(test_counters_are_copied)
{
    srdd_counters c;
    counters_init(&c, 0);
    atomic_store(&c.requests, 11);
    atomic_store(&c.groups, 3);
    atomic_store(&c.syncs, 2);
    atomic_store(&c.writes, 9);
    atomic_store(&c.group_max, 5);
    srdi_wire_stats w = collect(&c);
    ck_assert_uint_eq(w.requests, 11);
    ck_assert_uint_eq(w.groups, 3);
    ck_assert_uint_eq(w.syncs, 2);
    ck_assert_uint_eq(w.writes, 9);
    ck_assert_uint_eq(w.group_max, 5);
    ck_assert_uint_eq(w.pid, (uint64_t)getpid());
    /* what the caller adds, and the compaction fields, start at zero */
    ck_assert_uint_eq(w.publish_drops, 0);
    ck_assert_uint_eq(w.clients, 0);
    ck_assert_uint_eq(w.generation, 0);
    ck_assert(!w.compacting);
    ck_assert_uint_eq(w.compactions, 0);
}
END_TEST

START_TEST(test_uptime_counts_from_start)
{
    srdi_wire_stats w = collect_fresh(5000);
    ck_assert_uint_ge(w.uptime_ms, 5000);
    /* a bound that only a broken subtraction crosses */
    ck_assert_uint_lt(w.uptime_ms, 5000u + 3600u * 1000u);
}
END_TEST

START_TEST(test_store_fields_follow_the_store)
{
    srdi_wire_stats w = collect_fresh(0);
    ck_assert_uint_eq(w.live_keys, 0);
    ck_assert_uint_eq(w.committed_tail, 0);
    ck_srd(srd_put(g_st, tu_s("a"), tu_s("first value")));
    ck_srd(srd_put(g_st, tu_s("b"), tu_s("other")));
    ck_srd(srd_put(g_st, tu_s("a"), tu_s("second value")));
    ck_srd(srd_delete(g_st, tu_s("b"), NULL));
    srd_info info;
    ck_srd(srd_get_info(g_st, &info));
    w = collect_fresh(0);
    ck_assert_uint_eq(w.live_keys, 1);
    ck_assert_uint_eq(w.committed_tail, info.tail);
    ck_assert_uint_eq(w.file_size, info.file_size);
    ck_assert_uint_eq(w.dead_bytes, info.dead_bytes);
    ck_assert_uint_gt(w.dead_bytes, 0);
    ck_assert_uint_eq((uint64_t)tu_file_size(g_store), w.file_size);
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("collect");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_clock_never_runs_backwards);
    tcase_add_test(tc, test_counters_are_copied);
    tcase_add_test(tc, test_uptime_counts_from_start);
    tcase_add_test(tc, test_store_fields_follow_the_store);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(stats_suite());
}
