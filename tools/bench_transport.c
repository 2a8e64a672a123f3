/* SPDX-License-Identifier: MIT */
/*
 * bench_transport.c -- srd-bench's transport section: the candidate request
 * paths for srdd measured side by side before one is chosen (issue 15).
 * Each candidate is a server process and a client process exchanging
 * 64-byte requests and replies: a blocking SOCK_SEQPACKET pair (the floor),
 * a SOCK_SEQPACKET listener served by an epoll loop, NNG 1.5.2 REQ/REP over
 * ipc:// (today's path), a shared-memory slot with futex wake-ups, and Redis
 * SET over a Unix socket when redis-server is installed. Durable variants
 * add one fdatasync per round (or per group of ready requests with many
 * writers) to compare against Redis appendfsync always. Context switches
 * are counted from /proc for every thread of both processes.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "bench_peer.h"
#include "bench_transport.h"
#include "bench_util.h"

#define MSG_LEN PEER_MSG_LEN
#define WRITERS 16 /* durable writer processes */

typedef void (*server_fn)(const char *addr, int fd);

/* Fork a server running fn(addr, fd) until it is killed. */
static pid_t server_start(server_fn fn, const char *addr, int fd)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        fn(addr, fd);
        _exit(0);
    }
    return pid;
}

/* ---- Unix sockets -------------------------------------------------------- */

/* The epoll server: every ready request of every connection is taken in
 * one pass, the group is made durable with one fdatasync when sync_fd >= 0
 * (a pwrite of each request first), then every request is answered. */
typedef struct ep_server {
    int lfd, ep, sync_fd;
    uint64_t off;
} ep_server;

static void ep_accept(ep_server *s)
{
    int c;
    while ((c = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >=
           0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = c};
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, c, &ev) != 0)
            _exit(1);
    }
}

static void ep_serve_group(ep_server *s, struct epoll_event *evs, int n)
{
    static uint8_t msgs[64][MSG_LEN];
    int ready[64], nready = 0;
    for (int i = 0; i < n; i++) {
        if (evs[i].data.fd == s->lfd) {
            ep_accept(s);
            continue;
        }
        int c = evs[i].data.fd;
        ssize_t r = read(c, msgs[nready], MSG_LEN);
        if (r <= 0) {
            if (r == 0 || errno != EAGAIN)
                close(c);
            continue;
        }
        if (s->sync_fd >= 0) {
            if (pwrite(s->sync_fd, msgs[nready], MSG_LEN, (off_t)s->off) !=
                MSG_LEN)
                _exit(1);
            s->off += MSG_LEN;
        }
        ready[nready++] = c;
    }
    if (nready > 0 && s->sync_fd >= 0 && fdatasync(s->sync_fd) != 0)
        _exit(1);
    for (int i = 0; i < nready; i++)
        if (write(ready[i], msgs[i], MSG_LEN) != MSG_LEN)
            close(ready[i]);
}

static void seq_epoll_server(const char *addr, int sync_fd)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(addr) >= sizeof sa.sun_path)
        _exit(1);
    memcpy(sa.sun_path, addr, strlen(addr) + 1);
    ep_server s = {.sync_fd = sync_fd};
    s.lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.lfd < 0 || bind(s.lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(s.lfd, 128) != 0)
        _exit(1);
    s.ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = s.lfd};
    if (s.ep < 0 || epoll_ctl(s.ep, EPOLL_CTL_ADD, s.lfd, &ev) != 0)
        _exit(1);
    struct epoll_event evs[64];
    for (;;) {
        int n = epoll_wait(s.ep, evs, 64, -1);
        if (n < 0 && errno != EINTR)
            _exit(1);
        if (n > 0)
            ep_serve_group(&s, evs, n);
    }
}

/* ---- NNG REQ/REP ---------------------------------------------------------- */

static void nng_rep_server(const char *addr, int fd)
{
    (void)fd;
    nng_socket s;
    if (nng_rep0_open(&s) != 0 || nng_listen(s, addr, NULL, 0) != 0)
        _exit(1);
    for (;;) {
        nng_msg *m;
        if (nng_recvmsg(s, &m, 0) != 0)
            _exit(1);
        if (nng_sendmsg(s, m, 0) != 0)
            nng_msg_free(m);
    }
}

static nng_socket g_req;

static bool nng_round(peer_conn *c, uint8_t *msg)
{
    (void)c;
    nng_socket s = g_req;
    size_t len = MSG_LEN;
    return nng_send(s, msg, MSG_LEN, 0) == 0 &&
           nng_recv(s, msg, &len, 0) == 0 && len == MSG_LEN;
}

/* ---- shared memory slot with futex wake-ups -------------------------------- */

typedef struct shm_slot {
    _Alignas(64) atomic_uint req;   /* bumped by the client per request */
    _Alignas(64) atomic_uint rep;   /* bumped by the server per reply */
    uint8_t msg[MSG_LEN];
} shm_slot;

static void futex_wait(atomic_uint *w, unsigned seen)
{
    syscall(SYS_futex, (unsigned *)w, FUTEX_WAIT, seen, NULL, NULL, 0);
}

