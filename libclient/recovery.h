/* SPDX-License-Identifier: MIT */
/*
 * recovery.h -- find the last valid tail of a store file and walk its chain.
 *
 * All file access here goes through pread into a block buffer, never the
 * mapping, so a file that shrinks or lies cannot cause SIGBUS. The chain
 * must walk back to `base` (0 for a whole file) with strictly decreasing
 * offsets, zero pads and in-range lengths, and the tail entry's CRC must
 * match. Time is linear in the bytes scanned (see recovery.c).
 */
#ifndef SRD_RECOVERY_H
#define SRD_RECOVERY_H

#include <stdbool.h>
#include <stdint.h>

#include "format.h"

/* Called for each entry of the chain, newest first. Non-zero stops. */
typedef int (*srdi_entry_fn)(void *ctx, const srdi_entry *e);

/*
 * Find the highest offset t in (base, size] such that the entry ending at t
 * has a good CRC and its chain walks back to base; *tail = t. When no such
 * t exists *tail = base (for base == 0 and size > 0: the file holds no
 * valid chain; the caller decides whether that is corruption).
 * Errors: SRD_ENOMEM; SRD_ECORRUPT when the search gave up on a file built
 * to make it quadratic (more payload bytes to CRC than a few times the
 * file size: only crafted files get there); SRD_ESYSERR | errno when a
 * read failed (bytes past the end of the file simply do not qualify, but
 * unreadable ones stop the search: they may hold the tail).
 */
srd_err srdi_recovery_find_tail(int fd, uint64_t base, uint64_t size,
                                uint64_t *tail);
/* The same; *entries (may be NULL) receives the number of entries between
 * base and the tail when the first candidate tried (the last decodable
 * trailer: the end of a clean file) was the tail, else 0 (unknown). */
srd_err srdi_recovery_find_tail_n(int fd, uint64_t base, uint64_t size,
                                  uint64_t *tail, uint64_t *entries);

/*
 * Past the durable prefix: check the CRC of every entry of the chain from
 * tail (a tail found above, whose own CRC is already checked) down to
 * trusted, the end of a prefix known to be durable whose last entry has
 * the trailer trusted_trailer (NULL: nothing is trusted, check down to 0).
 * When the chain does not pass through trusted with that trailer, the
 * check goes on down to 0. *good receives the start of the oldest entry
 * with a bad CRC (where the store must end), or tail when none is bad;
 * *trusted_ok whether the walk stopped at trusted. Errors: SRD_ENOMEM;
 * SRD_ECORRUPT when the chain no longer walks (the file changed);
 * SRD_ESYSERR | errno when a read failed (never taken for a bad CRC).
 */
srd_err srdi_recovery_check(int fd, uint64_t tail, uint64_t trusted,
                            const uint8_t *trusted_trailer, uint64_t *good,
                            bool *trusted_ok);

/* Walk the chain from tail down to base calling fn, newest first (structure
 * only, no CRC). Returns SRD_ECORRUPT if the chain breaks, SRD_ESYSERR |
 * errno if a read fails, SRD_ECANCELED when fn returns non-zero. */
srd_err srdi_recovery_walk(int fd, uint64_t base, uint64_t tail,
                           srdi_entry_fn fn, void *ctx);

/*
 * What the bytes [from, size) past a tail hold (recovery_scan): every
 * offset there is tried as the end of an entry lying wholly in the region
 * (structure of the unpadded layout, the weakest). Such an entry whose
 * CRC matches in any known layout (64, unpadded, 0.14's 16) is `intact`; one whose trailer chains down
 * to `from` but whose CRC fails is `bad` (a damaged or torn entry of the
 * store). The region is a torn write unless `damage`: some intact entry's
 * chain breaks inside the region, or leaves it downwards, other than at
 * the poisoned back pointer of an unfinished batch (format.h), or some
 * entry verifies only in a layout other than align. A torn last
 * write, zeros, junk and an unfinished batch are not damage; entries cut
 * off by a flipped bit or a lost page below them are.
 */
typedef struct srdi_tail_scan {
    uint64_t from;      /* the region starts here (the tail) */
    uint64_t intact;    /* entries in it with a good CRC */
    uint64_t foreign;   /* ... of them, in another layout only: damage */
    uint64_t bad;       /* entries chained to from with a bad CRC */
    uint64_t first_bad; /* payload offset of the lowest bad one, or
                           UINT64_MAX */
    bool damage;        /* not a torn write (see above) */
    uint64_t break_at;  /* when damage: the entry end where a chain broke */
} srdi_tail_scan;

/* Scan [from, size) as above; with full == false stop at the first sign
 * of damage (the counts are then partial). A file built to make the scan
 * quadratic ends it as damage. Errors: SRD_ENOMEM, SRD_ESYSERR | errno. */
srd_err srdi_recovery_scan(int fd, uint64_t from, uint64_t size,
                           uint32_t align, bool full, srdi_tail_scan *out);

/* The same searches, walks and checks in the layout of align (format.h:
 * SRDI_ALIGN or SRDI_ALIGN_NONE); the names without _in are the 64-byte
 * layout. */
srd_err srdi_recovery_find_tail_in(int fd, uint64_t base, uint64_t size,
                                   uint32_t align, uint64_t *tail,
                                   uint64_t *entries);
srd_err srdi_recovery_check_in(int fd, uint64_t tail, uint64_t trusted,
                               const uint8_t *trusted_trailer, uint32_t align,
                               uint64_t *good, bool *trusted_ok);
srd_err srdi_recovery_walk_in(int fd, uint64_t base, uint64_t tail,
                              uint32_t align, srdi_entry_fn fn, void *ctx);

/*
 * Which layout the entries of the chain ending at tail use. Both layouts
 * walk the same trailers; they differ in where a value starts (prev, or
 * prev plus its 64-byte pad), so the CRC of the first value whose pad
 * would be non-empty matches under one reading only. *align: SRDI_ALIGN,
 * SRDI_ALIGN_NONE, or 0 when no entry among the first 256 tells (the two
 * readings agree on them: either is right).
 */
srd_err srdi_recovery_vote(int fd, uint64_t tail, uint32_t *align);

/* Find the tail of a whole file and its layout at once: the longer valid
 * chain of the two readings, the entries' vote deciding between equal
 * ones; prefer when nothing tells (an empty or undecidable file).
 * *entries as srdi_recovery_find_tail_n. */
srd_err srdi_recovery_detect(int fd, uint64_t size, uint32_t prefer,
                             uint32_t *align, uint64_t *tail,
                             uint64_t *entries);

/* CRC of file bytes [off, off + len) read through pread. */
srd_err srdi_recovery_crc(int fd, uint64_t off, uint64_t len, uint32_t *crc);

#endif
