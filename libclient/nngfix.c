/* SPDX-License-Identifier: MIT */
/*
 * nngfix.c -- the client's and srdd's workarounds for NNG 1.5.2 (nngfix.h
 * names each upstream issue): nng_close on a helper thread, given up on
 * after a deadline (the helper and the waiter share one reference-counted
 * record; whoever drops the last reference frees it, so a waiter that gave
 * up leaves nothing dangling), and a fresh dialer for one that stopped
 * redialling.
 */
#include "srd_features.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "nngfix.h"

typedef struct closer {
    nng_socket socks[SRDI_NNG_CLOSE_MAX];
    size_t n;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;        /* under mu */
    atomic_int refs;  /* the helper and the waiter */
} closer;

static void closer_rele(closer *k)
{
    if (atomic_fetch_sub(&k->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
    free(k);
}

static void close_all(const nng_socket *socks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        nng_close(socks[i]);
}

static void *closer_main(void *arg)
{
    closer *k = arg;
    close_all(k->socks, k->n);
    pthread_mutex_lock(&k->mu);
    k->done = true;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    closer_rele(k);
    return NULL;
}

static struct timespec deadline_after(unsigned ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

bool srdi_nng_close_bounded(const nng_socket *socks, size_t n,
                            unsigned timeout_ms)
{
    if (n > SRDI_NNG_CLOSE_MAX)
        n = SRDI_NNG_CLOSE_MAX;
    closer *k = calloc(1, sizeof *k);
    pthread_t t;
    if (k) {
        for (size_t i = 0; i < n; i++)
            k->socks[i] = socks[i];
        k->n = n;
        atomic_init(&k->refs, 2);
        pthread_mutex_init(&k->mu, NULL);
        pthread_cond_init(&k->cv, NULL);
    }
    if (!k || pthread_create(&t, NULL, closer_main, k) != 0) {
        if (k) {
            pthread_mutex_destroy(&k->mu);
            pthread_cond_destroy(&k->cv);
            free(k);
        }
        close_all(socks, n); /* no thread to spare: close inline */
        return true;
    }
    pthread_detach(t);
    struct timespec until = deadline_after(timeout_ms);
    pthread_mutex_lock(&k->mu);
    while (!k->done &&
           pthread_cond_timedwait(&k->cv, &k->mu, &until) != ETIMEDOUT)
        ;
    bool done = k->done;
    pthread_mutex_unlock(&k->mu);
    closer_rele(k);
    return done;
}

bool srdi_nng_redial_stuck(const srdi_nng_redial *r, int pipes, uint64_t now,
                           unsigned after_ms, bool (*peer_alive)(void *),
                           void *ctx)
{
    if (nng_dialer_id(*r->dialer) <= 0)
        return false; /* never dialled */
    if (pipes > 0 || *r->down_since == 0) {
        *r->down_since = pipes > 0 ? 0 : now;
        return false;
    }
    if (now - *r->down_since < after_ms || !peer_alive(ctx))
        return false;
    *r->down_since = now;
    nng_dialer fresh;
    if (nng_dial(r->sock, r->url, &fresh, NNG_FLAG_NONBLOCK) != 0)
        return false;
    nng_dialer_close(*r->dialer);
    *r->dialer = fresh;
    return true;
}
