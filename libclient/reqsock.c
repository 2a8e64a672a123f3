/* SPDX-License-Identifier: MIT */
/*
 * reqsock.c -- dialling srdd's request socket and framing (see
 * reqsock.h). A frame is sent with one sendmsg of two pieces (length and
 * message), so a small request is one system call; every call that must
 * not wait says MSG_DONTWAIT, so the descriptor itself stays blocking and
 * a reader that may wait takes a reply with one recv.
 */
#include "srd_features.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "reqsock.h"
#include "wire.h"

#define RS_FILL_MIN ((size_t)64 << 10) /* room asked of one read */
#define RS_CONNECT_MS 5000 /* longest wait of a connect (srd_open's default
                              SRD_TIMEOUT_MS) */

static int64_t rs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (< 0: none): for poll. */
static int rs_left(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - rs_now_ms();
    return left > 0 ? (int)(left > 1000000 ? 1000000 : left) : 0;
}

/* connect(2) bounded to RS_CONNECT_MS: a Unix listener whose backlog is
 * full (a stopped srdd) and a TCP peer that does not answer would
 * otherwise block the caller for good or for the kernel's SYN retries.
 * SO_SNDTIMEO bounds a connect on Linux (EAGAIN / EINPROGRESS after
 * it); it is cleared again, since sends are bounded elsewhere. */
static int rs_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    struct timeval tv = {RS_CONNECT_MS / 1000,
                         (suseconds_t)(RS_CONNECT_MS % 1000) * 1000};
    struct timeval none = {0, 0};
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
        return -1;
    int rv = connect(fd, sa, len);
    int e = errno;
    if (rv == 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none,
                              sizeof none) != 0)
        return -1;
    if (rv != 0 && (e == EAGAIN || e == EINPROGRESS))
        e = ETIMEDOUT;
    errno = e;
    return rv;
}

static int rs_dial_unix(const char *path)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (!*path || strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && rs_connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int srdi_reqsock_tcp_addr(const char *hostport, bool passive,
                          struct addrinfo **out)
{
    char host[256];
    const char *hp = hostport;
    const char *colon = strrchr(hp, ':');
    *out = NULL;
    if (!colon || (size_t)(colon - hp) >= sizeof host || !colon[1])
        return EAI_NONAME;
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = '\0';
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    bool any = passive && (!host[0] || strcmp(host, "*") == 0);
    return getaddrinfo(any ? NULL : host, colon + 1, &hints, out);
}

static int rs_dial_tcp(const char *hp)
{
    struct addrinfo *ai = NULL;
    if (srdi_reqsock_tcp_addr(hp, false, &ai) != 0) {
        errno = EHOSTUNREACH;
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && rs_connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        fd = -1;
    }
    freeaddrinfo(ai);
    int on = 1;
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    return fd;
}

int srdi_reqsock_dial(const char *url)
{
    int fd;
    if (strncmp(url, "unix://", 7) == 0)
        fd = rs_dial_unix(url + 7);
    else if (strncmp(url, "ipc://", 6) == 0)
        fd = rs_dial_unix(url + 6);
    else if (strncmp(url, "tcp://", 6) == 0)
        fd = rs_dial_tcp(url + 6);
    else {
        errno = EINVAL;
        return -1;
    }
    return fd;
}

static bool rs_poll(int fd, short what, int64_t deadline)
{
    struct pollfd p = {fd, what, 0};
    int n;
    do
        n = poll(&p, 1, rs_left(deadline));
    while (n < 0 && errno == EINTR);
    return n > 0;
}

int srdi_reqsock_send_step(int fd, const uint8_t hdr[SRDI_WIRE_FRAME],
                           const void *msg, size_t len, size_t *done)
{
    struct iovec iov[2];
    int n_iov = 0;
    if (*done < SRDI_WIRE_FRAME)
        iov[n_iov++] = (struct iovec){(uint8_t *)hdr + *done,
                                      SRDI_WIRE_FRAME - *done};
    size_t body = *done < SRDI_WIRE_FRAME ? 0 : *done - SRDI_WIRE_FRAME;
    if (len > body)
        iov[n_iov++] = (struct iovec){(uint8_t *)msg + body, len - body};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n_iov};
    ssize_t n;
    do
        n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        *done += (size_t)n;
        return 1;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
}

