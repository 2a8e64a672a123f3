/* SPDX-License-Identifier: MIT */
/*
 * nngfix.h -- workarounds for defects of NNG 1.5.2 (Debian 12's libnng),
 * shared by the client and srdd. Each names its upstream issue; drop it
 * once the NNG we build against has the fix. The full list, including the
 * workarounds that live elsewhere (docs/RELIABILITY.md, "NNG 1.5.2
 * workarounds"):
 *   1. nng_close can block for good (nanomsg/nng#1543, nanomsg/nng#1813):
 *      srdi_nng_close_bounded, here; used by the client, srdd and tests.
 *   2. a dialer can stop redialling for good (no upstream issue matches;
 *      nearest nanomsg/nng#970): srdi_nng_redial_stuck, here; driven by
 *      the client's background thread (client_conn.c).
 *   3. a listener stops handing connections to its socket after a peer
 *      left mid-handshake (nanomsg/nng#1518, fixed in 1.6.0): srdd probes
 *      and replaces its listeners (daemon/probe.c, daemon/listen.c).
 *   4. what NNG loses or never frees at a close under load
 *      (nanomsg/nng#1813, #1543, #1518) and its atomics TSan cannot see:
 *      tests/lsan-nng.supp, tests/tsan-nng.supp.
 */
#ifndef SRDI_NNGFIX_H
#define SRDI_NNGFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

/* ---- 1. nng_close with a deadline ---------------------------------------
 * NNG 1.5.2's nng_close can block for good: after reconnects (its
 * endpoint close is not synchronous yet, nanomsg/nng#1543), and when a
 * socket is closed under load or after the peer dropped a connection in
 * the middle of a large send (an aio stopped mid-start never calls back,
 * nanomsg/nng#1813; measured in check_srdd). srd_close, srdd's shutdown
 * and the tests must not hang with it. */

/* The most sockets one call closes. */
#define SRDI_NNG_CLOSE_MAX 4

/* nng_close each of socks[0..n) in order, on a helper thread; true when
 * all returned within timeout_ms. When they did not, the closes go on in
 * the background: the caller must not free anything NNG may still use
 * (aios, contexts' memory) and should leak it instead. n is capped at
 * SRDI_NNG_CLOSE_MAX. */
bool srdi_nng_close_bounded(const nng_socket *socks, size_t n,
                            unsigned timeout_ms);

/* ---- 2. a dialer that stopped redialling --------------------------------
 * NNG 1.5.2's dialer can stop redialling for good. Seen in check_client's
 * kill -9 test under ASan, about one run in four: after srdd's restart
 * the REQ dialer's stats showed two failed attempts (counted as "other")
 * and no connect, every thread idle, and that client's writes failed
 * until the test gave up. NNG's dialer_connect_cb takes no further action
 * after NNG_ECLOSED, which "other" includes: the likely path. No upstream
 * issue matches; nanomsg/nng#970 is the nearest (a dialer giving up after
 * NNG_ECLOSED in its connect callback, closed in 2019). */

/* One dialer's watch, described by the caller's fields. */
typedef struct srdi_nng_redial {
    nng_socket sock;
    nng_dialer *dialer;    /* replaced by a fresh one when redialled */
    const char *url;
    uint64_t *down_since;  /* when the pipes went to 0 (ms); 0: connected */
} srdi_nng_redial;

/* Call often (the client does every tick). pipes: the socket's live
 * pipes now; now: a monotonic ms clock. After
 * the socket has had no pipe for after_ms and peer_alive(ctx) says the
 * peer runs, dial url afresh (non-blocking) and close the old dialer once
 * the new one exists; true when it did. A dialer never opened (id <= 0)
 * is left alone. */
bool srdi_nng_redial_stuck(const srdi_nng_redial *r, int pipes, uint64_t now,
                           unsigned after_ms, bool (*peer_alive)(void *),
                           void *ctx);

#endif
