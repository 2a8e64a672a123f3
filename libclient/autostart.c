/* SPDX-License-Identifier: MIT */
/*
 * autostart.c -- find and start srdd for a store by itself (see
 * autostart.h). srdd is run without --foreground: it daemonizes itself
 * (fork, setsid) and its first process exits with srdd's readiness status
 * once it serves, so waiting for that process is waiting for readiness and
 * the daemon is left to init. posix_spawn, not fork: the caller may have
 * many threads and a large heap.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "autostart.h"
#include "envnum.h"
#include "errno_map.h"
#include "handover.h"

#define AS_EXIT_LOCKED 3 /* srdd: the store is locked by another writer */
#define AS_POLL_NS 2000000L

bool srdi_autostart_enabled(unsigned flags)
{
    if (flags & (SRD_OPEN_EMBEDDED | SRD_OPEN_READONLY | SRD_OPEN_CLIENT))
        return false;
    const char *v = getenv("SRD_AUTOSTART");
    return !(v && strcmp(v, "0") == 0);
}

static bool as_executable(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && access(p, X_OK) == 0;
}

static bool as_take(char *out, size_t cap, const char *p)
{
    if (!as_executable(p) || strlen(p) >= cap)
        return false;
    memcpy(out, p, strlen(p) + 1);
    return true;
}

/* "srdd" in one of PATH's directories. */
static bool as_on_path(char *out, size_t cap)
{
    const char *path = getenv("PATH");
    while (path && *path) {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        char cand[PATH_MAX];
        if (n > 0 && n < INT32_MAX &&
            snprintf(cand, sizeof cand, "%.*s/srdd", (int)n, path) <
                (int)sizeof cand &&
            as_take(out, cap, cand))
            return true;
        path = colon ? colon + 1 : NULL;
    }
    return false;
}

srd_err srdi_autostart_find(char *out, size_t cap, char *why, size_t why_cap)
{
    const char *env = getenv("SRD_SRDD");
    if (env && *env) {
        if (as_take(out, cap, env))
            return SRD_OK;
        snprintf(why, why_cap, "SRD_SRDD=%s is not an executable file", env);
        return SRD_ENOENT;
    }
#ifdef SRD_INSTALL_SRDD
    if (as_take(out, cap, SRD_INSTALL_SRDD))
        return SRD_OK;
#endif
    if (as_on_path(out, cap))
        return SRD_OK;
#ifdef SRD_BUILD_SRDD
    if (as_take(out, cap, SRD_BUILD_SRDD))
        return SRD_OK;
#endif
    snprintf(why, why_cap, "no srdd to start: not in SRD_SRDD, the install "
                           "prefix or PATH");
    return SRD_ENOENT;
}

void srdi_autostart_conf_init(srdi_autostart_conf *conf, srd_sync_mode sync,
                              unsigned sync_ms)
{
    conf->sync = sync;
    conf->sync_ms = sync_ms ? sync_ms : 100;
    conf->idle_s = srdi_env_uint("SRD_AUTOSTART_IDLE", SRDI_AUTOSTART_IDLE_S,
                                 1, 604800);
    conf->timeout_ms = srdi_env_uint("SRD_AUTOSTART_TIMEOUT_MS",
                                     SRDI_AUTOSTART_TIMEOUT_MS, 1, 3600000);
    conf->taker[0] = 0;
}

/* environ without SRDI_HANDOVER_TAKER, plus conf's (malloc'd array of
 * borrowed strings; *var holds the added one). NULL: out of memory. */
static char **as_env(const srdi_autostart_conf *conf, char *var, size_t cap)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0, plen = strlen(SRDI_HANDOVER_TAKER "=");
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], SRDI_HANDOVER_TAKER "=", plen) != 0)
            env[k++] = environ[i];
    if (conf->taker[0]) {
        snprintf(var, cap, "%s=%s", SRDI_HANDOVER_TAKER, conf->taker);
        env[k++] = var;
    }
    env[k] = NULL;
    return env;
}

static uint64_t as_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* stdin/stdout on /dev/null, stderr appended to the log; a session of
 * its own; the default action for the signals srdd stops on (a caller
 * such as Python may ignore some, and that is inherited across exec). */
