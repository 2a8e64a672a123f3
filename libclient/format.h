/* SPDX-License-Identifier: MIT */
/*
 * format.h -- the SIMD R Drive entry format (DESIGN.md section 2).
 *
 * Entry = [zero pad][payload][key_hash u64 LE][prev u64 LE][crc u32 LE].
 * The pad makes every payload 64-byte aligned; a tombstone is one 0x00 byte
 * at prev with no pad. Everything here is pure computation on bytes.
 *
 * Layouts (docs/FORMAT.md section 10): a store's `align` is SRDI_ALIGN
 * (64, simd-r-drive 0.15 and later) or 1 (unpadded: no pad at all, as
 * simd-r-drive up to 0.13 and the Python bindings 0.4 wrote). The `_in`
 * functions take it; the others are the 64-byte layout.
 */
#ifndef SRD_FORMAT_H
#define SRD_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "srd/srd.h"

#define SRDI_TRAILER_SIZE 20u
#define SRDI_ALIGN 64u
#define SRDI_TOMBSTONE_CRC 0xd202ef8du

/* The decoded shape of one entry. Offsets are file offsets. */
typedef struct srdi_entry {
    uint64_t start;    /* == prev: where the entry (its pad) begins */
    uint64_t payload;  /* first payload byte */
    uint64_t len;      /* payload length (1 for a tombstone) */
    uint64_t end;      /* just past the trailer */
    uint64_t key_hash;
    uint32_t crc;      /* stored checksum */
    bool tombstone;
} srdi_entry;

#define SRDI_ALIGN_NONE 1u /* the unpadded layout */

/* Pad bytes needed before a payload appended at prev, in a layout. */
static inline uint64_t srdi_format_pad_in(uint64_t prev, uint32_t align)
{
    return align <= 1 ? 0 : (align - prev % align) & (align - 1u);
}

/* The same in the 64-byte layout. */
static inline uint64_t srdi_format_pad(uint64_t prev)
{
    return srdi_format_pad_in(prev, SRDI_ALIGN);
}

/* CRC-32/IEEE, chainable: crc = srdi_crc32(crc, p, n), starting from 0. */
uint32_t srdi_crc32(uint32_t crc, const void *p, size_t n);

/* XXH3-64, seed 0. */
uint64_t srdi_hash(const void *p, size_t n);

/* SRD_EINVAL unless the value can be stored (non-empty, not exactly 0x00). */
srd_err srdi_format_check_value(const void *p, size_t len);

/* Little-endian trailer encode/decode. */
void srdi_format_put_trailer(uint8_t out[SRDI_TRAILER_SIZE], uint64_t key_hash,
                             uint64_t prev, uint32_t crc);
/* Inline: every read through a shared index decodes one (store_read.c). */
static inline void srdi_format_get_trailer(const uint8_t in[SRDI_TRAILER_SIZE],
                                           uint64_t *key_hash, uint64_t *prev,
                                           uint32_t *crc)
{
    uint64_t h, p;
    uint32_t c;
    memcpy(&h, in, 8);
    memcpy(&p, in + 8, 8);
    memcpy(&c, in + 16, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    h = __builtin_bswap64(h);
    p = __builtin_bswap64(p);
    c = __builtin_bswap32(c);
#endif
    *key_hash = h;
    *prev = p;
    *crc = c;
}

/*
 * Decode the entry that ends at end, given its trailer bytes and a way to see
 * the bytes between prev and the payload (pad, or the tombstone byte):
 * `head` must hold the bytes [prev, min(prev + 64, end - 20)).
 * Structural checks only (no CRC): prev < end - 20, zero pad, length >= 1,
 * the one-byte-at-prev tombstone form. Returns false when not an entry.
 */
bool srdi_format_decode(uint64_t end, const uint8_t trailer[SRDI_TRAILER_SIZE],
                        const uint8_t *head, size_t head_len, srdi_entry *e);
/* The same in the layout of the given align (64 or 1). */
bool srdi_format_decode_in(uint64_t end,
                           const uint8_t trailer[SRDI_TRAILER_SIZE],
                           const uint8_t *head, size_t head_len,
                           uint32_t align, srdi_entry *e);

/* Bytes an entry with a len-byte payload takes when appended at prev. */
static inline uint64_t srdi_format_entry_size(uint64_t prev, uint64_t len)
{
    return srdi_format_pad(prev) + len + SRDI_TRAILER_SIZE;
}

/* The layout an align stands for, and back (srd.h's SRD_LAYOUT_*). */
static inline srd_layout srdi_format_layout(uint32_t align)
{
    return align == SRDI_ALIGN_NONE ? SRD_LAYOUT_UNPADDED
                                    : SRD_LAYOUT_ALIGNED64;
}

static inline uint32_t srdi_format_align(srd_layout l)
{
    return l == SRD_LAYOUT_UNPADDED ? SRDI_ALIGN_NONE : SRDI_ALIGN;
}

#endif
