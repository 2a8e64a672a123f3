/* SPDX-License-Identifier: MIT */
/*
 * group.c -- the writer thread and its group commit (see group.h for the
 * four steps and the invariant). The thread takes whatever queued while
 * the previous group was syncing, so one fdatasync serves every client
 * that wrote meanwhile. Deletes consult the group's keyset before the
 * index, which learns of the group's entries only at step 2.
 */
#include "srd_features.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "keyset.h"
#include "log.h"
#include "reply.h"
#include "store_impl.h"

struct group {
    group_conf c;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    group_job *head, *tail_job;  /* the queue (under mu) */
    bool stopping;               /* under mu */
    pthread_t thread;
    keyset ks;                   /* writer thread only */
    _Atomic uint64_t tail;       /* committed tail after the last group */
};

/* ======================================================================== */
/* Step 1: dedupe and append                                                */
/* ======================================================================== */

static srd_err group_fail(group_job *j, srd_err rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static srd_err group_fail(group_job *j, srd_err rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->why, sizeof j->why, fmt, ap);
    va_end(ap);
    return rc;
}

/* Room for n placed entries (the inline one when n <= 1). */
static srd_err group_placed(group_job *j, size_t n)
{
    j->placed = n <= 1 ? &j->one : malloc(n * sizeof *j->placed);
    return j->placed ? SRD_OK : SRD_ENOMEM;
}

static srd_err group_put(group *g, group_job *j)
{
    const srdi_wire_request *rq = &j->rq;
    if (rq->n == 0)
        return SRD_OK;
    for (size_t i = 0; i < rq->n; i++)
        if (srdi_format_check_value(rq->values[i].ptr, rq->values[i].len))
            return group_fail(j, SRD_EINVAL,
                              "value %" PRIu64 " is empty or the single byte "
                              "0x00, which the format cannot store",
                              (uint64_t)i);
    srdi_op *ops = malloc(rq->n * sizeof *ops);
    srd_err rc = ops ? group_placed(j, rq->n) : SRD_ENOMEM;
    for (size_t i = 0; rc == SRD_OK && i < rq->n; i++)
        ops[i] = (srdi_op){srd_key_hash(rq->keys[i].ptr, rq->keys[i].len),
                           rq->values[i].ptr, rq->values[i].len, false};
    if (rc == SRD_OK) {
        j->appended = true;
        rc = srdi_store_append_unit(g->c.st, ops, rq->n, j->placed);
        j->n_placed = rc == SRD_OK ? rq->n : 0;
    }
    for (size_t i = 0; i < j->n_placed; i++)
        keyset_set(&g->ks, ops[i].key_hash, KEYSET_PRESENT);
    free(ops);
    return rc;
}

/* Whether hash has a live value, counting this group's earlier entries. */
static bool group_present(group *g, uint64_t hash)
{
    int s = keyset_get(&g->ks, hash);
    bool there = s == KEYSET_PRESENT;
    if (s == KEYSET_UNKNOWN)
        srd_exists_hash(g->c.st, hash, &there);
    return there;
}

/* Tombstones for the present, distinct keys of the request; the keyset
 * marks each absent at once (so a repeated key is skipped) and is put
 * back if the append fails. */
static srd_err group_delete(group *g, group_job *j)
{
    const srdi_wire_request *rq = &j->rq;
    srdi_op *ops = malloc((rq->n ? rq->n : 1) * sizeof *ops);
    if (!ops)
        return SRD_ENOMEM;
    size_t k = 0;
    srd_err rc = SRD_OK;
    for (size_t i = 0; rc == SRD_OK && i < rq->n; i++) {
        uint64_t h = srd_key_hash(rq->keys[i].ptr, rq->keys[i].len);
        if (!group_present(g, h))
            continue;
        rc = keyset_set(&g->ks, h, KEYSET_ABSENT);
        if (rc == SRD_OK)
            ops[k++] = (srdi_op){h, NULL, 0, true};
    }
    if (rc == SRD_OK && k > 0)
        rc = group_placed(j, k);
    if (rc == SRD_OK && k > 0) {
        j->appended = true;
        rc = srdi_store_append_unit(g->c.st, ops, k, j->placed);
        j->n_placed = rc == SRD_OK ? k : 0;
    }
    for (size_t i = 0; rc != SRD_OK && i < k; i++)
        keyset_set(&g->ks, ops[i].key_hash, KEYSET_PRESENT);
    free(ops);
    return rc;
}

