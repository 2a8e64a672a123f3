/* SPDX-License-Identifier: MIT */
/*
 * check_envnum.c -- tests of libclient/envnum.c: a setting read from the
 * environment is taken only when it is a decimal number inside its range;
 * anything else (unset, empty, signs, spaces, suffixes, hex, overflow,
 * out of range) gives the default.
 */
#define _GNU_SOURCE 1
#include <stdlib.h>

#include "envnum.h"
#include "testutil.h"

#define VAR "SRD_TEST_ENVNUM"

static unsigned with(const char *value)
{
    if (value)
        setenv(VAR, value, 1);
    else
        unsetenv(VAR);
    return srdi_env_uint(VAR, 7, 1, 1000);
}

START_TEST(test_numbers_in_range_are_taken)
{
    ck_assert_uint_eq(with("1"), 1);
    ck_assert_uint_eq(with("250"), 250);
    ck_assert_uint_eq(with("1000"), 1000);
    ck_assert_uint_eq(with("0042"), 42);
}
END_TEST

START_TEST(test_anything_else_gives_the_default)
{
    static const char *const bad[] = {"", "0", "1001", "-1", "-0", "+5",
                                      " 5", "5 ", "5ms", "0x10", "1e3",
                                      "99999999999999999999999"};
    ck_assert_uint_eq(with(NULL), 7);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(with(bad[i]) == 7, "'%s' was taken", bad[i]);
}
END_TEST

START_TEST(test_zero_is_taken_when_the_range_allows_it)
{
    setenv(VAR, "0", 1);
    ck_assert_uint_eq(srdi_env_uint(VAR, 3, 0, 1), 0);
    setenv(VAR, "2", 1);
    ck_assert_uint_eq(srdi_env_uint(VAR, 3, 0, 1), 3);
    unsetenv(VAR);
}
END_TEST

static Suite *envnum_suite(void)
{
    Suite *s = suite_create("envnum");
    TCase *tc = tcase_create("envnum");
    tcase_add_test(tc, test_numbers_in_range_are_taken);
    tcase_add_test(tc, test_anything_else_gives_the_default);
    tcase_add_test(tc, test_zero_is_taken_when_the_range_allows_it);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(envnum_suite());
}
