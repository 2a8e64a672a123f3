/* SPDX-License-Identifier: MIT */
/*
 * srdd_proc.h -- run a real srdd for a test: spawn it on a store, wait
 * until that very process announced itself in "<store>.srdd", and stop it
 * with a deadline. One launcher for every multi-process suite.
 */
#ifndef SRD_SRDD_PROC_H
#define SRD_SRDD_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* How to run srdd besides "--store STORE" and the extra arguments. */
typedef struct tu_srdd_run {
    const char *log; /* stderr appended here; NULL: "<store>.log" */
    const char *env; /* one "NAME=VALUE" put in its environment, or NULL */
    bool detach;     /* leave out --foreground (srdd daemonizes) */
} tu_srdd_run;

/* Fork/exec srdd with extra arguments (NULL-terminated, may be NULL);
 * run may be NULL. Does not wait. */
pid_t tu_srdd_spawn(const char *store, const char *const *extra,
                    const tu_srdd_run *run);

/* The pid "<store>.srdd" names, or 0 when there is no such file. */
pid_t tu_srdd_announced_pid(const char *store);

/* Spawn srdd in the foreground and wait (up to 10 s) until it announced
 * itself: a stale file left by a killed srdd does not count. The test
 * fails if srdd exits first or never announces itself. */
pid_t tu_srdd_start(const char *store, const char *const *extra,
                    const tu_srdd_run *run);

/* Send sig to pid and reap it: its exit code, or 128 + signal. One that
 * has not exited after 20 s is killed and the test fails. */
int tu_srdd_stop(pid_t pid, int sig);

#endif
