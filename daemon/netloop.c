/* SPDX-License-Identifier: MIT */
/*
 * netloop.c -- the epoll loop of srdd's request socket (see netloop.h).
 *
 * One thread owns the epoll set, the listener and each connection's
 * receive side. A pass is: wait for events; accept; read every readable
 * connection (at most NL_READ_BUDGET bytes each, so one busy peer cannot
 * starve the rest: epoll is level-triggered and brings it back) and hand
 * each complete frame over; on_gather, which may have the loop wait a
 * little for more requests to join the pass (gather.h; the waits read
 * and hand over frames the same way); on_pass; then write each
 * connection's queued replies with one send. A frame larger than
 * NL_SMALL is read straight into its message, so a big request is
 * copied once.
 *
 * Sending side, under the connection's mutex (replies may come from
 * other threads: the compactor's): the backlog of unsent bytes, whether
 * EPOLLOUT is wanted, since when the backlog made no progress. While a
 * backlog waits the connection is not read (its peer must read first).
 * A connection is closed by the loop only; others mark it broken and
 * shut its socket down, which the loop sees as a hang-up.
 */
#include "srd_features.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "discovery.h"
#include "log.h"
#include "netloop.h"
#include "stats.h"
#include "reqsock.h"
#include "spin.h"
#include "wire.h"

#define NL_EVENTS 64
#define NL_TICK_MS 250
#define NL_READ_BUDGET ((size_t)4 << 20)
#define NL_SMALL ((size_t)64 << 10)   /* frames read through the buffer */
#define NL_IN_MIN ((size_t)64 << 10)  /* receive buffer, at least */

/* epoll tags for the two descriptors that are not connections. */
#define NL_TAG_LISTEN ((void *)1)
#define NL_TAG_WAKE ((void *)2)

struct nconn {
    netloop *nl;
    int fd;
    uint32_t id;
    bool cred;
    uint32_t uid;
    int32_t pid;
    _Atomic int refs;
    pthread_mutex_t mu;     /* the sending side below */
    uint8_t *out;
    size_t out_off, out_len, out_cap;
    uint64_t stall_ms;      /* backlog waiting since (0: none) */
    bool want_out;          /* EPOLLOUT registered (receive paused) */
    bool broken;            /* drop it: write failed or backlog too long */
    bool closed;
    /* Loop thread only. */
    bool dirty;             /* replies queued in this pass */
    bool eof;               /* the peer closed, or a read failed */
    bool bye;               /* close once the replies are out */
    uint64_t mark;          /* nconn_mark's stamp */
    uint8_t *in;
    size_t in_len, in_cap;
    nng_msg *big;           /* a large frame being read into place */
    size_t big_got;
    struct nconn *prev, *next, *dnext;
};

struct netloop {
    netloop_conf c;
    int ep, lfd, wfd;
    bool unix_sock;
    char path[sizeof ((struct sockaddr_un *)0)->sun_path];
    pthread_t thread;
    _Atomic bool stop_listen, quit;
    _Atomic uint64_t n_conns;
    _Atomic uint32_t next_id;
    unsigned drain_ms;
    bool listening;         /* lfd in the epoll set (loop thread) */
    uint64_t accept_paused; /* out of descriptors: retry from then */
    nconn *conns;           /* every open connection (loop thread) */
    nconn *dirty;           /* those with replies queued this pass */
    srdi_spin spin;         /* nl_wait's spin (loop thread) */
};

/* The loop whose thread this is (NULL on every other thread). */
static _Thread_local netloop *nl_self;

static void nl_wake(netloop *nl)
{
    uint64_t one = 1;
    ssize_t w = write(nl->wfd, &one, sizeof one);
    (void)w;
}

/* ======================================================================== */
/* Listening                                                                */
/* ======================================================================== */

/* The socket file gets mode before it exists (fchmod of an unbound Unix
 * socket sets the mode bind gives its file on Linux), and again after. */
