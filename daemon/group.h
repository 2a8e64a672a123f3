/* SPDX-License-Identifier: MIT */
/*
 * group.h -- srdd's group commit: the mutations the server collected in
 * one pass of its loop (server.h) are committed as one group on the
 * calling thread, the loop's (no request changes threads). For each
 * group, in order:
 *   1. every request is checked against the dedupe table and appended
 *      (srdi_store_append_unit / _append_file), none of them synced yet;
 *      consecutive single puts are appended together in one write
 *      (srdi_store_append_each), each still a unit of its own;
 *   2. each append is finished (srdi_store_finish): the first finish's
 *      fdatasync covers the whole group in always mode;
 *   3. ONE IndexUpdate describing the group is published;
 *   4. only then is each reply sent (job->done).
 * Invariant: no reply of a group leaves before its update is published
 * and its entries are durable at the configured level, nor when the
 * store path did not name the file written at the group's check (once
 * its requests are read, before step 1; pathwatch.h): then every write
 * of the group fails with SRD_EFAILED, and every later one before it is
 * made.
 */
#ifndef SRDD_GROUP_H
#define SRDD_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include "dedupe.h"
#include "generation.h"
#include "pathwatch.h"
#include "publish.h"
#include "stats.h"
#include "streams.h"
#include "wire.h"

typedef struct group group;
typedef struct group_job group_job;

/* Called with the reply (owned by the callee; NULL when it could not be
 * built for lack of memory): from group_commit on its caller's thread,
 * or from the compactor's for a Compact request (compactor.h). */
typedef void (*group_done_fn)(group_job *job, nng_msg *reply);

struct group_job {
    /* Filled by the submitter. */
    srdi_wire_request rq;  /* a decoded mutation; points into msg */
    nng_msg *msg;          /* the request message, kept until done */
    group_done_fn done;
    void *owner;           /* for the submitter's callback */
    /* group_commit's state. */
    group_job *next;
    group_job *dup_of;     /* a retry of an earlier job of this group */
    bool fresh;            /* recorded in dedupe: remember the reply */
    bool appended;         /* an append was made: a finish is owed */
    uint64_t run;          /* a single put's run (group.c), else 0 */
    srd_err rc;
    char why[SRDI_WIRE_WHY];
    srdi_entry one;        /* placed storage when n <= 1 */
    srdi_entry *placed;
    size_t n_placed;
    nng_msg *reply;
};

typedef struct group_conf {
    srd_store *st;         /* opened as the embedded writer */
    publisher *pub;
    dedupe *dd;
    streams *ss;
    srdd_counters *ctr;
    srd_sync_mode sync;
    generation *gen;
    pathwatch *pw;         /* checked before a group is acknowledged */
} group_conf;

srd_err group_create(const group_conf *conf, group **out);

/* Steps 1-4 for the jobs of list (linked by next, in order) on the
 * calling thread, as one group: replies (job->done) are made before it
 * returns. Always from the same thread (the server's loop); NULL does
 * nothing (not even look at g). */
void group_commit(group *g, group_job *list);

/* How long step 2 (the finishes, whose first fdatasync covers the
 * group) took in the last group_commit, in ns; 0 when it synced nothing
 * (no append, or not --sync always). Same thread as group_commit. */
uint64_t group_sync_ns(const group *g);

/* Free g; no group_commit may run or follow. NULL does nothing. */
void group_destroy(group *g);

/* Generation, committed tail and identity of the file clients should
 * see (any thread; consistent with each other). */
void group_view(group *g, gen_view *v);

/* A compaction starts (on) or ended (off): while on, every request is a
 * group of its own (see group.c). Waits for a group in progress. */
void group_serial(group *g, bool on);

/* After a compaction: notice the new file (bumping the generation) and
 * publish an IndexUpdate {generation, 0, tail} that makes every client
 * reload. Returns the generation. */
uint64_t group_announce_file(group *g);

#endif
