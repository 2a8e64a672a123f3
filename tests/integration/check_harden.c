/* SPDX-License-Identifier: MIT */
/*
 * check_harden.c -- the attacks of issue 17 against a real srdd and real
 * client processes: pipelined writes keep their order, one store has one
 * writer whatever path names it, a forked embedded child cannot write, a
 * peer that reads no replies or sends costly messages cannot stop srdd,
 * one client cannot take every stream slot, and files get safe modes.
 * Each test failed on the code before its fix. Child processes re-run
 * this binary ("child").
 */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "client_harness.h"
#include "reqconn.h"
#include "srd.pb-c.h"

/* The value of key in st as a number (its decimal text), or -1. */
static long value_num(srd_store *st, const char *key)
{
    srd_view v;
    if (srd_get(st, tu_s(key), &v) != SRD_OK)
        return -1;
    char buf[32] = "";
    memcpy(buf, v.data, v.len < sizeof buf - 1 ? v.len : sizeof buf - 1);
    srd_view_release(&v);
    return strtol(buf, NULL, 10);
}

/* A protocol-1 request of client cid with sequence seq, no op yet. */
static void raw_request(Srd__V1__Request *rq, uint64_t cid, uint64_t seq)
{
    srd__v1__request__init(rq);
    rq->protocol_version = 1;
    rq->client_id = cid;
    rq->seq = seq;
}

/* The ipc socket path srdd's discovery file names for its requests. */
static char *listen_path(void)
{
    char *disc = tu_join(g_dir, "s.srd.srdd");
    size_t len = 0;
    char *text = (char *)tu_read_file(disc, &len);
    ck_assert_ptr_nonnull(text);
    char *at = strstr(text, "listen=unix://");
    ck_assert_ptr_nonnull(at);
    at += strlen("listen=unix://");
    char *path = strndup(at, strcspn(at, "\n"));
    free(text);
    free(disc);
    return path;
}

/* A raw connection to srdd's request socket. */
static tu_req raw_dial(void)
{
    char *path = listen_path();
    char url[4200];
    snprintf(url, sizeof url, "unix://%s", path);
    free(path);
    tu_req r;
    ck_assert_int_eq(tu_req_open(&r, url, 20000), 0);
    return r;
}

/* One framed request rq (+ raw bytes) on r. */
static void raw_send(tu_req *r, const Srd__V1__Request *rq, const void *raw,
                     size_t raw_len)
{
    size_t hl = srd__v1__request__get_packed_size(rq);
    uint8_t *b = malloc(4 + hl + raw_len);
    ck_assert_ptr_nonnull(b);
    tu_put_le32(b, (uint32_t)hl);
    srd__v1__request__pack(rq, b + 4);
    if (raw_len)
        memcpy(b + 4 + hl, raw, raw_len);
    ck_assert_int_eq(tu_req_send(r, b, 4 + hl + raw_len), 0);
    free(b);
}

/* The next reply on r, decoded (it must come). */
static Srd__V1__Response *raw_reply(tu_req *r)
{
    void *buf = NULL;
    size_t got = 0;
    ck_assert_int_eq(tu_req_recv(r, &buf, &got), 0);
    Srd__V1__Response *rs = srd__v1__response__unpack(
        NULL, tu_get_le32(buf), (uint8_t *)buf + 4);
    ck_assert_ptr_nonnull(rs);
    free(buf);
    return rs;
}

/* ======================================================================== */
/* Item 1: per-client order from request to file                            */
/* ======================================================================== */

typedef struct done_count {
    atomic_int ok, failed;
    atomic_int last_err;
} done_count;

static void count_done(void *ctx, srd_err rc)
{
    done_count *d = ctx;
    if (rc == SRD_OK) {
        atomic_fetch_add(&d->ok, 1);
    } else {
        atomic_fetch_add(&d->failed, 1);
        atomic_store(&d->last_err, (int)rc);
    }
}

#define ORDER_ROUNDS 300
#define ORDER_DEPTH 16

START_TEST(test_pipelined_puts_on_one_key_keep_the_last_value)
{
    start_srdd(NULL);
    srd_store *st = ch_open_client();
    done_count d = {0};
    int lost = 0;
    char key[32], val[32];
    for (int r = 0; r < ORDER_ROUNDS; r++) {
        snprintf(key, sizeof key, "k%d", r % 7);
        for (int i = 1; i <= ORDER_DEPTH; i++) {
            snprintf(val, sizeof val, "%d", r * 100 + i);
            ck_srd(srd_put_async(st, tu_s(key), tu_s(val), count_done, &d));
        }
        ck_srd(srd_flush(st));
        /* a fresh reader sees the file, not this handle's index */
        srd_store *ro;
        ck_srd(tu_open(g_store, SRD_OPEN_READONLY, &ro));
        lost += value_num(ro, key) != r * 100 + ORDER_DEPTH;
        srd_close(ro);
    }
    printf("pipelined puts: %d rounds of %d, %d ended on an older value, "
           "%d failed\n", ORDER_ROUNDS, ORDER_DEPTH, lost,
           atomic_load(&d.failed));
    ck_assert_int_eq(atomic_load(&d.failed), 0);
    ck_assert_int_eq(atomic_load(&d.ok), ORDER_ROUNDS * ORDER_DEPTH);
    ck_assert_msg(lost == 0, "%d of %d rounds kept an older value", lost,
                  ORDER_ROUNDS);
    ck_srd(srd_close(st));
}
END_TEST

/* One client id pipelining PIPE_DEPTH puts of one key on one connection,
 * sequences 1..PIPE_DEPTH (more than the dedupe window of 16), all sent
 * before any reply is read; the number of replies other than OK. */
#define PIPE_DEPTH 64

