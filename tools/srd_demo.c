/* SPDX-License-Identifier: MIT */
/*
 * srd_demo.c -- srd-demo: one client process of the README's demo, and a
 * short example of the C API. Worker W of N opens the store (client mode
 * when srdd serves it), writes its keys in batches, pipelined and one by
 * one, deletes a few, then waits until it sees every other worker's keys
 * and prints what it did and saw.
 */
#include "srd_features.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "srd/srd.h"

typedef struct demo_cfg {
    const char *store;
    unsigned worker;  /* this worker's number, 0 .. workers-1 */
    unsigned workers; /* how many run at once */
    unsigned keys;    /* keys each worker writes */
} demo_cfg;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int fail(const demo_cfg *c, const char *what, srd_err rc)
{
    fprintf(stderr, "srd-demo worker %u: %s: %s (%s)\n", c->worker, what,
            srd_errname(rc), srd_strerror(rc));
    return 1;
}

static srd_val key_of(char *buf, size_t cap, unsigned worker, unsigned i)
{
    int n = snprintf(buf, cap, "worker%u:key%05u", worker, i);
    return (srd_val){buf, (size_t)n};
}

static srd_val value_of(char *buf, size_t cap, unsigned worker, unsigned i)
{
    int n = snprintf(buf, cap, "value %u written by worker %u", i, worker);
    return (srd_val){buf, (size_t)n};
}

#define DEMO_BATCH 100u

/* The first half of the keys in atomic batches. */
static srd_err put_batches(srd_store *st, const demo_cfg *c, unsigned upto)
{
    static char kb[DEMO_BATCH][40], vb[DEMO_BATCH][64];
    srd_val k[DEMO_BATCH], v[DEMO_BATCH];
    for (unsigned i = 0; i < upto; i += DEMO_BATCH) {
        unsigned n = upto - i < DEMO_BATCH ? upto - i : DEMO_BATCH;
        for (unsigned j = 0; j < n; j++) {
            k[j] = key_of(kb[j], sizeof kb[j], c->worker, i + j);
            v[j] = value_of(vb[j], sizeof vb[j], c->worker, i + j);
        }
        srd_err rc = srd_put_batch(st, k, v, n);
        if (rc != SRD_OK)
            return rc;
    }
    return SRD_OK;
}

static void async_done(void *ctx, srd_err rc)
{
    srd_err *first = ctx;
    if (rc != SRD_OK && *first == SRD_OK)
        *first = rc;
}

/* The next quarter pipelined (many in flight), the rest one at a time. */
static srd_err put_singles(srd_store *st, const demo_cfg *c, unsigned from,
                           double *blocking_ms)
{
    char kb[40], vb[64];
    srd_err first = SRD_OK;
    unsigned mid = from + (c->keys - from) / 2;
    for (unsigned i = from; i < mid; i++) {
        srd_err rc = srd_put_async(st, key_of(kb, sizeof kb, c->worker, i),
                                   value_of(vb, sizeof vb, c->worker, i),
                                   async_done, &first);
        if (rc != SRD_OK)
            return rc;
    }
    srd_err rc = srd_flush(st);
    if (rc != SRD_OK || first != SRD_OK)
        return rc != SRD_OK ? rc : first;
    double t0 = now_ms();
    for (unsigned i = mid; i < c->keys && rc == SRD_OK; i++)
        rc = srd_put(st, key_of(kb, sizeof kb, c->worker, i),
                     value_of(vb, sizeof vb, c->worker, i));
    *blocking_ms = (now_ms() - t0) / (c->keys - mid ? c->keys - mid : 1);
    return rc;
}

/* Wait (up to 10 s) until every worker's "done" key is visible here, then
 * check every value of every worker byte for byte. */
