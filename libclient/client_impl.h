/* SPDX-License-Identifier: MIT */
/*
 * client_impl.h -- what the parts of client mode share: its limits, the
 * handle and call types, and the few functions one part offers another.
 * client.c holds the handshake, following the file and the pipelined
 * writes; client_req.c the request connection and the calls in flight;
 * client_conn.c finds srdd and owns the NNG SUB socket;
 * client_write.c is the blocking write API and streams; client_admin.c
 * the srd_daemon_* API and compaction with progress. Only client*.c
 * include this; everyone else goes through client.h.
 */
#ifndef SRD_CLIENT_IMPL_H
#define SRD_CLIENT_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <nng/nng.h>

#include "client.h"
#include "format.h"
#include "reqsock.h"
#include "spin.h"
#include "wire.h"

#define CL_LANES 32               /* requests in flight per handle */
#define CL_READ_SLICE_MS 100      /* longest a reader polls at a time */
#define CL_CHUNK (1u << 20)       /* stream chunk size */
#define CL_HEADROOM 4096u         /* bytes a request header may take */
#define CL_TIMEOUT_MS 5000u       /* default SRD_TIMEOUT_MS */
#define CL_POLL_MS 1000u          /* default SRD_POLL_MS */
#define CL_TICK_MS 100            /* subscriber wake-up period (default
                                     SRD_SUB_TICK_MS) */
#define CL_CLOSE_MS 3000u         /* longest wait for nng_close */
#define CL_URL_MAX 512
#define CL_REDIAL_MS 3000u        /* no SUB pipe this long: dial afresh */
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
    unsigned timeout;         /* ms; 0: the client's (SRD_TIMEOUT_MS) */
    uint64_t seq;             /* its request's sequence number */
    struct cl_call *next;     /* in flight (c->inflight) or done list */
} cl_call;

/* An srd_put_async waiting to be sent: key and value are copied behind
 * the struct. Queued puts leave together, as one PutBatch, when a slot of
 * the CL_LANES requests in flight is free (srdi_cl_kick). */
typedef struct cl_qput {
    struct cl_qput *next;
    srd_done_fn fn;
    void *arg;
    srd_val key, value;
} cl_qput;

struct srdi_client {
    srd_store *st;
    _Atomic size_t max_message;    /* largest request srdd accepts */
    pthread_mutex_t mu;            /* calls, queue, pending, async_err,
                                      the read baton, fd, dead */
    pthread_cond_t cv;             /* a call done, the baton free, room */
    pthread_cond_t rcv;            /* the reader thread has work */
    cl_call *inflight;             /* sent, waiting for their replies */
    cl_call *later;                /* async calls done while a sender read:
                                      callbacks run after send_mu */
    size_t n_inflight;             /* those plus reserved slots */
    size_t pending;                /* asynchronous writes in flight */
    cl_qput *q_head, *q_tail;      /* async puts waiting to be sent */
    size_t q_bytes;                /* their keys and values */
    bool reading;                  /* a thread reads replies (baton) */
    srdi_spin spin;                /* a blocking call's spin (under mu) */
    int fd;                        /* request connection, -1: none */
    bool dead;                     /* it failed: dial again */
    pthread_mutex_t send_mu;       /* dial, sequence numbers, sending */
    uint64_t id;                   /* this handle's client_id */
    uint64_t seq;                  /* its last sequence number (send_mu) */
    uint8_t *sbuf;                 /* encoded request (send_mu) */
    size_t sbuf_cap;
    srdi_rbuf rb;                  /* replies read (baton holder) */
    pthread_mutex_t hello_mu;      /* one handshake at a time */
    pthread_t thread;              /* subscriber */
    pthread_t reader;              /* reads replies of async writes */
    bool reader_started;           /* under mu */
    atomic_bool reader_idle;       /* it waits on rcv (set under mu) */
    atomic_bool subscribed;        /* the SUB socket is open (set once) */
    atomic_bool want_sub;          /* the shared index is gone: the
                                      subscriber thread subscribes */
    pthread_mutex_t follow_mu;     /* gen and tail, and the updates of the
                                      handle that go with them */
    uint64_t gen;                  /* generation of the mapped file */
    uint64_t tail;                 /* invariant 1 */
    uint64_t sub_down_ms;          /* since when without a SUB pipe */
    nng_socket sub;
    nng_aio *tick_aio;             /* its sleep while not subscribed;
                                      close and cl_want_sub cancel it */
    nng_aio *sub_aio;              /* the subscriber thread's receive;
                                      close cancels it to wake the thread */
    nng_duration tick;             /* its timeout: SRD_SUB_TICK_MS */
    nng_dialer sub_dialer;         /* the dialer in use (id 0: none) */
    unsigned timeout;              /* ms per send and per reply */
    unsigned poll_ms;              /* handshake when nothing heard */
    srd_err async_err;             /* first one failed since srd_flush */
    atomic_uint epoch;             /* bumped before any new connection
                                      or SUB pipe carries anything */
    atomic_uint verified;          /* epoch the last handshake checked */
    atomic_uint req_epoch;         /* bumped before a new request
                                      connection carries anything */
    atomic_uint req_verified;      /* req_epoch the last handshake checked */
    atomic_int pipes;              /* request connection up (0/1) */
    atomic_int sub_pipes;          /* SUB pipes connected */
    atomic_bool lost;              /* lost track of srdd's file */
    atomic_bool stop;
    bool log_errors;               /* SRD_CLIENT_LOG=1: print refusals */
    uint64_t owner_uid;            /* the store file's owner (UINT64_MAX:
                                      unknown) */
    _Atomic uint64_t untrusted;    /* 1 + uid of a daemon refused (0: none) */
    bool thread_started;
    char sub_url[CL_URL_MAX];
};

