/* SPDX-License-Identifier: MIT */
/*
 * check_crash.c -- kill -9 of a real writer process at random moments
 * (DESIGN.md section 4). A child writes batches of 50 entries and 1-4 MiB
 * streams and reports each acknowledged one over a pipe; the parent kills
 * it, reopens the store and checks: every acknowledged write is present,
 * every batch is all or nothing, srd_verify is clean, a new write works.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define BATCH_N 50
#define MAX_VALUE 10240
#define MIB (1u << 20)

/* Messages from the child, sent after the call returned. */
enum { MSG_READY = 1, MSG_BATCH = 2, MSG_STREAM = 3, MSG_COMPACT = 4,
       MSG_PUT = 5 };
typedef struct ack {
    uint32_t kind;
    uint32_t seq;
} ack;

/* ------------------------------------------------------------------------ */
/* Deterministic content                                                     */
/* ------------------------------------------------------------------------ */

static uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

/* Operation seq is a stream every fifth time, otherwise a batch. */
static bool is_stream(uint32_t seq)
{
    return seq % 5 == 4;
}

static size_t batch_len(uint32_t seq, uint32_t i)
{
    return 2 + mix32(seq * 64u + i) % (MAX_VALUE - 1);
}

static uint8_t batch_byte(uint32_t seq, uint32_t i, size_t j)
{
    return (uint8_t)((j + 1) * (2 * i + 1) + seq * 13u + (j >> 8));
}

static size_t stream_len(uint32_t seq)
{
    return MIB + mix32(seq ^ 0x5bd1e995U) % (3 * MIB + 1);
}

static uint8_t stream_byte(uint32_t seq, size_t j)
{
    return (uint8_t)(j * 31u + seq * 17u + (j >> 12) + 1u);
}

static void batch_key(char *buf, size_t cap, uint32_t seq, uint32_t i)
{
    snprintf(buf, cap, "b%u_%u", seq, i);
}

static void stream_key(char *buf, size_t cap, uint32_t seq)
{
    snprintf(buf, cap, "s%u", seq);
}

/* ------------------------------------------------------------------------ */
/* The child: writes until killed                                            */
/* ------------------------------------------------------------------------ */

static void send_ack(int fd, uint32_t kind, uint32_t seq)
{
    ack a = {kind, seq};
    if (write(fd, &a, sizeof a) != (ssize_t)sizeof a)
        _exit(40);
}

typedef struct gen {
    uint32_t seq;
    size_t pos, len;
} gen;

static int gen_read(void *ctx, void *buf, size_t cap, size_t *n)
{
    gen *g = ctx;
    size_t k = g->len - g->pos;
    if (k > cap)
        k = cap;
    uint8_t *b = buf;
    for (size_t j = 0; j < k; j++)
        b[j] = stream_byte(g->seq, g->pos + j);
    g->pos += k;
    *n = k;
    return 0;
}

static srd_err child_batch(srd_store *st, uint32_t seq, uint8_t *vals)
{
    char keys[BATCH_N][32];
    srd_val k[BATCH_N], v[BATCH_N];
    for (uint32_t i = 0; i < BATCH_N; i++) {
        batch_key(keys[i], sizeof keys[i], seq, i);
        size_t len = batch_len(seq, i);
        uint8_t *p = vals + (size_t)i * MAX_VALUE;
        for (size_t j = 0; j < len; j++)
            p[j] = batch_byte(seq, i, j);
        k[i] = tu_s(keys[i]);
        v[i] = (srd_val){p, len};
    }
    return srd_put_batch(st, k, v, BATCH_N);
}

static srd_err child_stream(srd_store *st, uint32_t seq, uint8_t *chunk)
{
    char key[32];
    stream_key(key, sizeof key, seq);
    size_t len = stream_len(seq);
    if ((seq / 5) % 2 == 0) {
        gen g = {seq, 0, len};
        return srd_put_stream(st, tu_s(key), gen_read, &g);
    }
    srd_stream *s = NULL;
    srd_err rc = srd_stream_begin(st, tu_s(key), &s);
    if (rc != SRD_OK)
        return rc;
    gen g = {seq, 0, len};
    while (g.pos < len) {
        size_t n = 0;
        gen_read(&g, chunk, 256 * 1024, &n);
        rc = srd_stream_write(s, chunk, n);
        if (rc != SRD_OK) {
            srd_stream_abort(s);
            return rc;
        }
    }
    return srd_stream_commit(s);
}