static unsigned raw_pipelined_puts(tu_req *s, uint64_t cid, int round)
{
    for (int i = 0; i < PIPE_DEPTH; i++) {
        char val[32];
        int vn = snprintf(val, sizeof val, "%d", round * 1000 + i + 1);
        Srd__V1__Request rq;
        Srd__V1__Put put = SRD__V1__PUT__INIT;
        raw_request(&rq, cid, (uint64_t)round * PIPE_DEPTH + (uint64_t)i + 1);
        put.key = (ProtobufCBinaryData){4, (uint8_t *)"pkey"};
        put.value_len = (uint64_t)vn;
        rq.op_case = SRD__V1__REQUEST__OP_PUT;
        rq.put = &put;
        raw_send(s, &rq, val, (size_t)vn);
    }
    unsigned bad = 0;
    for (int i = 0; i < PIPE_DEPTH; i++) {
        Srd__V1__Response *r = raw_reply(s);
        bad += r->error != 0;
        srd__v1__response__free_unpacked(r, NULL);
    }
    return bad;
}

START_TEST(test_one_client_id_pipelining_past_the_window_is_applied_in_order)
{
    start_srdd(NULL);
    tu_req s = raw_dial();
    unsigned refused = 0, older = 0;
    for (int round = 0; round < 20; round++) {
        refused += raw_pipelined_puts(&s, 99, round);
        srd_store *ro;
        ck_srd(tu_open(g_store, SRD_OPEN_READONLY, &ro));
        older += value_num(ro, "pkey") != round * 1000 + PIPE_DEPTH;
        srd_close(ro);
    }
    tu_req_close(&s);
    printf("one client id, 20 rounds of %d pipelined puts: %u refused, %u "
           "rounds ended on an older value\n", PIPE_DEPTH, refused, older);
    ck_assert_uint_eq(refused, 0);
    ck_assert_uint_eq(older, 0);
}
END_TEST

/* ======================================================================== */
/* Item 3: one writer per store file, and a store lost under srdd           */
/* ======================================================================== */

/* Wait up to 10 s for pid to exit; its status (128 + signal when
 * killed), or -1 when it still ran (then it is killed). */
static int wait_exit(pid_t pid)
{
    for (int i = 0; i < 1000; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status)
                                     : 128 + WTERMSIG(status);
        ch_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* A second srdd on name (another path of the store) must exit 3. */
static void expect_second_srdd_refused(const char *name)
{
    char *log = tu_join(g_dir, "second.log");
    tu_srdd_run run = {.log = log};
    pid_t pid = tu_srdd_spawn(name, NULL, &run);
    int status = wait_exit(pid);
    ck_assert_msg(status == 3, "a second srdd on %s: %s %d (wanted exit 3, "
                  "locked)", name, status < 0 ? "still ran" : "exit",
                  status);
    size_t len = 0;
    char *text = (char *)tu_read_file(log, &len);
    ck_assert_msg(text && strstr(text, "locked by another writer"),
                  "no lock message in %s", log);
    free(text);
    free(log);
}

START_TEST(test_second_writer_through_a_symlink_or_hard_link_is_refused)
{
    start_srdd(NULL);
    srd_store *st = ch_open_client();
    ck_srd(srd_put(st, tu_s("k"), tu_s("v1")));
    char *sym = tu_join(g_dir, "sym.srd");
    char *hard = tu_join(g_dir, "hard.srd");
    ck_assert_int_eq(symlink(g_store, sym), 0);
    ck_assert_int_eq(link(g_store, hard), 0);
    expect_second_srdd_refused(sym);
    expect_second_srdd_refused(hard);
    srd_options o;
    srd_options_init(&o);
    o.flags |= SRD_OPEN_EMBEDDED;
    srd_store *other = NULL;
    ck_assert_int_eq(srd_open(hard, &o, &other), SRD_EBUSY);
    ck_assert_int_eq(srd_open(sym, &o, &other), SRD_EBUSY);
    /* srdd still serves, alone */
    ck_srd(srd_put(st, tu_s("k"), tu_s("v2")));
    ck_srd(srd_close(st));
    free(sym);
    free(hard);
}
END_TEST

/* srdd's log holds needle. */
static bool srdd_logged(const char *needle)
{
    char *log = tu_join(g_dir, "s.srd.log");
    size_t len = 0;
    char *text = (char *)tu_read_file(log, &len);
    bool found = text && memmem(text, len, needle, strlen(needle));
    free(text);
    free(log);
    return found;
}

/* Puts through st fail with SRD_EFAILED (after at most a few: the main
 * loop's check may come first or not) and srdd logged needle. */
static void expect_writes_refused(srd_store *st, const char *needle)
{
    srd_err rc = srd_put(st, tu_s("after"), tu_s("lost?"));
    ck_assert_msg(rc == SRD_EFAILED, "a put after the damage: %s",
                  srd_errname(rc));
    /* The client may notice on its own that the file is now shorter than
     * the tail srdd told it (a cut store): SRD_ECORRUPT, also a refusal. */
    rc = srd_put(st, tu_s("after2"), tu_s("lost?"));
    ck_assert_msg(rc == SRD_EFAILED || rc == SRD_ECORRUPT,
                  "the next put: %s", srd_errname(rc));
    ck_assert_msg(srdd_logged(needle), "srdd did not log \"%s\"", needle);
    ck_assert_int_eq(waitpid(g_srdd, NULL, WNOHANG), 0); /* still runs */
}

/* srdd serving, a client handle that wrote once through it. */
static srd_store *served_after_a_put(void)
{
    start_srdd(NULL);
    srd_store *st = ch_open_client();
    ck_srd(srd_put(st, tu_s("k"), tu_s("v1")));
    return st;
}

START_TEST(test_store_moved_away_under_srdd_stops_acknowledging)
{
    srd_store *st = served_after_a_put();
    char *moved = tu_join(g_dir, "moved.srd");
    ck_assert_int_eq(rename(g_store, moved), 0);
    expect_writes_refused(st, "is gone");
    srd_close(st);
    free(moved);
}
END_TEST

START_TEST(test_store_replaced_under_srdd_stops_acknowledging)
{
    srd_store *st = served_after_a_put();
    char *other = tu_join(g_dir, "other.srd");
    ck_assert_int_eq(tu_copy_file(g_store, other), 0);
    ck_assert_int_eq(rename(other, g_store), 0);
    expect_writes_refused(st, "names another file");
    srd_close(st);
    free(other);
}
END_TEST

START_TEST(test_store_cut_short_under_srdd_stops_acknowledging)
{
    start_srdd(NULL);
    srd_store *st = ch_open_client();
    for (int i = 0; i < 20; i++)
        ck_srd(srd_put(st, tu_s("k"), tu_s("a value of some length")));
    ck_assert_int_eq(truncate(g_store, 10), 0);
    expect_writes_refused(st, "was cut to");
    srd_close(st); /* no read: a mapped page past the end would SIGBUS */
}
END_TEST

/* ======================================================================== */
/* Item 8: fork() after an embedded open                                    */
/* ======================================================================== */

/* In the forked child: every write through the parent's handle must fail
 * with SRD_EFORKED; reads still work. Exit 0 when so, else the number of
 * the failed check. */
static int forked_child_writes(srd_store *st)
{
    srd_val k = tu_s("k"), v = tu_s("from the child");
    bool existed;
    size_t n;
    done_count d = {0};
    if (srd_put(st, k, v) != SRD_EFORKED)
        return 1;
    if (srd_put_batch(st, &k, &v, 1) != SRD_EFORKED)
        return 2;
    if (srd_delete(st, k, &existed) != SRD_EFORKED)
        return 3;
    if (srd_delete_batch(st, &k, 1, &n) != SRD_EFORKED)
        return 4;
    if (srd_sync(st) != SRD_EFORKED)
        return 5;
    if (srd_compact(st, NULL) != SRD_EFORKED)
        return 6;
    if (srd_put_async(st, k, v, count_done, &d) == SRD_OK &&
        atomic_load(&d.last_err) != SRD_EFORKED)
        return 7;
    if (value_num(st, "k") != 1) /* reading the shared file is fine */
        return 8;
    return srd_close(st) == SRD_OK ? 0 : 9;
}

START_TEST(test_forked_child_cannot_write_through_the_parents_handle)
{
    srd_store *st;
    ck_srd(tu_open(g_store, SRD_OPEN_CREATE | SRD_OPEN_EMBEDDED, &st));
    ck_srd(srd_put(st, tu_s("k"), tu_s("1")));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(forked_child_writes(st));
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the child's check %d failed (its writes were not refused "
                  "with SRD_EFORKED)", WEXITSTATUS(status));
    ck_assert_str_eq(srd_errname(SRD_EFORKED), "SRD_EFORKED");
    /* the parent goes on as if nothing happened */
    ck_srd(srd_put(st, tu_s("k"), tu_s("2")));
    ck_srd(srd_close(st));
    ck_srd(tu_open(g_store, SRD_OPEN_EMBEDDED, &st));
    ck_assert_int_eq(value_num(st, "k"), 2);
    srd_verify_report rep;
    ck_srd(srd_verify(st, &rep, NULL, NULL));
    ck_assert_uint_eq(rep.entries, 2);
    ck_srd(srd_close(st));
}
END_TEST

