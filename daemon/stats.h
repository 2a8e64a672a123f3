/* SPDX-License-Identifier: MIT */
/*
 * stats.h -- srdd's counters and the Stats reply built from them, the
 * store and the other modules. Counters are atomics bumped by whichever
 * thread does the work.
 */
#ifndef SRDD_STATS_H
#define SRDD_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "srd/srd.h"
#include "wire.h"

typedef struct srdd_counters {
    _Atomic uint64_t requests; /* messages received */
    _Atomic uint64_t groups;   /* append groups */
    _Atomic uint64_t syncs;    /* fdatasyncs asked for (groups in always
                                  mode, Sync requests) */
    _Atomic uint64_t writes;   /* mutation requests taken by the writer */
    _Atomic uint64_t group_max; /* most requests in one group */
    uint64_t start_ms;         /* stats_now_ms() at start */
} srdd_counters;

/* Milliseconds of CLOCK_MONOTONIC_COARSE (steps of a scheduler tick, a
 * few ms): everything srdd times is in hundreds of ms or more, the
 * request path reads the clock several times per request, and a fine
 * read measured 0.1-0.5 us on the project's machine (a VM), a coarse
 * one 39 ns. */
uint64_t stats_now_ms(void);

/* Nanoseconds of CLOCK_MONOTONIC (fine): only where a few reads per
 * group are worth it, timing an fdatasync of 100 us or more (group.c,
 * the commit gather of server.c). */
uint64_t stats_now_ns(void);

/* Fill everything the counters and the store know; the caller adds
 * publish_drops and clients. */
void stats_collect(srd_store *st, const srdd_counters *c,
                   srdi_wire_stats *out);

#endif
