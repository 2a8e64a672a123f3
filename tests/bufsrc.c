/* SPDX-License-Identifier: MIT */
/* bufsrc.c -- the buffer pull-stream source of bufsrc.h. */
#define _GNU_SOURCE 1
#include "bufsrc.h"

#include <string.h>
#include <unistd.h>

int src_read(void *ctx, void *buf, size_t cap, size_t *n)
{
    src *s = ctx;
    s->calls++;
    if (s->fail_after && s->calls > s->fail_after)
        return s->fail_rc;
    if (s->sleep_ms)
        usleep(s->sleep_ms * 1000u);
    size_t k = s->len - s->pos;
    if (k > cap)
        k = cap;
    if (s->chunk && k > s->chunk)
        k = s->chunk;
    if (k)
        memcpy(buf, s->data + s->pos, k);
    s->pos += k;
    *n = k;
    return 0;
}

src src_of(const void *data, size_t len)
{
    src s;
    memset(&s, 0, sizeof s);
    s.data = data;
    s.len = len;
    return s;
}
