/* SPDX-License-Identifier: MIT */
/*
 * client_admin.c -- the administration API of srd.h (srd_daemon_*): find
 * the srdd serving a store without opening it, ask for its figures (Stats)
 * and have it compact with progress (Compact on one connection while Stats
 * is polled on another). Also runs a client handle's compaction with
 * progress (srdi_admin_compact_polled, for srd_compact_ex). Each
 * connection is a request connection of its own (reqsock.h), one request
 * at a time; a reply that does not match the request's seq (one whose
 * caller timed out before) is skipped.
 */
#include "srd_features.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "client_impl.h"
#include "reqsock.h"

#define ADM_TIMEOUT_MS 5000 /* a Stats answer, any send */
#define ADM_POLL_MS 100     /* progress polling period */
#define ADM_MSG_MAX 256

struct srd_daemon {
    int fd;
    srdi_rbuf rb;
    uint64_t client_id;
    uint64_t seq;
    char path[4096];
    char url[CL_URL_MAX];
    char message[ADM_MSG_MAX]; /* srdd's message with its last refusal */
};

/* Send rq and decode the reply that answers it into *rs. */
static srd_err adm_roundtrip(srd_daemon *d, const srdi_wire_request *rq,
                             int timeout_ms, srdi_wire_response *rs)
{
    size_t len;
    srd_err e = srdi_wire_request_size(rq, &len);
    uint8_t *buf = e == SRD_OK ? malloc(len ? len : 1) : NULL;
    if (e == SRD_OK && !buf)
        e = SRD_ENOMEM;
    if (e == SRD_OK)
        e = srdi_wire_request_encode(rq, buf, len);
    if (e == SRD_OK)
        e = srdi_reqsock_send(d->fd, buf, len, ADM_TIMEOUT_MS);
    free(buf);
    if (e == SRD_ETIMEDOUT)
        e = SRD_EUNREACHABLE;
    while (e == SRD_OK) {
        const uint8_t *m;
        size_t n;
        e = srdi_reqsock_recv(d->fd, &d->rb, 2 * SRDI_WIRE_MAX_DEFAULT,
                              timeout_ms, &m, &n);
        if (e != SRD_OK)
            return e == SRD_ETOOBIG ? SRD_EPROTO : e;
        if (srdi_wire_response_decode(m, n, 0, rs, NULL) != SRD_OK)
            return SRD_EPROTO;
        if (rs->seq == rq->seq)
            return SRD_OK;
        srdi_wire_response_free(rs); /* a late reply to an earlier call */
        memset(rs, 0, sizeof *rs);
    }
    return e;
}

/* One request without arguments and its decoded reply (free *rs). */
static srd_err adm_call(srd_daemon *d, srdi_wire_op op, int timeout_ms,
                        srdi_wire_response *rs)
{
    srdi_wire_request rq;
    memset(&rq, 0, sizeof rq);
    memset(rs, 0, sizeof *rs);
    rq.version = SRDI_WIRE_VERSION;
    rq.client_id = d->client_id;
    rq.seq = ++d->seq;
    rq.op = op;
    srd_err e = adm_roundtrip(d, &rq, timeout_ms, rs);
    if (e != SRD_OK)
        return e;
    snprintf(d->message, sizeof d->message, "%s",
             rs->error != SRD_OK && rs->message ? rs->message : "");
    return rs->error;
}

static void adm_stats_copy(const srdi_wire_stats *s, srd_daemon_stats *o)
{
    *o = (srd_daemon_stats){
        .pid = s->pid,
        .uptime_ms = s->uptime_ms,
        .generation = s->generation,
        .committed_tail = s->committed_tail,
        .file_size = s->file_size,
        .live_keys = s->live_keys,
        .dead_bytes = s->dead_bytes,
        .clients = s->clients,
        .requests = s->requests,
        .writes = s->writes,
        .groups = s->groups,
        .group_max = s->group_max,
        .syncs = s->syncs,
        .publish_drops = s->publish_drops,
        .compacting = s->compacting,
        .compact_done = s->compact_done,
        .compact_total = s->compact_total,
        .compactions = s->compactions,
        .last_compact_unix_ms = s->last_compact_unix_ms,
    };
    if (s->has_last_compact)
        o->last_compact = s->last_compact.rep;
}

srd_err srd_daemon_stats_get(srd_daemon *d, srd_daemon_stats *out)
{
    if (!d || !out)
        return SRD_EINVAL;
    srdi_wire_response rs;
    srd_err e = adm_call(d, SRDI_WIRE_STATS, ADM_TIMEOUT_MS, &rs);
    if (e == SRD_OK && !rs.has_stats)
        e = SRD_EPROTO;
    if (e == SRD_OK)
        adm_stats_copy(&rs.stats, out);
    srdi_wire_response_free(&rs);
    return e;
}

/* A connection to url (no answer awaited yet). */
static srd_err adm_dial(srd_daemon *d)
{
    d->fd = srdi_reqsock_dial(d->url);
    if (d->fd < 0)
        return SRD_EUNREACHABLE;
    d->client_id = ((uint64_t)nng_random() << 32) | nng_random() | 1u;
    return SRD_OK;
}

/* Dial d->url and see srdd answer a Stats request. */
static srd_err adm_connect(srd_daemon *d)
{
    srd_err e = adm_dial(d);
    srd_daemon_stats s;
    if (e == SRD_OK)
        e = srd_daemon_stats_get(d, &s);
    if (e == SRD_ENOMEM || e == SRD_OK)
        return e;
    /* no answer: a daemon that died left the file, or srdd is stuck */
    return srdi_cl_writer_alive(d->path) ? SRD_EUNREACHABLE : SRD_ENOTFOUND;
}

