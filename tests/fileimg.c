/* SPDX-License-Identifier: MIT */
/*
 * fileimg.c -- in-memory file images for the crash replays (fileimg.h).
 */
#define _GNU_SOURCE 1
#include "fileimg.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

void tu_img_size(tu_img *im, size_t len)
{
    if (len > im->cap) {
        size_t cap = len + len / 2 + 4096;
        im->b = realloc(im->b, cap);
        ck_assert_ptr_nonnull(im->b);
        memset(im->b + im->cap, 0, cap - im->cap);
        im->cap = cap;
    }
    if (len < im->len)
        memset(im->b + len, 0, im->len - len);
    im->len = len;
}

void tu_img_put(tu_img *im, uint64_t off, const uint8_t *data, size_t len)
{
    if (len == 0)
        return;
    if (off + len > im->len)
        tu_img_size(im, (size_t)(off + len));
    memcpy(im->b + off, data, len);
}

void tu_img_reset(tu_img *im, const uint8_t *b, size_t len)
{
    tu_img_size(im, 0);
    tu_img_size(im, len);
    if (len > 0)
        memcpy(im->b, b, len);
    im->exists = b != NULL;
}

void tu_img_free(tu_img *im)
{
    free(im->b);
    memset(im, 0, sizeof *im);
}

mode_t tu_open_mode(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}