static void futex_wake(atomic_uint *w)
{
    syscall(SYS_futex, (unsigned *)w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static shm_slot *g_slot;

static void shm_server(const char *addr, int fd)
{
    (void)addr;
    (void)fd;
    unsigned seen = 0;
    for (;;) {
        unsigned r;
        while ((r = atomic_load(&g_slot->req)) == seen)
            futex_wait(&g_slot->req, seen);
        seen = r;
        g_slot->msg[0]++;
        atomic_fetch_add(&g_slot->rep, 1);
        futex_wake(&g_slot->rep);
    }
}

static bool shm_round(peer_conn *c, uint8_t *msg)
{
    (void)c;
    shm_slot *s = g_slot;
    unsigned before = atomic_load(&s->rep);
    memcpy(s->msg, msg, MSG_LEN);
    atomic_fetch_add(&s->req, 1);
    futex_wake(&s->req);
    while (atomic_load(&s->rep) == before)
        futex_wait(&s->rep, before);
    memcpy(msg, s->msg, MSG_LEN);
    return true;
}

/* ---- the candidates ------------------------------------------------------- */

static int sync_file(const char *name)
{
    char path[PATH_MAX];
    wpath(path, name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        die("open %s: %s", path, strerror(errno));
    return fd;
}

static void report(const char *name, const peer_rtt *r, const peer_rtt *base)
{
    row_add("transport", "us", -1, r->med_us, base ? base->med_us : NAN,
            "rtt median: %s", name);
    row_add("transport", "us", -1, r->p99_us, base ? base->p99_us : NAN,
            "rtt p99: %s", name);
    row_add("transport", "cs", -1, r->client_cs, NAN, "ctx sw/rt client: %s",
            name);
    row_add("transport", "cs", -1, r->server_cs, NAN, "ctx sw/rt server: %s",
            name);
}

static void run_seq_epoll(size_t n, int sync_fd, peer_rtt *r)
{
    char sock[PATH_MAX];
    wpath(sock, "ep.sock");
    unlink(sock);
    pid_t pid = server_start(seq_epoll_server, sock, sync_fd);
    peer_conn c = {.fd = peer_unix_connect(sock, SOCK_SEQPACKET)};
    peer_time_rounds(peer_seq_round, &c, pid, n, r);
    close(c.fd);
    peer_stop(pid);
}

static void run_nng(size_t n, peer_rtt *r)
{
    char sock[PATH_MAX], url[PATH_MAX + 8];
    wpath(sock, "nng.sock");
    snprintf(url, sizeof url, "ipc://%s", sock);
    pid_t pid = server_start(nng_rep_server, url, -1);
    if (nng_req0_open(&g_req) != 0)
        die("nng_req0_open failed");
    int rc;
    while ((rc = nng_dial(g_req, url, NULL, 0)) == NNG_ECONNREFUSED ||
           rc == NNG_ENOENT)
        peer_sleep_us(1000);
    if (rc != 0)
        die("nng_dial: %s", nng_strerror(rc));
    peer_conn c = {.fd = -1};
    peer_time_rounds(nng_round, &c, pid, n, r);
    nng_close(g_req);
    peer_stop(pid);
}

static void run_shm(size_t n, peer_rtt *r)
{
    g_slot = mmap(NULL, sizeof *g_slot, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g_slot == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    memset(g_slot, 0, sizeof *g_slot);
    pid_t pid = server_start(shm_server, NULL, -1);
    peer_conn c = {.fd = -1};
    peer_time_rounds(shm_round, &c, pid, n, r);
    peer_stop(pid);
    munmap(g_slot, sizeof *g_slot);
}

static void run_writers(const bench_transport_cfg *cfg)
{
    char sock[PATH_MAX];
    int fd = sync_file("ep-writers.dat");
    wpath(sock, "ep-w.sock");
    unlink(sock);
    pid_t pid = server_start(seq_epoll_server, sock, fd);
    double one = peer_writers_rate(1, cfg->seconds, SOCK_SEQPACKET,
                                   peer_seq_round, sock);
    double many = peer_writers_rate(WRITERS, cfg->seconds, SOCK_SEQPACKET,
                                    peer_seq_round, sock);
    peer_stop(pid);
    close(fd);

    double r_many = peer_redis_writers(WRITERS, cfg->seconds);
    row_add("transport", "op/s", +1, one, NAN,
            "1 durable writer: seqpacket+epoll");
    row *r = row_add("transport", "op/s", +1, many, r_many,
                     "%d durable writers vs redis always", WRITERS);
    row_target(r, many >= 6 * one, ">= 6x one writer (%.1fx)", many / one);
}

void bench_transport(const bench_transport_cfg *cfg)
{
    peer_rtt floor, r;
    size_t n = cfg->rtts;
    progress("transport: seqpacket socketpair, blocking");
    peer_pingpong(n, &floor);
    report("seqpacket pair (floor)", &floor, NULL);
    progress("transport: seqpacket + epoll server");
    run_seq_epoll(n, -1, &r);
    report("seqpacket+epoll", &r, &floor);
    progress("transport: NNG REQ/REP ipc");
    run_nng(n, &r);
    report("nng req/rep", &r, &floor);
    progress("transport: shared slot + futex");
    run_shm(n, &r);
    report("shm+futex", &r, &floor);
    if (peer_redis_rtt(n, false, &r))
        report("redis SET", &r, &floor);
    else
        progress("transport: redis-server not installed: Redis skipped");

    size_t nd = n / 4 + 1;
    int fd = sync_file("ep-one.dat");
    progress("transport: durable round trips (fdatasync each)");
    run_seq_epoll(nd, fd, &r);
    close(fd);
    report("epoll+fdatasync", &r, NULL);
    if (peer_redis_rtt(nd, true, &r))
        report("redis appendfsync always", &r, NULL);
    progress("transport: %d durable writers", WRITERS);
    run_writers(cfg);
}
