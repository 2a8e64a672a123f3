/* SPDX-License-Identifier: MIT */
/*
 * check_options.c -- tests of daemon/options.c, srdd's command line: the
 * defaults, every option's value, and every bad value refused with a
 * message naming the option (numbers parsed strictly: no sign, no
 * trailing junk, no overflow, no silent truncation).
 */
#define _GNU_SOURCE 1
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "options.h"
#include "spin.h"
#include "testutil.h"
#include "wire.h"

#define MAX_ARGS 32

typedef struct parse_call {
    int argc;
    char **argv;
    srdd_options *o;
    int rc;
} parse_call;

static void parse_run(void *ctx)
{
    parse_call *c = ctx;
    c->rc = options_parse(c->argc, c->argv, c->o);
}

/* Parse "srdd" + the given words; stderr is captured into err (4 KiB). */
static int parse_words(srdd_options *o, char *err, const char *first, ...)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)"srdd";
    va_list ap;
    va_start(ap, first);
    for (const char *w = first; w && argc < MAX_ARGS; w = va_arg(ap, const char *))
        argv[argc++] = (char *)w;
    va_end(ap);
    argv[argc] = NULL;

    parse_call c = {argc, argv, o, 0};
    char *text = tu_stderr_of(parse_run, &c);
    snprintf(err, 4096, "%s", text);
    free(text);
    return c.rc;
}

#define PARSE(o, err, ...) parse_words((o), (err), __VA_ARGS__, (const char *)NULL)

