/* SPDX-License-Identifier: MIT */
/*
 * reqconn.c -- the tests' raw request connection (see reqconn.h), on top
 * of libclient's reqsock.c.
 */
#include "srd_features.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reqconn.h"

int tu_req_open(tu_req *r, const char *url, int timeout_ms)
{
    memset(r, 0, sizeof *r);
    r->timeout_ms = timeout_ms;
    r->fd = srdi_reqsock_dial(url);
    return r->fd >= 0 ? 0 : -1;
}

int tu_req_send(tu_req *r, const void *msg, size_t len)
{
    if (r->fd < 0)
        return -1;
    return srdi_reqsock_send(r->fd, msg, len, r->timeout_ms) == SRD_OK ? 0
                                                                       : -1;
}

int tu_req_send_raw(tu_req *r, const void *p, size_t len)
{
    const uint8_t *b = p;
    while (r->fd >= 0 && len > 0) {
        ssize_t n = send(r->fd, b, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pf = {r->fd, POLLOUT, 0};
            if (poll(&pf, 1, r->timeout_ms) <= 0)
                return -1;
            continue;
        }
        if (n <= 0)
            return -1;
        b += n;
        len -= (size_t)n;
    }
    return r->fd >= 0 ? 0 : -1;
}

int tu_req_recv(tu_req *r, void **buf, size_t *len)
{
    const uint8_t *m;
    size_t n;
    *buf = NULL;
    *len = 0;
    if (r->fd < 0 ||
        srdi_reqsock_recv(r->fd, &r->rb, (size_t)1 << 31, r->timeout_ms, &m,
                          &n) != SRD_OK)
        return -1;
    *buf = malloc(n ? n : 1);
    if (!*buf)
        return -1;
    memcpy(*buf, m, n);
    *len = n;
    return 0;
}

int tu_req_closed_within(tu_req *r, int timeout_ms)
{
    int saved = r->timeout_ms;
    r->timeout_ms = timeout_ms;
    const uint8_t *m;
    size_t n;
    srd_err rc;
    do
        rc = srdi_reqsock_recv(r->fd, &r->rb, (size_t)1 << 31, timeout_ms,
                               &m, &n);
    while (rc == SRD_OK);
    r->timeout_ms = saved;
    return rc == SRD_EUNREACHABLE;
}

void tu_req_close(tu_req *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    srdi_rbuf_free(&r->rb);
}
