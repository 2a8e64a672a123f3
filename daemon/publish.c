/* SPDX-License-Identifier: MIT */
/*
 * publish.c -- the PUB side of index updates (see publish.h). Group
 * commit (the request loop) and the compactor send, through one aio kept
 * for the purpose (nng_sendmsg allocates one per call, and NNG 1.5.2
 * draws a random number for each: a getrandom system call per update);
 * `mu` lets one send use it at a time. With no subscriber connected
 * (listen_guard_has_peers) an update is not even encoded: PUB would drop
 * it, and a subscriber misses what was published before it connected.
 */
#include "srd_features.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>

#include "listen.h"
#include "log.h"
#include "publish.h"

/* The SP protocol number of SUB0, the peers of this socket (NNG 1.5.2's
 * headers do not name it). */
#define PUBLISH_PEER_PROTO 0x21

struct publisher {
    nng_socket sock;
    listen_guard *guard;
    pthread_mutex_t mu;         /* aio */
    nng_aio *aio;               /* no callback: completes in the sender */
    _Atomic uint64_t drops;
};

srd_err publish_open(const char *url, unsigned mode, publisher **out,
                     char *why)
{
    publisher *p = calloc(1, sizeof *p);
    if (!p)
        return SRD_ENOMEM;
    int rv = nng_aio_alloc(&p->aio, NULL, NULL);
    if (rv != 0) {
        free(p);
        return SRD_ENOMEM;
    }
    rv = nng_pub0_open(&p->sock);
    if (rv == 0)
        rv = listen_guarded(p->sock, url, mode, 0, PUBLISH_PEER_PROTO,
                            &p->guard, why);
    else
        snprintf(why, 256, "cannot open the PUB socket: %s",
                 nng_strerror(rv));
    if (rv != 0) {
        nng_close(p->sock);
        nng_aio_free(p->aio);
        free(p);
        return SRD_EUNREACHABLE;
    }
    nng_aio_set_timeout(p->aio, NNG_DURATION_ZERO); /* never blocks */
    pthread_mutex_init(&p->mu, NULL);
    *out = p;
    return SRD_OK;
}

/* What nng_sendmsg(NNG_FLAG_NONBLOCK) does, with the publisher's aio:
 * 0 when m was taken, else m is still the caller's. */
static int publish_msg(publisher *p, nng_msg *m)
{
    pthread_mutex_lock(&p->mu);
    nng_aio_set_msg(p->aio, m);
    nng_send_aio(p->sock, p->aio);
    nng_aio_wait(p->aio);
    int rv = nng_aio_result(p->aio);
    nng_aio_set_msg(p->aio, NULL);
    pthread_mutex_unlock(&p->mu);
    return rv;
}

void publish_send(publisher *p, const srdi_wire_update *up)
{
    size_t len;
    nng_msg *m = NULL;
    if (!listen_guard_has_peers(p->guard))
        return;
    if (srdi_wire_update_size(up, &len) != SRD_OK ||
        nng_msg_alloc(&m, len) != 0 ||
        srdi_wire_update_encode(up, nng_msg_body(m), len) != SRD_OK ||
        publish_msg(p, m) != 0) {
        nng_msg_free(m);
        if (atomic_fetch_add(&p->drops, 1) == 0)
            log_warn("an index update could not be published (counted in "
                     "publish_drops; clients recover from the file)");
    }
}

listen_guard *publish_guard(publisher *p)
{
    return p->guard;
}

uint64_t publish_drops(const publisher *p)
{
    return atomic_load(&((publisher *)p)->drops);
}

bool publish_close(publisher *p)
{
    if (!p)
        return true;
    if (!listen_close(p->sock, 3000)) {
        log_warn("the publish socket did not close within 3000 ms (an NNG "
                 "1.5.2 issue); exiting without waiting for it");
        return false;
    }
    listen_guard_free(p->guard);
    nng_aio_free(p->aio);
    pthread_mutex_destroy(&p->mu);
    free(p);
    return true;
}
