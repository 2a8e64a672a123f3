/* SPDX-License-Identifier: MIT */
/*
 * srdd_proc.c -- run a real srdd for a test (srdd_proc.h). Waiting uses
 * nanosleep, not nng_msleep: NNG must not be initialized in a process
 * that later forks a child using it.
 */
#define _GNU_SOURCE 1
#include "srdd_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define SRDD_START_POLLS 2000 /* x 5 ms */
#define SRDD_STOP_POLLS 4000  /* x 5 ms */

static void sleep_5ms(void)
{
    struct timespec ts = {0, 5000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* "<store><suffix>", malloc'd. */
static char *store_sibling(const char *store, const char *suffix)
{
    size_t n = strlen(store) + strlen(suffix) + 1;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s%s", store, suffix);
    return p;
}

pid_t tu_srdd_spawn(const char *store, const char *const *extra,
                    const tu_srdd_run *run)
{
#ifndef SRDD_PATH
    (void)store;
    (void)extra;
    (void)run;
    ck_abort_msg("srdd was not built (SRDD_PATH undefined)");
    return -1;
#else
    static const tu_srdd_run defaults = {0};
    if (!run)
        run = &defaults;
    char *log = run->log ? strdup(run->log) : store_sibling(store, ".log");
    const char *argv[32] = {SRDD_PATH, "--store", store, "--foreground"};
    int n = run->detach ? 3 : 4;
    for (; extra && *extra && n < 31; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) { /* no Check calls in here */
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0)
            dup2(fd, STDERR_FILENO);
        if (run->env)
            putenv((char *)run->env);
        execv(SRDD_PATH, (char *const *)argv);
        _exit(127);
    }
    free(log);
    return pid;
#endif
}

pid_t tu_srdd_announced_pid(const char *store)
{
    char *path = store_sibling(store, ".srdd");
    size_t len;
    uint8_t *b = tu_read_file(path, &len);
    free(path);
    pid_t pid = 0;
    if (b) {
        b[len] = '\0';
        if (strncmp((char *)b, "pid=", 4) == 0)
            pid = (pid_t)atol((char *)b + 4);
        free(b);
    }
    return pid;
}

pid_t tu_srdd_start(const char *store, const char *const *extra,
                    const tu_srdd_run *run)
{
    tu_srdd_run fg = run ? *run : (tu_srdd_run){0};
    fg.detach = false;
    pid_t pid = tu_srdd_spawn(store, extra, &fg);
    for (int i = 0; i < SRDD_START_POLLS && tu_srdd_announced_pid(store) != pid;
         i++) {
        int st = 0;
        ck_assert_msg(waitpid(pid, &st, WNOHANG) == 0,
                      "srdd exited early (status %d); see %s.log or the "
                      "log named by the test",
                      st, store);
        sleep_5ms();
    }
    ck_assert_msg(tu_srdd_announced_pid(store) == pid,
                  "srdd %ld did not announce itself in %s.srdd", (long)pid,
                  store);
    return pid;
}

int tu_srdd_stop(pid_t pid, int sig)
{
    int st = 0;
    pid_t got = 0;
    kill(pid, sig);
    for (int i = 0; i < SRDD_STOP_POLLS && got == 0; i++) {
        got = waitpid(pid, &st, WNOHANG);
        if (got == 0)
            sleep_5ms();
    }
    if (got == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    ck_assert_msg(got != 0, "srdd %ld did not exit after signal %d",
                  (long)pid, sig);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
