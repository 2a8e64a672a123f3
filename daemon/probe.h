/* SPDX-License-Identifier: MIT */
/*
 * probe.h -- is an NNG ipc listener still accepting? Connect to its socket
 * file and complete the SP handshake as a peer would, within a deadline.
 * srdd needs this because NNG 1.5.2 (Debian 12's libnng) stops handing
 * new connections to the socket for good after one peer disconnects
 * during the handshake (nanomsg/nng#1518, fixed in 1.6.0): a single
 * connect() + close() on srdd's socket would otherwise shut every new
 * client out. The transport still completes handshakes in that state, so
 * the caller must also see the connection reach its socket (listen.c
 * watches NNG's pipe events for it). libclient/nngfix.h lists every NNG
 * 1.5.2 workaround; this one is srdd's alone.
 */
#ifndef SRDD_PROBE_H
#define SRDD_PROBE_H

#include <stdint.h>

/* Result of one probe. */
typedef enum probe_result {
    PROBE_ANSWERED = 0,  /* the listener sent its SP header back */
    PROBE_SILENT,        /* connected (or queued) but no header in time */
    PROBE_REFUSED,       /* nobody listens on the path (or it is no socket) */
    PROBE_ERROR          /* this process could not probe (fd limit, ...) */
} probe_result;

/* Connect to the Unix socket at path, send the SP header of protocol
 * as_proto (for example NNG_REQ0_SELF against a REP listener), and wait
 * at most timeout_ms for the listener's header (a full accept queue is
 * retried until then). On PROBE_ANSWERED and PROBE_SILENT *fd_out is the
 * connected socket (untouched when the queue stayed full), to close:
 * after the handshake completed, or after the listener is closed, never
 * in between, or the probe itself would trigger the bug it looks for. */
probe_result probe_sp_ipc(const char *path, uint16_t as_proto,
                          unsigned timeout_ms, int *fd_out);

#endif