static void crash_child(const char *path, srd_sync_mode mode, uint32_t seq0,
                        int out)
{
    srd_options o;
    srd_options_init(&o);
    o.sync = mode;
    o.sync_interval_ms = 5;
    srd_store *st = NULL;
    if (srd_open(path, &o, &st) != SRD_OK)
        _exit(20);
    send_ack(out, MSG_READY, seq0);
    uint8_t *vals = malloc((size_t)BATCH_N * MAX_VALUE);
    uint8_t *chunk = malloc(256 * 1024);
    if (!vals || !chunk)
        _exit(21);
    for (uint32_t seq = seq0;; seq++) {
        bool stream = is_stream(seq);
        srd_err rc = stream ? child_stream(st, seq, chunk)
                            : child_batch(st, seq, vals);
        if (rc != SRD_OK) {
            fprintf(stderr, "child: op %u failed: %s\n", seq,
                    srd_errname(rc));
            _exit(22);
        }
        send_ack(out, stream ? MSG_STREAM : MSG_BATCH, seq);
    }
}

/* ------------------------------------------------------------------------ */
/* The parent                                                                */
/* ------------------------------------------------------------------------ */

static char *g_dir;
static unsigned g_seed;

static void setup(void)
{
    g_dir = tu_tmpdir();
    const char *env = getenv("SRD_CRASH_SEED");
    g_seed = env ? (unsigned)strtoul(env, NULL, 0)
                 : (unsigned)time(NULL) ^ (unsigned)getpid();
    srand(g_seed);
    signal(SIGPIPE, SIG_IGN);
}

static void teardown(void)
{
    tu_rmtree(g_dir);
    free(g_dir);
}

static void sleep_us(unsigned us)
{
    struct timespec ts = {us / 1000000u, (long)(us % 1000000u) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A random kill delay: mostly short, sometimes longer (microseconds). */
static unsigned random_delay(void)
{
    unsigned r = (unsigned)rand();
    if (r % 4 == 0)
        return 40000 + r % 160000;
    return r % 40000;
}

/* Acknowledged operations so far (index = seq). */
typedef struct model {
    uint8_t *acked; /* 0 or the MSG_* kind */
    uint32_t cap;
} model;

static void model_set(model *m, uint32_t seq, uint32_t kind)
{
    if (seq >= m->cap) {
        uint32_t ncap = (seq + 1) * 2;
        m->acked = realloc(m->acked, ncap);
        ck_assert_ptr_nonnull(m->acked);
        memset(m->acked + m->cap, 0, ncap - m->cap);
        m->cap = ncap;
    }
    m->acked[seq] = (uint8_t)kind;
}

static bool model_acked(const model *m, uint32_t seq)
{
    return seq < m->cap && m->acked[seq] != 0;
}

/* Forks a writer child and kills it after delay_us (counted from its
 * MSG_READY when wait_ready, else from the fork). Reads every
 * acknowledgement into m; returns the highest acked seq + 1, or seq0. */
static uint32_t run_and_kill(const char *path, srd_sync_mode mode,
                             uint32_t seq0, unsigned delay_us,
                             bool wait_ready, model *m, int round,
                             void (*child)(const char *, srd_sync_mode,
                                           uint32_t, int))
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        child(path, mode, seq0, p[1]);
        _exit(0);
    }
    close(p[1]);
    if (wait_ready) {
        ack a;
        ssize_t r = read(p[0], &a, sizeof a);
        ck_assert_msg(r == (ssize_t)sizeof a && a.kind == MSG_READY,
                      "seed %u round %d: child did not get ready", g_seed,
                      round);
    }
    sleep_us(delay_us);
    kill(pid, SIGKILL);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "seed %u round %d: child ended by itself (status %d)",
                  g_seed, round, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    uint32_t next = seq0;
    ack a;
    ssize_t r;
    while ((r = read(p[0], &a, sizeof a)) == (ssize_t)sizeof a) {
        if (a.kind == MSG_READY)
            continue;
        ck_assert_uint_ge(a.seq, seq0);
        model_set(m, a.seq, a.kind);
        if (a.seq + 1 > next)
            next = a.seq + 1;
    }
    ck_assert_int_eq(r, 0);
    close(p[0]);
    return next;
}

/* How many of batch seq's keys are present; each present one must hold
 * exactly its bytes. */
