/* SPDX-License-Identifier: MIT */
/*
 * client.c -- client mode: srdd is the writer; this handle maps the store
 * read-only, follows what srdd writes through srdd's shared index file
 * when it reads through one, else through srdd's published index updates
 * (repairing any gap by walking the file itself), and sends its writes to
 * srdd over its request socket, blocking or pipelined (docs/CLIENT.md).
 * This file holds the handshake, following the file, the subscriber
 * thread, open/close and the pipelined puts (srd_put_async and srd_flush
 * in client mode, through front.c); client_req.c owns the request
 * connection and the calls in flight, client_conn.c finds srdd and owns
 * the SUB socket, client_write.c has the blocking writes and streams
 * (client_impl.h is what they share).
 *
 * Invariants
 *   1. c->tail (under c->follow_mu) is an entry end of the mapped file below
 *      which every entry is in the index. It only moves by adopting a whole
 *      published group that starts at it, or by walking the file up to a
 *      tail srdd reported (the walk checks the chain reaches c->tail).
 *   2. The mapping's committed tail may run ahead of c->tail (a reply
 *      raises it over the writer's own entries; a handle following the
 *      shared index raises it to the index's covered tail, checked
 *      against the file), never past a tail srdd reported or its index
 *      vouched for, for the file mapped, and never past that file's size.
 *   3. A handle has one client id and numbers its requests in the order
 *      it sends them on its one connection, so srdd applies them in that
 *      order and its dedupe of (client_id, seq) covers them. Requests in
 *      flight when the connection drops fail (SRD_EUNREACHABLE): a failed
 *      write is the caller's to retry; nothing is resent on its own.
 *   4. Everything about the file (generation, identity, tail) is checked
 *      in a handshake (Hello) after every new connection and at least
 *      every SRD_POLL_MS while no update arrives; a mismatch reloads.
 *
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "client_impl.h"
#include "envnum.h"
#include "errno_map.h"
#include "store_impl.h"

/* ======================================================================== */
/* Small helpers                                                            */
/* ======================================================================== */

static uint64_t cl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t cl_random_id(void)
{
    uint64_t v = 0;
    while (v == 0)
        v = ((uint64_t)nng_random() << 32) ^ nng_random();
    return v;
}

/* Invariant 4: what arrives over a connection not yet checked by a
 * handshake (or after we lost track) must not touch the index. */
static bool cl_need_hello(srdi_client *c)
{
    return atomic_load(&c->lost) ||
           atomic_load(&c->verified) != atomic_load(&c->epoch);
}

/* The same for a reply: it comes over the request connection, so only a
 * new one of those makes it unchecked (a new SUB pipe, e.g. when the
 * handle starts to subscribe, does not: its replies keep being applied,
 * read-your-writes holding while the handshake it asks for is due). */
static bool cl_reply_unchecked(srdi_client *c)
{
    return atomic_load(&c->lost) ||
           atomic_load(&c->req_verified) != atomic_load(&c->req_epoch);
}

/* What a handshake is about to check (taken before it is sent). */
typedef struct cl_epochs {
    unsigned all, req;
} cl_epochs;

static cl_epochs cl_epochs_now(srdi_client *c)
{
    return (cl_epochs){atomic_load(&c->epoch), atomic_load(&c->req_epoch)};
}

static void cl_epochs_verified(srdi_client *c, cl_epochs e)
{
    atomic_store(&c->verified, e.all);
    atomic_store(&c->req_verified, e.req);
}

/* ======================================================================== */
/* Following the file (under c->follow_mu; the srdi_store_follow_*       */
/* functions of store_follow.c update the handle under its own lock and   */
/* refuse, invariant 2, a tail past the end of the file mapped)            */
/* ======================================================================== */

/* Follow srdd's updates from now on: the shared index no longer tells
 * this handle what srdd writes (abandoned, failing its checks, or none for
 * a new file). The subscriber thread subscribes; its new pipe makes the
 * next tick handshake, which catches up (invariant 4). */
static void cl_want_sub(srdi_client *c)
{
    if (atomic_load(&c->subscribed) || atomic_exchange(&c->want_sub, true))
        return;
    atomic_store(&c->st->follow, NULL); /* after want_sub: srdi_client_open */
    if (c->tick_aio)
        nng_aio_cancel(c->tick_aio); /* wake the thread from its tick */
}

