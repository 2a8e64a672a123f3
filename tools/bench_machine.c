/* SPDX-License-Identifier: MIT */
/*
 * bench_machine.c -- section 1 of srd-bench, the machine's limits the other
 * figures are read against: DRAM miss (pointer chase), memcpy, fdatasync,
 * CRC-32.
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
/* 1. Machine limits                                                        */
/* ======================================================================== */

/* ns per hop of a pointer chase through one random cycle over all 64-byte
 * lines of a bytes-sized array: one dependent cache (and TLB) miss each. */
static double chase_ns(const bench_cfg *cfg, bool huge)
{
    size_t bytes = cfg->chase_bytes, lines = bytes / 64;
    uint64_t s = SEED;
    double t[16];
    uint64_t *a = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
        die("mmap %zu bytes: %s", bytes, strerror(errno));
    /* Explicit either way, whatever the system's THP default is. */
    if (madvise(a, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0)
        progress("madvise(%s) failed: %s", huge ? "HUGEPAGE" : "NOHUGEPAGE",
                 strerror(errno));
    /* Sattolo's shuffle yields a single cycle through every line. */
    for (size_t i = 0; i < lines; i++)
        a[i * 8] = i;
    for (size_t i = lines - 1; i > 0; i--) {
        size_t j = rng_next(&s) % i;
        uint64_t x = a[i * 8];
        a[i * 8] = a[j * 8];
        a[j * 8] = x;
    }
    for (size_t i = 0; i < lines; i++)
        a[i * 8] = (uint64_t)(uintptr_t)(a + a[i * 8] * 8);

    const uint64_t *p = a;
    for (size_t h = 0; h < cfg->chase_hops / 4; h++) /* warm up */
        p = (const uint64_t *)(uintptr_t)*p;
    for (unsigned r = 0; r < 3; r++) {
        uint64_t t0 = now_ns();
        for (size_t h = 0; h < cfg->chase_hops; h++)
            p = (const uint64_t *)(uintptr_t)*p;
        t[r] = (double)(now_ns() - t0) / (double)cfg->chase_hops;
    }
    g_sink += (uint64_t)(uintptr_t)p;
    munmap(a, bytes);
    return median(t, 3);
}

static double memcpy_gbs(const bench_cfg *cfg)
{
    size_t n = cfg->memcpy_bytes;
    double t[16];
    uint8_t *src = xmalloc(n), *dst = xmalloc(n);
    fill_random(src, n, SEED);
    memset(dst, 1, n);
    memcpy(dst, src, n);
    for (unsigned r = 0; r < cfg->reps; r++) {
        uint64_t t0 = now_ns();
        memcpy(dst, src, n);
        t[r] = (double)n / (double)(now_ns() - t0);
        g_sink += dst[r];
    }
    free(src);
    free(dst);
    return median(t, cfg->reps);
}

/* Median and 99th percentile of (64-byte append + fdatasync), in µs. */
static void fdatasync_us(const bench_cfg *cfg, double *med, double *p99)
{
    char path[PATH_MAX];
    unsigned n = cfg->fsync_iters;
    double *t = xmalloc(n * sizeof *t);
    uint8_t buf[64];
    memset(buf, 'x', sizeof buf);
    wpath(path, "fdatasync.dat");
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644);
    if (fd < 0)
        die("open %s: %s", path, strerror(errno));
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
            die("write %s: %s", path, strerror(errno));
        if (fdatasync(fd) != 0)
            die("fdatasync %s: %s", path, strerror(errno));
        t[i] = (double)(now_ns() - t0) / 1e3;
    }
    close(fd);
    unlink(path);
    *med = median(t, n); /* sorts t */
    *p99 = t[(size_t)((n - 1) * 0.99)];
    free(t);
}

static double crc_gbs(const bench_cfg *cfg)
{
    size_t n = cfg->crc_bytes;
    double t[16];
    uint8_t *buf = xmalloc(n);
    if (srdi_crc32(0, "123456789", 9) != 0xcbf43926u)
        die("srdi_crc32 is not CRC-32/IEEE (check value mismatch)");
    fill_random(buf, n, SEED);
    g_sink += srdi_crc32(0, buf, n); /* warm */
    for (unsigned r = 0; r < cfg->reps; r++) {
        uint64_t t0 = now_ns();
        g_sink += srdi_crc32(0, buf, n);
        t[r] = (double)n / (double)(now_ns() - t0);
    }
    free(buf);
    return median(t, cfg->reps);
}

double bench_machine(const bench_cfg *cfg)
{
    double med, p99, miss, v;
    row *r;
    progress("machine: pointer chase over %zu MiB", cfg->chase_bytes >> 20);
    miss = chase_ns(cfg, false);
    row_add("machine", "ns", 0, miss, NAN,
            "dependent DRAM miss, %zu MiB, 4 KiB pages", cfg->chase_bytes >> 20);
    v = chase_ns(cfg, true);
    row_add("machine", "ns", 0, v, NAN, "dependent DRAM miss, 2 MiB pages");
    progress("machine: memcpy, fdatasync, CRC-32");
    row_add("machine", "GB/s", 0, memcpy_gbs(cfg), NAN,
            "memcpy %zu MiB", cfg->memcpy_bytes >> 20);
    fdatasync_us(cfg, &med, &p99);
    row_add("machine", "us", 0, med, NAN,
            "fdatasync after 64 B append, median of %u", cfg->fsync_iters);
    row_add("machine", "us", 0, p99, NAN, "fdatasync after 64 B append, p99");
    v = crc_gbs(cfg);
    r = row_add("machine", "GB/s", 0, v, NAN, "CRC-32 srdi_crc32, %zu MiB",
                cfg->crc_bytes >> 20);
    row_target(r, v >= 10.0, ">= 10 GB/s");
    return miss;
}
