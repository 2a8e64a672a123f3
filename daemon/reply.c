/* SPDX-License-Identifier: MIT */
/*
 * reply.c -- encode responses straight into NNG messages (see reply.h):
 * the size is computed first so the header is packed once, in place.
 */
#include "srd_features.h"

#include <string.h>

#include "reply.h"

nng_msg *reply_encode(const srdi_wire_response *rs)
{
    size_t len;
    nng_msg *m = NULL;
    if (srdi_wire_response_size(rs, &len) != SRD_OK ||
        nng_msg_alloc(&m, len) != 0)
        return NULL;
    if (srdi_wire_response_encode(rs, nng_msg_body(m), len) != SRD_OK) {
        nng_msg_free(m);
        return NULL;
    }
    return m;
}

nng_msg *reply_status(uint64_t seq, srd_err rc, const char *why,
                      uint64_t tail)
{
    srdi_wire_response rs;
    memset(&rs, 0, sizeof rs);
    rs.seq = seq;
    rs.error = rc;
    rs.message = rc == SRD_OK ? "" : why && *why ? why : srd_strerror(rc);
    rs.committed_tail = tail;
    return reply_encode(&rs);
}

nng_msg *reply_bytes(const void *p, size_t len)
{
    nng_msg *m = NULL;
    if (nng_msg_alloc(&m, len) != 0)
        return NULL;
    memcpy(nng_msg_body(m), p, len);
    return m;
}