static int as_prepare(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at,
                      int log_fd)
{
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGHUP);
    int r = posix_spawn_file_actions_init(fa);
    if (r)
        return r;
    r = posix_spawnattr_init(at);
    if (r) {
        posix_spawn_file_actions_destroy(fa);
        return r;
    }
    if (!r)
        r = posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null",
                                             O_RDONLY, 0);
    if (!r)
        r = posix_spawn_file_actions_addopen(fa, STDOUT_FILENO, "/dev/null",
                                             O_WRONLY, 0);
    if (!r)
        r = posix_spawn_file_actions_adddup2(fa, log_fd, STDERR_FILENO);
    if (!r)
        r = posix_spawnattr_setsigmask(at, &none);
    if (!r)
        r = posix_spawnattr_setsigdefault(at, &dfl);
    if (!r)
        r = posix_spawnattr_setflags(at, POSIX_SPAWN_SETSID |
                                             POSIX_SPAWN_SETSIGMASK |
                                             POSIX_SPAWN_SETSIGDEF);
    if (r) {
        posix_spawn_file_actions_destroy(fa);
        posix_spawnattr_destroy(at);
    }
    return r;
}

/* Reap pid within timeout_ms: its wait status, or -1 when it did not end
 * (then it is killed: it only waits for the daemon's report). */
static int as_reap(pid_t pid, unsigned timeout_ms)
{
    uint64_t end = as_now_ms() + timeout_ms;
    const struct timespec pause = {0, AS_POLL_NS};
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (as_now_ms() >= end) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        nanosleep(&pause, NULL);
    }
}

static srd_err as_result(int status, const char *log, const char *bin,
                         unsigned timeout_ms, char *why, size_t why_cap)
{
    if (status < 0) {
        snprintf(why, why_cap, "srdd (%s) did not report serving within "
                 "%u ms; see %s", bin, timeout_ms, log);
        return SRD_ETIMEDOUT;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return SRD_OK;
    if (WIFEXITED(status) && WEXITSTATUS(status) == AS_EXIT_LOCKED) {
        snprintf(why, why_cap, "the srdd started found the store locked by "
                 "another writer; see %s", log);
        return SRD_EBUSY;
    }
    snprintf(why, why_cap, "srdd (%s) failed to start (%s %d); see %s", bin,
             WIFEXITED(status) ? "exit status" : "signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log);
    return SRD_EUNREACHABLE;
}

/* The argument words: srdd --store PATH --idle-exit N --sync MODE. */
static void as_argv(const char *bin, const char *path,
                    const srdi_autostart_conf *conf, char idle[16],
                    char sync[32], char *argv[8])
{
    snprintf(idle, 16, "%u", conf->idle_s);
    if (conf->sync == SRD_SYNC_INTERVAL)
        snprintf(sync, 32, "interval:%u", conf->sync_ms);
    else
        snprintf(sync, 32, "%s",
                 conf->sync == SRD_SYNC_NEVER ? "never" : "always");
    argv[0] = (char *)bin;
    argv[1] = (char *)"--store";
    argv[2] = (char *)path;
    argv[3] = (char *)"--idle-exit";
    argv[4] = idle;
    argv[5] = (char *)"--sync";
    argv[6] = sync;
    argv[7] = NULL;
}

srd_err srdi_autostart_spawn(const char *path, const srdi_autostart_conf *conf,
                             char *why, size_t why_cap)
{
    char bin[PATH_MAX], log[PATH_MAX + 16];
    srd_err rc = srdi_autostart_find(bin, sizeof bin, why, why_cap);
    if (rc != SRD_OK)
        return rc;
    snprintf(log, sizeof log, "%s.srdd.log", path);
    int log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        snprintf(why, why_cap, "cannot open srdd's log %s: %s", log,
                 strerror(errno));
        return srdi_errno(errno);
    }
    char idle[16], sync[32], *argv[8];
    as_argv(bin, path, conf, idle, sync, argv);
    char var[128];
    char **env = as_env(conf, var, sizeof var);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    pid_t pid = -1;
    int r = env ? as_prepare(&fa, &at, log_fd) : ENOMEM;
    if (!r) {
        r = posix_spawn(&pid, bin, &fa, &at, argv, env);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&at);
    }
    free(env);
    close(log_fd);
    if (r) {
        snprintf(why, why_cap, "cannot run %s: %s", bin, strerror(r));
        return srdi_errno(r);
    }
    return as_result(as_reap(pid, conf->timeout_ms), log, bin,
                     conf->timeout_ms, why, why_cap);
}
