/* SPDX-License-Identifier: MIT */
/*
 * ebr.c -- epoch-based reclamation (see ebr.h).
 *
 * Each thread owns one record in a process-wide, append-only list. A reader
 * publishes the global epoch in its record on enter and 0 on leave. An
 * object retired at epoch R (the global epoch is bumped after the object
 * was unlinked) may be freed once every record is 0 or >= R+1: such readers
 * entered after the unlink and cannot hold the object. Records of exited
 * threads are recycled (a thread-specific destructor marks them free).
 */
#include "srd_features.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "ebr.h"

struct srdi_ebr_rec {
    _Atomic uint64_t active; /* epoch seen on enter; 0 when outside */
    _Atomic bool used;       /* owned by a live thread */
    srdi_ebr_rec *next;      /* immutable once published */
};

struct srdi_ebr_list {
    void *p;
    srdi_ebr_free_fn fn;
    uint64_t epoch; /* free once all readers are outside or past this */
    srdi_ebr_list *next;
};

static _Atomic uint64_t ebr_epoch = 1;
static _Atomic(srdi_ebr_rec *) ebr_head;
static pthread_key_t ebr_key;
static pthread_once_t ebr_once = PTHREAD_ONCE_INIT;
static __thread srdi_ebr_rec *ebr_self;

static void ebr_thread_exit(void *p)
{
    srdi_ebr_rec *r = p;
    atomic_store(&r->active, 0);
    atomic_store(&r->used, false);
}

static void ebr_init(void)
{
    pthread_key_create(&ebr_key, ebr_thread_exit);
}

/* Find a free record or add one. Records are never freed (a few dozen
 * bytes per thread that ever read), which keeps the list walk safe. */
static srdi_ebr_rec *ebr_register(void)
{
    pthread_once(&ebr_once, ebr_init);
    for (srdi_ebr_rec *r = atomic_load(&ebr_head); r; r = r->next) {
        bool expect = false;
        if (!atomic_load(&r->used) &&
            atomic_compare_exchange_strong(&r->used, &expect, true)) {
            ebr_self = r;
            pthread_setspecific(ebr_key, r);
            return r;
        }
    }
    srdi_ebr_rec *r = calloc(1, sizeof *r);
    if (!r)
        abort(); /* 24 bytes once per thread; nothing sane to do */
    atomic_store(&r->used, true);
    srdi_ebr_rec *head = atomic_load(&ebr_head);
    do {
        r->next = head;
    } while (!atomic_compare_exchange_weak(&ebr_head, &head, r));
    ebr_self = r;
    pthread_setspecific(ebr_key, r);
    return r;
}

srdi_ebr_rec *srdi_ebr_enter(void)
{
    srdi_ebr_rec *r = ebr_self ? ebr_self : ebr_register();
    atomic_store(&r->active, atomic_load(&ebr_epoch)); /* seq_cst: fence */
    return r;
}

void srdi_ebr_leave(srdi_ebr_rec *r)
{
    atomic_store_explicit(&r->active, 0, memory_order_release);
}

/* The oldest epoch any reader is still in, or UINT64_MAX if none. */
static uint64_t ebr_min_active(void)
{
    uint64_t min = UINT64_MAX;
    for (srdi_ebr_rec *r = atomic_load(&ebr_head); r; r = r->next) {
        uint64_t a = atomic_load(&r->active);
        if (a != 0 && a < min)
            min = a;
    }
    return min;
}

void srdi_ebr_collect(srdi_ebr_list **list)
{
    uint64_t min = ebr_min_active();
    srdi_ebr_list **pp = list;
    while (*pp) {
        srdi_ebr_list *it = *pp;
        if (it->epoch <= min) {
            *pp = it->next;
            it->fn(it->p);
            free(it);
        } else {
            pp = &it->next;
        }
    }
}

void srdi_ebr_retire(srdi_ebr_list **list, void *p, srdi_ebr_free_fn fn)
{
    /* Readers entering from now on see the epoch after the bump and
     * therefore the new pointer (the unlink happened before, seq_cst). */
    uint64_t safe = atomic_fetch_add(&ebr_epoch, 1) + 1;
    srdi_ebr_list *it = malloc(sizeof *it);
    if (!it) {
        while (ebr_min_active() < safe)
            sched_yield();
        fn(p);
        return;
    }
    it->p = p;
    it->fn = fn;
    it->epoch = safe;
    it->next = *list;
    *list = it;
    srdi_ebr_collect(list);
}

void srdi_ebr_drain(srdi_ebr_list **list)
{
    while (*list) {
        srdi_ebr_collect(list);
        if (*list)
            sched_yield();
    }
}
