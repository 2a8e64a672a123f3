/* SPDX-License-Identifier: MIT */
/*
 * check_autostart.c -- many processes on one store with no operator step
 * (libclient/autostart.c, handover.c, registry.c, multiproc.c): srdd
 * started detached and stopping when idle, the hand-over request and its
 * listener, a second process's open turning both into clients of one
 * srdd, the opt-outs, sharing within one process, fork, and the races
 * (two openers, the holder SIGKILLed while asked, srdd SIGKILLed, srdd
 * that cannot start). Every process is real: child processes re-run this
 * binary ("child"), srdd is the real one (SRD_SRDD).
 */
#define _GNU_SOURCE 1
#include <sys/socket.h>

#include "autostart.h"
#include "client_harness.h"
#include "handover.h"

/* srdd that stops one second after its last client left: a test waits
 * for that instead of killing it. */
static void as_setup(void)
{
    ch_setup();
    setenv("SRD_SRDD", SRDD_PATH, 1);
    setenv("SRD_AUTOSTART_IDLE", "1", 1);
    unsetenv("SRD_AUTOSTART");
}

/* The srdd a test started by itself, if it is still there: killed. */
static void as_teardown(void)
{
    pid_t p = tu_srdd_announced_pid(g_store);
    if (p > 0 && kill(p, 0) == 0)
        kill(p, SIGKILL);
    char *pidf = tu_join(g_dir, "slow.pid");
    size_t len = 0;
    uint8_t *t = tu_read_file(pidf, &len);
    if (t && atoi((const char *)t) > 0)
        kill(atoi((const char *)t), SIGKILL);
    free(t);
    free(pidf);
    ch_teardown();
}

/* Wait (up to 30 s) until no srdd serves g_store any more: the one
 * started by itself stops when idle and removes its discovery file. */
static void await_srdd_gone(void)
{
    char *disc = tu_join(g_dir, "s.srd.srdd");
    uint64_t t0 = ch_now_us();
    while (ch_exists(disc) && ch_now_us() - t0 < 30000000u)
        ch_sleep_ms(20);
    ck_assert_msg(!ch_exists(disc), "srdd did not stop when idle");
    free(disc);
}

/* Whether pid runs (a zombie nobody reaped yet does not count: srdd's
 * daemon is left to init). */
