/* SPDX-License-Identifier: MIT */
/*
 * bench_embed.h -- what the embedded-mode sections of srd-bench share
 * (srd_bench.c runs them): the configuration, the keys and values, the
 * N-key store pair, the engine helpers (bench_embed.c) and each section's
 * entry point (bench_machine.c ... bench_index.c).
 */
#ifndef SRD_BENCH_EMBED_H
#define SRD_BENCH_EMBED_H

#include <limits.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srd/srd.h"

#define KEY_SLOT 16          /* bytes per pre-formatted key ("key%08d\0") */
#define KEY_LEN 11           /* strlen("key00000000") */
#define MAX_KEYS 99999999u   /* "key%08d" stays 11 bytes long */
#define MAX_REPS 15u         /* the medians' arrays hold 16 */
#define LMDB_TXN_GETS 1000   /* LMDB read txn reset/renew cadence */
#define PUT_BATCH 1000       /* entries per srd_put_batch / LMDB txn */
#define CHUNK (1u << 20)     /* streaming chunk */

typedef struct bench_cfg {
    const char *parent;   /* where the work dir is created */
    size_t keys;          /* N */
    bool quick;
    bool json;
    unsigned only;        /* B_* bits */
    unsigned reps;        /* repetitions of short measurements */
    unsigned reps_given;  /* --reps, 0: the default */
    unsigned slow_reps;   /* repetitions of long measurements */
    size_t chase_bytes;   /* pointer-chase array */
    size_t chase_hops;    /* hops per timed chase */
    size_t memcpy_bytes;
    size_t crc_bytes;
    unsigned fsync_iters;
    size_t single_puts;   /* srd_put / LMDB txn count, never/nosync mode */
    size_t sync_puts;     /* same, sync always / default sync */
    size_t sync_batch_entries;
    size_t stream_bytes;
    const char *srdd;     /* srdd binary for the daemon section */
} bench_cfg;

/* ---- bench_embed.c ------------------------------------------------------ */

_Noreturn void die_mdb(const char *what, int rc, int line);
#define MDB_CHECK(call)                                                       \
    do {                                                                      \
        int chk_rc_ = (call);                                                 \
        if (chk_rc_ != MDB_SUCCESS)                                           \
            die_mdb(#call, chk_rc_, __LINE__);                                \
    } while (0)

/* The same data for both engines. Lookups and puts walk a pre-generated
 * random order; its keys are laid out contiguously, like a request stream. */
typedef struct kv_data {
    size_t n;
    char *keys;       /* key i at keys + i * KEY_SLOT, NUL-terminated */
    uint32_t *order;  /* random permutation of [0, n) */
    char *qkeys;      /* key order[i] at qkeys + i * KEY_SLOT */
    srd_val *qk;      /* qkeys as srd_val */
    MDB_val *qm;      /* qkeys as MDB_val */
    uint8_t *qv8;     /* 8-byte value of key order[i] at qv8 + 8 * i */
    srd_val *qv;      /* qv8 as srd_val */
    MDB_val *qmv;     /* qv8 as MDB_val */
} kv_data;

/* The value of key i: len pseudo-random bytes, never the lone byte 0x00. */
void make_value(size_t i, size_t len, uint8_t *out);
void kv_init(kv_data *kv, size_t n);
void kv_free(kv_data *kv);

srd_store *srd_open_mode(const char *path, unsigned flags,
                         srd_sync_mode sync);
/* A read-only handle that builds its own index (SRD_SHARED_INDEX=0), the
 * way every process did before the shared index file. */
srd_store *srd_open_private(const char *path);
/* mapsize 0: keep the size recorded in an existing environment. */
MDB_env *lmdb_open(const char *path, size_t mapsize, unsigned flags,
                   MDB_dbi *dbi);

/* The N-key stores shared by get, get_many, open and index. */
typedef struct store_pair {
    size_t vlen;
    char srd[PATH_MAX];
    char mdb[PATH_MAX];
    bool loaded;
} store_pair;

/* Write the pair's stores (kv's keys, sp->vlen-byte values). */
void load_pair(store_pair *sp, const kv_data *kv);
/* Untimed pass over every key: both engines return the exact bytes. */
void verify_pair(const store_pair *sp, srd_store *st, MDB_env *env,
                 MDB_dbi dbi, const kv_data *kv);

/* ---- the sections ------------------------------------------------------- */

/* 1: returns the DRAM miss in ns (the gets' reference). */
double bench_machine(const bench_cfg *cfg);
/* 2-3 */
void bench_get(const bench_cfg *cfg, const kv_data *kv, const store_pair *sp,
               double miss_ns);
void bench_get_many(const bench_cfg *cfg, const kv_data *kv,
                    const store_pair *sp);
/* 4-5 */
void bench_put(const bench_cfg *cfg, const kv_data *kv);
void bench_batch(const bench_cfg *cfg, const kv_data *kv);
/* 6; srdd_path: srdd from --srdd, else beside srd-bench in the build tree
 * (guess holds the latter). */
const char *srdd_path(const bench_cfg *cfg, char *guess, size_t cap);
void bench_open(const bench_cfg *cfg, const kv_data *kv, const store_pair *sp);
/* 7 */
void bench_stream(const bench_cfg *cfg);
/* 8 */
void bench_index(const kv_data *kv, const store_pair *sp);

#endif
