/* SPDX-License-Identifier: MIT */
/*
 * pbfast.h -- the hot messages of the wire protocol (put and put_batch
 * requests, replies and index updates carrying entry refs) written and
 * read by hand, without protobuf-c's generic, allocating codec. Invariant:
 * what the writers produce is byte for byte what protobuf-c packs for the
 * same message (fields in number order, proto3 zero values left out), and
 * the readers accept only that canonical form (each field at most once, in
 * number order, known fields of the right wire type, nothing else): any
 * other header is left to protobuf-c, so the two never disagree on what a
 * message means (tests/libclient/check_wire.c and the fuzz target compare
 * them).
 */
#ifndef SRD_PBFAST_H
#define SRD_PBFAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "srd/srd.h"

/* ---- writing ------------------------------------------------------------ */

/* Bytes of v as a varint. */
size_t srdi_pbf_varint_size(uint64_t v);

/* The header of a Request { protocol_version, client_id, seq, put or
 * put_batch } with n items (batch false: a Put, n == 1): its size
 * (returned; *op: its op message's body, *raw: the sum of the values'
 * lengths, SIZE_MAX when that overflows), and the header written to p
 * (exactly that many bytes; op as the size reported). */
size_t srdi_pbf_puts_size(uint32_t version, uint64_t client_id, uint64_t seq,
                          bool batch, const srd_val *keys,
                          const srd_val *values, size_t n, size_t *op,
                          size_t *raw);
void srdi_pbf_puts_put(uint8_t *p, uint32_t version, uint64_t client_id,
                       uint64_t seq, bool batch, const srd_val *keys,
                       const srd_val *values, size_t n, size_t op);

/* A reply or an update carrying entries: scalar field i + 1 is u[i] (i <
 * nu; zeros left out), except field str_field (0: none), which is the
 * string str (NULL or "": left out); then the entries as field nu + 1.
 * Response: u = {seq, error, -, generation, committed_tail}, str_field 3
 * (message); IndexUpdate: u = {generation, from_tail, to_tail}. */
typedef struct srdi_pbf_refs_msg {
    const uint64_t *u;
    size_t nu;
    uint32_t str_field;
    const char *str;
    const srdi_entry *entries;
    size_t n;
} srdi_pbf_refs_msg;

size_t srdi_pbf_refs_msg_size(const srdi_pbf_refs_msg *m);
void srdi_pbf_refs_msg_put(uint8_t *p, const srdi_pbf_refs_msg *m);

/* ---- reading ------------------------------------------------------------ */

/* A put or put_batch request header in canonical form. */
typedef struct srdi_pbf_puts {
    uint32_t version;
    uint64_t client_id;
    uint64_t seq;
    bool batch;          /* put_batch; else put (n == 1) */
    size_t n;            /* items */
    const uint8_t *body; /* the Put, or the PutBatch's items */
    size_t body_len;
} srdi_pbf_puts;

/* True when the hl bytes at h are a canonical put or put_batch Request
 * header (*out filled); false: decode it with protobuf-c. */
bool srdi_pbf_puts_scan(const uint8_t *h, size_t hl, srdi_pbf_puts *out);

/* The items of a scanned request: keys[i] points into the header,
 * lens[i].len is item i's value_len (lens[i].ptr NULL). */
void srdi_pbf_puts_items(const srdi_pbf_puts *s, srd_val *keys,
                         srd_val *lens);

/* One EntryRef as it travels (absent fields: 0). */
typedef struct srdi_pbf_ref {
    uint64_t key_hash, start, end;
    bool tombstone;
} srdi_pbf_ref;

/* A reply or an update in canonical form: varint fields whose numbers
 * are set bits of `scalars` (u[field], 0 when absent), then the entries
 * as the next field number (Response: scalars seq 1, error 2,
 * generation 4, committed_tail 5 and no message, entries 6;
 * IndexUpdate: 1, 2, 3, entries 4). */
#define SRDI_PBF_MAX_SCALAR 8u
typedef struct srdi_pbf_refs {
    uint64_t u[SRDI_PBF_MAX_SCALAR];
    uint32_t field;      /* the entries' field number */
    size_t n;            /* entries */
    const uint8_t *refs; /* where the first one's tag starts */
    size_t refs_len;
} srdi_pbf_refs;

/* True when the hl bytes at h are such a message (scalars: a bit mask,
 * numbers below SRDI_PBF_MAX_SCALAR). */
bool srdi_pbf_refs_scan(const uint8_t *h, size_t hl, uint32_t scalars,
                        srdi_pbf_refs *out);

/* The entries of a scanned message, in order, into r (n of them). */
void srdi_pbf_refs_read(const srdi_pbf_refs *s, srdi_pbf_ref *r);

/* The same a few at a time: it = {s->refs, s->refs_len, s->field} of a
 * scanned message; each call reads the next (up to max) entries into r
 * and returns how many (0: all read). */
typedef struct srdi_pbf_refs_it {
    const uint8_t *p;
    size_t len;
    uint32_t field;
} srdi_pbf_refs_it;
size_t srdi_pbf_refs_next(srdi_pbf_refs_it *it, srdi_pbf_ref *r, size_t max);

#endif
