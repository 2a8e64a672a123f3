/* SPDX-License-Identifier: MIT */
/*
 * fuzz_open.c -- libFuzzer target: an arbitrary file opened as a store, in
 * either layout (the corpus has unpadded and 64-byte-aligned stores).
 * The input is opened read-only (which must not change the file), as the
 * writer (which must see the same live set, cut only past the tail and
 * keep what it cut in a .cut file, or refuse what is not a torn write) and
 * with SRD_OPEN_REPAIR (which must always open); every live value is read
 * through iteration and looked up again, the chain verified, and a writer
 * appends, compacts and reopens. Anything but a crash, a leak, a sanitizer
 * report or a broken invariant (fz_require) is an acceptable outcome.
 */
#define _GNU_SOURCE 1
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "srd/srd.h"

/* What a handle shows of one live value. */
typedef struct fo_item {
    uint64_t hash;
    uint64_t len;
    uint64_t sum; /* cheap content checksum */
} fo_item;

typedef struct fo_live {
    fo_item *v;
    size_t n;
    bool broken; /* verify: bytes past the tail are not a torn write */
} fo_live;

static char fo_store[4200];

static uint64_t fo_sum(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static int fo_cmp(const void *a, const void *b)
{
    const fo_item *x = a, *y = b;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* Whether e is a code of the error table (or an OS error). */
static bool fo_known_err(srd_err e)
{
    return strcmp(srd_errname(e), "SRD_EUNKNOWN") != 0;
}

/* One iterated view: well formed, and srd_get_hash agrees with it. */
static void fo_check_view(srd_store *st, const srd_view *v, bool aligned)
{
    fz_require(v->data != NULL && v->len > 0, "empty live view");
    fz_require(!aligned || ((uintptr_t)v->data & 63) == 0,
               "payload not 64-aligned");
    fz_require(!(v->len == 1 && v->data[0] == 0),
               "a tombstone byte is shown as a value");
    srd_view again;
    srd_err rc = srd_get_hash(st, v->key_hash, &again);
    fz_require(rc == SRD_OK, "iterated key not found by hash: %s",
               srd_errname(rc));
    fz_require(again.data == v->data && again.len == v->len,
               "get and iteration disagree");
    srd_view_release(&again);
}

/* Every live value of st, sorted by hash; also checks count and verify. */
static fo_live fo_collect(srd_store *st)
{
    srd_info info;
    fz_require(srd_get_info(st, &info) == SRD_OK, "srd_get_info failed");
    fz_require(info.tail <= info.file_size, "tail past the end of the file");
    srd_iter *it = NULL;
    srd_err rc = srd_iter_open(st, &it);
    fz_require(rc == SRD_OK, "srd_iter_open: %s", srd_errname(rc));
    fo_live l = {NULL, 0, false};
    size_t cap = 0;
    srd_view v;
    while ((rc = srd_iter_next(it, &v)) == SRD_OK) {
        fo_check_view(st, &v, info.layout == SRD_LAYOUT_ALIGNED64);
        if (l.n == cap) {
            cap = cap ? cap * 2 : 16;
            l.v = realloc(l.v, cap * sizeof *l.v);
            fz_require(l.v != NULL, "out of memory");
        }
        l.v[l.n++] = (fo_item){v.key_hash, v.len, fo_sum(v.data, v.len)};
        srd_view_release(&v);
    }
    fz_require(rc == SRD_ENOTFOUND, "srd_iter_next: %s", srd_errname(rc));
    srd_iter_close(it);
    fz_require(l.n == info.live_keys, "iterated %zu values, info says %llu",
               l.n, (unsigned long long)info.live_keys);
    srd_verify_report r;
    rc = srd_verify(st, &r, NULL, NULL);
    l.broken = rc == SRD_ECORRUPT && r.break_offset == info.tail;
    fz_require(rc == SRD_OK || rc == SRD_ECHECKSUM || l.broken,
               "srd_verify of a recovered chain: %s", srd_errname(rc));
    fz_require(!l.broken || info.file_size > info.tail,
               "verify names a break with nothing past the tail");
    fz_require(r.bytes == info.tail, "verify covered %llu of %llu bytes",
               (unsigned long long)r.bytes, (unsigned long long)info.tail);
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, fo_cmp);
    return l;
}

static bool fo_same(const fo_live *a, const fo_live *b)
{
    return a->n == b->n &&
           (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof *a->v) == 0);
}

static srd_err fo_open(unsigned flags, srd_store **st)
{
    srd_options o;
    srd_options_init(&o);
    o.flags = flags;
    o.sync = SRD_SYNC_NEVER; /* durability is not under test here */
    return srd_open(fo_store, &o, st);
}

/* Read-only: never changes the file. *live is set when it opened. */
static srd_err fo_reader(const uint8_t *data, size_t size, fo_live *live)
{
    srd_store *st = NULL;
    srd_err rc = fo_open(SRD_OPEN_READONLY, &st);
    fz_require(fo_known_err(rc), "unknown error %d", (int)rc);
    if (rc == SRD_OK) {
        *live = fo_collect(st);
        srd_close(st);
    }
    size_t n = 0;
    uint8_t *now = fz_read_file(fo_store, &n);
    fz_require(now && n == size && (size == 0 || memcmp(now, data, n) == 0),
               "a read-only open changed the file");
    free(now);
    return rc;
}