/* In a child made without fork()'s handlers (the raw system call): the
 * parent's handle is refused, a handle the child opens itself writes,
 * and the parent's is still refused after that (srdi_store_forked keeps
 * the pid in a page the kernel wipes in a child, not in atfork state). */
static int raw_child_writes(srd_store *parents, const char *other)
{
    srd_store *own;
    if (srd_put(parents, tu_s("k"), tu_s("child")) != SRD_EFORKED)
        return 1;
    if (tu_open(other, SRD_OPEN_CREATE | SRD_OPEN_EMBEDDED, &own) != SRD_OK)
        return 2;
    if (srd_put(own, tu_s("k"), tu_s("child")) != SRD_OK)
        return 3;
    if (srd_put(parents, tu_s("k"), tu_s("child")) != SRD_EFORKED)
        return 4;
    if (srd_put(own, tu_s("k2"), tu_s("child")) != SRD_OK)
        return 5;
    return srd_close(own) == SRD_OK ? 0 : 6;
}

START_TEST(test_raw_fork_child_is_refused_and_its_own_handle_writes)
{
    srd_store *st;
    char *other = tu_join(g_dir, "child.srd");
    ck_srd(tu_open(g_store, SRD_OPEN_CREATE | SRD_OPEN_EMBEDDED, &st));
    ck_srd(srd_put(st, tu_s("k"), tu_s("1")));
    fflush(NULL);
    pid_t pid = (pid_t)syscall(SYS_fork);
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(raw_child_writes(st, other));
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the raw child's check %d failed", WEXITSTATUS(status));
    ck_srd(srd_put(st, tu_s("k"), tu_s("2")));
    ck_assert_int_eq(value_num(st, "k"), 2);
    ck_srd(srd_close(st));
    srd_store *o;
    ck_srd(tu_open(other, SRD_OPEN_EMBEDDED, &o));
    bool there = false;
    ck_srd(srd_exists(o, tu_s("k2"), &there));
    ck_assert(there);
    ck_srd(srd_close(o));
    free(other);
}
END_TEST

