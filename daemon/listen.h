/* SPDX-License-Identifier: MIT */
/*
 * listen.h -- NNG endpoints the way srdd wants them: listeners whose ipc
 * socket files get the configured mode (no window where they are wider
 * open) and an optional receive size limit; sockets closed with a
 * deadline, because nng_close can hang in NNG 1.5.2 (nanomsg/nng#1813).
 */
#ifndef SRDD_LISTEN_H
#define SRDD_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#include <nng/nng.h>

/* Listen on url. mode: permission bits for ipc:// socket files. recvmax:
 * NNG_OPT_RECVMAXSZ (0: leave the default). *out (may be NULL) receives
 * the listener, so that it can be closed on its own. On failure returns the NNG
 * error and writes a message naming the URL into why (256 bytes). */
int listen_start(nng_socket s, const char *url, unsigned mode,
                 size_t recvmax, nng_listener *out, char *why);

/* nng_close(s) on a helper thread; true when it returned within
 * timeout_ms. When it did not, the close goes on in the background and
 * the caller must not free anything NNG may still use (and should end
 * the process with _exit). */
bool listen_close(nng_socket s, unsigned timeout_ms);

#endif
