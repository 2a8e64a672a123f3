/* SPDX-License-Identifier: MIT */
/*
 * check_client.c -- client mode against a real srdd: how srd_open picks the
 * mode, read-your-writes, visibility in another process (delay printed),
 * convergence when index updates are lost, kill -9 of srdd under load,
 * daemon restarts and file replacement, --allow-uid, async writes and one
 * handle shared by threads. Child processes re-run this binary ("child").
 */
#define _GNU_SOURCE 1
#include <grp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "client_harness.h"
#include "client_impl.h"
#include "store_impl.h"

static srd_store *open_flags(unsigned flags, srd_err *rc)
{
    return ch_open_flags(flags, rc);
}

static srd_store *open_client(void)
{
    return ch_open_client();
}

static bool is_daemon(srd_store *st)
{
    srd_info info;
    ck_srd(srd_get_info(st, &info));
    return info.daemon;
}

/* Assert key holds exactly the C string want. */
static void expect_value(srd_store *st, const char *key, const char *want)
{
    srd_view v;
    srd_err rc = srd_get(st, tu_s(key), &v);
    ck_assert_msg(rc == SRD_OK, "get %s: %s", key, srd_errname(rc));
    ck_assert_msg(v.len == strlen(want) && memcmp(v.data, want, v.len) == 0,
                  "%s: unexpected value '%.*s' (want '%s')", key,
                  (int)(v.len < 64 ? v.len : 64), (const char *)v.data, want);
    srd_view_release(&v);
}

static void expect_absent(srd_store *st, const char *key)
{
    bool there = true;
    ck_srd(srd_exists(st, tu_s(key), &there));
    ck_assert_msg(!there, "%s should be absent", key);
}

/* srd_done_fn counting successes in *(atomic_int *)ctx. */
static void count_done(void *ctx, srd_err rc)
{
    atomic_int *n = ctx;
    if (rc == SRD_OK)
        atomic_fetch_add(n, 1);
}

/* Retry put for up to limit_ms while the daemon is unreachable. */
static srd_err put_retrying(srd_store *st, const char *k, const char *v,
                            unsigned limit_ms)
{
    uint64_t t0 = ch_now_us();
    srd_err rc;
    do {
        rc = srd_put(st, tu_s(k), tu_s(v));
        if (rc != SRD_EUNREACHABLE && rc != SRD_ETIMEDOUT)
            break;
        ch_sleep_ms(20);
    } while (ch_now_us() - t0 < (uint64_t)limit_ms * 1000u);
    return rc;
}

/* ======================================================================== */
/* Choosing the mode                                                        */
/* ======================================================================== */

START_TEST(test_open_connects_to_srdd_when_it_serves_the_store)
{
    start_srdd(NULL);
    srd_err rc;
    srd_store *st = open_flags(0, &rc);
    ck_srd(rc);
    ck_assert(is_daemon(st));
    srd_info info;
    ck_srd(srd_get_info(st, &info));
    ck_assert(!info.readonly);
    ck_assert_ptr_null(open_flags(SRD_OPEN_EMBEDDED, &rc));
    ck_assert_int_eq(rc, SRD_EBUSY);
    open_flags(SRD_OPEN_CLIENT | SRD_OPEN_EMBEDDED, &rc);
    ck_assert_int_eq(rc, SRD_EINVAL);
    open_flags(SRD_OPEN_CLIENT | SRD_OPEN_READONLY, &rc);
    ck_assert_int_eq(rc, SRD_EINVAL);
    srd_store *ro = open_flags(SRD_OPEN_READONLY, &rc);
    ck_srd(rc);
    ck_assert(!is_daemon(ro));
    srd_close(ro);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_open_without_daemon_is_embedded_or_unreachable)
{
    srd_err rc;
    open_flags(SRD_OPEN_CLIENT, &rc);
    ck_assert_int_eq(rc, SRD_EUNREACHABLE);
    start_srdd(NULL);
    stop_srdd(SIGKILL); /* leaves a stale discovery file behind */
    char disc[4096];
    snprintf(disc, sizeof disc, "%s.srdd", g_store);
    ck_assert(ch_exists(disc));
    uint64_t t0 = ch_now_us();
    open_flags(SRD_OPEN_CLIENT, &rc);
    ck_assert_int_eq(rc, SRD_EUNREACHABLE);
    printf("client open with a stale discovery file failed in %llu us\n",
           (unsigned long long)(ch_now_us() - t0));
    srd_store *st = open_flags(0, &rc);
    ck_srd(rc);
    ck_assert(!is_daemon(st));
    ck_srd(srd_put(st, tu_s("k"), tu_s("embedded")));
    srd_close(st);
}
END_TEST

/* In this process a default open shares the writer's handle; one that
 * opted out of sharing and hand-over meets the lock, and a client-only
 * open finds no srdd (check_autostart: other processes). */
START_TEST(test_open_is_ebusy_when_an_embedded_writer_holds_the_store)
{
    srd_err rc;
    srd_store *w = open_flags(0, &rc);
    ck_srd(rc);
    open_flags(SRD_OPEN_EMBEDDED, &rc);
    ck_assert_int_eq(rc, SRD_EBUSY);
    srd_store *same = open_flags(0, &rc);
    ck_srd(rc);
    ck_assert_ptr_eq(same, w);
    ck_srd(srd_close(same));
    open_flags(SRD_OPEN_CLIENT, &rc);
    ck_assert_int_eq(rc, SRD_EUNREACHABLE);
    srd_close(w);
}
END_TEST

/* ======================================================================== */
/* Read-your-writes                                                         */
/* ======================================================================== */

static void check_puts_and_batches(srd_store *st)
{
    char k[64], v[64];
    for (int i = 0; i < 200; i++) {
        snprintf(k, sizeof k, "key-%d", i);
        snprintf(v, sizeof v, "value-%d", i);
        ck_srd(srd_put(st, tu_s(k), tu_s(v)));
        expect_value(st, k, v); /* no waiting: the reply was applied */
    }
    srd_val keys[3] = {tu_s("a"), tu_s("b"), tu_s("a")};
    srd_val vals[3] = {tu_s("1"), tu_s("2"), tu_s("3")};
    ck_srd(srd_put_batch(st, keys, vals, 3));
    expect_value(st, "a", "3");
    expect_value(st, "b", "2");
    srd_val bad[2] = {tu_s("ok"), {"\0", 1}};
    ck_assert_int_eq(srd_put_batch(st, keys, bad, 2), SRD_EINVAL);
    ck_assert_int_eq(srd_put(st, tu_s("e"), (srd_val){"", 0}), SRD_EINVAL);
    ck_srd(srd_put(st, tu_s("zz"), (srd_val){"\0\0", 2}));
}

