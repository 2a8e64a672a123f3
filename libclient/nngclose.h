/* SPDX-License-Identifier: MIT */
/*
 * nngclose.h -- nng_close with a deadline. NNG 1.5.2's nng_close can block
 * for good: after reconnects (its endpoint close is not synchronous yet,
 * nanomsg/nng#1543) and after the peer dropped a connection in the middle
 * of a large send (measured in check_srdd). srd_close, srdd's shutdown and
 * the tests must not hang with it.
 */
#ifndef SRDI_NNGCLOSE_H
#define SRDI_NNGCLOSE_H

#include <stdbool.h>
#include <stddef.h>

#include <nng/nng.h>

/* The most sockets one call closes. */
#define SRDI_NNG_CLOSE_MAX 4

/* nng_close each of socks[0..n) in order, on a helper thread; true when
 * all returned within timeout_ms. When they did not, the closes go on in
 * the background: the caller must not free anything NNG may still use
 * (aios, contexts' memory) and should leak it instead. n is capped at
 * SRDI_NNG_CLOSE_MAX. */
bool srdi_nng_close_bounded(const nng_socket *socks, size_t n,
                            unsigned timeout_ms);

#endif
