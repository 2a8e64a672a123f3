/* SPDX-License-Identifier: MIT */
/*
 * fileimg.h -- a file's bytes held in memory while a crash replay
 * rebuilds it (check_crashpoints, check_crashpoints_compact): grown and
 * cut like the file would be, zeros where nothing was written.
 */
#ifndef SRD_FILEIMG_H
#define SRD_FILEIMG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct tu_img {
    uint8_t *b;
    size_t len, cap;
    bool exists; /* for callers that model a file that may be absent */
} tu_img;

/* Set the length: a cut zeroes what it drops (extending again reads
 * zeros), growing reads zeros. */
void tu_img_size(tu_img *im, size_t len);
/* Write len bytes at off, growing the image if needed. */
void tu_img_put(tu_img *im, uint64_t off, const uint8_t *data, size_t len);
/* Make the image b[0, len) (b NULL: an absent, empty file). */
void tu_img_reset(tu_img *im, const uint8_t *b, size_t len);
void tu_img_free(tu_img *im);

/* The mode argument of an open(2) wrapper's variadic tail (0 unless
 * flags create a file). */
mode_t tu_open_mode(int flags, va_list ap);

#endif
