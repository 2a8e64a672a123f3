/* SPDX-License-Identifier: MIT */
/*
 * netloop.h -- srdd's request transport: one listener (a Unix stream
 * socket, unix:///path or ipc:///path, or tcp://host:port) and every
 * connection to it, served by one epoll loop thread. Messages travel as
 * frames: [u32 little-endian length][message] (wire.h, SRDI_WIRE_FRAME).
 * The loop reads every ready connection, hands each complete frame to
 * on_frame (in arrival order per connection), calls on_pass once per pass
 * (srdd's group commit), then writes the replies queued meanwhile, one
 * write per connection. Replies are sent without blocking: a connection's
 * unsent replies wait in its backlog (bounded; a peer that leaves replies
 * unread for NETLOOP_STALL_MS or past the bound is dropped, logged), and
 * no more requests are read from it while some wait.
 */
#ifndef SRDD_NETLOOP_H
#define SRDD_NETLOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

/* How long replies may wait unread before the connection is dropped. */
#define NETLOOP_STALL_MS 2000u
/* Bytes of unsent replies a connection may hold, at least. */
#define NETLOOP_BACKLOG_MIN ((size_t)16 << 20)

typedef struct netloop netloop;
typedef struct nconn nconn;

typedef struct netloop_conf {
    const char *url;
    unsigned socket_mode;   /* unix socket file mode */
    size_t max_frame;       /* largest frame read; a longer one gets
                               on_oversize, then the connection closes */
    void *arg;              /* for the callbacks */
    /* A complete frame (owned by the callee). Loop thread. */
    void (*on_frame)(void *arg, nconn *c, nng_msg *m);
    /* A frame of len bytes, more than max_frame, arrived. Loop thread. */
    void (*on_oversize)(void *arg, nconn *c, uint64_t len);
    /* Every frame of this pass was handed over. Loop thread. Returns
     * whether the next wait may spin (spin_us). */
    bool (*on_pass)(void *arg);
    /* A connection closed. Loop thread. */
    void (*on_close)(void *arg, nconn *c);
    unsigned spin_us;       /* after a pass with work, poll this long
                               before blocking (0: never; nl_wait) */
    /* Optional (NULL: never wait). After a pass's frames, before
     * on_pass: how many ns the loop may wait for more requests (0: go
     * on to on_pass). events: what the pass's last wait returned (-1
     * before its first, 0 on a timeout). Loop thread. */
    uint64_t (*on_gather)(void *arg, int events);
} netloop_conf;

/* Listen and start the loop thread; *out is set before the thread
 * starts (its callbacks may read it). why: 256 bytes. */
int netloop_start(const netloop_conf *conf, netloop **out, char *why);

/* Close the listener (no new connections); the loop goes on serving. */
void netloop_stop_listening(netloop *nl);

/* Let queued replies leave (at most timeout_ms), stop the thread, close
 * every connection and free nl. NULL does nothing. */
void netloop_close(netloop *nl, unsigned timeout_ms);

/* Open connections now. */
uint64_t netloop_conns(netloop *nl);

/* Queue reply m (taken; NULL does nothing) on c, framed. From the loop
 * thread it leaves at the end of the pass; from any other it is written
 * at once. A closed connection drops it. */
void nconn_send(nconn *c, nng_msg *m);

/* Keep c (any thread) / release it. */
void nconn_ref(nconn *c);
void nconn_unref(nconn *c);

/* The connection's id (never 0, not reused while srdd runs). */
uint32_t nconn_id(const nconn *c);

/* Loop thread: stamp c with mark; true when it bore another before
 * (so a caller counts each connection once per stamp). */
bool nconn_mark(nconn *c, uint64_t mark);

/* SO_PEERCRED of a Unix connection: false for TCP. */
bool nconn_peer(const nconn *c, uint32_t *uid, int32_t *pid);

#endif
