/* SPDX-License-Identifier: MIT */
/*
 * check_log.c -- tests of daemon/log.c: level names, filtering, and the
 * line format (UTC timestamp to the millisecond, pid, level, message),
 * one write per line even when the message is longer than the buffer.
 */
#define _GNU_SOURCE 1
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "testutil.h"

START_TEST(test_log_parse_level_knows_the_four_names)
{
    ck_assert_int_eq(log_parse_level("error"), LOG_LVL_ERROR);
    ck_assert_int_eq(log_parse_level("warn"), LOG_LVL_WARN);
    ck_assert_int_eq(log_parse_level("info"), LOG_LVL_INFO);
    ck_assert_int_eq(log_parse_level("debug"), LOG_LVL_DEBUG);
    ck_assert_int_eq(log_parse_level("INFO"), -1);
    ck_assert_int_eq(log_parse_level("warning"), -1);
    ck_assert_int_eq(log_parse_level(""), -1);
    ck_assert_int_eq(log_parse_level(NULL), -1);
}
END_TEST

static void log_each_level(void *ctx)
{
    (void)ctx;
    log_set_level(LOG_LVL_WARN);
    log_error("e %d", 1);
    log_warn("w %s", "two");
    log_info("i");
    log_debug("d");
}

START_TEST(test_log_drops_lines_above_the_level)
{
    char *out = tu_stderr_of(log_each_level, NULL);
    ck_assert_ptr_nonnull(strstr(out, "error: e 1\n"));
    ck_assert_ptr_nonnull(strstr(out, "warn: w two\n"));
    ck_assert_ptr_null(strstr(out, "info:"));
    ck_assert_ptr_null(strstr(out, "debug:"));
    ck_assert(log_enabled(LOG_LVL_ERROR) && log_enabled(LOG_LVL_WARN));
    ck_assert(!log_enabled(LOG_LVL_INFO));
    free(out);
}
END_TEST

static void log_one_info(void *ctx)
{
    (void)ctx;
    log_set_level(LOG_LVL_INFO);
    log_info("serving %s", "/tmp/x.srd");
}

START_TEST(test_log_line_has_utc_time_pid_level_and_message)
{
    char *out = tu_stderr_of(log_one_info, NULL);
    char pattern[128];
    snprintf(pattern, sizeof pattern,
             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\."
             "[0-9]{3}Z srdd\\[%ld\\] info: serving /tmp/x\\.srd\n$",
             (long)getpid());
    regex_t re;
    ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    ck_assert_msg(regexec(&re, out, 0, NULL, 0) == 0, "bad line: %s", out);
    regfree(&re);
    free(out);
}
END_TEST

static void log_huge(void *ctx)
{
    (void)ctx;
    static char big[5000];
    memset(big, 'x', sizeof big - 1);
    log_set_level(LOG_LVL_INFO);
    log_error("%s", big);
    log_error("after");
}

START_TEST(test_log_long_message_is_cut_to_one_line)
{
    char *out = tu_stderr_of(log_huge, NULL);
    char *nl = strchr(out, '\n');
    ck_assert_ptr_nonnull(nl);
    ck_assert_uint_le((size_t)(nl - out) + 1, 1024);
    ck_assert_int_eq(nl[-1], 'x');
    ck_assert_ptr_nonnull(strstr(nl + 1, "error: after\n"));
    free(out);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");
    tcase_add_test(tc, test_log_parse_level_knows_the_four_names);
    tcase_add_test(tc, test_log_drops_lines_above_the_level);
    tcase_add_test(tc, test_log_line_has_utc_time_pid_level_and_message);
    tcase_add_test(tc, test_log_long_message_is_cut_to_one_line);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(log_suite());
}