struct srdi_cstream {
    srdi_client *c;
    uint64_t id;     /* srdd's stream id (bound to the handle's client id) */
    uint8_t *buf;    /* bytes not yet sent */
    size_t n, cap;
    srd_err failed;  /* first error; the stream is then aborted */
};

/* What a handshake learned (HelloReply without its strings). */
typedef struct cl_hello_info {
    uint64_t dev, ino, generation, tail, max_message;
    bool shared_index;  /* srdd keeps the shared index file current */
} cl_hello_info;

typedef struct cl_disc {
    char listen[CL_URL_MAX];
    char publish[CL_URL_MAX];
} cl_disc;

/* ======================================================================== */
/* Small helpers                                                            */
/* ======================================================================== */

static inline void cl_request(srdi_wire_request *rq, srdi_wire_op op, size_t n,
                       const srd_val *keys, const srd_val *values)
{
    memset(rq, 0, sizeof *rq);
    rq->op = op;
    rq->n = n;
    rq->keys = (srd_val *)keys;
    rq->values = (srd_val *)values;
}

/* Whether a put of value would exceed one message (then it streams). */
static inline bool cl_put_too_big(srdi_client *c, srd_val key, srd_val value)
{
    return key.len + value.len + CL_HEADROOM >
           atomic_load(&c->max_message);
}

/* ======================================================================== */
/* client.c                                                                 */
/* ======================================================================== */

/* A write's reply: make its entries readable now (read-your-writes);
 * *stale when they could not be applied (handshake due). */
void srdi_cl_on_reply(srdi_client *c, const srdi_wire_response *rs,
                      bool *stale);

/* Send queued async puts while slots are free (never call with send_mu
 * or the read baton held). */
void srdi_cl_kick(srdi_client *c);

/* Handshake if one is due (force: in any case); never inside one: a
 * thread in a handshake returns SRD_OK at once. */
srd_err srdi_cl_hello_if(srdi_client *c, bool force);

/* After a reply whose entries could not be applied: wait for a handshake
 * in progress (it clears the "lost" flag before it has caught up), then
 * handshake if one is still due. SRD_OK at once inside a handshake. */
srd_err srdi_cl_catch_up(srdi_client *c);

/* Whether the calling thread is in a handshake (srdi_cl_hello_if). */
bool srdi_cl_in_hello(void);

/* After a handshake: run the callbacks this thread held back during it
 * (client_req.c, cr_run_later); nothing when it held none. */
void srdi_cl_run_held(srdi_client *c);

/* ======================================================================== */
/* client_conn.c                                                            */
/* ======================================================================== */

/* Read srdd's discovery file "<path>.srdd"; SRD_EUNREACHABLE when no
 * srdd holds the store. */
srd_err srdi_cl_discover(const char *path, cl_disc *d);

/* Whether some process holds the writer lock of path (a lock file we may
 * not open counts as held: it may be srdd's). */
bool srdi_cl_writer_alive(const char *path);

