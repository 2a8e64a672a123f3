/* SPDX-License-Identifier: MIT */
/*
 * check_srdd.c -- srdd as a black box: a real daemon (SRDD_PATH) on a
 * temporary store, driven through raw NNG REQ/SUB sockets with messages
 * built by the generated protobuf-c code (not by wire.c, so a codec bug
 * cannot hide on both sides). Covers every operation, dedupe, publication,
 * bad input, locking, signals and kill -9 under load.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/supplemental/util/platform.h>

#include "nngfix.h"
#include "reqconn.h"
#include "srd.pb-c.h"
#include "srdd_proc.h"
#include "testutil.h"

#ifndef SRDD_PATH
#error "SRDD_PATH must name the srdd binary"
#endif

/* ------------------------------------------------------------------------ */
/* The daemon under test                                                     */
/* ------------------------------------------------------------------------ */

/* NNG must not be initialized before a fork whose child uses it (it
 * panics: "not fork-reentrant safe"), so waiting does not use nng_msleep. */
static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static char *dir;        /* temporary directory of the test */
static char *store;      /* dir/s.db */
static pid_t daemon_pid; /* 0 when none runs */
static char *spawn_env;  /* "NAME=VALUE" for the next srdd, or NULL */

static void fixture_up(void)
{
    dir = tu_tmpdir();
    store = tu_join(dir, "s.db");
    daemon_pid = 0;
}

static char *daemon_log(void);
static int daemon_stop(int sig);

/* Every test ends with a clean SIGTERM (exit 0) and a log free of
 * sanitizer reports, unless the test stopped the daemon itself. */
static void fixture_down(void)
{
    if (daemon_pid > 0) {
        int st = daemon_stop(SIGTERM);
        char *log = daemon_log();
        int clean = !strstr(log, "Sanitizer") && !strstr(log, "runtime error");
        if (st != 0 || !clean)
            fprintf(stderr, "srdd log:\n%s\n", log);
        free(log);
        ck_assert_msg(st == 0, "srdd exited with %d after SIGTERM", st);
        ck_assert_msg(clean, "srdd reported a sanitizer error");
    }
    tu_rmtree(dir);
}

static char *store_file(const char *suffix)
{
    size_t n = strlen(store) + strlen(suffix) + 1;
    char *p = malloc(n);
    snprintf(p, n, "%s%s", store, suffix);
    return p;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* How srdd runs here: stderr to dir/srdd.log, spawn_env set. */
static tu_srdd_run daemon_run(char *log, bool detach)
{
    return (tu_srdd_run){.log = log, .env = spawn_env, .detach = detach};
}

/* Fork/exec srdd (daemonizing unless foreground); does not wait. */
static pid_t daemon_spawn_mode(const char *const *extra, int foreground)
{
    char *log = tu_join(dir, "srdd.log");
    tu_srdd_run run = daemon_run(log, !foreground);
    pid_t pid = tu_srdd_spawn(store, extra, &run);
    free(log);
    return pid;
}

/* Start srdd and wait until it announced itself (tu_srdd_start). */
static pid_t daemon_start(const char *const *extra)
{
    char *log = tu_join(dir, "srdd.log");
    tu_srdd_run run = daemon_run(log, false);
    daemon_pid = tu_srdd_start(store, extra, &run);
    free(log);
    return daemon_pid;
}

/* Send sig and return the exit status (128 + signal when killed). A
 * daemon that does not exit within 20 s is killed and the test fails. */
static int daemon_stop(int sig)
{
    pid_t pid = daemon_pid;
    daemon_pid = 0;
    return tu_srdd_stop(pid, sig);
}

static char *daemon_log(void)
{
    char *log = tu_join(dir, "srdd.log");
    size_t len;
    uint8_t *b = tu_read_file(log, &len);
    free(log);
    if (!b)
        return strdup("");
    b[len] = '\0';
    return (char *)b;
}

/* The value of "name=" in "<store>.srdd" (malloc'd). */
static char *discovery_field(const char *name)
{
    char *path = store_file(".srdd");
    size_t len;
    uint8_t *b = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(b);
    b[len] = '\0';
    char key[32];
    snprintf(key, sizeof key, "%s=", name);
    char *at = strstr((char *)b, key);
    ck_assert_ptr_nonnull(at);
    at += strlen(key);
    char *out = strndup(at, strcspn(at, "\n"));
    free(b);
    free(path);
    return out;
}

/* ------------------------------------------------------------------------ */
/* A raw client                                                              */
/* ------------------------------------------------------------------------ */

typedef struct conn {
    tu_req r;
    uint64_t cid;
    uint64_t seq;
    bool post_only; /* call() sends and returns NULL: replies read later */
} conn;

static conn conn_open_ms(int recv_timeout_ms)
{
    conn c = {.cid = ((uint64_t)rand() << 32) ^ (uint64_t)rand() ^
                     (uint64_t)getpid()};
    char *url = discovery_field("listen");
    ck_assert_int_eq(tu_req_open(&c.r, url, recv_timeout_ms), 0);
    free(url);
    return c;
}


static conn conn_open(void)
{
    return conn_open_ms(20000);
}

static void conn_close(conn *c)
{
    tu_req_close(&c->r);
}

/* [u32 LE header_len][header][raw] for rq (version, client and seq as
 * given). */
static uint8_t *frame(const Srd__V1__Request *rq, const void *raw,
                      size_t raw_len, size_t *len)
{
    size_t hl = srd__v1__request__get_packed_size(rq);
    *len = 4 + hl + raw_len;
    uint8_t *b = malloc(*len);
    ck_assert_ptr_nonnull(b);
    tu_put_le32(b, (uint32_t)hl);
    srd__v1__request__pack(rq, b + 4);
    if (raw_len)
        memcpy(b + 4 + hl, raw, raw_len);
    return b;
}

/* The next reply on r, decoded, or NULL when none came in time. */
static Srd__V1__Response *next_reply(tu_req *r)
{
    void *buf = NULL;
    size_t got = 0;
    if (tu_req_recv(r, &buf, &got) != 0)
        return NULL;
    ck_assert_uint_ge(got, 4);
    uint32_t hl = tu_get_le32(buf);
    ck_assert_uint_eq(4 + (size_t)hl, got); /* replies carry no raw bytes */
    Srd__V1__Response *rs =
        srd__v1__response__unpack(NULL, hl, (uint8_t *)buf + 4);
    ck_assert_ptr_nonnull(rs);
    free(buf);
    return rs;
}

/* Send len bytes; the decoded reply, or NULL when none came in time. */
static Srd__V1__Response *exchange(conn *c, const void *msg, size_t len)
{
    ck_assert_int_eq(tu_req_send(&c->r, msg, len), 0);
    return next_reply(&c->r);
}

static void req_init(conn *c, Srd__V1__Request *rq)
{
    srd__v1__request__init(rq);
    rq->protocol_version = 1;
    rq->client_id = c->cid;
    rq->seq = ++c->seq;
}

/* Frame rq (+ raw) and exchange it; a reply must come. */
static Srd__V1__Response *call(conn *c, const Srd__V1__Request *rq,
                               const void *raw, size_t raw_len)
{
    size_t len;
    uint8_t *m = frame(rq, raw, raw_len, &len);
    if (c->post_only) {
        ck_assert_int_eq(tu_req_send(&c->r, m, len), 0);
        free(m);
        return NULL;
    }
    Srd__V1__Response *r = exchange(c, m, len);
    free(m);
    ck_assert_msg(r != NULL, "no reply from srdd");
    ck_assert_uint_eq(r->seq, rq->seq);
    return r;
}

static void expect_ok(Srd__V1__Response *r)
{
    ck_assert_msg(r->error == 0, "srdd said %s: %s",
                  srd_errname((srd_err)r->error), r->message);
}

static void expect_err(Srd__V1__Response *r, srd_err want)
{
    ck_assert_msg(r->error == (uint32_t)want, "wanted %s, got %s: %s",
                  srd_errname(want), srd_errname((srd_err)r->error),
                  r->message);
    ck_assert_msg(r->message && *r->message, "error without a message");
}

/* Hello; NULL when no reply came in time. */
static Srd__V1__Response *try_hello(conn *c)
{
    Srd__V1__Request rq;
    Srd__V1__Hello h = SRD__V1__HELLO__INIT;
    req_init(c, &rq);
    h.protocol_version = 1;
    rq.op_case = SRD__V1__REQUEST__OP_HELLO;
    rq.hello = &h;
    size_t len;
    uint8_t *m = frame(&rq, NULL, 0, &len);
    Srd__V1__Response *r = exchange(c, m, len);
    free(m);
    return r;
}

static Srd__V1__Response *do_hello(conn *c)
{
    Srd__V1__Response *r = try_hello(c);
    ck_assert_msg(r != NULL, "no reply from srdd");
    return r;
}

/* A new connection that srdd serves within about 10 s: the time its
 * listener probe needs to replace a listener NNG 1.5.2 stuck (see
 * test_peer_leaving_mid_handshake_does_not_shut_srdd_out); a request on a
 * connection the replaced listener held fails, so each try dials anew. */
static conn conn_served(void)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        conn c = conn_open_ms(2000);
        Srd__V1__Response *r = try_hello(&c);
        if (r) {
            expect_ok(r);
            srd__v1__response__free_unpacked(r, NULL);
            return c;
        }
        conn_close(&c);
    }
    ck_abort_msg("srdd served no new connection for 10 s");
    return (conn){0};
}

/* The daemon still answers: hello succeeds. */
static void expect_serving(conn *c)
{
    Srd__V1__Response *r = do_hello(c);
    expect_ok(r);
    srd__v1__response__free_unpacked(r, NULL);
}

static Srd__V1__Response *do_put(conn *c, const char *key, const void *val,
                                 size_t len)
{
    Srd__V1__Request rq;
    Srd__V1__Put p = SRD__V1__PUT__INIT;
    req_init(c, &rq);
    p.key = (ProtobufCBinaryData){strlen(key), (uint8_t *)key};
    p.value_len = len;
    rq.op_case = SRD__V1__REQUEST__OP_PUT;
    rq.put = &p;
    return call(c, &rq, val, len);
}

