/* SPDX-License-Identifier: MIT */
/*
 * client_req.c -- client mode's request connection to srdd (reqsock.h):
 * one stream connection per handle, one client_id, sequence numbers
 * increasing with every request (so a reply's seq names its request), at
 * most CL_LANES requests in flight.
 *
 * Sending: under send_mu (dial, sequence number, the whole frame), so
 * requests leave in the order their numbers say and srdd applies them in
 * that order (a later put never loses to an earlier one).
 *
 * Receiving, the read baton (c->reading, under c->mu): a thread waiting
 * for something -- its reply, a free slot, the end of pending async
 * writes -- reads the connection itself whenever no other thread does,
 * and hands every reply it reads to its call. So a blocking put is one
 * send and one receive on the caller's thread. The reader thread (started
 * with the first async write) takes the baton only while async writes are
 * pending and nobody else reads. Callbacks of async writes run after the
 * baton is given back, never under a lock of ours.
 *
 * A failed connection (end of stream, error, a reply that does not
 * decode) fails every call in flight with SRD_EUNREACHABLE and is dialled
 * again by the next request, which bumps the epoch first so that a
 * handshake precedes any use of what comes over it (client.c, invariant
 * 4). The descriptor is replaced only by a thread holding send_mu and
 * the baton, so no reader ever reads a reused descriptor.
 */
#include "srd_features.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>

#include "client_impl.h"
#include "store_impl.h"

/* Replies may be as large as a request (entries of a big batch). */
#define CL_REPLY_MAX ((size_t)SRDI_WIRE_MAX_DEFAULT * 2)

/* The coarse clock (a scheduler tick, a few ms): deadlines here are of
 * SRD_TIMEOUT_MS and read slices, and a blocking call reads the clock
 * about five times; a fine read measured 0.1-0.5 us on the project's
 * machine (a VM), a coarse one 39 ns. */
static int64_t cr_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait on cv until deadline (< 0: at most a read slice). */
static void cr_cond_wait(srdi_client *c, pthread_cond_t *cv, int64_t deadline)
{
    int64_t until = cr_now_ms() + CL_READ_SLICE_MS;
    if (deadline >= 0 && deadline < until)
        until = deadline;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = until - cr_now_ms();
    if (ms < 0)
        ms = 0;
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, &c->mu, &ts);
}

/* ======================================================================== */
/* Completing calls                                                         */
/* ======================================================================== */

/* Caller holds c->mu: take call (by seq) off the in-flight list. */
static cl_call *cr_unlink(srdi_client *c, uint64_t seq)
{
    for (cl_call **pp = &c->inflight; *pp; pp = &(*pp)->next) {
        if ((*pp)->seq == seq) {
            cl_call *call = *pp;
            *pp = call->next;
            call->next = NULL;
            return call;
        }
    }
    return NULL;
}

/* Caller holds c->mu; call is off the list and its slot is freed. A
 * blocking call is done at once; an async one joins *later, whose
 * callbacks run once the locks are given back (cr_run_later). */
static void cr_complete(srdi_client *c, cl_call *call, srd_err rc,
                        cl_call **later)
{
    c->n_inflight--;
    call->rc = rc;
    if (!call->fn) {
        call->done = true; /* the waiter may free call from now on */
    } else {
        call->next = *later;
        *later = call;
    }
    pthread_cond_broadcast(&c->cv);
}

/* Caller holds c->mu: the callbacks of later wait in c->later, for
 * send_mu's release or the end of a handshake. */
static void cr_defer(srdi_client *c, cl_call *later)
{
    while (later) {
        cl_call *next = later->next;
        later->next = c->later;
        c->later = later;
        later = next;
    }
}

/* This thread deferred callbacks while in a handshake (cr_run_later). */
static _Thread_local bool cr_held;

/* Read-your-writes for async writes too: a reply whose entries could not
 * be applied (client.c: a connection not checked yet, another generation)
 * is caught up by a handshake before its callback says the write is done,
 * as a blocking call does before it returns. */
static void cr_catch_up(srdi_client *c, const cl_call *later)
{
    for (const cl_call *call = later; call; call = call->next) {
        if (call->rc == SRD_OK && call->stale) {
            srdi_cl_catch_up(c);
            return;
        }
    }
}

