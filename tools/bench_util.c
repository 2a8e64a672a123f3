/* SPDX-License-Identifier: MIT */
/*
 * bench_util.c -- what every srd-bench section shares: errors, time,
 * randomness, the result table (text and JSON) and the work directory.
 */
#include "srd_features.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

/* ======================================================================== */
/* Errors, time, randomness                                                 */
/* ======================================================================== */

char g_workdir[PATH_MAX];  /* removed at exit when non-empty */
volatile uint64_t g_sink;  /* defeats dead-code elimination */

_Noreturn void die(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("srd-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

_Noreturn void die_srd(const char *what, srd_err rc, int line)
{
    die("line %d: %s failed: %s (%s)", line, what, srd_errname(rc),
        srd_strerror(rc));
}


void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        die("out of memory (%zu bytes)", n);
    return p;
}

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64: small, fast, good enough to shuffle and fill buffers. */
uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = rng_next(&s);
        memcpy(p + i, &w, 8);
    }
    if (i < n) {
        uint64_t w = rng_next(&s);
        memcpy(p + i, &w, n - i);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void qsort_doubles(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
}

/* Median of v[0..n) (reorders v). */
double median(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ======================================================================== */
/* Result rows and output                                                   */
/* ======================================================================== */


static row *g_rows;
static size_t g_nrows, g_caprows;

row *row_add(const char *section, const char *unit, int better,
                    double srd, double lmdb, const char *fmt, ...)
{
    if (g_nrows == g_caprows) {
        g_caprows = g_caprows ? 2 * g_caprows : 64;
        g_rows = realloc(g_rows, g_caprows * sizeof *g_rows);
        if (g_rows == NULL)
            die("out of memory");
    }
    row *r = &g_rows[g_nrows++];
    memset(r, 0, sizeof *r);
    r->section = section;
    r->unit = unit;
    r->better = better;
    r->srd = srd;
    r->lmdb = lmdb;
    r->met = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->name, sizeof r->name, fmt, ap);
    va_end(ap);
    return r;
}

void row_target(row *r, bool met, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->target, sizeof r->target, fmt, ap);
    va_end(ap);
    r->met = met ? 1 : 0;
}

/* srd relative to LMDB, > 1 when srd is better; NAN when not comparable. */
static double row_ratio(const row *r)
{
    if (r->better == 0 || isnan(r->srd) || isnan(r->lmdb) || r->srd <= 0 ||
        r->lmdb <= 0)
        return NAN;
    return r->better > 0 ? r->srd / r->lmdb : r->lmdb / r->srd;
}

static const char *fmt_num(char *buf, size_t cap, double v)
{
    double a = fabs(v);
    if (isnan(v))
        snprintf(buf, cap, "-");
    else if (a >= 1e9)
        snprintf(buf, cap, "%.2fG", v / 1e9);
    else if (a >= 1e6)
        snprintf(buf, cap, "%.2fM", v / 1e6);
    else if (a >= 1e4)
        snprintf(buf, cap, "%.1fk", v / 1e3);
    else if (a >= 100)
        snprintf(buf, cap, "%.0f", v);
    else if (a >= 10)
        snprintf(buf, cap, "%.1f", v);
    else
        snprintf(buf, cap, "%.3g", v);
    return buf;
}

void rows_free(void)
{
    free(g_rows);
    g_rows = NULL;
    g_nrows = g_caprows = 0;
}

void print_table(void)
{
    char a[32], b[32], c[32];
    const char *last = "";
    printf("%-9s %-42s %-9s %10s %10s %9s  %-24s %s\n", "section",
           "benchmark", "unit", "srd", "baseline", "srd/base", "target", "met");
    for (size_t i = 0; i < g_nrows; i++) {
        const row *r = &g_rows[i];
        double ratio = row_ratio(r);
        if (strcmp(last, r->section) != 0 && i > 0)
            putchar('\n');
        last = r->section;
        fmt_num(c, sizeof c, ratio);
        if (!isnan(ratio))
            strncat(c, "x", sizeof c - strlen(c) - 1);
        printf("%-9s %-42s %-9s %10s %10s %9s  %-24s %s\n", r->section,
               r->name, r->unit, fmt_num(a, sizeof a, r->srd),
               fmt_num(b, sizeof b, r->lmdb), c, r->target,
               r->met < 0 ? "" : r->met ? "yes" : "NO");
    }
}

static void json_num(double v)
{
    if (isnan(v))
        fputs("null", stdout);
    else
        printf("%.6g", v);
}

/* Our strings hold no quotes, backslashes or control characters. */
void print_json(size_t keys, bool quick, const char *machine)
{
    printf("{\n  \"keys\": %zu,\n  \"quick\": %s,\n  \"machine\": \"%s\",\n"
           "  \"results\": [\n",
           keys, quick ? "true" : "false", machine);
    for (size_t i = 0; i < g_nrows; i++) {
        const row *r = &g_rows[i];
        printf("    {\"section\": \"%s\", \"name\": \"%s\", \"unit\": \"%s\", "
               "\"srd\": ",
               r->section, r->name, r->unit);
        json_num(r->srd);
        fputs(", \"lmdb\": ", stdout);
        json_num(r->lmdb);
        fputs(", \"ratio\": ", stdout);
        json_num(row_ratio(r));
        printf(", \"target\": \"%s\", \"met\": %s}%s\n", r->target,
               r->met < 0 ? "null" : r->met ? "true" : "false",
               i + 1 < g_nrows ? "," : "");
    }
    fputs("  ]\n}\n", stdout);
}

void progress(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("srd-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ======================================================================== */
/* Work directory and files                                                 */
/* ======================================================================== */

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void workdir_remove(void)
{
    if (g_workdir[0] != '\0')
        nftw(g_workdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    g_workdir[0] = '\0';
}

void workdir_create(const char *parent)
{
    char tmpl[PATH_MAX];
    int n = snprintf(tmpl, sizeof tmpl, "%s/srd-bench-XXXXXX", parent);
    if (n < 0 || (size_t)n >= sizeof tmpl)
        die("--dir path too long");
    if (mkdtemp(tmpl) == NULL)
        die("cannot create a work directory in %s: %s", parent,
            strerror(errno));
    memcpy(g_workdir, tmpl, (size_t)n + 1);
    atexit(workdir_remove);
}

void wpath(char *out, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", g_workdir, name);
    if (n < 0 || n >= PATH_MAX)
        die("path too long: %s/%s", g_workdir, name);
}

/* Remove every file of the work dir whose name starts with prefix (a store
 * and its .lock/.state/.compact companions, or an LMDB file and its -lock). */
void remove_files(const char *prefix)
{
    DIR *d = opendir(g_workdir);
    struct dirent *e;
    char p[PATH_MAX];
    if (d == NULL)
        die("opendir %s: %s", g_workdir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        wpath(p, e->d_name);
        if (unlink(p) != 0)
            die("unlink %s: %s", p, strerror(errno));
    }
    closedir(d);
}