static srd_err group_stream_end(group *g, group_job *j)
{
    stream_staged s;
    srd_err rc = streams_take(g->c.ss, j->rq.client_id, j->rq.stream_id, &s,
                              j->why);
    if (rc != SRD_OK || j->rq.abort) {
        if (rc == SRD_OK)
            streams_staged_close(&s);
        return rc;
    }
    if (s.len == 0 || (s.len == 1 && s.first == 0)) {
        streams_staged_close(&s);
        return group_fail(j, SRD_EINVAL,
                          "streamed value of %" PRIu64 " bytes is empty or "
                          "the single byte 0x00, which the format cannot "
                          "store", s.len);
    }
    j->placed = &j->one;
    j->appended = true;
    rc = srdi_store_append_file(g->c.st, s.key_hash, s.fd, s.len, s.crc,
                                j->placed);
    j->n_placed = rc == SRD_OK ? 1 : 0;
    if (rc == SRD_OK)
        keyset_set(&g->ks, s.key_hash, KEYSET_PRESENT);
    streams_staged_close(&s);
    return rc;
}

static srd_err group_apply(group *g, group_job *j)
{
    switch (j->rq.op) {
    case SRDI_WIRE_PUT:
    case SRDI_WIRE_PUT_BATCH:
        return group_put(g, j);
    case SRDI_WIRE_DELETE:
    case SRDI_WIRE_DELETE_BATCH:
        return group_delete(g, j);
    case SRDI_WIRE_STREAM_END:
        return group_stream_end(g, j);
    default:
        return group_fail(j, SRD_EPROTO, "operation %s does not mutate",
                          srdi_wire_op_name(j->rq.op));
    }
}

/* Dedupe first: a retry is answered from the cache (or by the job of this
 * group that is applying it), a stale sequence is refused. */
static void group_prepare(group *g, group_job *j)
{
    void *tag;
    uint8_t *resp;
    size_t len;
    const srdi_wire_request *rq = &j->rq;
    switch (dedupe_check(g->c.dd, rq->client_id, rq->seq, &tag, &resp,
                         &len)) {
    case DEDUPE_CACHED:
        j->reply = reply_bytes(resp, len);
        free(resp);
        return;
    case DEDUPE_PENDING:
        j->dup_of = tag;
        return;
    case DEDUPE_STALE:
        j->rc = group_fail(j, SRD_EPROTO,
                           "stale sequence %" PRIu64 ": older than this "
                           "client's recent mutations", rq->seq);
        return;
    case DEDUPE_NEW:
        break;
    }
    j->fresh = dedupe_begin(g->c.dd, rq->client_id, rq->seq, j,
                            stats_now_ms()) == SRD_OK;
    j->rc = group_apply(g, j);
}

/* ======================================================================== */
/* Steps 2-4: finish, publish, reply                                        */
/* ======================================================================== */

static void group_finish(group *g, group_job *list)
{
    for (group_job *j = list; j; j = j->next) {
        if (!j->appended)
            continue;
        srd_err rc = srdi_store_finish(g->c.st, j->placed, j->n_placed,
                                       j->rc);
        if (rc != SRD_OK && j->rc == SRD_OK) {
            j->n_placed = 0;
            log_error("append group: finishing a %s failed: %s",
                      srdi_wire_op_name(j->rq.op), srd_strerror(rc));
        }
        j->rc = rc;
    }
}

static void group_publish(group *g, group_job *list, uint64_t from,
                          uint64_t to)
{
    size_t n = 0;
    for (group_job *j = list; j; j = j->next)
        n += j->rc == SRD_OK ? j->n_placed : 0;
    srdi_entry *all = malloc((n ? n : 1) * sizeof *all);
    srdi_wire_update up = {.generation = group_generation(g),
                           .from_tail = from, .to_tail = to, .entries = all};
    for (group_job *j = list; all && j; j = j->next) {
        if (j->rc == SRD_OK && j->n_placed) {
            memcpy(all + up.n_entries, j->placed,
                   j->n_placed * sizeof *all);
            up.n_entries += j->n_placed;
        }
    }
    if (!all)
        up.n_entries = 0; /* still announce the range: clients walk it */
    publish_send(g->c.pub, &up);
    free(all);
}

