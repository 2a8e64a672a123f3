/* SPDX-License-Identifier: MIT */
/*
 * map.c -- read-only, reserved-ahead mapping of the store file (map.h).
 *
 * Linux lets a MAP_SHARED mapping extend past the end of the file: pages
 * past EOF fault with SIGBUS only if touched, and become readable once the
 * file grows. So one mmap of the reservation serves every later append and
 * nothing is remapped per write. Readers never touch bytes past committed.
 */
#include "srd_features.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "errno_map.h"
#include "format.h"
#include "map.h"

/* Reserve at least 16 GiB and 4x the file: address space is cheap on
 * 64-bit and read-only shared file mappings are not charged as commit. */
#define MAP_MIN_RESERVE (16ull << 30)

srd_err srdi_map_open(int fd, uint64_t min_size, srdi_map **out)
{
    uint64_t want = min_size > MAP_MIN_RESERVE / 4 ? min_size * 4
                                                    : MAP_MIN_RESERVE;
    srdi_map *m = calloc(1, sizeof *m);
    if (!m)
        return SRD_ENOMEM;
    void *p = mmap(NULL, (size_t)want, PROT_READ, MAP_SHARED | MAP_NORESERVE,
                   fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        free(m);
        return srdi_errno(e);
    }
    m->base = p;
    m->reserved = want;
    atomic_init(&m->committed, 0);
    atomic_init(&m->refs, 1);
    m->align = SRDI_ALIGN;
    *out = m;
    return SRD_OK;
}

void srdi_map_ref(srdi_map *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void srdi_map_unref(srdi_map *m)
{
    if (!m)
        return;
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    munmap((void *)m->base, (size_t)m->reserved);
    free(m);
}
