/* SPDX-License-Identifier: MIT */
/*
 * client.c -- client mode: srdd is the writer; this handle maps the store
 * read-only, keeps its index current from srdd's published index updates
 * (repairing any gap by walking the file itself) and sends its writes to
 * srdd over REQ/REP, blocking or pipelined (docs/CLIENT.md).
 *
 * Invariants
 *   1. c->tail (under st->mu) is an entry end of the mapped file below
 *      which every entry is in the index. It only moves by adopting a whole
 *      published group that starts at it, or by walking the file up to a
 *      tail srdd reported (the walk checks the chain reaches c->tail).
 *   2. The mapping's committed tail may run ahead of c->tail (a reply
 *      raises it over the writer's own entries), never past a tail srdd
 *      reported for the file mapped, and never past that file's size.
 *   3. A lane carries one request at a time under its own client id, so
 *      srdd's one-remembered-reply-per-client-id dedup covers any request
 *      NNG resends after a reconnect. Requests in flight when the
 *      connection drops are cancelled (SRD_EUNREACHABLE), so such resends
 *      are rare and a failed write is the caller's to retry.
 *   4. Everything about the file (generation, identity, tail) is checked
 *      in a handshake (Hello) after every new connection and at least
 *      every SRD_POLL_MS while no update arrives; a mismatch reloads.
 *
 * Lane states (one nng_ctx + one nng_aio each):
 *
 *   free --submit--> sending --sent--> receiving --reply/error--> free
 *                       \--error/timeout-----------------------^
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "client.h"
#include "format.h"
#include "nngclose.h"
#include "store_impl.h"
#include "wire.h"

#define CL_LANES 32               /* requests in flight per handle */
#define CL_CHUNK (1u << 20)       /* stream chunk size */
#define CL_HEADROOM 4096u         /* bytes a request header may take */
#define CL_TIMEOUT_MS 5000u       /* default SRD_TIMEOUT_MS */
#define CL_POLL_MS 1000u          /* default SRD_POLL_MS */
#define CL_TICK_MS 100            /* subscriber wake-up period */
#define CL_CLOSE_MS 3000u         /* longest wait for nng_close */
#define CL_URL_MAX 512
#define CL_GROUP_MAX 4096u        /* queued async puts sent in one batch */
#define CL_QUEUE_BYTES ((size_t)64 << 20) /* queued async puts, at most */

/* ======================================================================== */
/* Types                                                                    */
/* ======================================================================== */

/* One request's completion: blocking callers wait for done; asynchronous
 * ones (fn set) are freed by the completion after fn returns. */
typedef struct cl_call {
    srd_err rc;
    bool done;                /* under c->mu */
    bool stale;               /* entries not applied: connection unchecked */
    srdi_wire_response rs;    /* the decoded reply (blocking callers) */
    srd_done_fn fn;           /* srd_put_async's callback */
    void *arg;
    nng_duration timeout;     /* 0: the client's (SRD_TIMEOUT_MS) */
} cl_call;

/* An srd_put_async that found every lane busy: key and value are copied
 * behind the struct. Queued puts leave together, as one PutBatch, on the
 * next lane that frees up (cl_finish). */
typedef struct cl_qput {
    struct cl_qput *next;
    srd_done_fn fn;
    void *arg;
    srd_val key, value;
} cl_qput;

typedef struct cl_lane {
    srdi_client *c;
    nng_ctx ctx;
    nng_aio *aio;
    uint64_t id;              /* this lane's client_id */
    uint64_t seq;             /* its last sequence number */
    bool receiving;           /* the send half is done */
    bool pinned;              /* owned by a stream: srdd knows the stream
                                 by this lane's client id */
    cl_call *call;            /* the request in flight, NULL when free */
    struct cl_lane *next;     /* free list */
} cl_lane;

struct srdi_client {
    srd_store *st;
    nng_socket req, sub;
    nng_duration timeout;          /* per send and per receive */
    unsigned poll_ms;              /* handshake when nothing heard */
    bool log_errors;               /* SRD_CLIENT_LOG=1: print refusals */
    _Atomic size_t max_message;    /* largest request srdd accepts */
    pthread_mutex_t mu;            /* lanes, calls, pending, async_err */
    pthread_cond_t cv;
    cl_lane *lanes[CL_LANES];
    size_t n_lanes;
    cl_lane *free_lanes;
    size_t pending;                /* asynchronous writes in flight */
    cl_qput *q_head, *q_tail;      /* async puts waiting for a lane */
    size_t q_bytes;                /* their keys and values */
    srd_err async_err;             /* first one failed since srd_flush */
    pthread_mutex_t hello_mu;      /* one handshake at a time */
    atomic_uint epoch;             /* bumped before any new pipe starts */
    atomic_uint verified;          /* epoch the last handshake checked */
    atomic_bool lost;              /* lost track of srdd's file */
    atomic_int pipes;              /* REQ pipes connected */
    atomic_bool stop;
    pthread_t thread;
    bool thread_started;
    uint64_t gen;                  /* generation of the mapped file (st->mu) */
    uint64_t tail;                 /* invariant 1 (st->mu) */
};

struct srdi_cstream {
    srdi_client *c;
    cl_lane *lane;   /* pinned: srdd knows the stream by its client id */
    uint64_t id;     /* srdd's stream id */
    uint8_t *buf;    /* bytes not yet sent */
    size_t n, cap;
    srd_err failed;  /* first error; the stream is then aborted */
};

/* What a handshake learned (HelloReply without its strings). */
typedef struct cl_hello_info {
    uint64_t dev, ino, generation, tail, max_message;
} cl_hello_info;

/* ======================================================================== */
/* Small helpers                                                            */
/* ======================================================================== */

static uint64_t cl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static unsigned cl_env_uint(const char *name, unsigned dflt, unsigned min,
                            unsigned max)
{
    const char *s = getenv(name);
    char *end;
    if (!s || !*s)
        return dflt;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return dflt;
    return (unsigned)v;
}

