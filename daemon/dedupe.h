/* SPDX-License-Identifier: MIT */
/*
 * dedupe.h -- apply every mutation once per (client_id, seq). For each
 * client id the daemon keeps the responses of its last DEDUPE_WINDOW
 * mutations: a repeat gets the cached response, a sequence number older
 * than the window gets "stale sequence", anything else is new (so
 * pipelined requests may arrive slightly out of order). Thread-safe.
 */
#ifndef SRDD_DEDUPE_H
#define SRDD_DEDUPE_H

#include <stddef.h>
#include <stdint.h>

#include "srd/srd.h"

#define DEDUPE_WINDOW 16u

typedef struct dedupe dedupe;

typedef enum dedupe_verdict {
    DEDUPE_NEW,     /* apply it */
    DEDUPE_CACHED,  /* applied before: *resp is a malloc'd copy of the reply */
    DEDUPE_PENDING, /* being applied in this group: *tag names the request */
    DEDUPE_STALE    /* older than the window: reject */
} dedupe_verdict;

/* A table for at most max_clients client ids (oldest forgotten first). */
srd_err dedupe_create(size_t max_clients, dedupe **out);
void dedupe_destroy(dedupe *d);

dedupe_verdict dedupe_check(dedupe *d, uint64_t cid, uint64_t seq,
                            void **tag, uint8_t **resp, size_t *len);

/* Mark (cid, seq) as being applied by the request tag. */
srd_err dedupe_begin(dedupe *d, uint64_t cid, uint64_t seq, void *tag,
                     uint64_t now_ms);

/* Store the response of (cid, seq) (copied). resp NULL (no reply could be
 * built), or no memory to copy it, drops the entry: a retry then counts
 * as new. */
void dedupe_finish(dedupe *d, uint64_t cid, uint64_t seq, const void *resp,
                   size_t len);


#endif