/* Run the callbacks of later; kick: then send queued puts (never with
 * send_mu held), also after a blocking call freed its lane: puts queued
 * while blocking calls held every lane wait for one. A thread in a
 * handshake (waiting for its reply, it reads others') runs none: they
 * wait for the handshake's end (srdi_cl_run_held), when the entries of
 * their replies are applied or the file they name is loaded. */
static void cr_run_later(srdi_client *c, cl_call *later, bool kick)
{
    bool any = later != NULL;
    if (later && srdi_cl_in_hello()) {
        pthread_mutex_lock(&c->mu);
        cr_defer(c, later);
        pthread_mutex_unlock(&c->mu);
        cr_held = true;
        later = NULL;
    }
    cr_catch_up(c, later);
    if (kick && !any) {
        pthread_mutex_lock(&c->mu);
        any = c->q_head != NULL;
        pthread_mutex_unlock(&c->mu);
    }
    for (cl_call *call = later, *next; call; call = next) {
        next = call->next;
        srd_err rc = call->rc;
        call->fn(call->arg, rc);
        srdi_wire_response_free(&call->rs);
        free(call);
        pthread_mutex_lock(&c->mu);
        if (rc != SRD_OK && c->async_err == SRD_OK)
            c->async_err = rc;
        c->pending--;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    if (any && kick)
        srdi_cl_kick(c);
}

/* Caller holds c->mu: the connection fd failed; fail what is in flight
 * (their callbacks join *later) and wake any reader with a shutdown. */
static void cr_lost(srdi_client *c, int fd, cl_call **later)
{
    if (c->fd != fd || c->dead)
        return;
    c->dead = true;
    atomic_store(&c->pipes, 0);
    shutdown(fd, SHUT_RDWR);
    while (c->inflight) {
        cl_call *call = c->inflight;
        c->inflight = call->next;
        call->next = NULL;
        cr_complete(c, call, SRD_EUNREACHABLE, later);
    }
}

/* A reply for one of ours (baton held, c->mu not). */
static void cr_dispatch(srdi_client *c, int fd, const uint8_t *msg,
                        size_t len, cl_call **later)
{
    srdi_wire_response rs;
    char why[SRDI_WIRE_WHY];
    memset(&rs, 0, sizeof rs);
    srd_err rc = srdi_wire_response_decode(msg, len, 0, &rs, why);
    if (rc != SRD_OK) {
        srdi_wire_response_free(&rs);
        pthread_mutex_lock(&c->mu);
        cr_lost(c, fd, later); /* not srdd speaking: nothing is certain */
        pthread_mutex_unlock(&c->mu);
        return;
    }
    pthread_mutex_lock(&c->mu);
    cl_call *call = cr_unlink(c, rs.seq);
    pthread_mutex_unlock(&c->mu);
    if (!call) { /* the reply of a call that timed out */
        srdi_wire_response_free(&rs);
        return;
    }
    if (rs.error != SRD_OK) {
        rc = rs.error;
        if (c->log_errors)
            fprintf(stderr, "srd client: srdd refused a request: %s: %s\n",
                    srd_errname(rs.error), rs.message ? rs.message : "");
    } else if (rs.n_entries > 0) {
        srdi_cl_on_reply(c, &rs, &call->stale);
    }
    call->rs = rs;
    pthread_mutex_lock(&c->mu);
    cr_complete(c, call, rc, later);
    pthread_mutex_unlock(&c->mu);
}

/* Baton held: wait up to timeout_ms for replies on fd and dispatch all
 * that arrived. The wait is a poll for POLLIN, never a blocking recv: a
 * thread asleep in recv on a Unix stream socket is woken each time srdd
 * reads a request of ours (the kernel's write-space wake-up, which a
 * poll for POLLIN filters out), one wasted wake per durable put
 * (PERFORMANCE.md, "Stop 23"). */
static void cr_read(srdi_client *c, int fd, int timeout_ms, cl_call **later)
{
    if (timeout_ms > 0 && !srdi_reqsock_wait(fd, timeout_ms))
        return;
    ssize_t n = srdi_rbuf_fill(&c->rb, fd);
    bool failed = n == 0 || (n < 0 && errno != EAGAIN &&
                             errno != EWOULDBLOCK);
    const uint8_t *msg;
    size_t len;
    int r;
    while (!failed && (r = srdi_rbuf_next(&c->rb, CL_REPLY_MAX, &msg,
                                          &len)) != 0) {
        if (r < 0)
            failed = true;
        else
            cr_dispatch(c, fd, msg, len, later);
    }
    if (failed) {
        pthread_mutex_lock(&c->mu);
        cr_lost(c, fd, later);
        pthread_mutex_unlock(&c->mu);
    }
}

/* Baton held: look at fd (a peek, nothing taken) until something can be
 * read or bound_us passed. True when something arrived. A reply that
 * arrives just after the spin waits in the socket for the blocking read
 * that follows, so nothing is missed. */
static bool cr_spin(int fd, unsigned bound_us)
{
    uint64_t end = srdi_spin_now_ns() + bound_us * 1000ull;
    uint8_t b;
    for (;;) {
        ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
                       errno != EINTR))
            return true; /* data, end of stream or an error: cr_read */
        if (srdi_spin_now_ns() >= end)
            return false;
        srdi_spin_relax();
    }
}

