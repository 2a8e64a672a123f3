/* SPDX-License-Identifier: MIT */
/*
 * pathwatch.h -- whether the store's path still names the file srdd
 * writes, whole. Removed (rm), replaced (mv over it) or cut short (a third
 * party's truncate) under a running srdd, every write srdd acknowledged
 * from then on would be lost at restart (or, cut short, read as SIGBUS by
 * clients): group commit checks each group once its requests are read
 * and before it appends, the main loop checks periodically, and once a
 * check fails srdd acknowledges no more writes (SRD_EFAILED) and says so
 * in its log.
 */
#ifndef SRDD_PATHWATCH_H
#define SRDD_PATHWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "srd/srd.h"

typedef struct pathwatch pathwatch;

/* Watch st (the embedded writer srdd opened) at path (copied). */
srd_err pathwatch_create(srd_store *st, const char *path, pathwatch **out);
void pathwatch_destroy(pathwatch *w);

/* True while path names st's file and the file reaches st's tail. Once
 * false, false for good (logged once, as an error); why (SRDI_WIRE_WHY
 * bytes, may be NULL) then receives what happened. Any thread. */
bool pathwatch_ok(pathwatch *w, char *why);

/* pathwatch_ok as a group needs it, with one stat of the path: the path
 * names the file the writer recorded for itself when it opened or last
 * switched files (srdi_writer_ident) and that file reaches the tail; any
 * other answer gets the whole check. Call it with compaction kept out of
 * the file switch until the group's replies are out (group.c's gate, or
 * serial groups that check afresh), after the group's requests were read
 * and before it appends: then a change of the path finished before any
 * request of the group was sent is seen, and a file cut short is seen
 * before the appends would fill the gap. */
bool pathwatch_group(pathwatch *w, char *why);

/* Whether an earlier check failed (no check of its own); why as
 * there. */
bool pathwatch_failed(pathwatch *w, char *why);

#endif
