/* SPDX-License-Identifier: MIT */
/*
 * bench_stream.c -- section 7 of srd-bench: streaming write and read of one
 * large value against LMDB's MDB_RESERVE.
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
/* 7. Streaming                                                             */
/* ======================================================================== */

static const srd_val stream_key = {"stream-value", 12};

/* Writes total bytes as one value in CHUNK pieces into a fresh store;
 * *nosync_s and *sync_s get the seconds to commit and to a final srd_sync. */
static void srd_stream_write_s(const char *path, const uint8_t *chunk,
                               size_t total, double *nosync_s, double *sync_s)
{
    srd_stream *s;
    remove_files("stream.srd");
    srd_store *st = srd_open_mode(path, SRD_OPEN_CREATE, SRD_SYNC_NEVER);
    uint64_t t0 = now_ns();
    SRD_CHECK(srd_stream_begin(st, stream_key, &s));
    for (size_t off = 0; off < total; off += CHUNK) {
        size_t m = total - off < CHUNK ? total - off : CHUNK;
        srd_err rc = srd_stream_write(s, chunk, m);
        if (rc != SRD_OK) {
            srd_stream_abort(s);
            die_srd("srd_stream_write", rc, __LINE__);
        }
    }
    SRD_CHECK(srd_stream_commit(s));
    uint64_t t1 = now_ns();
    SRD_CHECK(srd_sync(st));
    uint64_t t2 = now_ns();
    SRD_CHECK(srd_close(st));
    *nosync_s = (double)(t1 - t0) / 1e9;
    *sync_s = (double)(t2 - t0) / 1e9;
}

/* LMDB's equivalent: one txn, mdb_put(MDB_RESERVE) then CHUNK copies. */
static void lmdb_stream_write_s(const char *path, const uint8_t *chunk,
                                size_t total, double *nosync_s, double *sync_s)
{
    MDB_dbi dbi;
    MDB_txn *txn;
    remove_files("stream.mdb");
    MDB_env *env = lmdb_open(path, 2 * total + (64u << 20), MDB_NOSYNC, &dbi);
    MDB_val k = {stream_key.len, (void *)stream_key.ptr}, d = {total, NULL};
    uint64_t t0 = now_ns();
    MDB_CHECK(mdb_txn_begin(env, NULL, 0, &txn));
    MDB_CHECK(mdb_put(txn, dbi, &k, &d, MDB_RESERVE));
    for (size_t off = 0; off < total; off += CHUNK) {
        size_t m = total - off < CHUNK ? total - off : CHUNK;
        memcpy((uint8_t *)d.mv_data + off, chunk, m);
    }
    MDB_CHECK(mdb_txn_commit(txn));
    uint64_t t1 = now_ns();
    MDB_CHECK(mdb_env_sync(env, 1));
    uint64_t t2 = now_ns();
    mdb_env_close(env);
    *nosync_s = (double)(t1 - t0) / 1e9;
    *sync_s = (double)(t2 - t0) / 1e9;
}

static uint64_t sum_words(const uint8_t *p, size_t n)
{
    uint64_t acc = 0, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        acc += w;
    }
    for (; i < n; i++)
        acc += p[i];
    return acc;
}

/* Seconds to copy the value out in CHUNK pieces; verify compares them. */
static double srd_stream_read_s(srd_store *st, const uint8_t *chunk,
                                uint8_t *buf, size_t total, bool verify)
{
    srd_read_stream *rs;
    size_t got = 0, n;
    uint64_t t0 = now_ns();
    SRD_CHECK(srd_read_stream_open(st, stream_key, &rs));
    for (;;) {
        srd_err rc = srd_read_stream_read(rs, buf, CHUNK, &n);
        if (rc != SRD_OK) {
            srd_read_stream_close(rs);
            die_srd("srd_read_stream_read", rc, __LINE__);
        }
        if (n == 0)
            break;
        if (verify && memcmp(buf, chunk + got % CHUNK, n) != 0)
            die("srd_read_stream_read returned wrong bytes at %zu", got);
        g_sink += buf[0];
        got += n;
    }
    srd_read_stream_close(rs);
    double s = (double)(now_ns() - t0) / 1e9;
    if (got != total)
        die("srd read stream gave %zu bytes, expected %zu", got, total);
    return s;
}