/* Caller holds c->mu and found the baton free: read one slice (at most
 * until deadline), then give the baton back; spin first (a blocking
 * call's wait, when the policy says so: spin.h). Returns with c->mu held;
 * callbacks due were run meanwhile. */
static void cr_read_turn(srdi_client *c, int64_t deadline, bool spin)
{
    int fd = c->fd;
    c->reading = true;
    spin = spin && srdi_spin_want(&c->spin) && srdi_spin_core_free();
    unsigned bound_us = c->spin.bound_us;
    pthread_mutex_unlock(&c->mu);
    int64_t left = deadline < 0 ? -1 : deadline - cr_now_ms();
    int slice = CL_READ_SLICE_MS;
    if (left >= 0 && left < slice)
        slice = (int)(left > 0 ? left : 0);
    bound_us = srdi_spin_bound_within(bound_us, left); /* not past it */
    bool hit = spin && cr_spin(fd, bound_us);
    cl_call *later = NULL;
    cr_read(c, fd, hit ? 0 : slice, &later);
    pthread_mutex_lock(&c->mu);
    if (spin)
        srdi_spin_done(&c->spin, hit);
    c->reading = false;
    pthread_cond_broadcast(&c->cv);
    if (c->pending > 0)
        pthread_cond_signal(&c->rcv);
    pthread_mutex_unlock(&c->mu);
    cr_run_later(c, later, true);
    pthread_mutex_lock(&c->mu);
}

/* srdi_cl_wait; spin: a blocking call waits for its reply (cr_spin). */
static bool cr_wait(srdi_client *c, bool (*pred)(srdi_client *, void *),
                    void *arg, int64_t deadline, bool spin)
{
    while (!pred(c, arg)) {
        if (deadline >= 0 && cr_now_ms() >= deadline)
            return false;
        if (atomic_load(&c->stop) && !c->inflight)
            return false;
        if (!c->reading && c->fd >= 0 && !c->dead && c->inflight)
            cr_read_turn(c, deadline, spin);
        else
            cr_cond_wait(c, &c->cv, deadline);
    }
    return true;
}

/* Caller holds c->mu: wait until pred(c, arg) or deadline (< 0: none);
 * false on the deadline. Reads replies itself when nobody does. */
bool srdi_cl_wait(srdi_client *c, bool (*pred)(srdi_client *, void *),
                  void *arg, int64_t deadline)
{
    return cr_wait(c, pred, arg, deadline, false);
}

/* ======================================================================== */
/* The connection                                                           */
/* ======================================================================== */

/* Dial url and check who answers; the new descriptor or -1 (rc why). */
static int cr_dial(srdi_client *c, const char *url, srd_err *rc)
{
    int fd = srdi_reqsock_dial(url);
    if (fd < 0) {
        *rc = errno == ENOMEM ? SRD_ENOMEM : SRD_EUNREACHABLE;
        return -1;
    }
    uint64_t uid;
    if (srdi_reqsock_peer_uid(fd, &uid) &&
        !srdi_cl_peer_trusted(c, uid, url)) {
        close(fd);
        *rc = SRD_EPERM;
        return -1;
    }
    return fd;
}

/* Caller holds send_mu: install fd as the connection (the old one, if
 * any, is closed once no reader can be in it). */