static void check_deletes(srd_store *st)
{
    bool existed = false;
    ck_srd(srd_delete(st, tu_s("a"), &existed));
    ck_assert(existed);
    expect_absent(st, "a");
    ck_srd(srd_delete(st, tu_s("a"), &existed));
    ck_assert(!existed);
    srd_val keys[4] = {tu_s("b"), tu_s("nope"), tu_s("key-1"), tu_s("b")};
    size_t deleted = 99;
    ck_srd(srd_delete_batch(st, keys, 4, &deleted));
    ck_assert_uint_eq(deleted, 2);
    expect_absent(st, "b");
    expect_absent(st, "key-1");
}

static int read_pattern(void *ctx, void *buf, size_t cap, size_t *n)
{
    size_t *left = ctx;
    *n = *left < cap ? *left : cap;
    memset(buf, 'p', *n);
    *left -= *n;
    return 0;
}

static void check_streams(srd_store *st)
{
    size_t big = 3 * (1u << 20) + 12345;
    uint8_t *data = malloc(big);
    uint64_t seed = 7;
    tu_fill_random(&seed, data, big);
    srd_stream *s;
    ck_srd(srd_stream_begin(st, tu_s("stream"), &s));
    for (size_t off = 0; off < big; off += 100000)
        ck_srd(srd_stream_write(s, data + off,
                                big - off < 100000 ? big - off : 100000));
    ck_srd(srd_stream_commit(s));
    srd_view v;
    ck_srd(srd_get(st, tu_s("stream"), &v));
    ck_assert_uint_eq(v.len, big);
    ck_assert(memcmp(v.data, data, big) == 0);
    srd_view_release(&v);
    ck_srd(srd_stream_begin(st, tu_s("dropped"), &s));
    ck_srd(srd_stream_write(s, data, 1000));
    srd_stream_abort(s);
    expect_absent(st, "dropped");
    size_t left = 2 * (1u << 20) + 1;
    ck_srd(srd_put_stream(st, tu_s("pulled"), read_pattern, &left));
    ck_srd(srd_get(st, tu_s("pulled"), &v));
    ck_assert_uint_eq(v.len, 2 * (1u << 20) + 1);
    ck_assert_int_eq(v.data[v.len - 1], 'p');
    srd_view_release(&v);
    free(data);
}

START_TEST(test_client_reads_its_own_writes_at_once)
{
    start_srdd(NULL);
    srd_store *st = open_client();
    check_puts_and_batches(st);
    check_deletes(st);
    check_streams(st);
    ck_srd(srd_sync(st));
    ck_srd(srd_refresh(st, NULL));
    /* compaction through the API of a client: srdd compacts online, and
     * the client reads the new file at once */
    srd_compact_report rep;
    ck_srd(srd_compact_ex(st, NULL, NULL, &rep));
    ck_assert_uint_eq(rep.old_size - rep.new_size, rep.reclaimed);
    ck_assert_uint_gt(rep.reclaimed, 0);
    ch_state mine = ch_state_of(st);
    ck_srd(srd_close(st));
    ck_assert(ch_state_eq(mine, ch_state_fresh(g_store)));
}
END_TEST

START_TEST(test_put_larger_than_max_message_goes_as_a_stream)
{
    const char *extra[] = {"--max-message", "262144", NULL};
    start_srdd(extra);
    srd_store *st = open_client();
    size_t big = 1u << 20;
    uint8_t *data = malloc(big);
    memset(data, 'x', big);
    ck_srd(srd_put(st, tu_s("big"), (srd_val){data, big}));
    srd_view v;
    ck_srd(srd_get(st, tu_s("big"), &v));
    ck_assert_uint_eq(v.len, big);
    srd_view_release(&v);
    srd_val keys[2] = {tu_s("x"), tu_s("y")};
    srd_val vals[2] = {{data, 200000}, {data, 200000}};
    ck_assert_int_eq(srd_put_batch(st, keys, vals, 2), SRD_ETOOBIG);
    atomic_int ok;
    atomic_init(&ok, 0);
    ck_assert_int_eq(srd_put_async(st, tu_s("big2"), (srd_val){data, big},
                                   count_done, &ok),
                     SRD_ETOOBIG);
    ck_assert_int_eq(atomic_load(&ok), 0);
    free(data);
    ck_srd(srd_close(st));
}
END_TEST

/* ======================================================================== */
/* Visibility in another process                                            */
/* ======================================================================== */

#define VIS_N 200

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Child: wait for vis-0..n-1 to appear, print when each was seen. */
static int child_visibility(char **argv)
{
    srd_store *st = ch_child_open(argv[0]);
    int n = atoi(argv[1]);
    printf("ready\n");
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        char k[32];
        snprintf(k, sizeof k, "vis-%d", i);
        uint64_t t0 = ch_now_us();
        bool there = false;
        while (!there && ch_now_us() - t0 < 10000000u)
            srd_exists(st, tu_s(k), &there);
        if (!there)
            return 1;
        printf("%llu\n", (unsigned long long)ch_now_us());
    }
    srd_close(st);
    return 0;
}

