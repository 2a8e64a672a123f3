/* SPDX-License-Identifier: MIT */
/*
 * check_spin.c -- the request path's spin before blocking (PROTOCOL.md,
 * "Spinning before blocking") against a real srdd: with the client's
 * spin (SRD_SPIN_US) and srdd's (--spin-us) off, on, tiny (the reply
 * arrives just as most spins end: the blocking read after a spin must
 * still get it) and long, many blocking round trips from two processes
 * and two threads sharing a handle are all acknowledged and all stored;
 * each side spins exactly when its setting says so (the client's counts,
 * srdd's log line at exit). No timing is asserted.
 */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <signal.h>

#include "client_harness.h"
#include "client_impl.h"
#include "store_impl.h"

#define SP_PUTS 400 /* per thread or process */

typedef struct spin_case {
    const char *srdd_us, *client_us, *sync;
} spin_case;

static const spin_case cases[] = {
    {"0", "0", "never"},     {"0", "200", "never"}, {"200", "0", "never"},
    {"200", "200", "never"}, {"1", "1", "never"},   {"30", "30", "never"},
    {"10000", "10000", "never"}, {"200", "200", "always"},
};

static void sp_key(char *k, size_t cap, const char *who, int i)
{
    snprintf(k, cap, "%s:%d", who, i);
}

/* SP_PUTS blocking puts of keys "<who>:<i>" (value: the key twice); the
 * first failure's name, or NULL. */
static const char *sp_puts(srd_store *st, const char *who)
{
    char k[64], v[130];
    for (int i = 0; i < SP_PUTS; i++) {
        sp_key(k, sizeof k, who, i);
        snprintf(v, sizeof v, "%s%s", k, k);
        srd_err rc = srd_put(st, tu_s(k), tu_s(v));
        if (rc != SRD_OK)
            return srd_errname(rc);
    }
    return NULL;
}

/* Child "putter STORE WHO": the puts through its own client handle,
 * then "ok SPINS" (or "fail WHY") on stdout. */
static int child_putter(char **argv)
{
    srd_options o;
    srd_options_init(&o);
    o.flags = SRD_OPEN_CLIENT;
    srd_store *st = NULL;
    srd_err rc = srd_open(argv[0], &o, &st);
    if (rc != SRD_OK) {
        printf("fail open %s\n", srd_errname(rc));
        return 1;
    }
    const char *why = sp_puts(st, argv[1]);
    uint64_t spins = 0, hits = 0;
    srdi_cl_spin_counts(st->client, &spins, &hits);
    if (why)
        printf("fail %s\n", why);
    else
        printf("ok %llu\n", (unsigned long long)spins);
    srd_close(st);
    return why ? 1 : 0;
}

typedef struct sp_thr {
    srd_store *st;
    char who[16];
    const char *why;
} sp_thr;

static void *sp_thread(void *arg)
{
    sp_thr *t = arg;
    t->why = sp_puts(t->st, t->who);
    return NULL;
}

/* Every key of who holds its value. */
static void sp_expect(srd_store *st, const char *who)
{
    char k[64], v[130];
    for (int i = 0; i < SP_PUTS; i++) {
        sp_key(k, sizeof k, who, i);
        snprintf(v, sizeof v, "%s%s", k, k);
        srd_view view;
        ck_srd(srd_get(st, tu_s(k), &view));
        ck_assert_uint_eq(view.len, strlen(v));
        ck_assert(memcmp(view.data, v, view.len) == 0);
        srd_view_release(&view);
    }
}

/* srdd's exit line: how many times its loop spun. */
static unsigned long long sp_srdd_spins(void)
{
    char *log = tu_join(g_dir, "s.srd.log");
    size_t len = 0;
    char *text = (char *)tu_read_file(log, &len);
    free(log);
    ck_assert_ptr_nonnull(text);
    const char *at = strstr(text, "request loop: spun ");
    ck_assert_msg(at, "no spin line in srdd's log:\n%s", text);
    unsigned long long n = strtoull(at + strlen("request loop: spun "),
                                    NULL, 10);
    free(text);
    return n;
}

