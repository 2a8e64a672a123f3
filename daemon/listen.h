/* SPDX-License-Identifier: MIT */
/*
 * listen.h -- NNG endpoints the way srdd wants them: listeners whose ipc
 * socket files get the configured mode (no window where they are wider
 * open) and an optional receive size limit, guarded so that one NNG 1.5.2
 * stopped serving is replaced (probe.h says why); sockets closed with a
 * deadline, because nng_close can hang in NNG 1.5.2 (nanomsg/nng#1813).
 */
#ifndef SRDD_LISTEN_H
#define SRDD_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

/* A listener and how it was made. Thread-safe. */
typedef struct listen_guard listen_guard;

typedef enum listen_health {
    LISTEN_HEALTHY = 0,  /* it answered the probe (or is not ipc://) */
    LISTEN_RESTARTED,    /* it did not; a fresh listener replaced it */
    LISTEN_BROKEN        /* it did not, and listening again failed */
} listen_health;

/* Listen on url. mode: permission bits for ipc:// socket files. recvmax:
 * NNG_OPT_RECVMAXSZ (0: leave the default). peer_proto: the SP protocol
 * number of the sockets that dial this one (NNG_REQ0_SELF for srdd's REP
 * socket), used by listen_guard_check. On failure returns the NNG error
 * and writes a message naming the URL into why (256 bytes). */
int listen_guarded(nng_socket s, const char *url, unsigned mode,
                   size_t recvmax, uint16_t peer_proto, listen_guard **out,
                   char *why);

/* Probe the listener (probe_sp_ipc, at most timeout_ms); when it does not
 * answer, close it and listen again (logged). Does nothing once stopped. */
listen_health listen_guard_check(listen_guard *g, unsigned timeout_ms);

/* Close the listener (no new connections); checks do nothing from now
 * on. NULL does nothing. */
void listen_guard_stop(listen_guard *g);

/* Whether some peer's pipe reached the socket and has not left (NNG's
 * pipe events; true for good once one could not be counted). A peer
 * that connects meanwhile is heard of at most as late as its pipe
 * event. */
bool listen_guard_has_peers(listen_guard *g);

/* Free the guard (after listen_guard_stop or the socket's close). */
void listen_guard_free(listen_guard *g);

/* nng_close(s) on a helper thread; true when it returned within
 * timeout_ms. When it did not, the close goes on in the background and
 * the caller must not free anything NNG may still use (and should end
 * the process with _exit). */
bool listen_close(nng_socket s, unsigned timeout_ms);

#endif
