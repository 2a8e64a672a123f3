/* SPDX-License-Identifier: MIT */
/*
 * server.h -- the request side of srdd: a REP socket served by N NNG
 * contexts, each looping receive -> check and decode -> handle -> reply.
 * Mutations go to the writer thread (group.h) and are replied from there;
 * compactions to the compactor (compactor.h), which replies when done;
 * hello, stats, sync and stream begin/chunk are answered on the context.
 * Bad input of any kind gets an error reply; the context goes on serving.
 */
#ifndef SRDD_SERVER_H
#define SRDD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compactor.h"
#include "dedupe.h"
#include "group.h"
#include "listen.h"
#include "publish.h"
#include "stats.h"
#include "streams.h"

/* Bytes NNG accepts beyond --max-message, so that a message slightly too
 * large still gets an SRD_ETOOBIG reply; past that NNG drops the
 * connection without reading the message. */
#define SERVER_RECV_SLACK ((size_t)64 * 1024)

typedef struct server_conf {
    const char *listen_url;
    const char *publish_url;   /* told to clients in HelloReply */
    const char *store_abs;
    size_t max_message;
    const uint32_t *uids;      /* writers allowed (n_uids == 0: anyone) */
    unsigned n_uids;
    unsigned socket_mode;
    unsigned contexts;
    srd_store *st;
    group *grp;
    streams *ss;
    dedupe *dd;
    publisher *pub;
    srdd_counters *ctr;
    compactor *cmp;
} server_conf;

typedef struct server server;

/* Listen and start serving. why: 256 bytes. */
srd_err server_start(const server_conf *conf, server **out, char *why);

/* The request listener's guard (main probes it). */
listen_guard *server_guard(server *s);

/* Stop accepting connections; mutations arriving from now on are refused
 * with SRD_EUNREACHABLE ("shutting down"). Call before group_stop. */
void server_stop_accepting(server *s);

/* Wait (at most timeout_ms) for replies in progress to be handed to NNG,
 * then close the socket and free everything. False when NNG did not
 * finish closing in time: then nothing is freed and the process should
 * end with _exit. NULL does nothing (true). */
bool server_close(server *s, unsigned timeout_ms);

#endif
