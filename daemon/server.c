/* SPDX-License-Identifier: MIT */
/*
 * server.c -- srdd's request handling (see server.h), on the loop thread
 * of the request socket (netloop.h). Each frame is one request:
 *
 *     frame --check, decode--+--(direct op)--> reply queued at once
 *                            +--(mutation)---> this pass's group
 *                            +--(compact)----> compactor, replies later
 *
 * and at the end of every pass (on_pass) the mutations of every ready
 * connection, in arrival order, are committed as ONE group on this thread
 * (group_commit: one append pass, one fdatasync, one IndexUpdate), whose
 * replies the loop then writes. No request changes threads on its way;
 * while a group syncs, new requests wait in the sockets and form the next
 * group. Before that commit the pass may wait a little for more writers
 * (on_gather: gather.h decides from the connections counted in the
 * batch, the previous durable group's and its measured sync time).
 *
 * Order: one connection's requests are decoded and queued in the order
 * they arrived, so of two pipelined writes of one key the later one wins.
 *
 * Memory: what decoding a request allocates is bounded before it is
 * decoded (wire.h: at most twice --max-message plus 1 MiB), and the
 * decoded requests held at once to server_decode_budget(): past it a
 * request is refused with SRD_EBUSY unless none is held.
 *
 * Stopping: server_stop_accepting waits until the loop has finished its
 * pass; from then on every request gets SRD_EUNREACHABLE without touching
 * the store, group commit or the compactor (which may be gone).
 */
#include "srd_features.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gather.h"
#include "log.h"
#include "netloop.h"
#include "reply.h"
#include "server.h"
#include "store_impl.h"

/* Decoded requests held at once, at least (see server_decode_budget). */
#define SERVER_DECODE_MIN ((uint64_t)64 << 20)

/* One request between its frame and its reply. */
typedef struct srv_req {
    server *srv;
    nconn *conn;     /* referenced until the reply is queued */
    uint64_t cost;   /* decoding memory charged for it to `held` */
    group_job job;
} srv_req;

struct server {
    server_conf c;
    netloop *nl;
    group_job *batch, *batch_tail; /* this pass's mutations (loop) */
    uint64_t pass;                 /* passes so far (loop): nconn_mark */
    unsigned conns;                /* connections in batch (loop) */
    gather ga;                     /* commit gather (loop) */
    uint64_t gather_start;         /* when this pass began to gather */
    pthread_mutex_t mu;            /* stop handshake */
    pthread_cond_t cv;
    bool acked;                    /* the loop saw `stopping` */
    _Atomic bool stopping;
    _Atomic uint64_t held;         /* decoding memory of requests held */
};

/* ======================================================================== */
/* Requests                                                                 */
/* ======================================================================== */

static uint64_t server_decode_budget(const server *s)
{
    uint64_t b = 4 * (uint64_t)s->c.max_message;
    return b > SERVER_DECODE_MIN ? b : SERVER_DECODE_MIN;
}

/* Charge what decoding m will allocate, or refuse (SRD_ETOOBIG: too much
 * for any request; SRD_EBUSY: too much while others are held). */
static srd_err srv_charge(srv_req *r, nng_msg *m, char *why)
{
    server *s = r->srv;
    uint64_t cost;
    r->cost = 0;
    srd_err rc = srdi_wire_request_cost(nng_msg_body(m), nng_msg_len(m),
                                        s->c.max_message, &cost, &r->job.rq,
                                        why);
    if (rc != SRD_OK)
        return rc;
    uint64_t held = atomic_fetch_add(&s->held, cost);
    r->cost = cost;
    if (held == 0 || held + cost <= server_decode_budget(s))
        return SRD_OK;
    snprintf(why, SRDI_WIRE_WHY, "srdd holds %" PRIu64 " MiB of decoded "
             "requests (limit %" PRIu64 " MiB); retry", held >> 20,
             server_decode_budget(s) >> 20);
    return SRD_EBUSY;
}

/* Queue reply on r's connection and free r with its request. */
static void srv_req_done(srv_req *r, nng_msg *reply)
{
    if (!reply)
        log_error("no memory for a reply; the request goes unanswered");
    srdi_wire_request_free(&r->job.rq);
    atomic_fetch_sub(&r->srv->held, r->cost);
    nng_msg_free(r->job.msg);
    nconn_send(r->conn, reply);
    nconn_unref(r->conn);
    free(r);
}

