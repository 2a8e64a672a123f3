/* SPDX-License-Identifier: MIT */
/*
 * recovery.c -- find the last valid tail and walk the entry chain.
 *
 * Reads go through pread into a 1 MiB block buffer biased backwards (the
 * chain is walked from the tail down), so a hostile or shrinking file can
 * never fault. The tail search tries candidates from the end of the file
 * down; each must decode structurally, its chain must reach `base`, and its
 * CRC must match. Chain checks are memoized (every offset is proven good or
 * bad at most once), so the search is linear in the bytes scanned, not
 * quadratic like the reference's retry loop. The common case, a clean
 * file, is one plain walk with no memo. An all-zero trailer is never an
 * entry (hash 0 and CRC 0 together: probability 2^-96), which keeps a
 * zero-filled tail from passing as one giant first entry.
 *
 * The tail search checks only the tail entry's CRC. Entries past the
 * durable prefix the writer recorded (synced.h) may have lost pages in an
 * OS crash while later ones persisted (group commit), so
 * srdi_recovery_check CRCs each of them, once, walking down to that prefix.
 */
#include "srd_features.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "crcrange.h"
#include "errno_map.h"
#include "io.h"
#include "recovery.h"

#define RD_BLOCK (1u << 20)

/* ---- pread block reader ----------------------------------------------- */

#define RD_HEAD_BLOCK 4096u

/* One pread window. */
typedef struct rd_win {
    uint8_t *buf;
    size_t block;    /* buffer size */
    uint64_t bstart; /* file offset of buf[0] */
    size_t blen;     /* valid bytes in buf */
} rd_win;

/* Trailers are read through a large window that slides backwards with the
 * walk; pads and tombstone bytes at a far-away prev (garbage candidates)
 * through a small one, so a bad candidate costs one 4 KiB pread at most. */
typedef struct rd {
    int fd;
    uint64_t size; /* bytes we may read: [0, size) */
    srdi_crcrange cq;    /* payload CRCs of the tail search, budgeted */
    int err;             /* errno of the first read that failed, or 0 */
    uint32_t align;      /* the layout entries are decoded in (format.h) */
    rd_win tail;
    rd_win head;
} rd;

static srd_err rd_init(rd *r, int fd, uint64_t size, uint32_t align)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->size = size;
    r->align = align;
    r->tail.block = RD_BLOCK;
    r->head.block = RD_HEAD_BLOCK;
    r->tail.buf = malloc(RD_BLOCK);
    r->head.buf = malloc(RD_HEAD_BLOCK);
    srdi_crcrange_init(&r->cq, fd, size, 0);
    return r->tail.buf && r->head.buf ? SRD_OK : SRD_ENOMEM;
}

static void rd_fini(rd *r)
{
    free(r->tail.buf);
    free(r->head.buf);
    srdi_crcrange_fini(&r->cq);
}

static bool rd_win_has(const rd_win *w, uint64_t off, size_t len)
{
    return off >= w->bstart && off + len <= w->bstart + w->blen;
}

/* Load w so that it holds [off, off + len) if the file has those bytes;
 * backward windows end at off + len, others start at off's page. */
static const uint8_t *rd_load(rd *r, rd_win *w, uint64_t off, size_t len,
                              bool backward)
{
    uint64_t start;
    if (backward) {
        /* End on a page boundary at or past off + len, then go back. */
        uint64_t end = (off + len + 4095) & ~(uint64_t)4095;
        start = end > w->block ? end - w->block : 0;
    } else {
        /* Start on off's page unless [off, off + len) would then run past
         * the window's end (off near the end of a page). */
        start = off & ~(uint64_t)4095;
        if (off + len > start + w->block)
            start = off;
    }
    uint64_t n = r->size - start < w->block ? r->size - start : w->block;
    int err;
    size_t got = srdi_pread_full(r->fd, w->buf, (size_t)n, start, &err);
    if (err && !r->err)
        r->err = err;
    w->bstart = start;
    w->blen = got;
    return rd_win_has(w, off, len) ? w->buf + (off - start) : NULL;
}

