/* SPDX-License-Identifier: MIT */
/*
 * group.c -- srdd's group commit (see group.h for the four steps and the
 * invariant), run by the server on its loop thread at the end of every
 * pass: whatever arrived while the previous group was syncing waits in
 * the sockets and forms the next group, so one fdatasync serves every
 * client that wrote meanwhile. Deletes consult the group's keyset before
 * the index, which learns of the group's entries only at step 2; a group
 * with no delete keeps no keyset (nothing would consult it).
 *
 * Compaction (compactor.c) runs on its own thread and takes the store's
 * writer exclusively twice; it waits for appends in flight to finish, and
 * appends wait while it holds the writer. A group with one append in
 * flight that starts another would deadlock with it, so while a
 * compaction runs (`serial`, set under `gate`, which a normal group holds
 * from its first append to its last finish) each request is a group of
 * its own. The generation of a group's entries is read while one of its
 * appends is in flight, when the file cannot be switched.
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

/* The single puts a group has read since its last other append: they are
 * appended together, in one write, and finished together (group_flush). */
typedef struct group_run {
    srdi_op *ops;
    srdi_entry *placed;
    group_job *first;            /* its jobs: first and those after it
                                    in the list with the run's id */
    size_t n, cap;
    uint64_t id;                 /* of the current run (group_job.run) */
} group_run;

