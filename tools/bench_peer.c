/* SPDX-License-Identifier: MIT */
/*
 * bench_peer.c -- srd-bench's baselines outside srd: Redis started on a
 * Unix socket in the work dir and driven with hand-written RESP SETs (one
 * command, so no client library), plain Unix-socket round trips, rates of
 * many round-tripping processes, and context switches summed over every
 * thread of a process from /proc/<pid>/task/<tid>/status.
 */
#include "srd_features.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_peer.h"
#include "bench_util.h"

#define MAX_WRITERS 64

/* ---- processes ------------------------------------------------------------ */

static uint64_t task_ctxsw(const char *status_path)
{
    char line[128];
    uint64_t total = 0;
    FILE *f = fopen(status_path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (colon && strstr(line, "ctxt_switches:") != NULL)
            total += strtoull(colon + 1, NULL, 10);
    }
    fclose(f);
    return total;
}

uint64_t peer_ctxsw(pid_t pid)
{
    char dir[64], file[PATH_MAX];
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
        total += task_ctxsw(file);
    }
    closedir(d);
    return total;
}

double peer_cpu_us(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return NAN;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the name may hold spaces */
    if (!p)
        return NAN;
    /* Fields 3 (the state) to 15 follow the name; utime and stime are 14
     * and 15 (proc(5)): step to the space before 14. */
    for (int field = 3; field <= 14 && p; field++)
        p = strchr(p + 1, ' ');
    if (!p)
        return NAN;
    char *end;
    unsigned long long ut = strtoull(p + 1, &end, 10);
    unsigned long long st = strtoull(end, NULL, 10);
    return (double)(ut + st) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

void peer_sleep_us(unsigned us)
{
    struct timespec ts = {us / 1000000u, (long)(us % 1000000u) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void peer_stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* ---- Unix sockets ------------------------------------------------------------ */

int peer_unix_connect(const char *path, int type)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        die("socket path too long: %s", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    for (int tries = 0; tries < 2000; tries++) {
        int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        if (fd < 0)
            die("socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            return fd;
        close(fd);
        peer_sleep_us(1000);
    }
    die("connect %s: %s", path, strerror(errno));
}

bool peer_seq_round(peer_conn *c, uint8_t *msg)
{
    return write(c->fd, msg, PEER_MSG_LEN) == PEER_MSG_LEN &&
           read(c->fd, msg, PEER_MSG_LEN) == PEER_MSG_LEN;
}

void peer_pingpong(size_t n, peer_rtt *out)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        die("socketpair: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        uint8_t b[PEER_MSG_LEN];
        close(sv[0]);
        while (read(sv[1], b, sizeof b) > 0)
            if (write(sv[1], b, sizeof b) != (ssize_t)sizeof b)
                _exit(1);
        _exit(0);
    }
    close(sv[1]);
    peer_conn c = {.fd = sv[0]};
    peer_time_rounds(peer_seq_round, &c, pid, n, out);
    close(sv[0]);
    waitpid(pid, NULL, 0);
}

bool peer_redis_rtt(size_t n, bool always, peer_rtt *out)
{
    if (!redis_available())
        return false;
    char sock[PATH_MAX];
    wpath(sock, always ? "redis-always.sock" : "redis.sock");
    pid_t pid = redis_start(sock, always);
    peer_conn c = {.fd = peer_unix_connect(sock, SOCK_STREAM)};
    peer_time_rounds(redis_set_round, &c, pid, n, out);
    close(c.fd);
    peer_stop(pid);
    return true;
}

double peer_redis_writers(int w, double seconds)
{
    if (!redis_available())
        return NAN;
    char sock[PATH_MAX];
    wpath(sock, "redis-w.sock");
    pid_t pid = redis_start(sock, true);
    double rate = peer_writers_rate(w, seconds, SOCK_STREAM, redis_set_round,
                                    sock);
    peer_stop(pid);
    return rate;
}

/* ---- Redis --------------------------------------------------------------------- */

static const char *redis_binary(void)
{
    static const char *const paths[] = {"/usr/bin/redis-server",
                                        "/usr/local/bin/redis-server"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

bool redis_available(void)
{
    return redis_binary() != NULL;
}

/* Wait until the server at sock answers PING (not "-LOADING ..."). */
static void redis_wait_ready(const char *sock)
{
    char rep[64];
    for (int tries = 0; tries < 2000; tries++) {
        int fd = peer_unix_connect(sock, SOCK_STREAM);
        bool up = write(fd, "PING\r\n", 6) == 6 &&
                  read(fd, rep, sizeof rep) >= 7 && memcmp(rep, "+PONG", 5) == 0;
        close(fd);
        if (up)
            return;
        peer_sleep_us(1000);
    }
    die("redis-server at %s never became ready", sock);
}

pid_t redis_start(const char *sock, bool always)
{
    const char *bin = redis_binary();
    char dir[PATH_MAX + 8];
    if (!bin)
        die("redis-server is not installed");
    /* A directory of its own: no instance loads another's append log. */
    snprintf(dir, sizeof dir, "%s.d", sock);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        die("mkdir %s: %s", dir, strerror(errno));
    unlink(sock);
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
    redis_wait_ready(sock);
    return pid;
}

bool redis_set_round(peer_conn *c, uint8_t *msg)
{
    (void)msg;
    char req[160], rep[16];
    int len = snprintf(req, sizeof req,
                       "*3\r\n$3\r\nSET\r\n$12\r\nkey%09u\r\n$%d\r\n%0*d\r\n",
                       c->n++ % 1000000000u, PEER_MSG_LEN, PEER_MSG_LEN, 7);
    if (write(c->fd, req, (size_t)len) != len)
        return false;
    return read(c->fd, rep, sizeof rep) == 5 && memcmp(rep, "+OK\r\n", 5) == 0;
}

/* ---- timing ------------------------------------------------------------------ */

void peer_time_rounds(peer_round_fn rt, peer_conn *c, pid_t server, size_t n,
                      peer_rtt *out)
{
    uint8_t msg[PEER_MSG_LEN] = {1};
    for (size_t i = 0; i < n / 10 + 1; i++) /* warm up */
        if (!rt(c, msg))
            die("round trip failed during warm-up");
    double *t = xmalloc(n * sizeof *t);
    uint64_t c0 = peer_ctxsw(getpid()), s0 = peer_ctxsw(server);
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        if (!rt(c, msg))
            die("round trip failed");
        t[i] = (double)(now_ns() - t0) / 1e3;
    }
    uint64_t c1 = peer_ctxsw(getpid()), s1 = peer_ctxsw(server);
    qsort_doubles(t, n);
    out->med_us = t[n / 2];
    out->p99_us = t[n * 99 / 100];
    out->client_cs = (double)(c1 - c0) / (double)n;
    out->server_cs = (double)(s1 - s0) / (double)n;
    free(t);
}

typedef struct writers_shared {
    atomic_int ready, go;
    uint64_t rounds[MAX_WRITERS];
} writers_shared;

static void writer_child(writers_shared *sh, int id, double seconds, int type,
                         peer_round_fn rt, const char *sock)
{
    peer_conn c = {.fd = peer_unix_connect(sock, type),
                   .n = (unsigned)id * 10000000u};
    uint8_t msg[PEER_MSG_LEN] = {0};
    atomic_fetch_add(&sh->ready, 1);
    while (!atomic_load(&sh->go))
        peer_sleep_us(100);
    uint64_t end = now_ns() + (uint64_t)(seconds * 1e9), k = 0;
    while (now_ns() < end && rt(&c, msg))
        k++;
    sh->rounds[id] = k;
}

double peer_writers_rate(int w, double seconds, int type, peer_round_fn rt,
                         const char *sock)
{
    if (w > MAX_WRITERS)
        die("at most %d writer processes", MAX_WRITERS);
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
            writer_child(sh, i, seconds, type, rt, sock);
            _exit(0);
        }
    }
    while (atomic_load(&sh->ready) < w)
        peer_sleep_us(1000);
    atomic_store(&sh->go, 1);
    uint64_t total = 0;
    for (int i = 0; i < w; i++) {
        waitpid(pids[i], NULL, 0);
        total += sh->rounds[i];
    }
    munmap(sh, sizeof *sh);
    return (double)total / seconds;
}
