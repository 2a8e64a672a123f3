/* SPDX-License-Identifier: MIT */
/*
 * bench_util.h -- shared helpers of srd-bench (see bench_util.c): fatal
 * errors, clocks, a seeded PRNG, the result rows printed as a table or
 * JSON, and the temporary work directory removed at exit.
 */
#ifndef SRD_BENCH_UTIL_H
#define SRD_BENCH_UTIL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srd/srd.h"

#define MIB (1024.0 * 1024.0)
#define SEED 0x5eedb0a7c0ffee11ull

extern char g_workdir[PATH_MAX]; /* removed at exit when non-empty */
extern volatile uint64_t g_sink; /* defeats dead-code elimination */

_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die_srd(const char *what, srd_err rc, int line);
#define SRD_CHECK(call)                                                       \
    do {                                                                      \
        srd_err chk_rc_ = (call);                                             \
        if (chk_rc_ != SRD_OK)                                                \
            die_srd(#call, chk_rc_, __LINE__);                                \
    } while (0)

void *xmalloc(size_t n);
uint64_t now_ns(void);
uint64_t rng_next(uint64_t *s);
void fill_random(uint8_t *p, size_t n, uint64_t seed);
/* Sort ascending. */
void qsort_doubles(double *v, size_t n);
/* Median of v[0..n) (reorders v); NAN when n is 0. */
double median(double *v, size_t n);

/* One result: srd's figure next to the baseline's ("base" column). */
typedef struct row {
    const char *section;
    char name[64];
    const char *unit;
    double srd;       /* NAN when absent */
    double lmdb;      /* NAN when absent */
    int better;       /* +1 higher is better, -1 lower is better, 0 no ratio */
    char target[48];  /* "" when the issue sets no target */
    int met;          /* 1 met, 0 missed, -1 no target */
} row;
row *row_add(const char *section, const char *unit, int better, double srd,
             double lmdb, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void row_target(row *r, bool met, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void print_table(void);
void print_json(size_t keys, bool quick, const char *machine);
void rows_free(void);
void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void workdir_create(const char *parent);
void workdir_remove(void);
/* out (PATH_MAX bytes) = work dir / name. */
void wpath(char *out, const char *name);
/* Remove every work-dir file whose name starts with prefix. */
void remove_files(const char *prefix);

#endif
