/* SPDX-License-Identifier: MIT */
/*
 * gather.c -- srdd's commit gather (see gather.h): the previous durable
 * group's size and a smoothed sync time decide whether, and how long, a
 * pass waits for more writers before its group is committed.
 */
#include "srd_features.h"

#include "gather.h"

void gather_note_group(gather *g, unsigned conns, uint64_t sync_ns,
                       uint64_t end_ns)
{
    /* Smoothed over about four groups: one slow sync does not make the
     * next passes wait long, one fast one does not end the gather. */
    if (sync_ns == 0)
        return; /* synced nothing (--sync never, no append): no measure */
    g->sync_ns = g->sync_ns ? (3 * g->sync_ns + sync_ns) / 4 : sync_ns;
    g->prev_conns = conns;
    g->prev_end = end_ns;
}

bool gather_may_wait(gather *g, unsigned conns, int events)
{
    bool nobody_new = events > 0 && conns <= g->seen;
    g->seen = conns;
    return conns > 0 && g->prev_conns > 1 && conns < g->prev_conns &&
           g->sync_ns > 0 && !nobody_new;
}

uint64_t gather_budget(const gather *g, bool first, uint64_t start_ns,
                       uint64_t now_ns)
{
    if (first && start_ns > g->prev_end &&
        start_ns - g->prev_end > GATHER_RECENT_NS)
        return 0;
    uint64_t limit = g->sync_ns / GATHER_SHARE;
    if (limit > GATHER_MAX_NS)
        limit = GATHER_MAX_NS;
    uint64_t waited = now_ns > start_ns ? now_ns - start_ns : 0;
    return waited < limit ? limit - waited : 0;
}
