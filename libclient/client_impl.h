/* SPDX-License-Identifier: MIT */
/*
 * client_impl.h -- what the parts of client mode share: its limits, the
 * handle and lane types, and the few functions one part offers another.
 * client.c holds lanes, the handshake, following the file and the
 * pipelined writes; client_conn.c finds srdd and owns the NNG sockets;
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
#include "wire.h"

#define CL_LANES 32               /* requests in flight per handle */
#define CL_CHUNK (1u << 20)       /* stream chunk size */
#define CL_HEADROOM 4096u         /* bytes a request header may take */
#define CL_TIMEOUT_MS 5000u       /* default SRD_TIMEOUT_MS */
#define CL_POLL_MS 1000u          /* default SRD_POLL_MS */
#define CL_TICK_MS 100            /* subscriber wake-up period (default
                                     SRD_SUB_TICK_MS) */
#define CL_CLOSE_MS 3000u         /* longest wait for nng_close */
#define CL_URL_MAX 512
#define CL_REDIAL_MS 3000u        /* no pipe this long: dial afresh */
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
    _Atomic size_t max_message;    /* largest request srdd accepts */
    pthread_mutex_t mu;            /* lanes, calls, pending, async_err */
    pthread_cond_t cv;
    cl_lane *lanes[CL_LANES];
    size_t n_lanes;
    cl_lane *free_lanes;
    size_t pending;                /* asynchronous writes in flight */
    cl_qput *q_head, *q_tail;      /* async puts waiting for a lane */
    size_t q_bytes;                /* their keys and values */
    pthread_mutex_t hello_mu;      /* one handshake at a time */
    pthread_t thread;
    pthread_mutex_t follow_mu;     /* gen and tail, and the updates of the
                                      handle that go with them */
    uint64_t gen;                  /* generation of the mapped file */
    uint64_t tail;                 /* invariant 1 */
    uint64_t req_down_ms, sub_down_ms; /* since when without a pipe (0:
                                          has one); subscriber thread */
    nng_socket req, sub;
    nng_aio *sub_aio;              /* the subscriber thread's receive;
                                      close cancels it to wake the thread */
    nng_duration tick;             /* its timeout: SRD_SUB_TICK_MS */
    nng_dialer req_dialer, sub_dialer; /* the dialers in use (id 0: none) */
    nng_duration timeout;          /* per send and per receive */
    unsigned poll_ms;              /* handshake when nothing heard */
    srd_err async_err;             /* first one failed since srd_flush */
    atomic_uint epoch;             /* bumped before any new pipe starts */
    atomic_uint verified;          /* epoch the last handshake checked */
    atomic_int pipes;              /* REQ pipes connected */
    atomic_int sub_pipes;          /* SUB pipes connected */
    atomic_bool lost;              /* lost track of srdd's file */
    atomic_bool stop;
    bool log_errors;               /* SRD_CLIENT_LOG=1: print refusals */
    uint64_t owner_uid;            /* the store file's owner (UINT64_MAX:
                                      unknown) */
    _Atomic uint64_t untrusted;    /* 1 + uid of a daemon refused (0: none) */
    bool thread_started;
    char req_url[CL_URL_MAX], sub_url[CL_URL_MAX];
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

typedef struct cl_disc {
    char listen[CL_URL_MAX];
    char publish[CL_URL_MAX];
} cl_disc;

/* ======================================================================== */
/* Small helpers                                                            */
/* ======================================================================== */

static inline bool cl_val_ok(srd_val v)
{
    return v.ptr != NULL || v.len == 0;
}

static inline srd_err cl_check_pair(srd_val key, srd_val value)
{
    if (!cl_val_ok(key) || !cl_val_ok(value) ||
        srdi_format_check_value(value.ptr, value.len) != SRD_OK)
        return SRD_EINVAL;
    return SRD_OK;
}

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

/* The unsigned number in environment variable name, or dflt when it is
 * unset, not a number or outside [min, max]. */
unsigned srdi_cl_env_uint(const char *name, unsigned dflt, unsigned min,
                          unsigned max);

/* A free lane, created on demand; waits while CL_LANES are busy. */
srd_err srdi_cl_lane_get(srdi_client *c, cl_lane **out);

/* Lane l is done with its request: free it, or give it the queued puts. */
void srdi_cl_lane_release(srdi_client *c, cl_lane *l);

/* Send rq (on lane pin, or any when NULL) and wait for its reply, at most
 * timeout ms (0: the client's). *rs (may be NULL) receives the reply, to
 * be freed by the caller, also on error. */
srd_err srdi_cl_roundtrip_for(srdi_client *c, cl_lane *pin,
                              srdi_wire_request *rq, srdi_wire_response *rs,
                              nng_duration timeout);
srd_err srdi_cl_roundtrip(srdi_client *c, cl_lane *pin,
                          srdi_wire_request *rq, srdi_wire_response *rs);

/* Handshake if one is due (force: in any case). */
srd_err srdi_cl_hello_if(srdi_client *c, bool force);

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

/* Open the subscriber, then the request socket, dialled to d's URLs,
 * with c's pipe events watched. */
srd_err srdi_cl_connect(srdi_client *c, const cl_disc *d);

/* Called by the subscriber thread every tick (now: CLOCK_MONOTONIC ms):
 * a socket without a pipe for CL_REDIAL_MS while srdd holds the store
 * gets a new dialer (NNG 1.5.2's can stop redialling for good). */
void srdi_cl_redial_stuck(srdi_client *c, uint64_t now);

/* Stop watching the pipes and close both sockets, giving up after
 * CL_CLOSE_MS. False when it gave up: the caller then leaks what NNG may
 * still reference. */
bool srdi_cl_disconnect(srdi_client *c);

#endif