START_TEST(test_blocking_round_trips_are_acked_with_every_spin_setting)
{
    const spin_case *c = &cases[_i];
    /* spins are asserted: not skipped because the machine is busy */
    setenv("SRD_SPIN_CORE_CHECK", "0", 1);
    const char *extra[] = {"--sync", c->sync, "--spin-us", c->srdd_us, NULL};
    start_srdd(extra);
    setenv("SRD_SPIN_US", c->client_us, 1);
    ch_child kids[2];
    for (int i = 0; i < 2; i++) {
        char who[16];
        snprintf(who, sizeof who, "p%d", i);
        const char *argv[] = {"putter", g_store, who, NULL};
        kids[i] = ch_spawn(argv);
    }
    srd_store *st = ch_open_client();
    sp_thr t[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        t[i] = (sp_thr){.st = st};
        snprintf(t[i].who, sizeof t[i].who, "t%d", i);
        ck_assert_int_eq(pthread_create(&th[i], NULL, sp_thread, &t[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(!t[i].why, "thread put: %s", t[i].why);
    }
    bool client_spins = strcmp(c->client_us, "0") != 0;
    for (int i = 0; i < 2; i++) {
        char line[128];
        ck_assert(ch_line(&kids[i], line, sizeof line));
        unsigned long long spins = 0;
        ck_assert_msg(sscanf(line, "ok %llu", &spins) == 1, "child: %s",
                      line);
        ck_assert_msg(client_spins ? spins > 0 : spins == 0,
                      "child spun %llu times with SRD_SPIN_US=%s", spins,
                      c->client_us);
        ck_assert_int_eq(ch_wait(&kids[i]), 0);
    }
    uint64_t spins = 0, hits = 0;
    srdi_cl_spin_counts(st->client, &spins, &hits);
    ck_assert(client_spins ? spins > 0 : spins == 0);
    ck_assert_uint_le(hits, spins);
    ck_srd(srd_close(st));
    st = ch_open_client(); /* a fresh handle sees every acknowledged put */
    uint64_t n = 0;
    ck_srd(srd_count(st, &n));
    ck_assert_uint_eq(n, 4 * SP_PUTS);
    sp_expect(st, "p0");
    sp_expect(st, "p1");
    sp_expect(st, "t0");
    sp_expect(st, "t1");
    ck_srd(srd_close(st));
    ck_assert_int_eq(stop_srdd(SIGTERM), 0);
    unsigned long long srdd_spins = sp_srdd_spins();
    ck_assert_msg(strcmp(c->srdd_us, "0") != 0 ? srdd_spins > 0
                                                : srdd_spins == 0,
                  "srdd spun %llu times with --spin-us %s", srdd_spins,
                  c->srdd_us);
}
END_TEST

/* srdd's spins over SP_PUTS blocking puts of one writer with --sync mode
 * (srdd started and stopped here). The bound is long (2 ms) so that a
 * slow machine (the sanitizers) still sees the writer's next request
 * within it: spins that miss back off, and would hide what is counted. */
static unsigned long long sp_lone_writer_spins(const char *mode)
{
    const char *extra[] = {"--sync", mode, "--spin-us", "2000", NULL};
    start_srdd(extra);
    srd_store *st = ch_open_client();
    const char *why = sp_puts(st, "lone");
    ck_assert_msg(!why, "%s: %s", mode, why);
    sp_expect(st, "lone");
    ck_srd(srd_close(st));
    ck_assert_int_eq(stop_srdd(SIGTERM), 0);
    unsigned long long n = sp_srdd_spins();
    tu_rmtree(g_dir);
    ck_assert_int_eq(mkdir(g_dir, 0700), 0);
    return n;
}

/* A lone durable writer's next request comes only after its reply woke
 * it, so srdd does not spin after the groups it syncs (it would hold its
 * vCPU while the woken client goes to a halted one); with --sync never
 * it spins after them. The few spins left are the handshake's passes. */
START_TEST(test_srdd_does_not_spin_after_a_lone_durable_writers_groups)
{
    setenv("SRD_SPIN_CORE_CHECK", "0", 1);
    unsigned long long durable = sp_lone_writer_spins("always");
    unsigned long long fast = sp_lone_writer_spins("never");
    ck_assert_msg(durable < SP_PUTS / 10,
                  "srdd spun %llu times after %d durable puts", durable,
                  SP_PUTS);
    ck_assert_msg(fast >= SP_PUTS / 2,
                  "srdd spun %llu times after %d puts, --sync never", fast,
                  SP_PUTS);
}
END_TEST

/* This thread's voluntary context switches so far. */
static unsigned long long sp_my_switches(void)
{
    FILE *f = fopen("/proc/thread-self/status", "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    unsigned long long n = 0;
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = sscanf(line, "voluntary_ctxt_switches: %llu", &n) == 1;
    fclose(f);
    ck_assert_msg(found, "no voluntary_ctxt_switches in /proc");
    return n;
}

/* A writer that sleeps for its durable reply (no spin) is woken once per
 * put, by the reply: its wait is a poll for POLLIN, which the kernel's
 * wake-up for write space (srdd reading the request) does not end, as it
 * ends a recv asleep on the socket (two wakes per put). */
START_TEST(test_a_durable_put_wakes_its_sleeping_writer_once)
{
    const char *extra[] = {"--sync", "always", NULL};
    start_srdd(extra);
    setenv("SRD_SPIN_US", "0", 1);
    srd_store *st = ch_open_client();
    ck_srd(srd_put(st, tu_s("warm"), tu_s("up")));
    unsigned long long before = sp_my_switches();
    const char *why = sp_puts(st, "sleepy");
    unsigned long long woken = sp_my_switches() - before;
    ck_assert_msg(!why, "%s", why);
    ck_assert_msg(woken < SP_PUTS * 3 / 2,
                  "%llu wakes for %d durable puts", woken, SP_PUTS);
    sp_expect(st, "sleepy");
    ck_srd(srd_close(st));
    ck_assert_int_eq(stop_srdd(SIGTERM), 0);
}
END_TEST

static Suite *spin_suite(void)
{
    Suite *s = suite_create("spin");
    TCase *tc = tcase_create("spin");
    tcase_add_checked_fixture(tc, ch_setup, ch_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(
        tc, test_blocking_round_trips_are_acked_with_every_spin_setting, 0,
        (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_srdd_does_not_spin_after_a_lone_durable_writers_groups);
    tcase_add_test(tc, test_a_durable_put_wakes_its_sleeping_writer_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    static const ch_role roles[] = {
        {"putter", 2, child_putter},
        {NULL, 0, NULL},
    };
    return ch_main(argc, argv, roles, spin_suite);
}