static double srd_view_scan_s(srd_store *st, size_t total)
{
    srd_view v;
    uint64_t t0 = now_ns();
    SRD_CHECK(srd_get(st, stream_key, &v));
    if (v.len != total)
        die("srd_get of the streamed value: %zu bytes, expected %zu", v.len,
            total);
    g_sink += sum_words(v.data, v.len);
    srd_view_release(&v);
    return (double)(now_ns() - t0) / 1e9;
}

static double lmdb_read_s(MDB_env *env, MDB_dbi dbi, const uint8_t *chunk,
                          uint8_t *buf, size_t total, bool copy, bool verify)
{
    MDB_txn *txn;
    MDB_val k = {stream_key.len, (void *)stream_key.ptr}, d;
    uint64_t t0 = now_ns();
    MDB_CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    MDB_CHECK(mdb_get(txn, dbi, &k, &d));
    if (d.mv_size != total)
        die("mdb_get of the streamed value: %zu bytes, expected %zu",
            d.mv_size, total);
    if (copy) {
        for (size_t off = 0; off < total; off += CHUNK) {
            size_t m = total - off < CHUNK ? total - off : CHUNK;
            memcpy(buf, (const uint8_t *)d.mv_data + off, m);
            if (verify && memcmp(buf, chunk, m) != 0)
                die("LMDB value has wrong bytes at %zu", off);
            g_sink += buf[0];
        }
    } else {
        g_sink += sum_words(d.mv_data, d.mv_size);
    }
    mdb_txn_abort(txn);
    return (double)(now_ns() - t0) / 1e9;
}

void bench_stream(const bench_cfg *cfg)
{
    char spath[PATH_MAX], mpath[PATH_MAX];
    size_t total = cfg->stream_bytes;
    double sw[16], sws[16], lw[16], lws[16], sr[16], lr[16], sv[16], lv[16];
    double gb = (double)total / 1e9;
    uint8_t *chunk = xmalloc(CHUNK), *buf = xmalloc(CHUNK);
    unsigned reps = cfg->slow_reps;
    MDB_dbi dbi;
    row *r;

    fill_random(chunk, CHUNK, SEED ^ 7);
    chunk[0] |= 1;
    memset(buf, 0, CHUNK);
    wpath(spath, "stream.srd");
    wpath(mpath, "stream.mdb");
    progress("stream: %zu MiB value in %u KiB chunks", total >> 20,
             CHUNK >> 10);
    for (unsigned i = 0; i < reps; i++) {
        srd_stream_write_s(spath, chunk, total, &sw[i], &sws[i]);
        lmdb_stream_write_s(mpath, chunk, total, &lw[i], &lws[i]);
        sw[i] = gb / sw[i];
        sws[i] = gb / sws[i];
        lw[i] = gb / lw[i];
        lws[i] = gb / lws[i];
    }
    double v = median(sw, reps);
    r = row_add("stream", "GB/s", +1, v, median(lw, reps),
                "write %zu MiB, sync never / NOSYNC", total >> 20);
    row_target(r, v >= 2.0, ">= 2 GB/s");
    row_add("stream", "GB/s", +1, median(sws, reps), median(lws, reps),
            "write %zu MiB + srd_sync / env_sync", total >> 20);

    /* Reads of the value the last repetition left. */
    srd_store *st = srd_open_mode(spath, SRD_OPEN_READONLY, SRD_SYNC_NEVER);
    MDB_env *env = lmdb_open(mpath, 0, MDB_RDONLY, &dbi);
    srd_stream_read_s(st, chunk, buf, total, true);
    lmdb_read_s(env, dbi, chunk, buf, total, true, true);
    for (unsigned i = 0; i < cfg->reps; i++) {
        sr[i] = gb / srd_stream_read_s(st, chunk, buf, total, false);
        lr[i] = gb / lmdb_read_s(env, dbi, chunk, buf, total, true, false);
        sv[i] = gb / srd_view_scan_s(st, total);
        lv[i] = gb / lmdb_read_s(env, dbi, chunk, buf, total, false, false);
    }
    row_add("stream", "GB/s", +1, median(sr, cfg->reps), median(lr, cfg->reps),
            "read %zu MiB, 1 MiB copies (read stream)", total >> 20);
    row_add("stream", "GB/s", +1, median(sv, cfg->reps), median(lv, cfg->reps),
            "read %zu MiB in place (view, sum words)", total >> 20);
    SRD_CHECK(srd_close(st));
    mdb_env_close(env);
    remove_files("stream.");
    free(chunk);
    free(buf);
}