/* After a reload: a file without a usable shared index is followed
 * through srdd's updates. */
static void cl_check_shared(srdi_client *c)
{
    if (!atomic_load(&c->subscribed) && !srdi_store_follow_shared(c->st))
        cl_want_sub(c);
}

/*
 * Bring the index to srdd's state (gen, tail): reload when the generation
 * or (with id) the file identity changed, or when tail went backwards;
 * otherwise walk the file from c->tail up to tail. On failure the next
 * handshake tries again.
 */
static srd_err cl_follow(srdi_client *c, uint64_t gen, uint64_t tail,
                         const cl_hello_info *id)
{
    srd_store *st = c->st;
    srd_err rc = SRD_OK;
    bool same = !id || srdi_store_follow_is(st, id->dev, id->ino);
    if (!same || gen != c->gen || tail < c->tail) {
        rc = srdi_store_follow_reload(st, tail);
        if (rc == SRD_OK && id && !srdi_store_follow_is(st, id->dev, id->ino))
            rc = SRD_ESTATE; /* srdd writes another file than our path */
        if (rc == SRD_OK) {
            c->gen = gen;
            c->tail = tail;
            cl_check_shared(c);
        }
    } else if (tail > c->tail) {
        /* following the shared index: walk only what it does not vouch
         * for (the walk starts at the tail the handle counted) */
        srd_err sh = atomic_load(&st->follow)
                         ? srdi_store_follow_raise(st, true)
                         : SRD_OK;
        if (sh != SRD_OK && sh != SRD_ESTATE)
            cl_want_sub(c);
        rc = srdi_store_follow_walk(st, c->tail, tail);
        if (rc == SRD_OK)
            c->tail = tail;
    }
    if (rc != SRD_OK)
        atomic_store(&c->lost, true);
    return rc;
}

/* A published group: adopt it when it starts at our tail, else walk. */
static void cl_on_update(srdi_client *c, const srdi_wire_update *up)
{
    if (cl_need_hello(c))
        return; /* the handshake due will catch up */
    if (up->generation == c->gen && up->to_tail <= c->tail)
        return; /* already known (our own reply, or a replay) */
    if (up->generation == c->gen && up->from_tail == c->tail &&
        srdi_store_follow_adopt(c->st, up->entries, up->n_entries,
                                up->to_tail, true) == SRD_OK) {
        c->tail = up->to_tail;
        return;
    }
    cl_follow(c, up->generation, up->to_tail, NULL);
}

/*
 * A write's reply: make its entries readable now (read-your-writes). They
 * are counted in the store's entry total when their group is adopted in
 * order, not here, so the count is restored. When they cannot be applied
 * to the file mapped (unchecked connection, new generation) nothing is
 * touched and *stale tells the caller to handshake, which catches up.
 * This runs on whichever thread reads the reply: nothing slow here.
 */
void srdi_cl_on_reply(srdi_client *c, const srdi_wire_response *rs,
                      bool *stale)
{
    pthread_mutex_lock(&c->follow_mu);
    bool ok = !cl_reply_unchecked(c) && rs->generation == c->gen &&
              srdi_store_follow_adopt(c->st, rs->entries, rs->n_entries,
                                      rs->committed_tail, false) == SRD_OK;
    if (!ok) {
        atomic_store(&c->lost, true);
        *stale = true;
    }
    pthread_mutex_unlock(&c->follow_mu);
}

/* ======================================================================== */
/* Handshake                                                                */
/* ======================================================================== */

/* Send Hello and check the protocol version; *h receives what srdd said. */
static srd_err cl_handshake(srdi_client *c, cl_hello_info *h)
{
    srdi_wire_request rq;
    srdi_wire_response rs;
    memset(&rq, 0, sizeof rq);
    rq.op = SRDI_WIRE_HELLO;
    rq.hello_version = SRDI_WIRE_VERSION;
    srd_err rc = srdi_cl_roundtrip(c, &rq, &rs);
    if (rc == SRD_OK && !rs.has_hello)
        rc = SRD_EPROTO;
    if (rc == SRD_OK && rs.hello.protocol_version != SRDI_WIRE_VERSION)
        rc = SRD_EVERSION;
    if (rc == SRD_OK) {
        *h = (cl_hello_info){rs.hello.store_dev, rs.hello.store_ino,
                             rs.hello.generation, rs.hello.committed_tail,
                             rs.hello.max_message,
                             rs.hello.shared_index == 1};
        if (h->max_message >= 2ull * CL_HEADROOM)
            atomic_store(&c->max_message, (size_t)h->max_message);
    }
    srdi_wire_response_free(&rs);
    return rc;
}