START_TEST(test_forked_child_of_a_client_cannot_write_through_srdd)
{
    start_srdd(NULL);
    srd_store *st = ch_open_client();
    ck_srd(srd_put(st, tu_s("k"), tu_s("1")));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) { /* NNG's threads stayed in the parent */
        int code = srd_put(st, tu_s("k"), tu_s("from the child")) !=
                   SRD_EFORKED;
        code |= (srd_flush(st) != SRD_EFORKED) << 1;
        code |= (value_num(st, "k") != 1) << 2;
        code |= (srd_close(st) != SRD_OK) << 3;
        _exit(code);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the child's checks failed: %#x", status);
    ck_srd(srd_put(st, tu_s("k"), tu_s("2")));
    ck_assert_int_eq(value_num(st, "k"), 2);
    ck_srd(srd_close(st));
}
END_TEST

/* ======================================================================== */
/* Item 4: a peer that reads no replies                                     */
/* ======================================================================== */

/* A plain connection to srdd's request socket, to do what no client
 * does: never read. */
static int sp_connect(void)
{
    char *path = listen_path();
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    ck_assert_uint_lt(strlen(path), sizeof sa.sun_path);
    strcpy(sa.sun_path, path);
    free(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* One frame: [u32 LE frame length][u32 LE hlen][header]. */
static uint8_t *sp_frame(const Srd__V1__Request *rq, size_t *len)
{
    size_t hl = srd__v1__request__get_packed_size(rq);
    *len = 8 + hl;
    uint8_t *b = malloc(*len);
    ck_assert_ptr_nonnull(b);
    tu_put_le32(b, (uint32_t)(4 + hl));
    tu_put_le32(b + 4, (uint32_t)hl);
    srd__v1__request__pack(rq, b + 8);
    return b;
}

/* Send up to n Stats requests on fd and read nothing; stops when srdd
 * stops taking them for 2 s or drops the connection. Returns how many
 * went out whole. */
static unsigned flood_stats(int fd, unsigned n)
{
    Srd__V1__Request rq;
    Srd__V1__Stats stt = SRD__V1__STATS__INIT;
    raw_request(&rq, 77, 0);
    rq.op_case = SRD__V1__REQUEST__OP_STATS;
    rq.stats = &stt;
    unsigned sent = 0;
    for (; sent < n; sent++) {
        rq.seq = sent + 1;
        size_t len, off = 0;
        uint8_t *m = sp_frame(&rq, &len);
        while (off < len) {
            struct pollfd p = {fd, POLLOUT, 0};
            if (poll(&p, 1, 2000) != 1 || (p.revents & (POLLERR | POLLHUP)))
                break;
            ssize_t k = send(fd, m + off, len - off, MSG_NOSIGNAL);
            if (k <= 0)
                break;
            off += (size_t)k;
        }
        free(m);
        if (off < len)
            break;
    }
    return sent;
}

START_TEST(test_peer_reading_no_replies_does_not_freeze_srdd)
{
    start_srdd(NULL);
    int fd = sp_connect();
    /* enough that the replies overflow the socket's buffers */
    unsigned sent = flood_stats(fd, 100000);
    printf("a peer sent %u stats requests and read no reply\n", sent);
    /* generous: on the old code this put waited for ever */
    setenv("SRD_TIMEOUT_MS", "20000", 1);
    srd_store *st = ch_open_client();
    srd_err rc = srd_put(st, tu_s("k"), tu_s("served"));
    ck_assert_msg(rc == SRD_OK, "a put while the peer reads nothing: %s",
                  srd_errname(rc));
    ck_srd(srd_close(st));
    /* its replies waited unread: dropped within about 2 s */
    for (int i = 0; i < 100 && !srdd_logged("connection closed"); i++)
        ch_sleep_ms(50);
    ck_assert_msg(srdd_logged("connection closed"),
                  "srdd did not log the peer it dropped");
    close(fd);
}
END_TEST

/* ======================================================================== */
/* Item 5: what one request may cost srdd                                   */
/* ======================================================================== */

/* srdd's peak resident memory (VmHWM) in KiB. */
static long srdd_peak_kib(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)g_srdd);
    FILE *f = fopen(path, "re");
    ck_assert_ptr_nonnull(f);
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* A request message of hlen header bytes: a PutBatch of empty items
 * (2 bytes each on the wire), built by hand. */
static uint8_t *empty_items_batch(size_t hlen, uint64_t cid, size_t *len)
{
    uint8_t *b = malloc(4 + hlen);
    ck_assert_ptr_nonnull(b);
    uint8_t *p = b + 4;
    *p++ = 0x08; /* protocol_version = 1 */
    *p++ = 1;
    *p++ = 0x11; /* client_id, fixed64 */
    tu_put_le64(p, cid);
    p += 8;
    *p++ = 0x18; /* seq = 1 */
    *p++ = 1;
    *p++ = 0x62; /* put_batch, length-delimited: 4 varint bytes */
    size_t inner = hlen - (size_t)(p - (b + 4)) - 4;
    inner &= ~(size_t)1;
    for (int i = 0; i < 4; i++)
        *p++ = (uint8_t)(((inner >> (7 * i)) & 0x7f) | (i < 3 ? 0x80 : 0));
    for (size_t i = 0; i < inner; i += 2) {
        *p++ = 0x0a; /* items: an empty Put */
        *p++ = 0;
    }
    tu_put_le32(b, (uint32_t)(p - (b + 4)));
    *len = (size_t)(p - b);
    return b;
}

START_TEST(test_batches_of_empty_items_cost_srdd_little_memory)
{
    start_srdd(NULL);
    char *url = NULL;
    {
        char *path = listen_path();
        url = malloc(strlen(path) + 8);
        sprintf(url, "unix://%s", path);
        free(path);
    }
    enum { N = 3 };
    tu_req socks[N];
    size_t len;
    uint8_t *m = empty_items_batch((size_t)16 << 20, 1, &len);
    long before = srdd_peak_kib();
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(tu_req_open(&socks[i], url, 60000), 0);
        tu_put_le64(m + 7, (uint64_t)i + 100); /* its own client id */
        ck_assert_int_eq(tu_req_send(&socks[i], m, len), 0);
    }
    for (int i = 0; i < N; i++) {
        Srd__V1__Response *r = raw_reply(&socks[i]);
        ck_assert_msg(r->error != 0, "a batch of empty items was accepted");
        printf("16 MiB of empty items: %s: %s\n",
               srd_errname((srd_err)r->error), r->message);
        srd__v1__response__free_unpacked(r, NULL);
        tu_req_close(&socks[i]);
    }
    long after = srdd_peak_kib();
    printf("srdd peak memory %ld KiB before, %ld KiB after %d such "
           "batches at once\n", before, after, N);
    /* the three messages themselves are 48 MiB (some 50 MiB of peak in a
     * plain build, 280 MiB under TSan's shadow memory); the old code
     * unpacked each to some 850 MiB (2.5 GB in all) */
    ck_assert_msg(after - before < 640 * 1024, "srdd peaked at %ld KiB "
                  "(%ld KiB before)", after, before);
    srd_store *st = ch_open_client();
    ck_srd(srd_put(st, tu_s("k"), tu_s("still served")));
    ck_srd(srd_close(st));
    free(m);
    free(url);
}
END_TEST