START_TEST(test_write_becomes_visible_in_another_process_unasked)
{
    start_srdd(NULL);
    const char *argv[] = {"visibility", g_store, "200", NULL};
    ch_child b = ch_spawn(argv);
    char line[256];
    ck_assert(ch_line(&b, line, sizeof line));
    ck_assert_str_eq(line, "ready");
    srd_store *a = open_client();
    static int64_t acked[VIS_N], delay[VIS_N];
    for (int i = 0; i < VIS_N; i++) {
        char k[32];
        snprintf(k, sizeof k, "vis-%d", i);
        ck_srd(srd_put(a, tu_s(k), tu_s("seen?")));
        acked[i] = (int64_t)ch_now_us();
        ch_sleep_ms(2);
    }
    for (int i = 0; i < VIS_N; i++) {
        ck_assert_msg(ch_line(&b, line, sizeof line), "B missed vis-%d", i);
        delay[i] = (int64_t)strtoull(line, NULL, 10) - acked[i];
    }
    ck_assert_int_eq(ch_wait(&b), 0);
    qsort(delay, VIS_N, sizeof *delay, cmp_i64);
    printf("A->B visibility after A's ack over %d writes: min %lld us, "
           "median %lld us, p99 %lld us, max %lld us (negative: B saw it "
           "before A's reply arrived)\n",
           VIS_N, (long long)delay[0], (long long)delay[VIS_N / 2],
           (long long)delay[VIS_N * 99 / 100], (long long)delay[VIS_N - 1]);
    srd_close(a);
}
END_TEST

/* ======================================================================== */
/* Convergence when updates are lost                                        */
/* ======================================================================== */

/* Child: open, say ready, then converge to the state read from stdin. */
static int child_follower(char **argv)
{
    srd_store *st = ch_child_open(argv[0]);
    printf("ready\n");
    fflush(stdout);
    int rc = ch_child_converge(st, 20000);
    srd_close(st);
    return rc;
}

/* Floods n async puts (cycling over 500 keys) and waits for them. */
static void flood(srd_store *st, int n)
{
    atomic_int ok;
    atomic_init(&ok, 0);
    for (int i = 0; i < n; i++) {
        char k[32], v[64];
        snprintf(k, sizeof k, "flood-%d", i % 500);
        snprintf(v, sizeof v, "value-%d-%d", i, n);
        ck_srd(srd_put_async(st, tu_s(k), tu_s(v), count_done, &ok));
    }
    ck_srd(srd_flush(st));
    ck_assert_int_eq(atomic_load(&ok), n);
}

/* Start a follower with env set, stop it during a flood, resume it and
 * check it converges to the fresh state; final_put: write once more after
 * it drained (the only hint left is that update's gap). */
static void run_lossy_follower(const char *env, const char *val,
                               bool final_put)
{
    start_srdd(NULL);
    setenv(env, val, 1);
    /* a follower without the shared index: it learns through updates
     * (with one it would read through the index, subscribing to nothing) */
    setenv("SRD_SHARED_INDEX", "0", 1);
    const char *argv[] = {"follower", g_store, NULL};
    ch_child f = ch_spawn(argv);
    unsetenv(env);
    unsetenv("SRD_SHARED_INDEX");
    char line[256];
    ck_assert(ch_line(&f, line, sizeof line));
    ck_assert_str_eq(line, "ready");
    srd_store *st = open_client();
    kill(f.pid, SIGSTOP);
    flood(st, 3000);
    kill(f.pid, SIGCONT);
    if (final_put) {
        ch_sleep_ms(500);
        ck_srd(srd_put(st, tu_s("final"), tu_s("put")));
    }
    ch_state want = ch_state_fresh(g_store);
    ck_assert_msg(ch_await_state(st, want, 5000) >= 0,
                  "the writer's own handle did not converge");
    ch_state_fmt(want, line, sizeof line);
    ch_say(&f, line);
    ck_assert(ch_line(&f, line, sizeof line));
    printf("%s=%s follower: %s\n", env, val, line);
    ck_assert_int_eq(ch_wait(&f), 0);
    srd_close(st);
}

START_TEST(test_client_converges_when_every_update_is_lost)
{
    run_lossy_follower("SRD_SUB_DISABLE", "1", false);
}
END_TEST

START_TEST(test_client_repairs_gaps_in_lossy_updates_without_polling)
{
    setenv("SRD_POLL_MS", "3600000", 1);
    run_lossy_follower("SRD_SUB_RECVBUF", "1", true);
}
END_TEST

START_TEST(test_client_converges_with_a_tiny_subscriber_buffer)
{
    run_lossy_follower("SRD_SUB_RECVBUF", "1", false);
}
END_TEST

/* ======================================================================== */
/* srdd dies                                                                */
/* ======================================================================== */

#define BATCH_K 8

static void batch_key(char *k, size_t cap, int id, int j, int i)
{
    snprintf(k, cap, "b%d-%d-%d", id, j, i);
}

static void batch_value(char *v, size_t cap, int id, int j, int i)
{
    snprintf(v, cap, "v%d-%d-%d-%080d", id, j, i, j);
}

/* Child: write batches j = 0, 1, ... until "<dir>/stop" exists, retrying
 * a failed batch; print "ack j" after each success and a summary. The
 * first batch acked that was sent after "<dir>/restarted" appeared creates
 * "<dir>/resumed-<id>". */
