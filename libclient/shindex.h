/* SPDX-License-Identifier: MIT */
/*
 * shindex.h -- the shared index file "<store>.idx": the writer's key hash
 * -> location table in a file every reader process maps (docs/
 * ARCHITECTURE.md, "Shared index file").
 *
 * The one writer (srdi_shxw) maps it read-write and publishes each slot
 * hash first, then loc with a release store, and after each group the
 * tail it covers with a release store. Readers (srdi_shx) map it
 * read-only and probe in place with acquire loads. Growing writes a new
 * file and renames it over the old one, then flags the old one
 * superseded; the old mapping stays valid for readers still in it.
 * Nothing a reader gets from here is trusted: store_read.c checks every loc
 * against the store before it returns a value (invariants in shindex.c).
 */
#ifndef SRD_SHINDEX_H
#define SRD_SHINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "format.h"
#include "srd/srd.h"

#define SRDI_SHX_SUFFIX ".idx"
#define SRDI_SHX_HDR 4096u     /* header bytes before the slots */
#define SRDI_SHX_CAP_AT (SRDI_SHX_HDR - 8u) /* a copy of cap, then slots */
#define SRDI_SHX_VERSION 3u    /* bump with any change of layout or of the
                                  loc encoding (index.h) */
#define SRDI_SHX_MAX_CAP (1ull << 36)

/* ---- reader side ------------------------------------------------------ */

typedef struct srdi_shx srdi_shx;

/* Statistics the writer keeps in the header (informational only). */
typedef struct srdi_shx_stats {
    uint64_t live, entries, live_bytes, live_span;
} srdi_shx_stats;

/*
 * Map the index file of store read-only if it may describe the store file
 * whose fstat is store_sb: a regular file whose size is exactly the header
 * plus cap slots, magic, version, byte order and header checksum right,
 * the same device and inode, not superseded, and either closed cleanly by
 * its writer (made durable first) or written during the running boot.
 * The result has one reference. SRD_ENOENT when there is no index file,
 * SRD_ECORRUPT when it is not usable, SRD_ENOMEM, SRD_ESYSERR | errno.
 */
srd_err srdi_shx_open(const char *store, const struct stat *store_sb,
                      srdi_shx **out);
/* The same for an open index file fd (not kept: the mapping is). */
srd_err srdi_shx_open_fd(int fd, const struct stat *store_sb,
                         srdi_shx **out);

void srdi_shx_ref(srdi_shx *x);
/* Drop a reference; the last one unmaps. NULL does nothing. */
void srdi_shx_unref(srdi_shx *x);

/* The store tail below which every entry is in the slots (acquire). A
 * claim of the file, to be checked against the store. */
uint64_t srdi_shx_covered(const srdi_shx *x);
/* covered with the trailer of the store entry ending there (zeros for 0),
 * read consistently; false when the writer never finished updating them. */
bool srdi_shx_covered_at(const srdi_shx *x, uint64_t *covered,
                         uint8_t trailer[SRDI_TRAILER_SIZE]);
/* The same with the writer's entry count as of covered (set_covered's
 * statistics), read together. */
bool srdi_shx_entries_at(const srdi_shx *x, uint64_t *covered,
                         uint8_t trailer[SRDI_TRAILER_SIZE],
                         uint64_t *entries);
/* covered with the live-key count of the slots as of it, read together
 * (the writer publishes both in one update); false as above. */
bool srdi_shx_live_at(const srdi_shx *x, uint64_t *covered, uint64_t *live);
/* Whether a newer index file replaced this one (the reader should remap). */
bool srdi_shx_superseded(const srdi_shx *x);
void srdi_shx_stats_get(const srdi_shx *x, srdi_shx_stats *s);

/* The loc stored for hash, 0 if none. Lock-free, at most cap probes
 * whatever the file holds. */
uint64_t srdi_shx_lookup(const srdi_shx *x, uint64_t hash);
void srdi_shx_prefetch(const srdi_shx *x, uint64_t hash);
/* Calls fn for every used slot (tombstones included); stops on non-zero. */
typedef int (*srdi_shx_fn)(void *ctx, uint64_t hash, uint64_t loc);
int srdi_shx_each(const srdi_shx *x, srdi_shx_fn fn, void *ctx);
/* The layout (format.h align) of the store the file was written for. */
uint32_t srdi_shx_align(const srdi_shx *x);
/* Bytes mapped. */
size_t srdi_shx_mapped(const srdi_shx *x);

/* ---- writer side ------------------------------------------------------ */

typedef struct srdi_shxw srdi_shxw;

