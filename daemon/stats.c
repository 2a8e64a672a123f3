/* SPDX-License-Identifier: MIT */
/*
 * stats.c -- the monotonic clock srdd uses and the Stats reply's store
 * and counter fields (see stats.h).
 */
#include "srd_features.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stats.h"

uint64_t stats_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t stats_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void stats_collect(srd_store *st, const srdd_counters *c,
                   srdi_wire_stats *out)
{
    srd_info info;
    memset(out, 0, sizeof *out);
    out->pid = (uint64_t)getpid();
    out->uptime_ms = stats_now_ms() - c->start_ms;
    out->requests = atomic_load(&c->requests);
    out->groups = atomic_load(&c->groups);
    out->syncs = atomic_load(&c->syncs);
    out->writes = atomic_load(&c->writes);
    out->group_max = atomic_load(&c->group_max);
    if (srd_get_info(st, &info) == SRD_OK) {
        out->committed_tail = info.tail;
        out->file_size = info.file_size;
        out->live_keys = info.live_keys;
        out->dead_bytes = info.dead_bytes;
    }
}