static void cr_install(srdi_client *c, int fd)
{
    atomic_fetch_add(&c->req_epoch, 1); /* before anything arrives */
    atomic_fetch_add(&c->epoch, 1);
    pthread_mutex_lock(&c->mu);
    while (c->reading)
        pthread_cond_wait(&c->cv, &c->mu);
    int old = c->fd;
    c->fd = fd;
    c->dead = fd < 0;
    c->rb.off = c->rb.len = 0;
    atomic_store(&c->pipes, fd >= 0);
    pthread_mutex_unlock(&c->mu);
    if (old >= 0)
        close(old);
}

srd_err srdi_cl_req_open(srdi_client *c, const char *url)
{
    c->fd = -1;
    c->dead = true;
    srd_err rc = SRD_OK;
    int fd = cr_dial(c, url, &rc);
    if (fd < 0)
        return rc;
    pthread_mutex_lock(&c->send_mu);
    cr_install(c, fd);
    pthread_mutex_unlock(&c->send_mu);
    return SRD_OK;
}

/* Caller holds send_mu: a live connection, dialled again if it failed
 * (to the address srdd's discovery file names now). */
static srd_err cr_ensure(srdi_client *c)
{
    pthread_mutex_lock(&c->mu);
    bool up = c->fd >= 0 && !c->dead;
    pthread_mutex_unlock(&c->mu);
    if (up)
        return SRD_OK;
    cl_disc d;
    srd_err rc = srdi_cl_discover(c->st->path, &d);
    if (rc != SRD_OK)
        return SRD_EUNREACHABLE;
    int fd = cr_dial(c, d.listen, &rc);
    if (fd < 0)
        return rc;
    cr_install(c, fd);
    return SRD_OK;
}

srd_err srdi_cl_req_ensure(srdi_client *c)
{
    if (atomic_load(&c->stop))
        return SRD_EUNREACHABLE;
    pthread_mutex_lock(&c->send_mu);
    srd_err rc = cr_ensure(c);
    pthread_mutex_unlock(&c->send_mu);
    return rc;
}

/* ======================================================================== */
/* Sending                                                                  */
/* ======================================================================== */

void srdi_cl_send_lock(srdi_client *c)
{
    pthread_mutex_lock(&c->send_mu);
}

/* Callbacks that became due while send_mu was held. */
static cl_call *cr_take_later(srdi_client *c)
{
    pthread_mutex_lock(&c->mu);
    cl_call *later = c->later;
    c->later = NULL;
    pthread_mutex_unlock(&c->mu);
    return later;
}

void srdi_cl_send_unlock(srdi_client *c)
{
    pthread_mutex_unlock(&c->send_mu);
    cr_run_later(c, cr_take_later(c), false); /* the kicker loops */
}

void srdi_cl_run_held(srdi_client *c)
{
    if (!cr_held)
        return;
    cr_held = false;
    cr_run_later(c, cr_take_later(c), false);
}

static bool cr_slot_free(srdi_client *c, void *arg)
{
    (void)arg;
    return c->n_inflight < CL_LANES || atomic_load(&c->stop);
}

bool srdi_cl_slot_reserve(srdi_client *c)
{
    if (c->n_inflight >= CL_LANES || atomic_load(&c->stop))
        return false;
    c->n_inflight++;
    return true;
}

/* Caller holds send_mu: send the frame in c->sbuf, without ever waiting
 * on a full socket while replies wait unread: srdd stops reading a peer
 * whose replies back up, so whenever the baton is free the sender reads
 * (replies are dispatched; callbacks due join c->later, run once send_mu
 * is given back). */
