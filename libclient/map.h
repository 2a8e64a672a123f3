/* SPDX-License-Identifier: MIT */
/*
 * map.h -- the read-only mapping of a store file.
 *
 * The file is mapped once with address space reserved well ahead of its
 * size, so appends need no remap: pages become readable as the file grows.
 * Invariant: nobody dereferences base[x] for x >= committed. A map is
 * reference counted; views hold a reference, so retiring a map (compaction,
 * outgrowing the reservation) never unmaps bytes a caller still holds.
 */
#ifndef SRD_MAP_H
#define SRD_MAP_H

#include <stdatomic.h>
#include <stdint.h>

#include "srd/srd.h"

typedef struct srdi_map {
    const uint8_t *base;          /* page-aligned, PROT_READ, MAP_SHARED */
    uint64_t reserved;            /* bytes of address space mapped */
    _Atomic uint64_t committed;   /* readers never look at or past this */
    _Atomic long refs;            /* owner + live views */
    uint32_t align;               /* the file's layout (format.h): 64 or 1;
                                     srdi_map_open sets 64 */
} srdi_map;

/* Map fd read-only with room for the file to grow well past min_size. The
 * result has one reference (the caller's) and committed == 0. */
srd_err srdi_map_open(int fd, uint64_t min_size, srdi_map **out);

/* True when offsets below tail can be read through this map. */
static inline bool srdi_map_covers(const srdi_map *m, uint64_t tail)
{
    return tail <= m->reserved;
}

void srdi_map_ref(srdi_map *m);
/* Drops a reference; the last one unmaps and frees. NULL does nothing. */
void srdi_map_unref(srdi_map *m);

#endif