static srd_err see_everyone(srd_store *st, const demo_cfg *c, double *wait_ms,
                            unsigned *checked)
{
    char kb[40], vb[64];
    double t0 = now_ms();
    for (unsigned w = 0; w < c->workers; w++) {
        bool there = false;
        while (!there) {
            int n = snprintf(kb, sizeof kb, "worker%u:done", w);
            srd_err rc = srd_exists(st, (srd_val){kb, (size_t)n}, &there);
            if (rc != SRD_OK)
                return rc;
            if (!there && now_ms() - t0 > 10000)
                return SRD_ETIMEDOUT;
        }
    }
    *wait_ms = now_ms() - t0;
    *checked = 0;
    for (unsigned w = 0; w < c->workers; w++)
        for (unsigned i = 0; i < c->keys; i++) {
            srd_view v;
            srd_err rc = srd_get(st, key_of(kb, sizeof kb, w, i), &v);
            if (rc == SRD_ENOTFOUND && i % 10 == 9)
                continue; /* deleted by its writer */
            if (rc != SRD_OK)
                return rc;
            srd_val want = value_of(vb, sizeof vb, w, i);
            bool same = v.len == want.len && memcmp(v.data, want.ptr, v.len) == 0;
            srd_view_release(&v);
            if (!same)
                return SRD_ECHECKSUM;
            (*checked)++;
        }
    return SRD_OK;
}

static int run(const demo_cfg *c)
{
    srd_store *st = NULL;
    srd_err rc = srd_open(c->store, NULL, &st);
    if (rc != SRD_OK)
        return fail(c, "srd_open", rc);
    srd_info info;
    srd_get_info(st, &info);
    double t0 = now_ms(), blocking_ms = 0, wait_ms = 0;
    unsigned half = c->keys / 2, deleted = 0, checked = 0;
    rc = put_batches(st, c, half);
    double batch_ms = now_ms() - t0;
    if (rc == SRD_OK)
        rc = put_singles(st, c, half, &blocking_ms);
    for (unsigned i = 9; i < c->keys && rc == SRD_OK; i += 10, deleted++) {
        char kb[40];
        rc = srd_delete(st, key_of(kb, sizeof kb, c->worker, i), NULL);
    }
    double write_ms = now_ms() - t0;
    char done[32];
    int dn = snprintf(done, sizeof done, "worker%u:done", c->worker);
    if (rc == SRD_OK)
        rc = srd_put(st, (srd_val){done, (size_t)dn}, (srd_val){"yes", 3});
    if (rc == SRD_OK)
        rc = see_everyone(st, c, &wait_ms, &checked);
    if (rc != SRD_OK) {
        fail(c, "writing and reading", rc);
        srd_close(st);
        return 1;
    }
    uint64_t live = 0;
    srd_count(st, &live);
    printf("worker %u (%s mode): wrote %u keys in %.1f ms (%u in batches of "
           "%u: %.1f ms; then pipelined and blocking puts: %.3f ms each), "
           "deleted %u; saw all %u workers' keys %.1f ms later, checked %u "
           "values byte for byte; store has %llu live keys\n",
           c->worker, info.daemon ? "client" : "embedded", c->keys, write_ms,
           half, DEMO_BATCH, batch_ms, blocking_ms, deleted, c->workers,
           wait_ms, checked, (unsigned long long)live);
    rc = srd_close(st);
    return rc == SRD_OK ? 0 : fail(c, "srd_close", rc);
}

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: srd-demo --store PATH [--worker W] [--workers N] "
               "[--keys K]\n"
               "  one demo client: writes K keys (default 1000), then waits "
               "for the\n  keys of workers 0..N-1 (default 1) and checks "
               "them\n");
    return rc;
}

static bool parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = (unsigned)v;
    return true;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},
        {"worker", required_argument, NULL, 'w'},
        {"workers", required_argument, NULL, 'n'},
        {"keys", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    demo_cfg c = {NULL, 0, 1, 1000};
    int o;
    while ((o = getopt_long(argc, argv, "s:w:n:k:h", opts, NULL)) != -1) {
        bool ok = true;
        if (o == 's')
            c.store = optarg;
        else if (o == 'w')
            ok = parse_uint(optarg, 0, 999, &c.worker);
        else if (o == 'n')
            ok = parse_uint(optarg, 1, 1000, &c.workers);
        else if (o == 'k')
            ok = parse_uint(optarg, 10, 99999, &c.keys);
        else
            return usage(o == 'h' ? stdout : stderr, o == 'h' ? 0 : 2);
        if (!ok) {
            fprintf(stderr, "srd-demo: bad value '%s' for --%s\n", optarg,
                    opts[o == 'w' ? 1 : o == 'n' ? 2 : 3].name);
            return 2;
        }
    }
    if (!c.store || optind != argc || c.worker >= c.workers)
        return usage(stderr, 2);
    return run(&c);
}
