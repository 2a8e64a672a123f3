/* SPDX-License-Identifier: MIT */
/*
 * gather.h -- srdd's commit gather: whether the request loop should wait
 * a little for more writers before it commits a durable group.
 *
 * After a group's replies the loop's next pass starts as soon as the
 * first writer's next request is ready, so without this the groups of W
 * writers split into a small one (those back first) and a large one (the
 * rest, which arrive while the small one syncs): two fdatasyncs where one
 * would do. When the previous durable group held k > 1 connections, was
 * committed recently and fewer than k have mutations now, the loop may
 * wait -- at most GATHER_SHARE of the measured group sync time, never
 * more than GATHER_MAX_NS -- for the others (cf. PostgreSQL's
 * commit_delay / commit_siblings). Never for a lone writer (k <= 1),
 * never without a mutation waiting, never when nothing is synced
 * (--sync never / interval: the measured sync time is 0), and a wait
 * ends as soon as k connections are in or a wake-up brings nobody new.
 * Waiting only delays when a reply leaves: every ack still follows the
 * fdatasync that covers it.
 *
 * Pure logic over counts and times passed in (no clock, no I/O), used by
 * the server on the loop thread only.
 */
#ifndef SRDD_GATHER_H
#define SRDD_GATHER_H

#include <stdbool.h>
#include <stdint.h>

/* Share of the measured sync time a pass may wait: 1 / GATHER_SHARE. */
#define GATHER_SHARE 2u
/* Longest wait of a pass, whatever the sync time. */
#define GATHER_MAX_NS 1000000u
/* A previous group committed longer ago than this says nothing about
 * who is about to write. */
#define GATHER_RECENT_NS 10000000u

typedef struct gather {
    uint64_t sync_ns;    /* smoothed duration of a durable group's sync */
    unsigned prev_conns; /* connections in the last durable group */
    uint64_t prev_end;   /* when it was committed (ns, any clock) */
    unsigned seen;       /* connections at the last gather_wait call */
} gather;

/* A group of conns connections was committed at end_ns; its sync took
 * sync_ns. A group that synced nothing (sync_ns 0: --sync never or
 * interval, or nothing appended) is not noted. */
void gather_note_group(gather *g, unsigned conns, uint64_t sync_ns,
                       uint64_t end_ns);

/* Whether the pass may wait at all, now that conns connections have
 * mutations in it: a look at counts only (no clock). events: what the
 * pass's last wait returned (-1 before its first wait, 0 when it timed
 * out); a wait that brought nobody new ends the gather. */
bool gather_may_wait(gather *g, unsigned conns, int events);

/* How many more ns a pass that began gathering at start_ns may wait at
 * now_ns (0: commit now). first: the pass has not waited yet. */
uint64_t gather_budget(const gather *g, bool first, uint64_t start_ns,
                       uint64_t now_ns);

#endif