static int batch_present(srd_store *st, uint32_t seq, int round)
{
    int present = 0;
    char key[32];
    for (uint32_t i = 0; i < BATCH_N; i++) {
        batch_key(key, sizeof key, seq, i);
        srd_view v;
        srd_err rc = srd_get(st, tu_s(key), &v);
        if (rc == SRD_ENOTFOUND)
            continue;
        ck_assert_msg(rc == SRD_OK, "seed %u round %d: get %s: %s", g_seed,
                      round, key, srd_errname(rc));
        size_t len = batch_len(seq, i);
        ck_assert_msg(v.len == len, "seed %u round %d: %s has %zu bytes, "
                      "expected %zu", g_seed, round, key, v.len, len);
        for (size_t j = 0; j < len; j++)
            if (v.data[j] != batch_byte(seq, i, j))
                ck_abort_msg("seed %u round %d: %s byte %zu differs", g_seed,
                             round, key, j);
        srd_view_release(&v);
        present++;
    }
    return present;
}

/* Whether stream seq is present; if so its bytes must be exact. */
static bool stream_present(srd_store *st, uint32_t seq, int round)
{
    char key[32];
    stream_key(key, sizeof key, seq);
    srd_view v;
    srd_err rc = srd_get(st, tu_s(key), &v);
    if (rc == SRD_ENOTFOUND)
        return false;
    ck_assert_msg(rc == SRD_OK, "seed %u round %d: get %s: %s", g_seed,
                  round, key, srd_errname(rc));
    size_t len = stream_len(seq);
    ck_assert_msg(v.len == len, "seed %u round %d: %s has %zu bytes, "
                  "expected %zu", g_seed, round, key, v.len, len);
    for (size_t j = 0; j < len; j++)
        if (v.data[j] != stream_byte(seq, j))
            ck_abort_msg("seed %u round %d: %s byte %zu differs", g_seed,
                         round, key, j);
    srd_view_release(&v);
    return true;
}

/* With SRD_CRASH_KEEP=dir, a store that fails a check is copied there
 * for a post-mortem before the assertion fires. */
static void keep_store(srd_store *st, const char *why)
{
    const char *dir = getenv("SRD_CRASH_KEEP");
    if (!dir)
        return;
    char dst[4096];
    snprintf(dst, sizeof dst, "%s/crash-%u-%s.srd", dir, g_seed, why);
    if (tu_copy_file(srd_path(st), dst) == 0)
        fprintf(stderr, "kept %s\n", dst);
}

/* 0 when op seq is absent, 1 when entirely present. */
static int op_present(srd_store *st, uint32_t seq, int round)
{
    if (is_stream(seq))
        return stream_present(st, seq, round) ? 1 : 0;
    int n = batch_present(st, seq, round);
    if (n != 0 && n != BATCH_N)
        keep_store(st, "torn");
    ck_assert_msg(n == 0 || n == BATCH_N, "seed %u round %d: batch %u is "
                  "torn: %d of %d keys present", g_seed, round, seq, n,
                  BATCH_N);
    return n == BATCH_N;
}

/* With SRD_CRASH_KEEP=dir, a store that refuses to reopen is copied there
 * with its sidecars (.synced, .idx) before the assertion fires. */
static void keep_refused(const char *path, int round)
{
    const char *dir = getenv("SRD_CRASH_KEEP");
    static const char *const ext[] = {"", ".synced", ".idx"};
    for (size_t i = 0; dir && i < sizeof ext / sizeof ext[0]; i++) {
        char src[4096], dst[4096];
        snprintf(src, sizeof src, "%s%s", path, ext[i]);
        snprintf(dst, sizeof dst, "%s/refused-%u-%d.srd%s", dir, g_seed,
                 round, ext[i]);
        if (tu_copy_file(src, dst) == 0)
            fprintf(stderr, "kept %s\n", dst);
    }
}

static srd_store *open_writer(const char *path, int round)
{
    srd_options o;
    srd_options_init(&o);
    srd_store *st = NULL;
    srd_err rc = srd_open(path, &o, &st);
    if (rc != SRD_OK)
        keep_refused(path, round);
    ck_assert_msg(rc == SRD_OK, "seed %u round %d: reopen after kill: %s",
                  g_seed, round, srd_errname(rc));
    return st;
}

static void expect_verified(srd_store *st, const char *path, int round)
{
    srd_verify_report r;
    srd_err rc = srd_verify(st, &r, NULL, NULL);
    ck_assert_msg(rc == SRD_OK, "seed %u round %d: srd_verify: %s (%llu bad)",
                  g_seed, round, srd_errname(rc),
                  (unsigned long long)r.bad_entries);
    srd_info info;
    ck_srd(srd_get_info(st, &info));
    ck_assert_msg(info.tail == info.file_size &&
                  (long long)info.tail == tu_file_size(path),
                  "seed %u round %d: tail %llu, file %lld", g_seed, round,
                  (unsigned long long)info.tail, tu_file_size(path));
}

