/* SPDX-License-Identifier: MIT */
/*
 * pbcost.h -- an upper bound of the memory protobuf-c's unpack of a
 * message allocates, computed from the message's bytes and descriptor
 * without allocating. A peer's few bytes can otherwise cost far more to
 * unpack (an empty repeated item is 2 bytes on the wire and some 130 bytes
 * unpacked), so a decoder checks the bound before it unpacks.
 */
#ifndef SRD_PBCOST_H
#define SRD_PBCOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Add to *cost what unpacking the n bytes at p as a d message allocates
 * at most (its struct, arrays, copies of bytes and strings, unknown
 * fields, and protobuf-c's scratch records, each with malloc's overhead).
 * False when the bytes do not even parse as fields (unpack would fail). */
bool srdi_pb_cost(const ProtobufCMessageDescriptor *d, const uint8_t *p,
                  size_t n, uint64_t *cost);

/* The last value of top-level scalar field `field` (varint, fixed64 or
 * fixed32) in the n bytes at p, without unpacking; false when absent or
 * the bytes do not parse. */
bool srdi_pb_scalar(const uint8_t *p, size_t n, uint32_t field,
                    uint64_t *value);

#endif
