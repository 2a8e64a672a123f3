/* SPDX-License-Identifier: MIT */
/*
 * pathwatch.h -- whether the store's path still names the file srdd
 * writes, whole. Removed (rm), replaced (mv over it) or cut short (a third
 * party's truncate) under a running srdd, every write srdd acknowledged
 * from then on would be lost at restart (or, cut short, read as SIGBUS by
 * clients): group commit checks before it appends and before it
 * acknowledges a group, the main loop checks periodically, and once a
 * check fails srdd acknowledges no more writes (SRD_EFAILED) and says so
 * in its log.
 */
#ifndef SRDD_PATHWATCH_H
#define SRDD_PATHWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "srd/srd.h"

typedef struct pathwatch pathwatch;

/* The identity of the file srdd writes, as pathwatch_whole saw it. */
typedef struct pathwatch_seen {
    bool valid;
    uint64_t dev, ino;
} pathwatch_seen;

/* Watch st (the embedded writer srdd opened) at path (copied). */
srd_err pathwatch_create(srd_store *st, const char *path, pathwatch **out);
void pathwatch_destroy(pathwatch *w);

/* True while path names st's file and the file reaches st's tail. Once
 * false, false for good (logged once, as an error); why (SRDI_WIRE_WHY
 * bytes, may be NULL) then receives what happened. Any thread. */
bool pathwatch_ok(pathwatch *w, char *why);

/* The half of pathwatch_ok a group needs before it appends (one fstat):
 * true while st's file reaches st's tail, and *seen then receives the
 * file's identity (else it is not valid). Fails like pathwatch_ok, for
 * good. */
bool pathwatch_whole(pathwatch *w, pathwatch_seen *seen, char *why);

/* pathwatch_ok for a caller that ran pathwatch_whole into seen and made
 * sure st's file has not been switched since (no compaction ran): one
 * stat of the path when it names the file seen (and reaches the tail),
 * the whole check when it does not. seen NULL: the whole check. */
bool pathwatch_ok_seen(pathwatch *w, const pathwatch_seen *seen, char *why);

/* Whether an earlier check failed (no check of its own); why as
 * there. */
bool pathwatch_failed(pathwatch *w, char *why);

#endif