static int child_batcher(char **argv)
{
    srd_store *st = ch_child_open(argv[0]);
    int id = atoi(argv[1]);
    char stopfile[4096], restarted[4096], resumed[4096];
    snprintf(stopfile, sizeof stopfile, "%s/stop", argv[2]);
    snprintf(restarted, sizeof restarted, "%s/restarted", argv[2]);
    snprintf(resumed, sizeof resumed, "%s/resumed-%d", argv[2], id);
    static char kb[BATCH_K][64], vb[BATCH_K][128];
    srd_val keys[BATCH_K], vals[BATCH_K];
    int fails = 0, acks_after_fail = 0, j = 0;
    while (!ch_exists(stopfile)) {
        for (int i = 0; i < BATCH_K; i++) {
            batch_key(kb[i], sizeof kb[i], id, j, i);
            batch_value(vb[i], sizeof vb[i], id, j, i);
            keys[i] = tu_s(kb[i]);
            vals[i] = tu_s(vb[i]);
        }
        bool after_restart = ch_exists(restarted);
        srd_err rc = srd_put_batch(st, keys, vals, BATCH_K);
        if (rc == SRD_OK) {
            printf("ack %d\n", j++);
            fflush(stdout);
            acks_after_fail += fails > 0;
            if (after_restart && !ch_exists(resumed))
                close(open(resumed, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        } else if (rc == SRD_EUNREACHABLE || rc == SRD_ETIMEDOUT) {
            fails++;
            ch_sleep_ms(10);
        } else {
            printf("error %s\n", srd_errname(rc));
            return 1;
        }
    }
    printf("done fails %d acks-after-fail %d\n", fails, acks_after_fail);
    srd_close(st);
    return fails > 0 && acks_after_fail == 0;
}

/* Every acked batch complete; no batch partial. */
static void check_batches(srd_store *st, int id, int max_acked)
{
    for (int j = 0; j <= max_acked + 2; j++) {
        int present = 0;
        for (int i = 0; i < BATCH_K; i++) {
            char k[64], v[128];
            batch_key(k, sizeof k, id, j, i);
            batch_value(v, sizeof v, id, j, i);
            srd_view view;
            if (srd_get(st, tu_s(k), &view) != SRD_OK)
                continue;
            ck_assert(view.len == strlen(v) && !memcmp(view.data, v, view.len));
            srd_view_release(&view);
            present++;
        }
        ck_assert_msg(present == 0 || present == BATCH_K,
                      "writer %d batch %d is partial (%d of %d)", id, j,
                      present, BATCH_K);
        ck_assert_msg(j > max_acked || present == BATCH_K,
                      "writer %d lost acknowledged batch %d", id, j);
    }
}

/* Wait up to limit_ms for "<g_dir>/resumed-<id>" of every writer; the
 * number of writers that resumed. */
static int await_resumed(int writers, unsigned limit_ms)
{
    uint64_t deadline = ch_now_us() + (uint64_t)limit_ms * 1000u;
    int resumed = 0;
    for (;;) {
        resumed = 0;
        for (int i = 0; i < writers; i++) {
            char name[32];
            snprintf(name, sizeof name, "resumed-%d", i);
            char *path = tu_join(g_dir, name);
            resumed += ch_exists(path);
            free(path);
        }
        if (resumed == writers || ch_now_us() >= deadline)
            return resumed;
        ch_sleep_ms(20);
    }
}

START_TEST(test_kill9_of_srdd_under_load_loses_no_acked_write)
{
    enum { WRITERS = 4 };
    start_srdd(NULL);
    setenv("SRD_TIMEOUT_MS", "1000", 1);
    ch_child w[WRITERS];
    char ids[WRITERS][8];
    for (int i = 0; i < WRITERS; i++) {
        snprintf(ids[i], sizeof ids[i], "%d", i);
        const char *argv[] = {"batcher", g_store, ids[i], g_dir, NULL};
        w[i] = ch_spawn(argv);
    }
    ch_sleep_ms(400);
    stop_srdd(SIGKILL);
    ch_sleep_ms(300);
    start_srdd(NULL);
    char *restarted = tu_join(g_dir, "restarted");
    tu_write_file(restarted, "", 0);
    /* Generous: a loaded machine may take seconds; a writer that never
     * resumes still fails the test. */
    uint64_t t0 = ch_now_us();
    int resumed = await_resumed(WRITERS, 20000);
    printf("kill -9: %d of %d writers resumed %.0f ms after the restart\n",
           resumed, WRITERS, (double)(ch_now_us() - t0) / 1000.0);
    char *stopfile = tu_join(g_dir, "stop");
    tu_write_file(stopfile, "", 0);
    int max_acked[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        char line[256], said[256] = "";
        max_acked[i] = -1;
        while (ch_line(&w[i], line, sizeof line)) {
            if (!strncmp(line, "ack ", 4))
                max_acked[i] = atoi(line + 4);
            else
                snprintf(said, sizeof said, "%s", line);
        }
        printf("writer %d: %s (last ack %d)\n", i, said, max_acked[i]);
        int code = ch_wait(&w[i]);
        if (code != 0)
            ch_print_srdd_log();
        ck_assert_msg(code == 0, "writer %d did not resume (exit %d): %s",
                      i, code, said);
    }
    stop_srdd(SIGTERM);
    srd_store *st;
    ck_srd(tu_open(g_store, 0, &st));
    for (int i = 0; i < WRITERS; i++) {
        ck_assert_int_ge(max_acked[i], 0);
        check_batches(st, i, max_acked[i]);
    }
    srd_close(st);
    free(stopfile);
    free(restarted);
}
END_TEST

START_TEST(test_writes_fail_while_srdd_is_down_and_resume_unreopened)
{
    setenv("SRD_TIMEOUT_MS", "300", 1);
    start_srdd(NULL);
    srd_store *st = open_client();
    ck_srd(srd_put(st, tu_s("before"), tu_s("1")));
    stop_srdd(SIGTERM);
    srd_err rc = srd_put(st, tu_s("during"), tu_s("2"));
    ck_assert_msg(rc == SRD_EUNREACHABLE, "put with srdd down: %s",
                  srd_errname(rc));
    expect_value(st, "before", "1"); /* reads keep working */
    start_srdd(NULL);
    ck_srd(put_retrying(st, "after", "3", 5000));
    expect_value(st, "after", "3");
    expect_absent(st, "during");
    ck_srd(srd_close(st));
}
END_TEST

/* NNG 1.5.2's dialer can stop redialling for good (client_conn.c,
 * srdi_cl_redial_stuck). Closing the handle's SUB dialer behind its back
 * stands for that: a new dialer (after CL_REDIAL_MS without a pipe, while
 * srdd holds the store) brings the subscription back without reopening. */
START_TEST(test_client_dials_afresh_when_its_dialer_gives_up)
{
    start_srdd(NULL);
    setenv("SRD_SUB_ALWAYS", "1", 1); /* a shared index needs no SUB */
    srd_store *st = open_client();
    unsetenv("SRD_SUB_ALWAYS");
    ck_srd(srd_put(st, tu_s("before"), tu_s("1")));
    uint64_t t0 = ch_now_us();
    while (atomic_load(&st->client->sub_pipes) == 0 &&
           ch_now_us() - t0 < 5000000u)
        ch_sleep_ms(10);
    nng_dialer_close(st->client->sub_dialer);
    while (atomic_load(&st->client->sub_pipes) > 0 &&
           ch_now_us() - t0 < 5000000u)
        ch_sleep_ms(10);
    ck_assert_int_eq(atomic_load(&st->client->sub_pipes), 0);
    while (atomic_load(&st->client->sub_pipes) == 0 &&
           ch_now_us() - t0 < 4000u * CL_REDIAL_MS)
        ch_sleep_ms(10);
    ck_assert_int_gt(atomic_load(&st->client->sub_pipes), 0);
    printf("client dialled afresh: subscribed again %.0f ms after its "
           "dialer was closed\n", (double)(ch_now_us() - t0) / 1000.0);
    ck_srd(srd_put(st, tu_s("after"), tu_s("3")));
    expect_value(st, "after", "3");
    ck_srd(srd_close(st));
}
END_TEST

/* The request connection dropped behind the handle's back (as when srdd
 * closes it): the next write fails or dials again; the one after works,
 * and what was written before is still there. */
START_TEST(test_client_redials_a_dropped_request_connection)
{
    start_srdd(NULL);
    srd_store *st = open_client();
    ck_srd(srd_put(st, tu_s("before"), tu_s("1")));
    shutdown(st->client->fd, SHUT_RDWR);
    srd_err rc = srd_put(st, tu_s("during"), tu_s("2"));
    ck_assert_msg(rc == SRD_OK || rc == SRD_EUNREACHABLE,
                  "put on a dropped connection: %s", srd_errname(rc));
    ck_srd(put_retrying(st, "after", "3", 4000));
    expect_value(st, "before", "1");
    expect_value(st, "after", "3");
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_client_reloads_a_store_replaced_while_srdd_was_down)
{
    start_srdd(NULL);
    srd_store *st = open_client();
    char k[32], v[32];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 100; i++) {
            snprintf(k, sizeof k, "k%d", i);
            snprintf(v, sizeof v, "r%d-%d", round, i);
            ck_srd(srd_put(st, tu_s(k), tu_s(v)));
        }
    stop_srdd(SIGTERM);
    srd_store *emb;
    ck_srd(tu_open(g_store, 0, &emb));
    uint64_t reclaimed = 0;
    ck_srd(srd_compact(emb, &reclaimed));
    ck_assert_uint_gt(reclaimed, 0);
    srd_close(emb);
    start_srdd(NULL);
    ck_srd(put_retrying(st, "new", "after-compaction", 5000));
    expect_value(st, "new", "after-compaction");
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "r2-%d", i);
        expect_value(st, k, v);
    }
    ck_assert(ch_state_eq(ch_state_of(st), ch_state_fresh(g_store)));
    ck_srd(srd_close(st));
}
END_TEST