/* "<path><suffix>" into buf; false when it does not fit. */
static bool cl_sibling(const char *path, const char *suffix, char *buf,
                       size_t cap)
{
    int n = snprintf(buf, cap, "%s%s", path, suffix);
    return n > 0 && (size_t)n < cap;
}

static bool val_ok(srd_val v)
{
    return v.ptr != NULL || v.len == 0;
}

static srd_err cl_check_pair(srd_val key, srd_val value)
{
    if (!val_ok(key) || !val_ok(value) ||
        srdi_format_check_value(value.ptr, value.len) != SRD_OK)
        return SRD_EINVAL;
    return SRD_OK;
}

/* NNG's verdict on a request, as an srd_err. */
static srd_err cl_nng_err(srdi_client *c, int rv, bool receiving)
{
    switch (rv) {
    case NNG_ENOMEM:
        return SRD_ENOMEM;
    case NNG_EPERM:
        return SRD_EPERM;
    case NNG_EMSGSIZE:
        return SRD_ETOOBIG;
    case NNG_ETIMEDOUT:
        return receiving && atomic_load(&c->pipes) > 0 ? SRD_ETIMEDOUT
                                                       : SRD_EUNREACHABLE;
    default:
        return SRD_EUNREACHABLE;
    }
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

/* ======================================================================== */
/* Following the file (all under st->mu)                                    */
/* ======================================================================== */

static bool cl_same_file(int fd, const cl_hello_info *h)
{
    struct stat sb;
    return fstat(fd, &sb) == 0 && (uint64_t)sb.st_dev == h->dev &&
           (uint64_t)sb.st_ino == h->ino;
}

/* Invariant 2: never trust a tail past the end of the file mapped. */
static bool cl_tail_in_file(const srdi_client *c, uint64_t tail)
{
    struct stat sb;
    return fstat(c->st->ro_fd, &sb) == 0 && (uint64_t)sb.st_size >= tail;
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
    bool same = !id || cl_same_file(st->ro_fd, id);
    if (!same || gen != c->gen || tail < c->tail) {
        rc = srdi_store_reload(st, tail, NULL);
        if (rc == SRD_OK && id && !cl_same_file(st->ro_fd, id))
            rc = SRD_ESTATE; /* srdd writes another file than our path */
        if (rc == SRD_OK) {
            c->gen = gen;
            c->tail = tail;
        }
    } else if (tail > c->tail) {
        rc = cl_tail_in_file(c, tail) ? srdi_store_catch_up(st, c->tail,
                                                            tail, NULL)
                                      : SRD_ECORRUPT;
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
        cl_tail_in_file(c, up->to_tail) &&
        srdi_store_adopt(c->st, up->entries, up->n_entries, up->to_tail) ==
            SRD_OK) {
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
 * This runs in NNG's callback: nothing slow happens here.
 */
static void cl_on_reply(srdi_client *c, const srdi_wire_response *rs,
                        bool *stale)
{
    srd_store *st = c->st;
    pthread_mutex_lock(&st->mu);
    bool ok = !cl_need_hello(c) && rs->generation == c->gen &&
              cl_tail_in_file(c, rs->committed_tail);
    if (ok) {
        uint64_t entries = st->entries;
        ok = srdi_store_adopt(st, rs->entries, rs->n_entries,
                              rs->committed_tail) == SRD_OK;
        st->entries = entries;
    }
    if (!ok) {
        atomic_store(&c->lost, true);
        *stale = true;
    }
    pthread_mutex_unlock(&st->mu);
}

/* ======================================================================== */
/* Lanes: one request in flight each                                        */
/* ======================================================================== */

static void cl_lane_cb(void *arg);
static srd_err cl_hello_if(srdi_client *c, bool force);

static srd_err cl_lane_new(srdi_client *c, cl_lane **out)
{
    cl_lane *l = calloc(1, sizeof *l);
    if (!l)
        return SRD_ENOMEM;
    l->c = c;
    l->id = cl_random_id();
    int rv = nng_aio_alloc(&l->aio, cl_lane_cb, l);
    if (rv == 0) {
        rv = nng_ctx_open(&l->ctx, c->req);
        if (rv != 0)
            nng_aio_free(l->aio);
    }
    if (rv != 0) {
        free(l);
        return cl_nng_err(c, rv, false);
    }
    /* No resend by timer: a retry must be ours, under a new sequence. */
    nng_ctx_set_ms(l->ctx, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    *out = l;
    return SRD_OK;
}

/* Caller holds c->mu. A free lane (created on demand), or *out = NULL
 * when all CL_LANES are busy. */
static srd_err cl_lane_try(srdi_client *c, cl_lane **out)
{
    *out = NULL;
    if (atomic_load(&c->stop))
        return SRD_EUNREACHABLE; /* closing: no new requests */
    if (c->free_lanes) {
        *out = c->free_lanes;
        c->free_lanes = (*out)->next;
        return SRD_OK;
    }
    if (c->n_lanes == CL_LANES)
        return SRD_OK;
    srd_err rc = cl_lane_new(c, out);
    if (rc == SRD_OK)
        c->lanes[c->n_lanes++] = *out;
    return rc;
}

/* A free lane, created on demand; waits while CL_LANES are busy. */
static srd_err cl_lane_get(srdi_client *c, cl_lane **out)
{
    pthread_mutex_lock(&c->mu);
    while (!c->free_lanes && c->n_lanes == CL_LANES &&
           !atomic_load(&c->stop))
        pthread_cond_wait(&c->cv, &c->mu);
    srd_err rc = cl_lane_try(c, out);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* Caller holds c->mu. */
static void cl_lane_put(srdi_client *c, cl_lane *l)
{
    l->call = NULL;
    l->next = c->free_lanes;
    c->free_lanes = l;
    pthread_cond_broadcast(&c->cv);
}

static void cl_send_group(srdi_client *c, cl_lane *l, cl_qput *q);

/* Caller holds c->mu: detach up to CL_GROUP_MAX queued puts that fit in
 * one message. */
static cl_qput *cl_queue_take(srdi_client *c)
{
    size_t room = atomic_load(&c->max_message) - CL_HEADROOM;
    cl_qput *head = c->q_head, *last = head;
    size_t n = 1, bytes = head->key.len + head->value.len;
    while (last->next && n < CL_GROUP_MAX) {
        /* 16: what protobuf adds per entry, generously */
        size_t more = last->next->key.len + last->next->value.len + 16;
        if (bytes + more > room)
            break;
        bytes += more;
        last = last->next;
        n++;
    }
    c->q_head = last->next;
    if (!c->q_head)
        c->q_tail = NULL;
    last->next = NULL;
    for (cl_qput *q = head; q; q = q->next)
        c->q_bytes -= q->key.len + q->value.len;
    pthread_cond_broadcast(&c->cv); /* room in the queue */
    return head;
}

/* The request of lane l ended with rc: free the lane (or give it the
 * queued puts), then tell the caller (asynchronous callbacks run after
 * the lane is free again). */
static void cl_finish(cl_lane *l, srd_err rc)
{
    srdi_client *c = l->c;
    cl_call *call = l->call;
    cl_qput *queued = NULL;
    pthread_mutex_lock(&c->mu);
    if (l->pinned)
        l->call = NULL;
    else if (c->q_head)
        queued = cl_queue_take(c); /* l stays busy: it carries them */
    else
        cl_lane_put(c, l);
    if (!call->fn) {
        call->rc = rc;
        call->done = true; /* the waiter may free call from now on */
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    } else {
        pthread_mutex_unlock(&c->mu);
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
    if (queued)
        cl_send_group(c, l, queued);
}

/* Lane l is done with its request: free it, or give it the queued puts
 * (a lane only frees up here or in cl_finish, so none stay queued while
 * a lane is free). */
static void cl_lane_release(srdi_client *c, cl_lane *l)
{
    pthread_mutex_lock(&c->mu);
    cl_qput *queued = c->q_head ? cl_queue_take(c) : NULL;
    if (!queued)
        cl_lane_put(c, l);
    pthread_mutex_unlock(&c->mu);
    if (queued)
        cl_send_group(c, l, queued);
}

/* Decode the reply on l's aio into l->call->rs and apply its entries. */
static srd_err cl_take_reply(cl_lane *l)
{
    nng_msg *m = nng_aio_get_msg(l->aio);
    nng_aio_set_msg(l->aio, NULL);
    srdi_wire_response *rs = &l->call->rs;
    char why[SRDI_WIRE_WHY];
    srd_err rc = srdi_wire_response_decode(nng_msg_body(m), nng_msg_len(m),
                                           0, rs, why);
    nng_msg_free(m);
    if (rc != SRD_OK)
        return rc == SRD_ENOMEM ? rc : SRD_EPROTO;
    if (rs->seq != l->seq)
        return SRD_EPROTO;
    if (rs->error != SRD_OK) {
        if (l->c->log_errors)
            fprintf(stderr, "srd client: srdd refused a request: %s: %s\n",
                    srd_errname(rs->error), rs->message ? rs->message : "");
        return rs->error;
    }
    if (rs->n_entries > 0)
        cl_on_reply(l->c, rs, &l->call->stale);
    return SRD_OK;
}

static void cl_lane_cb(void *arg)
{
    cl_lane *l = arg;
    srdi_client *c = l->c;
    int rv = nng_aio_result(l->aio);
    if (!l->receiving) {
        if (rv == 0) {
            l->receiving = true;
            nng_aio_set_timeout(l->aio, l->call && l->call->timeout
                                            ? l->call->timeout
                                            : c->timeout);
            nng_ctx_recv(l->ctx, l->aio);
            return;
        }
        nng_msg_free(nng_aio_get_msg(l->aio)); /* still ours on failure */
        nng_aio_set_msg(l->aio, NULL);
        cl_finish(l, cl_nng_err(c, rv, false));
        return;
    }
    cl_finish(l, rv == 0 ? cl_take_reply(l) : cl_nng_err(c, rv, true));
}

/* Encode rq for lane l (its client id and next sequence number). */
static srd_err cl_encode(srdi_client *c, cl_lane *l, srdi_wire_request *rq,
                         nng_msg **out)
{
    rq->version = SRDI_WIRE_VERSION;
    rq->client_id = l->id;
    rq->seq = ++l->seq;
    size_t len;
    srd_err rc = srdi_wire_request_size(rq, &len);
    if (rc != SRD_OK)
        return rc;
    if (len > atomic_load(&c->max_message))
        return SRD_ETOOBIG;
    nng_msg *m;
    if (nng_msg_alloc(&m, len) != 0)
        return SRD_ENOMEM;
    rc = srdi_wire_request_encode(rq, nng_msg_body(m), len);
    if (rc != SRD_OK) {
        nng_msg_free(m);
        return rc;
    }
    *out = m;
    return SRD_OK;
}

/* Send rq on lane pin, or on a free lane when pin is NULL; call completes
 * later (cl_finish). */
static srd_err cl_submit(srdi_client *c, cl_lane *pin, srdi_wire_request *rq,
                         cl_call *call)
{
    cl_lane *l = pin;
    nng_msg *m = NULL;
    srd_err rc = pin ? SRD_OK : cl_lane_get(c, &l);
    if (rc != SRD_OK)
        return rc;
    rc = cl_encode(c, l, rq, &m);
    if (rc != SRD_OK) {
        if (!pin)
            cl_lane_release(c, l);
        return rc;
    }
    l->call = call;
    l->receiving = false;
    nng_aio_set_msg(l->aio, m);
    nng_aio_set_timeout(l->aio, call && call->timeout ? call->timeout
                                                      : c->timeout);
    nng_ctx_send(l->ctx, l->aio);
    return SRD_OK;
}

/* Send rq (on lane pin, or any when NULL) and wait for its reply. *rs
 * (may be NULL) receives the reply, to be freed by the caller, also on
 * error. */
static srd_err cl_roundtrip_for(srdi_client *c, cl_lane *pin,
                                srdi_wire_request *rq, srdi_wire_response *rs,
                                nng_duration timeout)
{
    cl_call call;
    memset(&call, 0, sizeof call);
    call.timeout = timeout;
    srd_err rc = cl_submit(c, pin, rq, &call);
    if (rc == SRD_OK) {
        pthread_mutex_lock(&c->mu);
        while (!call.done)
            pthread_cond_wait(&c->cv, &c->mu);
        pthread_mutex_unlock(&c->mu);
        rc = call.rc;
    }
    /* Read-your-writes after a reconnect: the handshake catches up with
     * srdd's tail, which includes this write. */
    if (rc == SRD_OK && call.stale)
        cl_hello_if(c, false);
    if (rs)
        *rs = call.rs;
    else
        srdi_wire_response_free(&call.rs);
    return rc;
}

static srd_err cl_roundtrip(srdi_client *c, cl_lane *pin,
                            srdi_wire_request *rq, srdi_wire_response *rs)
{
    return cl_roundtrip_for(c, pin, rq, rs, 0);
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
    srd_err rc = cl_roundtrip(c, NULL, &rq, &rs);
    if (rc == SRD_OK && !rs.has_hello)
        rc = SRD_EPROTO;
    if (rc == SRD_OK && rs.hello.protocol_version != SRDI_WIRE_VERSION)
        rc = SRD_EVERSION;
    if (rc == SRD_OK) {
        *h = (cl_hello_info){rs.hello.store_dev, rs.hello.store_ino,
                             rs.hello.generation, rs.hello.committed_tail,
                             rs.hello.max_message};
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
    unsigned epoch = atomic_load(&c->epoch);
    atomic_store(&c->lost, false);
    cl_hello_info h;
    srd_err rc = cl_handshake(c, &h);
    if (rc == SRD_OK) {
        pthread_mutex_lock(&c->st->mu);
        rc = cl_follow(c, h.generation, h.tail, &h);
        if (rc == SRD_OK)
            atomic_store(&c->verified, epoch);
        pthread_mutex_unlock(&c->st->mu);
    }
    if (rc != SRD_OK)
        atomic_store(&c->lost, true);
    return rc;
}

/* Handshake if one is due (force: in any case). */
static srd_err cl_hello_if(srdi_client *c, bool force)
{
    if (!force && !cl_need_hello(c))
        return SRD_OK;
    pthread_mutex_lock(&c->hello_mu);
    srd_err rc = force || cl_need_hello(c) ? cl_hello(c) : SRD_OK;
    pthread_mutex_unlock(&c->hello_mu);
    return rc;
}

/* A write: handshake first if the connection is new, then round trip
 * (on lane pin, or any when NULL). */
static srd_err cl_write(srdi_client *c, cl_lane *pin, srdi_wire_request *rq,
                        srdi_wire_response *rs)
{
    srd_err rc = cl_hello_if(c, false);
    if (rc != SRD_OK) {
        if (rs)
            memset(rs, 0, sizeof *rs);
        return rc;
    }
    return cl_roundtrip(c, pin, rq, rs);
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
    pthread_mutex_lock(&c->st->mu);
    cl_on_update(c, &up);
    pthread_mutex_unlock(&c->st->mu);
    srdi_wire_update_free(&up);
}

static void *cl_main(void *arg)
{
    srdi_client *c = arg;
    uint64_t heard = cl_now_ms();
    while (!atomic_load(&c->stop)) {
        nng_msg *m;
        int rv = nng_recvmsg(c->sub, &m, 0);
        if (rv == NNG_ECLOSED)
            break;
        uint64_t now = cl_now_ms();
        if (rv == 0) {
            cl_take_update(c, m);
            heard = now;
        }
        /* Invariant 4: a quiet line may mean every update was lost. */
        bool quiet = now - heard >= c->poll_ms;
        if (quiet || cl_need_hello(c)) {
            if (atomic_load(&c->pipes) > 0)
                cl_hello_if(c, quiet);
            heard = cl_now_ms();
        }
    }
    return NULL;
}

/* ======================================================================== */
/* Open and close                                                           */
/* ======================================================================== */

bool srdi_client_flags_ok(unsigned flags)
{
    if (!(flags & SRD_OPEN_CLIENT))
        return true;
    return !(flags & (SRD_OPEN_EMBEDDED | SRD_OPEN_READONLY));
}

bool srdi_client_wanted(const char *path, unsigned flags, srd_err lock_rc)
{
    if (flags & SRD_OPEN_CLIENT)
        return true;
    if (flags & (SRD_OPEN_EMBEDDED | SRD_OPEN_READONLY))
        return false;
    /* Held, or not ours to take (no write permission, read-only fs). */
    bool denied = lock_rc == SRD_EPERM ||
                  lock_rc == (srd_err)(SRD_ESYSERR | EACCES) ||
                  lock_rc == (srd_err)(SRD_ESYSERR | EPERM) ||
                  lock_rc == (srd_err)(SRD_ESYSERR | EROFS);
    if (lock_rc != SRD_EBUSY && !denied)
        return false;
    char name[4096];
    return cl_sibling(path, ".srdd", name, sizeof name) &&
           access(name, F_OK) == 0;
}

/* Whether some process holds the writer lock of path. */
static bool cl_writer_alive(const char *path)
{
    char name[4096];
    if (!cl_sibling(path, ".lock", name, sizeof name))
        return false;
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd); /* also drops the shared lock if we got it */
    return held;
}

typedef struct cl_disc {
    char listen[CL_URL_MAX];
    char publish[CL_URL_MAX];
} cl_disc;

/* Copy "<key>=<value>" into out when line starts with key=. */
static void cl_disc_field(const char *line, const char *key, char *out)
{
    size_t k = strlen(key);
    if (strncmp(line, key, k) != 0 || line[k] != '=')
        return;
    const char *v = line + k + 1;
    size_t n = strcspn(v, "\r\n");
    if (n >= CL_URL_MAX)
        return; /* too long to be ours: treated as missing */
    memcpy(out, v, n);
    out[n] = '\0';
}

/* Read srdd's discovery file "<path>.srdd". */
static srd_err cl_discover(const char *path, cl_disc *d)
{
    char name[4096], line[CL_URL_MAX + 32];
    memset(d, 0, sizeof *d);
    if (!cl_sibling(path, ".srdd", name, sizeof name))
        return SRD_EINVAL;
    if (!cl_writer_alive(path))
        return SRD_EUNREACHABLE;
    FILE *f = fopen(name, "re");
    if (!f)
        return errno == ENOENT ? SRD_EUNREACHABLE : srdi_store_errno(errno);
    while (fgets(line, sizeof line, f)) {
        cl_disc_field(line, "listen", d->listen);
        cl_disc_field(line, "publish", d->publish);
    }
    fclose(f);
    return d->listen[0] && d->publish[0] ? SRD_OK : SRD_EPROTO;
}

/* The connection to srdd is gone: fail the requests in flight now (the
 * caller sees SRD_EUNREACHABLE and may retry) instead of leaving them to
 * NNG's resend on whatever connection comes next. Cancelling an idle
 * lane does nothing. */
static void cl_abort_inflight(srdi_client *c)
{
    nng_aio *aios[CL_LANES];
    pthread_mutex_lock(&c->mu);
    size_t n = c->n_lanes;
    for (size_t i = 0; i < n; i++)
        aios[i] = c->lanes[i]->aio;
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < n; i++)
        nng_aio_cancel(aios[i]);
}

/* ADD_PRE runs before a pipe starts carrying messages, so anything that
 * arrives over it finds the epoch bumped (invariant 4). */
static void cl_pipe_ev(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    srdi_client *c = arg;
    bool req = nng_socket_id(nng_pipe_socket(p)) == nng_socket_id(c->req);
    if (ev == NNG_PIPE_EV_ADD_PRE) {
        atomic_fetch_add(&c->epoch, 1);
    } else if (ev == NNG_PIPE_EV_ADD_POST && req) {
        atomic_fetch_add(&c->pipes, 1);
    } else if (ev == NNG_PIPE_EV_REM_POST && req) {
        atomic_fetch_sub(&c->pipes, 1);
        cl_abort_inflight(c);
    }
}

/* Watch the pipes of s (cl_pipe_ev). */
static int cl_watch(srdi_client *c, nng_socket s)
{
    int rv = nng_pipe_notify(s, NNG_PIPE_EV_ADD_PRE, cl_pipe_ev, c);
    if (rv == 0)
        rv = nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, cl_pipe_ev, c);
    if (rv == 0)
        rv = nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, cl_pipe_ev, c);
    return rv;
}

/* Stop watching the pipes of s (before closing it). */
static void cl_unwatch(nng_socket s)
{
    nng_pipe_notify(s, NNG_PIPE_EV_ADD_PRE, NULL, NULL);
    nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, NULL, NULL);
    nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, NULL, NULL);
}

/* Options common to both sockets: fast redial, bounded messages. */
static int cl_sock_opts(nng_socket s)
{
    int rv = nng_socket_set_ms(s, NNG_OPT_RECONNMINT, 20);
    if (rv == 0)
        rv = nng_socket_set_ms(s, NNG_OPT_RECONNMAXT, 500);
    if (rv == 0)
        rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ,
                                 (size_t)SRDI_WIRE_MAX_DEFAULT);
    return rv;
}