static void put_ok(conn *c, const char *key, const char *val)
{
    Srd__V1__Response *r = do_put(c, key, val, strlen(val));
    expect_ok(r);
    srd__v1__response__free_unpacked(r, NULL);
}

static Srd__V1__Response *do_put_batch(conn *c, const char *const *keys,
                                       const char *const *vals, size_t n)
{
    Srd__V1__Request rq;
    Srd__V1__PutBatch b = SRD__V1__PUT_BATCH__INIT;
    Srd__V1__Put items[16], *ptrs[16];
    char raw[4096];
    size_t off = 0;
    ck_assert_uint_le(n, 16);
    for (size_t i = 0; i < n; i++) {
        srd__v1__put__init(&items[i]);
        items[i].key = (ProtobufCBinaryData){strlen(keys[i]),
                                             (uint8_t *)keys[i]};
        items[i].value_len = strlen(vals[i]);
        memcpy(raw + off, vals[i], items[i].value_len);
        off += items[i].value_len;
        ptrs[i] = &items[i];
    }
    req_init(c, &rq);
    b.n_items = n;
    b.items = ptrs;
    rq.op_case = SRD__V1__REQUEST__OP_PUT_BATCH;
    rq.put_batch = &b;
    return call(c, &rq, raw, off);
}

static Srd__V1__Response *do_delete(conn *c, const char *const *keys,
                                    size_t n, int batch)
{
    Srd__V1__Request rq;
    Srd__V1__Delete d = SRD__V1__DELETE__INIT;
    Srd__V1__DeleteBatch db = SRD__V1__DELETE_BATCH__INIT;
    ProtobufCBinaryData k[16];
    ck_assert_uint_le(n, 16);
    for (size_t i = 0; i < n; i++)
        k[i] = (ProtobufCBinaryData){strlen(keys[i]), (uint8_t *)keys[i]};
    req_init(c, &rq);
    if (batch) {
        db.n_keys = n;
        db.keys = k;
        rq.op_case = SRD__V1__REQUEST__OP_DELETE_BATCH;
        rq.delete_batch = &db;
    } else {
        d.key = k[0];
        rq.op_case = SRD__V1__REQUEST__OP_DELETE;
        rq.delete_ = &d;
    }
    return call(c, &rq, NULL, 0);
}

static Srd__V1__Response *do_simple(conn *c, Srd__V1__Request__OpCase op)
{
    Srd__V1__Request rq;
    Srd__V1__Sync sy = SRD__V1__SYNC__INIT;
    Srd__V1__Stats stt = SRD__V1__STATS__INIT;
    req_init(c, &rq);
    rq.op_case = op;
    if (op == SRD__V1__REQUEST__OP_SYNC)
        rq.sync = &sy;
    else
        rq.stats = &stt;
    return call(c, &rq, NULL, 0);
}

/* The "clients" figure of a Stats reply. */
static uint64_t stats_clients(conn *c)
{
    Srd__V1__Response *r = do_simple(c, SRD__V1__REQUEST__OP_STATS);
    expect_ok(r);
    uint64_t n = r->stats->clients;
    srd__v1__response__free_unpacked(r, NULL);
    return n;
}

static Srd__V1__Response *stream_begin(conn *c, const char *key)
{
    Srd__V1__Request rq;
    Srd__V1__StreamBegin b = SRD__V1__STREAM_BEGIN__INIT;
    req_init(c, &rq);
    b.key = (ProtobufCBinaryData){strlen(key), (uint8_t *)key};
    rq.op_case = SRD__V1__REQUEST__OP_STREAM_BEGIN;
    rq.stream_begin = &b;
    return call(c, &rq, NULL, 0);
}

static Srd__V1__Response *stream_chunk(conn *c, uint64_t id, const void *p,
                                       size_t n)
{
    Srd__V1__Request rq;
    Srd__V1__StreamChunk ch = SRD__V1__STREAM_CHUNK__INIT;
    req_init(c, &rq);
    ch.stream_id = id;
    rq.op_case = SRD__V1__REQUEST__OP_STREAM_CHUNK;
    rq.stream_chunk = &ch;
    return call(c, &rq, p, n);
}

static Srd__V1__Response *stream_end(conn *c, uint64_t id, int abort_it)
{
    Srd__V1__Request rq;
    Srd__V1__StreamEnd e = SRD__V1__STREAM_END__INIT;
    req_init(c, &rq);
    e.stream_id = id;
    e.abort = abort_it;
    rq.op_case = SRD__V1__REQUEST__OP_STREAM_END;
    rq.stream_end = &e;
    return call(c, &rq, NULL, 0);
}

/* ------------------------------------------------------------------------ */
/* Reading the store as an independent reader                                */
/* ------------------------------------------------------------------------ */

static srd_store *reader(void)
{
    srd_store *st;
    ck_srd(tu_open(store, SRD_OPEN_READONLY, &st));
    return st;
}

/* The value of key (malloc'd, NUL-terminated) or NULL when absent. */
static char *read_value(srd_store *st, const char *key, size_t *len)
{
    srd_view v;
    srd_err rc = srd_get(st, tu_s(key), &v);
    if (rc == SRD_ENOTFOUND)
        return NULL;
    ck_srd(rc);
    char *out = malloc(v.len + 1);
    memcpy(out, v.data, v.len);
    out[v.len] = '\0';
    if (len)
        *len = v.len;
    srd_view_release(&v);
    return out;
}

static void expect_value(srd_store *st, const char *key, const char *want)
{
    char *got = read_value(st, key, NULL);
    ck_assert_msg(got != NULL, "%s is missing", key);
    ck_assert_str_eq(got, want);
    free(got);
}

static void expect_absent(srd_store *st, const char *key)
{
    char *got = read_value(st, key, NULL);
    ck_assert_msg(got == NULL, "%s is present: %s", key, got);
}

/* ------------------------------------------------------------------------ */
/* Operations                                                                */
/* ------------------------------------------------------------------------ */

START_TEST(test_hello_reports_version_identity_and_urls)
{
    daemon_start(NULL);
    conn c = conn_open();
    Srd__V1__Response *r = do_hello(&c);
    expect_ok(r);
    ck_assert_ptr_nonnull(r->hello);
    ck_assert_uint_eq(r->hello->protocol_version, 1);
    struct stat sb;
    ck_assert_int_eq(stat(store, &sb), 0);
    ck_assert_uint_eq(r->hello->store_dev, (uint64_t)sb.st_dev);
    ck_assert_uint_eq(r->hello->store_ino, (uint64_t)sb.st_ino);
    char *pub = discovery_field("publish");
    ck_assert_str_eq(r->hello->publish_url, pub);
    char *abs = discovery_field("store");
    ck_assert_str_eq(r->hello->store_path, abs);
    ck_assert_uint_eq(r->hello->max_message, 64u << 20);
    ck_assert_uint_eq(r->hello->committed_tail, 0);
    free(pub);
    free(abs);
    srd__v1__response__free_unpacked(r, NULL);
    conn_close(&c);
}
END_TEST

START_TEST(test_put_is_in_the_file_when_acknowledged)
{
    daemon_start(NULL);
    conn c = conn_open();
    Srd__V1__Response *r = do_put(&c, "alpha", "first value", 11);
    expect_ok(r);
    ck_assert_uint_eq(r->n_entries, 1);
    Srd__V1__EntryRef *e = r->entries[0];
    ck_assert_uint_eq(e->key_hash, srd_key_hash("alpha", 5));
    ck_assert_uint_eq(e->start, 0);
    ck_assert_uint_eq(e->end, 11 + 20);
    ck_assert(!e->tombstone);
    ck_assert_uint_eq(r->committed_tail, e->end);
    srd__v1__response__free_unpacked(r, NULL);
    srd_store *st = reader();
    expect_value(st, "alpha", "first value");
    srd_close(st);
    conn_close(&c);
}
END_TEST

START_TEST(test_put_batch_lands_whole_and_in_order)
{
    daemon_start(NULL);
    conn c = conn_open();
    const char *k[3] = {"b1", "b2", "b1"};
    const char *v[3] = {"one", "two", "one again"};
    Srd__V1__Response *r = do_put_batch(&c, k, v, 3);
    expect_ok(r);
    ck_assert_uint_eq(r->n_entries, 3);
    ck_assert_uint_le(r->entries[0]->end, r->entries[1]->start + 63);
    ck_assert_uint_eq(r->committed_tail, r->entries[2]->end);
    srd__v1__response__free_unpacked(r, NULL);
    srd_store *st = reader();
    expect_value(st, "b1", "one again"); /* later items win */
    expect_value(st, "b2", "two");
    srd_close(st);
    conn_close(&c);
}
END_TEST

START_TEST(test_invalid_values_are_einval_and_write_nothing)
{
    daemon_start(NULL);
    conn c = conn_open();
    Srd__V1__Response *r = do_put(&c, "k", "", 0);
    expect_err(r, SRD_EINVAL);
    srd__v1__response__free_unpacked(r, NULL);
    r = do_put(&c, "k", "\0", 1);
    expect_err(r, SRD_EINVAL);
    srd__v1__response__free_unpacked(r, NULL);
    const char *k[2] = {"good", "bad"}, *v[2] = {"fine", ""};
    r = do_put_batch(&c, k, v, 2);
    expect_err(r, SRD_EINVAL);
    srd__v1__response__free_unpacked(r, NULL);
    r = do_put(&c, "zeros", "\0\0", 2); /* two zero bytes are a value */
    expect_ok(r);
    ck_assert_uint_eq(r->entries[0]->start, 0); /* nothing before it */
    srd__v1__response__free_unpacked(r, NULL);
    conn_close(&c);
}
END_TEST