/* ======================================================================== */
/* Item 6: stream slots                                                     */
/* ======================================================================== */

/* StreamBegin on s; the error srdd answered (0: opened). */
static uint32_t raw_stream_begin(tu_req *s, uint64_t seq)
{
    Srd__V1__Request rq;
    Srd__V1__StreamBegin sb = SRD__V1__STREAM_BEGIN__INIT;
    raw_request(&rq, 4242, seq);
    sb.key = (ProtobufCBinaryData){3, (uint8_t *)"key"};
    rq.op_case = SRD__V1__REQUEST__OP_STREAM_BEGIN;
    rq.stream_begin = &sb;
    raw_send(s, &rq, NULL, 0);
    Srd__V1__Response *r = raw_reply(s);
    uint32_t err = r->error;
    srd__v1__response__free_unpacked(r, NULL);
    return err;
}

/* How many of n stream begins on s srdd opened. */
static unsigned raw_streams(tu_req *s, unsigned n)
{
    unsigned ok = 0;
    for (unsigned i = 0; i < n; i++)
        ok += raw_stream_begin(s, i + 1) == 0;
    return ok;
}

/* Staging files srdd holds open (unnamed: "(deleted)" in /proc). */
static unsigned srdd_staged(void)
{
    char dir[64], link[320], target[4200];
    snprintf(dir, sizeof dir, "/proc/%ld/fd", (long)g_srdd);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    unsigned n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
        ssize_t k = readlink(link, target, sizeof target - 1);
        if (k > 0) {
            target[k] = '\0';
            n += strstr(target, "(deleted)") != NULL;
        }
    }
    closedir(d);
    return n;
}

START_TEST(test_one_connection_cannot_take_every_stream_slot)
{
    const char *extra[] = {"--max-message", "65536", NULL};
    start_srdd(extra);
    unsigned base = srdd_staged(); /* other unnamed files, if any */
    tu_req greedy = raw_dial();
    unsigned got = raw_streams(&greedy, 100);
    printf("one connection asked for 100 streams, got %u\n", got);
    ck_assert_uint_eq(got, 64);
    /* another client still streams a large value */
    srd_store *st = ch_open_client();
    size_t big = 300000;
    char *v = malloc(big);
    memset(v, 'x', big);
    ck_srd(srd_put(st, tu_s("big"), (srd_val){v, big}));
    free(v);
    ck_srd(srd_close(st));
    /* a gone peer's slots come back */
    ck_assert_uint_ge(srdd_staged(), base + 64);
    tu_req_close(&greedy);
    unsigned left = 64;
    for (int i = 0; i < 500 && left > 0; i++, ch_sleep_ms(10))
        left = srdd_staged() - base;
    ck_assert_msg(left == 0, "%u staged streams left after their "
                  "connection closed", left);
}
END_TEST

START_TEST(test_a_full_stream_table_reclaims_idle_slots)
{
    /* A slot may be taken once idle for an eighth of 40 s, at most 5 s. */
    const char *extra[] = {"--stream-idle-ms", "40000", NULL};
    const uint64_t wait_us = 5000000;
    start_srdd(extra);
    enum { CONNS = 16 };
    tu_req s[CONNS + 1];
    unsigned got = 0;
    uint64_t first = ch_now_us();
    for (int i = 0; i < CONNS; i++) {
        s[i] = raw_dial();
        got += raw_streams(&s[i], 64);
    }
    ck_assert_uint_eq(got, 1024); /* the whole table */
    s[CONNS] = raw_dial();
    /* Refused while no slot has been idle long enough; on a machine so
     * slow that filling the table took most of the wait, that moment has
     * passed and only the reclaim below is checked. */
    uint64_t filled = ch_now_us() - first;
    if (filled < wait_us * 4 / 5)
        ck_assert_uint_eq(raw_stream_begin(&s[CONNS], 1), SRD_EBUSY);
    else
        printf("filling the stream table took %llu ms: refusal not checked\n",
               (unsigned long long)(filled / 1000));
    uint64_t idle = ch_now_us() - first;
    if (idle < wait_us + 200000) /* the oldest stream idle past the wait */
        ch_sleep_ms((unsigned)((wait_us + 200000 - idle) / 1000));
    ck_assert_uint_eq(raw_stream_begin(&s[CONNS], 2), 0);
    ck_assert_msg(srdd_logged("to make room"), "no log of the reclaim");
    for (int i = 0; i <= CONNS; i++)
        tu_req_close(&s[i]);
}
END_TEST

/* ======================================================================== */
/* Item 7: files and daemons other users can abuse                          */
/* ======================================================================== */

