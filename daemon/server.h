/* SPDX-License-Identifier: MIT */
/*
 * server.h -- the request side of srdd: the request socket (netloop.h)
 * and what is done with each request on its loop thread: bad input of
 * any kind gets an error reply; hello, stats, sync and stream begin/chunk
 * are answered at once; the mutations of a pass are committed as one
 * group (group.h) on the same thread; compactions go to the compactor
 * (compactor.h), which replies when done.
 */
#ifndef SRDD_SERVER_H
#define SRDD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compactor.h"
#include "dedupe.h"
#include "group.h"
#include "publish.h"
#include "stats.h"
#include "streams.h"

/* Bytes read beyond --max-message, so that a message slightly too large
 * still gets an SRD_ETOOBIG reply from the decoder; past that srdd
 * replies SRD_ETOOBIG without reading it and closes the connection. */
#define SERVER_RECV_SLACK ((size_t)64 * 1024)

typedef struct server_conf {
    const char *listen_url;
    const char *publish_url;   /* told to clients in HelloReply */
    const char *store_abs;
    size_t max_message;
    const uint32_t *uids;      /* writers allowed (n_uids == 0: anyone) */
    unsigned n_uids;
    unsigned socket_mode;
    unsigned contexts;         /* unused (--contexts of the NNG server) */
    srd_store *st;
    group *grp;
    streams *ss;
    dedupe *dd;
    publisher *pub;
    srdd_counters *ctr;
    compactor *cmp;
    unsigned spin_us;          /* --spin-us (netloop_conf) */
} server_conf;

typedef struct server server;

/* Listen and start serving. why: 256 bytes. */
srd_err server_start(const server_conf *conf, server **out, char *why);

/* Stop accepting connections and wait for the loop's pass; requests
 * arriving from now on are refused with SRD_EUNREACHABLE ("shutting
 * down"). Call before compactor_stop and group_destroy. */
void server_stop_accepting(server *s);

/* Let queued replies leave (at most timeout_ms), then close every
 * connection and free everything. NULL does nothing. */
void server_close(server *s, unsigned timeout_ms);

/* Client connections open on the request socket now (any thread). */
uint64_t server_clients(server *s);

#endif