START_TEST(test_delete_writes_a_tombstone_only_when_present)
{
    daemon_start(NULL);
    conn c = conn_open();
    put_ok(&c, "doomed", "value");
    const char *k[1] = {"doomed"};
    Srd__V1__Response *r = do_delete(&c, k, 1, 0);
    expect_ok(r);
    ck_assert_uint_eq(r->n_entries, 1);
    ck_assert(r->entries[0]->tombstone);
    ck_assert_uint_eq(r->entries[0]->end, r->entries[0]->start + 21);
    uint64_t tail = r->committed_tail;
    srd__v1__response__free_unpacked(r, NULL);
    r = do_delete(&c, k, 1, 0); /* absent now: nothing written */
    expect_ok(r);
    ck_assert_uint_eq(r->n_entries, 0);
    ck_assert_uint_eq(r->committed_tail, tail);
    srd__v1__response__free_unpacked(r, NULL);
    srd_store *st = reader();
    expect_absent(st, "doomed");
    srd_close(st);
    conn_close(&c);
}
END_TEST

START_TEST(test_delete_batch_skips_absent_and_repeated_keys)
{
    daemon_start(NULL);
    conn c = conn_open();
    put_ok(&c, "x", "1");
    put_ok(&c, "y", "2");
    put_ok(&c, "keep", "3");
    const char *k[4] = {"x", "nope", "y", "x"};
    Srd__V1__Response *r = do_delete(&c, k, 4, 1);
    expect_ok(r);
    ck_assert_uint_eq(r->n_entries, 2);
    srd__v1__response__free_unpacked(r, NULL);
    srd_store *st = reader();
    expect_absent(st, "x");
    expect_absent(st, "y");
    expect_value(st, "keep", "3");
    srd_close(st);
    conn_close(&c);
}
END_TEST