static srd_err cr_send(srdi_client *c, int fd, size_t len, unsigned timeout)
{
    uint8_t hdr[SRDI_WIRE_FRAME];
    srdi_wire_frame_put(hdr, (uint32_t)len);
    int64_t deadline = cr_now_ms() + timeout;
    size_t total = len + sizeof hdr, done = 0;
    while (done < total) {
        int r = srdi_reqsock_send_step(fd, hdr, c->sbuf, len, &done);
        if (r > 0)
            continue;
        if (r < 0)
            return SRD_EUNREACHABLE;
        if (cr_now_ms() >= deadline)
            return SRD_ETIMEDOUT;
        pthread_mutex_lock(&c->mu);
        bool mine = !c->reading;
        c->reading = true;
        pthread_mutex_unlock(&c->mu);
        struct pollfd p = {fd, (short)(POLLOUT | (mine ? POLLIN : 0)), 0};
        int slice = CL_READ_SLICE_MS;
        if (poll(&p, 1, slice) > 0 && mine && (p.revents & POLLIN)) {
            cl_call *later = NULL;
            cr_read(c, fd, 0, &later);
            pthread_mutex_lock(&c->mu);
            cr_defer(c, later); /* for send_mu's release */
            pthread_mutex_unlock(&c->mu);
        }
        if (mine) {
            pthread_mutex_lock(&c->mu);
            c->reading = false;
            pthread_cond_broadcast(&c->cv);
            pthread_mutex_unlock(&c->mu);
        }
    }
    return SRD_OK;
}

/* Caller holds send_mu: encode rq into c->sbuf. */
static srd_err cr_encode(srdi_client *c, srdi_wire_request *rq, size_t *len)
{
    rq->version = SRDI_WIRE_VERSION;
    rq->client_id = c->id;
    rq->seq = ++c->seq;
    return srdi_wire_request_pack(rq, atomic_load(&c->max_message), &c->sbuf,
                                  &c->sbuf_cap, len);
}

