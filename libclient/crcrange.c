/* SPDX-License-Identifier: MIT */
/*
 * crcrange.c -- CRC-32 of many byte ranges of one file (see crcrange.h).
 * Prefix CRCs are kept in zlib's conditioned form (crc32 chaining from 0);
 * rolling a byte off works on the raw register (~crc): the top byte of a
 * table entry names its index uniquely, so one byte step can be undone.
 */
#include "srd_features.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "crcrange.h"
#include "format.h"
#include "io.h"

_Static_assert(sizeof(z_off_t) >= 8, "crc32_combine needs 64-bit lengths");

#define CRCRANGE_MIN_STEP 1024u
#define CRCRANGE_READ (1u << 20) /* the table grows by reads this large */
#define CRCRANGE_MAX_SLOTS (1u << 20) /* table entries at most */

static void crcrange_tables(srdi_crcrange *q)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        q->table[i] = c;
        q->top[c >> 24] = (uint8_t)i;
    }
}

void srdi_crcrange_init(srdi_crcrange *q, int fd, uint64_t size,
                        uint64_t budget)
{
    memset(q, 0, sizeof *q);
    q->fd = fd;
    q->size = size;
    q->budget = budget;
    uint64_t step = size / CRCRANGE_MAX_SLOTS + 1;
    q->step = step < CRCRANGE_MIN_STEP ? CRCRANGE_MIN_STEP : (uint32_t)step;
    q->buf_len = q->step < CRCRANGE_READ
                     ? CRCRANGE_READ / q->step * (size_t)q->step
                     : q->step;
    crcrange_tables(q);
}

void srdi_crcrange_fini(srdi_crcrange *q)
{
    free(q->cp);
    free(q->buf);
    q->cp = NULL;
    q->buf = NULL;
}

/* Read len (<= buf_len) bytes at off into q->buf, charging the budget. */
static bool crcrange_read(srdi_crcrange *q, uint64_t off, size_t len)
{
    if (!q->buf && !(q->buf = malloc(q->buf_len)))
        return false;
    if (len > q->budget) {
        q->over_budget = true;
        return false;
    }
    q->budget -= len;
    if (off > q->size || len > q->size - off)
        return false;
    int err;
    if (srdi_pread_full(q->fd, q->buf, len, off, &err) == len)
        return true;
    if (err && !q->err)
        q->err = err;
    return false;
}

/* crc extended over the len (<= step) bytes at off. */
static bool crcrange_append(srdi_crcrange *q, uint64_t off, size_t len,
                            uint32_t *crc)
{
    if (!crcrange_read(q, off, len))
        return false;
    *crc = srdi_crc32(*crc, q->buf, len);
    return true;
}

/* crc, a prefix CRC ending at off + len, with the len (<= step) bytes at
 * off rolled off its end. */
static bool crcrange_unappend(srdi_crcrange *q, uint64_t off, size_t len,
                              uint32_t *crc)
{
    if (!crcrange_read(q, off, len))
        return false;
    uint32_t s = ~*crc;
    for (size_t i = len; i-- > 0;) {
        uint8_t idx = q->top[s >> 24];
        s = ((s ^ q->table[idx]) << 8) | (uint8_t)(idx ^ q->buf[i]);
    }
    *crc = ~s;
    return true;
}

/* Start the table over at anchor (nothing read yet). */
static bool crcrange_rebase(srdi_crcrange *q, uint64_t anchor)
{
    if (!q->cp) {
        q->cap = 64;
        if (!(q->cp = malloc(q->cap * sizeof *q->cp)))
            return false;
    }
    q->anchor = anchor;
    q->ncp = 1;
    q->cp[0] = 0;
    q->run_ok = false;
    for (unsigned i = 0; i < SRDI_CRCRANGE_STARTS; i++)
        q->starts[i].ok = false;
    return true;
}

/* Grow the table until it has the entry at or below x, reading up to
 * buf_len bytes at a time. */
static bool crcrange_cover(srdi_crcrange *q, uint64_t x)
{
    size_t want = (size_t)((x - q->anchor) / q->step) + 1;
    while (q->ncp < want) {
        size_t steps = want - q->ncp, per_read = q->buf_len / q->step;
        if (steps > per_read)
            steps = per_read;
        if (q->ncp + steps > q->cap) {
            size_t cap = q->cap;
            while (cap < q->ncp + steps)
                cap *= 2;
            uint32_t *p = realloc(q->cp, cap * sizeof *p);
            if (!p)
                return false;
            q->cp = p;
            q->cap = cap;
        }
        uint64_t at = q->anchor + (q->ncp - 1) * (uint64_t)q->step;
        if (!crcrange_read(q, at, steps * q->step))
            return false;
        for (size_t i = 0; i < steps; i++, q->ncp++)
            q->cp[q->ncp] = srdi_crc32(q->cp[q->ncp - 1],
                                       q->buf + i * q->step, q->step);
    }
    return true;
}

/* CRC of [anchor, x) from the table: at most step bytes read. */
static bool crcrange_from_table(srdi_crcrange *q, uint64_t x, uint32_t *crc)
{
    if (!crcrange_cover(q, x))
        return false;
    uint64_t i = (x - q->anchor) / q->step;
    uint64_t at = q->anchor + i * q->step;
    *crc = q->cp[i];
    return crcrange_append(q, at, (size_t)(x - at), crc);
}

/* CRC of [anchor, x), moving the running prefix there: the distance
 * moved when that is under a step, else through the table. */
static bool crcrange_run_to(srdi_crcrange *q, uint64_t x, uint32_t *crc)
{
    bool ok;
    uint32_t c = q->run_crc;
    if (q->run_ok && x >= q->run_at && x - q->run_at <= q->step)
        ok = crcrange_append(q, q->run_at, (size_t)(x - q->run_at), &c);
    else if (q->run_ok && x < q->run_at && q->run_at - x <= q->step)
        ok = crcrange_unappend(q, x, (size_t)(q->run_at - x), &c);
    else
        ok = crcrange_from_table(q, x, &c);
    q->run_ok = ok;
    q->run_at = x;
    q->run_crc = c;
    *crc = c;
    return ok;
}

/* CRC of [anchor, a) for a start a, remembered for the next range. */
static bool crcrange_start(srdi_crcrange *q, uint64_t a, uint32_t *crc)
{
    for (unsigned i = 0; i < SRDI_CRCRANGE_STARTS; i++)
        if (q->starts[i].ok && q->starts[i].at == a) {
            *crc = q->starts[i].crc;
            return true;
        }
    if (!crcrange_from_table(q, a, crc))
        return false;
    unsigned slot = q->next_start++ % SRDI_CRCRANGE_STARTS;
    q->starts[slot].at = a;
    q->starts[slot].crc = *crc;
    q->starts[slot].ok = true;
    return true;
}

bool srdi_crcrange_get(srdi_crcrange *q, uint64_t start, uint64_t len,
                       uint32_t *crc)
{
    if (start > q->size || len > q->size - start)
        return false;
    /* First range: anchor at its start. A lower start later: anchor at 0,
     * so no start can move it again. */
    if (!q->cp || start < q->anchor)
        if (!crcrange_rebase(q, q->cp ? 0 : start))
            return false;
    uint32_t whole, head;
    if (!crcrange_run_to(q, start + len, &whole))
        return false;
    if (start == q->anchor) {
        *crc = whole;
        return true;
    }
    if (!crcrange_start(q, start, &head))
        return false;
    *crc = whole ^ (uint32_t)crc32_combine(head, 0, (z_off_t)len);
    return true;
}