/* A new index file for the store file store_fd (its identity and mode)
 * of layout align
 * at "<store>.idx.tmp", sized for about expected keys, all blocks
 * allocated (so writing through the mapping cannot fault on a full disk).
 * Not visible to readers until srdi_shxw_publish. */
srd_err srdi_shxw_create(const char *store, int store_fd, uint32_t align,
                         uint64_t expected, srdi_shxw **out);
/* Take over the published index file of store for the writer when it
 * passes the checks of srdi_shx_open for store_fd and layout align, is
 * exact at its covered tail (set_covered), keeps an empty slot, and
 * neither its covered tail nor any slot lies past the store's tail: its
 * covered tail and that entry's trailer are returned for the caller to
 * check against the store and to replay what follows. The slots are not
 * read (their sum and counts are the header's) unless the file comes
 * from another boot: then they must match them. The file is not changed
 * until the first change through w: then it becomes unclean, durably (a
 * file being changed vouches only within this boot). SRD_ECORRUPT when
 * it may not be reused (then create a new one). */
srd_err srdi_shxw_reuse(const char *store, int store_fd, uint32_t align,
                        uint64_t tail, srdi_shxw **out, uint64_t *covered,
                        uint8_t trailer[SRDI_TRAILER_SIZE]);
/* Store loc for hash unless the slot holds a newer position. May grow the
 * table: a new file replaces the published one (readers remap). */
srd_err srdi_shxw_apply(srdi_shxw *w, uint64_t hash, uint64_t loc);
/* The same, saying what the slot held (*old, 0 if none) and whether loc
 * was stored (*applied): a writer whose only table is this file keeps its
 * statistics from them (store_snap.c). */
srd_err srdi_shxw_update(srdi_shxw *w, uint64_t hash, uint64_t loc,
                         uint64_t *old, bool *applied);
/* Calls fn for every used slot of the current file (tombstones
 * included); stops on non-zero. Caller excludes slot changes. */
int srdi_shxw_each(const srdi_shxw *w, srdi_shx_fn fn, void *ctx);
/* Start loading hash's home slot (before a run of applies). */
void srdi_shxw_prefetch(const srdi_shxw *w, uint64_t hash);
/* Publish the tail covered, the trailer of the store entry ending there
 * and the statistics (release). exact (with s): no index update is in
 * flight, so the slots and s hold exactly the entries below covered (a
 * writer may take the file over after kill -9, shindex.c invariant 6). */
void srdi_shxw_set_covered(srdi_shxw *w, uint64_t covered,
                           const uint8_t trailer[SRDI_TRAILER_SIZE],
                           const srdi_shx_stats *s, bool exact);
/* Rename the file into place as "<store>.idx", flagging the one it
 * replaces superseded. */
srd_err srdi_shxw_publish(srdi_shxw *w);
/* Close. A file taken over and not changed since is left as it was.
 * Otherwise, with clean: make the slots durable, then mark the file clean
 * (a reader after a reboot may trust it); without: leave it unclean (it
 * vouches within this boot). */
void srdi_shxw_close(srdi_shxw *w, bool clean);
/* Unmap and free without touching the file (a forked child's copy of its
 * parent's writer). */
void srdi_shxw_forget(srdi_shxw *w);
/* Give up on the shared index (a failure): flag it superseded, unlink it
 * and close, so readers fall back to building their own. */
void srdi_shxw_abandon(srdi_shxw *w);
/* Recompute the slots' sum and counts in one pass over the file and
 * compare them with the ones kept as the slots changed: SRD_ECORRUPT when
 * they differ (slots damaged since they were written), or when a growth
 * of the table found the slots it copied off their sum (shindex.c
 * invariant 9). Caller excludes slot changes (the writer's mu). */
srd_err srdi_shxw_verify(const srdi_shxw *w);
/* Slots of the current file (tests, and the count for srdi_shxw_slots). */
uint64_t srdi_shxw_capacity(const srdi_shxw *w);
/* The current file (open read-write) and its size: the writer maps it
 * privately as its own table (index.h, srdi_index_borrow). */
int srdi_shxw_fd(const srdi_shxw *w);
/* Used slots (tombstones included); after srdi_shxw_reuse, counted. */
uint64_t srdi_shxw_used(const srdi_shxw *w);
size_t srdi_shxw_len(const srdi_shxw *w);
/* Live keys and the statistics the file holds for its covered tail. */
void srdi_shxw_stats_get(const srdi_shxw *w, srdi_shx_stats *s);

/* Flag the index file of store superseded and unlink it (a writer that
 * cannot keep one: readers must not trust a stale one). */
void srdi_shx_retire(const char *store);

/* "<store>.idx" (malloc'd; NULL on ENOMEM). */
char *srdi_shx_path(const char *store);

#endif