/* Handshake and follow srdd's state (caller holds hello_mu). The
 * connections are trusted up to the epoch seen before the handshake: a
 * pipe added meanwhile needs another one. */
static srd_err cl_hello(srdi_client *c)
{
    srd_err rc = srdi_cl_req_ensure(c); /* a new connection bumps it */
    if (rc != SRD_OK)
        return rc;
    cl_epochs epoch = cl_epochs_now(c);
    atomic_store(&c->lost, false);
    cl_hello_info h;
    rc = cl_handshake(c, &h);
    if (rc == SRD_OK) {
        pthread_mutex_lock(&c->follow_mu);
        rc = cl_follow(c, h.generation, h.tail, &h);
        if (rc == SRD_OK)
            cl_epochs_verified(c, epoch);
        if (!h.shared_index)
            cl_want_sub(c); /* the index file is not srdd's to keep now */
        pthread_mutex_unlock(&c->follow_mu);
    }
    if (rc != SRD_OK)
        atomic_store(&c->lost, true);
    return rc;
}

/* The thread is in a handshake: the async callbacks due while it waits
 * for the reply are held until its end (client_req.c), and nothing it
 * runs meanwhile starts another. */
static _Thread_local bool cl_in_hello;

bool srdi_cl_in_hello(void)
{
    return cl_in_hello;
}

/* Handshake if one is due once any in progress has ended. */
static srd_err cl_hello_locked(srdi_client *c, bool force)
{
    if (cl_in_hello)
        return SRD_OK;
    pthread_mutex_lock(&c->hello_mu);
    cl_in_hello = true;
    srd_err rc = force || cl_need_hello(c) ? cl_hello(c) : SRD_OK;
    cl_in_hello = false;
    pthread_mutex_unlock(&c->hello_mu);
    srdi_cl_run_held(c);
    return rc;
}

srd_err srdi_cl_hello_if(srdi_client *c, bool force)
{
    if (!force && !cl_need_hello(c))
        return SRD_OK;
    return cl_hello_locked(c, force);
}

srd_err srdi_cl_catch_up(srdi_client *c)
{
    return cl_hello_locked(c, false);
}

/* ======================================================================== */
/* Following the shared index instead of updates                           */
/* ======================================================================== */

/*
 * st->follow of a handle that reads through srdd's shared index and is not
 * subscribed (docs/CLIENT.md): srdd stores every slot before it replies, so
 * the index itself tells what was acknowledged. Take its covered tail
 * (srdi_store_follow_raise checks it), follow a grown index file; on a
 * compaction load the new file, at srdd's word when it answers; when the
 * index was abandoned or fails its checks, catch up through srdd now and
 * subscribe from then on. wait false (a read's opportunistic raise): never
 * blocks, and leaves anything slow to the next read or tick.
 */
static srd_err cl_follow_shared(srd_store *st, bool wait)
{
    srdi_client *c = st->client;
    if (srdi_store_forked(st))
        return SRD_OK; /* the parent's client: its locks are not ours */
    if (!wait && pthread_mutex_trylock(&c->follow_mu) != 0)
        return SRD_OK;
    if (wait)
        pthread_mutex_lock(&c->follow_mu);
    srd_err rc = srdi_store_follow_raise(st, wait);
    if (wait && rc != SRD_OK && rc != SRD_ESTATE)
        cl_want_sub(c);
    pthread_mutex_unlock(&c->follow_mu);
    if (!wait || rc == SRD_OK)
        return SRD_OK;
    srd_err hr = srdi_cl_hello_if(c, true); /* reloads a new file */
    if (hr != SRD_OK && rc == SRD_ESTATE) { /* srdd gone since: the file */
        pthread_mutex_lock(&c->follow_mu);
        hr = srdi_store_follow_reload(st, UINT64_MAX);
        if (hr == SRD_OK)
            cl_check_shared(c);
        pthread_mutex_unlock(&c->follow_mu);
    }
    return hr;
}

