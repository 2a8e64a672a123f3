/* SPDX-License-Identifier: MIT */
/*
 * openrec.h -- what an open does with a store's damaged or torn end
 * (docs/FORMAT.md section 6, "What an open may cut").
 *
 * The tail search (recovery.h) finds where the valid chain ends; this
 * decides what happens to the bytes past it and to entries with a bad CRC,
 * from the synced-tail record (synced.h) and a scan of those bytes:
 *
 *  - a writer cuts only bytes past the point the record vouches for, or,
 *    without a record that holds for the file, a region that is a torn
 *    write (recovery_scan: no intact entry whose chain breaks there);
 *  - every cut is saved first to "<path>.cut-<offset>" (fsynced, and its
 *    directory) and announced on stderr with the offset, the bytes, the
 *    entries and the .cut path;
 *  - anything else is never cut: a writer open fails with SRD_ECORRUPT and
 *    a message naming the offset, the file unchanged; a read-only open
 *    reads up to the damage and says so;
 *  - an entry with a bad CRC inside what the record vouches for, or
 *    anywhere without a record, is kept and reported (srd_verify finds it).
 *
 * SRD_OPEN_REPAIR lifts the refusals: whatever is past the tail is saved
 * and cut, a file with no valid chain is saved whole to ".cut-0".
 */
#ifndef SRD_OPENREC_H
#define SRD_OPENREC_H

#include <stdbool.h>
#include <stdint.h>

#include "recovery.h"
#include "srd/srd.h"
#include "synced.h"

typedef struct srdi_openrec {
    uint64_t tail;    /* the store ends here; a writer cuts the file here */
    uint64_t entries; /* entries up to tail when known, else 0 */
    uint32_t align;   /* the file's layout (format.h), found from its
                         entries; `prefer` when they do not tell */
    srdi_synced rec;  /* the sidecar record ... */
    bool trusted;     /* ... when it was found true of this file */
} srdi_openrec;

/* Decide for the store file fd at path opened with flags (SRD_OPEN_*);
 * prefer: the layout (align) for a file whose entries do not tell.
 * On SRD_OK with out->tail below the file size, a writer may cut: the cut
 * bytes are saved already. Errors: SRD_ECORRUPT (refused, nothing
 * changed), SRD_ENOMEM, SRD_ESYSERR | errno. */
srd_err srdi_openrec_run(const char *path, int fd, unsigned flags,
                         uint32_t prefer, srdi_openrec *out);

/* The same for a writer whose shared index file vouches for the chain of
 * fd up to base (an entry end whose trailer it recorded), of layout align:
 * the tail search walks only past base and the unsynced entries' CRCs are
 * checked as in srdi_openrec_run (down to the record's point, below base
 * too when the last writer did not sync since). SRD_ENOENT, nothing done,
 * when this shortcut does not apply (base 0, SRD_OPEN_REPAIR, no
 * synced-tail record of this file, one vouching past the tail found):
 * run srdi_openrec_run. */
srd_err srdi_openrec_run_from(const char *path, int fd, unsigned flags,
                              uint32_t align, uint64_t base,
                              srdi_openrec *out);

/* The same rule for the bytes of fd past tail, for srd_verify of a
 * read-only handle: *torn is whether a writer open may cut them (then they
 * are not damage); *scan counts what they hold. Reads only, prints
 * nothing. */
srd_err srdi_openrec_judge(const char *path, int fd, uint64_t tail,
                           uint32_t align, srdi_tail_scan *scan, bool *torn);

#endif