static bool pid_alive(pid_t pid)
{
    char name[64], buf[256];
    snprintf(name, sizeof name, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(name, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *rp = strrchr(buf, ')');
    return !(rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'));
}

/* Wait (up to 30 s) until pid has ended. */
static void await_pid_gone(pid_t pid)
{
    uint64_t t0 = ch_now_us();
    while (pid_alive(pid) && ch_now_us() - t0 < 30000000u)
        ch_sleep_ms(10);
    ck_assert_msg(!pid_alive(pid), "pid %d still runs", (int)pid);
}

static srd_store *open_default(const char *path, srd_err *rc)
{
    srd_store *st = NULL;
    *rc = srd_open(path, NULL, &st);
    return st;
}

static bool is_client(srd_store *st)
{
    srd_info i;
    ck_srd(srd_get_info(st, &i));
    return i.daemon;
}

static void put_s(srd_store *st, const char *k, const char *v)
{
    ck_srd(srd_put(st, tu_s(k), tu_s(v)));
}

/* Read k through st, waiting (up to 10 s) for another process's write. */
static void await_value(srd_store *st, const char *k, const char *v)
{
    char buf[256];
    size_t n = 0;
    uint64_t t0 = ch_now_us();
    srd_err rc;
    while ((rc = srd_get_copy(st, tu_s(k), buf, sizeof buf, &n)) !=
               SRD_OK &&
           ch_now_us() - t0 < 10000000u) {
        srd_refresh(st, NULL);
        ch_sleep_ms(5);
    }
    ck_assert_msg(rc == SRD_OK, "%s: %s", k, srd_errname(rc));
    ck_assert_int_eq((int)n, (int)strlen(v));
    ck_assert(memcmp(buf, v, n) == 0);
}

/* What the file holds, read by a fresh read-only handle. */
static void expect_in_file(const char *k, const char *v)
{
    srd_store *st;
    ck_srd(tu_open(g_store, SRD_OPEN_READONLY, &st));
    await_value(st, k, v);
    srd_close(st);
}

/* ---- child roles -------------------------------------------------------- */

/* Open path with the defaults plus flags (a number, or NULL); on failure
 * print srd_open_why() and return NULL with *rc set. */
static srd_store *child_open(const char *path, const char *flags,
                             srd_err *rc)
{
    srd_options o;
    srd_options_init(&o);
    if (flags)
        o.flags |= (unsigned)strtoul(flags, NULL, 0);
    srd_store *st = NULL;
    *rc = srd_open(path, &o, &st);
    if (*rc != SRD_OK)
        printf("why %s\n", srd_open_why());
    fflush(stdout);
    return st;
}

static const char *mode_of(srd_store *st)
{
    srd_info i;
    srd_get_info(st, &i);
    return i.daemon ? "client" : "embedded";
}

/* "open-put STORE KEY VALUE [FLAGS]": open (flags added to the defaults),
 * put, print "client" or "embedded", close. Exit 0, or 10 + the error of
 * the open (its srd_open_why printed) or 60 + the put's. */
static int child_open_put(char **argv)
{
    srd_err rc;
    srd_store *st = child_open(argv[0], argv[3], &rc);
    if (!st)
        return 10 + (int)rc;
    printf("%s\n", mode_of(st));
    fflush(stdout);
    rc = srd_put(st, tu_s(argv[1]), tu_s(argv[2]));
    srd_err rc2 = srd_close(st);
    return rc != SRD_OK ? 60 + (int)rc : (rc2 != SRD_OK ? 90 : 0);
}

/* "hold STORE [FLAGS]": open, print "ready <mode>", then run commands
 * from stdin: "put K V" prints the result's name, "mode" the mode;
 * end of input closes and exits. */
static int child_hold(char **argv)
{
    srd_err rc;
    srd_store *st = child_open(argv[0], argv[1], &rc);
    if (!st)
        return 10 + (int)rc;
    printf("ready %s\n", mode_of(st));
    fflush(stdout);
    char line[512], k[200], v[200];
    while (fgets(line, sizeof line, stdin)) {
        if (sscanf(line, "put %199s %199s", k, v) == 2)
            printf("%s\n", srd_errname(srd_put(st, tu_s(k), tu_s(v))));
        else
            printf("%s\n", mode_of(st));
        fflush(stdout);
    }
    return srd_close(st) == SRD_OK ? 0 : 1;
}

static ch_child spawn_hold(const char *flags)
{
    const char *argv[] = {"hold", g_store, flags, NULL};
    ch_child c = ch_spawn(argv);
    char line[128];
    ck_assert(ch_line(&c, line, sizeof line));
    ck_assert_str_eq(line, "ready embedded");
    return c;
}

static int run_open_put(const char *k, const char *v, const char *flags,
                        char *first, size_t cap)
{
    const char *argv[] = {"open-put", g_store, k, v, flags, NULL};
    ch_child c = ch_spawn(argv);
    if (!ch_line(&c, first, cap))
        first[0] = 0;
    return ch_wait(&c);
}

static void hold_cmd(ch_child *c, const char *cmd, const char *want)
{
    char line[256];
    ch_say(c, cmd);
    ck_assert(ch_line(c, line, sizeof line));
    ck_assert_str_eq(line, want);
}

/* ---- autostart.c -------------------------------------------------------- */

START_TEST(test_autostart_find_takes_srd_srdd_and_refuses_a_bad_one)
{
    char bin[4096], why[256] = "";
    ck_srd(srdi_autostart_find(bin, sizeof bin, why, sizeof why));
    ck_assert_str_eq(bin, SRDD_PATH);
    setenv("SRD_SRDD", "/nonexistent/srdd", 1);
    ck_assert_int_eq(srdi_autostart_find(bin, sizeof bin, why, sizeof why),
                     SRD_ENOENT);
    ck_assert_ptr_nonnull(strstr(why, "/nonexistent/srdd"));
}
END_TEST

START_TEST(test_autostart_spawn_serves_logs_and_stops_when_idle)
{
    srdi_autostart_conf conf;
    srdi_autostart_conf_init(&conf, SRD_SYNC_ALWAYS, 0);
    ck_assert_uint_eq(conf.idle_s, 1);
    char why[512] = "";
    ck_assert_msg(srdi_autostart_spawn(g_store, &conf, why, sizeof why) ==
                      SRD_OK, "%s", why);
    pid_t p = tu_srdd_announced_pid(g_store);
    ck_assert_int_gt(p, 0);
    ck_assert(pid_alive(p));
    srd_err rc;
    srd_store *st = ch_open_flags(SRD_OPEN_CLIENT, &rc);
    ck_srd(rc);
    put_s(st, "k", "v");
    ck_srd(srd_close(st));
    await_srdd_gone();
    await_pid_gone(p); /* its last line is written */
    char *log = tu_join(g_dir, "s.srd.srdd.log");
    size_t len = 0;
    char *text = (char *)tu_read_file(log, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(memmem(text, len, "serving", 7));
    ck_assert_ptr_nonnull(memmem(text, len, "--idle-exit", 11));
    free(text);
    free(log);
    expect_in_file("k", "v");
}
END_TEST

START_TEST(test_autostart_spawn_on_a_locked_store_is_ebusy)
{
    srd_err rc;
    srd_store *st = ch_open_flags(SRD_OPEN_EMBEDDED, &rc);
    ck_srd(rc);
    srdi_autostart_conf conf;
    srdi_autostart_conf_init(&conf, SRD_SYNC_ALWAYS, 0);
    char why[512] = "";
    ck_assert_int_eq(srdi_autostart_spawn(g_store, &conf, why, sizeof why),
                     SRD_EBUSY);
    ck_assert_ptr_nonnull(strstr(why, "locked"));
    ck_srd(srd_close(st));
}
END_TEST

/* ---- handover.c --------------------------------------------------------- */

static srd_err answer_eio(void *ctx, char *why, size_t cap)
{
    ++*(int *)ctx;
    snprintf(why, cap, "not today");
    return SRD_EIO;
}

static srd_err answer_ok(void *ctx, char *why, size_t cap)
{
    (void)why;
    (void)cap;
    ++*(int *)ctx;
    return SRD_OK;
}

START_TEST(test_handover_answer_carries_the_result_and_why)
{
    srd_err ans = SRD_OK;
    char why[SRDI_HANDOVER_WHY];
    ck_assert_int_eq(srdi_handover_ask(1, 77, 1000, &ans, why, sizeof why),
                     SRD_EUNREACHABLE); /* nobody listens */
    int calls = 0;
    srdi_handover *h;
    ck_srd(srdi_handover_listen(1, 77, answer_eio, &calls, &h));
    srdi_handover *h2;
    ck_assert_int_eq(srdi_handover_listen(1, 77, answer_eio, &calls, &h2),
                     SRD_EEXIST);
    ck_srd(srdi_handover_ask(1, 77, 5000, &ans, why, sizeof why));
    ck_assert_int_eq(ans, SRD_EIO);
    ck_assert_str_eq(why, "not today");
    ck_srd(srdi_handover_ask(1, 77, 5000, &ans, why, sizeof why));
    ck_assert_int_eq(calls, 2); /* a failed hand-over keeps listening */
    srdi_handover_stop(h);
    ck_assert_int_eq(srdi_handover_ask(1, 77, 1000, &ans, why, sizeof why),
                     SRD_EUNREACHABLE);
}
END_TEST

START_TEST(test_handover_success_ends_the_listener)
{
    int calls = 0;
    srdi_handover *h;
    ck_srd(srdi_handover_listen(1, 78, answer_ok, &calls, &h));
    srd_err ans = SRD_EIO;
    char why[SRDI_HANDOVER_WHY];
    ck_srd(srdi_handover_ask(1, 78, 5000, &ans, why, sizeof why));
    ck_assert_int_eq(ans, SRD_OK);
    /* the role is gone: a later asker finds nobody (after the thread
     * closed the socket) */
    srd_err t;
    uint64_t t0 = ch_now_us();
    while ((t = srdi_handover_ask(1, 78, 1000, &ans, why, sizeof why)) !=
               SRD_EUNREACHABLE &&
           ch_now_us() - t0 < 5000000u)
        ch_sleep_ms(5);
    ck_assert_int_eq(t, SRD_EUNREACHABLE);
    ck_assert_int_eq(calls, 1);
    srdi_handover_stop(h);
}
END_TEST

/* A fork() child must not keep the name bound: after the parent stops
 * listening, an asker is refused at once instead of waiting on a socket
 * nobody accepts on. */
START_TEST(test_handover_fork_child_does_not_keep_the_socket)
{
    int calls = 0;
    srdi_handover *h;
    ck_srd(srdi_handover_listen(1, 79, answer_eio, &calls, &h));
    int p[2], up[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(pipe(up), 0);
    pid_t kid = fork();
    ck_assert_int_ge(kid, 0);
    if (kid == 0) {
        char c = 'u';
        close(p[1]);
        ssize_t r = write(up[1], &c, 1); /* past fork(): its handlers ran */
        r = read(p[0], &c, 1);           /* parent closes: we end */
        (void)r;
        srdi_handover_stop(h); /* the child's copy: no thread to join */
        _exit(0);
    }
    close(p[0]);
    char c;
    ck_assert_int_eq(read(up[0], &c, 1), 1);
    srdi_handover_stop(h);
    srd_err ans;
    char why[SRDI_HANDOVER_WHY];
    ck_assert_int_eq(srdi_handover_ask(1, 79, 3000, &ans, why, sizeof why),
                     SRD_EUNREACHABLE);
    close(p[1]);
    int status;
    ck_assert_int_eq(waitpid(kid, &status, 0), kid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/* ---- srd_open across processes ------------------------------------------ */

START_TEST(test_second_process_open_makes_both_clients_of_one_srdd)
{
    srd_err rc;
    srd_store *a = open_default(g_store, &rc);
    ck_srd(rc);
    ck_assert(!is_client(a)); /* alone: embedded, as ever */
    put_s(a, "a", "1");
    srd_view v;
    ck_srd(srd_get(a, tu_s("a"), &v)); /* held across the hand-over */
    char first[256];
    int code = run_open_put("b", "2", NULL, first, sizeof first);
    if (code != 0)
        ch_print_log("s.srd.srdd.log");
    ck_assert_msg(code == 0, "exit %d: %s", code, first);
    ck_assert_str_eq(first, "client");
    ck_assert(is_client(a)); /* handed over: srdd's client now */
    ck_assert(v.len == 1 && memcmp(v.data, "1", 1) == 0);
    srd_view_release(&v);
    await_value(a, "b", "2");
    put_s(a, "c", "3"); /* through srdd */
    pid_t p = tu_srdd_announced_pid(g_store);
    ck_assert_int_gt(p, 0);
    ck_srd(srd_close(a));
    await_srdd_gone();
    await_pid_gone(p);
    expect_in_file("a", "1");
    expect_in_file("b", "2");
    expect_in_file("c", "3");
    /* and a lone process is the embedded writer again */
    a = open_default(g_store, &rc);
    ck_srd(rc);
    ck_assert(!is_client(a));
    ck_srd(srd_close(a));
}
END_TEST

START_TEST(test_two_processes_asking_at_once_both_become_clients)
{
    ch_child holder = spawn_hold(NULL);
    hold_cmd(&holder, "put h 0", "SRD_OK");
    const char *a1[] = {"open-put", g_store, "x", "1", NULL};
    const char *a2[] = {"open-put", g_store, "y", "2", NULL};
    ch_child c1 = ch_spawn(a1), c2 = ch_spawn(a2);
    char l1[256], l2[256];
    ck_assert(ch_line(&c1, l1, sizeof l1));
    ck_assert(ch_line(&c2, l2, sizeof l2));
    ck_assert_str_eq(l1, "client");
    ck_assert_str_eq(l2, "client");
    ck_assert_int_eq(ch_wait(&c1), 0);
    ck_assert_int_eq(ch_wait(&c2), 0);
    hold_cmd(&holder, "mode", "client");
    hold_cmd(&holder, "put h 1", "SRD_OK");
    ck_assert_int_eq(ch_wait(&holder), 0);
    await_srdd_gone();
    expect_in_file("x", "1");
    expect_in_file("y", "2");
    expect_in_file("h", "1");
}
END_TEST

START_TEST(test_opt_outs_keep_ebusy_and_say_why)
{
    ch_child holder = spawn_hold(NULL);
    char first[512], flags[16];
    snprintf(flags, sizeof flags, "%u", SRD_OPEN_EMBEDDED);
    ck_assert_int_eq(run_open_put("k", "v", flags, first, sizeof first),
                     10 + SRD_EBUSY);
    ck_assert_ptr_nonnull(strstr(first, "SRD_OPEN_EMBEDDED"));
    setenv("SRD_AUTOSTART", "0", 1);
    ck_assert_int_eq(run_open_put("k", "v", NULL, first, sizeof first),
                     10 + SRD_EBUSY);
    ck_assert_ptr_nonnull(strstr(first, "SRD_AUTOSTART=0"));
    unsetenv("SRD_AUTOSTART");
    hold_cmd(&holder, "mode", "embedded"); /* nothing was handed over */
    ck_assert_int_eq(ch_wait(&holder), 0);
    /* a holder that opted out does not hand over either */
    snprintf(flags, sizeof flags, "%u", SRD_OPEN_EMBEDDED);
    holder = spawn_hold(flags);
    ck_assert_int_eq(run_open_put("k", "v", NULL, first, sizeof first),
                     10 + SRD_EBUSY);
    ck_assert_ptr_nonnull(strstr(first, "does not hand over"));
    hold_cmd(&holder, "put k held", "SRD_OK");
    ck_assert_int_eq(ch_wait(&holder), 0);
    expect_in_file("k", "held");
}
END_TEST

/* srdd cannot start: the holder takes its writer back and keeps working;
 * the asker gets SRD_EBUSY saying so. */
START_TEST(test_srdd_that_cannot_start_leaves_the_holder_the_writer)
{
    setenv("SRD_SRDD", "/bin/false", 1);
    ch_child holder = spawn_hold(NULL);
    hold_cmd(&holder, "put k 1", "SRD_OK");
    setenv("SRD_SRDD", SRDD_PATH, 1);
    char first[512];
    ck_assert_int_eq(run_open_put("k", "2", NULL, first, sizeof first),
                     10 + SRD_EBUSY);
    ck_assert_ptr_nonnull(strstr(first, "failed to start"));
    hold_cmd(&holder, "mode", "embedded");
    hold_cmd(&holder, "put k 3", "SRD_OK");
    ck_assert_int_eq(ch_wait(&holder), 0);
    expect_in_file("k", "3");
}
END_TEST

/* The holder is SIGKILLed while it starts srdd for an asker: the asker
 * opens once the lock is free, with every acknowledged write. */
/* An "srdd" that never serves: it records its pid in slow.pid (the
 * holder is then inside its hand-over, the lock released) and sleeps.
 * as_teardown kills it. Returns its path for SRD_SRDD. */
static char *make_slow_srdd(void)
{
    char *slow = tu_join(g_dir, "slow-srdd");
    char script[512];
    snprintf(script, sizeof script, "#!/bin/sh\necho $$ > %s/slow.pid\n"
             "exec sleep 30\n", g_dir);
    ck_assert_int_eq(tu_write_file(slow, script, strlen(script)), 0);
    ck_assert_int_eq(chmod(slow, 0700), 0);
    return slow;
}

static void await_slow_srdd(void)
{
    char *pidf = tu_join(g_dir, "slow.pid");
    uint64_t t0 = ch_now_us();
    while (!ch_exists(pidf) && ch_now_us() - t0 < 30000000u)
        ch_sleep_ms(5);
    ck_assert(ch_exists(pidf));
    free(pidf);
}

/* Between the holder's release of the lock and its srdd's start nobody
 * else may take the store: an opener that gets the lock then sees the
 * holder's listener and backs off (SRD_EBUSY), so the hand-over's failure
 * leaves the holder the writer again. */
START_TEST(test_nobody_takes_the_store_while_it_is_handed_over)
{
    char *slow = make_slow_srdd();
    setenv("SRD_SRDD", slow, 1);
    setenv("SRD_AUTOSTART_TIMEOUT_MS", "3000", 1);
    ch_child holder = spawn_hold(NULL);
    hold_cmd(&holder, "put k 1", "SRD_OK");
    setenv("SRD_SRDD", SRDD_PATH, 1);
    setenv("SRD_AUTOSTART_TIMEOUT_MS", "60000", 1); /* the asker waits */
    const char *argv[] = {"open-put", g_store, "k", "2", NULL};
    ch_child asker = ch_spawn(argv);
    await_slow_srdd(); /* the window is open now */
    srd_store *e = NULL;
    ck_assert_int_eq(tu_open(g_store, SRD_OPEN_EMBEDDED, &e), SRD_EBUSY);
    char line[512];
    ck_assert(ch_line(&asker, line, sizeof line));
    ck_assert_msg(strstr(line, "did not report serving"), "%s", line);
    ck_assert_int_eq(ch_wait(&asker), 10 + SRD_EBUSY);
    hold_cmd(&holder, "mode", "embedded"); /* took its writer back */
    hold_cmd(&holder, "put k 3", "SRD_OK");
    ck_assert_int_eq(ch_wait(&holder), 0);
    expect_in_file("k", "3");
    free(slow);
}
END_TEST

START_TEST(test_holder_killed_while_asked_leaves_a_working_open)
{
    char *slow = make_slow_srdd();
    setenv("SRD_SRDD", slow, 1);
    ch_child holder = spawn_hold(NULL);
    hold_cmd(&holder, "put k acked", "SRD_OK");
    setenv("SRD_SRDD", SRDD_PATH, 1);
    pid_t killer = fork();
    ck_assert_int_ge(killer, 0);
    if (killer == 0) {
        await_slow_srdd(); /* the holder is in the hand-over */
        kill(holder.pid, SIGKILL);
        _exit(0);
    }
    srd_err rc;
    srd_store *st = open_default(g_store, &rc);
    ck_assert_msg(rc == SRD_OK, "%s: %s", srd_errname(rc), srd_open_why());
    ck_assert(!is_client(st)); /* the lock was free: the writer now */
    await_value(st, "k", "acked");
    ck_srd(srd_close(st));
    ck_assert_int_eq(ch_wait(&holder), 128 + SIGKILL);
    waitpid(killer, NULL, 0);
    free(slow);
}
END_TEST

/* srdd SIGKILLed under its clients: their writes fail with a clear error,
 * reads go on, and the next opener becomes the writer. */
START_TEST(test_srdd_killed_fails_writes_clearly_and_the_next_open_works)
{
    setenv("SRD_TIMEOUT_MS", "500", 1);
    srd_err rc;
    srd_store *a = open_default(g_store, &rc);
    ck_srd(rc);
    put_s(a, "a", "1");
    char first[256];
    ck_assert_int_eq(run_open_put("b", "2", NULL, first, sizeof first), 0);
    ck_assert(is_client(a));
    pid_t p = tu_srdd_announced_pid(g_store);
    ck_assert_int_gt(p, 0);
    ck_assert_int_eq(kill(p, SIGKILL), 0);
    await_pid_gone(p);
    rc = srd_put(a, tu_s("c"), tu_s("3"));
    ck_assert_msg(rc == SRD_EUNREACHABLE || rc == SRD_ETIMEDOUT, "%s",
                  srd_errname(rc));
    await_value(a, "b", "2");
    ck_assert_int_eq(run_open_put("d", "4", NULL, first, sizeof first), 0);
    ck_assert_str_eq(first, "embedded");
    ck_srd(srd_close(a));
    expect_in_file("a", "1");
    expect_in_file("b", "2");
    expect_in_file("d", "4");
}
END_TEST

/* ---- one process -------------------------------------------------------- */

START_TEST(test_second_open_in_one_process_shares_the_handle)
{
    srd_err rc;
    srd_store *a = open_default(g_store, &rc);
    ck_srd(rc);
    srd_store *b = open_default(g_store, &rc);
    ck_srd(rc);
    ck_assert_ptr_eq(a, b);
    /* the same store under another name (a symlinked folder) too */
    char *link = tu_join(g_dir, "alias");
    ck_assert_int_eq(symlink(g_dir, link), 0);
    char *other = tu_join(link, "s.srd");
    srd_store *c = open_default(other, &rc);
    ck_srd(rc);
    ck_assert_ptr_eq(a, c);
    put_s(b, "k", "v");
    ck_srd(srd_close(a));
    ck_srd(srd_close(c));
    await_value(b, "k", "v"); /* still open: one reference left */
    put_s(b, "k", "v2");
    srd_store *e;
    ck_assert_int_eq(tu_open(g_store, SRD_OPEN_EMBEDDED, &e), SRD_EBUSY);
    ck_assert_ptr_nonnull(strstr(srd_open_why(), "SRD_OPEN_EMBEDDED"));
    ck_srd(srd_close(b));
    ck_srd(tu_open(g_store, SRD_OPEN_EMBEDDED, &e)); /* released */
    await_value(e, "k", "v2");
    ck_srd(srd_close(e));
    free(other);
    free(link);
}
END_TEST

/* A fork() child does not share its parent's handle: its own open asks the
 * parent to hand over, and both end up clients. */
START_TEST(test_forked_child_opens_its_own_handle)
{
#if defined(__SANITIZE_THREAD__)
    /* TSan cannot start threads in the child of a multi-threaded fork():
     * this test runs in the plain and ASan builds. */
    printf("skipped under ThreadSanitizer\n");
    return;
#endif
    srd_err rc;
    srd_store *a = open_default(g_store, &rc);
    ck_srd(rc);
    put_s(a, "a", "1");
    pid_t kid = fork();
    ck_assert_int_ge(kid, 0);
    if (kid == 0) {
        int code = 0;
        srd_store *b = open_default(g_store, &rc);
        if (rc != SRD_OK)
            code = 10 + (int)rc;
        else if (b == a)
            code = 2;
        else if (srd_put(a, tu_s("x"), tu_s("x")) != SRD_EFORKED)
            code = 3;
        else if (srd_put(b, tu_s("b"), tu_s("2")) != SRD_OK)
            code = 4;
        else if (!is_client(b))
            code = 5;
        srd_close(b);
        srd_close(a);
        _exit(code);
    }
    int status;
    ck_assert_int_eq(waitpid(kid, &status, 0), kid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child exit %d", WEXITSTATUS(status));
    ck_assert(is_client(a));
    await_value(a, "b", "2");
    ck_srd(srd_close(a));
    await_srdd_gone();
    expect_in_file("a", "1");
}
END_TEST

static Suite *autostart_suite(void)
{
    Suite *s = suite_create("autostart");
    TCase *tc = tcase_create("autostart");
    tcase_add_checked_fixture(tc, as_setup, as_teardown);
    tcase_set_timeout(tc, 120);
    CH_ADD_TEST(tc, test_autostart_find_takes_srd_srdd_and_refuses_a_bad_one);
    CH_ADD_TEST(tc, test_autostart_spawn_serves_logs_and_stops_when_idle);
    CH_ADD_TEST(tc, test_autostart_spawn_on_a_locked_store_is_ebusy);
    CH_ADD_TEST(tc, test_handover_answer_carries_the_result_and_why);
    CH_ADD_TEST(tc, test_handover_success_ends_the_listener);
    CH_ADD_TEST(tc, test_handover_fork_child_does_not_keep_the_socket);
    CH_ADD_TEST(tc, test_second_process_open_makes_both_clients_of_one_srdd);
    CH_ADD_TEST(tc, test_two_processes_asking_at_once_both_become_clients);
    CH_ADD_TEST(tc, test_opt_outs_keep_ebusy_and_say_why);
    CH_ADD_TEST(tc, test_srdd_that_cannot_start_leaves_the_holder_the_writer);
    CH_ADD_TEST(tc, test_nobody_takes_the_store_while_it_is_handed_over);
    CH_ADD_TEST(tc, test_holder_killed_while_asked_leaves_a_working_open);
    CH_ADD_TEST(tc,
                test_srdd_killed_fails_writes_clearly_and_the_next_open_works);
    CH_ADD_TEST(tc, test_second_open_in_one_process_shares_the_handle);
    CH_ADD_TEST(tc, test_forked_child_opens_its_own_handle);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    static const ch_role roles[] = {
        {"open-put", 3, child_open_put},
        {"hold", 1, child_hold},
        {NULL, 0, NULL},
    };
    return ch_main(argc, argv, roles, autostart_suite);
}