/* ======================================================================== */
/* Subscriber thread                                                        */
/* ======================================================================== */

static void cl_take_update(srdi_client *c, nng_msg *m)
{
    srdi_wire_update up;
    char why[SRDI_WIRE_WHY];
    memset(&up, 0, sizeof up);
    srd_err rc = srdi_wire_update_decode(nng_msg_body(m), nng_msg_len(m), 0,
                                         &up, why);
    nng_msg_free(m);
    if (rc != SRD_OK)
        return; /* a bad hint: the next handshake repairs what it hid */
    pthread_mutex_lock(&c->follow_mu);
    cl_on_update(c, &up);
    pthread_mutex_unlock(&c->follow_mu);
    srdi_wire_update_free(&up);
}

/* Waits up to one tick for an update; close cancels the wait (cl_free):
 * either it cancels a receive already started, or this thread sees stop
 * right after starting one and cancels it itself. */
static int cl_recv(srdi_client *c, nng_msg **m)
{
    *m = NULL;
    if (!atomic_load(&c->subscribed)) { /* only the tick to wait for */
        nng_sleep_aio(c->tick, c->tick_aio);
        if (atomic_load(&c->stop))
            nng_aio_cancel(c->tick_aio);
        nng_aio_wait(c->tick_aio);
        return NNG_ETIMEDOUT;
    }
    nng_recv_aio(c->sub, c->sub_aio);
    if (atomic_load(&c->stop))
        nng_aio_cancel(c->sub_aio);
    nng_aio_wait(c->sub_aio);
    int rv = nng_aio_result(c->sub_aio);
    *m = rv == 0 ? nng_aio_get_msg(c->sub_aio) : NULL;
    return *m || rv != 0 ? rv : NNG_ETIMEDOUT;
}

static void *cl_main(void *arg)
{
    srdi_client *c = arg;
    uint64_t heard = cl_now_ms();
    while (!atomic_load(&c->stop)) {
        if (atomic_load(&c->want_sub) && !atomic_load(&c->subscribed))
            srdi_cl_subscribe(c, false);
        nng_msg *m;
        int rv = cl_recv(c, &m);
        if (rv == NNG_ECLOSED || atomic_load(&c->stop)) {
            if (m)
                nng_msg_free(m);
            break;
        }
        uint64_t now = cl_now_ms();
        if (rv == 0) {
            cl_take_update(c, m);
            heard = now;
        }
        if (atomic_load(&c->subscribed))
            srdi_cl_redial_stuck(c, now);
        else if (atomic_load(&c->st->follow))
            cl_follow_shared(c->st, true); /* an idle handle notices too */
        /* Invariant 4: a quiet line may mean every update was lost. */
        bool quiet = now - heard >= c->poll_ms;
        if (quiet || cl_need_hello(c)) {
            if (atomic_load(&c->pipes) > 0 ||
                srdi_cl_writer_alive(c->st->path))
                srdi_cl_hello_if(c, quiet);
            heard = cl_now_ms();
        }
    }
    return NULL;
}

/* ======================================================================== */
/* Open and close                                                           */
/* ======================================================================== */

/* Shut down: no new requests, fail those in flight (a handshake of the
 * subscriber thread), let the threads end, then close the sockets; free
 * the aio last. */
static void cl_free(srdi_client *c)
{
    atomic_store(&c->stop, true);
    if (c->sub_aio)
        nng_aio_cancel(c->sub_aio); /* wakes the thread now, not at a tick */
    if (c->tick_aio)
        nng_aio_cancel(c->tick_aio);
    srdi_cl_req_close(c);
    if (c->thread_started)
        pthread_join(c->thread, NULL);
    if (c->sub_aio)
        nng_aio_stop(c->sub_aio);
    if (c->tick_aio)
        nng_aio_stop(c->tick_aio);
    bool closed = srdi_cl_disconnect(c);
    if (closed && c->sub_aio)
        nng_aio_free(c->sub_aio);
    if (c->tick_aio)
        nng_aio_free(c->tick_aio);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    pthread_cond_destroy(&c->rcv);
    pthread_mutex_destroy(&c->send_mu);
    pthread_mutex_destroy(&c->hello_mu);
    pthread_mutex_destroy(&c->follow_mu);
    free(c);
}