START_TEST(test_options_defaults_with_only_a_store)
{
    srdd_options o;
    char err[4096];
    unsetenv("SRD_SPIN_US");
    ck_assert_int_eq(PARSE(&o, err, "--store", "/tmp/x.srd"), 0);
    ck_assert_str_eq(o.store, "/tmp/x.srd");
    ck_assert_ptr_null(o.listen);
    ck_assert_ptr_null(o.publish);
    ck_assert_int_eq(o.sync, SRD_SYNC_ALWAYS);
    ck_assert_uint_eq(o.max_message, SRDI_WIRE_MAX_DEFAULT);
    ck_assert_uint_eq(o.n_uids, 0);
    ck_assert_uint_eq(o.socket_mode, 0600);
    ck_assert(!o.foreground);
    ck_assert_int_eq(o.log_level, LOG_LVL_INFO);
    ck_assert_uint_eq(o.stream_idle_ms, 60000);
    ck_assert_uint_eq(o.contexts, 64);
    ck_assert(o.auto_ratio == 0);
    ck_assert_uint_eq(o.auto_min_dead, 1u << 20);
    ck_assert_uint_eq(o.idle_exit_s, 0); /* never stops by itself */
    ck_assert_uint_eq(o.spin_us, SRDI_SPIN_DEFAULT_US);
    ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(test_options_every_value_is_taken)
{
    srdd_options o;
    char err[4096];
    ck_assert_int_eq(PARSE(&o, err, "--store", "s", "--listen", "ipc:///a",
                           "--publish", "ipc:///b", "--sync", "interval:250",
                           "--max-message", "4096", "--allow-uid", "1000",
                           "--allow-uid", "0", "--socket-mode", "0660",
                           "--foreground", "--log-level", "debug"),
                     0);
    ck_assert_str_eq(o.listen, "ipc:///a");
    ck_assert_str_eq(o.publish, "ipc:///b");
    ck_assert_int_eq(o.sync, SRD_SYNC_INTERVAL);
    ck_assert_uint_eq(o.sync_ms, 250);
    ck_assert_uint_eq(o.max_message, 4096);
    ck_assert_uint_eq(o.n_uids, 2);
    ck_assert_uint_eq(o.uids[0], 1000);
    ck_assert_uint_eq(o.uids[1], 0);
    ck_assert_uint_eq(o.socket_mode, 0660);
    ck_assert(o.foreground);
    ck_assert_int_eq(o.log_level, LOG_LVL_DEBUG);
    ck_assert_int_eq(PARSE(&o, err, "--store", "s", "--stream-idle-ms", "10",
                           "--contexts", "1024", "--auto-compact", "0.25",
                           "--auto-compact-min-dead", "0", "--sync", "never",
                           "--idle-exit", "30"),
                     0);
    ck_assert_uint_eq(o.idle_exit_s, 30);
    ck_assert_uint_eq(o.stream_idle_ms, 10);
    ck_assert_uint_eq(o.contexts, 1024);
    ck_assert(o.auto_ratio == 0.25);
    ck_assert_uint_eq(o.auto_min_dead, 0);
    ck_assert_int_eq(o.sync, SRD_SYNC_NEVER);
}
END_TEST

/* Each bad value: refused, and the message names the option. */
static const struct bad_case {
    const char *opt, *val, *named;
} bad_cases[] = {
    {"--sync", "sometimes", "--sync"},
    {"--sync", "interval:0", "--sync"},
    {"--sync", "interval:3600001", "--sync"},
    {"--sync", "interval:10ms", "--sync"},
    {"--max-message", "1023", "--max-message"},
    {"--max-message", "2147483649", "--max-message"},
    {"--max-message", "-5", "--max-message"},
    {"--max-message", "+4096", "--max-message"},
    {"--max-message", "4096k", "--max-message"},
    {"--max-message", " 4096", "--max-message"},
    {"--max-message", "99999999999999999999999", "--max-message"},
    {"--allow-uid", "alice", "--allow-uid"},
    {"--allow-uid", "4294967295", "--allow-uid"},
    {"--socket-mode", "0800", "--socket-mode"},
    {"--socket-mode", "1777", "--socket-mode"},
    {"--log-level", "loud", "--log-level"},
    {"--stream-idle-ms", "9", "--stream-idle-ms"},
    {"--contexts", "0", "--contexts"},
    {"--contexts", "1025", "--contexts"},
    {"--auto-compact", "0", "--auto-compact"},
    {"--auto-compact", "1", "--auto-compact"},
    {"--auto-compact", "0.5x", "--auto-compact"},
    {"--auto-compact", "nan", "--auto-compact"},
    {"--auto-compact-min-dead", "-1", "--auto-compact-min-dead"},
    {"--idle-exit", "0", "--idle-exit"},
    {"--idle-exit", "604801", "--idle-exit"},
    {"--idle-exit", "10s", "--idle-exit"},
    {"--spin-us", "-1", "--spin-us"},
    {"--spin-us", "+5", "--spin-us"},
    {"--spin-us", " 5", "--spin-us"},
    {"--spin-us", "", "--spin-us"},
    {"--spin-us", "5us", "--spin-us"},
    {"--spin-us", "10001", "--spin-us"},
    {"--spin-us", "99999999999999999999999", "--spin-us"},
};

START_TEST(test_options_bad_value_is_refused_naming_the_option)
{
    const struct bad_case *c = &bad_cases[_i];
    srdd_options o;
    char err[4096];
    ck_assert_msg(PARSE(&o, err, "--store", "s", c->opt, c->val) == -1,
                  "%s %s was accepted", c->opt, c->val);
    ck_assert_msg(strstr(err, c->named) != NULL,
                  "%s %s: the message does not name the option: %s", c->opt,
                  c->val, err);
    ck_assert_msg(strstr(err, "usage:") != NULL, "no usage line: %s", err);
}
END_TEST

/* --spin-us: 0 (never) to 10000; without it SRD_SPIN_US is the default,
 * and a value of it that does not parse is named on stderr and ignored. */
START_TEST(test_options_spin_us_and_its_environment_default)
{
    srdd_options o;
    char err[4096];
    ck_assert_int_eq(PARSE(&o, err, "--store", "s", "--spin-us", "0"), 0);
    ck_assert_uint_eq(o.spin_us, 0);
    ck_assert_int_eq(PARSE(&o, err, "--store", "s", "--spin-us", "10000"), 0);
    ck_assert_uint_eq(o.spin_us, 10000);
    setenv("SRD_SPIN_US", "7", 1);
    ck_assert_int_eq(PARSE(&o, err, "--store", "s"), 0);
    ck_assert_uint_eq(o.spin_us, 7);
    ck_assert_int_eq(PARSE(&o, err, "--store", "s", "--spin-us", "3"), 0);
    ck_assert_uint_eq(o.spin_us, 3); /* the option wins */
    setenv("SRD_SPIN_US", "lots", 1);
    ck_assert_int_eq(PARSE(&o, err, "--store", "s"), 0);
    ck_assert_uint_eq(o.spin_us, SRDI_SPIN_DEFAULT_US);
    ck_assert_msg(strstr(err, "SRD_SPIN_US=lots") != NULL, "%s", err);
    unsetenv("SRD_SPIN_US");
}
END_TEST

START_TEST(test_options_store_is_required)
{
    srdd_options o;
    char err[4096];
    ck_assert_int_eq(PARSE(&o, err, "--foreground"), -1);
    ck_assert_ptr_nonnull(strstr(err, "--store"));
    ck_assert_int_eq(PARSE(&o, err, "--store", ""), -1);
    ck_assert_ptr_nonnull(strstr(err, "--store"));
}
END_TEST

START_TEST(test_options_unknown_option_and_stray_argument_are_refused)
{
    srdd_options o;
    char err[4096];
    ck_assert_int_eq(PARSE(&o, err, "--store", "s", "--colour"), -1);
    ck_assert_ptr_nonnull(strstr(err, "--colour"));
    ck_assert_int_eq(PARSE(&o, err, "--store", "s", "extra"), -1);
    ck_assert_ptr_nonnull(strstr(err, "extra"));
    ck_assert_int_eq(PARSE(&o, err, "--store"), -1); /* missing value */
}
END_TEST

START_TEST(test_options_allow_uid_holds_at_most_the_maximum)
{
    char *argv[2 * OPTIONS_MAX_UIDS + 6];
    char uids[OPTIONS_MAX_UIDS + 1][16];
    int argc = 0;
    argv[argc++] = (char *)"srdd";
    argv[argc++] = (char *)"--store";
    argv[argc++] = (char *)"s";
    for (int i = 0; i <= OPTIONS_MAX_UIDS; i++) {
        snprintf(uids[i], sizeof uids[i], "%d", 1000 + i);
        argv[argc++] = (char *)"--allow-uid";
        argv[argc++] = uids[i];
    }
    argv[argc] = NULL;
    srdd_options o;
    ck_assert_int_eq(options_parse(argc - 2, argv, &o), 0);
    ck_assert_uint_eq(o.n_uids, OPTIONS_MAX_UIDS);
    ck_assert_uint_eq(o.uids[OPTIONS_MAX_UIDS - 1], 1000 + OPTIONS_MAX_UIDS - 1);
    ck_assert_int_eq(options_parse(argc, argv, &o), -1);
}
END_TEST

START_TEST(test_options_help_and_version_say_so_and_stop)
{
    srdd_options o;
    char err[4096];
    ck_assert_int_eq(PARSE(&o, err, "--help"), 1);
    ck_assert_int_eq(PARSE(&o, err, "--store", "s", "--version"), 1);
    ck_assert_str_eq(err, "");
}
END_TEST

static Suite *options_suite(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_options_defaults_with_only_a_store);
    tcase_add_test(tc, test_options_every_value_is_taken);
    tcase_add_loop_test(tc, test_options_bad_value_is_refused_naming_the_option,
                        0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, test_options_spin_us_and_its_environment_default);
    tcase_add_test(tc, test_options_store_is_required);
    tcase_add_test(tc, test_options_unknown_option_and_stray_argument_are_refused);
    tcase_add_test(tc, test_options_allow_uid_holds_at_most_the_maximum);
    tcase_add_test(tc, test_options_help_and_version_say_so_and_stop);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(options_suite());
}
