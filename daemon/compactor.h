/* SPDX-License-Identifier: MIT */
/*
 * compactor.h -- online compaction in srdd: a thread of its own runs
 * srd_compact_ex on the store (never the request loop, whose group commit
 * keeps appending meanwhile), one compaction at a time, asked by a
 * Compact request or, with --auto-compact RATIO, by itself when dead
 * bytes exceed that share of the file. After the switch the new generation is
 * announced to every client (group_announce_file).
 */
#ifndef SRDD_COMPACTOR_H
#define SRDD_COMPACTOR_H

#include "group.h"
#include "stats.h"
#include "wire.h"

typedef struct compactor compactor;

typedef struct compactor_conf {
    srd_store *st;
    group *grp;
    srdd_counters *ctr;
    double auto_ratio;          /* 0: no automatic compaction */
    uint64_t auto_min_dead;     /* and at least this many dead bytes */
} compactor_conf;

srd_err compactor_start(const compactor_conf *conf, compactor **out);

/* Compact for job: its reply (CompactReply, or the error) goes out
 * through job->done from the compactor's thread when it ends. SRD_ESTATE
 * (why: SRDI_WIRE_WHY bytes) when a compaction runs already, and
 * SRD_EUNREACHABLE when srdd is stopping: reply yourself then. */
srd_err compactor_submit(compactor *c, group_job *job, char *why);

/* The compaction fields of a Stats reply. */
void compactor_stats(compactor *c, srdi_wire_stats *out);

/* Cancel a compaction still copying (one already switching finishes),
 * answer its request, stop the thread, free c. NULL does nothing. */
void compactor_stop(compactor *c);

#endif