static int nl_listen_unix(netloop *nl, const char *path, char *why)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path || !*path) {
        snprintf(why, 256, "socket path too long or empty: %s", path);
        return -1;
    }
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    snprintf(nl->path, sizeof nl->path, "%s", path);
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
        unlink(path); /* left by a killed srdd: we hold the writer lock */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || fchmod(fd, nl->c.socket_mode) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        chmod(path, nl->c.socket_mode) != 0 || listen(fd, 1024) != 0) {
        snprintf(why, 256, "cannot listen on %s: %s", nl->c.url,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    nl->unix_sock = true;
    return fd;
}

/* tcp://host:port; host "*" or empty: every address. */
static int nl_listen_tcp(netloop *nl, const char *hp, char *why)
{
    struct addrinfo *ai = NULL;
    int e = srdi_reqsock_tcp_addr(hp, true, &ai);
    if (e != 0) {
        snprintf(why, 256, "cannot listen on %s (expected tcp://HOST:PORT): "
                 "%s", nl->c.url, gai_strerror(e));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    int on = 1;
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        snprintf(why, 256, "cannot listen on %s: %s", nl->c.url,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static int nl_listen(netloop *nl, char *why)
{
    const char *path = discovery_ipc_path(nl->c.url);
    if (path)
        return nl_listen_unix(nl, path, why);
    if (strncmp(nl->c.url, "tcp://", 6) == 0)
        return nl_listen_tcp(nl, nl->c.url + 6, why);
    snprintf(why, 256, "unsupported request address %s (expected "
             "unix:///PATH or tcp://HOST:PORT)", nl->c.url);
    return -1;
}

/* ======================================================================== */
/* Connections                                                              */
/* ======================================================================== */

void nconn_ref(nconn *c)
{
    atomic_fetch_add(&c->refs, 1);
}

void nconn_unref(nconn *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    nng_msg_free(c->big);
    free(c->in);
    free(c->out);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

uint32_t nconn_id(const nconn *c)
{
    return c->id;
}

bool nconn_mark(nconn *c, uint64_t mark)
{
    if (c->mark == mark)
        return false;
    c->mark = mark;
    return true;
}

bool nconn_peer(const nconn *c, uint32_t *uid, int32_t *pid)
{
    *uid = c->uid;
    *pid = c->pid;
    return c->cred;
}

/* Caller holds c->mu: register what the loop should wait for. */
static void nc_interest(nconn *c, bool want_out)
{
    if (c->want_out == want_out || c->closed)
        return;
    struct epoll_event ev = {.events = want_out ? EPOLLOUT : EPOLLIN,
                             .data.ptr = c};
    epoll_ctl(c->nl->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want_out;
}

/* Caller holds c->mu: mark c for dropping; the loop sees the hang-up. */
static void nc_break(nconn *c, const char *what)
{
    if (c->broken || c->closed)
        return;
    c->broken = true;
    log_warn("peer pid %ld %s; connection closed", (long)c->pid, what);
    shutdown(c->fd, SHUT_RDWR);
}

/* Caller holds c->mu: write what the backlog holds, without blocking. */
static void nc_flush(nconn *c)
{
    while (!c->closed && !c->broken && c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            c->stall_ms = stats_now_ms();
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            c->broken = true; /* the peer is gone: the loop closes it */
            shutdown(c->fd, SHUT_RDWR);
        }
    }
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
        c->stall_ms = 0;
    }
    nc_interest(c, c->out_len > 0 && !c->broken);
}

/* Caller holds c->mu: append a framed copy of m to the backlog. */
static bool nc_append(nconn *c, nng_msg *m)
{
    size_t len = nng_msg_len(m);
    size_t backlog = c->out_len - c->out_off;
    size_t max = NETLOOP_BACKLOG_MIN > 2 * c->nl->c.max_frame
                     ? NETLOOP_BACKLOG_MIN
                     : 2 * c->nl->c.max_frame;
    if (backlog + len + SRDI_WIRE_FRAME > max) {
        nc_break(c, "leaves too many replies unread (backlog bound)");
        return false;
    }
    if (c->out_off > 0 && c->out_len + len + SRDI_WIRE_FRAME > c->out_cap) {
        memmove(c->out, c->out + c->out_off, backlog);
        c->out_len = backlog;
        c->out_off = 0;
    }
    size_t need = c->out_len + len + SRDI_WIRE_FRAME;
    if (need > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < need)
            cap *= 2;
        uint8_t *p = realloc(c->out, cap);
        if (!p) {
            log_error("no memory for a reply; the request goes unanswered");
            return false;
        }
        c->out = p;
        c->out_cap = cap;
    }
    if (c->out_len == 0)
        c->stall_ms = stats_now_ms();
    srdi_wire_frame_put(c->out + c->out_len, (uint32_t)len);
    memcpy(c->out + c->out_len + SRDI_WIRE_FRAME, nng_msg_body(m), len);
    c->out_len += len + SRDI_WIRE_FRAME;
    return true;
}

void nconn_send(nconn *c, nng_msg *m)
{
    if (!m)
        return;
    netloop *nl = c->nl;
    bool loop = nl_self == nl;
    pthread_mutex_lock(&c->mu);
    bool ok = !c->closed && !c->broken && nc_append(c, m);
    if (ok && !loop)
        nc_flush(c);
    pthread_mutex_unlock(&c->mu);
    nng_msg_free(m);
    if (ok && loop && !c->dirty) {
        c->dirty = true;
        c->dnext = nl->dirty;
        nl->dirty = c;
    }
}

static void nl_accept_one(netloop *nl, int fd)
{
    nconn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->nl = nl;
    c->fd = fd;
    c->pid = -1;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->mu, NULL);
    do
        c->id = atomic_fetch_add(&nl->next_id, 1);
    while (c->id == 0);
    struct ucred uc;
    socklen_t ul = sizeof uc;
    if (nl->unix_sock &&
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0) {
        c->cred = true;
        c->uid = uc.uid;
        c->pid = uc.pid;
    } else {
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(nl->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        nconn_unref(c);
        return;
    }
    c->next = nl->conns;
    if (nl->conns)
        nl->conns->prev = c;
    nl->conns = c;
    atomic_fetch_add(&nl->n_conns, 1);
}

static void nl_accept(netloop *nl)
{
    for (;;) {
        int fd = accept4(nl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            nl_accept_one(nl, fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
            errno == ENOBUFS) {
            log_warn("cannot accept connections: %s (retrying)",
                     strerror(errno));
            epoll_ctl(nl->ep, EPOLL_CTL_DEL, nl->lfd, NULL);
            nl->listening = false;
            nl->accept_paused = stats_now_ms() + 100;
        }
        return;
    }
}

static void nl_close_conn(netloop *nl, nconn *c)
{
    pthread_mutex_lock(&c->mu);
    epoll_ctl(nl->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->closed = true;
    pthread_mutex_unlock(&c->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        nl->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    atomic_fetch_sub(&nl->n_conns, 1);
    if (nl->c.on_close)
        nl->c.on_close(nl->c.arg, c);
    nconn_unref(c);
}

/* ======================================================================== */
/* Receiving                                                                */
/* ======================================================================== */

static void nl_frame(netloop *nl, nconn *c, nng_msg *m)
{
    if (atomic_load(&nl->quit)) {
        nng_msg_free(m);
        return;
    }
    nl->c.on_frame(nl->c.arg, c, m);
}

/* Hand over the complete frames in c->in; a large incomplete one moves
 * into its own message (c->big). */
static void nc_parse(netloop *nl, nconn *c)
{
    size_t off = 0;
    while (!c->bye && c->in_len - off >= SRDI_WIRE_FRAME) {
        uint32_t flen;
        int r = srdi_wire_frame_next(c->in + off, c->in_len - off,
                                     nl->c.max_frame, &flen);
        size_t have = c->in_len - off - SRDI_WIRE_FRAME;
        if (r < 0) {
            nl->c.on_oversize(nl->c.arg, c, flen);
            c->bye = true;
            break;
        }
        if (r == 0 && flen <= NL_SMALL)
            break;
        nng_msg *m = NULL;
        if (nng_msg_alloc(&m, flen) != 0) {
            log_error("no memory for a request of %u bytes; connection "
                      "closed", flen);
            c->eof = true;
            break;
        }
        size_t take = have < flen ? have : flen;
        memcpy(nng_msg_body(m), c->in + off + SRDI_WIRE_FRAME, take);
        off += SRDI_WIRE_FRAME + take;
        if (take < flen) {
            c->big = m;
            c->big_got = take;
            break;
        }
        nl_frame(nl, c, m);
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
}

/* One read into the buffer or the large frame; bytes read, 0 when no
 * more now (or the connection ended: c->eof). *drained: the read took
 * less than it had room for, so the socket is most likely empty (epoll,
 * level-triggered, says so again if not): no read just to see EAGAIN. */
static size_t nc_read_some(netloop *nl, nconn *c, bool *drained)
{
    uint8_t *dst;
    size_t room;
    if (c->big) {
        dst = (uint8_t *)nng_msg_body(c->big) + c->big_got;
        room = nng_msg_len(c->big) - c->big_got;
    } else {
        if (c->in_cap - c->in_len < NL_IN_MIN / 2) {
            size_t cap = c->in_cap ? 2 * c->in_cap : NL_IN_MIN;
            uint8_t *p = realloc(c->in, cap);
            if (!p) {
                c->eof = true;
                return 0;
            }
            c->in = p;
            c->in_cap = cap;
        }
        dst = c->in + c->in_len;
        room = c->in_cap - c->in_len;
    }
    ssize_t n;
    do
        n = read(c->fd, dst, room);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            c->eof = true;
        return 0;
    }
    *drained = (size_t)n < room;
    if (c->big) {
        c->big_got += (size_t)n;
        if (c->big_got == nng_msg_len(c->big)) {
            nng_msg *m = c->big;
            c->big = NULL;
            nl_frame(nl, c, m);
            nc_parse(nl, c);
        }
    } else {
        c->in_len += (size_t)n;
        nc_parse(nl, c);
    }
    return (size_t)n;
}

static void nc_read(netloop *nl, nconn *c)
{
    size_t budget = NL_READ_BUDGET;
    bool drained = false;
    while (!c->eof && !c->bye && budget > 0 && !drained) {
        size_t n = nc_read_some(nl, c, &drained);
        if (n == 0)
            break;
        budget = n < budget ? budget - n : 0;
    }
}

/* ======================================================================== */
/* The loop                                                                 */
/* ======================================================================== */

static void nl_event(netloop *nl, const struct epoll_event *ev)
{
    if (ev->data.ptr == NL_TAG_WAKE) {
        uint64_t v;
        ssize_t r = read(nl->wfd, &v, sizeof v);
        (void)r;
        return;
    }
    if (ev->data.ptr == NL_TAG_LISTEN) {
        if (!atomic_load(&nl->stop_listen))
            nl_accept(nl);
        return;
    }
    nconn *c = ev->data.ptr;
    if (ev->events & EPOLLOUT) {
        pthread_mutex_lock(&c->mu);
        nc_flush(c);
        pthread_mutex_unlock(&c->mu);
    }
    if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        nc_read(nl, c);
    if (ev->events & (EPOLLHUP | EPOLLERR)) {
        /* Gone both ways: nothing queued can reach it any more (and
         * epoll would report the hang-up on every pass). */
        pthread_mutex_lock(&c->mu);
        c->broken = true;
        pthread_mutex_unlock(&c->mu);
    }
}

/* After a pass: send what was queued, close what ended. */
static void nl_settle(netloop *nl)
{
    for (nconn *c = nl->dirty, *next; c; c = next) {
        next = c->dnext;
        c->dirty = false;
        c->dnext = NULL;
        pthread_mutex_lock(&c->mu);
        nc_flush(c);
        pthread_mutex_unlock(&c->mu);
    }
    nl->dirty = NULL;
    for (nconn *c = nl->conns, *next; c; c = next) {
        next = c->next;
        pthread_mutex_lock(&c->mu);
        bool done = c->broken || ((c->eof || c->bye) && c->out_len == 0);
        pthread_mutex_unlock(&c->mu);
        if (done)
            nl_close_conn(nl, c);
    }
}

/* Every NL_TICK_MS: drop peers that read no replies; accept again. */
static void nl_tick(netloop *nl, uint64_t now)
{
    for (nconn *c = nl->conns; c; c = c->next) {
        pthread_mutex_lock(&c->mu);
        if (c->out_len > 0 && c->stall_ms &&
            now - c->stall_ms >= NETLOOP_STALL_MS)
            nc_break(c, "left a reply unread for 2 s (NETLOOP_STALL_MS)");
        pthread_mutex_unlock(&c->mu);
    }
    if (atomic_load(&nl->stop_listen) && nl->lfd >= 0) {
        epoll_ctl(nl->ep, EPOLL_CTL_DEL, nl->lfd, NULL);
        close(nl->lfd);
        nl->lfd = -1;
        nl->listening = false;
    }
    if (nl->lfd >= 0 && !nl->listening && now >= nl->accept_paused) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NL_TAG_LISTEN};
        nl->listening = epoll_ctl(nl->ep, EPOLL_CTL_ADD, nl->lfd, &ev) == 0;
    }
}

/* Whether replies still wait on some connection. */
static bool nl_backlog(netloop *nl)
{
    bool any = false;
    for (nconn *c = nl->conns; c && !any; c = c->next) {
        pthread_mutex_lock(&c->mu);
        any = c->out_len > 0 && !c->broken;
        pthread_mutex_unlock(&c->mu);
    }
    return any;
}

/* Wait for the next pass's events. After a pass that had work and whose
 * on_pass allows it (worked), look with epoll_wait(0) for up to the spin
 * bound first: a client's next request often follows its reply within
 * microseconds, and blocking lets
 * this vCPU halt, which on a VM costs tens of microseconds to wake
 * (PROTOCOL.md, "Spinning before blocking"). An idle loop never spins (the
 * tick's passes have no work), and spins that keep finding nothing back
 * off (spin.h): a client that shares this core cannot send while we spin,
 * so such spins miss and stop. */
static int nl_wait(netloop *nl, struct epoll_event *evs, bool worked)
{
    if (worked && srdi_spin_want(&nl->spin) && srdi_spin_core_free()) {
        uint64_t end = srdi_spin_now_ns() + nl->spin.bound_us * 1000ull;
        int n;
        while ((n = epoll_wait(nl->ep, evs, NL_EVENTS, 0)) == 0 &&
               srdi_spin_now_ns() < end)
            srdi_spin_relax();
        srdi_spin_done(&nl->spin, n != 0);
        if (n != 0)
            return n;
    }
    return epoll_wait(nl->ep, evs, NL_EVENTS, NL_TICK_MS);
}

/* Commit gather (on_gather, gather.h): wait, bounded by what on_gather
 * allows, for more requests to join this pass's group. */
static void nl_gather(netloop *nl)
{
    struct epoll_event evs[NL_EVENTS];
    uint64_t ns;
    int n = -1;
    while (nl->c.on_gather && (ns = nl->c.on_gather(nl->c.arg, n)) > 0) {
        struct timespec ts = {(time_t)(ns / 1000000000u),
                              (long)(ns % 1000000000u)};
        n = epoll_pwait2(nl->ep, evs, NL_EVENTS, &ts, NULL);
        if (n < 0 && errno == ENOSYS) {
            nl->c.on_gather = NULL; /* a kernel before 5.11: no gather */
            log_info("request loop: no epoll_pwait2 (Linux < 5.11): durable "
                     "groups are committed without waiting for more "
                     "writers");
            break;
        }
        if (n < 0)
            n = 0; /* EINTR: as a timeout, on_gather decides */
        for (int i = 0; i < n; i++)
            nl_event(nl, &evs[i]);
    }
}

static void *nl_thread(void *arg)
{
    netloop *nl = arg;
    nl_self = nl;
    struct epoll_event evs[NL_EVENTS];
    uint64_t last_tick = stats_now_ms(), quit_at = 0;
    int n = 0;
    bool spin = false;
    for (;;) {
        n = nl_wait(nl, evs, n > 0 && spin);
        for (int i = 0; i < n; i++)
            nl_event(nl, &evs[i]);
        nl_gather(nl);
        spin = nl->c.on_pass(nl->c.arg);
        nl_settle(nl);
        uint64_t now = stats_now_ms();
        if (now - last_tick >= NL_TICK_MS || atomic_load(&nl->stop_listen)) {
            nl_tick(nl, now);
            last_tick = now;
        }
        if (atomic_load(&nl->quit)) {
            if (!quit_at)
                quit_at = now;
            if (!nl_backlog(nl) || now - quit_at >= nl->drain_ms)
                break;
        }
    }
    return NULL;
}

static void nl_free(netloop *nl)
{
    while (nl->conns)
        nl_close_conn(nl, nl->conns);
    if (nl->lfd >= 0)
        close(nl->lfd);
    if (nl->unix_sock) {
        struct stat sb;
        if (lstat(nl->path, &sb) == 0 && S_ISSOCK(sb.st_mode))
            unlink(nl->path);
    }
    if (nl->wfd >= 0)
        close(nl->wfd);
    if (nl->ep >= 0)
        close(nl->ep);
    free(nl);
}

int netloop_start(const netloop_conf *conf, netloop **out, char *why)
{
    netloop *nl = calloc(1, sizeof *nl);
    if (!nl) {
        snprintf(why, 256, "out of memory");
        return -1;
    }
    nl->c = *conf;
    srdi_spin_init(&nl->spin, conf->spin_us);
    nl->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    nl->ep = epoll_create1(EPOLL_CLOEXEC);
    atomic_init(&nl->next_id, 1);
    nl->lfd = nl->wfd >= 0 && nl->ep >= 0 ? nl_listen(nl, why) : -1;
    if (nl->wfd < 0 || nl->ep < 0)
        snprintf(why, 256, "cannot set up epoll: %s", strerror(errno));
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NL_TAG_LISTEN};
    struct epoll_event wev = {.events = EPOLLIN, .data.ptr = NL_TAG_WAKE};
    int rv = nl->lfd < 0 ? -1
             : epoll_ctl(nl->ep, EPOLL_CTL_ADD, nl->lfd, &lev) != 0 ||
                     epoll_ctl(nl->ep, EPOLL_CTL_ADD, nl->wfd, &wev) != 0
                 ? -1
                 : 0;
    if (rv != 0 && nl->lfd >= 0)
        snprintf(why, 256, "cannot watch the request socket: %s",
                 strerror(errno));
    nl->listening = rv == 0;
    *out = nl; /* before the thread starts: its callbacks may use it */
    if (rv == 0 && (errno = pthread_create(&nl->thread, NULL, nl_thread,
                                           nl)) != 0) {
        snprintf(why, 256, "cannot start the request loop: %s",
                 strerror(errno));
        rv = -1;
    }
    if (rv != 0) {
        *out = NULL;
        nl_free(nl);
        return -1;
    }
    return 0;
}

void netloop_stop_listening(netloop *nl)
{
    atomic_store(&nl->stop_listen, true);
    nl_wake(nl);
}

void netloop_close(netloop *nl, unsigned timeout_ms)
{
    if (!nl)
        return;
    nl->drain_ms = timeout_ms;
    atomic_store(&nl->quit, true);
    nl_wake(nl);
    pthread_join(nl->thread, NULL);
    log_info("request loop: spun %" PRIu64 " times, %" PRIu64
             " of them saw a request (--spin-us %u)",
             nl->spin.spins, nl->spin.hits, nl->spin.bound_us);
    nl_free(nl);
}

uint64_t netloop_conns(netloop *nl)
{
    return atomic_load(&nl->n_conns);
}
