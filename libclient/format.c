/* SPDX-License-Identifier: MIT */
/*
 * format.c -- encode and decode SIMD R Drive entries, CRC-32/IEEE and
 * XXH3-64. CRC goes through isa-l's crc32_gzip_refl (tens of GB/s) when
 * built with it, zlib's crc32 otherwise; both compute the same function.
 */
#include "srd_features.h"

#include <endian.h>
#include <string.h>
#include <xxhash.h>
#include <zlib.h>
#ifdef SRD_HAVE_ISAL
#include <isa-l/crc.h>
#endif

#include "format.h"

uint32_t srdi_crc32(uint32_t crc, const void *p, size_t n)
{
#ifdef SRD_HAVE_ISAL
    return crc32_gzip_refl(crc, (const unsigned char *)p, (uint64_t)n);
#else
    /* zlib takes uInt lengths: feed it in pieces. */
    const unsigned char *b = p;
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, b, chunk);
        b += chunk;
        n -= chunk;
    }
    return crc;
#endif
}

uint64_t srdi_hash(const void *p, size_t n)
{
    return (uint64_t)XXH3_64bits(p, n);
}

uint32_t srd_crc32(uint32_t crc, const void *data, size_t len)
{
    return srdi_crc32(crc, data, len);
}

uint64_t srd_key_hash(const void *key, size_t len)
{
    return srdi_hash(len ? key : "", len);
}

srd_err srdi_format_check_value(const void *p, size_t len)
{
    if (len == 0 || p == NULL)
        return SRD_EINVAL;
    if (len == 1 && ((const uint8_t *)p)[0] == 0)
        return SRD_EINVAL;
    return SRD_OK;
}

/* Little-endian fields through memcpy: one load or store each. */
void srdi_format_put_trailer(uint8_t out[SRDI_TRAILER_SIZE], uint64_t key_hash,
                             uint64_t prev, uint32_t crc)
{
    uint64_t h = htole64(key_hash), p = htole64(prev);
    uint32_t c = htole32(crc);
    memcpy(out, &h, 8);
    memcpy(out + 8, &p, 8);
    memcpy(out + 16, &c, 4);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

bool srdi_format_decode(uint64_t end, const uint8_t trailer[SRDI_TRAILER_SIZE],
                        const uint8_t *head, size_t head_len, srdi_entry *e)
{
    return srdi_format_decode_in(end, trailer, head, head_len, SRDI_ALIGN, e);
}

bool srdi_format_decode_in(uint64_t end,
                           const uint8_t trailer[SRDI_TRAILER_SIZE],
                           const uint8_t *head, size_t head_len,
                           uint32_t align, srdi_entry *e)
{
    if (end < SRDI_TRAILER_SIZE + 1)
        return false;
    uint64_t body_end = end - SRDI_TRAILER_SIZE;
    srdi_format_get_trailer(trailer, &e->key_hash, &e->start, &e->crc);
    if (e->start >= body_end)
        return false;
    e->end = end;
    uint64_t total = body_end - e->start;
    size_t need = total < SRDI_ALIGN ? (size_t)total : SRDI_ALIGN;
    if (head_len < need)
        return false;
    if (total == 1 && head[0] == 0) {
        /* The tombstone form: one 0x00 byte at prev, no pad. */
        e->tombstone = true;
        e->payload = e->start;
        e->len = 1;
        return true;
    }
    uint64_t pad = srdi_format_pad_in(e->start, align);
    if (total <= pad || !all_zero(head, (size_t)pad))
        return false;
    e->tombstone = false;
    e->payload = e->start + pad;
    e->len = total - pad;
    return true;
}
