/* SPDX-License-Identifier: MIT */
/*
 * registry.h -- the writing handles this process has open, by the
 * identity (device, inode) of their lock file "<path>.lock": a second
 * srd_open of the same store in one process shares the first handle
 * (counted), whatever name it was given. The lock file, not the store:
 * a compaction renames a new store file over the path, the lock file
 * stays. Handles opened before a fork() are never shared in the child.
 */
#ifndef SRD_REGISTRY_H
#define SRD_REGISTRY_H

#include <stdbool.h>
#include <sys/types.h>

struct srd_store;

/* The identity of "<path>.lock"; false when it cannot be had. */
bool srdi_registry_lock_id(const char *path, dev_t *dev, ino_t *ino);

/* Serialize opens and closes of writing handles (held across the whole
 * srd_open, so two threads opening one store end up sharing). */
void srdi_registry_lock(void);
void srdi_registry_unlock(void);

/* Under the lock: the handle of this process registered for the lock file
 * of path, with one more reference, or NULL. */
struct srd_store *srdi_registry_share(const char *path);

/* Under the lock: register st (just opened at path) with one reference.
 * False when the lock file cannot be identified (st is then not shared;
 * nothing else changes). */
bool srdi_registry_add(struct srd_store *st, const char *path);

/* Under the lock: drop one reference of st. True when st was not
 * registered or this was the last reference (the caller closes it). */
bool srdi_registry_release(struct srd_store *st);

#endif