START_TEST(test_sync_and_stats_answer)
{
    pid_t pid = daemon_start(NULL);
    conn c = conn_open();
    put_ok(&c, "a", "1");
    put_ok(&c, "b", "2");
    Srd__V1__Response *r = do_simple(&c, SRD__V1__REQUEST__OP_SYNC);
    expect_ok(r);
    srd__v1__response__free_unpacked(r, NULL);
    r = do_simple(&c, SRD__V1__REQUEST__OP_STATS);
    expect_ok(r);
    ck_assert_ptr_nonnull(r->stats);
    ck_assert_uint_eq(r->stats->pid, (uint64_t)pid);
    ck_assert_uint_eq(r->stats->live_keys, 2);
    ck_assert_uint_ge(r->stats->requests, 4);
    ck_assert_uint_ge(r->stats->groups, 1);
    ck_assert_uint_ge(r->stats->syncs, 2);
    ck_assert_uint_eq(r->stats->clients, 1);
    ck_assert_uint_eq(r->stats->committed_tail, r->committed_tail);
    printf("stats: requests %llu groups %llu syncs %llu uptime %llu ms\n",
           (unsigned long long)r->stats->requests,
           (unsigned long long)r->stats->groups,
           (unsigned long long)r->stats->syncs,
           (unsigned long long)r->stats->uptime_ms);
    srd__v1__response__free_unpacked(r, NULL);
    /* "clients" counts open connections (srdd's own probes left out). */
    conn c2 = conn_open();
    expect_serving(&c2);
    ck_assert_uint_eq(stats_clients(&c), 2);
    conn_close(&c2);
    uint64_t left = 2;
    for (int i = 0; i < 100 && (left = stats_clients(&c)) != 1; i++)
        nng_msleep(20);
    ck_assert_uint_eq(left, 1);
    conn_close(&c);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Group commit and its gather (daemon/gather.h)                             */
/* ------------------------------------------------------------------------ */

#define GW 8 /* writers of the gather tests */

/* Send a put of key=val on c without reading its reply; its seq. */
static uint64_t send_put(conn *c, const char *key, const char *val)
{
    Srd__V1__Request rq;
    Srd__V1__Put p = SRD__V1__PUT__INIT;
    req_init(c, &rq);
    p.key = (ProtobufCBinaryData){strlen(key), (uint8_t *)key};
    p.value_len = strlen(val);
    rq.op_case = SRD__V1__REQUEST__OP_PUT;
    rq.put = &p;
    size_t len;
    uint8_t *m = frame(&rq, val, strlen(val), &len);
    ck_assert_int_eq(tu_req_send(&c->r, m, len), 0);
    free(m);
    return rq.seq;
}

/* The reply to the put of key sent as seq: ok, one entry of key, inside
 * the committed tail, after every earlier ack of this writer (*last). */
static void expect_put_acked(conn *c, uint64_t seq, const char *key,
                             uint64_t *last)
{
    Srd__V1__Response *r = next_reply(&c->r);
    ck_assert_msg(r != NULL, "no ack for %s", key);
    expect_ok(r);
    ck_assert_uint_eq(r->seq, seq);
    ck_assert_uint_eq(r->n_entries, 1);
    ck_assert_uint_eq(r->entries[0]->key_hash, srd_key_hash(key, strlen(key)));
    ck_assert_uint_le(r->entries[0]->end, r->committed_tail);
    ck_assert_uint_ge(r->entries[0]->start, *last);
    *last = r->entries[0]->end;
    srd__v1__response__free_unpacked(r, NULL);
}

/* Writers [from, to) each send one put of round, then each reads its
 * ack. */
static void gather_round(conn *w, uint64_t *last, int from, int to,
                         int round)
{
    char key[32], val[32];
    uint64_t seq[GW];
    for (int i = from; i < to; i++) {
        snprintf(key, sizeof key, "g%d.%d", i, round);
        snprintf(val, sizeof val, "v%d.%d", i, round);
        seq[i] = send_put(&w[i], key, val);
    }
    for (int i = from; i < to; i++) {
        snprintf(key, sizeof key, "g%d.%d", i, round);
        expect_put_acked(&w[i], seq[i], key, &last[i]);
    }
}

static Srd__V1__StatsReply *stats_of(conn *c, Srd__V1__Response **keep)
{
    *keep = do_simple(c, SRD__V1__REQUEST__OP_STATS);
    expect_ok(*keep);
    ck_assert_ptr_nonnull((*keep)->stats);
    return (*keep)->stats;
}

/* Rounds of all writers at once (groups of several connections, which
 * make the next passes gather) alternate with rounds where only three
 * write and the other five follow after those three were acked (the
 * gather waits for writers that do not come, and ends by its bound):
 * every put is acked once, in order per writer, and in the file. */
START_TEST(test_gathered_groups_ack_every_writer)
{
    const char *args[] = {"--sync", "always", NULL};
    daemon_start(args);
    conn w[GW];
    uint64_t last[GW] = {0};
    for (int i = 0; i < GW; i++)
        w[i] = conn_open();
    const int rounds = 40;
    for (int round = 0; round < rounds; round++) {
        if (round % 2 == 0) {
            gather_round(w, last, 0, GW, round);
        } else {
            gather_round(w, last, 0, 3, round);
            gather_round(w, last, 3, GW, round);
        }
    }
    Srd__V1__Response *keep;
    Srd__V1__StatsReply *s = stats_of(&w[0], &keep);
    ck_assert_uint_eq(s->writes, (uint64_t)GW * rounds);
    ck_assert_uint_eq(s->live_keys, (uint64_t)GW * rounds);
    ck_assert_uint_le(s->groups, s->writes);
    ck_assert_uint_ge(s->syncs, s->groups);
    ck_assert_uint_le(s->group_max, GW);
    srd__v1__response__free_unpacked(keep, NULL);
    srd_store *st = reader();
    char key[32], val[32];
    for (int round = 0; round < rounds; round++)
        for (int i = 0; i < GW; i++) {
            snprintf(key, sizeof key, "g%d.%d", i, round);
            snprintf(val, sizeof val, "v%d.%d", i, round);
            expect_value(st, key, val);
        }
    srd_close(st);
    for (int i = 0; i < GW; i++)
        conn_close(&w[i]);
}
END_TEST

/* One connection pipelines single puts, a delete of one of them, a batch
 * and more puts before it reads a reply: srdd reads them in one pass and
 * writes the single puts between the others together, yet every entry
 * lands in request order (the delete sees the put before it, the batch
 * follows the put before it) and the last write of each key wins. */
START_TEST(test_pipelined_mixed_writes_land_in_request_order)
{
    const char *args[] = {"--sync", "always", NULL};
    daemon_start(args);
    conn c = conn_open();
    uint64_t first = c.seq + 1;
    c.post_only = true;
    do_put(&c, "a", "a1", 2);
    do_put(&c, "b", "b1", 2);
    do_put(&c, "c", "c1", 2);
    const char *dk[1] = {"a"};
    do_delete(&c, dk, 1, 0);
    do_put(&c, "a", "a2", 2);
    const char *bk[2] = {"b", "d"}, *bv[2] = {"b2", "d1"};
    do_put_batch(&c, bk, bv, 2);
    do_put(&c, "e", "e1", 2);
    do_put(&c, "d", "d2", 2);
    c.post_only = false;
    const size_t entries[8] = {1, 1, 1, 1, 1, 2, 1, 1};
    uint64_t last = 0;
    for (int i = 0; i < 8; i++) {
        Srd__V1__Response *r = next_reply(&c.r);
        ck_assert_msg(r != NULL, "no reply %d", i);
        expect_ok(r);
        ck_assert_uint_eq(r->seq, first + (uint64_t)i);
        ck_assert_uint_eq(r->n_entries, entries[i]);
        for (size_t e = 0; e < r->n_entries; e++) {
            ck_assert_uint_eq(r->entries[e]->start, last);
            ck_assert(r->entries[e]->tombstone == (i == 3));
            last = r->entries[e]->end;
        }
        ck_assert_uint_le(last, r->committed_tail);
        srd__v1__response__free_unpacked(r, NULL);
    }
    srd_store *st = reader();
    expect_value(st, "a", "a2");
    expect_value(st, "b", "b2");
    expect_value(st, "c", "c1");
    expect_value(st, "d", "d2");
    expect_value(st, "e", "e1");
    srd_close(st);
    conn_close(&c);
}
END_TEST

/* After groups of eight connections, one writer alone: each of its
 * blocking puts is a group of its own, acked (the gather never holds a
 * lone writer's group for company that is not coming); and one writer
 * pipelining puts counts as one connection, so its puts are acked in
 * order whatever groups they form. */
START_TEST(test_lone_writer_is_a_group_per_put)
{
    const char *args[] = {"--sync", "always", NULL};
    daemon_start(args);
    conn w[GW];
    uint64_t last[GW] = {0};
    for (int i = 0; i < GW; i++)
        w[i] = conn_open();
    for (int round = 0; round < 4; round++)
        gather_round(w, last, 0, GW, round);
    Srd__V1__Response *keep;
    uint64_t groups0 = stats_of(&w[0], &keep)->groups;
    srd__v1__response__free_unpacked(keep, NULL);
    char key[32];
    const int n = 20;
    for (int k = 0; k < n; k++) {
        snprintf(key, sizeof key, "lone%d", k);
        uint64_t seq = send_put(&w[0], key, "alone");
        expect_put_acked(&w[0], seq, key, &last[0]);
    }
    Srd__V1__StatsReply *s = stats_of(&w[0], &keep);
    ck_assert_uint_eq(s->groups, groups0 + (uint64_t)n);
    ck_assert_uint_eq(s->writes, (uint64_t)GW * 4 + (uint64_t)n);
    srd__v1__response__free_unpacked(keep, NULL);
    uint64_t seq[GW];
    for (int k = 0; k < GW; k++) {
        snprintf(key, sizeof key, "pipe%d", k);
        seq[k] = send_put(&w[1], key, "piped");
    }
    for (int k = 0; k < GW; k++) {
        snprintf(key, sizeof key, "pipe%d", k);
        expect_put_acked(&w[1], seq[k], key, &last[1]);
    }
    srd_store *st = reader();
    expect_value(st, "lone19", "alone");
    expect_value(st, "pipe7", "piped");
    srd_close(st);
    for (int i = 0; i < GW; i++)
        conn_close(&w[i]);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Streams                                                                   */
/* ------------------------------------------------------------------------ */

START_TEST(test_stream_in_chunks_commits_one_value)
{
    daemon_start(NULL);
    conn c = conn_open();
    size_t total = 3 * (1u << 20) + 12345, chunk = 1u << 20;
    uint8_t *val = malloc(total);
    uint64_t seed = 7;
    tu_fill_random(&seed, val, total);
    Srd__V1__Response *r = stream_begin(&c, "big");
    expect_ok(r);
    uint64_t id = r->stream_id;
    ck_assert_uint_ne(id, 0);
    srd__v1__response__free_unpacked(r, NULL);
    for (size_t off = 0; off < total; off += chunk) {
        size_t n = total - off < chunk ? total - off : chunk;
        r = stream_chunk(&c, id, val + off, n);
        expect_ok(r);
        srd__v1__response__free_unpacked(r, NULL);
        put_ok(&c, "meanwhile", "other writers are not held up");
    }
    r = stream_end(&c, id, 0);
    expect_ok(r);
    ck_assert_uint_eq(r->n_entries, 1);
    ck_assert_uint_eq(r->entries[0]->key_hash, srd_key_hash("big", 3));
    srd__v1__response__free_unpacked(r, NULL);
    srd_store *st = reader();
    size_t len;
    char *got = read_value(st, "big", &len);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(len, total);
    ck_assert(memcmp(got, val, total) == 0);
    srd_verify_report rep;
    ck_srd(srd_verify(st, &rep, NULL, NULL)); /* the CRC is right */
    free(got);
    free(val);
    srd_close(st);
    conn_close(&c);
}
END_TEST

/* Begin a stream for key and send one chunk; returns the stream id. */
static uint64_t stream_with(conn *c, const char *key, const char *chunk)
{
    Srd__V1__Response *r = stream_begin(c, key);
    expect_ok(r);
    uint64_t id = r->stream_id;
    srd__v1__response__free_unpacked(r, NULL);
    r = stream_chunk(c, id, chunk, strlen(chunk));
    expect_ok(r);
    srd__v1__response__free_unpacked(r, NULL);
    return id;
}

/* The first entry of an empty store starts 64-aligned: no pad at all. */
START_TEST(test_stream_into_empty_store_commits)
{
    daemon_start(NULL);
    conn c = conn_open();
    uint64_t id = stream_with(&c, "first", "streamed first");
    Srd__V1__Response *r = stream_end(&c, id, 0);
    expect_ok(r);
    ck_assert_uint_eq(r->n_entries, 1);
    ck_assert_uint_eq(r->entries[0]->start, 0);
    srd__v1__response__free_unpacked(r, NULL);
    srd_store *st = reader();
    expect_value(st, "first", "streamed first");
    srd_close(st);
    conn_close(&c);
}
END_TEST

START_TEST(test_aborted_stream_leaves_nothing)
{
    daemon_start(NULL);
    conn c = conn_open();
    uint64_t id = stream_with(&c, "never", "partial");
    Srd__V1__Response *r = stream_end(&c, id, 1);
    expect_ok(r);
    ck_assert_uint_eq(r->n_entries, 0);
    ck_assert_uint_eq(r->committed_tail, 0);
    srd__v1__response__free_unpacked(r, NULL);
    r = stream_chunk(&c, id, "late", 4); /* the id is gone */
    expect_err(r, SRD_ENOTFOUND);
    srd__v1__response__free_unpacked(r, NULL);
    ck_assert_int_eq(tu_file_size(store), 0);
    conn_close(&c);
}
END_TEST

START_TEST(test_chunk_for_unknown_stream_is_refused)
{
    daemon_start(NULL);
    conn c = conn_open();
    Srd__V1__Response *r = stream_chunk(&c, 0x1234, "data", 4);
    expect_err(r, SRD_ENOTFOUND);
    srd__v1__response__free_unpacked(r, NULL);
    r = stream_end(&c, 0x1234, 0);
    expect_err(r, SRD_ENOTFOUND);
    srd__v1__response__free_unpacked(r, NULL);
    /* Another client cannot feed someone else's stream. */
    r = stream_begin(&c, "mine");
    uint64_t id = r->stream_id;
    srd__v1__response__free_unpacked(r, NULL);
    conn other = conn_open();
    r = stream_chunk(&other, id, "intruder", 8);
    expect_err(r, SRD_ENOTFOUND);
    srd__v1__response__free_unpacked(r, NULL);
    expect_serving(&c);
    conn_close(&other);
    conn_close(&c);
}
END_TEST

START_TEST(test_empty_stream_is_einval)
{
    daemon_start(NULL);
    conn c = conn_open();
    Srd__V1__Response *r = stream_begin(&c, "empty");
    uint64_t id = r->stream_id;
    srd__v1__response__free_unpacked(r, NULL);
    r = stream_end(&c, id, 0);
    expect_err(r, SRD_EINVAL);
    srd__v1__response__free_unpacked(r, NULL);
    ck_assert_int_eq(tu_file_size(store), 0);
    conn_close(&c);
}
END_TEST

START_TEST(test_idle_stream_is_dropped)
{
    const char *args[] = {"--stream-idle-ms", "100", NULL};
    daemon_start(args);
    conn c = conn_open();
    Srd__V1__Response *r = stream_begin(&c, "slow");
    uint64_t id = r->stream_id;
    srd__v1__response__free_unpacked(r, NULL);
    int dropped = 0;
    for (int i = 0; i < 200 && !dropped; i++) { /* up to 10 s */
        sleep_ms(50);
        char *log = daemon_log();
        dropped = strstr(log, "idle for") != NULL;
        free(log);
    }
    ck_assert_msg(dropped, "the idle stream was not dropped");
    r = stream_chunk(&c, id, "too late", 8);
    expect_err(r, SRD_ENOTFOUND);
    srd__v1__response__free_unpacked(r, NULL);
    conn_close(&c);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Dedupe and publication                                                    */
/* ------------------------------------------------------------------------ */

START_TEST(test_repeated_sequence_is_applied_once)
{
    daemon_start(NULL);
    conn c = conn_open();
    Srd__V1__Request rq;
    Srd__V1__Put p = SRD__V1__PUT__INIT;
    req_init(&c, &rq);
    p.key = (ProtobufCBinaryData){4, (uint8_t *)"once"};
    p.value_len = 5;
    rq.op_case = SRD__V1__REQUEST__OP_PUT;
    rq.put = &p;
    size_t len;
    uint8_t *m = frame(&rq, "value", 5, &len);
    Srd__V1__Response *a = exchange(&c, m, len);
    Srd__V1__Response *b = exchange(&c, m, len); /* a retry */
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    expect_ok(a);
    expect_ok(b);
    ck_assert_uint_eq(b->n_entries, 1);
    ck_assert_uint_eq(a->entries[0]->start, b->entries[0]->start);
    ck_assert_uint_eq(a->entries[0]->end, b->entries[0]->end);
    ck_assert_int_eq(tu_file_size(store), (long long)a->entries[0]->end);
    srd__v1__response__free_unpacked(a, NULL);
    srd__v1__response__free_unpacked(b, NULL);
    /* Once many later mutations pushed it out of the window, the same
     * sequence is refused rather than applied again. */
    for (int i = 0; i < 40; i++)
        put_ok(&c, "later", "x1");
    b = exchange(&c, m, len);
    ck_assert_ptr_nonnull(b);
    expect_err(b, SRD_EPROTO);
    ck_assert_ptr_nonnull(strstr(b->message, "stale"));
    srd__v1__response__free_unpacked(b, NULL);
    srd_store *st = reader();
    srd_info info;
    ck_srd(srd_get_info(st, &info));
    ck_assert_uint_eq(info.entries, 41);
    srd_close(st);
    free(m);
    conn_close(&c);
}
END_TEST

START_TEST(test_subscriber_receives_update_with_tails)
{
    daemon_start(NULL);
    conn c = conn_open();
    nng_socket sub;
    char *pub = discovery_field("publish");
    ck_assert_int_eq(nng_sub0_open(&sub), 0);
    ck_assert_int_eq(nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "", 0), 0);
    ck_assert_int_eq(nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 200), 0);
    ck_assert_int_eq(nng_dial(sub, pub, NULL, 0), 0);
    /* A subscription takes a moment to reach the publisher: write until
     * an update arrives, then check the one that matches our last put. */
    Srd__V1__IndexUpdate *u = NULL;
    uint64_t from = 0, to = 0, hash = 0;
    for (int i = 0; i < 100 && !u; i++) {
        char key[32];
        snprintf(key, sizeof key, "pub-%d", i);
        Srd__V1__Response *r = do_put(&c, key, "published", 9);
        expect_ok(r);
        from = r->entries[0]->start;
        to = r->committed_tail;
        hash = r->entries[0]->key_hash;
        srd__v1__response__free_unpacked(r, NULL);
        void *buf;
        size_t got;
        while (!u && nng_recv(sub, &buf, &got, NNG_FLAG_ALLOC) == 0) {
            uint32_t hl = tu_get_le32(buf);
            ck_assert_uint_eq(4 + (size_t)hl, got);
            u = srd__v1__index_update__unpack(NULL, hl, (uint8_t *)buf + 4);
            ck_assert_ptr_nonnull(u);
            nng_free(buf, got);
            if (u->to_tail != to) { /* an earlier put's update */
                srd__v1__index_update__free_unpacked(u, NULL);
                u = NULL;
            }
        }
    }
    ck_assert_msg(u != NULL, "no index update arrived");
    ck_assert_uint_eq(u->from_tail, from);
    ck_assert_uint_eq(u->to_tail, to);
    ck_assert_uint_eq(u->n_entries, 1);
    ck_assert_uint_eq(u->entries[0]->key_hash, hash);
    ck_assert_uint_eq(u->entries[0]->end, to);
    srd__v1__index_update__free_unpacked(u, NULL);
    free(pub);
    srdi_nng_close_bounded(&sub, 1, 1000);
    conn_close(&c);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Bad input                                                                 */
/* ------------------------------------------------------------------------ */

/* Send raw bytes; expect an error reply with code want. */
static void expect_raw_refused(conn *c, const void *m, size_t len,
                               srd_err want)
{
    Srd__V1__Response *r = exchange(c, m, len);
    ck_assert_msg(r != NULL, "no reply to bad input");
    expect_err(r, want);
    srd__v1__response__free_unpacked(r, NULL);
}

START_TEST(test_random_bytes_get_error_replies)
{
    daemon_start(NULL);
    conn c = conn_open();
    uint64_t seed = 99;
    uint8_t buf[300];
    for (int i = 0; i < 200; i++) {
        size_t n = (size_t)(tu_rand(&seed) % sizeof buf);
        tu_fill_random(&seed, buf, n);
        Srd__V1__Response *r = exchange(&c, buf, n);
        ck_assert_msg(r != NULL, "no reply to random message %d", i);
        ck_assert_msg(r->error == SRD_EPROTO || r->error == SRD_EVERSION,
                      "random bytes got %s",
                      srd_errname((srd_err)r->error));
        srd__v1__response__free_unpacked(r, NULL);
    }
    expect_serving(&c);
    conn_close(&c);
}
END_TEST

START_TEST(test_truncated_and_lying_messages_get_eproto)
{
    daemon_start(NULL);
    conn c = conn_open();
    uint8_t tiny[2] = {9, 9};
    expect_raw_refused(&c, tiny, sizeof tiny, SRD_EPROTO);
    /* The prefix claims a 100-byte header; 6 bytes follow. */
    uint8_t cut[10] = {100, 0, 0, 0, 8, 1, 16, 1, 24, 1};
    expect_raw_refused(&c, cut, sizeof cut, SRD_EPROTO);
    /* A put that declares more value bytes than the message holds. */
    Srd__V1__Request rq;
    Srd__V1__Put p = SRD__V1__PUT__INIT;
    req_init(&c, &rq);
    p.key = (ProtobufCBinaryData){1, (uint8_t *)"k"};
    p.value_len = 1000;
    rq.op_case = SRD__V1__REQUEST__OP_PUT;
    rq.put = &p;
    size_t len;
    uint8_t *m = frame(&rq, "only ten b", 10, &len);
    expect_raw_refused(&c, m, len, SRD_EPROTO);
    free(m);
    /* Raw bytes after a request that takes none. */
    Srd__V1__Sync sy = SRD__V1__SYNC__INIT;
    req_init(&c, &rq);
    rq.op_case = SRD__V1__REQUEST__OP_SYNC;
    rq.sync = &sy;
    m = frame(&rq, "junk", 4, &len);
    expect_raw_refused(&c, m, len, SRD_EPROTO);
    free(m);
    expect_serving(&c);
    ck_assert_int_eq(tu_file_size(store), 0);
    conn_close(&c);
}
END_TEST

START_TEST(test_unknown_or_missing_op_gets_eproto)
{
    daemon_start(NULL);
    conn c = conn_open();
    /* Request{version 1, client 0x..., seq 1} with no op at all. */
    Srd__V1__Request rq;
    req_init(&c, &rq);
    size_t len;
    uint8_t *m = frame(&rq, NULL, 0, &len);
    expect_raw_refused(&c, m, len, SRD_EPROTO);
    free(m);
    /* The same plus field 40 (an op from the future). */
    uint8_t fut[64];
    size_t hl = srd__v1__request__pack(&rq, fut + 4);
    fut[4 + hl] = 0xC2; /* tag (40 << 3) | 2 as a varint */
    fut[5 + hl] = 0x02;
    fut[6 + hl] = 0;    /* empty message */
    tu_put_le32(fut, (uint32_t)hl + 3);
    expect_raw_refused(&c, fut, hl + 7, SRD_EPROTO);
    expect_serving(&c);
    conn_close(&c);
}
END_TEST

START_TEST(test_wrong_protocol_version_gets_eversion)
{
    daemon_start(NULL);
    conn c = conn_open();
    Srd__V1__Request rq;
    Srd__V1__Hello h = SRD__V1__HELLO__INIT;
    req_init(&c, &rq);
    rq.protocol_version = 2;
    h.protocol_version = 2;
    rq.op_case = SRD__V1__REQUEST__OP_HELLO;
    rq.hello = &h;
    Srd__V1__Response *r = call(&c, &rq, NULL, 0);
    expect_err(r, SRD_EVERSION);
    ck_assert_ptr_nonnull(r->hello); /* says what the daemon speaks */
    ck_assert_uint_eq(r->hello->protocol_version, 1);
    srd__v1__response__free_unpacked(r, NULL);
    /* Envelope right, hello wrong: still a version error. */
    req_init(&c, &rq);
    rq.op_case = SRD__V1__REQUEST__OP_HELLO;
    rq.hello = &h;
    r = call(&c, &rq, NULL, 0);
    expect_err(r, SRD_EVERSION);
    srd__v1__response__free_unpacked(r, NULL);
    expect_serving(&c);
    conn_close(&c);
}
END_TEST

/* A put whose whole message is exactly size bytes. */
static uint8_t *put_of_size(conn *c, size_t size, size_t *len)
{
    Srd__V1__Request rq;
    Srd__V1__Put p = SRD__V1__PUT__INIT;
    req_init(c, &rq);
    p.key = (ProtobufCBinaryData){5, (uint8_t *)"sized"};
    p.value_len = size; /* first guess; the varint may shrink */
    rq.op_case = SRD__V1__REQUEST__OP_PUT;
    rq.put = &p;
    size_t hl = srd__v1__request__get_packed_size(&rq);
    p.value_len = size - 4 - hl;
    ck_assert_uint_eq(srd__v1__request__get_packed_size(&rq), hl);
    uint8_t *val = malloc(p.value_len);
    memset(val, 'v', p.value_len);
    uint8_t *m = frame(&rq, val, p.value_len, len);
    ck_assert_uint_eq(*len, size);
    free(val);
    return m;
}

START_TEST(test_message_size_limit_is_exact)
{
    const char *args[] = {"--max-message", "4096", NULL};
    daemon_start(args);
    conn c = conn_open_ms(3000);
    size_t len;
    uint8_t *m = put_of_size(&c, 4096, &len);
    Srd__V1__Response *r = exchange(&c, m, len);
    ck_assert_ptr_nonnull(r);
    expect_ok(r); /* exactly at the limit */
    srd__v1__response__free_unpacked(r, NULL);
    free(m);
    m = put_of_size(&c, 4097, &len);
    expect_raw_refused(&c, m, len, SRD_ETOOBIG); /* one byte over */
    free(m);
    expect_serving(&c);
    conn_close(&c);
}
END_TEST

START_TEST(test_huge_message_is_dropped_and_others_still_served)
{
    const char *args[] = {"--max-message", "4096", NULL};
    daemon_start(args);
    conn c = conn_open_ms(1000);
    size_t len;
    uint8_t *m = put_of_size(&c, 4u << 20, &len);
    /* Far past the limit srdd answers SRD_ETOOBIG from the frame's length
     * alone and closes the connection without reading the rest (so the
     * send itself may fail part way). */
    (void)tu_req_send(&c.r, m, len);
    Srd__V1__Response *r = next_reply(&c.r);
    if (r) {
        ck_assert_int_eq(r->error, SRD_ETOOBIG);
        srd__v1__response__free_unpacked(r, NULL);
    }
    ck_assert(tu_req_closed_within(&c.r, 2000));
    free(m);
    conn_close(&c);
    /* A fresh connection is served, and so is a fresh process (srdctl
     * status). */
    conn d = conn_served();
    char *argv[] = {(char *)SRDCTL_PATH, (char *)"--store", store,
                    (char *)"status", (char *)"--json", NULL};
    char *out = NULL, *err = NULL;
    size_t n = 0;
    ck_assert_int_eq(tu_run(argv, NULL, NULL, 0, &out, &n, &err), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"pid\""));
    free(out);
    free(err);
    put_ok(&d, "after", "still fine");
    conn_close(&d);
}
END_TEST

/* connect() to the ipc socket behind url and close at once, before the SP
 * handshake completes. */
static void leave_mid_handshake(const char *url)
{
    const char *path = strncmp(url, "unix://", 7) == 0 ? url + 7 : url + 6;
    ck_assert(strncmp(url, "ipc://", 6) == 0 || path == url + 7);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    ck_assert_uint_lt(strlen(path), sizeof a.sun_path);
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    close(fd);
}

/* Whether the log says the listener of url was replaced. */
static bool listener_restart_logged(const char *url)
{
    char *log = daemon_log();
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s stopped accepting connections", url);
    bool found = strstr(log, want) != NULL;
    free(log);
    return found;
}

/* Leave url's listener mid-handshake until srdd logs that it replaced
 * it: whether one such peer sticks NNG's listener depends on timing (the
 * close must come before NNG's header is sent), so try a few times. */
static void stick_listener_until_replaced(const char *url)
{
    for (int round = 0; round < 10 && !listener_restart_logged(url); round++) {
        leave_mid_handshake(url);
        for (int i = 0; i < 60 && !listener_restart_logged(url); i++)
            nng_msleep(50);
    }
    ck_assert_msg(listener_restart_logged(url), "%s was never replaced", url);
}

/* Put until the subscriber hears of one (a subscription takes a moment
 * to reach the publisher). */
static bool subscriber_hears_puts(conn *c, nng_socket sub)
{
    for (int i = 0; i < 100; i++) {
        char key[32];
        snprintf(key, sizeof key, "heard-%d", i);
        put_ok(c, key, "v");
        void *buf;
        size_t got;
        if (nng_recv(sub, &buf, &got, NNG_FLAG_ALLOC) == 0) {
            nng_free(buf, got);
            return true;
        }
    }
    return false;
}

/* NNG 1.5.2 stops handing new connections to a socket once one peer left
 * during the SP handshake (nanomsg/nng#1518): without srdd's listener
 * probe, this connect() + close() shuts every later subscriber out. The
 * request socket is srdd's own: peers that leave at once are harmless. */
START_TEST(test_peer_leaving_mid_handshake_does_not_shut_srdd_out)
{
    daemon_start(NULL);
    conn before = conn_open();
    put_ok(&before, "before", "1");
    char *listen = discovery_field("listen");
    char *pub = discovery_field("publish");
    for (int i = 0; i < 20; i++)
        leave_mid_handshake(listen);
    stick_listener_until_replaced(pub);
    /* A new connection, a new process and a new subscriber are served; so
     * is the connection made before. */
    conn after = conn_open_ms(5000);
    expect_serving(&after);
    char *argv[] = {(char *)SRDCTL_PATH, (char *)"--store", store,
                    (char *)"status", (char *)"--json", NULL};
    char *out = NULL, *err = NULL;
    size_t n = 0;
    ck_assert_int_eq(tu_run(argv, NULL, NULL, 0, &out, &n, &err), 0);
    free(out);
    free(err);
    put_ok(&before, "before-again", "2");
    nng_socket sub;
    ck_assert_int_eq(nng_sub0_open(&sub), 0);
    ck_assert_int_eq(nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "", 0), 0);
    ck_assert_int_eq(nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 200), 0);
    ck_assert_int_eq(nng_dial(sub, pub, NULL, 0), 0);
    ck_assert_msg(subscriber_hears_puts(&after, sub),
                  "a new subscriber hears nothing after the restart");
    srdi_nng_close_bounded(&sub, 1, 1000);
    conn_close(&after);
    conn_close(&before);
    free(listen);
    free(pub);
}
END_TEST