static int cl_open_sub(srdi_client *c, const char *url)
{
    int rv = nng_sub0_open(&c->sub);
    if (rv != 0)
        return rv;
    rv = cl_sock_opts(c->sub);
    if (rv == 0)
        rv = nng_socket_set(c->sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);
    if (rv == 0)
        rv = nng_socket_set_ms(c->sub, NNG_OPT_RECVTIMEO, CL_TICK_MS);
    if (rv == 0)
        rv = cl_watch(c, c->sub);
    /* SRD_SUB_RECVBUF: tiny values make updates get lost (tests). */
    unsigned buf = cl_env_uint("SRD_SUB_RECVBUF", 0, 1, 8192);
    if (rv == 0 && buf > 0)
        rv = nng_socket_set_int(c->sub, NNG_OPT_RECVBUF, (int)buf);
    /* SRD_SUB_DISABLE=1: never subscribe, as if every update were lost
     * (tests the poll that must make the handle converge anyway). */
    if (rv != 0 || cl_env_uint("SRD_SUB_DISABLE", 0, 0, 1) == 1)
        return rv;
    return nng_dial(c->sub, url, NULL, 0);
}

static int cl_open_req(srdi_client *c, const char *url)
{
    int rv = nng_req0_open(&c->req);
    if (rv != 0)
        return rv;
    rv = cl_sock_opts(c->req);
    if (rv == 0)
        rv = nng_socket_set_ms(c->req, NNG_OPT_REQ_RESENDTIME,
                               NNG_DURATION_INFINITE);
    if (rv == 0)
        rv = cl_watch(c, c->req);
    return rv == 0 ? nng_dial(c->req, url, NULL, 0) : rv;
}

