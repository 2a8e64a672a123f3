/* SPDX-License-Identifier: MIT */
/*
 * listen.c -- endpoint setup and teardown for the REP and PUB sockets
 * (see listen.h). A stale ipc socket file left by a killed daemon is
 * removed first: the caller holds the store's writer lock, so no live
 * srdd can own it.
 */
#include "srd_features.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discovery.h"
#include "listen.h"

int listen_start(nng_socket s, const char *url, unsigned mode,
                 size_t recvmax, nng_listener *out, char *why)
{
    nng_listener l = {0};
    const char *path = discovery_ipc_path(url);
    struct stat sb;
    if (path && lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
        unlink(path);
    int rv = nng_listener_create(&l, s, url);
    if (rv == 0 && path)
        rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, (int)mode);
    if (rv == 0 && recvmax)
        rv = nng_listener_set_size(l, NNG_OPT_RECVMAXSZ, recvmax);
    if (rv == 0)
        rv = nng_listener_start(l, 0);
    if (rv == 0 && path && chmod(path, mode) != 0)
        rv = NNG_EPERM;
    if (rv != 0)
        snprintf(why, 256, "cannot listen on %s: %s", url, nng_strerror(rv));
    if (out)
        *out = l;
    return rv;
}

/* A close running on its own thread; freed by whoever finishes last. */
typedef struct listen_closer {
    nng_socket s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;       /* nng_close returned */
    bool abandoned;  /* the caller gave up waiting */
} listen_closer;

static void listen_closer_free(listen_closer *c)
{
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void *listen_closer_run(void *arg)
{
    listen_closer *c = arg;
    nng_close(c->s);
    pthread_mutex_lock(&c->mu);
    c->done = true;
    bool abandoned = c->abandoned;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (abandoned)
        listen_closer_free(c);
    return NULL;
}

bool listen_close(nng_socket s, unsigned timeout_ms)
{
    pthread_t t;
    listen_closer *c = calloc(1, sizeof *c);
    if (!c) {
        nng_close(s);
        return true;
    }
    c->s = s;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&t, NULL, listen_closer_run, c) != 0) {
        listen_closer_free(c);
        nng_close(s);
        return true;
    }
    pthread_detach(t);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->mu);
    while (!c->done &&
           pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0)
        ;
    bool done = c->done;
    c->abandoned = !done;
    pthread_mutex_unlock(&c->mu);
    if (done)
        listen_closer_free(c);
    return done;
}