srd_err srdi_cl_submit_reserved(srdi_client *c, srdi_wire_request *rq,
                                cl_call *call)
{
    size_t len = 0;
    srd_err rc = srdi_store_forked(c->st) ? SRD_EFORKED : cr_ensure(c);
    if (rc == SRD_OK)
        rc = cr_encode(c, rq, &len);
    pthread_mutex_lock(&c->mu);
    int fd = c->fd;
    if (rc == SRD_OK && (fd < 0 || c->dead))
        rc = SRD_EUNREACHABLE;
    if (rc != SRD_OK) {
        c->n_inflight--;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    call->seq = rq->seq;
    call->next = c->inflight; /* listed before the reply can come */
    c->inflight = call;
    pthread_mutex_unlock(&c->mu);
    rc = cr_send(c, fd, len, call->timeout ? call->timeout : c->timeout);
    if (rc == SRD_OK)
        return SRD_OK;
    /* A frame half sent leaves the stream unusable: drop it. */
    cl_call *later = NULL;
    pthread_mutex_lock(&c->mu);
    bool ours = cr_unlink(c, call->seq) == call;
    if (ours) {
        c->n_inflight--;
        pthread_cond_broadcast(&c->cv);
    }
    cr_lost(c, fd, &later);
    cr_defer(c, later); /* for send_mu's release */
    pthread_mutex_unlock(&c->mu);
    /* Not ours: already failed by cr_lost, which completed it. */
    return ours ? (rc == SRD_ETIMEDOUT ? SRD_EUNREACHABLE : rc) : SRD_OK;
}

srd_err srdi_cl_submit(srdi_client *c, srdi_wire_request *rq, cl_call *call)
{
    int64_t deadline = cr_now_ms() + (call->timeout ? call->timeout
                                                    : c->timeout);
    pthread_mutex_lock(&c->mu);
    bool ok = srdi_cl_wait(c, cr_slot_free, NULL, deadline) &&
              srdi_cl_slot_reserve(c);
    pthread_mutex_unlock(&c->mu);
    if (!ok)
        return atomic_load(&c->stop) ? SRD_EUNREACHABLE : SRD_ETIMEDOUT;
    pthread_mutex_lock(&c->send_mu);
    srd_err rc = srdi_cl_submit_reserved(c, rq, call);
    pthread_mutex_unlock(&c->send_mu);
    cr_run_later(c, cr_take_later(c), true);
    return rc;
}

/* ======================================================================== */
/* Waiting                                                                  */
/* ======================================================================== */

static bool cr_call_done(srdi_client *c, void *arg)
{
    (void)c;
    return ((cl_call *)arg)->done;
}

srd_err srdi_cl_roundtrip_for(srdi_client *c, srdi_wire_request *rq,
                              srdi_wire_response *rs, unsigned timeout)
{
    cl_call call;
    memset(&call, 0, sizeof call);
    call.timeout = timeout;
    srd_err rc = srdi_cl_submit(c, rq, &call);
    if (rc == SRD_OK) {
        int64_t deadline = cr_now_ms() + (timeout ? timeout : c->timeout);
        pthread_mutex_lock(&c->mu);
        if (!cr_wait(c, cr_call_done, &call, deadline, true) &&
            cr_unlink(c, call.seq) == &call) {
            c->n_inflight--; /* its reply, if it comes, is dropped */
            pthread_cond_broadcast(&c->cv);
            call.rc = c->fd >= 0 && !c->dead ? SRD_ETIMEDOUT
                                             : SRD_EUNREACHABLE;
            call.done = true;
        }
        while (!call.done) /* completed meanwhile by another thread */
            pthread_cond_wait(&c->cv, &c->mu);
        pthread_mutex_unlock(&c->mu);
        rc = call.rc;
    }
    /* Read-your-writes after a reconnect: the handshake catches up with
     * srdd's tail, which includes this write. */
    if (rc == SRD_OK && call.stale)
        srdi_cl_catch_up(c);
    if (rs)
        *rs = call.rs;
    else
        srdi_wire_response_free(&call.rs);
    return rc;
}

srd_err srdi_cl_roundtrip(srdi_client *c, srdi_wire_request *rq,
                          srdi_wire_response *rs)
{
    return srdi_cl_roundtrip_for(c, rq, rs, 0);
}

static bool cr_no_pending(srdi_client *c, void *arg)
{
    (void)arg;
    return c->pending == 0;
}

void srdi_cl_wait_pending(srdi_client *c)
{
    pthread_mutex_lock(&c->mu);
    srdi_cl_wait(c, cr_no_pending, NULL, -1);
    pthread_mutex_unlock(&c->mu);
}

/* ======================================================================== */
/* The reader thread                                                        */
/* ======================================================================== */

static void *cr_reader(void *arg)
{
    srdi_client *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!atomic_load(&c->stop)) {
        if (c->pending > 0 && !c->reading && c->fd >= 0 && !c->dead &&
            c->inflight) {
            cr_read_turn(c, -1, false);
        } else {
            /* set under mu with the check above: srdi_cl_reader_nudge */
            atomic_store(&c->reader_idle, true);
            cr_cond_wait(c, &c->rcv, -1);
            atomic_store(&c->reader_idle, false);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

srd_err srdi_cl_reader_nudge(srdi_client *c)
{
    /* The reader found nothing to do under mu and set reader_idle in the
     * same hold: any request sent after that check (under mu too) is
     * followed by this load seeing it set. Busy, it looks again anyway. */
    if (!atomic_load(&c->reader_idle))
        return SRD_OK;
    pthread_mutex_lock(&c->mu);
    pthread_cond_signal(&c->rcv);
    pthread_mutex_unlock(&c->mu);
    return SRD_OK;
}

srd_err srdi_cl_reader_want(srdi_client *c)
{
    pthread_mutex_lock(&c->mu);
    srd_err rc = SRD_OK;
    if (!c->reader_started && !atomic_load(&c->stop)) {
        if (pthread_create(&c->reader, NULL, cr_reader, c) == 0)
            c->reader_started = true;
        else
            rc = SRD_ENOMEM;
    }
    pthread_cond_signal(&c->rcv);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void srdi_cl_req_close(srdi_client *c)
{
    cl_call *later = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->fd >= 0)
        cr_lost(c, c->fd, &later);
    pthread_cond_broadcast(&c->rcv);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    cr_run_later(c, later, false);
    cr_run_later(c, cr_take_later(c), false);
    if (c->reader_started)
        pthread_join(c->reader, NULL);
    /* a thread holding the read baton (the subscriber thread's handshake)
     * may still be in recv on the fd: the shutdown above ends that recv;
     * the fd is closed only once the baton is back */
    pthread_mutex_lock(&c->mu);
    while (c->reading)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    srdi_rbuf_free(&c->rb);
    free(c->sbuf);
    c->sbuf = NULL;
}

void srdi_cl_spin_counts(srdi_client *c, uint64_t *spins, uint64_t *hits)
{
    pthread_mutex_lock(&c->mu);
    *spins = c->spin.spins;
    *hits = c->spin.hits;
    pthread_mutex_unlock(&c->mu);
}
