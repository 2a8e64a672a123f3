/* SPDX-License-Identifier: MIT */
/*
 * crcrange.h -- CRC-32 of many byte ranges of one file, for the tail
 * search (recovery.c). A torn or unfinished region yields many candidate
 * entries whose payloads are long ranges sharing a few starts (often 0)
 * with ends a few bytes apart; CRCing each afresh is quadratic. Here the
 * first range costs one read of its bytes and each later one about the
 * distance its end moved, whatever its start:
 *
 *   - a sparse table of prefix CRCs from an anchor (every `step` bytes);
 *   - a running prefix CRC at the last end asked for, moved by appending
 *     bytes or by rolling them off (CRC-32 steps are invertible);
 *   - for a start other than the anchor, zlib's crc32_combine:
 *     crc(B) = crc(AB) ^ crc32_combine(crc(A), 0, |B|).
 *
 * The anchor only moves down, and at most twice (to the first start
 * asked for, then to 0), so the table is read at most about twice. Every
 * byte read is charged to a budget; past it the caller gives up.
 */
#ifndef SRD_CRCRANGE_H
#define SRD_CRCRANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRDI_CRCRANGE_STARTS 16 /* prefix CRCs of starts remembered */

typedef struct srdi_crcrange {
    int fd;
    uint64_t size;       /* bytes that may be read: [0, size) */
    uint64_t budget;     /* bytes that may still be read */
    bool over_budget;    /* a read was refused: the budget ran out */
    int err;             /* errno of the first read that failed, or 0 */
    uint32_t step;       /* table spacing, >= 1024 */
    uint64_t anchor;     /* the table's prefixes start here */
    uint32_t *cp;        /* cp[i] = CRC of [anchor, anchor + i * step) */
    size_t ncp, cap;
    bool run_ok;         /* run_crc = CRC of [anchor, run_at) */
    uint64_t run_at;
    uint32_t run_crc;
    struct {
        uint64_t at;     /* a start; its prefix CRC from the anchor */
        uint32_t crc;
        bool ok;
    } starts[SRDI_CRCRANGE_STARTS];
    unsigned next_start; /* round-robin slot */
    uint8_t *buf;        /* buf_len bytes: a whole number of steps */
    size_t buf_len;
    uint32_t table[256]; /* CRC-32 (reflected 0xEDB88320) byte table */
    uint8_t top[256];    /* top[table[i] >> 24] = i, to roll bytes off */
} srdi_crcrange;

/* Prepare q for the file fd of size bytes; reads are charged to budget.
 * Allocates nothing yet. */
void srdi_crcrange_init(srdi_crcrange *q, int fd, uint64_t size,
                        uint64_t budget);
void srdi_crcrange_fini(srdi_crcrange *q);

/* *crc = CRC-32 of the file bytes [start, start + len). False when they
 * are not all in the file, cannot be read (then q->err is set), memory
 * runs out, or the budget is spent (then q->over_budget). */
bool srdi_crcrange_get(srdi_crcrange *q, uint64_t start, uint64_t len,
                       uint32_t *crc);

/* q->budget counts down: the bytes read so far are the budget given to
 * init minus it. */

#endif
