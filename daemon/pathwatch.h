/* SPDX-License-Identifier: MIT */
/*
 * pathwatch.h -- whether the store's path still names the file srdd
 * writes, whole. Removed (rm), replaced (mv over it) or cut short (a third
 * party's truncate) under a running srdd, every write srdd acknowledged
 * from then on would be lost at restart (or, cut short, read as SIGBUS by
 * clients): group commit checks before it acknowledges a group, the
 * main loop checks periodically, and once the check fails srdd
 * acknowledges no more writes (SRD_EFAILED) and says so in its log.
 */
#ifndef SRDD_PATHWATCH_H
#define SRDD_PATHWATCH_H

#include <stdbool.h>

#include "srd/srd.h"

typedef struct pathwatch pathwatch;

/* Watch st (the embedded writer srdd opened) at path (copied). */
srd_err pathwatch_create(srd_store *st, const char *path, pathwatch **out);
void pathwatch_destroy(pathwatch *w);

/* True while path names st's file and the file reaches st's tail. Once
 * false, false for good (logged once, as an error); why (SRDI_WIRE_WHY
 * bytes, may be NULL) then receives what happened. Any thread. */
bool pathwatch_ok(pathwatch *w, char *why);

/* Whether an earlier pathwatch_ok failed (no check of its own); why as
 * there. */
bool pathwatch_failed(pathwatch *w, char *why);

#endif
