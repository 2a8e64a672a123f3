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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "bench_transport.h"
#include "bench_util.h"

#define MSG_LEN 64
#define MAX_WRITERS 16

/* ---- processes and their context switches ------------------------------ */

/* Voluntary + involuntary context switches of every thread of pid. */
static uint64_t ctxsw_of(pid_t pid)
{
    char dir[64], file[PATH_MAX], line[128];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(file, sizeof file, "%s/%s/status", dir, e->d_name);
        FILE *f = fopen(file, "r");
        if (!f)
            continue;
        while (fgets(line, sizeof line, f)) {
            const char *colon = strchr(line, ':');
            if (colon && strstr(line, "ctxt_switches:") != NULL)
                total += strtoull(colon + 1, NULL, 10);
        }
        fclose(f);
    }
    closedir(d);
    return total;
}

static void sleep_us(unsigned us)
{
    struct timespec ts = {us / 1000000u, (long)(us % 1000000u) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

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

static void server_stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* One measured candidate: latency percentiles and switches per round. */
typedef struct rt_result {
    double med_us, p99_us;
    double client_cs, server_cs; /* per round trip */
} rt_result;

/* A client's one round trip; returns false on a transport error. */
typedef bool (*round_fn)(void *conn, uint8_t *msg);

static void time_rounds(round_fn rt, void *conn, pid_t server, size_t n,
                        rt_result *out)
{
    uint8_t msg[MSG_LEN] = {1};
    for (size_t i = 0; i < n / 10 + 1; i++) /* warm up */
        if (!rt(conn, msg))
            die("transport warm-up failed");
    double *t = xmalloc(n * sizeof *t);
    uint64_t c0 = ctxsw_of(getpid()), s0 = ctxsw_of(server);
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        if (!rt(conn, msg))
            die("transport round trip failed");
        t[i] = (double)(now_ns() - t0) / 1e3;
    }
    uint64_t c1 = ctxsw_of(getpid()), s1 = ctxsw_of(server);
    qsort_doubles(t, n);
    out->med_us = t[n / 2];
    out->p99_us = t[n * 99 / 100];
    out->client_cs = (double)(c1 - c0) / (double)n;
    out->server_cs = (double)(s1 - s0) / (double)n;
    free(t);
}

/* ---- Unix sockets -------------------------------------------------------- */

static void addr_un(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path)
        die("socket path too long: %s", path);
    strcpy(sa->sun_path, path);
}