/* client_admin.c: run(arg) on a thread of its own while this thread
 * reports srdd's compaction progress from poll's Stats every 100 ms; just
 * run(arg) when poll or progress is NULL. Returns run's result. */
srd_err srdi_admin_run_polled(srd_daemon *poll, srd_progress_fn progress,
                              void *ctx, srd_err (*run)(void *arg), void *arg);

/* Whether the process at the other end of a new connection may be srdd
 * for our store (root, us, or the store file's owner); peer_uid from
 * SO_PEERCRED or NNG. Records and logs a refusal. */
bool srdi_cl_peer_trusted(srdi_client *c, uint64_t peer_uid, const char *url);

/* Open the request connection to d's listen URL and note its publish
 * URL for srdi_cl_subscribe. */
srd_err srdi_cl_connect(srdi_client *c, const cl_disc *d);

/* Open the SUB socket (its pipe events watched) and dial srdd's publish
 * URL: at once (wait: SRD_EUNREACHABLE when that fails) or in the
 * background. Called at open or by the subscriber thread, once. */
srd_err srdi_cl_subscribe(srdi_client *c, bool wait);

/* Called by the subscriber thread every tick (now: CLOCK_MONOTONIC ms):
 * a SUB socket without a pipe for CL_REDIAL_MS while srdd holds the store
 * gets a new dialer (NNG 1.5.2's can stop redialling for good). */
void srdi_cl_redial_stuck(srdi_client *c, uint64_t now);

/* Stop watching the pipes and close the SUB socket, giving up after
 * CL_CLOSE_MS. False when it gave up: the caller then leaks what NNG may
 * still reference. */
bool srdi_cl_disconnect(srdi_client *c);

/* ======================================================================== */
/* client_req.c                                                             */
/* ======================================================================== */

/* Dial the request connection (url: d->listen) and check its peer. */
srd_err srdi_cl_req_open(srdi_client *c, const char *url);

/* Send rq (its client_id and seq are set here) as call: async calls
 * (fn set) complete later on some thread; blocking ones are waited for
 * with srdi_cl_wait_call. Waits for a free slot of the CL_LANES. */
srd_err srdi_cl_submit(srdi_client *c, srdi_wire_request *rq, cl_call *call);

/* The same with send_mu held and a slot reserved by the caller
 * (srdi_cl_slot_reserve under c->mu). On failure the slot is given back;
 * SRD_OK also when the call already completed (with an error). */
srd_err srdi_cl_submit_reserved(srdi_client *c, srdi_wire_request *rq,
                                cl_call *call);
bool srdi_cl_slot_reserve(srdi_client *c);
void srdi_cl_send_lock(srdi_client *c);
void srdi_cl_send_unlock(srdi_client *c);

/* Send rq and wait for its reply, at most timeout ms (0: the client's).
 * *rs (may be NULL) receives the reply, to be freed by the caller, also
 * on error. */
srd_err srdi_cl_roundtrip_for(srdi_client *c, srdi_wire_request *rq,
                              srdi_wire_response *rs, unsigned timeout);
srd_err srdi_cl_roundtrip(srdi_client *c, srdi_wire_request *rq,
                          srdi_wire_response *rs);

/* Caller holds c->mu: wait until pred(c, arg) holds or deadline
 * (CLOCK_MONOTONIC ms; < 0: none) passes (false), reading replies
 * whenever no other thread does. */
bool srdi_cl_wait(srdi_client *c, bool (*pred)(srdi_client *, void *),
                  void *arg, int64_t deadline);

/* Wait until no async write is pending (reading replies meanwhile). */
void srdi_cl_wait_pending(srdi_client *c);

/* How many times blocking calls spun for their replies, and how many of
 * those spins saw the reply come (client_req.c, cr_spin). */
void srdi_cl_spin_counts(srdi_client *c, uint64_t *spins, uint64_t *hits);

/* An async write was queued: make sure replies get read. */
srd_err srdi_cl_reader_want(srdi_client *c);

/* The same once the reader thread runs (it was started under mu, seen
 * by the caller): wakes it only when it waits, without taking mu
 * otherwise. */
srd_err srdi_cl_reader_nudge(srdi_client *c);

/* Dial now if the connection is down (the epoch is bumped first). */
srd_err srdi_cl_req_ensure(srdi_client *c);

/* Fail what is in flight, stop the reader, close the connection. */
void srdi_cl_req_close(srdi_client *c);

#endif
