/* SPDX-License-Identifier: MIT */
/*
 * index.h -- key hash -> entry location, lock-free for readers.
 *
 * Open addressing with linear probing over 16-byte slots {hash, loc}. A
 * slot, once claimed for a hash, keeps it until the table is rebuilt, so a
 * reader never misses a present key. Readers run inside an EBR section and
 * take no lock; one updater at a time (the caller serializes) applies
 * changes. Newest wins by file position, so updates may arrive out of
 * order (group commit, replayed pub/sub) and still converge.
 *
 * loc encoding (64 bits, 0 = empty slot):
 *   bit 63 set       tombstone; bits 0..62 = entry start (its prev)
 *   bit 62 set       large value; bits 0..61 = entry end (read the trailer)
 *   otherwise        bits 0..41 = payload offset / 64, bits 42..61 = length
 *                    (1 .. 2^20-1)
 */
#ifndef SRD_INDEX_H
#define SRD_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ebr.h"
#include "srd/srd.h"

#define SRDI_LOC_TOMB (1ull << 63)
#define SRDI_LOC_LARGE (1ull << 62)
#define SRDI_LOC_MAXLEN ((1ull << 20) - 1)

typedef struct srdi_index srdi_index;

/* Locations of a value entry / a tombstone (see encoding above). */
uint64_t srdi_loc_value(uint64_t payload, uint64_t len, uint64_t end);
uint64_t srdi_loc_tomb(uint64_t start);
/* A position inside the entry's span, strictly ordered across entries. */
uint64_t srdi_loc_pos(uint64_t loc);
/* Payload offset and length of a small value's loc (neither
 * SRDI_LOC_TOMB nor SRDI_LOC_LARGE set): the one place that unpacks them. */
static inline uint64_t srdi_loc_payload(uint64_t loc)
{
    return (loc & ((1ull << 42) - 1)) * 64;
}
static inline uint64_t srdi_loc_len(uint64_t loc)
{
    return (loc >> 42) & SRDI_LOC_MAXLEN;
}
static inline bool srdi_loc_is_live(uint64_t loc)
{
    return loc != 0 && !(loc & SRDI_LOC_TOMB);
}

/* A new empty index sized for about expected keys. */
srd_err srdi_index_create(size_t expected, srdi_index **out);
/* An index whose table is the one fd holds at off (a u64 capacity, then
 * that many 16-byte slots {hash, loc} up to len, laid out as this table
 * lays them out), mapped privately: copy-on-write, nothing is copied or
 * read at open (the shared index file, shindex.h). used and live: its
 * used (tombstones included) and live slots, counted by the caller.
 * SRD_ECORRUPT when it cannot be a table (capacity not matching len, no
 * empty slot); SRD_ENOMEM when it cannot be mapped. */
srd_err srdi_index_borrow(int fd, size_t len, size_t off, uint64_t used,
                          uint64_t live, srdi_index **out);
/* Frees the index and its current table immediately (no readers left). */
void srdi_index_destroy(srdi_index *idx);

/* Reader side: call inside srdi_ebr_enter/leave. Returns the loc or 0. */
uint64_t srdi_index_lookup(const srdi_index *idx, uint64_t hash);
/* Whether no slot was ever used (lookups then find nothing): one load, for
 * a reader to skip a table that is usually empty. Set before the first
 * slot is stored, so a reader that an apply happens-before sees it. */
bool srdi_index_unused(const srdi_index *idx);
/* Prefetch the slot hash would start probing at. */
void srdi_index_prefetch(const srdi_index *idx, uint64_t hash);

/*
 * Updater side. Applies loc for hash if it is newer (by position) than what
 * the index holds. *old receives the previous loc (0 if none) and the
 * return value says whether loc was applied. May grow the table (the old
 * table is retired through EBR). SRD_ENOMEM when it cannot grow.
 */
srd_err srdi_index_apply(srdi_index *idx, uint64_t hash, uint64_t loc,
                         uint64_t *old, bool *applied);

/* Rebuild a table that is far larger than its keys need (an index sized
 * for every entry of a store with many overwrites), to about 1.5x used.
 * Updater side. SRD_ENOMEM when the new table cannot be allocated. */
srd_err srdi_index_fit(srdi_index *idx);

/* Live keys (non-tombstone slots). */
uint64_t srdi_index_live(const srdi_index *idx);
/* Bytes of memory held by the current table. */
size_t srdi_index_memory(const srdi_index *idx);

/* Calls fn for every live slot of a consistent table (updater side, or
 * with updates excluded). Stops when fn returns non-zero. */
typedef int (*srdi_index_fn)(void *ctx, uint64_t hash, uint64_t loc);
int srdi_index_each(const srdi_index *idx, srdi_index_fn fn, void *ctx);

/* Free tables retired earlier that no reader can still see. */
void srdi_index_collect(srdi_index *idx);

#endif