static srd_err cl_connect(srdi_client *c, const cl_disc *d)
{
    /* Subscribe first: updates from the handshake on are queued. */
    int rv = cl_open_sub(c, d->publish);
    if (rv == 0)
        rv = cl_open_req(c, d->listen);
    if (rv == NNG_EPERM)
        return SRD_EPERM;
    return rv == 0 ? SRD_OK : rv == NNG_ENOMEM ? SRD_ENOMEM
                                               : SRD_EUNREACHABLE;
}

/* Close both sockets, giving up after CL_CLOSE_MS (nngclose.h says why
 * nng_close can hang). Returns false when it gave up: the caller then
 * leaks what NNG may still reference. */
static bool cl_close_sockets(srdi_client *c)
{
    nng_socket socks[2] = {c->sub, c->req};
    bool done = srdi_nng_close_bounded(socks, 2, CL_CLOSE_MS);
    if (!done && c->log_errors)
        fprintf(stderr, "srd client: nng_close did not return within %u ms "
                        "(NNG bug); leaking the sockets\n", CL_CLOSE_MS);
    return done;
}

/* Shut down in the order NNG wants: no new requests, abort those in
 * flight (a handshake of the subscriber thread), let the thread end, stop
 * every aio, close the contexts, then the sockets; free the aios last. */