START_TEST(test_refused_uid_gets_eperm_and_a_log_line)
{
    char other[32];
    snprintf(other, sizeof other, "%u", (unsigned)getuid() + 1);
    const char *args[] = {"--allow-uid", other, NULL};
    daemon_start(args);
    conn c = conn_open();
    /* a refused peer gets nothing but the refusal: no hello, no stats */
    Srd__V1__Response *r = do_hello(&c);
    expect_err(r, SRD_EPERM);
    ck_assert(!r->hello);
    ck_assert_uint_eq(r->committed_tail, 0);
    srd__v1__response__free_unpacked(r, NULL);
    r = do_simple(&c, SRD__V1__REQUEST__OP_STATS);
    expect_err(r, SRD_EPERM);
    ck_assert(!r->stats);
    srd__v1__response__free_unpacked(r, NULL);
    r = do_put(&c, "k", "v1", 2);
    expect_err(r, SRD_EPERM);
    srd__v1__response__free_unpacked(r, NULL);
    conn_close(&c);
    ck_assert_int_eq(tu_file_size(store), 0);
    ck_assert_int_eq(daemon_stop(SIGTERM), 0);
    char *log = daemon_log();
    ck_assert_msg(strstr(log, "warn") && strstr(log, "allow-uid"),
                  "no warning logged: %s", log);
    free(log);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The request socket itself: TCP, broken framing, many peers               */
/* ------------------------------------------------------------------------ */

/* A TCP port free right now on 127.0.0.1. */
static int free_tcp_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* srdd listening on tcp://127.0.0.1:<free port> (extra: one more option
 * pair, or NULL); the URL in url. */
