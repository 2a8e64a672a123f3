/* SPDX-License-Identifier: MIT */
/*
 * wire.h -- the one codec of the srd wire protocol (docs/PROTOCOL.md), used
 * by srdd and by client mode alike. Every NNG message is
 * [u32 LE header_len][protobuf header][raw bytes]; this module turns that
 * into plain C structs and back. Invariant: a decoder never reads past the
 * message and rejects any declared length that does not fit it exactly.
 */
#ifndef SRD_WIRE_H
#define SRD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "srd/srd.h"

#define SRDI_WIRE_VERSION 1u
/* Bytes of the header length prefix. */
#define SRDI_WIRE_PREFIX 4u
/* Default for srdd --max-message: the largest whole message accepted. */
#define SRDI_WIRE_MAX_DEFAULT ((size_t)64 * 1024 * 1024)
/* Room for a decoder's explanation of a rejected message. */
#define SRDI_WIRE_WHY 160u
/* Request transport (srdd's request socket, Unix or TCP stream): every
 * request and reply travels as [u32 LE frame length][message]. */
#define SRDI_WIRE_FRAME 4u

static inline void srdi_wire_frame_put(uint8_t *p, uint32_t len)
{
    p[0] = (uint8_t)len;
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)(len >> 16);
    p[3] = (uint8_t)(len >> 24);
}