static void cl_free(srdi_client *c)
{
    atomic_store(&c->stop, true);
    pthread_mutex_lock(&c->mu);
    size_t n = c->n_lanes;
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < n; i++)
        nng_aio_cancel(c->lanes[i]->aio);
    if (c->thread_started)
        pthread_join(c->thread, NULL);
    for (size_t i = 0; i < c->n_lanes; i++)
        nng_aio_stop(c->lanes[i]->aio);
    for (size_t i = 0; i < c->n_lanes; i++)
        nng_ctx_close(c->lanes[i]->ctx);
    cl_unwatch(c->sub);
    cl_unwatch(c->req);
    bool closed = cl_close_sockets(c);
    for (size_t i = 0; closed && i < c->n_lanes; i++) {
        nng_aio_free(c->lanes[i]->aio);
        free(c->lanes[i]);
    }
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->hello_mu);
    free(c);
}

static srdi_client *cl_alloc(srd_store *st)
{
    srdi_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->st = st;
    c->timeout = (nng_duration)cl_env_uint("SRD_TIMEOUT_MS", CL_TIMEOUT_MS,
                                           1, 3600000);
    c->poll_ms = cl_env_uint("SRD_POLL_MS", CL_POLL_MS, 10, 3600000);
    c->log_errors = cl_env_uint("SRD_CLIENT_LOG", 0, 0, 1) == 1;
    atomic_init(&c->max_message, (size_t)SRDI_WIRE_MAX_DEFAULT);
    atomic_init(&c->epoch, 0);
    atomic_init(&c->verified, 0);
    atomic_init(&c->lost, false);
    atomic_init(&c->pipes, 0);
    atomic_init(&c->stop, false);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    pthread_mutex_init(&c->hello_mu, NULL);
    return c;
}