/* A connection to the daemon at the discovery file's url of path. */
static srd_err adm_open_url(const char *path, const char *url,
                            srd_daemon **out)
{
    srd_daemon *d = calloc(1, sizeof *d);
    if (!d)
        return SRD_ENOMEM;
    d->fd = -1;
    snprintf(d->path, sizeof d->path, "%s", path);
    snprintf(d->url, sizeof d->url, "%s", url);
    srd_err e = adm_connect(d);
    if (e != SRD_OK) {
        srd_daemon_close(d);
        return e;
    }
    *out = d;
    return SRD_OK;
}

srd_err srd_daemon_open(const char *path, srd_daemon **out)
{
    if (!path || !out)
        return SRD_EINVAL;
    *out = NULL;
    if (strlen(path) >= sizeof ((srd_daemon *)NULL)->path)
        return SRD_EINVAL;
    cl_disc disc;
    srd_err e = srdi_cl_discover(path, &disc);
    if (e == SRD_EUNREACHABLE) /* no discovery file, or the lock is free */
        return SRD_ENOTFOUND;
    if (e == SRD_EPROTO) /* srdd holds the lock, its file names no socket */
        return SRD_EUNREACHABLE;
    if (e != SRD_OK)
        return e;
    return adm_open_url(path, disc.listen, out);
}

const char *srd_daemon_message(const srd_daemon *d)
{
    return d ? d->message : "";
}

void srd_daemon_close(srd_daemon *d)
{
    if (!d)
        return;
    if (d->fd >= 0)
        close(d->fd);
    srdi_rbuf_free(&d->rb);
    free(d);
}

/* ---- compaction with progress ----------------------------------------- */

/* A blocking call run on a thread of its own while progress is polled. */
typedef struct adm_job {
    srd_err (*run)(void *arg);
    void *arg;
    srd_err rc;
    atomic_bool done;
} adm_job;

static void *adm_job_main(void *p)
{
    adm_job *j = p;
    j->rc = j->run(j->arg);
    atomic_store(&j->done, true);
    return NULL;
}

/* Until j is done, report srdd's compaction progress from poll's Stats. */
static void adm_poll(srd_daemon *poll, adm_job *j, srd_progress_fn progress,
                     void *ctx)
{
    while (!atomic_load(&j->done)) {
        srd_daemon_stats s;
        if (srd_daemon_stats_get(poll, &s) == SRD_OK && s.compacting &&
            s.compact_total)
            progress(ctx, s.compact_done, s.compact_total);
        nng_msleep(ADM_POLL_MS);
    }
}

srd_err srdi_admin_run_polled(srd_daemon *poll, srd_progress_fn progress,
                              void *ctx, srd_err (*run)(void *arg), void *arg)
{
    if (!poll || !progress)
        return run(arg);
    adm_job j = {.run = run, .arg = arg, .rc = SRD_OK};
    atomic_init(&j.done, false);
    pthread_t th;
    if (pthread_create(&th, NULL, adm_job_main, &j) != 0)
        return run(arg); /* no thread to spare: without progress */
    adm_poll(poll, &j, progress, ctx);
    pthread_join(th, NULL);
    return j.rc;
}

typedef struct adm_compact {
    srd_daemon *d;
    srd_compact_report rep;
    uint64_t generation;
} adm_compact;

static srd_err adm_compact_run(void *arg)
{
    adm_compact *c = arg;
    srdi_wire_response rs;
    srd_err e = adm_call(c->d, SRDI_WIRE_COMPACT, -1, &rs);
    if (e == SRD_OK && !rs.has_compact)
        e = SRD_EPROTO;
    if (e == SRD_OK) {
        c->rep = rs.compact.rep;
        c->generation = rs.compact.generation;
    }
    srdi_wire_response_free(&rs);
    return e;
}

srd_err srd_daemon_compact(srd_daemon *d, srd_progress_fn progress,
                           void *ctx, srd_compact_report *report,
                           uint64_t *generation)
{
    if (!d)
        return SRD_EINVAL;
    /* The Compact request waits on d; Stats are polled on a second
     * connection (without one, the compaction runs without progress). */
    srd_daemon *poll = NULL;
    if (progress && adm_open_url(d->path, d->url, &poll) != SRD_OK)
        poll = NULL;
    adm_compact c = {.d = d};
    srd_err e = srdi_admin_run_polled(poll, progress, ctx, adm_compact_run,
                                      &c);
    srd_daemon_close(poll);
    if (report)
        *report = e == SRD_OK ? c.rep : (srd_compact_report){0};
    if (generation)
        *generation = e == SRD_OK ? c.generation : 0;
    return e;
}

typedef struct adm_cl_compact {
    srdi_client *c;
    srd_compact_report rep;
} adm_cl_compact;

static srd_err adm_cl_compact_run(void *arg)
{
    adm_cl_compact *x = arg;
    return srdi_client_compact(x->c, &x->rep);
}

srd_err srdi_client_compact_ex(srdi_client *c, const char *path,
                               srd_progress_fn progress, void *ctx,
                               srd_compact_report *report)
{
    srd_daemon *poll = NULL;
    if (progress && srd_daemon_open(path, &poll) != SRD_OK)
        poll = NULL;
    adm_cl_compact x = {.c = c};
    srd_err e = srdi_admin_run_polled(poll, progress, ctx,
                                      adm_cl_compact_run, &x);
    srd_daemon_close(poll);
    if (report)
        *report = x.rep;
    return e;
}
