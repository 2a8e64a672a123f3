/* SPDX-License-Identifier: MIT */
/*
 * client_harness.h -- helpers for the client-mode integration suites
 * (check_client.c, check_multiproc.c): run a real srdd, re-run the test
 * binary as a child process in a named role, and fingerprint what a handle
 * sees. Header-only (static inline) so each suite links nothing extra.
 */
#ifndef SRD_CLIENT_HARNESS_H
#define SRD_CLIENT_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "srdd_proc.h"
#include "testutil.h"

static inline uint64_t ch_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline void ch_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static inline bool ch_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* ---- per-test fixture --------------------------------------------------- */

/* A fresh folder with the store path in it, and the srdd serving it (if
 * any; killed by ch_teardown). One per test process (Check forks). */
static char *g_dir;
static char *g_store;
static pid_t g_srdd = -1;

static inline void ch_setup(void)
{
    g_dir = tu_tmpdir();
    g_store = tu_join(g_dir, "s.srd");
    g_srdd = -1;
}

static inline void ch_teardown(void)
{
    if (g_srdd > 0)
        tu_srdd_stop(g_srdd, SIGKILL);
    tu_rmtree(g_dir);
    free(g_store);
    free(g_dir);
}

static inline void start_srdd(const char *const *extra)
{
    g_srdd = tu_srdd_start(g_store, extra, NULL);
}

static inline int stop_srdd(int sig)
{
    int status = tu_srdd_stop(g_srdd, sig);
    g_srdd = -1;
    return status;
}

/* Open g_store with the default options plus flags; *rc the result. */
static inline srd_store *ch_open_flags(unsigned flags, srd_err *rc)
{
    srd_options o;
    srd_options_init(&o);
    o.flags |= flags;
    srd_store *st = NULL;
    *rc = srd_open(g_store, &o, &st);
    return st;
}

/* Open g_store in client mode; the test fails if that does not work. */
static inline srd_store *ch_open_client(void)
{
    srd_err rc;
    srd_store *st = ch_open_flags(SRD_OPEN_CLIENT, &rc);
    ck_assert_msg(rc == SRD_OK, "client open: %s", srd_errname(rc));
    return st;
}

/* Copy the file name of the test's folder (a log) to stdout, for a
 * failing test. */
static inline void ch_print_log(const char *name)
{
    char *log = tu_join(g_dir, name);
    size_t len = 0;
    uint8_t *text = tu_read_file(log, &len);
    printf("---- %s ----\n%.*s---- end ----\n", log, (int)len,
           text ? (const char *)text : "");
    fflush(stdout);
    free(text);
    free(log);
}

/* Copy srdd's log ("<store>.log") to stdout, for a failing test. */
static inline void ch_print_srdd_log(void) { ch_print_log("s.srd.log"); }

/* ---- child processes ---------------------------------------------------- */

typedef struct ch_child {
    pid_t pid;
    int in;   /* write end of the child's stdin */
    int out;  /* read end of the child's stdout */
    FILE *rd; /* fdopen(out) */
} ch_child;

/*
 * Run this test binary again as "<self> child <role> args..." (exec, so
 * the child starts with no threads and no NNG state of ours). argv ends
 * with NULL.
 */
static inline ch_child ch_spawn(const char *const *argv)
{
    int to[2], from[2];
    ck_assert_int_eq(pipe(to), 0);
    ck_assert_int_eq(pipe(from), 0);
    const char *full[32] = {"/proc/self/exe", "child"};
    int n = 2;
    for (int i = 0; argv[i] && n < 31; i++)
        full[n++] = argv[i];
    full[n] = NULL;
    ch_child c = {.pid = fork()};
    ck_assert_int_ge(c.pid, 0);
    if (c.pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        execv("/proc/self/exe", (char *const *)full);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    c.in = to[1];
    c.out = from[0];
    c.rd = fdopen(c.out, "r");
    return c;
}

/* Read one line from the child (NUL-terminated, newline stripped);
 * false at end of output. */
static inline bool ch_line(ch_child *c, char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, c->rd))
        return false;
    buf[strcspn(buf, "\n")] = '\0';
    return true;
}

/* Send one line to the child's stdin. */
static inline void ch_say(ch_child *c, const char *line)
{
    size_t n = strlen(line);
    ck_assert_int_eq(write(c->in, line, n), (ssize_t)n);
    ck_assert_int_eq(write(c->in, "\n", 1), 1);
}

/* Wait for the child; returns its exit code (128 + signal if killed). */
static inline int ch_wait(ch_child *c)
{
    int status = 0;
    close(c->in);
    if (c->rd)
        fclose(c->rd);
    waitpid(c->pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status)
                             : 128 + WTERMSIG(status);
}

/* ---- what a handle sees ------------------------------------------------- */