/* Open the store read-only and make sure it is the file srdd writes (a
 * compaction may have replaced it between our open and the handshake). */
static srd_err cl_open_file(srd_store *st, const cl_hello_info *h)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (st->ro_fd >= 0)
            close(st->ro_fd);
        st->ro_fd = open(st->path, O_RDONLY | O_CLOEXEC);
        if (st->ro_fd < 0)
            return srdi_store_errno(errno);
        if (cl_same_file(st->ro_fd, h))
            return SRD_OK;
    }
    return SRD_ESTATE;
}

/* Everything after the sockets: handshake, map and index, thread. */
static srd_err cl_start(srdi_client *c)
{
    srd_store *st = c->st;
    cl_hello_info h;
    unsigned epoch = atomic_load(&c->epoch);
    srd_err rc = cl_handshake(c, &h);
    if (rc == SRD_OK)
        rc = cl_open_file(st, &h);
    if (rc == SRD_OK && !cl_tail_in_file(c, h.tail))
        rc = SRD_ECORRUPT;
    st_snap *sn = NULL;
    if (rc == SRD_OK)
        rc = srdi_store_load(st, st->ro_fd, h.tail, 0, &sn);
    if (rc != SRD_OK)
        return rc;
    atomic_store(&st->snap, sn);
    c->gen = h.generation;
    c->tail = h.tail;
    atomic_store(&c->verified, epoch);
    if (pthread_create(&c->thread, NULL, cl_main, c) != 0)
        return SRD_ENOMEM;
    c->thread_started = true;
    return SRD_OK;
}

srd_err srdi_client_open(srd_store *st)
{
    cl_disc d;
    srd_err rc = cl_discover(st->path, &d);
    if (rc != SRD_OK)
        return rc;
    srdi_client *c = cl_alloc(st);
    if (!c)
        return SRD_ENOMEM;
    rc = cl_connect(c, &d);
    if (rc == SRD_OK)
        rc = cl_start(c);
    if (rc != SRD_OK) {
        cl_free(c);
        if (st->ro_fd >= 0)
            close(st->ro_fd);
        st->ro_fd = -1;
        srdi_store_snap_free(atomic_exchange(&st->snap, NULL));
        return rc;
    }
    st->client = c;
    return SRD_OK;
}