/* ======================================================================== */
/* Security                                                                 */
/* ======================================================================== */

#define OTHER_USER "srdcheck"

/* Child: become uid/gid, open (default flags), try to write. */
static int child_other_uid(char **argv)
{
    gid_t gid = (gid_t)atoi(argv[2]);
    uid_t uid = (uid_t)atoi(argv[1]);
    if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
        return 2;
    srd_store *st = NULL;
    srd_err rc = srd_open(argv[0], NULL, &st);
    printf("open %s\n", srd_errname(rc));
    if (rc != SRD_OK) { /* srdd refuses it everything: read the file */
        srd_options o;
        srd_options_init(&o);
        o.flags = SRD_OPEN_READONLY;
        rc = srd_open(argv[0], &o, &st);
        printf("readonly %s\n", srd_errname(rc));
    }
    if (rc != SRD_OK)
        return 0;
    srd_info info;
    srd_get_info(st, &info);
    printf("daemon %d\n", info.daemon);
    char buf[16];
    size_t len = 0;
    srd_err rc2 = srd_get_copy(st, tu_s("owner"), buf, sizeof buf, &len);
    printf("owner %s %.*s\n", srd_errname(rc2), (int)len, buf);
    printf("put %s\n", srd_errname(srd_put(st, tu_s("intruder"), tu_s("x"))));
    srd_close(st);
    return 0;
}

static bool other_user(uid_t *uid, gid_t *gid)
{
    char *const add[] = {"/usr/sbin/useradd", "--system", "--no-create-home",
                         "--shell", "/usr/sbin/nologin", OTHER_USER, NULL};
    char *const id_u[] = {"/usr/bin/id", "-u", OTHER_USER, NULL};
    char *const id_g[] = {"/usr/bin/id", "-g", OTHER_USER, NULL};
    char *out = NULL;
    if (tu_run(id_u, NULL, NULL, 0, &out, NULL, NULL) != 0) {
        free(out);
        out = NULL;
        if (tu_run(add, NULL, NULL, 0, NULL, NULL, NULL) != 0 ||
            tu_run(id_u, NULL, NULL, 0, &out, NULL, NULL) != 0) {
            free(out);
            return false;
        }
    }
    *uid = (uid_t)atoi(out);
    free(out);
    out = NULL;
    tu_run(id_g, NULL, NULL, 0, &out, NULL, NULL);
    *gid = (gid_t)(out ? atoi(out) : 0);
    free(out);
    return true;
}

START_TEST(test_allow_uid_refuses_writes_from_another_uid)
{
    uid_t uid;
    gid_t gid;
    if (geteuid() != 0 || !other_user(&uid, &gid)) {
        printf("SKIP test_allow_uid_refuses_writes_from_another_uid: needs "
               "root and useradd\n");
        return;
    }
    chmod(g_dir, 0755);
    const char *extra[] = {"--allow-uid", "0", "--socket-mode", "0666", NULL};
    start_srdd(extra);
    srd_store *st = open_client();
    ck_srd(srd_put(st, tu_s("owner"), tu_s("root")));
    char su[16], sg[16], line[256];
    snprintf(su, sizeof su, "%u", (unsigned)uid);
    snprintf(sg, sizeof sg, "%u", (unsigned)gid);
    const char *argv[] = {"other-uid", g_store, su, sg, NULL};
    /* the store is the owner's alone (0600) until shared on purpose */
    ck_assert_int_eq(chmod(g_store, 0644), 0);
    ch_child c = ch_spawn(argv);
    ck_assert(ch_line(&c, line, sizeof line));
    ck_assert_str_eq(line, "open SRD_EPERM"); /* not even hello */
    ck_assert(ch_line(&c, line, sizeof line));
    ck_assert_str_eq(line, "readonly SRD_OK");
    ck_assert(ch_line(&c, line, sizeof line));
    ck_assert_str_eq(line, "daemon 0");
    ck_assert(ch_line(&c, line, sizeof line));
    ck_assert_str_eq(line, "owner SRD_OK root");
    ck_assert(ch_line(&c, line, sizeof line));
    ck_assert_str_eq(line, "put SRD_EREADONLY");
    ck_assert_int_eq(ch_wait(&c), 0);
    ck_srd(srd_refresh(st, NULL));
    expect_absent(st, "intruder");
    ck_srd(srd_close(st));
}
END_TEST