START_TEST(test_new_store_and_lock_are_owner_only)
{
    struct stat sb;
    const char *extra[] = {"--group-read", NULL};
    start_srdd(extra); /* srdd creates the store readable by its group */
    ck_assert_int_eq(stat(g_store, &sb), 0);
    ck_assert_msg((sb.st_mode & 0777) == 0640, "srdd --group-read: mode %o",
                  sb.st_mode & 0777);
    ck_assert_int_eq(stop_srdd(SIGTERM), 0);
    ck_assert_int_eq(unlink(g_store), 0);
    srd_store *st;
    ck_srd(tu_open(g_store, SRD_OPEN_CREATE | SRD_OPEN_EMBEDDED, &st));
    ck_srd(srd_put(st, tu_s("k"), tu_s("secret")));
    char *lock = tu_join(g_dir, "s.srd.lock");
    ck_assert_int_eq(stat(g_store, &sb), 0);
    ck_assert_msg((sb.st_mode & 0777) == 0600, "store mode %o",
                  sb.st_mode & 0777);
    ck_assert_int_eq(stat(lock, &sb), 0);
    ck_assert_msg((sb.st_mode & 0777) == 0600, "lock mode %o",
                  sb.st_mode & 0777);
    ck_srd(srd_close(st));
    /* SRD_OPEN_GROUP: readable by the group */
    char *shared = tu_join(g_dir, "g.srd");
    srd_options o;
    srd_options_init(&o);
    o.flags |= SRD_OPEN_GROUP | SRD_OPEN_EMBEDDED;
    ck_srd(srd_open(shared, &o, &st));
    ck_srd(srd_close(st));
    ck_assert_int_eq(stat(shared, &sb), 0);
    ck_assert_msg((sb.st_mode & 0777) == 0640, "group store mode %o",
                  sb.st_mode & 0777);
    /* a symlink planted where the lock goes is not followed */
    char *other = tu_join(g_dir, "o.srd");
    char *olock = tu_join(g_dir, "o.srd.lock");
    char *victim = tu_join(g_dir, "victim");
    ck_assert_int_eq(tu_write_file(victim, "x", 1), 0);
    ck_assert_int_eq(symlink(victim, olock), 0);
    ck_assert_int_ne(tu_open(other, SRD_OPEN_CREATE | SRD_OPEN_EMBEDDED,
                             &st), SRD_OK);
    free(victim);
    free(olock);
    free(other);
    free(shared);
    free(lock);
}
END_TEST

/* "<name>.lock" in g_dir exists. */
static bool lock_left(const char *name)
{
    char lname[256];
    snprintf(lname, sizeof lname, "%s.lock", name);
    char *lock = tu_join(g_dir, lname);
    bool there = access(lock, F_OK) == 0;
    free(lock);
    return there;
}

/* An embedded writer's open of g_dir/name with flags: its result. */
static srd_err embedded_open(const char *name, unsigned flags)
{
    char *path = tu_join(g_dir, name);
    srd_options o;
    srd_options_init(&o);
    o.flags = flags | SRD_OPEN_EMBEDDED;
    srd_store *st = NULL;
    srd_err rc = srd_open(path, &o, &st);
    if (rc == SRD_OK)
        srd_close(st);
    free(path);
    return rc;
}

START_TEST(test_a_refused_path_keeps_no_lock_file)
{
    /* a file that is not a store (the issue's /etc/passwd), through srdd */
    static const char pw[] = "root:x:0:0:root:/root:/bin/bash\n";
    char *passwd = tu_join(g_dir, "passwd");
    ck_assert_int_eq(tu_write_file(passwd, pw, sizeof pw - 1), 0);
    pid_t pid = tu_srdd_spawn(passwd, NULL, NULL);
    int status = wait_exit(pid);
    ck_assert_msg(status > 0 && status < 128, "srdd on a non-store: %d",
                  status);
    ck_assert_msg(!lock_left("passwd"), "srdd left passwd.lock behind");
    /* ... and embedded, with and without create */
    ck_assert_int_ne(embedded_open("passwd", SRD_OPEN_CREATE), SRD_OK);
    ck_assert_int_ne(embedded_open("passwd", 0), SRD_OK);
    ck_assert_msg(!lock_left("passwd"), "srd_open left passwd.lock behind");
    size_t len = 0;
    uint8_t *text = tu_read_file(passwd, &len);
    ck_assert_msg(text && len == sizeof pw - 1 && !memcmp(text, pw, len),
                  "the refused file was changed");
    free(text);
    /* a directory */
    char *dir = tu_join(g_dir, "d");
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    ck_assert_int_ne(embedded_open("d", SRD_OPEN_CREATE), SRD_OK);
    ck_assert_msg(!lock_left("d"), "srd_open left d.lock behind");
    /* a lock file this open did not create stays */
    char *lock = tu_join(g_dir, "passwd.lock");
    ck_assert_int_eq(tu_write_file(lock, "", 0), 0);
    ck_assert_int_ne(embedded_open("passwd", SRD_OPEN_CREATE), SRD_OK);
    ck_assert_msg(lock_left("passwd"), "removed a lock file it did not make");
    /* a real store keeps its lock file (others probe it) */
    ck_assert_int_eq(embedded_open("s.srd", SRD_OPEN_CREATE), SRD_OK);
    ck_assert_msg(lock_left("s.srd"), "a store's own lock file went");
    free(lock);
    free(dir);
    free(passwd);
}
END_TEST

/* One racer: rounds of a refused open of "bad" (its lock file made and
 * removed each time) and a writer open of "s.srd" that, while it holds
 * the store, must be alone (an O_EXCL marker file). Exit 0 when every
 * result was the expected one. */
