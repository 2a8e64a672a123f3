/* SPDX-License-Identifier: MIT */
/*
 * server.c -- the REP contexts of srdd (see server.h). Each context is a
 * small state machine driven by its aio callback:
 *
 *     RECV --(message)--> handle --+--(direct reply)---------> SEND
 *                                  +--(mutation: group_submit) ... done -> SEND
 *     SEND --(sent or failed)--> RECV          (socket closed: IDLE)
 *
 * `busy` counts contexts between a received message and the end of its
 * send, so that shutdown can let the last replies go out.
 *
 * Order: one client's pipelined requests must reach the writer in the
 * order they were sent (a later put must never lose to an earlier one).
 * NNG hands each received message to a waiting context and runs the
 * contexts' callbacks on a thread pool, in any order; so only one context
 * at a time waits to receive (it holds the receive token), and it passes
 * the token on (arms the next free context) only once its request is
 * decoded and, if it mutates, queued for the writer. Everything after
 * that (direct answers, sending) runs in parallel as before.
 *
 * Memory: what decoding a request allocates is bounded before it is
 * decoded (wire.h: at most twice --max-message plus 1 MiB), and the
 * decoded requests held at once by all contexts together to
 * server_decode_budget(): past it a request is refused with SRD_EBUSY
 * unless none is held (so any request the limit admits is served alone).
 *
 * Unread replies: a reply NNG has not handed to the connection within
 * SERVER_SEND_MS means the peer stopped reading (a libsrdclient peer reads
 * whatever its application does): srdd closes that connection (logged),
 * which frees the contexts its replies held, so such a peer cannot stop
 * srdd serving others for longer than that. (A count of replies waiting
 * is no such sign: a group's replies to a deeply pipelining peer all
 * queue at once behind the one being written.)
 */
#include "srd_features.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "listen.h"
#include "log.h"
#include "reply.h"
#include "server.h"
#include "store_impl.h"

/* How long nng_close may take before srdd stops waiting for it. */
#define SERVER_CLOSE_MS 3000u

/* How long a reply may wait for its connection before srdd takes the peer
 * for one that stopped reading (a libsrdclient peer reads continuously,
 * whatever its application does). */
#define SERVER_SEND_MS 2000

/* Decoded requests held at once, at least (see server_decode_budget). */
#define SERVER_DECODE_MIN ((uint64_t)64 << 20)

typedef enum srv_state { SRV_RECV, SRV_SEND } srv_state;

typedef struct srv_ctx {
    server *srv;
    nng_ctx ctx;
    nng_aio *aio;
    srv_state state;
    nng_pipe pipe;   /* the connection of the request held */
    uint64_t cost;   /* decoding memory charged for it to `held` */
    struct srv_ctx *next_free;
    group_job job;   /* the one request this context holds at a time */
} srv_ctx;

struct server {
    server_conf c;
    nng_socket sock;
    listen_guard *guard;
    srv_ctx *ctxs;
    unsigned n_ctx;        /* contexts successfully set up */
    pthread_mutex_t mu;    /* the fields below */
    srv_ctx *free_ctx;     /* contexts with nothing to do */
    bool token;            /* a context receives or orders its request */
    _Atomic bool stopping;  /* refuse mutations */
    _Atomic bool closing;   /* contexts stop re-arming */
    _Atomic unsigned busy;
    _Atomic uint64_t held; /* decoding memory of the requests held */
};

/* ======================================================================== */
/* Sending and receiving                                                    */
/* ======================================================================== */

/* Arm c to receive (it holds the receive token). */
static void srv_arm(srv_ctx *c)
{
    c->state = SRV_RECV;
    nng_aio_set_timeout(c->aio, NNG_DURATION_INFINITE);
    nng_ctx_recv(c->ctx, c->aio);
}

/* Caller holds s->mu: the next context to receive, or NULL (the token
 * stays free until a context is). */
static srv_ctx *srv_token_next(server *s)
{
    srv_ctx *c = s->free_ctx;
    if (atomic_load(&s->closing))
        c = NULL;
    if (c) {
        s->free_ctx = c->next_free;
        s->token = true;
    }
    return c;
}