/* An order-independent fingerprint of the live entries and the tail. */
typedef struct ch_state {
    unsigned long long count, sum, tail;
} ch_state;

static inline ch_state ch_state_of(srd_store *st)
{
    ch_state s = {0, 0, 0};
    srd_iter *it;
    srd_view v;
    if (srd_iter_open(st, &it) != SRD_OK)
        return s;
    while (srd_iter_next(it, &v) == SRD_OK) {
        s.count++;
        s.sum += (v.key_hash * 0x9E3779B97F4A7C15ull) ^
                 srd_key_hash(v.data, v.len);
        srd_view_release(&v);
    }
    srd_iter_close(it);
    uint64_t tail = 0;
    srd_tail(st, &tail);
    s.tail = tail;
    return s;
}

static inline bool ch_state_eq(ch_state a, ch_state b)
{
    return a.count == b.count && a.sum == b.sum && a.tail == b.tail;
}

static inline void ch_state_fmt(ch_state s, char *buf, size_t cap)
{
    snprintf(buf, cap, "%llu %llu %llu", s.count, s.sum, s.tail);
}

static inline bool ch_state_parse(const char *line, ch_state *s)
{
    return sscanf(line, "%llu %llu %llu", &s->count, &s->sum, &s->tail) == 3;
}

/* The state of store read fresh from the file (a read-only handle). */
static inline ch_state ch_state_fresh(const char *store)
{
    srd_store *st;
    ck_srd(tu_open(store, SRD_OPEN_READONLY, &st));
    ch_state s = ch_state_of(st);
    srd_close(st);
    return s;
}

/* Poll st until it shows want (nothing else is done to it), at most
 * limit_ms; returns the milliseconds it took or -1. */
static inline long ch_await_state(srd_store *st, ch_state want,
                                  unsigned limit_ms)
{
    uint64_t t0 = ch_now_us();
    while (ch_now_us() - t0 < (uint64_t)limit_ms * 1000u) {
        if (ch_state_eq(ch_state_of(st), want))
            return (long)((ch_now_us() - t0) / 1000u);
        ch_sleep_ms(2);
    }
    return -1;
}

/* Child side of a convergence check: read the expected state from stdin,
 * wait for st to show it, print "converged <ms>" or the state seen. */
static inline int ch_child_converge(srd_store *st, unsigned limit_ms)
{
    char line[256];
    ch_state want;
    if (!fgets(line, sizeof line, stdin) || !ch_state_parse(line, &want))
        return 2;
    long ms = ch_await_state(st, want, limit_ms);
    if (ms < 0) {
        ch_state_fmt(ch_state_of(st), line, sizeof line);
        printf("diverged: have %s\n", line);
        return 1;
    }
    printf("converged %ld\n", ms);
    return 0;
}

/* Open store in client mode or exit (child processes). A loaded machine
 * (sanitizers, parallel suites) may need more than one try. */
static inline srd_store *ch_child_open(const char *store)
{
    srd_options o;
    srd_options_init(&o);
    o.flags = SRD_OPEN_CLIENT;
    srd_store *st = NULL;
    srd_err rc;
    uint64_t t0 = ch_now_us();
    while ((rc = srd_open(store, &o, &st)) != SRD_OK &&
           (rc == SRD_EUNREACHABLE || rc == SRD_ETIMEDOUT) &&
           ch_now_us() - t0 < 10000000u)
        ch_sleep_ms(50);
    if (rc != SRD_OK) {
        printf("open failed: %s\n", srd_errname(rc));
        fflush(stdout);
        _exit(3);
    }
    return st;
}

/* ---- main --------------------------------------------------------------- */

/* Add test fn to tc, unless SRD_CHECK_ONLY=<substring> names others. */
#define CH_ADD_TEST(tc, fn)                                               \
    do {                                                                  \
        const char *only_ = getenv("SRD_CHECK_ONLY");                     \
        if (!only_ || strstr(#fn, only_))                                 \
            tcase_add_test(tc, fn);                                       \
    } while (0)

/* A child role: "<self> child <name> args..." runs fn(args) when at least
 * argc args are given. */
typedef struct ch_role {
    const char *name;
    int argc;
    int (*fn)(char **argv);
} ch_role;

/* main() of a suite with child roles (roles ends with a NULL name). */
static inline int ch_main(int argc, char **argv, const ch_role *roles,
                          Suite *(*suite)(void))
{
    if (argc >= 3 && !strcmp(argv[1], "child")) {
        for (const ch_role *r = roles; r->name; r++)
            if (!strcmp(argv[2], r->name) && argc - 3 >= r->argc)
                return r->fn(argv + 3);
        fprintf(stderr, "unknown child role %s\n", argv[2]);
        return 2;
    }
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

#endif