srd_err srdi_reqsock_send(int fd, const void *msg, size_t len, int timeout_ms)
{
    if (len > UINT32_MAX)
        return SRD_ETOOBIG;
    uint8_t hdr[SRDI_WIRE_FRAME];
    srdi_wire_frame_put(hdr, (uint32_t)len);
    int64_t deadline = timeout_ms < 0 ? -1 : rs_now_ms() + timeout_ms;
    size_t done = 0;
    while (done < len + SRDI_WIRE_FRAME) {
        int r = srdi_reqsock_send_step(fd, hdr, msg, len, &done);
        if (r < 0)
            return SRD_EUNREACHABLE;
        if (r == 0 && !rs_poll(fd, POLLOUT, deadline))
            return SRD_ETIMEDOUT;
    }
    return SRD_OK;
}

int srdi_rbuf_next(srdi_rbuf *rb, size_t max, const uint8_t **msg,
                   size_t *len)
{
    uint32_t flen;
    int r = srdi_wire_frame_next(rb->p + rb->off, rb->len - rb->off, max,
                                 &flen);
    if (r <= 0)
        return r;
    *msg = rb->p + rb->off + SRDI_WIRE_FRAME;
    *len = flen;
    rb->off += SRDI_WIRE_FRAME + flen;
    return 1;
}

/* Room for one read: the frame under way whole, RS_FILL_MIN at least. */
static bool rs_room(srdi_rbuf *rb)
{
    size_t have = rb->len - rb->off;
    size_t need = RS_FILL_MIN;
    if (have >= SRDI_WIRE_FRAME) {
        size_t f = SRDI_WIRE_FRAME + srdi_wire_frame_get(rb->p + rb->off);
        need = f > need ? f : need;
    }
    if (rb->off > 0) {
        memmove(rb->p, rb->p + rb->off, have);
        rb->off = 0;
        rb->len = have;
    }
    if (rb->cap - rb->len >= need / 2 && rb->cap >= need)
        return true;
    size_t cap = rb->cap ? rb->cap : RS_FILL_MIN;
    while (cap < rb->len + need / 2 || cap < need)
        cap *= 2;
    uint8_t *p = realloc(rb->p, cap);
    if (!p)
        return false;
    rb->p = p;
    rb->cap = cap;
    return true;
}

ssize_t srdi_rbuf_fill(srdi_rbuf *rb, int fd)
{
    if (!rs_room(rb)) {
        errno = ENOMEM;
        return -1;
    }
    ssize_t n;
    do
        n = recv(fd, rb->p + rb->len, rb->cap - rb->len, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        rb->len += (size_t)n;
    return n;
}

bool srdi_reqsock_wait(int fd, int timeout_ms)
{
    return rs_poll(fd, POLLIN, timeout_ms < 0 ? -1
                                              : rs_now_ms() + timeout_ms);
}

srd_err srdi_reqsock_recv(int fd, srdi_rbuf *rb, size_t max, int timeout_ms,
                          const uint8_t **msg, size_t *len)
{
    int64_t deadline = timeout_ms < 0 ? -1 : rs_now_ms() + timeout_ms;
    for (;;) {
        int r = srdi_rbuf_next(rb, max, msg, len);
        if (r != 0)
            return r > 0 ? SRD_OK : SRD_ETOOBIG;
        ssize_t n = srdi_rbuf_fill(rb, fd);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return n < 0 && errno == ENOMEM ? SRD_ENOMEM : SRD_EUNREACHABLE;
        if (n < 0 && !rs_poll(fd, POLLIN, deadline))
            return SRD_ETIMEDOUT;
    }
}

void srdi_rbuf_free(srdi_rbuf *rb)
{
    free(rb->p);
    memset(rb, 0, sizeof *rb);
}

bool srdi_reqsock_peer_uid(int fd, uint64_t *uid)
{
    struct ucred uc;
    socklen_t ul = sizeof uc;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
        ss.ss_family != AF_UNIX ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) != 0)
        return false;
    *uid = uc.uid;
    return true;
}