/* Pointer to len (<= the window's block) bytes at off, or NULL when they are not
 * all in the file (or the file shrank under us). head selects the small
 * window for far-away reads. */
static const uint8_t *rd_get(rd *r, uint64_t off, size_t len, bool head)
{
    if (off > r->size || len > r->size - off)
        return NULL;
    if (rd_win_has(&r->tail, off, len))
        return r->tail.buf + (off - r->tail.bstart);
    if (head && rd_win_has(&r->head, off, len))
        return r->head.buf + (off - r->head.bstart);
    return head ? rd_load(r, &r->head, off, len, false)
                : rd_load(r, &r->tail, off, len, true);
}

/* Decode the entry ending at end (structure only). */
static bool rd_entry(rd *r, uint64_t end, srdi_entry *e)
{
    static const uint8_t zero_trailer[SRDI_TRAILER_SIZE];
    if (end < SRDI_TRAILER_SIZE + 1)
        return false;
    const uint8_t *t = rd_get(r, end - SRDI_TRAILER_SIZE, SRDI_TRAILER_SIZE,
                              false);
    if (!t || memcmp(t, zero_trailer, SRDI_TRAILER_SIZE) == 0)
        return false;
    uint8_t tr[SRDI_TRAILER_SIZE];
    memcpy(tr, t, sizeof tr);
    uint64_t key_hash, prev;
    uint32_t crc;
    srdi_format_get_trailer(tr, &key_hash, &prev, &crc);
    if (prev >= end - SRDI_TRAILER_SIZE)
        return false;
    uint64_t body = end - SRDI_TRAILER_SIZE - prev;
    size_t hl = body < SRDI_ALIGN ? (size_t)body : SRDI_ALIGN;
    const uint8_t *h = rd_get(r, prev, hl, true);
    if (!h)
        return false;
    if (!srdi_format_decode_in(end, tr, h, hl, r->align, e))
        return false;
    return !e->tombstone || e->crc == SRDI_TOMBSTONE_CRC;
}

srd_err srdi_recovery_crc(int fd, uint64_t off, uint64_t len, uint32_t *crc)
{
    uint8_t *buf = malloc(RD_BLOCK);
    if (!buf)
        return SRD_ENOMEM;
    uint32_t c = 0;
    srd_err rc = SRD_OK;
    while (len > 0 && rc == SRD_OK) {
        size_t n = len < RD_BLOCK ? (size_t)len : RD_BLOCK;
        int err;
        size_t k = srdi_pread_full(fd, buf, n, off, &err);
        if (k < n) /* a failed read, or the file ends too soon */
            rc = err ? srdi_errno(err) : SRD_ECORRUPT;
        c = srdi_crc32(c, buf, k);
        off += k;
        len -= k;
    }
    free(buf);
    *crc = c;
    return rc;
}

/* Does e's payload match its CRC? Each candidate tail with a good chain
 * costs a CRC of its payload; crcrange.h makes candidates whose payloads
 * share bytes cost about the distance between them, and a budget (a few
 * times the file size) bounds what a crafted file can cost: past it the
 * search gives up instead of running in quadratic time. */
static bool rd_crc_ok(rd *r, const srdi_entry *e)
{
    if (e->len <= 2048) {
        const uint8_t *p = rd_get(r, e->payload, (size_t)e->len, false);
        return p && srdi_crc32(0, p, (size_t)e->len) == e->crc;
    }
    uint32_t c;
    if (srdi_crcrange_get(&r->cq, e->payload, e->len, &c))
        return c == e->crc;
    if (r->cq.err && !r->err)
        r->err = r->cq.err;
    return false;
}

/* A read that failed (not one that met the end of the file) ends any
 * search or walk with its error: taking unreadable bytes for missing ones
 * would make a writer cut acknowledged entries over a transient EIO. */
