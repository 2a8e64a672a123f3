/* SPDX-License-Identifier: MIT */
/*
 * reply.h -- turn a response into the message sent back on a request
 * connection. Shared by the server's direct answers and group commit's
 * replies of mutations.
 */
#ifndef SRDD_REPLY_H
#define SRDD_REPLY_H

#include <stdint.h>

#include <nng/nng.h>

#include "srd/srd.h"
#include "wire.h"

/* The encoded response, or NULL without memory. */
nng_msg *reply_encode(const srdi_wire_response *rs);

/* A reply carrying only an error (or SRD_OK) for seq; why may be NULL or
 * empty, in which case srd_strerror(rc) is the message. */
nng_msg *reply_status(uint64_t seq, srd_err rc, const char *why,
                      uint64_t tail);

/* A reply holding a copy of len encoded bytes (a cached response). */
nng_msg *reply_bytes(const void *p, size_t len);

#endif