static void daemon_start_tcp(char *url, size_t cap, const char *opt,
                             const char *val)
{
    snprintf(url, cap, "tcp://127.0.0.1:%d", free_tcp_port());
    const char *args[] = {"--listen", url, opt, val, NULL};
    daemon_start(args);
}

START_TEST(test_tcp_listener_serves_the_same_framing)
{
    char url[64];
    daemon_start_tcp(url, sizeof url, NULL, NULL);
    char *listen = discovery_field("listen");
    ck_assert_str_eq(listen, url);
    free(listen);
    conn c = conn_open();
    expect_serving(&c);
    put_ok(&c, "over tcp", "v1");
    Srd__V1__Response *r = do_put(&c, "over tcp", "v2", 2);
    expect_ok(r);
    ck_assert_uint_eq(r->n_entries, 1);
    srd__v1__response__free_unpacked(r, NULL);
    conn_close(&c);
}
END_TEST

/* Broken framing on a stream: a cut length prefix, a frame cut short, a
 * length promising more than ever comes; each peer then leaves. srdd
 * answers nothing it cannot parse and serves the next peer. */
START_TEST(test_tcp_truncated_length_prefix_does_not_stop_srdd)
{
    char url[64];
    daemon_start_tcp(url, sizeof url, NULL, NULL);
    static const uint8_t cut_prefix[2] = {0x10, 0x00};
    static const uint8_t cut_frame[7] = {0x40, 0, 0, 0, 0x08, 0x01, 0x11};
    static const uint8_t zero_frame[4] = {0, 0, 0, 0};
    const struct {
        const uint8_t *p;
        size_t n;
    } bad[] = {{cut_prefix, 2}, {cut_frame, 7}, {zero_frame, 4}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_req r;
        ck_assert_int_eq(tu_req_open(&r, url, 2000), 0);
        ck_assert_int_eq(tu_req_send_raw(&r, bad[i].p, bad[i].n), 0);
        if (bad[i].p == zero_frame) { /* a whole, empty frame: EPROTO */
            Srd__V1__Response *rs = next_reply(&r);
            ck_assert_ptr_nonnull(rs);
            ck_assert_int_eq(rs->error, SRD_EPROTO);
            srd__v1__response__free_unpacked(rs, NULL);
        }
        tu_req_close(&r);
    }
    conn c = conn_open();
    put_ok(&c, "after broken peers", "fine");
    conn_close(&c);
    ck_assert_int_eq(daemon_stop(SIGTERM), 0);
}
END_TEST

/* --allow-uid needs the peer's credentials: a TCP peer has none. */
START_TEST(test_tcp_peer_is_refused_by_allow_uid)
{
    char url[64], me[32];
    snprintf(me, sizeof me, "%u", (unsigned)getuid());
    daemon_start_tcp(url, sizeof url, "--allow-uid", me);
    conn c = conn_open();
    Srd__V1__Response *r = do_put(&c, "k", "v1", 2);
    expect_err(r, SRD_EPERM);
    ck_assert_ptr_nonnull(strstr(r->message, "uid"));
    srd__v1__response__free_unpacked(r, NULL);
    conn_close(&c);
    ck_assert_int_eq(tu_file_size(store), 0);
}
END_TEST

#define MANY_CONNS 300

/* Hundreds of peers at once, each with a request sent before any reply
 * is read: every one is answered, Stats counts them, and srdd serves on
 * once they are gone. */
START_TEST(test_many_concurrent_connections_are_served)
{
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < MANY_CONNS + 64) {
        rl.rlim_cur = rl.rlim_max < MANY_CONNS + 64 ? rl.rlim_max
                                                    : MANY_CONNS + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    daemon_start(NULL);
    conn *cs = calloc(MANY_CONNS, sizeof *cs);
    ck_assert_ptr_nonnull(cs);
    for (int i = 0; i < MANY_CONNS; i++) {
        cs[i] = conn_open();
        char key[32];
        snprintf(key, sizeof key, "conn%d", i);
        Srd__V1__Request rq;
        Srd__V1__Put p = SRD__V1__PUT__INIT;
        req_init(&cs[i], &rq);
        p.key = (ProtobufCBinaryData){strlen(key), (uint8_t *)key};
        p.value_len = 1;
        rq.op_case = SRD__V1__REQUEST__OP_PUT;
        rq.put = &p;
        size_t len;
        uint8_t *m = frame(&rq, "v", 1, &len);
        ck_assert_int_eq(tu_req_send(&cs[i].r, m, len), 0);
        free(m);
    }
    conn extra = conn_open();
    ck_assert_uint_ge(stats_clients(&extra), MANY_CONNS + 1);
    for (int i = 0; i < MANY_CONNS; i++) {
        Srd__V1__Response *r = next_reply(&cs[i].r);
        ck_assert_ptr_nonnull(r);
        expect_ok(r);
        ck_assert_uint_eq(r->seq, cs[i].seq);
        srd__v1__response__free_unpacked(r, NULL);
    }
    for (int i = 0; i < MANY_CONNS; i++)
        conn_close(&cs[i]);
    free(cs);
    uint64_t left = MANY_CONNS;
    for (int i = 0; i < 200 && left > 1; i++, sleep_ms(10))
        left = stats_clients(&extra);
    ck_assert_uint_eq(left, 1);
    put_ok(&extra, "after many", "fine");
    conn_close(&extra);
}
END_TEST