/* ======================================================================== */
/* Async writes, threads                                                    */
/* ======================================================================== */

START_TEST(test_async_puts_complete_and_flush_reports_errors)
{
    start_srdd(NULL);
    srd_store *st = open_client();
    atomic_int ok;
    atomic_init(&ok, 0);
    char k[32], v[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(k, sizeof k, "async-%d", i);
        snprintf(v, sizeof v, "value-%d", i);
        ck_srd(srd_put_async(st, tu_s(k), tu_s(v), count_done, &ok));
    }
    ck_assert_int_eq(srd_put_async(st, tu_s("bad"), (srd_val){"", 0},
                                   count_done, &ok),
                     SRD_EINVAL);
    ck_srd(srd_flush(st));
    ck_assert_int_eq(atomic_load(&ok), 2000);
    for (int i = 0; i < 2000; i += 97) {
        snprintf(k, sizeof k, "async-%d", i);
        snprintf(v, sizeof v, "value-%d", i);
        expect_value(st, k, v);
    }
    stop_srdd(SIGTERM);
    setenv("SRD_TIMEOUT_MS", "200", 1);
    srd_err rc = srd_put_async(st, tu_s("lost"), tu_s("x"), count_done, &ok);
    srd_err flushed = srd_flush(st);
    ck_assert_msg(rc == SRD_EUNREACHABLE || flushed == SRD_EUNREACHABLE,
                  "submit %s, flush %s", srd_errname(rc),
                  srd_errname(flushed));
    ck_assert_int_eq(atomic_load(&ok), 2000);
    ck_srd(srd_flush(st)); /* the error was reported once */
    srd_close(st);
}
END_TEST

/* srdd's request count, from srdctl status --json. */
static unsigned long long srdd_requests(void)
{
    char *argv[] = {(char *)SRDCTL_PATH, (char *)"--store", g_store,
                    (char *)"status", (char *)"--json", NULL};
    char *out = NULL, *err = NULL;
    size_t n = 0;
    ck_assert_int_eq(tu_run(argv, NULL, NULL, 0, &out, &n, &err), 0);
    const char *at = strstr(out, "\"requests\":");
    ck_assert_ptr_nonnull(at);
    unsigned long long r = strtoull(at + strlen("\"requests\":"), NULL, 10);
    free(out);
    free(err);
    return r;
}

/* With every lane busy, async puts queue up and leave together as
 * PutBatch requests: all complete, once each, and srdd sees far fewer
 * requests than puts. */
START_TEST(test_queued_async_puts_leave_batched_and_all_complete)
{
    start_srdd(NULL);
    srd_store *st = open_client();
    enum { N = 30000 };
    atomic_int ok;
    atomic_init(&ok, 0);
    unsigned long long before = srdd_requests();
    char k[32], v[128];
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof k, "q-%d", i);
        snprintf(v, sizeof v, "%0100d", i);
        ck_srd(srd_put_async(st, tu_s(k), tu_s(v), count_done, &ok));
    }
    ck_srd(srd_flush(st));
    ck_assert_int_eq(atomic_load(&ok), N);
    unsigned long long requests = srdd_requests() - before;
    printf("%d async puts reached srdd in %llu requests\n", N, requests);
    ck_assert_uint_lt(requests, N / 4);
    for (int i = 0; i < N; i += 997) {
        snprintf(k, sizeof k, "q-%d", i);
        snprintf(v, sizeof v, "%0100d", i);
        expect_value(st, k, v);
    }
    uint64_t keys = 0;
    ck_srd(srd_count(st, &keys));
    ck_assert_uint_eq(keys, N);
    srd_close(st);
}
END_TEST

/* Async puts of one key and of many, never flushed: every callback comes
 * (the reader thread reads the replies by itself), the key holds the
 * last value put (one connection, sequence order), and once the callbacks
 * came every put reads back in this process (read-your-writes, whether
 * the reply's entries are applied one by one or covered by the shared
 * index already). */
static void check_async_unflushed(void)
{
    start_srdd(NULL);
    srd_store *st = open_client();
    enum { N = 20000 };
    atomic_int ok;
    atomic_init(&ok, 0);
    char k[32], v[32];
    for (int i = 0; i < N; i++) {
        snprintf(v, sizeof v, "v%05d", i);
        ck_srd(srd_put_async(st, tu_s("same"), tu_s(v), count_done, &ok));
        snprintf(k, sizeof k, "u-%d", i);
        ck_srd(srd_put_async(st, tu_s(k), tu_s(v), count_done, &ok));
    }
    /* a liveness bound, not a timing: a lost wake-up would hang here */
    for (int ms = 0; atomic_load(&ok) < 2 * N && ms < 60000; ms++)
        ch_sleep_ms(1);
    ck_assert_int_eq(atomic_load(&ok), 2 * N);
    snprintf(v, sizeof v, "v%05d", N - 1);
    expect_value(st, "same", v);
    for (int i = 0; i < N; i += 331) {
        snprintf(k, sizeof k, "u-%d", i);
        snprintf(v, sizeof v, "v%05d", i);
        expect_value(st, k, v);
    }
    snprintf(v, sizeof v, "v%05d", N - 1);
    snprintf(k, sizeof k, "u-%d", N - 1);
    expect_value(st, k, v);
    ck_srd(srd_flush(st));
    srd_close(st);
}

START_TEST(test_unflushed_async_puts_complete_in_order_and_read_back)
{
    check_async_unflushed();
}
END_TEST

/* The same without a shared index: the replies' entries go into the
 * handle's own index. */