/* Rounds of write-and-kill against one store in one sync mode. */
static void crash_rounds(srd_sync_mode mode, int rounds)
{
    char *path = tu_join(g_dir, "crash.srd");
    model m = {NULL, 0};
    uint32_t seq = 0;
    int kills_mid_write = 0;
    for (int round = 0; round < rounds; round++) {
        bool wait_ready = round % 5 != 4; /* sometimes kill during open */
        uint32_t seq0 = seq;
        uint32_t next = run_and_kill(path, mode, seq0, random_delay(),
                                     wait_ready, &m, round, crash_child);
        /* ops < next were acked; op `next` may have completed without its
         * ack; nothing after it can have started */
        srd_store *st = open_writer(path, round);
        for (uint32_t s = 0; s < next; s++)
            if (model_acked(&m, s))
                ck_assert_msg(op_present(st, s, round) == 1,
                              "seed %u round %d: acknowledged op %u (%s) "
                              "missing", g_seed, round, s,
                              is_stream(s) ? "stream" : "batch");
        /* an op that completed without its ack is in the file for good:
         * later rounds must keep it */
        if (op_present(st, next, round))
            model_set(&m, next, is_stream(next) ? MSG_STREAM : MSG_BATCH);
        else
            kills_mid_write++;
        for (uint32_t s = next + 1; s < next + 3; s++)
            ck_assert_msg(op_present(st, s, round) == 0,
                          "seed %u round %d: op %u present but never "
                          "started", g_seed, round, s);
        expect_verified(st, path, round);
        /* a new write works and survives the next round */
        char key[32], val[32];
        snprintf(key, sizeof key, "round%d", round);
        snprintf(val, sizeof val, "after kill %d", round);
        ck_srd(srd_put(st, tu_s(key), tu_s(val)));
        for (int r = 0; r <= round; r++) {
            snprintf(key, sizeof key, "round%d", r);
            snprintf(val, sizeof val, "after kill %d", r);
            char buf[32];
            size_t n = 0;
            ck_srd(srd_get_copy(st, tu_s(key), buf, sizeof buf, &n));
            ck_assert(n == strlen(val) && memcmp(buf, val, n) == 0);
        }
        ck_srd(srd_close(st));
        seq = next + 1;
    }
    /* at least some kills must have hit a write in progress, or the test
     * proved little */
    ck_assert_msg(kills_mid_write > 0, "seed %u: no kill interrupted a write",
                  g_seed);
    free(m.acked);
    free(path);
}

START_TEST(test_kill_during_writes_loses_nothing_acked_sync_always)
{
    crash_rounds(SRD_SYNC_ALWAYS, 7);
}
END_TEST

START_TEST(test_kill_during_writes_loses_nothing_acked_sync_interval)
{
    crash_rounds(SRD_SYNC_INTERVAL, 6);
}
END_TEST