static srd_err rd_read_error(const rd *r)
{
    return srdi_errno(r->err);
}

/* ---- memo: sets of offsets proven good or bad ------------------------- */

typedef struct memo {
    uint64_t *slot; /* offset + 1; 0 = empty */
    uint8_t *good;
    size_t cap, n;
} memo;

static void memo_fini(memo *m)
{
    free(m->slot);
    free(m->good);
}

/* 1 good, 0 bad, -1 unknown */
static int memo_get(const memo *m, uint64_t off)
{
    if (!m->cap)
        return -1;
    size_t i = (size_t)((off * 0x9E3779B97F4A7C15ull) >> 20) % m->cap;
    while (m->slot[i]) {
        if (m->slot[i] == off + 1)
            return m->good[i];
        i = (i + 1) % m->cap;
    }
    return -1;
}

static bool memo_put(memo *m, uint64_t off, uint8_t good)
{
    if ((m->n + 1) * 2 > m->cap) {
        memo bigger = {0};
        bigger.cap = m->cap ? m->cap * 2 : 1024;
        bigger.slot = calloc(bigger.cap, sizeof *bigger.slot);
        bigger.good = calloc(bigger.cap, 1);
        if (!bigger.slot || !bigger.good) {
            memo_fini(&bigger);
            return false;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->slot[i])
                memo_put(&bigger, m->slot[i] - 1, m->good[i]);
        memo_fini(m);
        *m = bigger;
    }
    size_t i = (size_t)((off * 0x9E3779B97F4A7C15ull) >> 20) % m->cap;
    while (m->slot[i] && m->slot[i] != off + 1)
        i = (i + 1) % m->cap;
    if (!m->slot[i])
        m->n++;
    m->slot[i] = off + 1;
    m->good[i] = good;
    return true;
}

/* ---- chain checks ----------------------------------------------------- */

/* Free a path of visited nodes, recording each with verdict v. */
static srd_err memo_path(memo *m, uint64_t *path, size_t np, uint8_t v)
{
    srd_err rc = SRD_OK;
    for (size_t i = 0; i < np && rc == SRD_OK; i++)
        if (!memo_put(m, path[i], v))
            rc = SRD_ENOMEM;
    free(path);
    return rc;
}

/* Append node to a growing path of visited offsets; false on ENOMEM. */
static bool path_push(uint64_t **path, size_t *np, size_t *cap, uint64_t node)
{
    if (*np == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        uint64_t *p = realloc(*path, c * sizeof *p);
        if (!p)
            return false;
        *path = p;
        *cap = c;
    }
    (*path)[(*np)++] = node;
    return true;
}

/* Does the chain from entry end `node` walk back to base? With a memo,
 * every offset visited is recorded so no offset is walked twice. */
static srd_err chain_ok(rd *r, memo *m, uint64_t base, uint64_t node, bool *ok,
                       uint64_t *steps)
{
    uint64_t *path = NULL;
    size_t np = 0, cap = 0;
    int verdict = -1;
    srd_err rc = SRD_OK;
    while (verdict < 0) {
        if (node == base) {
            verdict = 1;
            break;
        }
        if (node < base) {
            verdict = 0;
            break;
        }
        int known = m ? memo_get(m, node) : -1;
        if (known >= 0) {
            verdict = known;
            break;
        }
        srdi_entry e;
        bool decoded = rd_entry(r, node, &e);
        if (m && !path_push(&path, &np, &cap, node)) {
            rc = SRD_ENOMEM;
            break;
        }
        if (!decoded) {
            verdict = 0;
            break;
        }
        if (steps)
            ++*steps;
        node = e.start;
    }
    if (m && rc == SRD_OK)
        rc = memo_path(m, path, np, verdict == 1);
    else
        free(path);
    *ok = verdict == 1;
    return rc;
}