static srdi_client *cl_alloc(srd_store *st)
{
    srdi_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->st = st;
    c->timeout = srdi_env_uint("SRD_TIMEOUT_MS", CL_TIMEOUT_MS, 1,
                                  3600000);
    srdi_spin_init(&c->spin, srdi_spin_env(SRDI_SPIN_DEFAULT_US));
    c->fd = -1;
    c->dead = true;
    c->id = cl_random_id();
    c->poll_ms = srdi_env_uint("SRD_POLL_MS", CL_POLL_MS, 10, 3600000);
    c->log_errors = srdi_env_uint("SRD_CLIENT_LOG", 0, 0, 1) == 1;
    struct stat sb;
    c->owner_uid = stat(st->path, &sb) == 0 ? (uint64_t)sb.st_uid
                                             : UINT64_MAX;
    atomic_init(&c->untrusted, 0);
    atomic_init(&c->max_message, (size_t)SRDI_WIRE_MAX_DEFAULT);
    atomic_init(&c->epoch, 0);
    atomic_init(&c->verified, 0);
    atomic_init(&c->req_epoch, 0);
    atomic_init(&c->req_verified, 0);
    atomic_init(&c->lost, false);
    atomic_init(&c->subscribed, false);
    atomic_init(&c->want_sub, false);
    atomic_init(&c->pipes, 0);
    atomic_init(&c->sub_pipes, 0);
    atomic_init(&c->stop, false);
    atomic_init(&c->reader_idle, false);
    /* SRD_SUB_TICK_MS: how often the subscriber thread looks around when
     * no update comes (tests set it huge: close must not wait for it). */
    c->tick = (nng_duration)srdi_env_uint("SRD_SUB_TICK_MS", CL_TICK_MS,
                                            10, 3600000);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    pthread_cond_init(&c->rcv, NULL);
    pthread_mutex_init(&c->send_mu, NULL);
    pthread_mutex_init(&c->hello_mu, NULL);
    pthread_mutex_init(&c->follow_mu, NULL);
    return c;
}

/* Everything after the sockets: handshake, map and index, thread. */
static srd_err cl_start(srdi_client *c)
{
    srd_store *st = c->st;
    cl_hello_info h;
    cl_epochs epoch = cl_epochs_now(c);
    srd_err rc;
    for (int i = 0;; i++) {
        rc = cl_handshake(c, &h);
        /* the file srdd writes (a compaction may have replaced it between
         * our open and the handshake), mapped and indexed up to its tail */
        if (rc == SRD_OK)
            rc = srdi_store_follow_start(st, h.dev, h.ino, h.tail);
        /* srdd names the file it compacted until it announces the new
         * one (ms later): ask again */
        if (rc != SRD_ESTATE || i == 200)
            break;
        nng_msleep(1);
    }
    if (rc != SRD_OK)
        return rc;
    c->gen = h.generation;
    c->tail = h.tail;
    cl_epochs_verified(c, epoch);
    /* Without a usable shared index, srdd's updates are the way to learn
     * its writes: subscribe (its pipe makes the next tick handshake). */
    if (!h.shared_index || !srdi_store_follow_shared(st) ||
        srdi_env_uint("SRD_SUB_ALWAYS", 0, 0, 1) == 1)
        rc = srdi_cl_subscribe(c, true);
    if (rc != SRD_OK)
        return rc;
    if (nng_aio_alloc(&c->sub_aio, NULL, NULL) != 0 ||
        nng_aio_alloc(&c->tick_aio, NULL, NULL) != 0)
        return SRD_ENOMEM;
    nng_aio_set_timeout(c->sub_aio, c->tick);
    if (pthread_create(&c->thread, NULL, cl_main, c) != 0)
        return SRD_ENOMEM;
    c->thread_started = true;
    return SRD_OK;
}

