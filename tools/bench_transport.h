/* SPDX-License-Identifier: MIT */
/*
 * bench_transport.h -- srd-bench's transport section (bench_transport.c):
 * the candidate request paths for srdd measured side by side.
 */
#ifndef SRD_BENCH_TRANSPORT_H
#define SRD_BENCH_TRANSPORT_H

#include <stddef.h>

typedef struct bench_transport_cfg {
    size_t rtts;    /* round trips timed per candidate */
    double seconds; /* length of each many-writer run */
} bench_transport_cfg;

/* Runs the section, adding rows to the table; Redis rows only when
 * redis-server is installed. */
void bench_transport(const bench_transport_cfg *cfg);

#endif