static int lock_racer(int rounds)
{
    char *mark = tu_join(g_dir, "holder");
    int bad = 0;
    for (int i = 0; i < rounds && !bad; i++) {
        srd_err rc = embedded_open("bad", SRD_OPEN_CREATE);
        if (rc == SRD_OK)
            bad = 1;
        char *path = tu_join(g_dir, "s.srd");
        srd_options o;
        srd_options_init(&o);
        o.flags = SRD_OPEN_EMBEDDED | SRD_OPEN_CREATE;
        o.sync = SRD_SYNC_NEVER;
        srd_store *st = NULL;
        rc = srd_open(path, &o, &st);
        free(path);
        if (rc == SRD_OK) {
            int m = open(mark, O_CREAT | O_EXCL | O_WRONLY, 0600);
            if (m < 0)
                bad = 2; /* another writer holds the store too */
            else
                close(m);
            unlink(mark);
            srd_close(st);
        } else if (rc != SRD_EBUSY) {
            bad = 3;
        }
    }
    free(mark);
    return bad;
}

START_TEST(test_racing_writers_and_refused_opens_stay_exclusive)
{
    char *badp = tu_join(g_dir, "bad");
    ck_assert_int_eq(tu_write_file(badp, "not a store, not at all\n", 24), 0);
    enum { RACERS = 4 };
    pid_t kids[RACERS];
    for (int i = 0; i < RACERS; i++) {
        kids[i] = fork();
        ck_assert_int_ge(kids[i], 0);
        if (kids[i] == 0)
            _exit(lock_racer(150));
    }
    for (int i = 0; i < RACERS; i++) {
        int status = 0;
        ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "racer %d failed: status %d", i, status);
    }
    ck_assert_msg(!lock_left("bad"), "bad.lock left after the race");
    free(badp);
}
END_TEST

/* A Unix stream listener at path for the fake daemon; -1 on failure. */
static int fake_listen(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return -1;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(fd, 16) != 0)
        return -1;
    return fd;
}

/* The fake daemon's answer to rq. */
static void fake_answer(tu_req *conn, const Srd__V1__Request *rq,
                        const char *pub_url, uint64_t dev, uint64_t ino,
                        uint64_t tail)
{
    Srd__V1__Response rs = SRD__V1__RESPONSE__INIT;
    Srd__V1__HelloReply h = SRD__V1__HELLO_REPLY__INIT;
    rs.seq = rq ? rq->seq : 0;
    rs.generation = 1;
    rs.committed_tail = tail;
    rs.message = "";
    if (rq && rq->op_case == SRD__V1__REQUEST__OP_HELLO) {
        h.protocol_version = 1;
        h.store_dev = dev;
        h.store_ino = ino;
        h.generation = 1;
        h.committed_tail = tail;
        h.max_message = 1 << 20;
        h.publish_url = (char *)pub_url;
        h.store_path = (char *)"";
        rs.hello = &h;
    }
    size_t hl = srd__v1__response__get_packed_size(&rs);
    uint8_t *m = malloc(4 + hl);
    tu_put_le32(m, (uint32_t)hl);
    srd__v1__response__pack(&rs, m + 4);
    tu_req_send(conn, m, 4 + hl);
    free(m);
}

/* The fake daemon: answers Hello as if it served the store at dev/ino
 * and acknowledges every write without storing anything (one connection
 * at a time). */
static void fake_daemon(const char *req_url, const char *pub_url,
                        uint64_t dev, uint64_t ino, uint64_t tail, int ready)
{
    nng_socket pub;
    int lfd = fake_listen(req_url + 7);
    if (lfd < 0 || nng_pub0_open(&pub) || nng_listen(pub, pub_url, NULL, 0))
        _exit(5);
    chmod(req_url + 7, 0666);
    chmod(pub_url + 6, 0666);
    if (write(ready, "r", 1) != 1)
        _exit(6);
    for (;;) {
        tu_req conn = {.fd = accept(lfd, NULL, NULL), .timeout_ms = 5000};
        void *buf = NULL;
        size_t got = 0;
        while (conn.fd >= 0 && tu_req_recv(&conn, &buf, &got) == 0) {
            Srd__V1__Request *rq = srd__v1__request__unpack(
                NULL, tu_get_le32(buf), (uint8_t *)buf + 4);
            free(buf);
            fake_answer(&conn, rq, pub_url, dev, ino, tail);
            srd__v1__request__free_unpacked(rq, NULL);
        }
        tu_req_close(&conn);
    }
}

START_TEST(test_client_refuses_a_daemon_run_by_another_user)
{
    if (geteuid() != 0) {
        printf("SKIP test_client_refuses_a_daemon_run_by_another_user: "
               "needs root (a second uid, 65534, for the fake daemon)\n");
        return;
    }
    ck_assert_int_eq(chmod(g_dir, 01777), 0); /* a shared folder */
    srd_store *st;
    ck_srd(tu_open(g_store, SRD_OPEN_CREATE | SRD_OPEN_EMBEDDED, &st));
    ck_srd(srd_put(st, tu_s("k"), tu_s("root's")));
    ck_srd(srd_close(st));
    struct stat sb;
    ck_assert_int_eq(stat(g_store, &sb), 0);
    /* the lock looks held (as a lock file others could open allowed) */
    char *lock = tu_join(g_dir, "s.srd.lock");
    int lfd = open(lock, O_RDONLY);
    ck_assert_int_ge(lfd, 0);
    ck_assert_int_eq(flock(lfd, LOCK_EX), 0);
    char req_url[4200], pub_url[4200];
    snprintf(req_url, sizeof req_url, "unix://%s/fake.req", g_dir);
    snprintf(pub_url, sizeof pub_url, "ipc://%s/fake.pub", g_dir);
    int ready[2];
    ck_assert_int_eq(pipe(ready), 0);
    pid_t pid = fork(); /* before this process touches NNG */
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(4);
        fake_daemon(req_url, pub_url, (uint64_t)sb.st_dev,
                    (uint64_t)sb.st_ino, (uint64_t)sb.st_size, ready[1]);
    }
    close(ready[1]);
    char r;
    ck_assert_int_eq(read(ready[0], &r, 1), 1);
    close(ready[0]);
    char disc[9000];
    snprintf(disc, sizeof disc, "listen=%s\npublish=%s\n", req_url, pub_url);
    char *dpath = tu_join(g_dir, "s.srd.srdd");
    ck_assert_int_eq(tu_write_file(dpath, disc, strlen(disc)), 0);
    setenv("SRD_TIMEOUT_MS", "1500", 1);
    srd_err rc;
    st = ch_open_flags(SRD_OPEN_CLIENT, &rc);
    srd_err put = st ? srd_put(st, tu_s("k"), tu_s("lost")) : rc;
    if (st)
        srd_close(st);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert_msg(rc == SRD_EPERM, "opening through a daemon of uid 65534: "
                  "%s (wanted SRD_EPERM; a put then said %s)",
                  srd_errname(rc), srd_errname(put));
    close(lfd);
    free(dpath);
    free(lock);
}
END_TEST

