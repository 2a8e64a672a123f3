/* SPDX-License-Identifier: MIT */
/*
 * io.c -- reads that retry EINTR and short counts (see io.h).
 */
#include "srd_features.h"

#include <errno.h>
#include <unistd.h>

#include "io.h"

size_t srdi_pread_full(int fd, void *buf, size_t n, uint64_t off, int *err)
{
    size_t got = 0;
    if (err)
        *err = 0;
    while (got < n) {
        ssize_t k = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && err)
            *err = errno;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    return got;
}
