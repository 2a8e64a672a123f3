/* SPDX-License-Identifier: MIT */
/*
 * compactor.c -- srdd's compaction thread (see compactor.h). It sleeps on
 * a condition variable; a Compact request, or every second with
 * --auto-compact when groups were written since the last look, wakes it.
 * Around srdi_store_compact_ex (the engine's compaction) it switches
 * group commit to one request per group (group_serial: no deadlock with
 * the exclusive sections of the compaction) and afterwards announces the
 * new file (group_announce_file).
 */
#include "srd_features.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compactor.h"
#include "errno_map.h"
#include "log.h"
#include "reply.h"
#include "store_impl.h"

#define CMP_TICK_MS 1000u            /* auto-compaction checks at most this often */
#define CMP_RETRY_MS 60000u          /* after a failed automatic compaction */

struct compactor {
    compactor_conf c;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool stopping;              /* mu */
    bool running;               /* mu: asked for or running */
    bool want;                  /* mu: start one */
    group_job *job;             /* mu: the request to answer, NULL: auto */
    uint64_t compactions;       /* mu */
    uint64_t last_unix_ms;      /* mu */
    srdi_wire_compact last;     /* mu */
    _Atomic bool cancel;
    _Atomic uint64_t done, total;
    uint64_t groups_seen;       /* compactor thread only */
    uint64_t auto_after_ms;     /* compactor thread only */
};

static uint64_t cmp_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int cmp_progress(void *ctx, uint64_t done, uint64_t total)
{
    compactor *c = ctx;
    atomic_store(&c->done, done);
    atomic_store(&c->total, total);
    return atomic_load(&c->cancel) ? 1 : 0;
}

/* --auto-compact: whether dead bytes passed the threshold (thread only). */
static bool cmp_auto_due(compactor *c)
{
    uint64_t groups = atomic_load(&c->c.ctr->groups);
    srd_info in;
    if (c->c.auto_ratio <= 0 || groups == c->groups_seen ||
        stats_now_ms() < c->auto_after_ms)
        return false;
    c->groups_seen = groups;
    if (srd_get_info(c->c.st, &in) != SRD_OK || in.file_size == 0 ||
        in.dead_bytes < c->c.auto_min_dead ||
        (double)in.dead_bytes < c->c.auto_ratio * (double)in.file_size)
        return false;
    log_info("auto-compaction: %" PRIu64 " dead bytes of %" PRIu64
             " (%.1f%%, threshold %.1f%%)", in.dead_bytes, in.file_size,
             100.0 * (double)in.dead_bytes / (double)in.file_size,
             100.0 * c->c.auto_ratio);
    return true;
}

static void cmp_reply(compactor *c, group_job *job, srd_err rc,
                      const srdi_wire_compact *res)
{
    gen_view v;
    group_view(c->c.grp, &v);
    srdi_wire_response rs;
    memset(&rs, 0, sizeof rs);
    rs.seq = job->rq.seq;
    rs.error = rc;
    rs.message = rc == SRD_OK ? "" : srd_strerror(rc);
    rs.generation = v.gen;
    rs.committed_tail = v.tail;
    rs.has_compact = rc == SRD_OK;
    rs.compact = *res;
    job->done(job, reply_encode(&rs));
}

static void cmp_log(srd_err rc, const srdi_wire_compact *r, bool asked)
{
    if (rc != SRD_OK) {
        log_error("%s compaction failed: %s (the store is as before it)",
                  asked ? "requested" : "automatic", srd_strerror(rc));
        return;
    }
    log_info("%s compaction: %" PRIu64 " -> %" PRIu64 " bytes (reclaimed %"
             PRIu64 "), %" PRIu64 " entries copied, %" PRIu64
             " caught up, writers paused %" PRIu64 " us of %" PRIu64
             " us, generation %" PRIu64, asked ? "requested" : "automatic",
             r->rep.old_size, r->rep.new_size, r->rep.reclaimed,
             r->rep.copied_entries, r->rep.caught_up_entries,
             r->rep.pause_us, r->rep.total_us, r->generation);
}

