/* SPDX-License-Identifier: MIT */
/*
 * dedupe.c -- per-client windows of recent mutation responses (see
 * dedupe.h). A chained hash table keyed by client id under one mutex; a
 * full table forgets the clients idle longest, never one with a mutation
 * in flight.
 */
#include "srd_features.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dedupe.h"

typedef struct dd_slot {
    bool used;
    uint64_t seq;
    void *tag;      /* non-NULL while pending */
    uint8_t *resp;  /* cached response once finished */
    size_t len;
} dd_slot;

typedef struct dd_client {
    uint64_t id;
    uint64_t seen_ms;
    bool has_floor;
    uint64_t floor; /* seqs at or below it left the window: stale */
    dd_slot win[DEDUPE_WINDOW];
    struct dd_client *next;
} dd_client;

struct dedupe {
    pthread_mutex_t mu;
    dd_client **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
    size_t max;
};

srd_err dedupe_create(size_t max_clients, dedupe **out)
{
    dedupe *d = calloc(1, sizeof *d);
    if (!d)
        return SRD_ENOMEM;
    d->max = max_clients ? max_clients : 1;
    d->nbuckets = 64;
    while (d->nbuckets < d->max / 2)
        d->nbuckets *= 2;
    /* One chain head, a pointer, per bucket. */
    d->buckets = calloc(d->nbuckets, sizeof(dd_client *));
    if (!d->buckets) {
        free(d);
        return SRD_ENOMEM;
    }
    pthread_mutex_init(&d->mu, NULL);
    *out = d;
    return SRD_OK;
}

static void dd_client_free(dd_client *c)
{
    for (unsigned i = 0; i < DEDUPE_WINDOW; i++)
        free(c->win[i].resp);
    free(c);
}

void dedupe_destroy(dedupe *d)
{
    if (!d)
        return;
    for (size_t b = 0; b < d->nbuckets; b++) {
        while (d->buckets[b]) {
            dd_client *c = d->buckets[b];
            d->buckets[b] = c->next;
            dd_client_free(c);
        }
    }
    pthread_mutex_destroy(&d->mu);
    free(d->buckets);
    free(d);
}

static dd_client **dd_bucket(dedupe *d, uint64_t cid)
{
    uint64_t h = cid * 0x9E3779B97F4A7C15ull;
    return &d->buckets[(h >> 32) & (d->nbuckets - 1)];
}

static dd_client *dd_find(dedupe *d, uint64_t cid)
{
    for (dd_client *c = *dd_bucket(d, cid); c; c = c->next)
        if (c->id == cid)
            return c;
    return NULL;
}

static bool dd_pending(const dd_client *c)
{
    for (unsigned i = 0; i < DEDUPE_WINDOW; i++)
        if (c->win[i].used && c->win[i].tag)
            return true;
    return false;
}

/* Forget the least recently heard client with nothing in flight. */
static void dd_evict_one(dedupe *d)
{
    dd_client **victim = NULL;
    for (size_t b = 0; b < d->nbuckets; b++)
        for (dd_client **pc = &d->buckets[b]; *pc; pc = &(*pc)->next)
            if (!dd_pending(*pc) &&
                (!victim || (*pc)->seen_ms < (*victim)->seen_ms))
                victim = pc;
    if (victim) {
        dd_client *c = *victim;
        *victim = c->next;
        dd_client_free(c);
        d->count--;
    }
}

static dd_client *dd_get(dedupe *d, uint64_t cid, uint64_t now_ms)
{
    dd_client *c = dd_find(d, cid);
    if (!c) {
        if (d->count >= d->max)
            dd_evict_one(d);
        c = calloc(1, sizeof *c);
        if (!c)
            return NULL;
        c->id = cid;
        dd_client **b = dd_bucket(d, cid);
        c->next = *b;
        *b = c;
        d->count++;
    }
    c->seen_ms = now_ms;
    return c;
}

static dd_slot *dd_slot_of(dd_client *c, uint64_t seq)
{
    for (unsigned i = 0; i < DEDUPE_WINDOW; i++)
        if (c->win[i].used && c->win[i].seq == seq)
            return &c->win[i];
    return NULL;
}

/* Classify (c, seq); fills the outputs of dedupe_check. */
static dedupe_verdict dd_classify(dd_client *c, uint64_t seq, void **tag,
                                  uint8_t **resp, size_t *len)
{
    dd_slot *s = c ? dd_slot_of(c, seq) : NULL;
    if (s && s->tag) {
        *tag = s->tag;
        return DEDUPE_PENDING;
    }
    if (s) {
        *resp = malloc(s->len ? s->len : 1);
        if (!*resp)
            return DEDUPE_STALE;
        memcpy(*resp, s->resp, s->len);
        *len = s->len;
        return DEDUPE_CACHED;
    }
    if (c && c->has_floor && seq <= c->floor)
        return DEDUPE_STALE;
    return DEDUPE_NEW;
}

dedupe_verdict dedupe_check(dedupe *d, uint64_t cid, uint64_t seq,
                            void **tag, uint8_t **resp, size_t *len)
{
    *tag = NULL;
    *resp = NULL;
    *len = 0;
    pthread_mutex_lock(&d->mu);
    dedupe_verdict v = dd_classify(dd_find(d, cid), seq, tag, resp, len);
    pthread_mutex_unlock(&d->mu);
    return v;
}

/* A free slot, or the oldest one (its seq becomes the floor). */
static dd_slot *dd_take_slot(dd_client *c)
{
    dd_slot *old = NULL;
    for (unsigned i = 0; i < DEDUPE_WINDOW; i++) {
        if (!c->win[i].used)
            return &c->win[i];
        if (!old || c->win[i].seq < old->seq)
            old = &c->win[i];
    }
    if (!c->has_floor || old->seq > c->floor)
        c->floor = old->seq;
    c->has_floor = true;
    free(old->resp);
    memset(old, 0, sizeof *old);
    return old;
}

srd_err dedupe_begin(dedupe *d, uint64_t cid, uint64_t seq, void *tag,
                     uint64_t now_ms)
{
    srd_err rc = SRD_ENOMEM;
    pthread_mutex_lock(&d->mu);
    dd_client *c = dd_get(d, cid, now_ms);
    if (c) {
        dd_slot *s = dd_take_slot(c);
        s->used = true;
        s->seq = seq;
        s->tag = tag;
        rc = SRD_OK;
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

void dedupe_finish(dedupe *d, uint64_t cid, uint64_t seq, const void *resp,
                   size_t len)
{
    pthread_mutex_lock(&d->mu);
    dd_client *c = dd_find(d, cid);
    dd_slot *s = c ? dd_slot_of(c, seq) : NULL;
    if (s) {
        s->tag = NULL;
        s->resp = resp ? malloc(len ? len : 1) : NULL;
        if (s->resp) {
            memcpy(s->resp, resp, len);
            s->len = len;
        } else {
            memset(s, 0, sizeof *s);
        }
    }
    pthread_mutex_unlock(&d->mu);
}