/* The receiving context is done ordering its request: pass the token. */
static void srv_token_pass(server *s)
{
    pthread_mutex_lock(&s->mu);
    s->token = false;
    srv_ctx *next = srv_token_next(s);
    pthread_mutex_unlock(&s->mu);
    if (next)
        srv_arm(next);
}

/* c has nothing to do: it receives next if nobody does, else waits. */
static void srv_idle(srv_ctx *c)
{
    server *s = c->srv;
    pthread_mutex_lock(&s->mu);
    c->next_free = s->free_ctx;
    s->free_ctx = c;
    srv_ctx *next = s->token ? NULL : srv_token_next(s);
    pthread_mutex_unlock(&s->mu);
    if (next)
        srv_arm(next);
}

/* The peer of c's connection reads no replies: drop the connection (NNG
 * then completes the sends queued on it). */
static void srv_drop_peer(srv_ctx *c, const char *what)
{
    uint64_t pid = 0;
    nng_pipe_get_uint64(c->pipe, NNG_OPT_IPC_PEER_PID, &pid);
    log_warn("peer pid %" PRIu64 " %s; connection closed", pid, what);
    nng_pipe_close(c->pipe);
}

/* Send reply (NULL: none could be built; the client will time out). */
static void srv_send(srv_ctx *c, nng_msg *reply)
{
    server *s = c->srv;
    if (!reply) {
        log_error("no memory for a reply; the request goes unanswered");
        atomic_fetch_sub(&s->busy, 1);
        srv_idle(c);
        return;
    }
    c->state = SRV_SEND;
    nng_aio_set_msg(c->aio, reply);
    nng_aio_set_timeout(c->aio, SERVER_SEND_MS);
    nng_ctx_send(c->ctx, c->aio);
}

static uint64_t server_decode_budget(const server *s)
{
    uint64_t b = 4 * (uint64_t)s->c.max_message;
    return b > SERVER_DECODE_MIN ? b : SERVER_DECODE_MIN;
}

/* Charge what decoding m will allocate, or refuse (SRD_ETOOBIG: too much
 * for any request; SRD_EBUSY: too much while others are held). */
static srd_err srv_charge(srv_ctx *c, nng_msg *m, char *why)
{
    server *s = c->srv;
    uint64_t cost;
    c->cost = 0;
    srd_err rc = srdi_wire_request_cost(nng_msg_body(m), nng_msg_len(m),
                                        s->c.max_message, &cost, &c->job.rq,
                                        why);
    if (rc != SRD_OK)
        return rc;
    uint64_t held = atomic_fetch_add(&s->held, cost);
    c->cost = cost;
    if (held == 0 || held + cost <= server_decode_budget(s))
        return SRD_OK;
    snprintf(why, SRDI_WIRE_WHY, "srdd holds %" PRIu64 " MiB of decoded "
             "requests (limit %" PRIu64 " MiB); retry", held >> 20,
             server_decode_budget(s) >> 20);
    return SRD_EBUSY;
}

/* Free c's decoded request and give back its charge. */
static void srv_request_free(srv_ctx *c)
{
    srdi_wire_request_free(&c->job.rq);
    atomic_fetch_sub(&c->srv->held, c->cost);
    c->cost = 0;
}

/* Writer thread: a mutation's reply is ready. */
static void srv_job_done(group_job *job, nng_msg *reply)
{
    srv_ctx *c = job->owner;
    srv_request_free(c);
    nng_msg_free(job->msg);
    job->msg = NULL;
    srv_send(c, reply);
}

/* ======================================================================== */
/* Direct replies                                                           */
/* ======================================================================== */

/* Generation, tail and file identity come from one view, so they always
 * describe the same file (a compaction may switch it at any time). */
static void srv_hello_fill(server *s, srdi_wire_hello *h)
{
    gen_view v;
    group_view(s->c.grp, &v);
    memset(h, 0, sizeof *h);
    h->protocol_version = SRDI_WIRE_VERSION;
    h->store_path = s->c.store_abs;
    h->publish_url = s->c.publish_url;
    h->max_message = s->c.max_message;
    h->generation = v.gen;
    h->committed_tail = v.tail;
    h->store_dev = v.dev;
    h->store_ino = v.ino;
}

