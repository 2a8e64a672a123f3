/* SPDX-License-Identifier: MIT */
/*
 * check_assert.c -- tests of libclient/srd_assert.h: a failed SRD_ASSERT
 * aborts with the expression and file:line on stderr in Debug builds and
 * does nothing (not even evaluate) with NDEBUG; SRD_ASSERT_ALWAYS aborts
 * in every build; a true check does nothing. Each failing check runs in a
 * forked child whose stderr goes to a pipe.
 */
#define _GNU_SOURCE 1
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "srd_assert.h"
#include "testutil.h"

static int g_evaluated;

static int evaluated(int v)
{
    g_evaluated++;
    return v;
}

/* Run fn in a child; returns its wait status, its stderr in buf. */
static int run_child(void (*fn)(void), char *buf, size_t cap)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], STDERR_FILENO);
        fn();
        _exit(0);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t k;
    while (n + 1 < cap && (k = read(p[0], buf + n, cap - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = '\0';
    close(p[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

static void fail_debug(void)
{
    SRD_ASSERT(evaluated(1) + 1 == 3);
}

static void fail_always(void)
{
    SRD_ASSERT_ALWAYS(evaluated(2) == 3);
}

static void aborted_naming(int status, const char *err, const char *expr)
{
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                  "the child was not aborted (status %d)", status);
    ck_assert_ptr_nonnull(strstr(err, "srd: invariant violated: "));
    ck_assert_msg(strstr(err, expr), "'%s' lacks '%s'", err, expr);
    ck_assert_ptr_nonnull(strstr(err, "check_assert.c:"));
}

START_TEST(test_failed_assert_aborts_with_expression_and_place)
{
    char err[512];
    int status = run_child(fail_debug, err, sizeof err);
#ifdef NDEBUG
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_str_eq(err, "");
#else
    aborted_naming(status, err, "evaluated(1) + 1 == 3");
#endif
}
END_TEST

START_TEST(test_failed_assert_always_aborts_in_every_build)
{
    char err[512];
    int status = run_child(fail_always, err, sizeof err);
    aborted_naming(status, err, "evaluated(2) == 3");
}
END_TEST

START_TEST(test_true_checks_do_nothing)
{
    g_evaluated = 0;
    SRD_ASSERT(evaluated(1) == 1);
    SRD_ASSERT_ALWAYS(evaluated(1) == 1);
#ifdef NDEBUG
    ck_assert_int_eq(g_evaluated, 1); /* SRD_ASSERT is not evaluated */
#else
    ck_assert_int_eq(g_evaluated, 2);
#endif
}
END_TEST

static Suite *assert_suite(void)
{
    Suite *s = suite_create("assert");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_failed_assert_aborts_with_expression_and_place);
    tcase_add_test(tc, test_failed_assert_always_aborts_in_every_build);
    tcase_add_test(tc, test_true_checks_do_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(assert_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
