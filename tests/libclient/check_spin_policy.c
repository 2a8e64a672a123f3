/* SPDX-License-Identifier: MIT */
/*
 * check_spin_policy.c -- tests of libclient/spin.c, the policy of the
 * request path's spin before blocking: the bound parsed strictly, no spin
 * with a bound of 0, the back-off after misses in a row (16, 32, ...,
 * 1024 waits without a spin, then one try), a hit resetting it, and
 * SRD_SPIN_US read with a bad value reported and ignored.
 */
#define _GNU_SOURCE 1
#include <stdlib.h>
#include <string.h>

#include "spin.h"
#include "testutil.h"

START_TEST(test_spin_bound_is_parsed_strictly)
{
    unsigned us = 77;
    ck_assert(srdi_spin_parse("0", &us) && us == 0);
    ck_assert(srdi_spin_parse("50", &us) && us == 50);
    ck_assert(srdi_spin_parse("10000", &us) && us == 10000);
    static const char *const bad[] = {"", "-1", "+1", " 1", "1 ", "1us",
                                      "10001", "0x10",
                                      "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        us = 77;
        ck_assert_msg(!srdi_spin_parse(bad[i], &us), "'%s' taken", bad[i]);
        ck_assert_uint_eq(us, 77);
    }
    ck_assert(!srdi_spin_parse(NULL, &us));
}
END_TEST

START_TEST(test_spin_bound_zero_never_spins)
{
    srdi_spin sp;
    srdi_spin_init(&sp, 0);
    for (int i = 0; i < 100; i++)
        ck_assert(!srdi_spin_want(&sp));
}
END_TEST

/* Waits in a row that do not spin from now on. */
static unsigned skipped(srdi_spin *sp)
{
    unsigned n = 0;
    while (!srdi_spin_want(sp))
        n++;
    return n;
}

START_TEST(test_spin_backs_off_after_misses_and_a_hit_resets_it)
{
    srdi_spin sp;
    srdi_spin_init(&sp, 50);
    ck_assert(srdi_spin_want(&sp));
    srdi_spin_done(&sp, false); /* one miss: spin again */
    ck_assert(srdi_spin_want(&sp));
    srdi_spin_done(&sp, false); /* two in a row: back off */
    unsigned want = SRDI_SPIN_SKIP_MIN;
    for (int round = 0; round < 10; round++) {
        ck_assert_uint_eq(skipped(&sp), want); /* then one try */
        srdi_spin_done(&sp, false);
        want = want * 2 > SRDI_SPIN_SKIP_MAX ? SRDI_SPIN_SKIP_MAX : want * 2;
    }
    ck_assert_uint_eq(skipped(&sp), SRDI_SPIN_SKIP_MAX);
    srdi_spin_done(&sp, true); /* a hit: spin every wait again */
    for (int i = 0; i < 5; i++) {
        ck_assert(srdi_spin_want(&sp));
        srdi_spin_done(&sp, true);
    }
    ck_assert(srdi_spin_want(&sp));
    srdi_spin_done(&sp, false);
    ck_assert(srdi_spin_want(&sp)); /* a single miss does not back off */
    srdi_spin_done(&sp, true);
    ck_assert_uint_eq(sp.spins, 2 + 10 + 1 + 5 + 2);
    ck_assert_uint_eq(sp.hits, 1 + 5 + 1);
}
END_TEST

START_TEST(test_spin_environment_is_read_and_a_bad_value_ignored)
{
    unsetenv("SRD_SPIN_US");
    ck_assert_uint_eq(srdi_spin_env(50), 50);
    setenv("SRD_SPIN_US", "0", 1);
    ck_assert_uint_eq(srdi_spin_env(50), 0);
    setenv("SRD_SPIN_US", "120", 1);
    ck_assert_uint_eq(srdi_spin_env(50), 120);
    setenv("SRD_SPIN_US", "-3", 1);
    ck_assert_uint_eq(srdi_spin_env(50), 50);
    unsetenv("SRD_SPIN_US");
}
END_TEST

START_TEST(test_spin_needs_a_free_core)
{
    bool idle = false;
    ck_assert(srdi_spin_core_free_in("0.98 1.58 3.31 1/85 32089\n", 2, &idle));
    ck_assert(idle);
    ck_assert(srdi_spin_core_free_in("0.98 1.58 3.31 2/85 32089\n", 2, &idle));
    ck_assert(idle); /* the spinner and its peer: one core each */
    ck_assert(srdi_spin_core_free_in("3.00 1.58 3.31 3/85 32089\n", 2, &idle));
    ck_assert(!idle); /* a third runnable task: no core to spin on */
    ck_assert(srdi_spin_core_free_in("3.00 1.58 3.31 17/85 1\n", 16, &idle));
    ck_assert(!idle);
    static const char *const bad[] = {"", "0.98 1.58 3.31", "a b c d/e",
                                      "0.98 1.58 3.31 x/85 1",
                                      "0.98 1.58 3.31 7 1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        idle = true;
        ck_assert_msg(!srdi_spin_core_free_in(bad[i], 2, &idle), "'%s'",
                      bad[i]);
        ck_assert(idle); /* untouched */
    }
    /* The live check answers either way and can be turned off (the
     * choice is made once per process, so only check it runs). */
    (void)srdi_spin_core_free();
}
END_TEST

/* A wait's spin ends by its deadline: a call with 1 ms left spins at
 * most 1 ms whatever SRD_SPIN_US says, one past its deadline not at all,
 * one with no deadline the whole bound. */
START_TEST(test_spin_never_runs_past_the_deadline)
{
    ck_assert_uint_eq(srdi_spin_bound_within(50, -1), 50);
    ck_assert_uint_eq(srdi_spin_bound_within(10000, -1), 10000);
    ck_assert_uint_eq(srdi_spin_bound_within(10000, 1), 1000);
    ck_assert_uint_eq(srdi_spin_bound_within(10000, 0), 0);
    ck_assert_uint_eq(srdi_spin_bound_within(50, 0), 0);
    ck_assert_uint_eq(srdi_spin_bound_within(50, 1), 50);
    ck_assert_uint_eq(srdi_spin_bound_within(10000, 100), 10000);
    ck_assert_uint_eq(srdi_spin_bound_within(10000, INT64_MAX / 2), 10000);
    ck_assert_uint_eq(srdi_spin_bound_within(0, 5), 0);
}
END_TEST

static Suite *spin_suite(void)
{
    Suite *s = suite_create("spin_policy");
    TCase *tc = tcase_create("spin_policy");
    tcase_add_test(tc, test_spin_bound_is_parsed_strictly);
    tcase_add_test(tc, test_spin_bound_zero_never_spins);
    tcase_add_test(tc, test_spin_backs_off_after_misses_and_a_hit_resets_it);
    tcase_add_test(tc, test_spin_environment_is_read_and_a_bad_value_ignored);
    tcase_add_test(tc, test_spin_needs_a_free_core);
    tcase_add_test(tc, test_spin_never_runs_past_the_deadline);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(spin_suite());
}
