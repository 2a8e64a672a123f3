/* SPDX-License-Identifier: MIT */
/*
 * generation.h -- which file srdd writes, as clients see it: the pair
 * (generation, committed tail) plus the file's identity, always consistent
 * with each other. The generation changes whenever the store file is
 * replaced (compaction) and across restarts after such a replacement: it
 * is kept in "<store>.generation" with the file's (dev, ino), and a start
 * that finds another file bumps it. Clients compare generations with !=.
 */
#ifndef SRDD_GENERATION_H
#define SRDD_GENERATION_H

#include <stdbool.h>
#include <stdint.h>

#include "srd/srd.h"

typedef struct generation generation;

/* What clients are told (Hello, replies, updates, Stats). */
typedef struct gen_view {
    uint64_t gen;
    uint64_t tail;    /* committed tail of that generation's file */
    uint64_t dev, ino;
} gen_view;

/* Read "<abs>.generation", compare with the file st writes, bump and
 * rewrite it when the file changed (or it is missing or unreadable). */
srd_err generation_open(srd_store *st, const char *abs, generation **out);
void generation_close(generation *g);

/*
 * The generation of the file st writes now, noticing a switch made by a
 * compaction (then the generation is bumped, the tail and identity reset
 * to the new file's and the sidecar rewritten; *changed true). Call only
 * while the file cannot change under the caller: with an append of the
 * caller in flight, or after srd_compact_ex returned.
 */
uint64_t generation_current(generation *g, bool *changed);

/* The view (any thread). */
void generation_view(generation *g, gen_view *v);

/* Raise the tail of generation gen to tail (ignored for another one). */
void generation_raise(generation *g, uint64_t gen, uint64_t tail);

#endif