srd_err srdi_client_open(srd_store *st)
{
    cl_disc d;
    srd_err rc = srdi_cl_discover(st->path, &d);
    if (rc != SRD_OK)
        return rc;
    srdi_client *c = cl_alloc(st);
    if (!c)
        return SRD_ENOMEM;
    rc = srdi_cl_connect(c, &d);
    if (rc == SRD_OK)
        rc = cl_start(c);
    if (rc != SRD_OK && atomic_load(&c->untrusted))
        rc = SRD_EPERM; /* the daemon found is not one to trust */
    if (rc != SRD_OK) {
        cl_free(c);
        srdi_store_follow_abort(st);
        return rc;
    }
    st->client = c;
    if (!atomic_load(&c->subscribed)) {
        atomic_store(&st->follow, cl_follow_shared);
        if (atomic_load(&c->want_sub)) /* the thread found it gone since */
            atomic_store(&st->follow, NULL);
    }
    return SRD_OK;
}

srd_err srdi_client_flush(srdi_client *c)
{
    if (srdi_store_forked(c->st))
        return SRD_EFORKED; /* the parent's requests: never answered here */
    srdi_cl_kick(c); /* anything still queued leaves now */
    srdi_cl_wait_pending(c);
    pthread_mutex_lock(&c->mu);
    srd_err rc = c->async_err;
    c->async_err = SRD_OK;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

srd_err srdi_client_close(srdi_client *c)
{
    if (!c)
        return SRD_OK;
    if (srdi_store_forked(c->st))
        return SRD_OK; /* NNG state of the parent: left alone, not freed */
    srd_err rc = srdi_client_flush(c);
    atomic_store(&c->st->follow, NULL);
    cl_free(c);
    return rc;
}

/* ======================================================================== */
/* Pipelined writes                                                         */
/* ======================================================================== */

/* Queued puts sent as one request: cl_call.arg of that request. */
typedef struct cl_group {
    srdi_client *c;
    cl_qput *items;
} cl_group;

/* Caller holds c->mu: detach up to CL_GROUP_MAX queued puts that fit in
 * one message (one walk: the nodes are cold by now); *n: how many. */
static cl_qput *cl_queue_take(srdi_client *c, size_t *n)
{
    size_t room = atomic_load(&c->max_message) - CL_HEADROOM;
    cl_qput *head = c->q_head, *last = head;
    size_t kv = head->key.len + head->value.len;
    size_t bytes = kv, taken = kv;
    *n = 1;
    while (last->next && *n < CL_GROUP_MAX) {
        kv = last->next->key.len + last->next->value.len;
        /* 16: what protobuf adds per entry, generously */
        if (bytes + kv + 16 > room)
            break;
        bytes += kv + 16;
        taken += kv;
        last = last->next;
        (*n)++;
    }
    c->q_head = last->next;
    if (!c->q_head)
        c->q_tail = NULL;
    last->next = NULL;
    c->q_bytes -= taken;
    pthread_cond_broadcast(&c->cv); /* room in the queue */
    return head;
}

/* Tell each queued put of the list q its result and free it; returns
 * how many there were. */
static size_t cl_qputs_complete(cl_qput *q, srd_err rc)
{
    size_t n = 0;
    for (cl_qput *next; q; q = next) {
        next = q->next;
        q->fn(q->arg, rc);
        free(q);
        n++;
    }
    return n;
}

/* Completion of a group: each put hears the request's result. The call
 * counts as one pending write; the others are taken off here. */
static void cl_group_done(void *arg, srd_err rc)
{
    cl_group *g = arg;
    size_t n = cl_qputs_complete(g->items, rc);
    pthread_mutex_lock(&g->c->mu);
    g->c->pending -= n - 1;
    pthread_mutex_unlock(&g->c->mu);
    free(g);
}

/* A group that could not be sent: complete its puts with rc. */
static void cl_group_fail(srdi_client *c, cl_qput *q, srd_err rc)
{
    size_t n = cl_qputs_complete(q, rc);
    pthread_mutex_lock(&c->mu);
    c->pending -= n;
    if (c->async_err == SRD_OK)
        c->async_err = rc;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* send_mu held and a slot reserved: send the n queued puts q as one Put,
 * or a PutBatch when there are several. On failure q is still the
 * caller's (and the slot given back). */
static srd_err cl_send_group(srdi_client *c, cl_qput *q, size_t n)
{
    cl_group *g = malloc(sizeof *g);
    cl_call *call = calloc(1, sizeof *call);
    srd_val *kv = malloc(2 * n * sizeof *kv);
    srd_err rc = g && call && kv ? SRD_OK : SRD_ENOMEM;
    if (rc == SRD_OK) {
        *g = (cl_group){c, q};
        call->fn = cl_group_done;
        call->arg = g;
        size_t i = 0;
        for (cl_qput *p = q; p; p = p->next, i++) {
            kv[i] = p->key;
            kv[n + i] = p->value;
        }
        srdi_wire_request rq;
        cl_request(&rq, n == 1 ? SRDI_WIRE_PUT : SRDI_WIRE_PUT_BATCH, n, kv,
                   kv + n);
        rc = srdi_cl_submit_reserved(c, &rq, call);
    } else {
        pthread_mutex_lock(&c->mu);
        c->n_inflight--; /* the slot */
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    free(kv); /* the request is encoded by now (or failed) */
    if (rc != SRD_OK) {
        free(g);
        free(call);
    }
    return rc;
}

void srdi_cl_kick(srdi_client *c)
{
    for (;;) {
        srdi_cl_send_lock(c);
        pthread_mutex_lock(&c->mu);
        size_t n = 0;
        cl_qput *q = c->q_head && srdi_cl_slot_reserve(c)
                         ? cl_queue_take(c, &n)
                         : NULL;
        pthread_mutex_unlock(&c->mu);
        srd_err rc = q ? cl_send_group(c, q, n) : SRD_OK;
        srdi_cl_send_unlock(c);
        if (!q)
            return;
        if (rc != SRD_OK)
            cl_group_fail(c, q, rc);
    }
}

/* A queued put: the struct with copies of key and value behind it. */
static cl_qput *cl_qput_new(srd_val key, srd_val value, srd_done_fn fn,
                            void *arg)
{
    cl_qput *q = malloc(sizeof *q + key.len + value.len);
    if (!q)
        return NULL;
    uint8_t *b = (uint8_t *)(q + 1);
    memcpy(b, key.ptr, key.len);
    if (value.len)
        memcpy(b + key.len, value.ptr, value.len);
    *q = (cl_qput){NULL, fn, arg, {b, key.len}, {b + key.len, value.len}};
    return q;
}

/* Caller holds c->mu: append q to the queue. */
static void cl_queue_add(srdi_client *c, cl_qput *q)
{
    if (c->q_tail)
        c->q_tail->next = q;
    else
        c->q_head = q;
    c->q_tail = q;
    c->q_bytes += q->key.len + q->value.len;
}

static bool cl_queue_room(srdi_client *c, void *arg)
{
    (void)arg;
    return c->q_bytes <= CL_QUEUE_BYTES || atomic_load(&c->stop);
}

/* Queue the put and send what the free slots allow: with every slot
 * busy, queued puts leave batched when one frees up; with the queue
 * full, wait for room. */
srd_err srdi_client_put_async(srdi_client *c, srd_val key, srd_val value,
                              srd_done_fn done, void *ctx)
{
    if (cl_put_too_big(c, key, value))
        return SRD_ETOOBIG;
    if (srdi_store_forked(c->st))
        return SRD_EFORKED;
    srd_err rc = srdi_cl_hello_if(c, false);
    if (rc != SRD_OK)
        return rc;
    cl_qput *q = cl_qput_new(key, value, done, ctx);
    if (!q)
        return SRD_ENOMEM;
    pthread_mutex_lock(&c->mu);
    srdi_cl_wait(c, cl_queue_room, NULL, -1);
    rc = atomic_load(&c->stop) ? SRD_EUNREACHABLE : SRD_OK;
    if (rc == SRD_OK) {
        c->pending++;
        cl_queue_add(c, q);
    }
    /* With every lane busy the put leaves with the others queued when a
     * reply frees one (cr_run_later kicks after every completion): no
     * lock of send_mu per put. */
    bool lane = c->n_inflight < CL_LANES;
    bool reader = c->reader_started;
    pthread_mutex_unlock(&c->mu);
    if (rc != SRD_OK) {
        free(q);
        return rc;
    }
    if (lane)
        srdi_cl_kick(c);
    return reader ? srdi_cl_reader_nudge(c) : srdi_cl_reader_want(c);
}