START_TEST(test_allowed_uid_may_write)
{
    char me[32];
    snprintf(me, sizeof me, "%u", (unsigned)getuid());
    const char *args[] = {"--allow-uid", me, NULL};
    daemon_start(args);
    conn c = conn_open();
    put_ok(&c, "k", "v1");
    conn_close(&c);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Process life                                                              */
/* ------------------------------------------------------------------------ */

START_TEST(test_socket_files_get_the_requested_mode)
{
    const char *args[] = {"--socket-mode", "0640", NULL};
    daemon_start(args);
    char *sock = store_file(".sock"), *pub = store_file(".pub");
    struct stat sb;
    ck_assert_int_eq(stat(sock, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0640);
    ck_assert_int_eq(stat(pub, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0640);
    char *srdd = store_file(".srdd");
    ck_assert_int_eq(stat(srdd, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0644);
    free(sock);
    free(pub);
    free(srdd);
}
END_TEST

START_TEST(test_default_socket_mode_is_owner_only)
{
    daemon_start(NULL);
    char *sock = store_file(".sock");
    struct stat sb;
    ck_assert_int_eq(stat(sock, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0600);
    free(sock);
}
END_TEST

START_TEST(test_second_srdd_fails_with_lock_message)
{
    daemon_start(NULL);
    char *out = NULL, *err = NULL;
    char *const argv[] = {SRDD_PATH, "--store", store, "--foreground", NULL};
    int st = tu_run(argv, NULL, NULL, 0, &out, NULL, &err);
    ck_assert_int_eq(st, 3);
    ck_assert_msg(strstr(err, "store is locked by another writer"),
                  "stderr: %s", err);
    free(out);
    free(err);
    conn c = conn_open(); /* the first one is unharmed */
    expect_serving(&c);
    conn_close(&c);
}
END_TEST

START_TEST(test_bad_usage_exits_2)
{
    char *err = NULL;
    char *const a1[] = {SRDD_PATH, NULL};
    ck_assert_int_eq(tu_run(a1, NULL, NULL, 0, NULL, NULL, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--store"));
    free(err);
    char *const a2[] = {SRDD_PATH, "--store", store, "--sync", "sometimes",
                        NULL};
    ck_assert_int_eq(tu_run(a2, NULL, NULL, 0, NULL, NULL, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--sync"));
    free(err);
    char long_dir[200];
    memset(long_dir, 'd', sizeof long_dir - 1);
    long_dir[sizeof long_dir - 1] = '\0';
    char *deep = tu_join(dir, long_dir);
    ck_assert_int_eq(mkdir(deep, 0700), 0);
    char *deep_store = tu_join(deep, "s.db");
    char *const a3[] = {SRDD_PATH, "--store", deep_store, "--foreground",
                        NULL};
    ck_assert_int_eq(tu_run(a3, NULL, NULL, 0, NULL, NULL, &err), 2);
    ck_assert_msg(strstr(err, "--listen"), "stderr: %s", err);
    free(err);
    free(deep_store);
    free(deep);
}
END_TEST

START_TEST(test_sigterm_exits_0_and_removes_its_files)
{
    daemon_start(NULL);
    conn c = conn_open();
    put_ok(&c, "kept", "across the stop");
    conn_close(&c);
    char *srdd = store_file(".srdd"), *sock = store_file(".sock");
    char *pub = store_file(".pub");
    ck_assert(file_exists(sock) && file_exists(pub));
    ck_assert_int_eq(daemon_stop(SIGTERM), 0);
    ck_assert(!file_exists(srdd));
    ck_assert(!file_exists(sock));
    ck_assert(!file_exists(pub));
    srd_store *st = reader();
    expect_value(st, "kept", "across the stop");
    srd_close(st);
    /* The lock is free again: a new daemon starts. */
    daemon_start(NULL);
    ck_assert_int_eq(daemon_stop(SIGINT), 0);
    free(srdd);
    free(sock);
    free(pub);
}
END_TEST

START_TEST(test_daemon_mode_forks_and_returns_when_serving)
{
    int st;
    pid_t parent = daemon_spawn_mode(NULL, 0);
    ck_assert_int_eq(waitpid(parent, &st, 0), parent);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char *pid_s = discovery_field("pid");
    pid_t pid = (pid_t)atoi(pid_s);
    ck_assert_int_gt(pid, 0);
    conn c = conn_open();
    put_ok(&c, "bg", "served by a daemonized srdd");
    conn_close(&c);
    kill(pid, SIGTERM);
    char *srdd = store_file(".srdd");
    for (int i = 0; i < 1000 && file_exists(srdd); i++)
        sleep_ms(10);
    ck_assert(!file_exists(srdd));
    free(srdd);
    free(pid_s);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* kill -9 under load                                                        */
/* ------------------------------------------------------------------------ */

#define LOAD_BATCH 4
#define LOAD_WRITERS 4

/* Batch i of writer w: keys "w<w>-b<i>-<j>" with values "v<w>-<i>-<j>". */
static void load_names(unsigned w, uint32_t i, int j, char *key, char *val)
{
    snprintf(key, 32, "w%u-b%u-%d", w, i, j);
    snprintf(val, 32, "v%u-%u-%d", w, i, j);
}

/* One batch of writer w; 1 when acknowledged, 0 when the daemon failed
 * or went away. */
static int load_batch(conn *c, unsigned w, uint32_t i)
{
    char kb[LOAD_BATCH][32], vb[LOAD_BATCH][32];
    const char *k[LOAD_BATCH], *v[LOAD_BATCH];
    for (int j = 0; j < LOAD_BATCH; j++) {
        load_names(w, i, j, kb[j], vb[j]);
        k[j] = kb[j];
        v[j] = vb[j];
    }
    Srd__V1__Request rq;
    Srd__V1__PutBatch b = SRD__V1__PUT_BATCH__INIT;
    Srd__V1__Put items[LOAD_BATCH], *ptrs[LOAD_BATCH];
    char raw[LOAD_BATCH * 32];
    size_t off = 0;
    for (int j = 0; j < LOAD_BATCH; j++) {
        srd__v1__put__init(&items[j]);
        items[j].key = (ProtobufCBinaryData){strlen(k[j]), (uint8_t *)k[j]};
        items[j].value_len = strlen(v[j]);
        memcpy(raw + off, v[j], items[j].value_len);
        off += items[j].value_len;
        ptrs[j] = &items[j];
    }
    req_init(c, &rq);
    b.n_items = LOAD_BATCH;
    b.items = ptrs;
    rq.op_case = SRD__V1__REQUEST__OP_PUT_BATCH;
    rq.put_batch = &b;
    size_t len, got;
    void *buf;
    uint8_t *m = frame(&rq, raw, off, &len);
    int ok = tu_req_send(&c->r, m, len) == 0 &&
             tu_req_recv(&c->r, &buf, &got) == 0;
    free(m);
    if (!ok)
        return 0;
    Srd__V1__Response *r = got >= 4 ? srd__v1__response__unpack(
                                          NULL, tu_get_le32(buf),
                                          (uint8_t *)buf + 4)
                                    : NULL;
    int acked = r && r->error == 0;
    srd__v1__response__free_unpacked(r, NULL);
    free(buf);
    return acked;
}

/* Child process: writer w sends up to max batches (0: until the daemon
 * goes away), reporting each acknowledged one as (w << 24 | i) on fd. */
static void load_writer(int fd, unsigned w, uint32_t max)
{
    srand((unsigned)getpid());
    conn c = conn_open_ms(5000);
    for (uint32_t i = 0; max == 0 || i < max; i++) {
        uint32_t ack = (uint32_t)w << 24 | i;
        if (!load_batch(&c, w, i))
            _exit(max == 0 ? 0 : 1);
        if (write(fd, &ack, sizeof ack) != sizeof ack)
            _exit(1);
    }
    _exit(0);
}

typedef struct load {
    int fd;                    /* read end of the ack pipe */
    pid_t pids[LOAD_WRITERS];
    uint32_t *acked;
    size_t n, cap;
} load;

/* Fork the writers. NNG is not used by this process before the fork. */
static void load_start(load *l, uint32_t max)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    memset(l, 0, sizeof *l);
    for (unsigned w = 0; w < LOAD_WRITERS; w++) {
        l->pids[w] = fork();
        ck_assert_int_ge(l->pids[w], 0);
        if (l->pids[w] == 0) {
            close(p[0]);
            load_writer(p[1], w, max);
        }
    }
    close(p[1]);
    l->fd = p[0];
}

/* Collect acknowledgements until `until` of them (0: until EOF). */
static void load_collect(load *l, size_t until)
{
    uint32_t a;
    while ((until == 0 || l->n < until) &&
           read(l->fd, &a, sizeof a) == sizeof a) {
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 1024;
            l->acked = realloc(l->acked, l->cap * sizeof *l->acked);
        }
        l->acked[l->n++] = a;
    }
}

/* Collect the rest, reap the writers; returns how many exited 0. */
static int load_finish(load *l)
{
    int ok = 0;
    load_collect(l, 0);
    close(l->fd);
    for (unsigned w = 0; w < LOAD_WRITERS; w++) {
        int st;
        waitpid(l->pids[w], &st, 0);
        ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    return ok;
}

/* Every acknowledged batch is in the store; no batch is partial. */
static void load_verify(const load *l)
{
    srd_store *st = reader();
    char key[32], val[32];
    for (size_t a = 0; a < l->n; a++) {
        for (int j = 0; j < LOAD_BATCH; j++) {
            load_names(l->acked[a] >> 24, l->acked[a] & 0xffffff, j, key,
                       val);
            char *got = read_value(st, key, NULL);
            tu_require(got != NULL, "acknowledged %s lost", key);
            tu_require(strcmp(got, val) == 0, "%s = %s", key, got);
            free(got);
        }
    }
    for (unsigned w = 0; w < LOAD_WRITERS; w++) {
        for (uint32_t i = 0;; i++) {
            int present = 0;
            for (int j = 0; j < LOAD_BATCH; j++) {
                load_names(w, i, j, key, val);
                bool there = false;
                ck_srd(srd_exists(st, tu_s(key), &there));
                present += there;
            }
            tu_require(present == 0 || present == LOAD_BATCH,
                       "batch %u of writer %u is partial (%d of %d)", i, w,
                       present, LOAD_BATCH);
            if (present == 0)
                break;
        }
    }
    srd_close(st);
}

START_TEST(test_concurrent_writers_are_group_committed)
{
    daemon_start(NULL);
    load l;
    load_start(&l, 100);
    ck_assert_int_eq(load_finish(&l), LOAD_WRITERS);
    ck_assert_uint_eq(l.n, LOAD_WRITERS * 100);
    load_verify(&l);
    conn c = conn_open();
    Srd__V1__Response *r = do_simple(&c, SRD__V1__REQUEST__OP_STATS);
    expect_ok(r);
    printf("%d writers, %zu batches: %llu groups, %llu syncs\n",
           LOAD_WRITERS, l.n, (unsigned long long)r->stats->groups,
           (unsigned long long)r->stats->syncs);
    ck_assert_uint_le(r->stats->groups, l.n);
    ck_assert_uint_eq(r->stats->live_keys, l.n * LOAD_BATCH);
    srd__v1__response__free_unpacked(r, NULL);
    conn_close(&c);
    free(l.acked);
}
END_TEST

START_TEST(test_other_sync_modes_serve_writes)
{
    const char *modes[] = {"never", "interval:20"};
    for (int m = 0; m < 2; m++) {
        const char *args[] = {"--sync", modes[m], NULL};
        daemon_start(args);
        load l;
        load_start(&l, 30);
        ck_assert_int_eq(load_finish(&l), LOAD_WRITERS);
        ck_assert_int_eq(daemon_stop(SIGTERM), 0);
        load_verify(&l);
        free(l.acked);
    }
}
END_TEST

/* NNG 1.5.2 can lose a message queued on a pipe when the socket closes
 * under load (nanomsg/nng#1813: an aio stopped mid-start never calls
 * back). Under LeakSanitizer that shows as a leaked reply at exit, so a
 * daemon stopped under load runs with this one suppression: a reply the
 * group commit built. A reply lost while serving would still fail the
 * tests, as its client would get no answer. */
static void suppress_nng_close_leak(void)
{
    char *supp = tu_join(dir, "nng-close.supp");
    const char rule[] = "leak:group_make_reply\n";
    ck_assert_int_eq(tu_write_file(supp, rule, sizeof rule - 1), 0);
    size_t n = strlen(supp) + 64;
    spawn_env = malloc(n);
    snprintf(spawn_env, n, "LSAN_OPTIONS=suppressions=%s", supp);
    free(supp);
}

/* Kill or stop the daemon in the middle of a load from several writers,
 * restart it: every acknowledged batch is there, whole. */
static void load_then_signal(int sig, int want_status)
{
    if (sig != SIGKILL)
        suppress_nng_close_leak();
    daemon_start(NULL);
    free(spawn_env);
    spawn_env = NULL;
    load l;
    load_start(&l, 0);
    load_collect(&l, 400);
    int st = daemon_stop(sig);
    char *log = daemon_log();
    if (st != want_status)
        fprintf(stderr, "srdd log:\n%s\n", log);
    if (strstr(log, "did not close"))
        printf("note: srdd met the NNG 1.5.2 close hang and exited anyway\n");
    free(log);
    ck_assert_int_eq(st, want_status);
    load_finish(&l);
    printf("signal %d after %zu acknowledged batches\n", sig, l.n);
    daemon_start(NULL); /* recovery runs on the way */
    load_verify(&l);
    conn c = conn_open(); /* and the new daemon takes writes */
    put_ok(&c, "after restart", "fine");
    conn_close(&c);
    free(l.acked);
}

START_TEST(test_kill9_keeps_every_acknowledged_batch_whole)
{
    load_then_signal(SIGKILL, 128 + SIGKILL);
}
END_TEST

START_TEST(test_sigterm_under_load_finishes_queued_writes)
{
    load_then_signal(SIGTERM, 0);
}
END_TEST

/* A listener that never accepts (a stopped srdd) fills its backlog; a
 * dial then fails with ETIMEDOUT within its bound instead of blocking the
 * caller (and every writer of its handle) for good. */
START_TEST(test_dial_to_a_listener_that_never_accepts_times_out)
{
    char *tmp = tu_tmpdir();
    char *path = tu_join(tmp, "stuck.sock");
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(l, 0), 0);
    char url[PATH_MAX + 16];
    snprintf(url, sizeof url, "unix://%s", path);
    int fds[8], n = 0, fd = -1;
    do {
        fd = srdi_reqsock_dial(url); /* a blocking one hangs: the case's
                                        timeout fails the test */
        if (fd >= 0)
            fds[n++] = fd;
    } while (fd >= 0 && n < 8);
    ck_assert_msg(fd < 0, "%d dials to a listener with backlog 0 worked", n);
    ck_assert_int_eq(errno, ETIMEDOUT);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    close(l);
    tu_rmtree(tmp);
    free(path);
    free(tmp);
}
END_TEST

static Suite *srdd_suite(void)
{
    Suite *s = suite_create("srdd");
    TCase *tc = tcase_create("ops");
    tcase_add_checked_fixture(tc, fixture_up, fixture_down);
    tcase_add_test(tc, test_hello_reports_version_identity_and_urls);
    tcase_add_test(tc, test_put_is_in_the_file_when_acknowledged);
    tcase_add_test(tc, test_put_batch_lands_whole_and_in_order);
    tcase_add_test(tc, test_invalid_values_are_einval_and_write_nothing);
    tcase_add_test(tc, test_delete_writes_a_tombstone_only_when_present);
    tcase_add_test(tc, test_delete_batch_skips_absent_and_repeated_keys);
    tcase_add_test(tc, test_sync_and_stats_answer);
    tcase_add_test(tc, test_gathered_groups_ack_every_writer);
    tcase_add_test(tc, test_lone_writer_is_a_group_per_put);
    tcase_add_test(tc, test_pipelined_mixed_writes_land_in_request_order);
    suite_add_tcase(s, tc);

    tc = tcase_create("streams");
    tcase_add_checked_fixture(tc, fixture_up, fixture_down);
    tcase_add_test(tc, test_stream_in_chunks_commits_one_value);
    tcase_add_test(tc, test_stream_into_empty_store_commits);
    tcase_add_test(tc, test_aborted_stream_leaves_nothing);
    tcase_add_test(tc, test_chunk_for_unknown_stream_is_refused);
    tcase_add_test(tc, test_empty_stream_is_einval);
    tcase_add_test(tc, test_idle_stream_is_dropped);
    suite_add_tcase(s, tc);

    tc = tcase_create("dedupe_publish");
    tcase_add_checked_fixture(tc, fixture_up, fixture_down);
    tcase_add_test(tc, test_repeated_sequence_is_applied_once);
    tcase_add_test(tc, test_subscriber_receives_update_with_tails);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad_input");
    tcase_add_checked_fixture(tc, fixture_up, fixture_down);
    tcase_set_timeout(tc, 60); /* listener restarts take ~2 s each */
    tcase_add_test(tc, test_random_bytes_get_error_replies);
    tcase_add_test(tc, test_truncated_and_lying_messages_get_eproto);
    tcase_add_test(tc, test_unknown_or_missing_op_gets_eproto);
    tcase_add_test(tc, test_wrong_protocol_version_gets_eversion);
    tcase_add_test(tc, test_message_size_limit_is_exact);
    tcase_add_test(tc, test_huge_message_is_dropped_and_others_still_served);
    tcase_add_test(tc, test_peer_leaving_mid_handshake_does_not_shut_srdd_out);
    tcase_add_test(tc, test_refused_uid_gets_eperm_and_a_log_line);
    tcase_add_test(tc, test_allowed_uid_may_write);
    suite_add_tcase(s, tc);

    tc = tcase_create("transport");
    tcase_add_checked_fixture(tc, fixture_up, fixture_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_tcp_listener_serves_the_same_framing);
    tcase_add_test(tc, test_tcp_truncated_length_prefix_does_not_stop_srdd);
    tcase_add_test(tc, test_tcp_peer_is_refused_by_allow_uid);
    tcase_add_test(tc, test_many_concurrent_connections_are_served);
    tcase_add_test(tc, test_dial_to_a_listener_that_never_accepts_times_out);
    suite_add_tcase(s, tc);

    tc = tcase_create("process");
    tcase_add_checked_fixture(tc, fixture_up, fixture_down);
    tcase_add_test(tc, test_socket_files_get_the_requested_mode);
    tcase_add_test(tc, test_default_socket_mode_is_owner_only);
    tcase_add_test(tc, test_second_srdd_fails_with_lock_message);
    tcase_add_test(tc, test_bad_usage_exits_2);
    tcase_add_test(tc, test_sigterm_exits_0_and_removes_its_files);
    tcase_add_test(tc, test_daemon_mode_forks_and_returns_when_serving);
    tcase_add_test(tc, test_concurrent_writers_are_group_committed);
    tcase_add_test(tc, test_other_sync_modes_serve_writes);
    tcase_add_test(tc, test_kill9_keeps_every_acknowledged_batch_whole);
    tcase_add_test(tc, test_sigterm_under_load_finishes_queued_writes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    SRunner *sr = srunner_create(srdd_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