/* A success response with the daemon's generation and tail. */
static void srv_response(server *s, const srdi_wire_request *rq,
                         srdi_wire_response *rs)
{
    gen_view v;
    group_view(s->c.grp, &v);
    memset(rs, 0, sizeof *rs);
    rs->seq = rq->seq;
    rs->message = "";
    rs->generation = v.gen;
    rs->committed_tail = v.tail;
}

static srd_err srv_hello(server *s, const srdi_wire_request *rq,
                         srdi_wire_response *rs, char *why)
{
    if (rq->hello_version != SRDI_WIRE_VERSION)
        snprintf(why, SRDI_WIRE_WHY,
                 "client speaks protocol %" PRIu32 ", srdd speaks %u",
                 rq->hello_version, SRDI_WIRE_VERSION);
    rs->has_hello = true;
    srv_hello_fill(s, &rs->hello);
    return rq->hello_version == SRDI_WIRE_VERSION ? SRD_OK : SRD_EVERSION;
}

static srd_err srv_stats(server *s, srdi_wire_response *rs)
{
    rs->has_stats = true;
    stats_collect(s->c.st, s->c.ctr, &rs->stats);
    rs->stats.generation = rs->generation;
    compactor_stats(s->c.cmp, &rs->stats);
    rs->stats.publish_drops = publish_drops(s->c.pub);
    rs->stats.clients = listen_guard_peers(s->guard);
    return SRD_OK;
}

/* Everything but mutations, answered here. */
static srd_err srv_direct(srv_ctx *c, const srdi_wire_request *rq,
                          srdi_wire_response *rs, char *why)
{
    server *s = c->srv;
    switch (rq->op) {
    case SRDI_WIRE_HELLO:
        return srv_hello(s, rq, rs, why);
    case SRDI_WIRE_STATS:
        return srv_stats(s, rs);
    case SRDI_WIRE_SYNC:
        atomic_fetch_add(&s->c.ctr->syncs, 1);
        return srdi_store_sync(s->c.st);
    case SRDI_WIRE_STREAM_BEGIN:
        return streams_begin(s->c.ss, rq->client_id,
                             (uint32_t)nng_pipe_id(c->pipe),
                             srd_key_hash(rq->keys[0].ptr, rq->keys[0].len),
                             &rs->stream_id, why);
    case SRDI_WIRE_STREAM_CHUNK:
        return streams_chunk(s->c.ss, rq->client_id, rq->stream_id,
                             rq->chunk.ptr, rq->chunk.len, why);
    default:
        snprintf(why, SRDI_WIRE_WHY, "operation %s is not served here",
                 srdi_wire_op_name(rq->op));
        return SRD_EPROTO;
    }
}

/* ======================================================================== */
/* Checks and dispatch                                                      */
/* ======================================================================== */

/* --allow-uid: every request, hello and stats included, needs an allowed
 * peer uid; a refused peer learns nothing but the refusal (readers of
 * other users open the store read-only, without srdd). */
static srd_err srv_check_peer(server *s, nng_msg *m,
                              const srdi_wire_request *rq, char *why)
{
    uint64_t uid;
    if (s->c.n_uids == 0)
        return SRD_OK;
    if (nng_pipe_get_uint64(nng_msg_get_pipe(m), NNG_OPT_IPC_PEER_UID,
                            &uid) != 0) {
        snprintf(why, SRDI_WIRE_WHY,
                 "cannot tell the peer's uid (not an ipc connection?); "
                 "--allow-uid refuses it");
        return SRD_EPERM;
    }
    for (unsigned i = 0; i < s->c.n_uids; i++)
        if (s->c.uids[i] == uid)
            return SRD_OK;
    snprintf(why, SRDI_WIRE_WHY, "uid %" PRIu64 " may not %s on this store "
             "(not in --allow-uid)", uid, srdi_wire_op_name(rq->op));
    return SRD_EPERM;
}

static void srv_log_refusal(const srdi_wire_request *rq, srd_err rc,
                            const char *why)
{
    log_level lvl = rc == SRD_EPROTO || rc == SRD_EVERSION ||
                            rc == SRD_ETOOBIG || rc == SRD_EPERM
                        ? LOG_LVL_WARN
                        : LOG_LVL_DEBUG;
    if (log_enabled(lvl))
        log_msg(lvl, "client %016" PRIx64 " seq %" PRIu64 " %s: %s: %s",
                rq->client_id, rq->seq, srdi_wire_op_name(rq->op),
                srd_errname(rc), why && *why ? why : srd_strerror(rc));
}