srd_err srdi_recovery_find_tail(int fd, uint64_t base, uint64_t size,
                                uint64_t *tail)
{
    return srdi_recovery_find_tail_n(fd, base, size, tail, NULL);
}

srd_err srdi_recovery_find_tail_n(int fd, uint64_t base, uint64_t size,
                                  uint64_t *tail, uint64_t *entries)
{
    return srdi_recovery_find_tail_in(fd, base, size, SRDI_ALIGN, tail,
                                      entries);
}

srd_err srdi_recovery_find_tail_in(int fd, uint64_t base, uint64_t size,
                                   uint32_t align, uint64_t *tail,
                                   uint64_t *entries)
{
    uint64_t steps = 0;
    if (entries)
        *entries = 0;
    *tail = base;
    if (size <= base)
        return SRD_OK;
    rd r;
    if (rd_init(&r, fd, size, align) != SRD_OK) {
        rd_fini(&r); /* one of the two buffers may have been allocated */
        return SRD_ENOMEM;
    }
    r.cq.budget = 8 * (size - base) + (256u << 20);
    memo m = {0};
    srd_err rc = SRD_OK;
    bool first = true;
    for (uint64_t c = size; c >= base + SRDI_TRAILER_SIZE + 1 && !r.err;
         c--) {
        srdi_entry e;
        if (!rd_entry(&r, c, &e) || e.start < base)
            continue;
        bool ok;
        /* The end of the file is tried with a plain walk first: a clean
         * file needs no memo at all. */
        rc = chain_ok(&r, first ? NULL : &m, base, e.start, &ok,
                      first ? &steps : NULL);
        if (rc != SRD_OK)
            break;
        if (ok && rd_crc_ok(&r, &e)) {
            *tail = c;
            if (first && entries)
                *entries = steps + 1;
            break;
        }
        if (r.cq.over_budget) {
            rc = SRD_ECORRUPT;
            break;
        }
        first = false;
        if (ok && !memo_put(&m, c, false)) {
            rc = SRD_ENOMEM;
            break;
        }
    }
    if (r.err) {
        *tail = base;
        rc = rd_read_error(&r);
    }
    memo_fini(&m);
    rd_fini(&r);
    return rc;
}

/* Does e's payload match its CRC (*good)? Small payloads through the
 * window the backward walk already holds, large ones in 1 MiB preads.
 * Errors: a failed read, SRD_ENOMEM. */
static srd_err rd_check_crc(rd *r, const srdi_entry *e, bool *good)
{
    *good = false;
    if (e->len <= RD_BLOCK / 2) {
        const uint8_t *p = rd_get(r, e->payload, (size_t)e->len, false);
        if (!p)
            return r->err ? rd_read_error(r) : SRD_OK;
        *good = srdi_crc32(0, p, (size_t)e->len) == e->crc;
        return SRD_OK;
    }
    uint32_t c;
    srd_err rc = srdi_recovery_crc(r->fd, e->payload, e->len, &c);
    *good = rc == SRD_OK && c == e->crc;
    return rc == SRD_ECORRUPT ? SRD_OK : rc; /* ECORRUPT: file too short */
}

srd_err srdi_recovery_check(int fd, uint64_t tail, uint64_t trusted,
                            const uint8_t *trusted_trailer, uint64_t *good,
                            bool *trusted_ok)
{
    return srdi_recovery_check_in(fd, tail, trusted, trusted_trailer,
                                  SRDI_ALIGN, good, trusted_ok);
}

