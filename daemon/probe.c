/* SPDX-License-Identifier: MIT */
/*
 * probe.c -- one SP handshake against an ipc listener (see probe.h). The
 * SP header is 8 bytes: 0x00 'S' 'P' 0x00, the 16-bit protocol number
 * (big-endian), two reserved zero bytes. Both sides send theirs at once.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#define PROBE_HEADER_LEN 8

static int64_t probe_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A non-blocking socket connected (or connecting) to path, or -1 with
 * *res set. A full accept queue (EAGAIN: a burst of clients connecting)
 * is retried every 10 ms until the deadline; only a queue still full then
 * counts as silence (a listener that accepts drains it). */
static int probe_connect(const char *path, int64_t deadline,
                         probe_result *res)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) {
        *res = PROBE_ERROR;
        return -1;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *res = PROBE_ERROR;
        return -1;
    }
    int e;
    for (;;) {
        if (connect(fd, (const struct sockaddr *)&a, sizeof a) == 0)
            return fd;
        e = errno;
        if (e != EAGAIN || probe_now_ms() + 10 >= deadline)
            break;
        poll(NULL, 0, 10); /* the queue may drain */
    }
    close(fd);
    *res = e == EAGAIN ? PROBE_SILENT
         : (e == ECONNREFUSED || e == ENOENT || e == ENOTSOCK)
             ? PROBE_REFUSED
             : PROBE_ERROR;
    return -1;
}

/* Wait for want (POLLIN/POLLOUT) on fd until the deadline. */
static bool probe_wait(int fd, short want, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - probe_now_ms();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = want};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return (p.revents & want) != 0;
        if (n < 0 && errno != EINTR)
            return false;
    }
}

/* Send our header: 8 bytes always fit an empty socket buffer. */
static bool probe_send_header(int fd, uint16_t as_proto)
{
    const unsigned char h[PROBE_HEADER_LEN] = {
        0, 'S', 'P', 0, (unsigned char)(as_proto >> 8),
        (unsigned char)(as_proto & 0xff), 0, 0};
    return send(fd, h, sizeof h, MSG_NOSIGNAL) == (ssize_t)sizeof h;
}

/* Read the listener's header until the deadline; true when it is one. */
static bool probe_read_header(int fd, int64_t deadline)
{
    unsigned char h[PROBE_HEADER_LEN];
    size_t got = 0;
    while (got < sizeof h) {
        if (!probe_wait(fd, POLLIN, deadline))
            return false;
        ssize_t n = recv(fd, h + got, sizeof h - got, 0);
        if (n == 0)
            return false;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return false;
        }
        got += (size_t)n;
    }
    return h[0] == 0 && h[1] == 'S' && h[2] == 'P' && h[3] == 0;
}

probe_result probe_sp_ipc(const char *path, uint16_t as_proto,
                          unsigned timeout_ms, int *fd_out)
{
    int64_t deadline = probe_now_ms() + timeout_ms;
    probe_result res = PROBE_ERROR;
    int fd = probe_connect(path, deadline, &res);
    if (fd < 0)
        return res;
    /* A Unix stream connect completes at once or fails; POLLOUT makes
     * sure before the first send. */
    if (!probe_wait(fd, POLLOUT, deadline) || !probe_send_header(fd, as_proto))
        res = PROBE_SILENT;
    else
        res = probe_read_header(fd, deadline) ? PROBE_ANSWERED : PROBE_SILENT;
    *fd_out = fd;
    return res;
}
