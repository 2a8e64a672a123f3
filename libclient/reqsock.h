/* SPDX-License-Identifier: MIT */
/*
 * reqsock.h -- the client side of srdd's request socket: dial a
 * unix:///path (or ipc:///path) or tcp://host:port address, send one
 * framed message ([u32 LE length][message], SRDI_WIRE_FRAME), and take
 * framed messages out of a receive buffer that reads as much as the
 * kernel has at once. Descriptors are blocking; every call that must not
 * wait passes MSG_DONTWAIT, and waits with a deadline use poll. Used by client mode, srd_daemon_* and the tests.
 */
#ifndef SRD_REQSOCK_H
#define SRD_REQSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "srd/srd.h"

/* A receive buffer: bytes read and not yet taken. */
typedef struct srdi_rbuf {
    uint8_t *p;
    size_t off, len, cap;
} srdi_rbuf;

/* Connect to url, waiting at most 5 s; a descriptor (blocking,
 * close-on-exec) or -1 with errno (EINVAL: not an address this transport
 * knows; ETIMEDOUT: no answer in time). */
int srdi_reqsock_dial(const char *url);

/* Send msg (len bytes) as one frame, waiting at most timeout_ms (< 0:
 * forever) for room. SRD_OK, SRD_ETIMEDOUT, SRD_EUNREACHABLE (the
 * connection failed), SRD_ETOOBIG (len does not fit the length). */
srd_err srdi_reqsock_send(int fd, const void *msg, size_t len,
                          int timeout_ms);

/* One non-blocking step of sending the frame hdr + msg (len bytes) of
 * which *done bytes went out: 1 (progress, *done advanced), 0 (the socket
 * is full), -1 (the connection failed). */
int srdi_reqsock_send_step(int fd, const uint8_t hdr[4], const void *msg,
                           size_t len, size_t *done);

/* The address of "HOST:PORT" for a stream socket (passive: to listen,
 * HOST "*" or empty meaning every address); getaddrinfo's result (0 or
 * an EAI_* code), *out freed with freeaddrinfo. */
struct addrinfo;
int srdi_reqsock_tcp_addr(const char *hostport, bool passive,
                          struct addrinfo **out);

/* The next complete frame in rb: 1 (*msg, *len valid until rb changes),
 * 0 (need more bytes), -1 (its length exceeds max). */
int srdi_rbuf_next(srdi_rbuf *rb, size_t max, const uint8_t **msg,
                   size_t *len);

/* Read what fd has now into rb: bytes read (> 0), 0 at end of stream,
 * -1 with errno (EAGAIN: nothing now). */
ssize_t srdi_rbuf_fill(srdi_rbuf *rb, int fd);

/* Wait until fd is readable, at most timeout_ms (< 0: forever): true
 * when it is (or has failed: the next fill says so). */
bool srdi_reqsock_wait(int fd, int timeout_ms);

/* One whole frame from fd (blocking up to timeout_ms in all): SRD_OK,
 * SRD_ETIMEDOUT, SRD_EUNREACHABLE (closed or failed), SRD_ETOOBIG. */
srd_err srdi_reqsock_recv(int fd, srdi_rbuf *rb, size_t max, int timeout_ms,
                          const uint8_t **msg, size_t *len);

void srdi_rbuf_free(srdi_rbuf *rb);

/* The uid of the process at the other end of a Unix connection; false
 * for TCP (no credentials). */
bool srdi_reqsock_peer_uid(int fd, uint64_t *uid);

#endif
