/* SPDX-License-Identifier: MIT */
/*
 * handover.c -- the hand-over listener and request (see handover.h). One
 * SOCK_SEQPACKET message each way: the request "SRDH1", the answer a
 * 32-bit srd_err. The listener thread sleeps in poll (the socket and a
 * wake pipe) and so costs nothing until asked. A fork() child closes its
 * copies of every listening socket at once (pthread_atfork): otherwise the
 * child would keep the name bound after the parent closed, and a request
 * would wait on a socket nobody accepts on.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "errno_map.h"
#include "handover.h"

#define HO_REQUEST "SRDH1"
#define HO_READ_MS 1000 /* a connected peer has this long to ask */
#define HO_BACKLOG 16
#define HO_PROBE_MS 1000 /* longest wait to learn whether a hand-over runs */

struct srdi_handover {
    dev_t dev;        /* the lock file's identity */
    ino_t ino;
    int lfd;          /* listening socket; -1 once closed */
    int wake[2];      /* stop: a byte on wake[1] */
    pid_t pid;        /* the process that listens */
    srdi_handover_fn fn;
    void *ctx;
    pthread_t thread;
    srdi_handover *next; /* ho_all */
};

/* Every listener of this process, for the fork() child handler. */
static pthread_mutex_t ho_mu = PTHREAD_MUTEX_INITIALIZER;
static srdi_handover *ho_all;
static pthread_once_t ho_once = PTHREAD_ONCE_INIT;

static void ho_prepare(void) { pthread_mutex_lock(&ho_mu); }
static void ho_parent(void) { pthread_mutex_unlock(&ho_mu); }

static void ho_child(void)
{
    for (srdi_handover *h = ho_all; h; h = h->next)
        if (h->lfd >= 0) {
            close(h->lfd);
            h->lfd = -1;
        }
    pthread_mutex_unlock(&ho_mu);
}

static void ho_init(void) { pthread_atfork(ho_prepare, ho_parent, ho_child); }

void srdi_handover_atfork_init(void) { pthread_once(&ho_once, ho_init); }

static socklen_t ho_name(dev_t dev, ino_t ino, struct sockaddr_un *a)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1,
                     "srd-handover/%llx/%llx", (unsigned long long)dev,
                     (unsigned long long)ino);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                       (size_t)n);
}

/* The peer of fd runs as root or as this user. */
static bool ho_peer_ok(int fd)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
        return false;
    return cr.uid == 0 || cr.uid == getuid();
}

/* Wait up to ms for fd to be readable; false on timeout or error. */
static bool ho_wait_in(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    int r;
    while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR)
        ;
    return r == 1;
}

/* One connection: check, read the request, run fn, answer. Returns fn's
 * result, or SRD_EINVAL when the peer was refused. */
static srd_err ho_serve(srdi_handover *h, int c)
{
    char req[16];
    if (!ho_peer_ok(c) || !ho_wait_in(c, HO_READ_MS))
        return SRD_EINVAL;
    ssize_t n = recv(c, req, sizeof req, 0);
    if (n != (ssize_t)strlen(HO_REQUEST) ||
        memcmp(req, HO_REQUEST, (size_t)n) != 0)
        return SRD_EINVAL;
    char ans[sizeof(int32_t) + SRDI_HANDOVER_WHY] = {0};
    srd_err rc = h->fn(h->ctx, ans + sizeof(int32_t), SRDI_HANDOVER_WHY);
    int32_t code = (int32_t)rc;
    memcpy(ans, &code, sizeof code);
    ans[sizeof ans - 1] = 0;
    size_t len = sizeof code + strlen(ans + sizeof code);
    ssize_t w = send(c, ans, len, MSG_NOSIGNAL);
    (void)w; /* an asker that gave up: the hand-over stands */
    return rc;
}

static void ho_close_listener(srdi_handover *h)
{
    pthread_mutex_lock(&ho_mu);
    if (h->lfd >= 0)
        close(h->lfd);
    h->lfd = -1;
    pthread_mutex_unlock(&ho_mu);
}