static int unix_connect(const char *path, int type)
{
    struct sockaddr_un sa;
    addr_un(&sa, path);
    for (int tries = 0; tries < 2000; tries++) {
        int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        if (fd < 0)
            die("socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            return fd;
        close(fd);
        sleep_us(1000);
    }
    die("connect %s: %s", path, strerror(errno));
}

static bool seq_round(void *conn, uint8_t *msg)
{
    int fd = *(int *)conn;
    return write(fd, msg, MSG_LEN) == MSG_LEN &&
           read(fd, msg, MSG_LEN) == MSG_LEN;
}

/* Server of a socketpair: blocking read, reply. */
static void seq_pair_server(const char *addr, int fd)
{
    (void)addr;
    uint8_t b[MSG_LEN];
    while (read(fd, b, sizeof b) > 0)
        if (write(fd, b, sizeof b) != (ssize_t)sizeof b)
            _exit(1);
}

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
    struct sockaddr_un sa;
    addr_un(&sa, addr);
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

static bool nng_round(void *conn, uint8_t *msg)
{
    nng_socket s = *(nng_socket *)conn;
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

static bool shm_round(void *conn, uint8_t *msg)
{
    shm_slot *s = conn;
    unsigned before = atomic_load(&s->rep);
    memcpy(s->msg, msg, MSG_LEN);
    atomic_fetch_add(&s->req, 1);
    futex_wake(&s->req);
    while (atomic_load(&s->rep) == before)
        futex_wait(&s->rep, before);
    memcpy(msg, s->msg, MSG_LEN);
    return true;
}

/* ---- Redis SET over a Unix socket --------------------------------------- */

typedef struct redis_conn {
    int fd;
    unsigned n;
} redis_conn;

static bool redis_round(void *conn, uint8_t *msg)
{
    (void)msg;
    redis_conn *c = conn;
    char req[160], rep[16];
    int len = snprintf(req, sizeof req,
                       "*3\r\n$3\r\nSET\r\n$12\r\nkey%09u\r\n$%d\r\n%0*d\r\n",
                       c->n++ % 1000000000u, MSG_LEN, MSG_LEN, 7);
    if (write(c->fd, req, (size_t)len) != len)
        return false;
    return read(c->fd, rep, sizeof rep) == 5 && memcmp(rep, "+OK\r\n", 5) == 0;
}

static const char *redis_binary(void)
{
    static const char *const paths[] = {"/usr/bin/redis-server",
                                        "/usr/local/bin/redis-server"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

/* Start redis-server on a Unix socket in the work dir, no TCP, no RDB. */
static pid_t redis_start(const char *sock, bool always)
{
    const char *bin = redis_binary();
    char dir[PATH_MAX];
    wpath(dir, "");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execl(bin, bin, "--port", "0", "--unixsocket", sock, "--dir", dir,
              "--save", "", "--appendonly", always ? "yes" : "no",
              "--appendfsync", always ? "always" : "no", (char *)NULL);
        _exit(127);
    }
    return pid;
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

static void report(const char *name, const rt_result *r, const rt_result *base)
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

static void run_seq_pair(size_t n, rt_result *r)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        die("socketpair: %s", strerror(errno));
    pid_t pid = server_start(seq_pair_server, NULL, sv[1]);
    close(sv[1]);
    time_rounds(seq_round, &sv[0], pid, n, r);
    close(sv[0]);
    server_stop(pid);
}

static void run_seq_epoll(size_t n, int sync_fd, rt_result *r)
{
    char sock[PATH_MAX];
    wpath(sock, "ep.sock");
    unlink(sock);
    pid_t pid = server_start(seq_epoll_server, sock, sync_fd);
    int fd = unix_connect(sock, SOCK_SEQPACKET);
    time_rounds(seq_round, &fd, pid, n, r);
    close(fd);
    server_stop(pid);
}

static void run_nng(size_t n, rt_result *r)
{
    char sock[PATH_MAX], url[PATH_MAX + 8];
    wpath(sock, "nng.sock");
    snprintf(url, sizeof url, "ipc://%s", sock);
    pid_t pid = server_start(nng_rep_server, url, -1);
    nng_socket s;
    if (nng_req0_open(&s) != 0)
        die("nng_req0_open failed");
    int rc;
    while ((rc = nng_dial(s, url, NULL, 0)) == NNG_ECONNREFUSED ||
           rc == NNG_ENOENT)
        sleep_us(1000);
    if (rc != 0)
        die("nng_dial: %s", nng_strerror(rc));
    time_rounds(nng_round, &s, pid, n, r);
    nng_close(s);
    server_stop(pid);
}

static void run_shm(size_t n, rt_result *r)
{
    g_slot = mmap(NULL, sizeof *g_slot, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g_slot == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    memset(g_slot, 0, sizeof *g_slot);
    pid_t pid = server_start(shm_server, NULL, -1);
    time_rounds(shm_round, g_slot, pid, n, r);
    server_stop(pid);
    munmap(g_slot, sizeof *g_slot);
}

static bool run_redis(size_t n, bool always, rt_result *r)
{
    if (!redis_binary())
        return false;
    char sock[PATH_MAX];
    wpath(sock, always ? "redis-always.sock" : "redis.sock");
    pid_t pid = redis_start(sock, always);
    redis_conn c = {.fd = unix_connect(sock, SOCK_STREAM)};
    time_rounds(redis_round, &c, pid, n, r);
    close(c.fd);
    server_stop(pid);
    return true;
}

/* ---- many durable writers ------------------------------------------------- */

typedef struct writers_shared {
    atomic_int ready, go;
    uint64_t rounds[MAX_WRITERS];
} writers_shared;

typedef int (*connect_fn)(const char *addr);

static int connect_seq(const char *addr)
{
    return unix_connect(addr, SOCK_SEQPACKET);
}

static int connect_stream(const char *addr)
{
    return unix_connect(addr, SOCK_STREAM);
}

/* W processes doing round trips for `seconds`; returns rounds per second. */
static double writers_rate(int w, double seconds, connect_fn conn,
                           round_fn rt, const char *addr)
{
    writers_shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    memset(sh, 0, sizeof *sh);
    pid_t pids[MAX_WRITERS];
    fflush(NULL);
    for (int i = 0; i < w; i++) {
        if ((pids[i] = fork()) < 0)
            die("fork: %s", strerror(errno));
        if (pids[i] == 0) {
            redis_conn c = {.fd = conn(addr), .n = (unsigned)i * 100000000u};
            uint8_t msg[MSG_LEN] = {0};
            atomic_fetch_add(&sh->ready, 1);
            while (!atomic_load(&sh->go))
                sleep_us(100);
            uint64_t end = now_ns() + (uint64_t)(seconds * 1e9), k = 0;
            void *arg = rt == redis_round ? (void *)&c : (void *)&c.fd;
            while (now_ns() < end && rt(arg, msg))
                k++;
            sh->rounds[i] = k;
            _exit(0);
        }
    }
    while (atomic_load(&sh->ready) < w)
        sleep_us(1000);
    atomic_store(&sh->go, 1);
    uint64_t total = 0;
    for (int i = 0; i < w; i++) {
        waitpid(pids[i], NULL, 0);
        total += sh->rounds[i];
    }
    munmap(sh, sizeof *sh);
    return (double)total / seconds;
}

static void run_writers(const bench_transport_cfg *cfg)
{
    char sock[PATH_MAX];
    int fd = sync_file("ep-writers.dat");
    wpath(sock, "ep-w.sock");
    unlink(sock);
    pid_t pid = server_start(seq_epoll_server, sock, fd);
    double one = writers_rate(1, cfg->seconds, connect_seq, seq_round, sock);
    double many = writers_rate(MAX_WRITERS, cfg->seconds, connect_seq,
                               seq_round, sock);
    server_stop(pid);
    close(fd);

    double r_many = NAN;
    if (redis_binary()) {
        wpath(sock, "redis-w.sock");
        pid = redis_start(sock, true);
        r_many = writers_rate(MAX_WRITERS, cfg->seconds, connect_stream,
                              redis_round, sock);
        server_stop(pid);
    }
    row_add("transport", "op/s", +1, one, NAN,
            "1 durable writer: seqpacket+epoll");
    row *r = row_add("transport", "op/s", +1, many, r_many,
                       "%d durable writers vs redis always", MAX_WRITERS);
    row_target(r, many >= 6 * one, ">= 6x one writer (%.1fx)", many / one);
}

void bench_transport(const bench_transport_cfg *cfg)
{
    rt_result floor, r;
    size_t n = cfg->rtts;
    progress("transport: seqpacket socketpair, blocking");
    run_seq_pair(n, &floor);
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
    if (run_redis(n, false, &r))
        report("redis SET", &r, &floor);
    else
        progress("transport: redis-server not installed: Redis skipped");

    size_t nd = n / 4 + 1;
    int fd = sync_file("ep-one.dat");
    progress("transport: durable round trips (fdatasync each)");
    run_seq_epoll(nd, fd, &r);
    close(fd);
    report("seqpacket+epoll+fdatasync", &r, NULL);
    if (run_redis(nd, true, &r))
        report("redis SET appendfsync always", &r, NULL);
    progress("transport: %d durable writers", MAX_WRITERS);
    run_writers(cfg);
}
