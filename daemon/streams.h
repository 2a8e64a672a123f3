/* SPDX-License-Identifier: MIT */
/*
 * streams.h -- values uploaded in chunks. Each open stream stages its
 * bytes in an unnamed temporary file next to the store (O_TMPFILE), with
 * the CRC computed as chunks arrive, so a slow uploader never holds the
 * writer; StreamEnd hands the staged file to group commit. A stream
 * idle for longer than the configured timeout is dropped. Slots are
 * shared fairly: one connection may hold STREAMS_PER_OWNER streams at
 * most, a connection's streams go when it closes, and when the table is
 * full a new stream takes the slot of the one idle longest if that one
 * was idle for streams_reclaim_ms at least. Thread-safe.
 */
#ifndef SRDD_STREAMS_H
#define SRDD_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include "srd/srd.h"

/* Streams one connection may hold (a libsrdclient handle has at most 32
 * requests in flight on its one connection, a stream's chunk among them). */
#define STREAMS_PER_OWNER 64u

typedef struct streams streams;

/* A finished upload, owned by whoever took it from the table. */
typedef struct stream_staged {
    int fd;             /* the staged bytes, from offset 0 */
    uint64_t key_hash;
    uint64_t len;
    uint32_t crc;       /* CRC-32/IEEE of the len bytes */
    uint8_t first;      /* first byte (value rules: a lone 0x00) */
} stream_staged;

/* Streams staged in the directory of store_abs; at most max_open at once;
 * dropped after idle_ms without a chunk. Starts the reaper thread. */
srd_err streams_create(const char *store_abs, unsigned idle_ms,
                       size_t max_open, streams **out);
/* Drop every stream and stop the reaper. NULL does nothing. */
void streams_destroy(streams *ss);

/* Open a stream for client cid on connection owner; *id is its new,
 * unguessable id. Errors (with why, SRDI_WIRE_WHY bytes): SRD_EBUSY (the
 * connection holds STREAMS_PER_OWNER, or the table is full and no stream
 * idle enough to reclaim), system errors creating the staging file. */
srd_err streams_begin(streams *ss, uint64_t cid, uint32_t owner,
                      uint64_t key_hash, uint64_t *id, char *why);

/* Connection owner closed: drop its streams (one with a chunk being
 * written goes when the write ends). */
void streams_drop_owner(streams *ss, uint32_t owner);

/* How long a stream must have been idle before a new one may take its
 * slot in a full table: an eighth of the idle timeout, 5 s at most. */
unsigned streams_reclaim_ms(const streams *ss);

/* Append n bytes to stream id of client cid. Errors: SRD_ENOTFOUND
 * (unknown, dropped or another client's stream), SRD_ESTATE (a chunk of
 * the same stream is being written: send chunks one after another),
 * system errors writing (the stream is then dropped). */
srd_err streams_chunk(streams *ss, uint64_t cid, uint64_t id, const void *p,
                      size_t n, char *why);

/* Remove stream id of cid from the table and hand it over in *out
 * (release with streams_staged_close). Errors as for streams_chunk. */
srd_err streams_take(streams *ss, uint64_t cid, uint64_t id,
                     stream_staged *out, char *why);
void streams_staged_close(stream_staged *s);

/* Streams open now. */
size_t streams_count(streams *ss);

#endif
