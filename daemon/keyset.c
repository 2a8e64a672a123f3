/* SPDX-License-Identifier: MIT */
/*
 * keyset.c -- open addressing with linear probing over {hash, state};
 * grows at half full. Cleared after every group; a table that grew large
 * for one big batch is released rather than zeroed group after group.
 */
#include "srd_features.h"

#include <stdlib.h>
#include <string.h>

#include "keyset.h"

#define KEYSET_MIN 256u
#define KEYSET_KEEP 8192u

static size_t keyset_home(uint64_t hash, size_t cap)
{
    /* Key hashes are XXH3 outputs: the low bits are already mixed. */
    return (size_t)(hash & (cap - 1));
}

static keyset_slot *keyset_find(const keyset *ks, uint64_t hash)
{
    size_t i = keyset_home(hash, ks->cap);
    while (ks->slots[i].state && ks->slots[i].hash != hash)
        i = (i + 1) & (ks->cap - 1);
    return &ks->slots[i];
}

static srd_err keyset_grow(keyset *ks)
{
    size_t cap = ks->cap ? ks->cap * 2 : KEYSET_MIN;
    keyset old = *ks;
    ks->slots = calloc(cap, sizeof *ks->slots);
    if (!ks->slots) {
        *ks = old;
        return SRD_ENOMEM;
    }
    ks->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].state)
            *keyset_find(ks, old.slots[i].hash) = old.slots[i];
    free(old.slots);
    return SRD_OK;
}

srd_err keyset_reserve(keyset *ks, size_t more)
{
    while ((ks->used + more) * 2 > ks->cap)
        if (keyset_grow(ks) != SRD_OK)
            return SRD_ENOMEM;
    return SRD_OK;
}

void keyset_clear(keyset *ks)
{
    if (ks->cap > KEYSET_KEEP) {
        keyset_free(ks);
        return;
    }
    if (ks->used)
        memset(ks->slots, 0, ks->cap * sizeof *ks->slots);
    ks->used = 0;
}

void keyset_free(keyset *ks)
{
    free(ks->slots);
    memset(ks, 0, sizeof *ks);
}

int keyset_get(const keyset *ks, uint64_t hash)
{
    return ks->cap ? keyset_find(ks, hash)->state : KEYSET_UNKNOWN;
}

srd_err keyset_set(keyset *ks, uint64_t hash, int state)
{
    keyset_slot *s = ks->cap ? keyset_find(ks, hash) : NULL;
    if (!s || !s->state) {
        /* A new key: make room first (an existing one never needs it). */
        if ((ks->used + 1) * 2 > ks->cap && keyset_grow(ks) != SRD_OK)
            return SRD_ENOMEM;
        s = keyset_find(ks, hash);
    }
    if (!s->state)
        ks->used++;
    s->hash = hash;
    s->state = (uint8_t)state;
    return SRD_OK;
}
