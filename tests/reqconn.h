/* SPDX-License-Identifier: MIT */
/*
 * reqconn.h -- a raw connection to srdd's request socket for the tests:
 * whatever bytes a test builds go out as one frame ([u32 LE length]
 * [message]), and each reply frame comes back as a malloc'd copy. Also
 * lets a test send bytes unframed (truncated prefixes, lying lengths).
 */
#ifndef SRD_TEST_REQCONN_H
#define SRD_TEST_REQCONN_H

#include <stddef.h>
#include <stdint.h>

#include "reqsock.h"

typedef struct tu_req {
    int fd;
    int timeout_ms;   /* per send and per receive */
    srdi_rbuf rb;
} tu_req;

/* Connect to url (unix://, ipc:// or tcp://); 0, or -1 (fd -1). */
int tu_req_open(tu_req *r, const char *url, int timeout_ms);
/* Send msg as one frame; 0 or -1. */
int tu_req_send(tu_req *r, const void *msg, size_t len);
/* Send len raw bytes (no frame added); 0 or -1. */
int tu_req_send_raw(tu_req *r, const void *p, size_t len);
/* The next reply frame (malloc'd, free it); 0, or -1 when none came in
 * time or the connection closed. */
int tu_req_recv(tu_req *r, void **buf, size_t *len);
/* Whether srdd closed the connection within timeout_ms (all replies
 * before the end are skipped). */
int tu_req_closed_within(tu_req *r, int timeout_ms);
void tu_req_close(tu_req *r);

#endif
