/* SPDX-License-Identifier: MIT */
/*
 * synced.h -- the synced-tail sidecar "<store>.synced" (docs/FORMAT.md).
 *
 * One fixed 128-byte record bound to the store file by its (st_dev,
 * st_ino) and by the trailers of the entries it names, with a CRC of its
 * own. It holds two entry ends: `synced`, up to which an fdatasync made
 * the file durable, and `written`, up to which the file was written in
 * the boot it names (the page cache keeps written bytes intact until the
 * machine goes down, so torn entries need an OS crash, hence a new boot).
 * Invariant: a record is written only after its synced tail was made
 * durable and its written tail was written, so whatever version of it
 * survives claims no more than holds; a stale or lost one only makes
 * recovery check more. The writer writes it (writer.c, through srdi_sys);
 * opens read it here.
 */
#ifndef SRD_SYNCED_H
#define SRD_SYNCED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "format.h"

#define SRDI_SYNCED_SUFFIX ".synced"
#define SRDI_SYNCED_SIZE 128u
#define SRDI_SYNCED_VERSION 1u
#define SRDI_BOOT_ID_SIZE 16u

/* The decoded record. Trailers are zeros for a tail of 0. */
typedef struct srdi_synced {
    uint64_t dev, ino;  /* identity of the store file it describes */
    uint64_t synced;    /* durable up to here (an entry end) */
    uint8_t synced_trailer[SRDI_TRAILER_SIZE];  /* of the entry ending
                                                   at synced */
    uint64_t written;   /* written up to here during boot `boot` */
    uint8_t written_trailer[SRDI_TRAILER_SIZE]; /* ... ending at written */
    uint8_t boot[SRDI_BOOT_ID_SIZE]; /* zeros: unknown, never matches */
} srdi_synced;

/* "<store>.synced", malloc'd; NULL on ENOMEM. */
char *srdi_synced_path(const char *store);

void srdi_synced_encode(uint8_t out[SRDI_SYNCED_SIZE], const srdi_synced *s);
/* False unless in holds a well-formed record of this version (magic,
 * version, size and CRC). */
bool srdi_synced_decode(const uint8_t *in, size_t len, srdi_synced *s);

/* Read the sidecar of store; false when it is missing, unreadable or not
 * a valid record. Never creates or changes anything. */
bool srdi_synced_read(const char *store, srdi_synced *s);

/* Whether s describes the file whose fstat is sb: same device and inode,
 * synced tail within the file. */
bool srdi_synced_applies(const srdi_synced *s, const struct stat *sb);

/* The id of the running boot (Linux's random boot_id); zeros and false
 * when it cannot be read. */
bool srdi_synced_boot_id(uint8_t out[SRDI_BOOT_ID_SIZE]);

/* Whether s's written tail belongs to the running boot. */
bool srdi_synced_this_boot(const srdi_synced *s);

/* Open (creating it) the sidecar of store for writing, with the store's
 * permission bits mode; -1 with errno on failure. */
int srdi_synced_open(const char *store, mode_t mode);

#endif