static srd_err cl_flush(srdi_client *c)
{
    pthread_mutex_lock(&c->mu);
    while (c->pending > 0)
        pthread_cond_wait(&c->cv, &c->mu);
    srd_err rc = c->async_err;
    c->async_err = SRD_OK;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

srd_err srdi_client_close(srdi_client *c)
{
    if (!c)
        return SRD_OK;
    srd_err rc = cl_flush(c);
    cl_free(c);
    return rc;
}

/* ======================================================================== */
/* Writes                                                                   */
/* ======================================================================== */

static void cl_request(srdi_wire_request *rq, srdi_wire_op op, size_t n,
                       const srd_val *keys, const srd_val *values)
{
    memset(rq, 0, sizeof *rq);
    rq->op = op;
    rq->n = n;
    rq->keys = (srd_val *)keys;
    rq->values = (srd_val *)values;
}

/* Whether a put of value would exceed one message (then it streams). */
static bool cl_put_too_big(srdi_client *c, srd_val key, srd_val value)
{
    return key.len + value.len + CL_HEADROOM >
           atomic_load(&c->max_message);
}

static srd_err cl_put_streamed(srdi_client *c, srd_val key, srd_val value)
{
    srdi_cstream *cs;
    srd_err rc = srdi_client_stream_begin(c, key, &cs);
    if (rc != SRD_OK)
        return rc;
    rc = srdi_client_stream_write(cs, value.ptr, value.len);
    srd_err end = srdi_client_stream_end(cs, rc != SRD_OK);
    return rc != SRD_OK ? rc : end;
}

srd_err srdi_client_put(srdi_client *c, srd_val key, srd_val value)
{
    srd_err rc = cl_check_pair(key, value);
    if (rc != SRD_OK)
        return rc;
    if (cl_put_too_big(c, key, value))
        return cl_put_streamed(c, key, value);
    srdi_wire_request rq;
    cl_request(&rq, SRDI_WIRE_PUT, 1, &key, &value);
    return cl_write(c, NULL, &rq, NULL);
}

srd_err srdi_client_put_batch(srdi_client *c, const srd_val *keys,
                              const srd_val *values, size_t n)
{
    if (n == 0)
        return SRD_OK;
    if (!keys || !values)
        return SRD_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (cl_check_pair(keys[i], values[i]) != SRD_OK)
            return SRD_EINVAL;
    srdi_wire_request rq;
    cl_request(&rq, SRDI_WIRE_PUT_BATCH, n, keys, values);
    return cl_write(c, NULL, &rq, NULL);
}

/* Delete or delete_batch; *written receives the tombstones srdd wrote. */
static srd_err cl_delete(srdi_client *c, srdi_wire_op op, const srd_val *keys,
                         size_t n, size_t *written)
{
    *written = 0;
    for (size_t i = 0; i < n; i++)
        if (!val_ok(keys[i]))
            return SRD_EINVAL;
    srdi_wire_request rq;
    srdi_wire_response rs;
    cl_request(&rq, op, n, keys, NULL);
    srd_err rc = cl_write(c, NULL, &rq, &rs);
    if (rc == SRD_OK)
        *written = rs.n_entries;
    srdi_wire_response_free(&rs);
    return rc;
}

srd_err srdi_client_delete(srdi_client *c, srd_val key, bool *existed)
{
    size_t k;
    srd_err rc = cl_delete(c, SRDI_WIRE_DELETE, &key, 1, &k);
    if (existed)
        *existed = rc == SRD_OK && k > 0;
    return rc;
}

srd_err srdi_client_delete_batch(srdi_client *c, const srd_val *keys,
                                 size_t n, size_t *deleted)
{
    size_t k = 0;
    srd_err rc = n == 0 ? SRD_OK
                 : keys ? cl_delete(c, SRDI_WIRE_DELETE_BATCH, keys, n, &k)
                        : SRD_EINVAL;
    if (deleted)
        *deleted = k;
    return rc;
}

srd_err srdi_client_sync(srdi_client *c)
{
    srdi_wire_request rq;
    cl_request(&rq, SRDI_WIRE_SYNC, 0, NULL, NULL);
    return cl_write(c, NULL, &rq, NULL);
}

/* Compaction may take long: wait up to an hour (a lost connection fails
 * the call at once). */
#define CL_COMPACT_TIMEOUT_MS (3600 * 1000)

srd_err srdi_client_compact(srdi_client *c, srd_compact_report *report)
{
    srdi_wire_request rq;
    srdi_wire_response rs;
    cl_request(&rq, SRDI_WIRE_COMPACT, 0, NULL, NULL);
    srd_err rc = cl_hello_if(c, false);
    if (rc != SRD_OK)
        return rc;
    rc = cl_roundtrip_for(c, NULL, &rq, &rs, CL_COMPACT_TIMEOUT_MS);
    if (rc == SRD_OK && !rs.has_compact)
        rc = SRD_EPROTO;
    if (rc == SRD_OK && report)
        *report = rs.compact.rep;
    srdi_wire_response_free(&rs);
    /* catch up with the new file now rather than at the next update */
    if (rc == SRD_OK)
        cl_hello_if(c, true);
    return rc;
}

srd_err srdi_client_refresh(srdi_client *c, uint64_t *added)
{
    srd_store *st = c->st;
    pthread_mutex_lock(&st->mu);
    uint64_t before = st->entries;
    pthread_mutex_unlock(&st->mu);
    /* With no daemon connected nothing new can have been written. */
    srd_err rc = atomic_load(&c->pipes) > 0 ? cl_hello_if(c, true) : SRD_OK;
    pthread_mutex_lock(&st->mu);
    if (added)
        *added = st->entries > before ? st->entries - before : 0;
    pthread_mutex_unlock(&st->mu);
    return rc == SRD_EUNREACHABLE ? SRD_OK : rc;
}

/* ---- streams ------------------------------------------------------------ */

/* Take a lane for a stream's whole life / give it back. */
static srd_err cl_pin(srdi_client *c, cl_lane **out)
{
    srd_err rc = cl_lane_get(c, out);
    if (rc == SRD_OK)
        (*out)->pinned = true;
    return rc;
}

static void cl_unpin(srdi_client *c, cl_lane *l)
{
    pthread_mutex_lock(&c->mu);
    l->pinned = false;
    pthread_mutex_unlock(&c->mu);
    cl_lane_release(c, l);
}

static void cl_stream_free(srdi_cstream *cs)
{
    if (cs->lane)
        cl_unpin(cs->c, cs->lane);
    free(cs->buf);
    free(cs);
}

srd_err srdi_client_stream_begin(srdi_client *c, srd_val key,
                                 srdi_cstream **out)
{
    *out = NULL;
    if (!val_ok(key))
        return SRD_EINVAL;
    srdi_cstream *cs = calloc(1, sizeof *cs);
    size_t max = atomic_load(&c->max_message) - CL_HEADROOM;
    if (!cs)
        return SRD_ENOMEM;
    cs->c = c;
    cs->cap = max < CL_CHUNK ? max : CL_CHUNK;
    cs->buf = malloc(cs->cap);
    srd_err rc = cs->buf ? cl_pin(c, &cs->lane) : SRD_ENOMEM;
    srdi_wire_request rq;
    srdi_wire_response rs;
    memset(&rs, 0, sizeof rs);
    cl_request(&rq, SRDI_WIRE_STREAM_BEGIN, 1, &key, NULL);
    if (rc == SRD_OK)
        rc = cl_write(c, cs->lane, &rq, &rs);
    cs->id = rs.stream_id;
    srdi_wire_response_free(&rs);
    if (rc != SRD_OK) {
        cl_stream_free(cs);
        return rc;
    }
    *out = cs;
    return SRD_OK;
}

static srd_err cl_chunk(srdi_cstream *cs, const void *p, size_t len)
{
    srdi_wire_request rq;
    cl_request(&rq, SRDI_WIRE_STREAM_CHUNK, 0, NULL, NULL);
    rq.stream_id = cs->id;
    rq.chunk = (srd_val){p, len};
    srd_err rc = cl_roundtrip(cs->c, cs->lane, &rq, NULL);
    if (rc != SRD_OK && cs->failed == SRD_OK)
        cs->failed = rc;
    return rc;
}

srd_err srdi_client_stream_write(srdi_cstream *cs, const void *p, size_t len)
{
    const uint8_t *b = p;
    while (len > 0 && cs->failed == SRD_OK) {
        if (cs->n == 0 && len >= cs->cap) { /* whole chunk: no copy */
            cl_chunk(cs, b, cs->cap);
            b += cs->cap;
            len -= cs->cap;
            continue;
        }
        size_t k = cs->cap - cs->n < len ? cs->cap - cs->n : len;
        memcpy(cs->buf + cs->n, b, k);
        cs->n += k;
        b += k;
        len -= k;
        if (cs->n == cs->cap) {
            cs->n = 0;
            cl_chunk(cs, cs->buf, cs->cap);
        }
    }
    return cs->failed;
}

srd_err srdi_client_stream_end(srdi_cstream *cs, bool abort)
{
    if (!abort && cs->failed == SRD_OK && cs->n > 0)
        cl_chunk(cs, cs->buf, cs->n);
    srdi_wire_request rq;
    cl_request(&rq, SRDI_WIRE_STREAM_END, 0, NULL, NULL);
    rq.stream_id = cs->id;
    rq.abort = abort || cs->failed != SRD_OK;
    srd_err rc = cl_write(cs->c, cs->lane, &rq, NULL);
    if (cs->failed != SRD_OK)
        rc = cs->failed;
    cl_stream_free(cs);
    return rc;
}

/* ======================================================================== */
/* Pipelined writes (public API)                                            */
/* ======================================================================== */

/* Queued puts sent as one request: cl_call.arg of that request. */
typedef struct cl_group {
    srdi_client *c;
    cl_qput *items;
} cl_group;

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

/* Completion of a group: each put hears the request's result. cl_finish
 * counts the call as one pending write; the others are taken off here. */
static void cl_group_done(void *arg, srd_err rc)
{
    cl_group *g = arg;
    size_t n = cl_qputs_complete(g->items, rc);
    pthread_mutex_lock(&g->c->mu);
    g->c->pending -= n - 1;
    pthread_mutex_unlock(&g->c->mu);
    free(g);
}

/* Send the queued puts q on lane l (busy, ours): one Put, or a PutBatch
 * when there are several. Any failure completes them with it. */
static void cl_send_group(srdi_client *c, cl_lane *l, cl_qput *q)
{
    size_t n = 0;
    for (cl_qput *p = q; p; p = p->next)
        n++;
    cl_group *g = malloc(sizeof *g);
    cl_call *call = calloc(1, sizeof *call);
    srd_val *kv = malloc(2 * n * sizeof *kv);
    srd_err rc = g && call && kv ? SRD_OK : SRD_ENOMEM;
    if (g)
        *g = (cl_group){c, q};
    if (call) {
        call->fn = cl_group_done;
        call->arg = g;
    }
    if (rc == SRD_OK) {
        size_t i = 0;
        for (cl_qput *p = q; p; p = p->next, i++) {
            kv[i] = p->key;
            kv[n + i] = p->value;
        }
        srdi_wire_request rq;
        cl_request(&rq, n == 1 ? SRDI_WIRE_PUT : SRDI_WIRE_PUT_BATCH, n, kv,
                   kv + n);
        rc = cl_submit(c, l, &rq, call);
    }
    free(kv); /* the request is encoded by now (or failed) */
    if (rc == SRD_OK)
        return;
    if (!g || !call) { /* no memory even to report through the call */
        free(g);
        free(call);
        cl_qputs_complete(q, rc);
        pthread_mutex_lock(&c->mu);
        c->pending -= n;
        if (c->async_err == SRD_OK)
            c->async_err = rc;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        cl_lane_release(c, l);
        return;
    }
    l->call = call;
    cl_finish(l, rc);
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

/* Send on a free lane at once; with every lane busy, queue the put (it
 * leaves batched with others when a lane frees up); with the queue full,
 * wait for room. */
static srd_err cl_put_async(srdi_client *c, srd_val key, srd_val value,
                            srd_done_fn done, void *ctx)
{
    if (cl_put_too_big(c, key, value))
        return SRD_ETOOBIG;
    srd_err rc = cl_hello_if(c, false);
    if (rc != SRD_OK)
        return rc;
    cl_qput *q = cl_qput_new(key, value, done, ctx);
    if (!q)
        return SRD_ENOMEM;
    cl_lane *l = NULL;
    pthread_mutex_lock(&c->mu);
    while (c->q_bytes > CL_QUEUE_BYTES && !atomic_load(&c->stop))
        pthread_cond_wait(&c->cv, &c->mu);
    rc = cl_lane_try(c, &l);
    if (rc == SRD_OK) {
        c->pending++;
        if (!l)
            cl_queue_add(c, q);
    }
    pthread_mutex_unlock(&c->mu);
    if (rc != SRD_OK)
        free(q);
    else if (l)
        cl_send_group(c, l, q);
    return rc;
}

srd_err srd_put_async(srd_store *st, srd_val key, srd_val value,
                      srd_done_fn done, void *ctx)
{
    if (!st || !done || cl_check_pair(key, value) != SRD_OK)
        return SRD_EINVAL;
    if (st->client)
        return cl_put_async(st->client, key, value, done, ctx);
    if (!st->w)
        return SRD_EREADONLY;
    done(ctx, srd_put(st, key, value));
    return SRD_OK;
}

srd_err srd_flush(srd_store *st)
{
    if (!st)
        return SRD_EINVAL;
    return st->client ? cl_flush(st->client) : SRD_OK;
}
