/* SPDX-License-Identifier: MIT */
/*
 * bench_daemon.h -- srd-bench's daemon-mode section (bench_daemon.c): srdd
 * and client processes, against a raw socket and embedded-mode baseline.
 */
#ifndef SRD_BENCH_DAEMON_H
#define SRD_BENCH_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "srd/srd.h"

typedef struct bench_daemon_cfg {
    const char *srdd;   /* path of the srdd binary */
    size_t keys;        /* keys loaded for the read benchmark */
    size_t gets;        /* random gets per reader process */
    size_t rtts;        /* blocking round trips timed */
    size_t puts;        /* puts in the throughput runs */
    size_t visibility;  /* writes timed for visibility (<= 4096) */
    double seconds;     /* length of each group-commit run */
    unsigned reps;      /* interleaved repetitions of the durable rows */
} bench_daemon_cfg;

/* Runs the section, adding rows to the table; skips (with a message) when
 * srdd is missing. */
void bench_daemon(const bench_daemon_cfg *cfg);

/* srdd serving the existing store path: the median ms (of reps, after one
 * to warm) of a client process's open + get of key + close, and that
 * client's index bytes. False (with a message) when srdd is missing. */
bool bench_daemon_open(const char *srdd, const char *path, srd_val key,
                       unsigned reps, double *ms, double *index_bytes);

#endif