START_TEST(test_unflushed_async_puts_read_back_without_shared_index)
{
    setenv("SRD_SHARED_INDEX", "0", 1); /* srdd and this client */
    check_async_unflushed();
    unsetenv("SRD_SHARED_INDEX");
}
END_TEST

/* Each async put's done callback reads its own key back (docs/CLIENT.md:
 * the reply's entries are applied before done runs). */
typedef struct own_reads {
    srd_store *st;
    atomic_int done, bad;
} own_reads;

typedef struct own_put {
    own_reads *r;
    char key[32], val[32];
} own_put;

static void read_own_write(void *arg, srd_err rc)
{
    own_put *p = arg;
    srd_view v;
    bool ok = rc == SRD_OK && srd_get(p->r->st, tu_s(p->key), &v) == SRD_OK;
    if (ok) {
        ok = v.len == strlen(p->val) && memcmp(v.data, p->val, v.len) == 0;
        srd_view_release(&v);
    }
    if (!ok)
        atomic_fetch_add(&p->r->bad, 1);
    atomic_fetch_add(&p->r->done, 1);
}

/* n async puts of prefix-i, flushed: every one done, every done callback
 * reading its own write. */
static void expect_async_read_own(srd_store *st, const char *prefix, int n)
{
    own_reads r = {.st = st};
    atomic_init(&r.done, 0);
    atomic_init(&r.bad, 0);
    own_put *p = calloc((size_t)n, sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (int i = 0; i < n; i++) {
        p[i].r = &r;
        snprintf(p[i].key, sizeof p[i].key, "%s-%d", prefix, i);
        snprintf(p[i].val, sizeof p[i].val, "v%d", i);
        ck_srd(srd_put_async(st, tu_s(p[i].key), tu_s(p[i].val),
                             read_own_write, &p[i]));
    }
    ck_srd(srd_flush(st));
    int done = atomic_load(&r.done), bad = atomic_load(&r.bad);
    ck_assert_int_eq(done, n);
    ck_assert_msg(bad == 0, "%d of %d callbacks did not read their write",
                  bad, n);
    free(p);
}

/* The handle goes from following srdd's shared index to subscribing in
 * the middle of a stream of async puts (srdd abandons the index: its next
 * growth cannot create the file). The new SUB pipe awaits a handshake,
 * but the replies keep coming over the checked request connection and
 * keep being applied: every callback reads its own write. Before stop
 * 22 the replies of that window were dropped and callbacks read nothing. */
START_TEST(test_async_callbacks_read_their_write_while_the_handle_starts_to_subscribe)
{
    start_srdd(NULL);
    srd_store *st = open_client();
    ck_assert(!atomic_load(&st->client->subscribed)); /* follows the index */
    char *tmp = tu_join(g_dir, "s.srd.idx.tmp");
    ck_assert_int_eq(mkdir(tmp, 0700), 0);
    expect_async_read_own(st, "sub", 30000);
    ck_assert_msg(atomic_load(&st->client->subscribed) ||
                      atomic_load(&st->client->want_sub),
                  "the handle never noticed the index was given up");
    expect_value(st, "sub-0", "v0");
    srd_close(st);
    rmdir(tmp);
    free(tmp);
}
END_TEST

/* srdd compacted (asked through another handle) and this handle has not
 * heard of it (no shared index, no updates, no poll due): the replies of
 * its async puts name the new generation and cannot be applied to the
 * file it maps, so each callback runs only after the handshake that loads
 * the new file (client_req.c, cr_run_later) and reads its own write. */
START_TEST(test_async_callbacks_after_an_unseen_compaction_read_their_write)
{
    static const char *const env[][2] = {
        {"SRD_SHARED_INDEX", "0"}, /* srdd and this client */
        {"SRD_SUB_DISABLE", "1"},  {"SRD_POLL_MS", "600000"},
        {"SRD_SUB_TICK_MS", "600000"}};
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++)
        setenv(env[i][0], env[i][1], 1);
    start_srdd(NULL);
    srd_store *st = open_client();
    ck_srd(srd_put(st, tu_s("before"), tu_s("1")));
    srd_daemon *d = NULL;
    ck_srd(srd_daemon_open(g_store, &d));
    srd_compact_report rep;
    uint64_t gen = 0;
    ck_srd(srd_daemon_compact(d, NULL, NULL, &rep, &gen));
    srd_daemon_close(d);
    expect_async_read_own(st, "gen", 200);
    expect_value(st, "before", "1");
    srd_close(st);
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++)
        unsetenv(env[i][0]);
}
END_TEST

/* Blocking puts from many threads, to hold every lane. */
typedef struct lane_hog {
    srd_store *st;
    atomic_int *stop;
    int id;
} lane_hog;

static void *hog_lanes(void *p)
{
    lane_hog *h = p;
    char k[32];
    for (int i = 0; !atomic_load(h->stop); i++) {
        snprintf(k, sizeof k, "hog%d-%d", h->id, i % 64);
        tu_require(srd_put(h->st, tu_s(k), tu_s("h")) == SRD_OK, "put %s", k);
    }
    return NULL;
}

/* Async puts queued while blocking calls hold every lane are sent when a
 * lane frees up, not left behind: every srd_flush returns (a stranded
 * put would hang it until the test's timeout) with every put done. */
START_TEST(test_async_puts_queued_behind_blocking_calls_are_sent)
{
    start_srdd(NULL);
    srd_store *st = open_client();
    enum { HOGS = 48, ROUNDS = 300 };
    atomic_int stop, ok;
    atomic_init(&stop, 0);
    atomic_init(&ok, 0);
    pthread_t t[HOGS];
    lane_hog h[HOGS];
    for (int i = 0; i < HOGS; i++) {
        h[i] = (lane_hog){st, &stop, i};
        ck_assert_int_eq(pthread_create(&t[i], NULL, hog_lanes, &h[i]), 0);
    }
    char k[32];
    for (int r = 0; r < ROUNDS; r++) {
        snprintf(k, sizeof k, "a-%d", r);
        ck_srd(srd_put_async(st, tu_s(k), tu_s("v"), count_done, &ok));
        ck_srd(srd_flush(st));
        ck_assert_int_eq(atomic_load(&ok), r + 1);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < HOGS; i++)
        pthread_join(t[i], NULL);
    expect_value(st, "a-0", "v");
    srd_close(st);
}
END_TEST

