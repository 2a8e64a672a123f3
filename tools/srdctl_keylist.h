/* SPDX-License-Identifier: MIT */
/*
 * srdctl_keylist.h -- a list of keys given by the user (--keys FILE, one
 * key per line), indexed by key hash. The store holds only XXH3-64 hashes
 * of keys; this is how ls and export put names back on entries.
 */
#ifndef SRDCTL_KEYLIST_H
#define SRDCTL_KEYLIST_H

#include <stddef.h>
#include <stdint.h>

#include "srd/srd.h"

typedef struct keylist_ent {
    uint64_t hash; /* srd_key_hash of the key */
    size_t off;    /* key bytes: buf + off */
    size_t len;
} keylist_ent;

typedef struct keylist {
    char *buf;        /* the whole file */
    keylist_ent *ent; /* sorted by hash; one per distinct hash */
    size_t n;
} keylist;

/*
 * Load the keys of path ("-": stdin). Lines end with LF; a last line
 * without LF counts, an empty last segment does not; an empty line is the
 * empty key; bytes are kept as they are (a CR stays part of the key). Of
 * two keys with the same hash, the later wins. Returns CTL_EXIT_OK, or an
 * exit status after printing why (cmd names the command).
 */
int keylist_load(keylist *kl, const char *path, const char *cmd);

/* The key of hash in kl, if listed. */
bool keylist_find(const keylist *kl, uint64_t hash, srd_val *key);

void keylist_free(keylist *kl);

#endif