srd_err srdi_recovery_check_in(int fd, uint64_t tail, uint64_t trusted,
                               const uint8_t *trusted_trailer, uint32_t align,
                               uint64_t *good, bool *trusted_ok)
{
    *good = tail;
    *trusted_ok = false;
    /* A clean reopen: the record names the tail itself; one trailer to
     * compare, no buffers (a mismatch or a failed read takes the walk). */
    uint8_t last[SRDI_TRAILER_SIZE];
    if (trusted_trailer && trusted == tail && tail > 0 &&
        srdi_pread_full(fd, last, sizeof last, tail - sizeof last, NULL) ==
            sizeof last &&
        memcmp(last, trusted_trailer, sizeof last) == 0) {
        *trusted_ok = true;
        return SRD_OK;
    }
    rd r;
    if (rd_init(&r, fd, tail, align) != SRD_OK) {
        rd_fini(&r);
        return SRD_ENOMEM;
    }
    bool use = trusted_trailer != NULL && trusted <= tail;
    srd_err rc = SRD_OK;
    uint64_t node = tail;
    while (node > 0) {
        if (use && node == trusted) {
            const uint8_t *t = rd_get(&r, node - SRDI_TRAILER_SIZE,
                                      SRDI_TRAILER_SIZE, false);
            if (t && memcmp(t, trusted_trailer, SRDI_TRAILER_SIZE) == 0) {
                *trusted_ok = true;
                break;
            }
            use = false; /* another file's record: check everything */
        }
        if (use && node < trusted)
            use = false; /* the chain skips it: not this file's record */
        srdi_entry e;
        if (!rd_entry(&r, node, &e)) {
            rc = r.err ? rd_read_error(&r) : SRD_ECORRUPT;
            break;
        }
        bool crc_good = true;
        if (node != tail && (rc = rd_check_crc(&r, &e, &crc_good)) != SRD_OK)
            break;
        if (!crc_good)
            *good = e.start; /* the oldest bad one so far */
        node = e.start;
    }
    if (rc == SRD_OK && node == 0 && use && trusted == 0)
        *trusted_ok = true;
    if (rc != SRD_OK) {
        *good = tail;
        *trusted_ok = false;
    }
    rd_fini(&r);
    return rc;
}

srd_err srdi_recovery_walk(int fd, uint64_t base, uint64_t tail,
                           srdi_entry_fn fn, void *ctx)
{
    return srdi_recovery_walk_in(fd, base, tail, SRDI_ALIGN, fn, ctx);
}

srd_err srdi_recovery_walk_in(int fd, uint64_t base, uint64_t tail,
                              uint32_t align, srdi_entry_fn fn, void *ctx)
{
    rd r;
    if (rd_init(&r, fd, tail, align) != SRD_OK) {
        rd_fini(&r); /* one of the two buffers may have been allocated */
        return SRD_ENOMEM;
    }
    srd_err rc = SRD_OK;
    uint64_t node = tail;
    while (node > base) {
        srdi_entry e;
        if (!rd_entry(&r, node, &e) || e.start < base) {
            rc = r.err ? rd_read_error(&r) : SRD_ECORRUPT;
            break;
        }
        if (fn && fn(ctx, &e)) {
            rc = SRD_ECANCELED;
            break;
        }
        node = e.start;
    }
    rd_fini(&r);
    return rc;
}

/* ---- what lies past the tail ------------------------------------------ */