struct group {
    group_conf c;
    group_run run;               /* group_commit's thread only */
    keyset ks;                   /* group_commit's thread only */
    bool track;                  /* the group has a delete: keep ks */
    srdi_op *ops;                /* a request's ops (group_ops) */
    size_t ops_cap;
    pthread_mutex_t gate;        /* held by a normal group (see above) */
    _Atomic bool serial;         /* a compaction runs: one job per group */
    uint64_t sync_ns;            /* step 2 of the last group that synced */
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

/* Room for the n ops of one request, reused from request to request
 * (NULL: out of memory). */
static srdi_op *group_ops(group *g, size_t n)
{
    if (n <= g->ops_cap)
        return g->ops;
    size_t cap = n < 64 ? 64 : n;
    srdi_op *p = realloc(g->ops, cap * sizeof *p);
    if (!p)
        return NULL;
    g->ops = p;
    g->ops_cap = cap;
    return p;
}

/* Room for n placed entries (the inline one when n <= 1). */
static srd_err group_placed(group_job *j, size_t n)
{
    j->placed = n <= 1 ? &j->one : malloc(n * sizeof *j->placed);
    return j->placed ? SRD_OK : SRD_ENOMEM;
}

/* Room for one more job in the run (false: out of memory). */
static bool group_run_room(group_run *r)
{
    if (r->n < r->cap)
        return true;
    size_t cap = r->cap ? 2 * r->cap : 16;
    srdi_op *ops = realloc(r->ops, cap * sizeof *ops);
    if (ops)
        r->ops = ops;
    srdi_entry *placed = realloc(r->placed, cap * sizeof *placed);
    if (placed)
        r->placed = placed;
    if (!ops || !placed)
        return false;
    r->cap = cap;
    return true;
}

/* A single put joins the run; group_flush appends it. */
static srd_err group_stage(group *g, group_job *j, srdi_op op)
{
    group_run *r = &g->run;
    if (!group_run_room(r))
        return SRD_ENOMEM;
    if (r->n == 0) {
        r->id++;
        r->first = j;
    }
    r->ops[r->n++] = op;
    j->run = r->id;
    j->placed = &j->one;
    j->appended = true;
    return SRD_OK;
}

/* Append the run's puts in one write, before any other append of the
 * group (file order is request order) and at the end of its reading.
 * Each put is a unit of its own: a crash keeps a prefix of them. */
static void group_flush(group *g)
{
    group_run *r = &g->run;
    size_t n = r->n;
    if (n == 0)
        return;
    r->n = 0;
    srd_err rc = srdi_store_append_each(g->c.st, r->ops, n, r->placed);
    size_t i = 0;
    for (group_job *j = r->first; i < n; j = j->next) {
        if (j->run != r->id)
            continue; /* read meanwhile, appended nothing */
        j->rc = rc;
        j->n_placed = rc == SRD_OK ? 1 : 0;
        if (rc == SRD_OK) {
            j->one = r->placed[i];
            if (g->track)
                keyset_set(&g->ks, j->one.key_hash, KEYSET_PRESENT);
        }
        i++;
    }
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
    /* Room in the keyset first: once appended, every key must be marked
     * present, or a delete later in the group could miss it. */
    if (g->track && keyset_reserve(&g->ks, rq->n) != SRD_OK)
        return SRD_ENOMEM;
    if (rq->n == 1)
        return group_stage(g, j,
                           (srdi_op){srd_key_hash(rq->keys[0].ptr,
                                                  rq->keys[0].len),
                                     rq->values[0].ptr, rq->values[0].len,
                                     false});
    srdi_op *ops = group_ops(g, rq->n);
    if (!ops)
        return SRD_ENOMEM;
    srd_err rc = group_placed(j, rq->n);
    if (rc != SRD_OK)
        return rc;
    for (size_t i = 0; i < rq->n; i++)
        ops[i] = (srdi_op){srd_key_hash(rq->keys[i].ptr, rq->keys[i].len),
                           rq->values[i].ptr, rq->values[i].len, false};
    j->appended = true;
    rc = srdi_store_append_unit(g->c.st, ops, rq->n, j->placed);
    j->n_placed = rc == SRD_OK ? rq->n : 0;
    /* The keyset learns only of entries that were appended, from the ops
     * this call built (never from a count it did not set). */
    for (size_t i = 0; g->track && rc == SRD_OK && i < rq->n; i++)
        keyset_set(&g->ks, ops[i].key_hash, KEYSET_PRESENT);
    return rc;
}

/* Whether hash has a live value, counting this group's earlier entries;
 * an index that cannot say (a damaged slot, srdd's table lost) fails the
 * request rather than answer "absent". */
static srd_err group_present(group *g, uint64_t hash, bool *there)
{
    int s = keyset_get(&g->ks, hash);
    *there = s == KEYSET_PRESENT;
    return s == KEYSET_UNKNOWN ? srd_exists_hash(g->c.st, hash, there)
                               : SRD_OK;
}

/* Tombstones for the present, distinct keys of the request; the keyset
 * marks each absent at once (so a repeated key is skipped) and is put
 * back if the append fails. */
static srd_err group_delete(group *g, group_job *j)
{
    const srdi_wire_request *rq = &j->rq;
    srdi_op *ops = group_ops(g, rq->n ? rq->n : 1);
    if (!ops)
        return SRD_ENOMEM;
    size_t k = 0;
    srd_err rc = SRD_OK;
    for (size_t i = 0; rc == SRD_OK && i < rq->n; i++) {
        uint64_t h = srd_key_hash(rq->keys[i].ptr, rq->keys[i].len);
        bool there;
        rc = group_present(g, h, &there);
        if (rc != SRD_OK || !there)
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
    if (g->track && keyset_reserve(&g->ks, 1) != SRD_OK) { /* group_put */
        streams_staged_close(&s);
        return SRD_ENOMEM;
    }
    j->placed = &j->one;
    j->appended = true;
    rc = srdi_store_append_file(g->c.st, s.key_hash, s.fd, s.len, s.crc,
                                j->placed);
    j->n_placed = rc == SRD_OK ? 1 : 0;
    if (g->track && rc == SRD_OK)
        keyset_set(&g->ks, s.key_hash, KEYSET_PRESENT);
    streams_staged_close(&s);
    return rc;
}

static srd_err group_apply(group *g, group_job *j)
{
    bool put = j->rq.op == SRDI_WIRE_PUT || j->rq.op == SRDI_WIRE_PUT_BATCH;
    if (!put || j->rq.n != 1)
        group_flush(g); /* its entries go after the run's */
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
    if (j->rq.op != SRDI_WIRE_STREAM_END && pathwatch_failed(g->c.pw, j->why))
        j->rc = SRD_EFAILED; /* a stream's end still frees its slot */
    else
        j->rc = group_apply(g, j);
}

/* Before the acknowledgement of a serial group (a compaction may have
 * switched the file since its first check): the writes of a group whose
 * file the store path no longer names (or that someone cut short) are
 * lost. */
static void group_watch(group *g, group_job *list)
{
    char why[SRDI_WIRE_WHY];
    bool wrote = false;
    for (group_job *j = list; j; j = j->next)
        wrote |= j->rc == SRD_OK && j->n_placed > 0;
    if (!wrote || pathwatch_ok(g->c.pw, why))
        return;
    for (group_job *j = list; j; j = j->next) {
        if (j->rc != SRD_OK || j->n_placed == 0)
            continue;
        j->rc = SRD_EFAILED;
        j->n_placed = 0;
        memcpy(j->why, why, sizeof j->why);
    }
}

/* ======================================================================== */
/* Steps 2-4: finish, publish, reply                                        */
/* ======================================================================== */

/* What finishing j's append returned (rc) becomes j's result. */
static void group_finished(group_job *j, srd_err rc)
{
    if (rc != SRD_OK && j->rc == SRD_OK) {
        j->n_placed = 0;
        log_error("append group: finishing a %s failed: %s",
                  srdi_wire_op_name(j->rq.op), srd_strerror(rc));
    }
    j->rc = rc;
}

/* One finish for the run that starts at first (its jobs follow it in
 * the list, with only jobs that appended nothing between them); returns
 * the run's last job. */
static group_job *group_finish_run(group *g, group_job *first)
{
    group_run *r = &g->run;
    size_t n = 0;
    group_job *last = first;
    for (group_job *j = first; j && (!j->appended || j->run == first->run);
         j = j->next)
        if (j->appended) {
            r->placed[n++] = j->one; /* the run fitted: n <= r->cap */
            last = j;
        }
    srd_err rc = srdi_store_finish(g->c.st, r->placed,
                                   first->rc == SRD_OK ? n : 0, first->rc);
    for (group_job *j = first; j != last->next; j = j->next)
        if (j->run == first->run)
            group_finished(j, rc);
    return last;
}

static void group_finish(group *g, group_job *list)
{
    for (group_job *j = list; j; j = j->next) {
        if (!j->appended)
            continue;
        if (j->run) {
            j = group_finish_run(g, j);
            continue;
        }
        group_finished(j, srdi_store_finish(g->c.st, j->placed, j->n_placed,
                                            j->rc));
    }
}

static void group_publish(group *g, group_job *list, uint64_t gen,
                          uint64_t from, uint64_t to)
{
    size_t n = 0;
    for (group_job *j = list; j; j = j->next)
        n += j->rc == SRD_OK ? j->n_placed : 0;
    srdi_entry *all = malloc((n ? n : 1) * sizeof *all);
    srdi_wire_update up = {.generation = gen,
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

static void group_make_reply(group *g, group_job *j, uint64_t gen,
                             uint64_t tail)
{
    if (j->reply || j->dup_of)
        return;
    srdi_wire_response rs = {
        .seq = j->rq.seq, .error = j->rc,
        .message = j->rc == SRD_OK ? "" : j->why[0] ? j->why
                                                    : srd_strerror(j->rc),
        .generation = gen, .committed_tail = tail,
        .n_entries = j->rc == SRD_OK ? j->n_placed : 0,
        .entries = j->placed};
    j->reply = reply_encode(&rs);
    if (j->fresh)
        dedupe_finish(g->c.dd, j->rq.client_id, j->rq.seq,
                      j->reply ? nng_msg_body(j->reply) : NULL,
                      j->reply ? nng_msg_len(j->reply) : 0);
}

static void group_reply(group *g, group_job *list, uint64_t gen,
                        uint64_t tail)
{
    for (group_job *j = list; j; j = j->next)
        group_make_reply(g, j, gen, tail);
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

/* The file range the group's entries cover: from the first entry's start
 * to the last one's end (appends are contiguous; a failed one leaves the
 * tail as it was). Read before step 2, which may drop entries. */
static bool group_range(const group_job *list, uint64_t *from, uint64_t *to)
{
    bool any = false;
    for (const group_job *j = list; j; j = j->next) {
        if (j->rc != SRD_OK || j->n_placed == 0)
            continue;
        if (!any)
            *from = j->placed[0].start;
        *to = j->placed[j->n_placed - 1].end;
        any = true;
    }
    return any;
}

static void group_count(group *g, group_job *list, bool appended)
{
    uint64_t n = 0;
    for (group_job *j = list; j; j = j->next)
        n++;
    atomic_fetch_add(&g->c.ctr->writes, n);
    uint64_t max = atomic_load(&g->c.ctr->group_max);
    while (n > max &&
           !atomic_compare_exchange_weak(&g->c.ctr->group_max, &max, n))
        ;
    if (appended) {
        atomic_fetch_add(&g->c.ctr->groups, 1);
        if (g->c.sync == SRD_SYNC_ALWAYS)
            atomic_fetch_add(&g->c.ctr->syncs, 1);
    }
}

/* Steps 1-4 for list. serial: a compaction may switch the file between
 * groups, so the generation is read with an append in flight, and the
 * path is checked afresh before the replies. Otherwise no compaction runs
 * while the group holds `gate`, and the file is the one checked first. */
/* Whether a job of list deletes (then the group tracks its keys). */
static bool group_deletes(const group_job *list)
{
    for (const group_job *j = list; j; j = j->next)
        if (j->rq.op == SRDI_WIRE_DELETE || j->rq.op == SRDI_WIRE_DELETE_BATCH)
            return true;
    return false;
}

static void group_run_list(group *g, group_job *list, bool serial)
{
    bool any = false;
    keyset_clear(&g->ks);
    g->track = group_deletes(list);
    /* Every request of the group is read, none appended: one look at the
     * path sees what was done to it before any of them was sent, and a
     * file cut short before the appends fill the gap (pathwatch.h). */
    pathwatch_group(g->c.pw, NULL);
    for (group_job *j = list; j; j = j->next) {
        j->dup_of = NULL;
        j->fresh = j->appended = false;
        j->rc = SRD_OK;
        j->why[0] = '\0';
        j->placed = NULL;
        j->n_placed = 0;
        j->reply = NULL;
        j->run = 0;
        group_prepare(g, j);
        any |= j->appended;
    }
    group_flush(g);
    uint64_t from = 0, to = 0;
    bool placed = group_range(list, &from, &to);
    gen_view v;
    if (serial && any)
        generation_current(g->c.gen, NULL);
    generation_view(g->c.gen, &v);
    /* Timed for the commit gather (gather.h): two fine clock reads per
     * durable group. */
    bool timed = any && g->c.sync == SRD_SYNC_ALWAYS;
    uint64_t t0 = timed ? stats_now_ns() : 0;
    group_finish(g, list);
    if (timed)
        g->sync_ns = stats_now_ns() - t0;
    if (serial)
        group_watch(g, list);
    group_count(g, list, any);
    placed = placed && group_range(list, &from, &to);
    if (placed) {
        generation_raise(g->c.gen, v.gen, to);
        group_publish(g, list, v.gen, from, to);
    }
    group_reply(g, list, v.gen, placed ? to : v.tail);
}

void group_commit(group *g, group_job *list)
{
    if (!list)
        return;
    g->sync_ns = 0;
    pthread_mutex_lock(&g->gate);
    if (!atomic_load(&g->serial)) {
        group_run_list(g, list, false);
        pthread_mutex_unlock(&g->gate);
        return;
    }
    pthread_mutex_unlock(&g->gate);
    group_job *next;
    for (group_job *j = list; j; j = next) {
        next = j->next;
        j->next = NULL;
        group_run_list(g, j, true);
    }
}

/* ======================================================================== */
/* Life                                                                     */
/* ======================================================================== */

srd_err group_create(const group_conf *conf, group **out)
{
    group *g = calloc(1, sizeof *g);
    if (!g)
        return SRD_ENOMEM;
    g->c = *conf;
    pthread_mutex_init(&g->gate, NULL);
    *out = g;
    return SRD_OK;
}

void group_destroy(group *g)
{
    if (!g)
        return;
    keyset_free(&g->ks);
    free(g->ops);
    free(g->run.ops);
    free(g->run.placed);
    pthread_mutex_destroy(&g->gate);
    free(g);
}

uint64_t group_sync_ns(const group *g)
{
    return g->sync_ns;
}

void group_view(group *g, gen_view *v)
{
    generation_view(g->c.gen, v);
}

void group_serial(group *g, bool on)
{
    pthread_mutex_lock(&g->gate); /* no normal group is half done */
    atomic_store(&g->serial, on);
    pthread_mutex_unlock(&g->gate);
}

uint64_t group_announce_file(group *g)
{
    generation_current(g->c.gen, NULL);
    gen_view v;
    generation_view(g->c.gen, &v);
    srdi_wire_update up = {.generation = v.gen, .from_tail = 0,
                           .to_tail = v.tail};
    publish_send(g->c.pub, &up);
    return v.gen;
}