START_TEST(test_async_put_in_embedded_mode_completes_before_returning)
{
    srd_err rc;
    srd_store *st = open_flags(0, &rc);
    ck_srd(rc);
    atomic_int ok;
    atomic_init(&ok, 0);
    ck_srd(srd_put_async(st, tu_s("k"), tu_s("v"), count_done, &ok));
    ck_assert_int_eq(atomic_load(&ok), 1);
    ck_srd(srd_flush(st));
    expect_value(st, "k", "v");
    srd_close(st);
}
END_TEST

typedef struct thr_arg {
    srd_store *st;
    int id;
} thr_arg;

static void *thr_writer(void *p)
{
    thr_arg *a = p;
    char k[32], v[32];
    for (int i = 0; i < 200; i++) {
        snprintf(k, sizeof k, "t%d-%d", a->id, i);
        snprintf(v, sizeof v, "v%d-%d", a->id, i);
        tu_require(srd_put(a->st, tu_s(k), tu_s(v)) == SRD_OK, "put %s", k);
        srd_view view;
        tu_require(srd_get(a->st, tu_s(k), &view) == SRD_OK, "get %s", k);
        tu_require(view.len == strlen(v), "value of %s", k);
        srd_view_release(&view);
    }
    return NULL;
}

START_TEST(test_one_client_handle_is_shared_by_many_threads)
{
    start_srdd(NULL);
    srd_store *st = open_client();
    pthread_t t[8];
    thr_arg a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (thr_arg){st, i};
        pthread_create(&t[i], NULL, thr_writer, &a[i]);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    uint64_t n = 0;
    ck_srd(srd_count(st, &n));
    ck_assert_uint_eq(n, 8 * 200);
    ck_assert_int_eq(ch_await_state(st, ch_state_fresh(g_store), 5000) >= 0,
                     1);
    ck_srd(srd_close(st));
}
END_TEST

/* Close wakes the subscriber thread instead of waiting for its next
 * look around (100 ms by default): with the tick an hour long, closing
 * would take an hour; each open-put-close must finish at once. */
START_TEST(test_close_does_not_wait_for_the_subscriber_tick)
{
    start_srdd(NULL);
    setenv("SRD_SUB_TICK_MS", "3600000", 1);
    setenv("SRD_POLL_MS", "3600000", 1);
    for (int i = 0; i < 20; i++) {
        srd_store *st = open_client();
        ck_assert(is_daemon(st));
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        ck_srd(srd_put(st, tu_s(k), tu_s("v")));
        ck_srd(srd_close(st));
    }
    srd_store *st = open_client();
    expect_value(st, "k19", "v");
    ck_srd(srd_close(st));
}
END_TEST

/* ======================================================================== */
/* Runner                                                                   */
/* ======================================================================== */

/* SRD_CHECK_ONLY=<substring>: run only the tests whose name has it. */
#define ADD_TEST(tc, fn)                                                  \
    do {                                                                  \
        const char *only_ = getenv("SRD_CHECK_ONLY");                     \
        if (!only_ || strstr(#fn, only_))                                 \
            tcase_add_test(tc, fn);                                       \
    } while (0)

static Suite *client_suite(void)
{
    Suite *s = suite_create("client");
    TCase *tc = tcase_create("client");
    tcase_add_checked_fixture(tc, ch_setup, ch_teardown);
    tcase_set_timeout(tc, 60);
    ADD_TEST(tc, test_open_connects_to_srdd_when_it_serves_the_store);
    ADD_TEST(tc, test_open_without_daemon_is_embedded_or_unreachable);
    ADD_TEST(tc, test_open_is_ebusy_when_an_embedded_writer_holds_the_store);
    ADD_TEST(tc, test_client_reads_its_own_writes_at_once);
    ADD_TEST(tc, test_put_larger_than_max_message_goes_as_a_stream);
    ADD_TEST(tc, test_write_becomes_visible_in_another_process_unasked);
    ADD_TEST(tc, test_client_converges_when_every_update_is_lost);
    ADD_TEST(tc, test_client_repairs_gaps_in_lossy_updates_without_polling);
    ADD_TEST(tc, test_client_converges_with_a_tiny_subscriber_buffer);
    ADD_TEST(tc, test_kill9_of_srdd_under_load_loses_no_acked_write);
    ADD_TEST(tc, test_writes_fail_while_srdd_is_down_and_resume_unreopened);
    ADD_TEST(tc, test_client_reloads_a_store_replaced_while_srdd_was_down);
    ADD_TEST(tc, test_client_dials_afresh_when_its_dialer_gives_up);
    ADD_TEST(tc, test_client_redials_a_dropped_request_connection);
    ADD_TEST(tc, test_allow_uid_refuses_writes_from_another_uid);
    ADD_TEST(tc, test_async_puts_complete_and_flush_reports_errors);
    ADD_TEST(tc, test_async_put_in_embedded_mode_completes_before_returning);
    ADD_TEST(tc, test_queued_async_puts_leave_batched_and_all_complete);
    ADD_TEST(tc, test_async_puts_queued_behind_blocking_calls_are_sent);
    ADD_TEST(tc, test_unflushed_async_puts_complete_in_order_and_read_back);
    ADD_TEST(tc, test_unflushed_async_puts_read_back_without_shared_index);
    ADD_TEST(tc, test_async_callbacks_read_their_write_while_the_handle_starts_to_subscribe);
    ADD_TEST(tc, test_async_callbacks_after_an_unseen_compaction_read_their_write);
    ADD_TEST(tc, test_one_client_handle_is_shared_by_many_threads);
    ADD_TEST(tc, test_close_does_not_wait_for_the_subscriber_tick);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    static const ch_role roles[] = {
        {"visibility", 2, child_visibility},
        {"follower", 1, child_follower},
        {"batcher", 3, child_batcher},
        {"other-uid", 3, child_other_uid},
        {NULL, 0, NULL},
    };
    return ch_main(argc, argv, roles, client_suite);
}