/* One compaction, start to announcement (thread, mu not held). */
static srd_err cmp_run(compactor *c, srdi_wire_compact *res)
{
    memset(res, 0, sizeof *res);
    atomic_store(&c->done, 0);
    atomic_store(&c->total, 0);
    group_serial(c->c.grp, true);
    srd_err rc = srdi_store_compact_ex(c->c.st, cmp_progress, c,
                                       &res->rep);
    /* Even a failure after the rename (directory fsync) switched files. */
    res->generation = group_announce_file(c->c.grp);
    group_serial(c->c.grp, false);
    return rc;
}

static void cmp_one(compactor *c)
{
    group_job *job = c->job;
    c->job = NULL;
    c->want = false;
    pthread_mutex_unlock(&c->mu);
    srdi_wire_compact res;
    srd_err rc = cmp_run(c, &res);
    cmp_log(rc, &res, job != NULL);
    if (!job && rc != SRD_OK)
        c->auto_after_ms = stats_now_ms() + CMP_RETRY_MS;
    pthread_mutex_lock(&c->mu);
    if (rc == SRD_OK) {
        c->compactions++;
        c->last = res;
        c->last_unix_ms = cmp_unix_ms();
    }
    c->running = false;
    pthread_mutex_unlock(&c->mu);
    if (job)
        cmp_reply(c, job, rc, &res);
    pthread_mutex_lock(&c->mu);
}

/* Sleep until asked, stopping or (auto) the next tick (mu held). */
static void cmp_wait(compactor *c)
{
    if (c->c.auto_ratio <= 0) {
        pthread_cond_wait(&c->cv, &c->mu);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += CMP_TICK_MS / 1000u;
    pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    if (c->want || c->stopping || c->running)
        return;
    pthread_mutex_unlock(&c->mu);
    bool due = cmp_auto_due(c);
    pthread_mutex_lock(&c->mu);
    if (due && !c->running && !c->stopping)
        c->running = c->want = true;
}

static void *cmp_thread(void *arg)
{
    compactor *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stopping) {
        if (c->want)
            cmp_one(c);
        else
            cmp_wait(c);
    }
    group_job *job = c->job;
    c->job = NULL;
    pthread_mutex_unlock(&c->mu);
    if (job)
        job->done(job, reply_status(job->rq.seq, SRD_EUNREACHABLE,
                                    "srdd is shutting down; retry later", 0));
    return NULL;
}

srd_err compactor_start(const compactor_conf *conf, compactor **out)
{
    compactor *c = calloc(1, sizeof *c);
    if (!c)
        return SRD_ENOMEM;
    c->c = *conf;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->mu, NULL);
    c->groups_seen = atomic_load(&conf->ctr->groups);
    int e = pthread_create(&c->thread, NULL, cmp_thread, c);
    if (e) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return srdi_errno(e);
    }
    *out = c;
    return SRD_OK;
}

srd_err compactor_submit(compactor *c, group_job *job, char *why)
{
    srd_err rc = SRD_OK;
    pthread_mutex_lock(&c->mu);
    if (c->stopping) {
        rc = SRD_EUNREACHABLE;
        snprintf(why, SRDI_WIRE_WHY, "srdd is shutting down; retry later");
    } else if (c->running) {
        rc = SRD_ESTATE;
        snprintf(why, SRDI_WIRE_WHY,
                 "a compaction is already running; wait for it (srdctl "
                 "status shows its progress)");
    } else {
        c->running = c->want = true;
        c->job = job;
        pthread_cond_signal(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void compactor_stats(compactor *c, srdi_wire_stats *out)
{
    pthread_mutex_lock(&c->mu);
    out->compacting = c->running;
    out->compactions = c->compactions;
    out->last_compact_unix_ms = c->last_unix_ms;
    out->has_last_compact = c->compactions > 0;
    out->last_compact = c->last;
    pthread_mutex_unlock(&c->mu);
    out->compact_done = out->compacting ? atomic_load(&c->done) : 0;
    out->compact_total = out->compacting ? atomic_load(&c->total) : 0;
}

void compactor_stop(compactor *c)
{
    if (!c)
        return;
    atomic_store(&c->cancel, true);
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
