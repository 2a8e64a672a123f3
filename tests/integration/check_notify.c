/* SPDX-License-Identifier: MIT */
/*
 * check_notify.c -- srdd's systemd readiness protocol (daemon/notify.c),
 * as systemd sees it: a real srdd in the foreground with $NOTIFY_SOCKET
 * naming a datagram socket of the test. READY=1 must arrive only once
 * srdd serves (its discovery file is written), STOPPING=1 after SIGTERM,
 * and a store srdd refuses must send no READY=1. Built only when srdd is
 * built with libsystemd.
 */
#define _GNU_SOURCE 1
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "srdd_proc.h"
#include "testutil.h"

enum { NOTIFY_WAIT_MS = 20000 };

static char *dir;
static char *store;
static int sock = -1;
static char env[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];

static void fixture_up(void)
{
    dir = tu_tmpdir();
    store = tu_join(dir, "s.db");
    char *path = tu_join(dir, "notify");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
    strcpy(sa.sun_path, path);
    sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(sock, 0);
    ck_assert_int_eq(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
    snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s", path);
    free(path);
}

static void fixture_down(void)
{
    if (sock >= 0)
        close(sock);
    sock = -1;
    tu_rmtree(dir);
    free(dir);
    free(store);
}

/* The next datagram srdd sent, NUL-terminated in buf; false when none came
 * within the deadline (a hang guard, not a timing assertion). */
static bool notify_recv(char *buf, size_t cap)
{
    struct pollfd p = {.fd = sock, .events = POLLIN};
    int n;
    while ((n = poll(&p, 1, NOTIFY_WAIT_MS)) < 0 && errno == EINTR)
        ;
    if (n <= 0)
        return false;
    ssize_t got = recv(sock, buf, cap - 1, 0);
    if (got < 0)
        return false;
    buf[got] = '\0';
    return true;
}

START_TEST(ready_after_announce_and_stopping_on_sigterm)
{
    tu_srdd_run run = {.env = env};
    pid_t pid = tu_srdd_spawn(store, NULL, &run);
    char msg[512];
    ck_assert_msg(notify_recv(msg, sizeof(msg)), "no READY=1 from srdd");
    ck_assert_msg(strstr(msg, "READY=1") != NULL, "got '%s'", msg);
    ck_assert_msg(strstr(msg, "STATUS=serving /") != NULL, "got '%s'", msg);
    /* Ready means serving: the discovery file names this very process. */
    ck_assert_int_eq(tu_srdd_announced_pid(store), pid);

    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_msg(notify_recv(msg, sizeof(msg)), "no STOPPING=1 from srdd");
    ck_assert_msg(strstr(msg, "STOPPING=1") != NULL, "got '%s'", msg);
    ck_assert_int_eq(tu_srdd_stop(pid, SIGTERM), 0);
}
END_TEST

START_TEST(no_ready_when_the_store_is_refused)
{
    /* A file that is not a store: srdd exits 1 without serving. */
    static const char junk[] = "this is not a store file at all, not one bit";
    ck_assert_int_eq(tu_write_file(store, junk, sizeof(junk)), 0);
    tu_srdd_run run = {.env = env};
    pid_t pid = tu_srdd_spawn(store, NULL, &run);
    ck_assert_int_eq(tu_srdd_stop(pid, 0), 1);
    char msg[512];
    int n = (int)recv(sock, msg, sizeof(msg) - 1, MSG_DONTWAIT);
    ck_assert_msg(n < 0, "srdd notified although it failed: %.*s",
                  n > 0 ? n : 0, msg);
}
END_TEST

static Suite *notify_suite(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("sd_notify");
    tcase_add_checked_fixture(tc, fixture_up, fixture_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ready_after_announce_and_stopping_on_sigterm);
    tcase_add_test(tc, no_ready_when_the_store_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(notify_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
