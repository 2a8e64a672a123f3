/* SPDX-License-Identifier: MIT */
/*
 * bench_index.c -- section 8 of srd-bench: index and file bytes per live
 * key, and a reader process's index memory with the shared index file.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_embed.h"
#include "bench_util.h"
#include "format.h"
#include "srd/srd.h"

/* ======================================================================== */
/* 8. Index size                                                            */
/* ======================================================================== */

void bench_index(const kv_data *kv, const store_pair *sp)
{
    srd_info info;
    MDB_envinfo ei;
    MDB_stat ms;
    MDB_dbi dbi;

    srd_store *st = srd_open_mode(sp->srd, 0, SRD_SYNC_NEVER);
    SRD_CHECK(srd_get_info(st, &info));
    SRD_CHECK(srd_close(st));
    if (info.live_keys != kv->n)
        die("srd_get_info: %llu live keys, expected %zu",
            (unsigned long long)info.live_keys, kv->n);
    MDB_env *env = lmdb_open(sp->mdb, 0, MDB_RDONLY, &dbi);
    MDB_CHECK(mdb_env_info(env, &ei));
    MDB_CHECK(mdb_env_stat(env, &ms));
    mdb_env_close(env);

    double live = (double)info.live_keys;
    row_add("index", "B/key", 0, (double)info.index_bytes / live, NAN,
            "index bytes per live key, %zu keys", kv->n);
    srd_info ro, priv;
    st = srd_open_mode(sp->srd, SRD_OPEN_READONLY, SRD_SYNC_NEVER);
    SRD_CHECK(srd_get_info(st, &ro));
    SRD_CHECK(srd_close(st));
    st = srd_open_private(sp->srd);
    SRD_CHECK(srd_get_info(st, &priv));
    SRD_CHECK(srd_close(st));
    row *r = row_add("index", "KiB", -1, (double)ro.index_bytes / 1024.0,
                     (double)priv.index_bytes / 1024.0,
                     "reader process index memory, %zu keys, vs private "
                     "(base)", kv->n);
    row_target(r, (double)ro.index_bytes <= 4.0 * MIB, "<= 4 MiB");
    row_add("index", "B/key", -1, (double)info.tail / live,
            (double)(ei.me_last_pgno + 1) * ms.ms_psize / (double)ms.ms_entries,
            "file bytes per key, %zu B values", sp->vlen);
}