/* Group commit (this thread, in on_pass) or compactor: the reply is
 * ready. */
static void srv_job_done(group_job *job, nng_msg *reply)
{
    srv_req_done(job->owner, reply);
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
    h->shared_index = srdi_store_shared_kept(s->c.st);
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
    rs->stats.clients = netloop_conns(s->nl);
    return SRD_OK;
}

/* Everything but mutations, answered here. */
static srd_err srv_direct(srv_req *r, const srdi_wire_request *rq,
                          srdi_wire_response *rs, char *why)
{
    server *s = r->srv;
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
                             nconn_id(r->conn),
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
static srd_err srv_check_peer(server *s, nconn *conn,
                              const srdi_wire_request *rq, char *why)
{
    uint32_t uid;
    int32_t pid;
    if (s->c.n_uids == 0)
        return SRD_OK;
    if (!nconn_peer(conn, &uid, &pid)) {
        snprintf(why, SRDI_WIRE_WHY,
                 "cannot tell the peer's uid (not a Unix connection?); "
                 "--allow-uid refuses it");
        return SRD_EPERM;
    }
    for (unsigned i = 0; i < s->c.n_uids; i++)
        if (s->c.uids[i] == uid)
            return SRD_OK;
    snprintf(why, SRDI_WIRE_WHY, "uid %" PRIu32 " may not %s on this store "
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

/* Hand a mutation to this pass's group, or a compaction to the
 * compactor; SRD_OK when taken (the reply comes from there). */
static srd_err srv_submit(srv_req *r, nng_msg *m, char *why)
{
    server *s = r->srv;
    r->job.msg = m;
    r->job.done = srv_job_done;
    r->job.owner = r;
    if (r->job.rq.op == SRDI_WIRE_COMPACT) {
        srd_err rc = compactor_submit(s->c.cmp, &r->job, why);
        if (rc != SRD_OK)
            r->job.msg = NULL;
        return rc;
    }
    r->job.next = NULL;
    if (nconn_mark(r->conn, s->pass + 1)) /* 0: no pass yet */
        s->conns++;
    if (s->batch_tail)
        s->batch_tail->next = &r->job;
    else
        s->batch = &r->job;
    s->batch_tail = &r->job;
    return SRD_OK;
}

/* Requests answered later (end of the pass, or the compactor). */
static bool srv_deferred(const srdi_wire_request *rq)
{
    return srdi_wire_op_mutates(rq->op) || rq->op == SRDI_WIRE_COMPACT;
}

/* Check, decode, check the peer; SRD_OK with *queued when the group or
 * the compactor took the request (and will reply). */
static srd_err srv_order(srv_req *r, nng_msg *m, bool *queued, char *why)
{
    server *s = r->srv;
    srdi_wire_request *rq = &r->job.rq;
    *queued = false;
    atomic_fetch_add(&s->c.ctr->requests, 1);
    srd_err rc = srv_charge(r, m, why);
    if (rc == SRD_OK) /* size and cost checked by the charge: max 0 */
        rc = srdi_wire_request_decode(nng_msg_body(m), nng_msg_len(m), 0,
                                      rq, why);
    if (rc == SRD_OK)
        rc = srv_check_peer(s, r->conn, rq, why);
    if (rc == SRD_OK && srv_deferred(rq)) {
        rc = srv_submit(r, m, why);
        *queued = rc == SRD_OK;
    }
    return rc;
}

static void srv_handle(srv_req *r, nng_msg *m)
{
    server *s = r->srv;
    char why[SRDI_WIRE_WHY] = "";
    srdi_wire_request *rq = &r->job.rq;
    srdi_wire_response rs;
    bool queued;

    srd_err rc = srv_order(r, m, &queued, why);
    if (queued)
        return;
    srv_response(s, rq, &rs);
    if (rc == SRD_OK) {
        rc = srv_direct(r, rq, &rs, why);
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
    r->job.msg = m;
    srv_req_done(r, reply_encode(&rs));
}

/* Stopping: every request is refused, without a look at the store. */
static void srv_refuse(srv_req *r, nng_msg *m)
{
    char why[SRDI_WIRE_WHY];
    r->job.msg = m;
    uint64_t seq = srdi_wire_request_decode(nng_msg_body(m), nng_msg_len(m),
                                            r->srv->c.max_message, &r->job.rq,
                                            why) == SRD_OK
                       ? r->job.rq.seq
                       : 0;
    srv_req_done(r, reply_status(seq, SRD_EUNREACHABLE,
                                 "srdd is shutting down; retry later", 0));
}

/* ======================================================================== */
/* Loop callbacks                                                           */
/* ======================================================================== */

static void srv_on_frame(void *arg, nconn *c, nng_msg *m)
{
    server *s = arg;
    srv_req *r = calloc(1, sizeof *r);
    if (!r) {
        log_error("no memory for a request; it goes unanswered");
        nng_msg_free(m);
        return;
    }
    r->srv = s;
    r->conn = c;
    nconn_ref(c);
    if (atomic_load(&s->stopping))
        srv_refuse(r, m);
    else
        srv_handle(r, m);
}

static void srv_on_oversize(void *arg, nconn *c, uint64_t len)
{
    server *s = arg;
    char why[SRDI_WIRE_WHY];
    snprintf(why, sizeof why, "message of %" PRIu64 " bytes is larger than "
             "--max-message (%zu); connection closed", len,
             s->c.max_message);
    log_warn("a peer sent %s", why);
    nconn_send(c, reply_status(0, SRD_ETOOBIG, why, 0));
}

/* Before a pass's group: wait for more writers? (gather.h; the clock
 * is read only when the counts allow a wait.) */
static uint64_t srv_on_gather(void *arg, int events)
{
    server *s = arg;
    if (atomic_load(&s->stopping) ||
        !gather_may_wait(&s->ga, s->conns, events))
        return 0;
    uint64_t now = stats_now_ns();
    if (events < 0)
        s->gather_start = now;
    return gather_budget(&s->ga, events < 0, s->gather_start, now);
}

/* End of a pass: commit this pass's mutations as one group. The next
 * wait spins unless the group synced the writes of one connection: a
 * lone durable writer waits for its reply asleep (its own spin backs off
 * on replies slower than the bound), so its next request comes only
 * after a wake, and a spin here only holds this vCPU while the woken
 * client goes to a halted one (PERFORMANCE.md, "Stop 23"). With more
 * writers the next requests are already on their way. */
static bool srv_on_pass(void *arg)
{
    server *s = arg;
    group_job *list = s->batch;
    s->batch = s->batch_tail = NULL;
    unsigned conns = s->conns;
    s->conns = 0;
    s->pass++;
    group_commit(s->c.grp, list);
    uint64_t sync_ns = list ? group_sync_ns(s->c.grp) : 0;
    if (sync_ns > 0)
        gather_note_group(&s->ga, conns, sync_ns, stats_now_ns());
    if (atomic_load(&s->stopping)) {
        pthread_mutex_lock(&s->mu);
        s->acked = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    return sync_ns == 0 || conns > 1;
}

/* A connection closed: its unfinished streams can never end. */
static void srv_on_close(void *arg, nconn *c)
{
    server *s = arg;
    streams_drop_owner(s->c.ss, nconn_id(c));
}

/* ======================================================================== */
/* Setup and teardown                                                       */
/* ======================================================================== */

srd_err server_start(const server_conf *conf, server **out, char *why)
{
    server *s = calloc(1, sizeof *s);
    if (!s)
        return SRD_ENOMEM;
    s->c = *conf;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    netloop_conf nc = {conf->listen_url, conf->socket_mode,
                       conf->max_message + SERVER_RECV_SLACK, s,
                       srv_on_frame, srv_on_oversize, srv_on_pass,
                       srv_on_close, conf->spin_us, srv_on_gather};
    if (netloop_start(&nc, &s->nl, why) != 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return SRD_EUNREACHABLE;
    }
    *out = s;
    return SRD_OK;
}

void server_stop_accepting(server *s)
{
    atomic_store(&s->stopping, true);
    netloop_stop_listening(s->nl); /* also wakes the loop */
    pthread_mutex_lock(&s->mu);
    while (!s->acked)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

void server_close(server *s, unsigned timeout_ms)
{
    if (!s)
        return;
    netloop_close(s->nl, timeout_ms);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

uint64_t server_clients(server *s)
{
    return netloop_conns(s->nl);
}