static void *ho_main(void *arg)
{
    srdi_handover *h = arg;
    for (;;) {
        struct pollfd p[2] = {{h->lfd, POLLIN, 0}, {h->wake[0], POLLIN, 0}};
        int r = poll(p, 2, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || p[1].revents)
            break;
        int c = accept4(h->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        srd_err rc = ho_serve(h, c);
        close(c);
        if (rc == SRD_OK) {
            /* The role is srdd's now: later askers find it instead. */
            ho_close_listener(h);
            break;
        }
    }
    return NULL;
}

static void ho_free(srdi_handover *h)
{
    pthread_mutex_lock(&ho_mu);
    for (srdi_handover **pp = &ho_all; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    if (h->lfd >= 0)
        close(h->lfd);
    pthread_mutex_unlock(&ho_mu);
    close(h->wake[0]);
    close(h->wake[1]);
    free(h);
}

srd_err srdi_handover_listen(dev_t dev, ino_t ino, srdi_handover_fn fn,
                             void *ctx, srdi_handover **out)
{
    srdi_handover_atfork_init();
    *out = NULL;
    srdi_handover *h = calloc(1, sizeof *h);
    if (!h)
        return SRD_ENOMEM;
    h->fn = fn;
    h->ctx = ctx;
    h->pid = getpid();
    h->dev = dev;
    h->ino = ino;
    if (pipe2(h->wake, O_CLOEXEC) != 0) {
        free(h);
        return srdi_errno(errno);
    }
    struct sockaddr_un a;
    socklen_t len = ho_name(dev, ino, &a);
    h->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    srd_err rc = h->lfd < 0 ? srdi_errno(errno) : SRD_OK;
    if (rc == SRD_OK && bind(h->lfd, (struct sockaddr *)&a, len) != 0)
        rc = errno == EADDRINUSE ? SRD_EEXIST : srdi_errno(errno);
    if (rc == SRD_OK && listen(h->lfd, HO_BACKLOG) != 0)
        rc = srdi_errno(errno);
    pthread_mutex_lock(&ho_mu);
    h->next = ho_all;
    ho_all = h;
    pthread_mutex_unlock(&ho_mu);
    if (rc == SRD_OK && pthread_create(&h->thread, NULL, ho_main, h) != 0)
        rc = SRD_ENOMEM;
    if (rc != SRD_OK) {
        ho_free(h);
        return rc;
    }
    *out = h;
    return SRD_OK;
}

void srdi_handover_stop(srdi_handover *h)
{
    if (!h)
        return;
    if (h->pid == getpid()) {
        ssize_t w = write(h->wake[1], "x", 1);
        (void)w;
        pthread_join(h->thread, NULL);
    }
    ho_free(h);
}

/* A listener of this process for (dev, ino). */
static bool ho_mine(dev_t dev, ino_t ino)
{
    bool mine = false;
    pid_t me = getpid();
    pthread_mutex_lock(&ho_mu);
    for (srdi_handover *h = ho_all; h && !mine; h = h->next)
        mine = h->pid == me && h->dev == dev && h->ino == ino && h->lfd >= 0;
    pthread_mutex_unlock(&ho_mu);
    return mine;
}

/* A connection to the listener at a, or -1. A Unix connect() to a
 * listener whose backlog is full waits for room: SO_SNDTIMEO bounds that
 * wait to ms (it then fails with EAGAIN, as a full backlog of a
 * listener busy handing over looks). */
static int ho_connect(const struct sockaddr_un *a, socklen_t len, int ms)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        connect(fd, (const struct sockaddr *)a, len) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

bool srdi_handover_in_progress(dev_t dev, ino_t ino)
{
    char want[64];
    snprintf(want, sizeof want, "%llx:%llx", (unsigned long long)dev,
             (unsigned long long)ino);
    const char *taker = getenv(SRDI_HANDOVER_TAKER);
    if ((taker && strcmp(taker, want) == 0) || ho_mine(dev, ino))
        return false;
    struct sockaddr_un a;
    socklen_t len = ho_name(dev, ino, &a);
    /* a listener that holds no lock is handing over: it answers nothing
     * to this connection, which it drops when it is done */
    int fd = ho_connect(&a, len, HO_PROBE_MS);
    bool live = fd >= 0 || errno == EAGAIN;
    if (fd >= 0)
        close(fd);
    return live;
}

srd_err srdi_handover_ask(dev_t dev, ino_t ino, unsigned timeout_ms,
                          srd_err *answer, char *why, size_t cap)
{
    why[0] = 0;
    struct sockaddr_un a;
    socklen_t len = ho_name(dev, ino, &a);
    int ms = timeout_ms > INT32_MAX ? INT32_MAX : (int)timeout_ms;
    int fd = ho_connect(&a, len, ms);
    if (fd < 0)
        return errno == EAGAIN ? SRD_ECANCELED : SRD_EUNREACHABLE;
    srd_err rc = SRD_OK;
    if (!ho_peer_ok(fd))
        rc = SRD_EPERM;
    else if (send(fd, HO_REQUEST, strlen(HO_REQUEST), MSG_NOSIGNAL) < 0)
        rc = SRD_ECANCELED;
    else if (!ho_wait_in(fd, ms))
        rc = SRD_ETIMEDOUT;
    if (rc == SRD_OK) {
        char ans[sizeof(int32_t) + SRDI_HANDOVER_WHY];
        ssize_t n = recv(fd, ans, sizeof ans, 0);
        if (n >= (ssize_t)sizeof(int32_t)) {
            int32_t code;
            memcpy(&code, ans, sizeof code);
            *answer = (srd_err)code;
            size_t text = (size_t)n - sizeof code;
            text = text < cap ? text : cap - 1;
            memcpy(why, ans + sizeof code, text);
            why[text] = 0;
        } else {
            rc = SRD_ECANCELED;
        }
    }
    close(fd);
    return rc;
}