/* Hand a mutation to the writer thread, or a compaction to the
 * compactor; SRD_OK when taken (the reply comes from there). */
static srd_err srv_submit(srv_ctx *c, nng_msg *m, char *why)
{
    server *s = c->srv;
    srd_err rc = SRD_EUNREACHABLE;
    snprintf(why, SRDI_WIRE_WHY, "srdd is shutting down; retry later");
    if (atomic_load(&s->stopping))
        return rc;
    c->job.msg = m;
    c->job.done = srv_job_done;
    c->job.owner = c;
    if (c->job.rq.op == SRDI_WIRE_COMPACT)
        rc = compactor_submit(s->c.cmp, &c->job, why);
    else if (group_submit(s->c.grp, &c->job))
        rc = SRD_OK;
    if (rc != SRD_OK)
        c->job.msg = NULL;
    return rc;
}

/* Requests answered from another thread. */
static bool srv_deferred(const srdi_wire_request *rq)
{
    return srdi_wire_op_mutates(rq->op) || rq->op == SRDI_WIRE_COMPACT;
}

/* The ordered part of a request (c holds the receive token): decode,
 * check the peer and queue a mutation; SRD_OK with *queued when the
 * writer or the compactor took it (and will reply). */
static srd_err srv_order(srv_ctx *c, nng_msg *m, bool *queued, char *why)
{
    server *s = c->srv;
    srdi_wire_request *rq = &c->job.rq;
    *queued = false;
    atomic_fetch_add(&s->c.ctr->requests, 1);
    srd_err rc = srv_charge(c, m, why);
    if (rc == SRD_OK)
        rc = srdi_wire_request_decode(nng_msg_body(m), nng_msg_len(m),
                                      s->c.max_message, rq, why);
    if (rc == SRD_OK)
        rc = srv_check_peer(s, m, rq, why);
    if (rc == SRD_OK && srv_deferred(rq)) {
        rc = srv_submit(c, m, why);
        *queued = rc == SRD_OK;
    }
    return rc;
}

static void srv_handle(srv_ctx *c, nng_msg *m)
{
    server *s = c->srv;
    char why[SRDI_WIRE_WHY] = "";
    srdi_wire_request *rq = &c->job.rq;
    srdi_wire_response rs;
    bool queued;

    c->pipe = nng_msg_get_pipe(m);
    srd_err rc = srv_order(c, m, &queued, why);
    srv_token_pass(s); /* c may be replied and reused from here if queued */
    if (queued)
        return;
    srv_response(s, rq, &rs);
    if (rc == SRD_OK) {
        rc = srv_direct(c, rq, &rs, why);
    } else if (rc == SRD_EVERSION) {
        rs.has_hello = true; /* tell the client what srdd speaks */
        srv_hello_fill(s, &rs.hello);
    }
    if (rc != SRD_OK) {
        rs.error = rc;
        rs.message = why[0] ? why : srd_strerror(rc);
        srv_log_refusal(rq, rc, why);
    }
    if (rc == SRD_EPERM) /* a refused peer learns nothing of the store */
        rs.generation = rs.committed_tail = 0;
    nng_msg *reply = reply_encode(&rs);
    srv_request_free(c);
    nng_msg_free(m);
    srv_send(c, reply);
}

static void srv_cb(void *arg)
{
    srv_ctx *c = arg;
    server *s = c->srv;
    int rv = nng_aio_result(c->aio);
    nng_msg *m = nng_aio_get_msg(c->aio);
    nng_aio_set_msg(c->aio, NULL); /* the aio never keeps a stale pointer */
    if (c->state == SRV_SEND) {
        if (rv != 0)
            nng_msg_free(m); /* a failed send leaves the message to us */
        if (rv == NNG_ETIMEDOUT)
            srv_drop_peer(c, "left a reply unread for "
                             "2 s (SERVER_SEND_MS)");
        atomic_fetch_sub(&s->busy, 1);
        srv_idle(c);
        return;
    }
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
        return; /* the socket is closing: this context is done */
    if (rv != 0) {
        log_warn("receive failed: %s", nng_strerror(rv));
        srv_token_pass(s);
        srv_idle(c);
        return;
    }
    atomic_fetch_add(&s->busy, 1);
    srv_handle(c, m);
}

