/* SPDX-License-Identifier: MIT */
/*
 * keyset.h -- what one append group has done to each key so far (written
 * or deleted). Group commit consults it before the store's index,
 * which only learns of the group's entries when the group finishes, so
 * that "put k, then delete k" in one group deletes k.
 */
#ifndef SRDD_KEYSET_H
#define SRDD_KEYSET_H

#include <stddef.h>
#include <stdint.h>

#include "srd/srd.h"

typedef struct keyset_slot {
    uint64_t hash;
    uint8_t state; /* 0 empty, KEYSET_ABSENT or KEYSET_PRESENT */
} keyset_slot;

typedef struct keyset {
    keyset_slot *slots;
    size_t cap;  /* power of two, or 0 */
    size_t used;
} keyset;

enum { KEYSET_UNKNOWN = 0, KEYSET_ABSENT = 1, KEYSET_PRESENT = 2 };

/* An empty set needs no init beyond zeroing. */
void keyset_clear(keyset *ks);
void keyset_free(keyset *ks);
/* KEYSET_UNKNOWN when the group has not touched hash. */
int keyset_get(const keyset *ks, uint64_t hash);
/* Record hash as KEYSET_ABSENT or KEYSET_PRESENT (SRD_ENOMEM). */
srd_err keyset_set(keyset *ks, uint64_t hash, int state);

/* Room for `more` new keys, so that the next `more` keyset_set calls
 * cannot fail. */
srd_err keyset_reserve(keyset *ks, size_t more);

#endif