static void group_make_reply(group *g, group_job *j, uint64_t tail)
{
    if (j->reply || j->dup_of)
        return;
    srdi_wire_response rs = {
        .seq = j->rq.seq, .error = j->rc,
        .message = j->rc == SRD_OK ? "" : j->why[0] ? j->why
                                                    : srd_strerror(j->rc),
        .generation = group_generation(g), .committed_tail = tail,
        .n_entries = j->rc == SRD_OK ? j->n_placed : 0,
        .entries = j->placed};
    j->reply = reply_encode(&rs);
    if (j->fresh)
        dedupe_finish(g->c.dd, j->rq.client_id, j->rq.seq,
                      j->reply ? nng_msg_body(j->reply) : NULL,
                      j->reply ? nng_msg_len(j->reply) : 0);
}

static void group_reply(group *g, group_job *list, uint64_t tail)
{
    for (group_job *j = list; j; j = j->next)
        group_make_reply(g, j, tail);
    for (group_job *j = list; j; j = j->next)
        if (j->dup_of && j->dup_of->reply &&
            nng_msg_dup(&j->reply, j->dup_of->reply) != 0)
            j->reply = NULL;
    group_job *next;
    for (group_job *j = list; j; j = next) {
        next = j->next;
        if (j->placed != &j->one)
            free(j->placed);
        j->placed = NULL;
        j->done(j, j->reply);
    }
}

static uint64_t group_writer_tail(const group *g)
{
    return srdi_writer_tail(g->c.st->w);
}

static void group_run(group *g, group_job *list)
{
    uint64_t from = group_writer_tail(g);
    bool any = false;
    keyset_clear(&g->ks);
    for (group_job *j = list; j; j = j->next) {
        j->dup_of = NULL;
        j->fresh = j->appended = false;
        j->rc = SRD_OK;
        j->why[0] = '\0';
        j->placed = NULL;
        j->n_placed = 0;
        j->reply = NULL;
        group_prepare(g, j);
        any |= j->appended;
    }
    group_finish(g, list);
    uint64_t to = group_writer_tail(g);
    atomic_store(&g->tail, to);
    if (any) {
        atomic_fetch_add(&g->c.ctr->groups, 1);
        if (g->c.sync == SRD_SYNC_ALWAYS)
            atomic_fetch_add(&g->c.ctr->syncs, 1);
    }
    if (to != from)
        group_publish(g, list, from, to);
    group_reply(g, list, to);
}

/* ======================================================================== */
/* The thread and its queue                                                 */
/* ======================================================================== */

static group_job *group_take(group *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->head && !g->stopping)
        pthread_cond_wait(&g->cv, &g->mu);
    group_job *list = g->head;
    g->head = g->tail_job = NULL;
    pthread_mutex_unlock(&g->mu);
    return list;
}

static void *group_thread(void *arg)
{
    group *g = arg;
    group_job *list;
    while ((list = group_take(g)) != NULL)
        group_run(g, list);
    return NULL;
}

srd_err group_start(const group_conf *conf, group **out)
{
    group *g = calloc(1, sizeof *g);
    if (!g)
        return SRD_ENOMEM;
    g->c = *conf;
    atomic_store(&g->tail, srdi_writer_tail(conf->st->w));
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    int e = pthread_create(&g->thread, NULL, group_thread, g);
    if (e) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        free(g);
        return (srd_err)(SRD_ESYSERR | e);
    }
    *out = g;
    return SRD_OK;
}

bool group_submit(group *g, group_job *job)
{
    pthread_mutex_lock(&g->mu);
    bool ok = !g->stopping;
    if (ok) {
        job->next = NULL;
        if (g->tail_job)
            g->tail_job->next = job;
        else
            g->head = job;
        g->tail_job = job;
        pthread_cond_signal(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
    return ok;
}

void group_stop(group *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    g->stopping = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    keyset_free(&g->ks);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

uint64_t group_tail(group *g)
{
    return atomic_load(&g->tail);
}

uint64_t group_generation(group *g)
{
    (void)g;
    return 0;
}