START_TEST(test_kill_during_writes_loses_nothing_acked_sync_never)
{
    crash_rounds(SRD_SYNC_NEVER, 7);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Kill during compaction                                                    */
/* ------------------------------------------------------------------------ */

#define COMPACT_KEYS 64

static size_t cval_len(uint32_t seq)
{
    return 100 + mix32(seq) % 20000;
}

static uint8_t cval_byte(uint32_t seq, size_t j)
{
    return (uint8_t)(j * 7u + seq * 3u + 1u);
}

/* Op seq: put key "c<seq % COMPACT_KEYS>" = value of seq (so most keys are
 * overwritten many times), and every fourth op a compaction. */
static void compact_child(const char *path, srd_sync_mode mode, uint32_t seq0,
                          int out)
{
    srd_options o;
    srd_options_init(&o);
    o.sync = mode;
    srd_store *st = NULL;
    if (srd_open(path, &o, &st) != SRD_OK)
        _exit(20);
    send_ack(out, MSG_READY, seq0);
    uint8_t *buf = malloc(20100);
    for (uint32_t seq = seq0;; seq++) {
        if (seq % 4 == 3) {
            if (srd_compact(st, NULL) != SRD_OK)
                _exit(23);
            send_ack(out, MSG_COMPACT, seq);
            continue;
        }
        char key[32];
        snprintf(key, sizeof key, "c%u", seq % COMPACT_KEYS);
        size_t len = cval_len(seq);
        for (size_t j = 0; j < len; j++)
            buf[j] = cval_byte(seq, j);
        if (srd_put(st, tu_s(key), (srd_val){buf, len}) != SRD_OK)
            _exit(24);
        send_ack(out, MSG_PUT, seq);
    }
}

/* Whether the key of put `seq` holds exactly that put's value. */
static bool holds_cval(srd_store *st, uint32_t seq)
{
    char key[32];
    snprintf(key, sizeof key, "c%u", seq % COMPACT_KEYS);
    srd_view v;
    if (srd_get(st, tu_s(key), &v) != SRD_OK)
        return false;
    bool ok = v.len == cval_len(seq);
    for (size_t j = 0; j < v.len && ok; j++)
        ok = v.data[j] == cval_byte(seq, j);
    srd_view_release(&v);
    return ok;
}

/* The value key c<k> must hold: the newest acked put for k, or the one
 * after it that may have completed unacknowledged. */
static void expect_compact_key(srd_store *st, const model *m, uint32_t next,
                               uint32_t k, int round)
{
    int64_t newest = -1;
    for (uint32_t s = 0; s < next; s++)
        if (model_acked(m, s) && m->acked[s] == MSG_PUT &&
            s % COMPACT_KEYS == k)
            newest = s;
    char key[32];
    snprintf(key, sizeof key, "c%u", k);
    srd_view v;
    srd_err rc = srd_get(st, tu_s(key), &v);
    if (newest < 0 && rc == SRD_ENOTFOUND)
        return;
    ck_assert_msg(rc == SRD_OK, "seed %u round %d: %s: %s", g_seed, round,
                  key, srd_errname(rc));
    /* candidates: newest acked, or op `next` if it targets this key */
    uint32_t cand[2] = {(uint32_t)newest, next};
    bool ok = false;
    for (int c = 0; c < 2 && !ok; c++) {
        if (c == 0 && newest < 0)
            continue;
        if (c == 1 && (next % 4 == 3 || next % COMPACT_KEYS != k))
            continue;
        uint32_t s = cand[c];
        if (v.len != cval_len(s))
            continue;
        ok = true;
        for (size_t j = 0; j < v.len && ok; j++)
            ok = v.data[j] == cval_byte(s, j);
    }
    srd_view_release(&v);
    ck_assert_msg(ok, "seed %u round %d: %s does not hold its newest "
                  "acknowledged value", g_seed, round, key);
}

/* srd (DESIGN.md section 5): a crash at any point of compaction leaves the
 * old or the new store, complete, and the stale temporary file is never
 * merged back in. */
START_TEST(test_kill_during_compaction_keeps_a_complete_store)
{
    char *path = tu_join(g_dir, "compact.srd");
    char *tmp = tu_join(g_dir, "compact.srd.compact");
    model m = {NULL, 0};
    uint32_t seq = 0;
    for (int round = 0; round < 8; round++) {
        unsigned delay = (unsigned)rand() % 60000;
        uint32_t next = run_and_kill(path, SRD_SYNC_ALWAYS, seq, delay,
                                     true, &m, round, compact_child);
        srd_store *st = open_writer(path, round);
        for (uint32_t k = 0; k < COMPACT_KEYS; k++)
            expect_compact_key(st, &m, next, k, round);
        if (next % 4 != 3 && holds_cval(st, next))
            model_set(&m, next, MSG_PUT); /* completed without its ack */
        uint64_t live = 0;
        ck_srd(srd_count(st, &live));
        ck_assert_uint_le(live, COMPACT_KEYS);
        expect_verified(st, path, round);
        /* compaction works again, over any stale temporary file */
        ck_srd(srd_compact(st, NULL));
        ck_assert_int_eq(tu_file_size(tmp), -1);
        for (uint32_t k = 0; k < COMPACT_KEYS; k++)
            expect_compact_key(st, &m, next, k, round);
        ck_srd(srd_count(st, &live));
        ck_assert_uint_le(live, COMPACT_KEYS);
        ck_srd(srd_close(st));
        seq = next + 1; /* op `next` may be in the file: never reuse it */
    }
    free(m.acked);
    free(tmp);
    free(path);
}
END_TEST

static Suite *crash_suite(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("kill9");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_kill_during_writes_loses_nothing_acked_sync_always);
    tcase_add_test(tc,
                   test_kill_during_writes_loses_nothing_acked_sync_interval);
    tcase_add_test(tc, test_kill_during_writes_loses_nothing_acked_sync_never);
    tcase_add_test(tc, test_kill_during_compaction_keeps_a_complete_store);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(crash_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
