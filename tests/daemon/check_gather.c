/* SPDX-License-Identifier: MIT */
/*
 * check_gather.c -- tests of daemon/gather.c, the commit gather's
 * decision: a pass waits only when the previous durable group held more
 * than one connection, was recent, and fewer have mutations now; never
 * for a lone writer, never without a mutation or a measured sync; a
 * wait that brings nobody new ends it; the budget is a share of the
 * smoothed sync time, capped, and shrinks with the time already waited.
 * Times are numbers passed in: nothing here sleeps or reads a clock.
 */
#include <stdint.h>

#include "gather.h"
#include "testutil.h"

#define US 1000u
#define T0 ((uint64_t)1000000000u) /* an arbitrary "now" */

/* A gather whose last durable group held conns and synced in sync_ns,
 * committed at T0. */
static gather after_group(unsigned conns, uint64_t sync_ns)
{
    gather g = {0};
    gather_note_group(&g, conns, sync_ns, T0);
    return g;
}

START_TEST(test_gather_never_waits_for_a_lone_writer)
{
    gather g = after_group(1, 300 * US);
    ck_assert(!gather_may_wait(&g, 1, -1));
    /* Still a lone writer after any number of its groups. */
    for (int i = 0; i < 100; i++)
        gather_note_group(&g, 1, 300 * US, T0 + (uint64_t)i * 400 * US);
    ck_assert(!gather_may_wait(&g, 1, -1));
}
END_TEST

START_TEST(test_gather_waits_when_fewer_than_last_time)
{
    gather g = after_group(16, 300 * US);
    ck_assert(gather_may_wait(&g, 3, -1));
    uint64_t b = gather_budget(&g, true, T0 + 50 * US, T0 + 50 * US);
    ck_assert_uint_eq(b, 300 * US / GATHER_SHARE);
}
END_TEST

START_TEST(test_gather_stops_once_as_many_are_in)
{
    gather g = after_group(4, 300 * US);
    ck_assert(gather_may_wait(&g, 2, -1));
    ck_assert(gather_may_wait(&g, 3, 1));
    ck_assert(!gather_may_wait(&g, 4, 1)); /* all of last time's are in */
    gather g2 = after_group(4, 300 * US);
    ck_assert(!gather_may_wait(&g2, 9, -1)); /* more than last time */
}
END_TEST

START_TEST(test_gather_ends_when_a_wake_up_brings_nobody_new)
{
    gather g = after_group(8, 300 * US);
    ck_assert(gather_may_wait(&g, 2, -1));
    ck_assert(!gather_may_wait(&g, 2, 1)); /* an event, no new writer */
    gather g2 = after_group(8, 300 * US);
    ck_assert(gather_may_wait(&g2, 2, -1));
    ck_assert(gather_may_wait(&g2, 2, 0)); /* a timeout: the budget says */
}
END_TEST

START_TEST(test_gather_never_waits_without_a_mutation)
{
    gather g = after_group(8, 300 * US);
    ck_assert(!gather_may_wait(&g, 0, -1));
}
END_TEST

START_TEST(test_gather_never_waits_when_nothing_is_synced)
{
    gather g = {0};
    gather_note_group(&g, 16, 0, T0); /* --sync never: not noted */
    ck_assert(!gather_may_wait(&g, 3, -1));
    gather g2 = after_group(16, 300 * US);
    gather_note_group(&g2, 2, 0, T0 + 1); /* no append: not noted either */
    ck_assert_uint_eq(g2.prev_conns, 16);
}
END_TEST

START_TEST(test_gather_budget_is_a_capped_share_of_the_sync_time)
{
    gather g = after_group(16, 100u * 1000u * US); /* a 100 ms sync */
    ck_assert_uint_eq(gather_budget(&g, true, T0, T0), GATHER_MAX_NS);
    gather g2 = after_group(16, 300 * US);
    uint64_t full = 300 * US / GATHER_SHARE;
    ck_assert_uint_eq(gather_budget(&g2, false, T0, T0 + 100 * US),
                      full - 100 * US);
    ck_assert_uint_eq(gather_budget(&g2, false, T0, T0 + full), 0);
    ck_assert_uint_eq(gather_budget(&g2, false, T0, T0 + 10 * full), 0);
}
END_TEST

START_TEST(test_gather_sync_time_is_smoothed)
{
    gather g = after_group(16, 400 * US);
    gather_note_group(&g, 16, 4000 * US, T0 + 1); /* one slow sync */
    ck_assert_uint_eq(g.sync_ns, (3 * 400 * US + 4000 * US) / 4);
    gather_note_group(&g, 16, 400 * US, T0 + 2);
    ck_assert_uint_lt(g.sync_ns, 1400 * US);
}
END_TEST

START_TEST(test_gather_ignores_a_group_long_past)
{
    gather g = after_group(16, 300 * US);
    uint64_t late = T0 + GATHER_RECENT_NS + 1;
    ck_assert(gather_may_wait(&g, 3, -1));
    ck_assert_uint_eq(gather_budget(&g, true, late, late), 0);
    uint64_t soon = T0 + GATHER_RECENT_NS / 2;
    ck_assert_uint_gt(gather_budget(&g, true, soon, soon), 0);
}
END_TEST

static Suite *gather_suite(void)
{
    Suite *s = suite_create("gather");
    TCase *tc = tcase_create("gather");
    tcase_add_test(tc, test_gather_never_waits_for_a_lone_writer);
    tcase_add_test(tc, test_gather_waits_when_fewer_than_last_time);
    tcase_add_test(tc, test_gather_stops_once_as_many_are_in);
    tcase_add_test(tc, test_gather_ends_when_a_wake_up_brings_nobody_new);
    tcase_add_test(tc, test_gather_never_waits_without_a_mutation);
    tcase_add_test(tc, test_gather_never_waits_when_nothing_is_synced);
    tcase_add_test(tc, test_gather_budget_is_a_capped_share_of_the_sync_time);
    tcase_add_test(tc, test_gather_sync_time_is_smoothed);
    tcase_add_test(tc, test_gather_ignores_a_group_long_past);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(gather_suite());
}