/* ======================================================================== */
/* Setup and teardown                                                       */
/* ======================================================================== */

static int srv_ctx_init(server *s, srv_ctx *c)
{
    c->srv = s;
    int rv = nng_ctx_open(&c->ctx, s->sock);
    if (rv == 0) {
        rv = nng_aio_alloc(&c->aio, srv_cb, c);
        if (rv != 0)
            nng_ctx_close(c->ctx);
    }
    return rv;
}

/* A connection closed: its unfinished streams can never end. */
static void srv_pipe_left(void *arg, uint32_t pipe_id)
{
    server *s = arg;
    streams_drop_owner(s->c.ss, pipe_id);
}

srd_err server_start(const server_conf *conf, server **out, char *why)
{
    server *s = calloc(1, sizeof *s);
    if (!s)
        return SRD_ENOMEM;
    s->c = *conf;
    pthread_mutex_init(&s->mu, NULL);
    s->ctxs = calloc(conf->contexts, sizeof *s->ctxs);
    int rv = s->ctxs ? nng_rep0_open(&s->sock) : NNG_ENOMEM;
    if (rv != 0) {
        snprintf(why, 256, "cannot open the REP socket: %s",
                 nng_strerror(rv));
        free(s->ctxs);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return SRD_EUNREACHABLE;
    }
    while (rv == 0 && s->n_ctx < conf->contexts) {
        rv = srv_ctx_init(s, &s->ctxs[s->n_ctx]);
        s->n_ctx += rv == 0;
    }
    if (rv != 0)
        snprintf(why, 256, "cannot set up %u contexts: %s", conf->contexts,
                 nng_strerror(rv));
    else
        rv = listen_guarded(s->sock, conf->listen_url, conf->socket_mode,
                            conf->max_message + SERVER_RECV_SLACK,
                            NNG_REQ0_SELF, &s->guard, why);
    if (rv != 0) {
        server_close(s, 0);
        return SRD_EUNREACHABLE;
    }
    listen_guard_on_leave(s->guard, srv_pipe_left, s);
    for (unsigned i = 0; i < s->n_ctx; i++)
        srv_idle(&s->ctxs[i]);
    *out = s;
    return SRD_OK;
}

listen_guard *server_guard(server *s)
{
    return s->guard;
}

void server_stop_accepting(server *s)
{
    atomic_store(&s->stopping, true);
    listen_guard_stop(s->guard);
}

bool server_close(server *s, unsigned timeout_ms)
{
    if (!s)
        return true;
    uint64_t until = stats_now_ms() + timeout_ms;
    while (atomic_load(&s->busy) > 0 && stats_now_ms() < until)
        nng_msleep(5);
    if (timeout_ms)
        nng_msleep(50); /* let the last replies leave the pipes */
    /* Stop every aio before closing the socket: NNG 1.5.2 can hang in
     * nng_close when a context operation starts while the socket closes
     * (nanomsg/nng#1813), and with `closing` set nothing re-arms. */
    atomic_store(&s->closing, true);
    if (s->guard)
        listen_guard_on_leave(s->guard, NULL, NULL);
    for (unsigned i = 0; i < s->n_ctx; i++) {
        nng_aio_stop(s->ctxs[i].aio);
        /* NNG 1.5.2 may stop a send without calling back (the same race
         * as above): the reply is then still on the aio. */
        nng_msg_free(nng_aio_get_msg(s->ctxs[i].aio));
        nng_aio_set_msg(s->ctxs[i].aio, NULL);
    }
    if (!listen_close(s->sock, SERVER_CLOSE_MS)) {
        log_warn("the request socket did not close within %u ms (an NNG "
                 "1.5.2 issue); exiting without waiting for it",
                 SERVER_CLOSE_MS);
        return false;
    }
    for (unsigned i = 0; i < s->n_ctx; i++)
        nng_aio_free(s->ctxs[i].aio);
    listen_guard_free(s->guard);
    pthread_mutex_destroy(&s->mu);
    free(s->ctxs);
    free(s);
    return true;
}