/* A put survives a reopen, next to everything that was there. */
static void fo_append_and_reopen(srd_store *st, const fo_live *before)
{
    static const char key[] = "fuzz-appended-key";
    static const char val[] = "appended after recovery";
    srd_val k = {key, sizeof key - 1}, v = {val, sizeof val - 1};
    srd_err rc = srd_put(st, k, v);
    fz_require(rc == SRD_OK, "put after open: %s", srd_errname(rc));
    uint64_t reclaimed = 0;
    rc = srd_compact(st, &reclaimed);
    fz_require(rc == SRD_OK, "compact: %s", srd_errname(rc));
    fz_require(srd_close(st) == SRD_OK, "close failed");
    rc = fo_open(SRD_OPEN_READONLY, &st);
    fz_require(rc == SRD_OK, "reopen after put and compact: %s",
               srd_errname(rc));
    char buf[64];
    size_t n = 0;
    rc = srd_get_copy(st, k, buf, sizeof buf, &n);
    fz_require(rc == SRD_OK && n == v.len && memcmp(buf, val, n) == 0,
               "the appended value did not survive: %s", srd_errname(rc));
    fo_live after = fo_collect(st);
    uint64_t h = srd_key_hash(key, k.len);
    size_t kept = 0;
    for (size_t i = 0; i < before->n; i++)
        for (size_t j = 0; j < after.n; j++)
            if (before->v[i].hash != h &&
                memcmp(&before->v[i], &after.v[j], sizeof after.v[j]) == 0)
                kept++;
    size_t expect = before->n;
    for (size_t i = 0; i < before->n; i++)
        expect -= before->v[i].hash == h;
    fz_require(kept == expect, "compaction lost values: %zu of %zu kept",
               kept, expect);
    free(after.v);
    srd_close(st);
}

/* What left the file is exactly what "<store>.cut-<tail>" holds. */
static void fo_check_cut(const uint8_t *data, size_t size, uint64_t tail)
{
    char name[4300];
    snprintf(name, sizeof name, "%s.cut-%llu", fo_store,
             (unsigned long long)tail);
    size_t n = 0;
    uint8_t *cut = fz_read_file(name, &n);
    fz_require(tail == size ? cut == NULL
                            : cut && n == size - tail &&
                                  memcmp(cut, data + tail, n) == 0,
               "the bytes cut are not what the .cut file holds");
    free(cut);
}

/* The writer agrees with the reader, or refuses when the reader did. */
static void fo_writer(const uint8_t *data, size_t size, srd_err ro_rc,
                      const fo_live *ro)
{
    fz_write_file(fo_store, data, size);
    srd_store *st = NULL;
    srd_err rc = fo_open(0, &st);
    fz_require(fo_known_err(rc), "unknown error %d", (int)rc);
    /* The writer refuses what the reader could not open, and bytes past
     * the tail that are not a torn write (the reader's verify says so). */
    fz_require(ro_rc != SRD_OK || (rc == SRD_ECORRUPT) == ro->broken,
               "writer %s but the reader's verify %s", srd_errname(rc),
               ro->broken ? "names a break" : "found none");
    if (ro_rc == SRD_ECORRUPT || rc == SRD_ECORRUPT) {
        fz_require(rc == ro_rc || ro->broken, "writer %s but reader %s",
                   srd_errname(rc), srd_errname(ro_rc));
        size_t n = 0;
        uint8_t *now = fz_read_file(fo_store, &n);
        fz_require(now && n == size && memcmp(now, data, n) == 0,
                   "a refused file was changed");
        free(now);
        return;
    }
    fz_require(rc == SRD_OK, "writer open: %s (reader: %s)", srd_errname(rc),
               srd_errname(ro_rc));
    fo_live w = fo_collect(st);
    fz_require(fo_same(&w, ro), "writer and reader see different stores");
    srd_info info;
    fz_require(srd_get_info(st, &info) == SRD_OK, "srd_get_info failed");
    fz_require(info.tail == info.file_size, "the writer did not cut");
    size_t n = 0;
    uint8_t *now = fz_read_file(fo_store, &n);
    fz_require(now && n == info.tail && (n == 0 || memcmp(now, data, n) == 0),
               "opening as the writer changed bytes before the tail");
    free(now);
    fo_check_cut(data, size, info.tail);
    fo_append_and_reopen(st, &w);
    free(w.v);
}

/* SRD_OPEN_REPAIR opens anything; the live set is the reader's when the
 * reader could open, else empty. */
static void fo_repair(const uint8_t *data, size_t size, srd_err ro_rc,
                      const fo_live *ro)
{
    fz_write_file(fo_store, data, size);
    srd_store *st = NULL;
    srd_err rc = fo_open(SRD_OPEN_REPAIR, &st);
    fz_require(rc == SRD_OK, "repair open: %s", srd_errname(rc));
    fo_live w = fo_collect(st);
    fo_live none = {NULL, 0, false};
    fz_require(fo_same(&w, ro_rc == SRD_OK ? ro : &none),
               "repair shows a different store than the reader");
    free(w.v);
    srd_close(st);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_path(fo_store, sizeof fo_store, fz_scratch_dir(), "store.srd");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_clear_scratch();
    fz_write_file(fo_store, data, size);
    fo_live ro = {NULL, 0, false};
    srd_err ro_rc = fo_reader(data, size, &ro);
    fo_writer(data, size, ro_rc, &ro);
    fo_repair(data, size, ro_rc, &ro);
    free(ro.v);
    return 0;
}