static inline uint32_t srdi_wire_frame_get(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* The frame at p (have bytes there): 1 when it is complete (*flen: its
 * message's length, after the SRDI_WIRE_FRAME bytes of prefix), 0 when
 * more bytes are needed (*flen set once the prefix is there), -1 when
 * its length exceeds max. Both ends split their streams with this. */
static inline int srdi_wire_frame_next(const uint8_t *p, size_t have,
                                       size_t max, uint32_t *flen)
{
    *flen = 0;
    if (have < SRDI_WIRE_FRAME)
        return 0;
    *flen = srdi_wire_frame_get(p);
    if (*flen > max)
        return -1;
    return have - SRDI_WIRE_FRAME >= *flen ? 1 : 0;
}

/* Tests only (not thread-safe): with on, every encode and decode goes
 * through protobuf-c's generic codec, none through pbfast.h's hand-written
 * one, so a test can compare the two. */
void srdi_wire_pb_only(bool on);

/* ======================================================================== */
/* Requests                                                                 */
/* ======================================================================== */

typedef enum srdi_wire_op {
    SRDI_WIRE_NONE = 0, /* no op set (rejected by the decoder) */
    SRDI_WIRE_HELLO,
    SRDI_WIRE_PUT,
    SRDI_WIRE_PUT_BATCH,
    SRDI_WIRE_DELETE,
    SRDI_WIRE_DELETE_BATCH,
    SRDI_WIRE_STREAM_BEGIN,
    SRDI_WIRE_STREAM_CHUNK,
    SRDI_WIRE_STREAM_END,
    SRDI_WIRE_SYNC,
    SRDI_WIRE_STATS,
    SRDI_WIRE_COMPACT
} srdi_wire_op;

/*
 * One request. Which fields matter depends on op:
 *   HELLO          hello_version
 *   PUT            n = 1, keys[0], values[0]
 *   PUT_BATCH      n >= 1 keys and values (all or nothing)
 *   DELETE         n = 1, keys[0]
 *   DELETE_BATCH   n >= 0 keys
 *   STREAM_BEGIN   n = 1, keys[0]
 *   STREAM_CHUNK   stream_id, chunk (the raw bytes)
 *   STREAM_END     stream_id, abort
 *   SYNC, STATS    nothing
 *   COMPACT        nothing (answered when the compaction is done)
 * For encoding the caller fills the struct (pointers are borrowed). A
 * decoded request points into the message it came from (values, chunk,
 * and the keys of a put or put_batch) and into memory it owns (other
 * keys): keep the message until srdi_wire_request_free().
 */
typedef struct srdi_wire_request {
    uint32_t version;       /* protocol_version; SRDI_WIRE_VERSION */
    uint64_t client_id;     /* random per client handle */
    uint64_t seq;           /* per client, increasing */
    srdi_wire_op op;
    uint32_t hello_version; /* HELLO: the version the client speaks */
    size_t n;               /* keys (and values for puts) */
    srd_val *keys;
    srd_val *values;
    uint64_t stream_id;     /* STREAM_CHUNK, STREAM_END */
    bool abort;             /* STREAM_END: drop instead of commit */
    srd_val chunk;          /* STREAM_CHUNK payload */
    void *_own;             /* internal: what the decoder allocated */
} srdi_wire_request;

/* True for the ops applied once per (client_id, seq): put, put_batch,
 * delete, delete_batch, stream_end. */
bool srdi_wire_op_mutates(srdi_wire_op op);

/* A short lower-case name of op for logs ("put_batch"); never NULL. */
const char *srdi_wire_op_name(srdi_wire_op op);

/*
 * Encoded size of rq in bytes (framing, header and raw bytes).
 * SRD_EINVAL for an inconsistent struct (unknown op, NULL arrays with
 * n > 0, a size that overflows).
 */
srd_err srdi_wire_request_size(const srdi_wire_request *rq, size_t *len);

/* Encode rq into buf, which holds exactly the len bytes that
 * srdi_wire_request_size reported. */
srd_err srdi_wire_request_encode(const srdi_wire_request *rq, void *buf,
                                 size_t len);

/* Size rq and encode it into *buf (of *cap bytes, grown with realloc
 * when too small; kept on failure), sizing a put or put_batch once: *len
 * receives the message's bytes. SRD_ETOOBIG when it would exceed max,
 * and srdi_wire_request_size's errors. */
srd_err srdi_wire_request_pack(const srdi_wire_request *rq, size_t max,
                               uint8_t **buf, size_t *cap, size_t *len);

/*
 * Decode a request of len bytes. max (0: no limit, and no cost bound:
 * for a request whose srdi_wire_request_cost was checked already) is the
 * largest message accepted. Errors, with why (SRDI_WIRE_WHY bytes, may be
 * NULL) naming the problem: SRD_ETOOBIG (len > max, or a header whose
 * unpacking would take more than 2 * max + 1 MiB of memory: checked
 * before anything is allocated, see srdi_wire_request_cost), SRD_EPROTO
 * (bad framing, a header that
 * does not parse, a length that does not match the message, no op set),
 * SRD_EVERSION (protocol_version != 1; version, client_id and seq are still
 * filled in), SRD_ENOMEM. On error *rq holds nothing to free, but the
 * fields decoded so far (client_id, seq) stay set for the error reply.
 */
srd_err srdi_wire_request_decode(const void *buf, size_t len, size_t max,
                                 srdi_wire_request *rq, char *why);

/* Without allocating: *cost receives an upper bound of the memory that
 * decoding the request would allocate (pbcost.h), *ids the version, client
 * id and sequence found in the header (zero where absent: for the reply
 * to a refused request; nothing to free). The errors of
 * srdi_wire_request_decode for the framing and the cost. */
srd_err srdi_wire_request_cost(const void *buf, size_t len, size_t max,
                               uint64_t *cost, srdi_wire_request *ids,
                               char *why);

/* Free what the decoder allocated (the struct itself is the caller's).
 * NULL and a zeroed or failed request are fine. */
void srdi_wire_request_free(srdi_wire_request *rq);

/* ======================================================================== */
/* Responses                                                                */
/* ======================================================================== */

typedef struct srdi_wire_hello {
    uint32_t protocol_version;
    const char *store_path;  /* as the daemon opened it */
    uint64_t store_dev;      /* identity of the store file */
    uint64_t store_ino;
    uint64_t generation;
    uint64_t committed_tail;
    const char *publish_url;
    uint64_t max_message;
    uint64_t shared_index;   /* 1: srdd keeps the shared index file */
} srdi_wire_hello;

/* The report of a finished compaction (CompactReply). */
typedef struct srdi_wire_compact {
    srd_compact_report rep;
    uint64_t generation;           /* of the new file */
} srdi_wire_compact;

typedef struct srdi_wire_stats {
    uint64_t pid;
    uint64_t uptime_ms;
    uint64_t generation;
    uint64_t committed_tail;
    uint64_t file_size;
    uint64_t live_keys;
    uint64_t dead_bytes;
    uint64_t requests;
    uint64_t groups;
    uint64_t syncs;
    uint64_t publish_drops;
    uint64_t clients;
    uint64_t writes;               /* mutation requests applied */
    uint64_t group_max;            /* most requests in one group */
    bool compacting;               /* a compaction runs now */
    uint64_t compact_done;         /* its live bytes copied so far */
    uint64_t compact_total;        /* of this many */
    uint64_t compactions;          /* finished since start */
    uint64_t last_compact_unix_ms; /* 0: none finished yet */
    bool has_last_compact;
    srdi_wire_compact last_compact;
} srdi_wire_stats;

/*
 * Entries travel as EntryRef {key_hash, start, end, tombstone}; on this
 * side they are srdi_entry. Encoding uses key_hash, start, end and
 * tombstone only. Decoding derives payload (start rounded up to 64, or
 * start for a tombstone) and len (end - 20 - payload) and sets crc = 0;
 * a ref whose shape no entry can have is SRD_EPROTO.
 */
typedef struct srdi_wire_response {
    uint64_t seq;
    srd_err error;            /* SRD_OK or the request's error */
    const char *message;      /* names the problem; "" or NULL when ok */
    uint64_t generation;
    uint64_t committed_tail;
    size_t n_entries;
    srdi_entry *entries;      /* where the request's entries landed */
    bool has_hello;
    srdi_wire_hello hello;
    bool has_stats;
    srdi_wire_stats stats;
    uint64_t stream_id;       /* STREAM_BEGIN */
    bool has_compact;
    srdi_wire_compact compact; /* COMPACT */
    void *_own;               /* internal: what the decoder allocated */
} srdi_wire_response;

/* Encoded size of rs / encode into exactly that many bytes. */
srd_err srdi_wire_response_size(const srdi_wire_response *rs, size_t *len);
srd_err srdi_wire_response_encode(const srdi_wire_response *rs, void *buf,
                                  size_t len);

/* Decode a response (no raw bytes may follow its header). The strings and
 * entries are owned by *rs until srdi_wire_response_free(). Errors as for
 * requests (SRD_ETOOBIG, SRD_EPROTO, SRD_ENOMEM). */
srd_err srdi_wire_response_decode(const void *buf, size_t len, size_t max,
                                  srdi_wire_response *rs, char *why);
void srdi_wire_response_free(srdi_wire_response *rs);

/* ======================================================================== */
/* Index updates (PUB/SUB)                                                  */
/* ======================================================================== */

/* One published append group: the entries between from_tail and to_tail,
 * in file order (same derivation of payload and len as responses). */
typedef struct srdi_wire_update {
    uint64_t generation;
    uint64_t from_tail;   /* the tail before the group */
    uint64_t to_tail;     /* the tail after it */
    size_t n_entries;
    srdi_entry *entries;
    void *_own;           /* internal: what the decoder allocated */
} srdi_wire_update;

srd_err srdi_wire_update_size(const srdi_wire_update *up, size_t *len);
srd_err srdi_wire_update_encode(const srdi_wire_update *up, void *buf,
                                size_t len);
/* Also checks from_tail <= to_tail and that every entry lies inside
 * [from_tail, to_tail] (SRD_EPROTO otherwise). */
srd_err srdi_wire_update_decode(const void *buf, size_t len, size_t max,
                                srdi_wire_update *up, char *why);
void srdi_wire_update_free(srdi_wire_update *up);

#endif