static bool rd_all_zero(rd *r, uint64_t off, uint64_t n)
{
    const uint8_t *p = rd_get(r, off, (size_t)n, true);
    if (!p)
        return false;
    for (uint64_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* The layouts an entry past the tail may have been written in: today's,
 * the unpadded one, and 0.14's 16-byte pad (docs/FORMAT.md section 10). */
static const uint32_t scan_aligns[] = {SRDI_ALIGN, SRDI_ALIGN_NONE, 16u};

/* Does entry e (decoded unpadded: the weakest structure) match its CRC
 * in the layout of align? */
static bool scan_crc_in(rd *r, const srdi_entry *e, uint32_t align)
{
    uint64_t pad = srdi_format_pad_in(e->start, align);
    if (pad >= e->len || (pad && !rd_all_zero(r, e->start, pad)))
        return false;
    srdi_entry a = *e;
    a.payload = e->start + pad;
    a.len = e->len - pad;
    return rd_crc_ok(r, &a);
}

/* The layout in which e matches its CRC: the file's own (align) first,
 * else any other known one (an entry that verifies there is never junk),
 * else 0. */
static uint32_t scan_crc_any(rd *r, const srdi_entry *e, uint32_t align)
{
    if (e->tombstone || scan_crc_in(r, e, align))
        return align; /* a tombstone: rd_entry checked its checksum */
    for (size_t i = 0; i < sizeof scan_aligns / sizeof scan_aligns[0]; i++) {
        if (r->cq.over_budget || r->err)
            return 0;
        if (scan_aligns[i] != align && scan_crc_in(r, e, scan_aligns[i]))
            return scan_aligns[i];
    }
    return 0;
}

/* Verdicts of a chain walked down from inside the region (memoized). */
enum { SC_DAMAGE = 0, SC_REACHES = 1, SC_BATCH = 2 };

/* Is the trailer ending at node one whose prev_offset is the poison of an
 * unfinished batch (format.h: UINT64_MAX until the unit is complete)? The
 * 8-byte fix may itself be torn: each byte is then the poison's 0xFF or
 * the real value's, and the real value is from (a unit is appended at the
 * tail). */
static bool rd_poisoned(rd *r, uint64_t node, uint64_t from)
{
    if (node < SRDI_TRAILER_SIZE)
        return false;
    const uint8_t *t = rd_get(r, node - SRDI_TRAILER_SIZE, SRDI_TRAILER_SIZE,
                              false);
    if (!t)
        return false;
    for (unsigned i = 0; i < 8; i++) {
        uint8_t b = t[8 + i], real = (uint8_t)(from >> (8 * i));
        if (b != 0xFF && b != real)
            return false;
    }
    return true;
}

/* Walk down from the entry end node (structure only) until the walk
 * reaches from (SC_REACHES), stops at a poisoned back pointer (SC_BATCH)
 * or at anything else that is not an entry wholly past from
 * (SC_DAMAGE; *brk = where). */
static srd_err scan_chain(rd *r, memo *m, uint64_t from, uint64_t node,
                          int *verdict, uint64_t *brk)
{
    uint64_t *path = NULL;
    size_t np = 0, cap = 0;
    int v = -1;
    while (v < 0) {
        if (node == from) {
            v = SC_REACHES;
        } else if (node < from) {
            v = SC_DAMAGE; /* its body would start inside the store */
            *brk = node;
        } else if ((v = memo_get(m, node)) < 0) {
            srdi_entry e;
            if (!path_push(&path, &np, &cap, node)) {
                free(path);
                return SRD_ENOMEM;
            }
            if (rd_entry(r, node, &e)) {
                node = e.start;
                continue;
            }
            v = rd_poisoned(r, node, from) ? SC_BATCH : SC_DAMAGE;
            *brk = node;
        }
    }
    *verdict = v;
    return memo_path(m, path, np, (uint8_t)v);
}

/* One candidate entry e ending at c, wholly in the region: count it. */
static srd_err scan_one(rd *r, memo *m, const srdi_entry *e, uint32_t align,
                        srdi_tail_scan *out)
{
    uint32_t in = scan_crc_any(r, e, align);
    bool crc_good = in != 0;
    if (r->cq.over_budget || r->err)
        return SRD_OK; /* the caller ends the scan */
    int v;
    uint64_t brk = 0;
    srd_err rc = scan_chain(r, m, out->from, e->start, &v, &brk);
    if (rc != SRD_OK)
        return rc;
    if (crc_good) {
        out->intact++;
        if (in != align) {
            out->foreign++;
            v = SC_DAMAGE; /* another layout's entry: not a torn write */
            brk = brk ? brk : e->end;
        }
        if (v == SC_DAMAGE && !out->damage) {
            out->damage = true;
            out->break_at = brk ? brk : out->from; /* 0: a memo hit */
        }
    } else if (v == SC_REACHES) {
        out->bad++; /* scanned downwards: the lowest, in the layout */
        out->first_bad = e->tombstone ? e->start
                                      : e->start +
                                            srdi_format_pad_in(e->start, align);
    }
    return SRD_OK;
}

srd_err srdi_recovery_scan(int fd, uint64_t from, uint64_t size,
                           uint32_t align, bool full, srdi_tail_scan *out)
{
    memset(out, 0, sizeof *out);
    out->from = from;
    out->first_bad = UINT64_MAX;
    if (size <= from)
        return SRD_OK;
    rd r;
    if (rd_init(&r, fd, size, SRDI_ALIGN_NONE) != SRD_OK) {
        rd_fini(&r);
        return SRD_ENOMEM;
    }
    r.cq.budget = 8 * (size - from) + (256u << 20);
    memo m = {0};
    srd_err rc = SRD_OK;
    for (uint64_t c = size; c >= from + SRDI_TRAILER_SIZE + 1 && rc == SRD_OK;
         c--) {
        srdi_entry e;
        if (!rd_entry(&r, c, &e) || e.start < from)
            continue;
        rc = scan_one(&r, &m, &e, align, out);
        if (r.cq.over_budget) { /* a crafted file: say "not torn" */
            out->damage = true;
            out->break_at = from;
            break;
        }
        if (r.err || (out->damage && !full))
            break;
    }
    if (r.err)
        rc = rd_read_error(&r);
    memo_fini(&m);
    rd_fini(&r);
    return rc;
}

/* ---- which layout ----------------------------------------------------- */

#define VOTE_MAX_ENTRIES 256u


/* Entry e decoded unpadded: which layout does its CRC say, 0 when it
 * cannot tell (no pad under the 64-byte reading, neither matches, or it
 * is longer than max_len). One pass over its bytes serves both readings:
 * crc(head || rest) = crc32_combine(crc(head), crc(rest), |rest|), head
 * being the bytes a 64-byte pad would take. */
static srd_err rd_vote_one(rd *r, const srdi_entry *e, uint64_t max_len,
                           uint32_t *vote)
{
    *vote = 0;
    uint64_t pad = srdi_format_pad(e->start);
    if (e->tombstone || pad == 0 || pad >= e->len || e->len > max_len)
        return SRD_OK; /* the same bytes both ways, or not worth a pass */
    const uint8_t *h = rd_get(r, e->start, (size_t)pad, true);
    if (!h)
        return r->err ? rd_read_error(r) : SRD_OK;
    bool zero = true;
    for (uint64_t i = 0; i < pad; i++)
        zero = zero && h[i] == 0;
    uint32_t head = srdi_crc32(0, h, (size_t)pad), rest;
    srd_err rc = srdi_recovery_crc(r->fd, e->start + pad, e->len - pad,
                                   &rest);
    if (rc != SRD_OK)
        return rc == SRD_ECORRUPT ? SRD_OK : rc; /* the file is shorter */
    if ((uint32_t)crc32_combine(head, rest, (z_off_t)(e->len - pad)) ==
        e->crc)
        *vote = SRDI_ALIGN_NONE;
    else if (zero && rest == e->crc)
        *vote = SRDI_ALIGN;
    return SRD_OK;
}

/* One walk down from tail voting on entries up to max_len bytes. */
static srd_err rd_vote_walk(rd *r, uint64_t tail, uint64_t max_len,
                            uint32_t *align)
{
    srd_err rc = SRD_OK;
    uint64_t node = tail;
    for (unsigned i = 0; i < VOTE_MAX_ENTRIES && node > 0 && !*align; i++) {
        srdi_entry e;
        if (!rd_entry(r, node, &e))
            break;
        if ((rc = rd_vote_one(r, &e, max_len, align)) != SRD_OK)
            break;
        node = e.start;
    }
    return rc;
}

/* Small values first: a store that ends with a huge one still decides
 * without reading it again. */
#define VOTE_SMALL (64u << 10)

srd_err srdi_recovery_vote(int fd, uint64_t tail, uint32_t *align)
{
    *align = 0;
    rd r;
    if (rd_init(&r, fd, tail, SRDI_ALIGN_NONE) != SRD_OK) {
        rd_fini(&r);
        return SRD_ENOMEM;
    }
    srd_err rc = rd_vote_walk(&r, tail, VOTE_SMALL, align);
    if (rc == SRD_OK && !*align && !r.err)
        rc = rd_vote_walk(&r, tail, UINT64_MAX, align);
    if (r.err && rc == SRD_OK)
        rc = rd_read_error(&r);
    rd_fini(&r);
    return rc;
}

/* Both searches, then the longer chain wins (none is hidden), the CRCs
 * deciding between equal ones. t64 is the 64-byte layout's tail, already
 * found; v64 the vote on its chain. */
static srd_err detect_both(int fd, uint64_t size, uint64_t t64, uint32_t v64,
                           uint32_t *align, uint64_t *tail, uint64_t *n)
{
    uint64_t t1 = 0, n1 = 0;
    srd_err rc = srdi_recovery_find_tail_in(fd, 0, size, SRDI_ALIGN_NONE,
                                            &t1, &n1);
    if (rc != SRD_OK)
        return rc;
    uint32_t v = v64;
    if (t1 == t64 && !v && t1 > 0)
        rc = srdi_recovery_vote(fd, t1, &v);
    if (t1 != t64)
        v = t1 > t64 ? SRDI_ALIGN_NONE : SRDI_ALIGN;
    if (v)
        *align = v;
    if (*align == SRDI_ALIGN_NONE) {
        *tail = t1;
        *n = n1;
    }
    return rc;
}

/* A clean unpadded store: the entries ending at the end of the file say
 * so, and the unpadded search reaches the end. */
static srd_err detect_clean_unpadded(int fd, uint64_t size, bool *yes,
                                     uint64_t *tail, uint64_t *n)
{
    uint32_t v = 0;
    *yes = false;
    srd_err rc = size > SRDI_TRAILER_SIZE ? srdi_recovery_vote(fd, size, &v)
                                          : SRD_OK;
    if (rc != SRD_OK || v != SRDI_ALIGN_NONE)
        return rc;
    rc = srdi_recovery_find_tail_in(fd, 0, size, v, tail, n);
    *yes = rc == SRD_OK && *tail == size;
    return rc;
}

srd_err srdi_recovery_detect(int fd, uint64_t size, uint32_t prefer,
                             uint32_t *align, uint64_t *tail,
                             uint64_t *entries)
{
    uint64_t n = 0, t = 0;
    bool clean1;
    *align = prefer;
    srd_err rc = detect_clean_unpadded(fd, size, &clean1, &t, &n);
    if (rc == SRD_OK && clean1) {
        *align = SRDI_ALIGN_NONE;
    } else if (rc == SRD_OK) {
        /* The 64-byte layout's search; when its chain's CRCs do not say
         * "aligned", or it did not reach the end, the unpadded one too (a
         * torn or damaged unpadded store searches the whole file once). */
        rc = srdi_recovery_find_tail_in(fd, 0, size, SRDI_ALIGN, &t, &n);
        uint32_t v = 0;
        if (rc == SRD_OK && t > 0)
            rc = srdi_recovery_vote(fd, t, &v);
        if (rc == SRD_OK && v == SRDI_ALIGN)
            *align = v;
        else if (rc == SRD_OK && (t < size || v == SRDI_ALIGN_NONE ||
                                  prefer == SRDI_ALIGN_NONE))
            rc = detect_both(fd, size, t, v, align, &t, &n);
    }
    *tail = t;
    if (entries)
        *entries = n;
    return rc;
}