/* ======================================================================== */
/* Item 9: a fault inside srdd's request path                               */
/* ======================================================================== */

/* srdd's file size limit (RLIMIT_FSIZE) set to bytes. */
static void srdd_fsize(rlim_t bytes)
{
    struct rlimit rl = {bytes, bytes};
    struct rlimit old;
    ck_assert_int_eq(prlimit(g_srdd, RLIMIT_FSIZE, NULL, &old), 0);
    rl.rlim_max = old.rlim_max;
    ck_assert_int_eq(prlimit(g_srdd, RLIMIT_FSIZE, &rl, NULL), 0);
}

START_TEST(test_file_size_limit_under_srdd_fails_writes_not_srdd)
{
    start_srdd(NULL);
    srd_store *st = ch_open_client();
    ck_srd(srd_put(st, tu_s("first"), tu_s("before the limit")));
    srdd_fsize((rlim_t)tu_file_size(g_store) + 20000);
    char key[32], val[1000];
    memset(val, 'v', sizeof val);
    int acked = 0;
    srd_err rc = SRD_OK;
    for (int i = 0; i < 100 && rc == SRD_OK; i++) {
        snprintf(key, sizeof key, "k%d", i);
        rc = srd_put(st, tu_s(key), (srd_val){val, sizeof val});
        acked += rc == SRD_OK;
    }
    printf("file size limit: %d puts acknowledged, then %s\n", acked,
           srd_errname(rc));
    ck_assert_int_ne(rc, SRD_OK);
    ck_assert_msg(waitpid(g_srdd, NULL, WNOHANG) == 0,
                  "srdd died (SIGXFSZ)");
    srdd_fsize(RLIM_INFINITY);
    ck_srd(srd_put(st, tu_s("k0"), tu_s("after the limit"))); /* resumes */
    ck_srd(srd_close(st));
    ck_assert_int_eq(stop_srdd(SIGTERM), 0);
    /* every acknowledged put is there */
    ck_srd(tu_open(g_store, SRD_OPEN_READONLY, &st));
    ck_assert_int_eq(srd_verify(st, &(srd_verify_report){0}, NULL, NULL),
                     SRD_OK);
    for (int i = 0; i < acked; i++) {
        snprintf(key, sizeof key, "k%d", i);
        bool there = false;
        ck_srd(srd_exists(st, tu_s(key), &there));
        ck_assert_msg(there, "acknowledged %s is missing", key);
    }
    srd_close(st);
}
END_TEST

/* ======================================================================== */
/* Runner                                                                   */
/* ======================================================================== */

static Suite *harden_suite(void)
{
    Suite *s = suite_create("harden");
    TCase *tc = tcase_create("harden");
    tcase_add_checked_fixture(tc, ch_setup, ch_teardown);
    tcase_set_timeout(tc, 60);
    CH_ADD_TEST(tc, test_pipelined_puts_on_one_key_keep_the_last_value);
    CH_ADD_TEST(tc,
             test_one_client_id_pipelining_past_the_window_is_applied_in_order);
    CH_ADD_TEST(tc, test_second_writer_through_a_symlink_or_hard_link_is_refused);
    CH_ADD_TEST(tc, test_store_moved_away_under_srdd_stops_acknowledging);
    CH_ADD_TEST(tc, test_store_replaced_under_srdd_stops_acknowledging);
    CH_ADD_TEST(tc, test_store_cut_short_under_srdd_stops_acknowledging);
    CH_ADD_TEST(tc, test_forked_child_cannot_write_through_the_parents_handle);
    CH_ADD_TEST(tc, test_raw_fork_child_is_refused_and_its_own_handle_writes);
    CH_ADD_TEST(tc, test_forked_child_of_a_client_cannot_write_through_srdd);
    CH_ADD_TEST(tc, test_peer_reading_no_replies_does_not_freeze_srdd);
    CH_ADD_TEST(tc, test_batches_of_empty_items_cost_srdd_little_memory);
    CH_ADD_TEST(tc, test_one_connection_cannot_take_every_stream_slot);
    CH_ADD_TEST(tc, test_a_full_stream_table_reclaims_idle_slots);
    CH_ADD_TEST(tc, test_new_store_and_lock_are_owner_only);
    CH_ADD_TEST(tc, test_a_refused_path_keeps_no_lock_file);
    CH_ADD_TEST(tc, test_racing_writers_and_refused_opens_stay_exclusive);
    CH_ADD_TEST(tc, test_client_refuses_a_daemon_run_by_another_user);
    CH_ADD_TEST(tc, test_file_size_limit_under_srdd_fails_writes_not_srdd);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    static const ch_role roles[] = {
        {NULL, 0, NULL},
    };
    return ch_main(argc, argv, roles, harden_suite);
}
