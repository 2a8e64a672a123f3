/* SPDX-License-Identifier: MIT */
/*
 * bufsrc.h -- a pull-stream source (srd_put_stream's callback) over a
 * buffer, shared by the store suites, check_golden and check_writer_fault.
 * Not in testutil.h: the short names would shadow other tests' locals.
 */
#ifndef SRD_BUFSRC_H
#define SRD_BUFSRC_H

#include <stddef.h>
#include <stdint.h>

/* Pull-stream source over a buffer; optional per-read sleep, chunk cap and
 * an error to return after a number of reads. */
typedef struct src {
    const uint8_t *data;
    size_t len, pos;
    size_t chunk;        /* 0: as much as the writer asks for */
    unsigned sleep_ms;   /* per read */
    int fail_after;      /* reads that succeed before fail_rc (0: never) */
    int fail_rc;
    int calls;
} src;

int src_read(void *ctx, void *buf, size_t cap, size_t *n);

src src_of(const void *data, size_t len);

#endif
