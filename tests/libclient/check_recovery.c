/* SPDX-License-Identifier: MIT */
/*
 * check_recovery.c -- tests of libclient/recovery.c and of opening damaged
 * stores: torn tails cut at every byte, garbage of many kinds after a good
 * tail, damage past and below the synced tail the sidecar records
 * (synced.h), files that are not stores (refused, never modified,
 * repairable on request), and srdi_recovery_find_tail / srdi_recovery_walk
 * directly.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "recovery.h"
#include "synced.h"
#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static char *tmp_dir;

static void rec_setup(void)
{
    tmp_dir = tu_tmpdir();
}

static void rec_teardown(void)
{
    tu_rmtree(tmp_dir);
    free(tmp_dir);
}

/* Key/value string pairs for store_with. */
static const char *const key1_valid[] = {"key1", "Valid Entry"};
static const char *const k_payload[] = {"k", "payload"};
static const char *const two_values[] = {"a", "first value", "b",
                                         "second value"};

/* A new store tmp_dir/name holding the n key/value pairs of kv, written
 * and closed; its path (malloc'd). */
static char *store_with(const char *name, const char *const *kv, size_t n)
{
    char *p = tu_join(tmp_dir, name);
    srd_store *st = NULL;
    ck_srd(tu_open(p, SRD_OPEN_CREATE, &st));
    for (size_t i = 0; i < n; i++)
        ck_srd(srd_put(st, tu_s(kv[2 * i]), tu_s(kv[2 * i + 1])));
    ck_srd(srd_close(st));
    return p;
}

/* A store image and its entries, parsed by testutil (not by srd). */
typedef struct image {
    uint8_t *img;
    uint64_t size;
    tu_entry *ents;
    long n;
    long *next; /* next[i]: index of the next entry with the same hash, or n */
    char *first; /* first[i]: entry i is its hash's first occurrence */
} image;

static void image_index(image *g)
{
    g->next = malloc(sizeof(long) * (size_t)(g->n + 1));
    g->first = malloc((size_t)g->n + 1);
    for (long i = 0; i < g->n; i++) {
        g->next[i] = g->n;
        g->first[i] = 1;
    }
    for (long i = 0; i < g->n; i++)
        for (long j = i + 1; j < g->n; j++)
            if (g->ents[j].key_hash == g->ents[i].key_hash) {
                g->next[i] = j;
                g->first[j] = 0;
                break;
            }
}

/* Take ownership of img[0, size) and parse it; the chain must be whole. */
static void image_from(image *g, uint8_t *img, uint64_t size)
{
    g->img = img;
    g->size = size;
    g->n = tu_chain(img, size, &g->ents);
    ck_assert_int_ge(g->n, 0);
    image_index(g);
}

static void image_load(image *g, const char *name)
{
    char *p = tu_golden(name);
    size_t n;
    uint8_t *b = tu_read_file(p, &n);
    tu_require(b != NULL, "read %s", p);
    free(p);
    image_from(g, b, n);
}

static void image_free(image *g)
{
    free(g->img);
    free(g->ents);
    free(g->next);
    free(g->first);
}

/* Entries of g that end at or before len: the valid prefix of a cut. */
static long image_entries_within(const image *g, uint64_t len)
{
    long k = 0;
    while (k < g->n && g->ents[k].end <= len)
        k++;
    return k;
}

static uint64_t image_tail(const image *g, long k)
{
    return k == 0 ? 0 : g->ents[k - 1].end;
}

/*
 * Assert st holds exactly the state of g's first k entries: every hash
 * written in g reads as its newest version among those k (bytes compared
 * with the image), or absent; count, tail and entries agree.
 */
static void assert_state(srd_store *st, const image *g, long k,
                         uint64_t file_size, const char *what)
{
    uint64_t live = 0;
    for (long i = 0; i < g->n; i++) {
        const tu_entry *e = &g->ents[i];
        bool newest = i < k && g->next[i] >= k;
        bool unseen = i >= k && g->first[i];
        if (!newest && !unseen)
            continue;
        srd_view v;
        srd_err rc = srd_get_hash(st, e->key_hash, &v);
        if (newest && !e->tombstone) {
            live++;
            tu_require(rc == SRD_OK, "%s: entry %ld (hash %016llx): %s",
                          what, i, (unsigned long long)e->key_hash,
                          srd_errname(rc));
            tu_require(v.len == e->len && v.offset == e->payload,
                          "%s: entry %ld at %llu+%llu, want %llu+%llu", what,
                          i, (unsigned long long)v.offset,
                          (unsigned long long)v.len,
                          (unsigned long long)e->payload,
                          (unsigned long long)e->len);
            tu_require(memcmp(v.data, g->img + e->payload, e->len) == 0,
                          "%s: entry %ld bytes differ", what, i);
            srd_view_release(&v);
        } else {
            tu_require(rc == SRD_ENOTFOUND,
                          "%s: entry %ld (hash %016llx) should be absent: %s",
                          what, i, (unsigned long long)e->key_hash,
                          srd_errname(rc));
        }
    }
    srd_info in;
    ck_srd(srd_get_info(st, &in));
    tu_require(in.live_keys == live, "%s: live %llu, want %llu", what,
                  (unsigned long long)in.live_keys, (unsigned long long)live);
    tu_require(in.tail == image_tail(g, k), "%s: tail %llu, want %llu",
                  what, (unsigned long long)in.tail,
                  (unsigned long long)image_tail(g, k));
    tu_require(in.entries == (uint64_t)k, "%s: entries %llu, want %ld",
                  what, (unsigned long long)in.entries, k);
    tu_require(in.file_size == file_size, "%s: file_size %llu, want %llu",
                  what, (unsigned long long)in.file_size,
                  (unsigned long long)file_size);
}

/* The file at path holds exactly data[0, len). */
static void assert_file_bytes(const char *path, const void *data, size_t len,
                              const char *what)
{
    size_t n;
    uint8_t *b = tu_read_file(path, &n);
    tu_require(b != NULL, "%s: read %s", what, path);
    tu_require(n == len, "%s: file has %zu bytes, want %zu", what, n, len);
    tu_require(len == 0 || memcmp(b, data, len) == 0,
                  "%s: file bytes changed", what);
    free(b);
}

static char *path_plus(const char *path, const char *suffix)
{
    char *p;
    ck_assert_int_gt(asprintf(&p, "%s%s", path, suffix), 0);
    return p;
}

/* What left the store is exactly what "<path>.cut-<off>" holds: bytes
 * [off, off + len) of the old file (none: no such file). The file is then
 * removed, so that the next cut at off gets the plain name again. */
static void assert_cut_holds(const char *path, uint64_t off,
                             const uint8_t *bytes, size_t len,
                             const char *what)
{
    char *cut = NULL;
    ck_assert_int_gt(asprintf(&cut, "%s.cut-%llu", path,
                              (unsigned long long)off), 0);
    if (len == 0) {
        tu_require(access(cut, F_OK) != 0, "%s: %s made, nothing cut", what,
                   cut);
    } else {
        assert_file_bytes(cut, bytes, len, what);
        ck_assert_int_eq(unlink(cut), 0);
    }
    free(cut);
}

/*
 * Write data to path and open it read-only, then as writer. The file must
 * read as g's first k entries; the reader must leave it unmodified and
 * the writer must cut it to exactly the valid tail.
 */
static void open_both_ways(const char *path, const uint8_t *data,
                           size_t len, const image *g, long k,
                           const char *what)
{
    ck_assert_int_eq(tu_write_file(path, data, len), 0);
    srd_store *st = NULL;
    srd_err rc = tu_open(path, SRD_OPEN_READONLY, &st);
    tu_require(rc == SRD_OK, "%s: read-only open: %s", what,
                  srd_errname(rc));
    assert_state(st, g, k, len, what);
    ck_srd(srd_close(st));
    assert_file_bytes(path, data, len, what);

    uint64_t tail = image_tail(g, k);
    rc = tu_open(path, 0, &st);
    tu_require(rc == SRD_OK, "%s: writer open: %s", what, srd_errname(rc));
    assert_state(st, g, k, tail, what);
    ck_assert_int_eq(tu_file_size(path), (long long)tail);
    ck_srd(srd_close(st));
    assert_file_bytes(path, data, (size_t)tail, what);
    assert_cut_holds(path, tail, data + tail, len - (size_t)tail, what);
}

/* Write data to path: both kinds of open are refused with SRD_ECORRUPT and
 * the file is left byte for byte as it was. */
static void refused_both_ways(const char *path, const uint8_t *data,
                              size_t len, const char *what)
{
    ck_assert_int_eq(tu_write_file(path, data, len), 0);
    const unsigned flags[] = {SRD_OPEN_READONLY, 0, SRD_OPEN_CREATE};
    for (int i = 0; i < 3; i++) {
        srd_store *st = NULL;
        srd_err rc = tu_open(path, flags[i], &st);
        tu_require(rc == SRD_ECORRUPT, "%s: open(flags %u) = %s", what,
                      flags[i], srd_errname(rc));
        assert_file_bytes(path, data, len, what);
        char *cut = path_plus(path, ".cut-0");
        tu_require(access(cut, F_OK) != 0, "%s: %s created", what, cut);
        free(cut);
    }
}

/* g with junk appended: both opens see exactly g, the writer cuts junk. */
static void with_junk(const char *path, const image *g, const uint8_t *junk,
                      size_t jlen, const char *what)
{
    uint8_t *b = malloc(g->size + jlen);
    memcpy(b, g->img, g->size);
    memcpy(b + g->size, junk, jlen);
    open_both_ways(path, b, g->size + jlen, g, g->n, what);
    free(b);
}

static const char *const torn_files[] = {"basic.bin", "batch.bin",
                                         "mixed.bin", "small.bin"};

/* Each of torn_files in turn, loaded, with the path in tmp_dir (named
 * after it) that a test may write:
 *     for (torn t = {0}; torn_next(&t);) ...
 * (no break: torn_next frees the previous file's image and path). */
typedef struct torn {
    size_t f;         /* how many were loaded */
    image g;
    char *p;
    const char *name;
} torn;

static bool torn_next(torn *t)
{
    if (t->f > 0) {
        free(t->p);
        image_free(&t->g);
    }
    if (t->f == sizeof torn_files / sizeof torn_files[0])
        return false;
    t->name = torn_files[t->f++];
    image_load(&t->g, t->name);
    t->p = tu_join(tmp_dir, t->name);
    return true;
}

/* ------------------------------------------------------------------------ */
/* Torn tails                                                                */
/* ------------------------------------------------------------------------ */

/* Cut name at every length from the start of its last `last` entries (0:
 * the whole file) to its end. */
static void cut_everywhere(const char *name, long last)
{
    image g;
    image_load(&g, name);
    char *p = tu_join(tmp_dir, name);
    uint64_t from = last ? g.ents[g.n - last].start : 0;
    for (uint64_t len = from; len <= g.size; len++) {
        char what[96];
        snprintf(what, sizeof what, "%s cut at %llu", name,
                 (unsigned long long)len);
        long k = image_entries_within(&g, len);
        if (k == 0 && len > 0)
            refused_both_ways(p, g.img, (size_t)len, what);
        else
            open_both_ways(p, g.img, (size_t)len, &g, k, what);
    }
    free(p);
    image_free(&g);
}

START_TEST(test_torn_basic_bin_opens_to_last_complete_entry_at_every_cut)
{
    cut_everywhere("basic.bin", 0);
}
END_TEST

START_TEST(test_torn_batch_bin_opens_to_last_complete_entry_at_every_cut)
{
    cut_everywhere("batch.bin", 3);
}
END_TEST

START_TEST(test_torn_mixed_bin_opens_to_last_complete_entry_at_every_cut)
{
    cut_everywhere("mixed.bin", 0);
}
END_TEST

START_TEST(test_torn_small_bin_opens_to_last_complete_entry_at_every_cut)
{
    cut_everywhere("small.bin", 0);
}
END_TEST

START_TEST(test_torn_first_entry_is_refused_not_truncated)
{
    /* A non-empty file whose first entry is incomplete has no valid chain:
     * refused and left alone (SRD_OPEN_REPAIR would cut it). */
    image g;
    image_load(&g, "basic.bin");
    char *p = tu_join(tmp_dir, "first.bin");
    for (uint64_t len = 1; len < g.ents[0].end; len++)
        refused_both_ways(p, g.img, (size_t)len, "torn first entry");
    free(p);
    image_free(&g);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Garbage after a good tail                                                 */
/* ------------------------------------------------------------------------ */

START_TEST(test_random_garbage_tail_is_ignored_and_cut)
{
    uint64_t rs = 0x5eed;
    uint8_t junk[300];
    for (torn t = {0}; torn_next(&t);) {
        for (size_t len = 1; len <= sizeof junk; len++) {
            char what[96];
            snprintf(what, sizeof what, "%s + %zu random bytes",
                     t.name, len);
            tu_fill_random(&rs, junk, len);
            with_junk(t.p, &t.g, junk, len, what);
        }
    }
}
END_TEST

START_TEST(test_zero_tail_never_yields_a_phantom_entry)
{
    uint8_t *zeros = calloc(1, 65536);
    for (torn t = {0}; torn_next(&t);) {
        for (size_t len = 1; len <= 300; len++) {
            char what[96];
            snprintf(what, sizeof what, "%s + %zu zeros", t.name,
                     len);
            with_junk(t.p, &t.g, zeros, len, what);
        }
        with_junk(t.p, &t.g, zeros, 65536, "64 KiB of zeros");
    }
    free(zeros);
}
END_TEST

START_TEST(
    test_reference_defect_phantom_entry_at_offset_0_does_not_lose_the_store)
{
    /* The reference accepted a zero-filled tail as an entry with prev 0
     * and lost every entry before it. A zero trailer (and any trailer
     * with prev 0) spans the whole file: its CRC cannot match. */
    image g;
    image_load(&g, "basic.bin");
    char *p = tu_join(tmp_dir, "phantom.bin");
    uint8_t junk[4096] = {0};
    const size_t lens[] = {20, 21, 40, 64, 1000, 4096};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        with_junk(p, &g, junk, lens[i], "zeros after basic.bin");
    /* A forged trailer pointing at offset 0, with a plausible key hash. */
    uint8_t t[20];
    tu_put_le64(t, srd_key_hash("alpha", 5));
    tu_put_le64(t + 8, 0);
    tu_put_le32(t + 16, 0);
    with_junk(p, &g, t, 20, "forged trailer with prev 0");
    tu_put_le32(t + 16, 0x8b084949u); /* alpha's real CRC */
    with_junk(p, &g, t, 20, "forged trailer with prev 0 and a real CRC");
    /* And the store is fully usable afterwards. */
    srd_store *st = NULL;
    ck_srd(tu_open(p, 0, &st));
    uint64_t c;
    ck_srd(srd_count(st, &c));
    ck_assert_uint_eq(c, 2);
    ck_srd(srd_put(st, tu_s("delta"), tu_s("four")));
    ck_srd(srd_close(st));
    ck_srd(tu_open(p, SRD_OPEN_READONLY, &st));
    ck_srd(srd_count(st, &c));
    ck_assert_uint_eq(c, 3);
    ck_srd(srd_close(st));
    free(p);
    image_free(&g);
}
END_TEST

START_TEST(test_copied_earlier_trailer_tail_is_ignored)
{
    for (torn t = {0}; torn_next(&t);) {
        long step = t.g.n > 50 ? 37 : 1;
        for (long i = 0; i < t.g.n; i += step) {
            char what[96];
            snprintf(what, sizeof what, "%s + trailer of entry %ld",
                     t.name, i);
            with_junk(t.p, &t.g, t.g.img + t.g.ents[i].end - 20, 20, what);
        }
        with_junk(t.p, &t.g, t.g.img + t.g.size - 20, 20,
                  "last trailer again");
    }
}
END_TEST

START_TEST(test_copied_last_entry_tail_is_ignored)
{
    for (torn t = {0}; torn_next(&t);) {
        const tu_entry *e = &t.g.ents[t.g.n - 1];
        with_junk(t.p, &t.g, t.g.img + e->start,
                  (size_t)(e->end - e->start),
                  "raw copy of the last entry");
    }
}
END_TEST

/* Append to g's image a copy of value entry e re-chained at g's end (prev
 * = g->size, fresh pad), with bit `flip` of its payload inverted (-1:
 * none) and its original CRC. Returns the new image (malloc'd). */
static uint8_t *rechain(const image *g, const tu_entry *e, long flip,
                        size_t *out_len)
{
    uint64_t prev = g->size, pad = (64 - prev % 64) & 63;
    size_t len = (size_t)(prev + pad + e->len + 20);
    uint8_t *b = calloc(1, len);
    memcpy(b, g->img, g->size);
    memcpy(b + prev + pad, g->img + e->payload, e->len);
    if (flip >= 0)
        b[prev + pad + (size_t)flip / 8] ^= (uint8_t)(1u << (flip % 8));
    uint8_t *t = b + prev + pad + e->len;
    tu_put_le64(t, e->key_hash);
    tu_put_le64(t + 8, prev);
    tu_put_le32(t + 16, e->crc);
    *out_len = len;
    return b;
}

static const tu_entry *last_value(const image *g)
{
    for (long i = g->n - 1; i >= 0; i--)
        if (!g->ents[i].tombstone)
            return &g->ents[i];
    ck_abort_msg("no value entry");
    return NULL;
}

START_TEST(test_rechained_last_entry_with_flipped_bit_is_ignored)
{
    for (torn t = {0}; torn_next(&t);) {
        const tu_entry *e = last_value(&t.g);
        const long bits[] = {0, 7, (long)e->len * 8 - 1, (long)e->len * 4};
        for (size_t i = 0; i < 4; i++) {
            size_t len;
            uint8_t *b = rechain(&t.g, e, bits[i], &len);
            char what[96];
            snprintf(what, sizeof what, "%s + copy with bit %ld flipped",
                     t.name, bits[i]);
            open_both_ways(t.p, b, len, &t.g, t.g.n, what);
            free(b);
        }
    }
}
END_TEST

START_TEST(test_rechained_last_entry_intact_is_a_new_entry)
{
    /* Control for the tests above: the same entry, unflipped, is a valid
     * entry and becomes the tail. */
    for (torn t = {0}; torn_next(&t);) {
        size_t len;
        uint8_t *b = rechain(&t.g, last_value(&t.g), -1, &len);
        image h;
        image_from(&h, b, len);
        ck_assert_int_eq(h.n, t.g.n + 1);
        open_both_ways(t.p, h.img, len, &h, h.n, "re-chained intact copy");
        image_free(&h);
    }
}
END_TEST

START_TEST(test_corrupt_text_tail_is_ignored_and_cut)
{
    for (torn t = {0}; torn_next(&t);) {
        with_junk(t.p, &t.g, (const uint8_t *)"CORRUPT", 7, "CORRUPT");
    }
}
END_TEST

START_TEST(test_interrupted_write_is_cut_and_store_stays_usable)
{
    /* Port of the reference's test_recovery_from_interrupted_write. */
    char *p = store_with("store.bin", key1_valid, 1);
    srd_store *st = NULL;
    long long good = tu_file_size(p);
    int fd = open(p, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "CORRUPT", 7), 7);
    close(fd);
    ck_srd(tu_open(p, 0, &st));
    ck_assert_int_eq(tu_file_size(p), good);
    char buf[32];
    size_t n;
    ck_srd(srd_get_copy(st, tu_s("key1"), buf, sizeof buf, &n));
    ck_assert_uint_eq(n, 11);
    ck_assert_mem_eq(buf, "Valid Entry", 11);
    ck_srd(srd_put(st, tu_s("key2"), tu_s("New Entry")));
    ck_srd(srd_get_copy(st, tu_s("key2"), buf, sizeof buf, &n));
    ck_assert_mem_eq(buf, "New Entry", 9);
    ck_srd(srd_close(st));
    ck_srd(tu_open(p, SRD_OPEN_READONLY, &st));
    ck_srd(srd_get_copy(st, tu_s("key1"), buf, sizeof buf, &n));
    ck_assert_mem_eq(buf, "Valid Entry", 11);
    ck_srd(srd_get_copy(st, tu_s("key2"), buf, sizeof buf, &n));
    ck_assert_mem_eq(buf, "New Entry", 9);
    ck_srd(srd_close(st));
    free(p);
}
END_TEST

/* Append to g's image n value entries (keys "b0".."b<n-1>", values
 * "batch value <i>") chained one after another; the first one's back
 * pointer is first_prev. Returns the new image (malloc'd). */
static uint8_t *append_batch(const image *g, int n, uint64_t first_prev,
                             size_t *out_len)
{
    uint8_t *b = calloc(1, g->size + (size_t)n * 128);
    memcpy(b, g->img, g->size);
    uint64_t end = g->size;
    for (int i = 0; i < n; i++) {
        char k[16], v[32];
        snprintf(k, sizeof k, "b%d", i);
        int vl = snprintf(v, sizeof v, "batch value %d", i);
        uint64_t prev = end, pay = prev + ((64 - prev % 64) & 63);
        memcpy(b + pay, v, (size_t)vl);
        uint8_t *t = b + pay + (uint64_t)vl;
        tu_put_le64(t, srd_key_hash(k, strlen(k)));
        tu_put_le64(t + 8, i == 0 ? first_prev : prev);
        tu_put_le32(t + 16, (uint32_t)crc32(0, (const Bytef *)v, (uInt)vl));
        end = pay + (uint64_t)vl + 20;
    }
    *out_len = (size_t)end;
    return b;
}

START_TEST(test_batch_with_poisoned_first_prev_is_dropped_whole)
{
    /* A batch is written with its first back pointer UINT64_MAX and fixed
     * afterwards; a crash in between must lose the whole batch, although
     * every entry of it is complete and has a good CRC. */
    for (torn t = {0}; torn_next(&t);) {
        size_t len;
        uint8_t *b = append_batch(&t.g, 3, UINT64_MAX, &len);
        open_both_ways(t.p, b, len, &t.g, t.g.n, "poisoned batch");
        free(b);
        /* Control: the same batch with its back pointer fixed is whole. */
        b = append_batch(&t.g, 3, t.g.size, &len);
        image h;
        image_from(&h, b, len);
        ck_assert_int_eq(h.n, t.g.n + 3);
        open_both_ways(t.p, h.img, len, &h, h.n, "fixed batch");
        image_free(&h);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* CRC damage                                                                */
/* ------------------------------------------------------------------------ */

START_TEST(test_tail_entry_with_bad_crc_is_dropped)
{
    /* small.bin's tail is k2 = 64 x 0x01 at 128; damage it: the store
     * opens to the tombstone before it (k2 = "abc", k1 deleted). */
    image g;
    image_load(&g, "small.bin");
    g.img[128 + 10] ^= 0x40;
    char *p = tu_join(tmp_dir, "small.bin");
    open_both_ways(p, g.img, g.size, &g, g.n - 1, "small.bin, bad tail CRC");
    srd_store *st = NULL;
    ck_srd(tu_open(p, SRD_OPEN_READONLY, &st));
    char buf[8];
    size_t n;
    ck_srd(srd_get_copy(st, tu_s("k2"), buf, sizeof buf, &n));
    ck_assert_uint_eq(n, 3);
    ck_assert_mem_eq(buf, "abc", 3);
    ck_srd(srd_close(st));
    free(p);
    image_free(&g);
}
END_TEST

START_TEST(test_single_entry_store_with_bad_crc_is_refused)
{
    /* Departure from the reference (which opened it): the only entry's
     * CRC does not match, so there is no valid chain. */
    char *p = store_with("one.bin", k_payload, 1);
    size_t n;
    uint8_t *b = tu_read_file(p, &n);
    b[0] ^= 0xff;
    refused_both_ways(p, b, n, "one entry, bad CRC");
    free(b);
    free(p);
}
END_TEST

START_TEST(test_bad_crc_in_older_entry_is_reported_not_dropped)
{
    /* The design's version of test_entry_checksum_validation: corrupt the
     * first of two entries; the store opens, the bytes still read, meta
     * and verify report the damage. */
    char *p = tu_join(tmp_dir, "two.bin");
    srd_store *st = NULL;
    ck_srd(tu_open(p, SRD_OPEN_CREATE, &st));
    ck_srd(srd_put(st, tu_s("first"), tu_s("Hello, world!")));
    ck_srd(srd_put(st, tu_s("second"), tu_s("intact")));
    srd_entry_meta m;
    ck_srd(srd_meta(st, tu_s("first"), &m));
    ck_assert(m.checksum_valid);
    uint64_t off = m.payload_offset;
    ck_srd(srd_close(st));
    size_t n;
    uint8_t *b = tu_read_file(p, &n);
    b[off] ^= 0xff;
    ck_assert_int_eq(tu_write_file(p, b, n), 0);

    for (int ro = 0; ro < 2; ro++) {
        ck_srd(tu_open(p, ro ? SRD_OPEN_READONLY : 0, &st));
        srd_view v;
        ck_srd(srd_get(st, tu_s("first"), &v));
        ck_assert_uint_eq(v.len, 13);
        ck_assert_uint_eq(v.data[0], (uint8_t)('H' ^ 0xff));
        ck_assert_mem_eq(v.data + 1, "ello, world!", 12);
        srd_view_release(&v);
        ck_srd(srd_meta(st, tu_s("first"), &m));
        ck_assert(!m.checksum_valid);
        ck_srd(srd_meta(st, tu_s("second"), &m));
        ck_assert(m.checksum_valid);
        srd_verify_report r;
        ck_assert_int_eq(srd_verify(st, &r, NULL, NULL), SRD_ECHECKSUM);
        ck_assert_uint_eq(r.bad_entries, 1);
        ck_assert_uint_eq(r.entries, 2);
        ck_assert_uint_eq(r.first_bad_offset, off);
        uint64_t c;
        ck_srd(srd_count(st, &c));
        ck_assert_uint_eq(c, 2);
        ck_srd(srd_close(st));
        assert_file_bytes(p, b, n, "older entry damaged");
    }
    free(b);
    free(p);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The synced-tail sidecar                                                   */
/* ------------------------------------------------------------------------ */

/* Three values a, b, c (b and c multi-page, like a group commit's). */
static const char *const sy_keys[3] = {"a", "b", "c"};
static const size_t sy_lens[3] = {100, 9000, 7000};

static srd_val sy_val(int i)
{
    static uint8_t bytes[3][9000];
    for (size_t j = 0; j < sy_lens[i]; j++)
        bytes[i][j] = (uint8_t)(1 + (j * 7 + (size_t)i * 31) % 250);
    return (srd_val){bytes[i], sy_lens[i]};
}

static srd_store *sy_open(const char *path, unsigned flags, srd_sync_mode m)
{
    srd_options o;
    srd_options_init(&o);
    o.flags = flags;
    o.sync = m;
    srd_store *st = NULL;
    srd_err rc = srd_open(path, &o, &st);
    ck_assert_msg(rc == SRD_OK, "open %s: %s", path, srd_errname(rc));
    return st;
}

/* Puts values first..n-1 in mode m and closes. */
static void sy_put(const char *path, srd_sync_mode m, int first, int n)
{
    srd_store *st = sy_open(path, SRD_OPEN_CREATE, m);
    for (int i = first; i < n; i++)
        ck_srd(srd_put(st, tu_s(sy_keys[i]), sy_val(i)));
    ck_srd(srd_close(st));
}

/* A store tmp_dir/name holding a, b and c, put in mode m; its path
 * (malloc'd). */
static char *sy_store(const char *name, srd_sync_mode m)
{
    char *p = tu_join(tmp_dir, name);
    sy_put(p, m, 0, 3);
    return p;
}

static uint64_t sy_payload(const char *path, int i)
{
    srd_store *st = sy_open(path, SRD_OPEN_READONLY, SRD_SYNC_NEVER);
    srd_entry_meta m;
    ck_srd(srd_meta(st, tu_s(sy_keys[i]), &m));
    ck_srd(srd_close(st));
    return m.payload_offset;
}

/* Damage one byte of value i's payload, in place. */
static void sy_flip(const char *path, int i)
{
    uint64_t off = sy_payload(path, i) + 5000 % sy_lens[i];
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t b;
    ck_assert_int_eq(pread(fd, &b, 1, (off_t)off), 1);
    b ^= 0x5A;
    ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)off), 1);
    close(fd);
}

static bool sy_record(const char *path, srdi_synced *rec)
{
    return srdi_synced_read(path, rec);
}

static void sy_write_record(const char *path, const srdi_synced *rec)
{
    uint8_t buf[SRDI_SYNCED_SIZE];
    srdi_synced_encode(buf, rec);
    char *side = srdi_synced_path(path);
    ck_assert_int_eq(tu_write_file(side, buf, sizeof buf), 0);
    free(side);
}

/* The machine went down: the record's written tail is of another boot. */
static void sy_reboot(const char *path)
{
    srdi_synced rec;
    ck_assert(sy_record(path, &rec));
    memset(rec.boot, 0, sizeof rec.boot);
    sy_write_record(path, &rec);
}

/* Which of a, b, c a store holds (bit i: value i, intact or not). */
static unsigned sy_held(srd_store *st)
{
    unsigned held = 0;
    for (int i = 0; i < 3; i++) {
        srd_view v;
        srd_err rc = srd_get(st, tu_s(sy_keys[i]), &v);
        ck_assert(rc == SRD_OK || rc == SRD_ENOTFOUND);
        if (rc == SRD_OK) {
            ck_assert_uint_eq(v.len, sy_lens[i]);
            srd_view_release(&v);
            held |= 1u << i;
        }
    }
    return held;
}

/* Opens read-only (file and sidecar untouched), then as the writer: both
 * see `held`; the writer's verify says whether damage was kept. */
static void sy_expect(const char *path, unsigned held, bool damage_kept,
                      const char *what)
{
    size_t n0, s0 = 0, n1, s1 = 0;
    char *side = srdi_synced_path(path);
    uint8_t *f0 = tu_read_file(path, &n0), *r0 = tu_read_file(side, &s0);
    srd_store *st = sy_open(path, SRD_OPEN_READONLY, SRD_SYNC_NEVER);
    tu_require(sy_held(st) == held, "%s: read-only open holds %#x, want %#x",
               what, sy_held(st), held);
    ck_srd(srd_close(st));
    uint8_t *f1 = tu_read_file(path, &n1), *r1 = tu_read_file(side, &s1);
    tu_require(n0 == n1 && memcmp(f0, f1, n0) == 0,
               "%s: a read-only open changed the store", what);
    tu_require((r0 == NULL) == (r1 == NULL) && s0 == s1 &&
                   (r0 == NULL || memcmp(r0, r1, s0) == 0),
               "%s: a read-only open changed the sidecar", what);
    free(f0);
    free(f1);
    free(r0);
    free(r1);
    free(side);

    st = sy_open(path, 0, SRD_SYNC_ALWAYS);
    tu_require(sy_held(st) == held, "%s: writer holds %#x, want %#x", what,
               sy_held(st), held);
    srd_verify_report r;
    srd_err rc = srd_verify(st, &r, NULL, NULL);
    tu_require(rc == (damage_kept ? SRD_ECHECKSUM : SRD_OK),
               "%s: verify: %s", what, srd_errname(rc));
    uint64_t tail;
    ck_srd(srd_tail(st, &tail));
    ck_assert_int_eq(tu_file_size(path), (long long)tail);
    ck_srd(srd_close(st));
}

/* Power loss during a group commit: b (unsynced) lost a page while c
 * persisted. Everything from b on was never acknowledged in
 * SRD_SYNC_ALWAYS: it is cut, and kept in "<path>.cut-<b's start>". */
START_TEST(test_torn_entry_past_the_synced_tail_is_cut)
{
    char *p = tu_join(tmp_dir, "torn-past.srd");
    sy_put(p, SRD_SYNC_ALWAYS, 0, 1);
    srdi_synced rec;
    ck_assert(sy_record(p, &rec));
    uint64_t a_end = rec.synced;
    ck_assert_int_eq(a_end, tu_file_size(p));
    sy_put(p, SRD_SYNC_NEVER, 1, 3); /* b and c: written, never synced */
    ck_assert(sy_record(p, &rec));
    ck_assert_uint_eq(rec.synced, a_end);
    ck_assert_int_eq(rec.written, tu_file_size(p));
    sy_reboot(p);
    long long size = tu_file_size(p);
    sy_flip(p, 1);
    size_t n;
    uint8_t *before = tu_read_file(p, &n);

    sy_expect(p, 1u, false, "b torn past the synced tail");
    ck_assert_int_eq(tu_file_size(p), (long long)a_end);
    char *cut = NULL;
    ck_assert_int_gt(asprintf(&cut, "%s.cut-%llu", p,
                              (unsigned long long)a_end), 0);
    assert_file_bytes(cut, before + a_end, (size_t)(size - (long long)a_end),
                      "the cut bytes are kept");
    ck_assert(sy_record(p, &rec));
    ck_assert_uint_eq(rec.synced, a_end);
    free(cut);
    free(before);
    free(p);
}
END_TEST

/* The same damage below the synced tail is bit rot, not a torn write:
 * kept, readable, reported by verify (as for an older entry today). */
START_TEST(test_damage_below_the_synced_tail_is_kept_and_reported)
{
    char *p = sy_store("below.srd", SRD_SYNC_ALWAYS);
    srdi_synced rec;
    ck_assert(sy_record(p, &rec));
    ck_assert_int_eq(rec.synced, tu_file_size(p));
    sy_reboot(p);
    sy_flip(p, 1);
    sy_expect(p, 7u, true, "b damaged below the synced tail");
    free(p);
}
END_TEST

/* srd_close in SRD_SYNC_NEVER records its tail as written in this boot:
 * damage below it is kept while the machine stays up, and treated as a
 * torn write after a reboot (nothing was synced). */
START_TEST(test_written_tail_is_trusted_only_in_its_boot)
{
    char *p = sy_store("boot.srd", SRD_SYNC_NEVER);
    srdi_synced rec;
    ck_assert(sy_record(p, &rec));
    ck_assert_uint_eq(rec.synced, 0);
    ck_assert_int_eq(rec.written, tu_file_size(p));
    sy_flip(p, 1);
    sy_expect(p, 7u, true, "same boot");
    sy_reboot(p);
    /* The writer open above synced (SRD_SYNC_ALWAYS): now b is below the
     * synced tail, kept whatever the boot. */
    sy_expect(p, 7u, true, "synced since");
    free(p);

    p = sy_store("boot2.srd", SRD_SYNC_NEVER);
    sy_reboot(p);
    sy_flip(p, 1);
    sy_expect(p, 1u, false, "another boot");
    free(p);
}
END_TEST

/* Without a record that applies to the file (a missing, damaged or
 * foreign sidecar, or one naming an entry the file does not have there),
 * nothing tells a lost write from bit rot: every entry is checked, a bad
 * one is kept and reported (verify), never cut (issue 12: a copied store
 * lost half its entries this way). The writer then records the tail. */
/* Checked in full (no sidecar), a store whose first entry is damaged
 * keeps it: both entries read, verify names the damaged one, the file is
 * not changed. With the sidecar, the first entry past a synced tail of 0
 * that fails its CRC leaves no good prefix: the writer refuses the store
 * unmodified (it does not cut it to nothing) and SRD_OPEN_REPAIR saves it
 * whole to "<path>.cut-0" and opens it empty. */
START_TEST(test_damaged_first_entry_past_the_synced_tail_is_refused_not_cut)
{
    char *p = store_with("first.srd", two_values, 2);
    srd_store *st;
    char *side = path_plus(p, ".synced");
    unlink(side);
    size_t len = 0;
    uint8_t *b = tu_read_file(p, &len);
    ck_assert_ptr_nonnull(b);
    b[0] ^= 0x01; /* the first payload starts at 0 */
    ck_assert_int_eq(tu_write_file(p, b, len), 0);
    ck_srd(tu_open(p, 0, &st));
    uint64_t n;
    ck_srd(srd_count(st, &n));
    ck_assert_uint_eq(n, 2);
    srd_verify_report r;
    ck_assert_int_eq(srd_verify(st, &r, NULL, NULL), SRD_ECHECKSUM);
    ck_assert_uint_eq(r.first_bad_offset, 0);
    ck_srd(srd_close(st));
    assert_file_bytes(p, b, len, "kept store");

    /* A record that says nothing was synced: past it, a torn first entry */
    srdi_synced rec;
    ck_assert(sy_record(p, &rec));
    rec.synced = rec.written = 0;
    memset(rec.synced_trailer, 0, sizeof rec.synced_trailer);
    memset(rec.written_trailer, 0, sizeof rec.written_trailer);
    sy_write_record(p, &rec);
    ck_assert_int_eq(tu_write_file(p, b, len), 0);
    ck_assert_int_eq(tu_open(p, 0, &st), SRD_ECORRUPT);
    assert_file_bytes(p, b, len, "refused store");
    ck_srd(tu_open(p, SRD_OPEN_REPAIR, &st));
    ck_srd(srd_count(st, &n));
    ck_assert_uint_eq(n, 0);
    ck_srd(srd_close(st));
    char *cut = path_plus(p, ".cut-0");
    assert_file_bytes(cut, b, len, "saved store");
    free(cut);
    free(b);
    free(side);
    free(p);
}
END_TEST

/* A new store's first batch, as kill -9 left it (check_crash, round 0):
 * data, with the record of the writer that created the store (side, for
 * this file, vouching for nothing) put back. Nothing of it was
 * acknowledged: a reader reads nothing and changes nothing, the writer
 * saves all of it to "<p>.cut-0", opens the store empty, and it works. */
static void first_write_torn(const char *p, const uint8_t *side, size_t slen,
                             const uint8_t *data, size_t len,
                             const char *what)
{
    char *sp = srdi_synced_path(p);
    ck_assert_int_eq(tu_write_file(p, data, len), 0);
    ck_assert_int_eq(tu_write_file(sp, side, slen), 0);
    free(sp);
    const unsigned flags[] = {SRD_OPEN_READONLY, 0};
    for (int i = 0; i < 2; i++) {
        srd_store *st = NULL;
        srd_err rc = tu_open(p, flags[i], &st);
        tu_require(rc == SRD_OK, "%s: open(flags %u): %s", what, flags[i],
                   srd_errname(rc));
        uint64_t n = 1, t = 1;
        ck_srd(srd_count(st, &n));
        ck_srd(srd_tail(st, &t));
        tu_require(n == 0 && t == 0, "%s: %llu entries, tail %llu", what,
                   (unsigned long long)n, (unsigned long long)t);
        if (i == 0) {
            ck_srd(srd_close(st));
            assert_file_bytes(p, data, len, what);
            continue;
        }
        ck_assert_int_eq(tu_file_size(p), 0);
        ck_srd(srd_put(st, tu_s("fresh"), tu_s("start")));
        ck_srd(srd_close(st));
    }
    assert_cut_holds(p, 0, data, len, what);
}

/* kill -9 during a new store's first batch leaves no valid chain (its
 * first back pointer is still poisoned), yet the store must open: it
 * refused with SRD_ECORRUPT, and check_crash failed in round 0 under load.
 * Cut anywhere past its first intact entry, or whole, it opens empty.
 * Bytes that hold no intact entry (the poisoned first one alone, a torn
 * first put, text, zeros) are no sign of a store and stay refused with the
 * record too, as without it
 * (test_torn_first_entry_is_refused_not_truncated); so are intact entries
 * that follow a break: that is no torn write. */
START_TEST(test_torn_first_batch_of_a_new_store_is_cut_to_empty)
{
    char *p = tu_join(tmp_dir, "new.srd");
    srd_store *st = sy_open(p, SRD_OPEN_CREATE, SRD_SYNC_ALWAYS);
    ck_srd(srd_close(st));
    char *sp = srdi_synced_path(p);
    size_t slen = 0, n;
    uint8_t *side = tu_read_file(sp, &slen);
    ck_assert_ptr_nonnull(side);
    srdi_synced rec;
    ck_assert(sy_record(p, &rec));
    ck_assert_uint_eq(rec.synced, 0);

    image none = {.img = (uint8_t *)"", .size = 0};
    uint8_t *b = append_batch(&none, 3, UINT64_MAX, &n);
    /* its second entry, the first intact one, ends at 64 + 13 + 20 */
    const size_t intact_end = 64 + strlen("batch value 1") + 20;
    for (size_t len = intact_end; len <= n; len++) {
        char what[64];
        snprintf(what, sizeof what, "first batch cut at %zu of %zu", len, n);
        first_write_torn(p, side, slen, b, len, what);
    }
    for (size_t len = 1; len < intact_end; len++) {
        ck_assert_int_eq(tu_write_file(sp, side, slen), 0);
        refused_both_ways(p, b, len, "no intact entry, record applies");
    }
    free(b);

    /* a first back pointer that is no poison: the intact entries above it
     * are damage */
    b = append_batch(&none, 3, 0x0505, &n);
    ck_assert_int_eq(tu_write_file(sp, side, slen), 0);
    refused_both_ways(p, b, n, "broken first batch, record applies");
    free(b);
    free(side);
    free(sp);
    free(p);
}
END_TEST

START_TEST(test_missing_or_foreign_sidecar_checks_every_entry)
{
    static const char *const how[] = {
        "missing", "damaged record", "another file's record",
        "tail past the end of the file", "other trailer at the tail",
        "a stray file"};
    for (int i = 0; i < 6; i++) {
        char *p = tu_join(tmp_dir, "nosidecar.srd");
        char *side = srdi_synced_path(p);
        tu_rmtree(p);
        unlink(side);
        sy_put(p, SRD_SYNC_ALWAYS, 0, 3);
        srdi_synced rec;
        ck_assert(sy_record(p, &rec));
        uint64_t a_end = sy_payload(p, 0) + sy_lens[0] + 20;
        uint8_t junk[SRDI_SYNCED_SIZE];
        size_t n;
        uint8_t *raw = tu_read_file(side, &n);
        ck_assert_uint_eq(n, SRDI_SYNCED_SIZE);
        switch (i) {
        case 0:
            ck_assert_int_eq(unlink(side), 0);
            break;
        case 1:
            raw[40] ^= 1;
            ck_assert_int_eq(tu_write_file(side, raw, n), 0);
            break;
        case 2:
            rec.ino += 1;
            sy_write_record(p, &rec);
            break;
        case 3:
            rec.synced = rec.written = (uint64_t)tu_file_size(p) + 64;
            sy_write_record(p, &rec);
            break;
        case 4:
            rec.synced_trailer[0] ^= 1;
            rec.written_trailer[0] ^= 1;
            sy_write_record(p, &rec);
            break;
        default:
            memset(junk, 'x', sizeof junk);
            ck_assert_int_eq(tu_write_file(side, junk, sizeof junk), 0);
        }
        free(raw);
        long long size = tu_file_size(p);
        sy_flip(p, 1);
        sy_expect(p, 7u, true, how[i]);
        ck_assert_int_eq(tu_file_size(p), size);
        ck_assert(sy_record(p, &rec));
        ck_assert_int_eq(rec.synced, size);
        ck_assert_uint_lt(a_end, rec.synced);
        free(side);
        free(p);
    }
}
END_TEST

/* A copy of a store with its sidecar is another file: the record names the
 * original's inode, so the copy is checked in full, and its damage kept. */
START_TEST(test_copied_store_is_checked_in_full)
{
    char *p = tu_join(tmp_dir, "orig.srd"), *q = tu_join(tmp_dir, "copy.srd");
    sy_put(p, SRD_SYNC_ALWAYS, 0, 3);
    char *ps = srdi_synced_path(p), *qs = srdi_synced_path(q);
    ck_assert_int_eq(tu_copy_file(p, q), 0);
    ck_assert_int_eq(tu_copy_file(ps, qs), 0);
    sy_flip(q, 1);
    sy_expect(q, 7u, true, "copy");
    sy_flip(p, 1);
    sy_expect(p, 7u, true, "original");
    free(ps);
    free(qs);
    free(p);
    free(q);
}
END_TEST

/* Read-only opens never create, fix or update the sidecar. */
START_TEST(test_read_only_open_never_writes_the_sidecar)
{
    char *p = tu_join(tmp_dir, "ro.srd");
    char *side = srdi_synced_path(p);
    sy_put(p, SRD_SYNC_NEVER, 0, 3);
    ck_assert_int_eq(unlink(side), 0);
    srd_store *st = sy_open(p, SRD_OPEN_READONLY, SRD_SYNC_ALWAYS);
    ck_assert_uint_eq(sy_held(st), 7u);
    ck_srd(srd_close(st));
    struct stat sb;
    ck_assert_int_ne(stat(side, &sb), 0);
    ck_assert_int_eq(errno, ENOENT);
    /* and with a stale record, damage to check and a torn tail: read
     * around, nothing written (sy_expect compares both files) */
    sy_put(p, SRD_SYNC_NEVER, 2, 3);
    sy_reboot(p);
    int fd = open(p, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "torn", 4), 4);
    close(fd);
    sy_expect(p, 7u, false, "stale record, torn tail");
    free(side);
    free(p);
}
END_TEST

/* Compaction records its new file (fsynced before the rename). */
START_TEST(test_compaction_records_the_new_file)
{
    char *p = tu_join(tmp_dir, "compact.srd");
    srd_store *st = sy_open(p, SRD_OPEN_CREATE, SRD_SYNC_NEVER);
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < 3; i++)
            ck_srd(srd_put(st, tu_s(sy_keys[i]), sy_val(i)));
    struct stat before, after;
    ck_assert_int_eq(stat(p, &before), 0);
    ck_srd(srd_compact(st, NULL));
    ck_assert_int_eq(stat(p, &after), 0);
    ck_assert_uint_ne(before.st_ino, after.st_ino);
    srdi_synced rec;
    ck_assert(sy_record(p, &rec));
    ck_assert_uint_eq(rec.ino, (uint64_t)after.st_ino);
    ck_assert_uint_eq(rec.dev, (uint64_t)after.st_dev);
    ck_assert_int_eq(rec.synced, after.st_size);
    size_t n;
    uint8_t *b = tu_read_file(p, &n);
    ck_assert_mem_eq(rec.synced_trailer, b + n - 20, 20);
    free(b);
    ck_srd(srd_close(st));
    sy_reboot(p);
    sy_flip(p, 1); /* below the synced tail of the new file */
    sy_expect(p, 7u, true, "compacted");
    free(p);
}
END_TEST

/* srdi_recovery_check directly: it stops at the trusted end when the
 * trailer there matches, and reports the oldest bad entry's start. */
START_TEST(test_check_stops_at_the_trusted_end_and_finds_the_oldest_bad)
{
    char *p = sy_store("direct.srd", SRD_SYNC_ALWAYS);
    size_t n;
    uint8_t *b = tu_read_file(p, &n);
    uint64_t a_end = sy_payload(p, 0) + sy_lens[0] + 20;
    uint64_t b_end = sy_payload(p, 1) + sy_lens[1] + 20;
    sy_flip(p, 1);
    sy_flip(p, 2);
    int fd = open(p, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    uint64_t good;
    bool ok;
    /* c is the tail: its CRC is the tail search's business, not checked */
    ck_srd(srdi_recovery_check(fd, n, n, b + n - 20, &good, &ok));
    ck_assert(ok);
    ck_assert_uint_eq(good, n);
    ck_srd(srdi_recovery_check(fd, n, a_end, b + a_end - 20, &good, &ok));
    ck_assert(ok);
    ck_assert_uint_eq(good, a_end);
    ck_srd(srdi_recovery_check(fd, b_end, 0, NULL, &good, &ok));
    ck_assert(!ok);
    ck_assert_uint_eq(good, b_end); /* b is the tail here */
    uint8_t other[20] = {1};
    ck_srd(srdi_recovery_check(fd, n, a_end, other, &good, &ok));
    ck_assert(!ok);
    ck_assert_uint_eq(good, a_end);
    ck_srd(srdi_recovery_check(fd, n, a_end + 1, b + a_end - 20, &good, &ok));
    ck_assert(!ok); /* not an entry end of the chain: all checked */
    close(fd);
    free(b);
    free(p);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Files that are not stores                                                 */
/* ------------------------------------------------------------------------ */

/* Non-stores: refused both ways, never modified; SRD_OPEN_REPAIR opens
 * them empty and keeps their bytes in "<path>.cut-0". */
static void not_a_store(const uint8_t *data, size_t len, const char *what)
{
    char *p = tu_join(tmp_dir, "notastore.bin");
    refused_both_ways(p, data, len, what);

    srd_store *st = NULL;
    srd_err rc = tu_open(p, SRD_OPEN_REPAIR, &st);
    ck_assert_msg(rc == SRD_OK, "%s: repair open: %s", what, srd_errname(rc));
    uint64_t c = 99, t = 99;
    ck_srd(srd_count(st, &c));
    ck_srd(srd_tail(st, &t));
    ck_assert_uint_eq(c, 0);
    ck_assert_uint_eq(t, 0);
    ck_assert_int_eq(tu_file_size(p), 0);
    char *cut = path_plus(p, ".cut-0");
    assert_file_bytes(cut, data, len, what);
    ck_srd(srd_put(st, tu_s("fresh"), tu_s("start")));
    ck_srd(srd_close(st));
    ck_srd(tu_open(p, SRD_OPEN_READONLY, &st));
    ck_srd(srd_count(st, &c));
    ck_assert_uint_eq(c, 1);
    ck_srd(srd_close(st));
    assert_file_bytes(cut, data, len, what);
    unlink(cut);
    free(cut);
    unlink(p);
    free(p);
}

START_TEST(test_text_file_is_refused_unmodified_and_repairable)
{
    char text[2000] = "";
    while (strlen(text) + 40 < sizeof text)
        strcat(text, "This is not a store, just some text.\n");
    not_a_store((const uint8_t *)text, strlen(text), "text");
}
END_TEST

START_TEST(test_zero_file_is_refused_unmodified_and_repairable)
{
    uint8_t *z = calloc(1, 4096);
    not_a_store(z, 4096, "4 KiB of zeros");
    not_a_store(z, 21, "21 zeros");
    free(z);
}
END_TEST

START_TEST(test_random_file_is_refused_unmodified_and_repairable)
{
    uint64_t rs = 99;
    uint8_t b[4096];
    tu_fill_random(&rs, b, sizeof b);
    not_a_store(b, sizeof b, "4 KiB random");
    not_a_store(b, 5, "5 random bytes");
    not_a_store(b, 20, "20 random bytes");
}
END_TEST

START_TEST(test_single_trailer_with_bad_crc_is_refused_unmodified)
{
    uint8_t b[21];
    b[0] = 'x';
    tu_put_le64(b + 1, srd_key_hash("k", 1));
    tu_put_le64(b + 9, 0);
    tu_put_le32(b + 17, (uint32_t)crc32(0, (const Bytef *)"x", 1) ^ 1u);
    not_a_store(b, sizeof b, "one-byte entry, bad CRC");
    /* The same entry with the right CRC is a store: the control. */
    tu_put_le32(b + 17, (uint32_t)crc32(0, (const Bytef *)"x", 1));
    char *p = tu_join(tmp_dir, "good.bin");
    ck_assert_int_eq(tu_write_file(p, b, sizeof b), 0);
    srd_store *st = NULL;
    ck_srd(tu_open(p, SRD_OPEN_READONLY, &st));
    char v[4];
    size_t n;
    ck_srd(srd_get_copy(st, tu_s("k"), v, sizeof v, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(v[0], 'x');
    ck_srd(srd_close(st));
    free(p);
}
END_TEST

START_TEST(test_reference_defect_not_a_store_is_never_truncated)
{
    /* The reference truncated any file it could not parse to 0 bytes. */
    const char *msg = "important notes, not a store\n";
    char *p = tu_join(tmp_dir, "notes.txt");
    refused_both_ways(p, (const uint8_t *)msg, strlen(msg), "notes");
    ck_assert_int_eq(tu_file_size(p), (long long)strlen(msg));
    free(p);
}
END_TEST

START_TEST(test_empty_file_is_an_empty_store)
{
    char *p = tu_join(tmp_dir, "empty.bin");
    ck_assert_int_eq(tu_write_file(p, "", 0), 0);
    for (int ro = 1; ro >= 0; ro--) {
        srd_store *st = NULL;
        ck_srd(tu_open(p, ro ? SRD_OPEN_READONLY : 0, &st));
        uint64_t c = 9, t = 9;
        ck_srd(srd_count(st, &c));
        ck_srd(srd_tail(st, &t));
        ck_assert_uint_eq(c, 0);
        ck_assert_uint_eq(t, 0);
        ck_srd(srd_close(st));
        ck_assert_int_eq(tu_file_size(p), 0);
    }
    free(p);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* A large store with a zero tail                                            */
/* ------------------------------------------------------------------------ */

START_TEST(test_64_mib_store_with_1_mib_zero_tail_opens)
{
    enum { N = 64, VLEN = 1 << 20 };
    char *p = tu_join(tmp_dir, "big.bin");
    srd_store *st = NULL;
    ck_srd(tu_open(p, SRD_OPEN_CREATE, &st));
    uint8_t *v = malloc(VLEN);
    for (int i = 0; i < N; i++) {
        memset(v, i + 1, VLEN);
        v[0] = (uint8_t)i;
        char k[16];
        snprintf(k, sizeof k, "blob%02d", i);
        srd_val val = {v, VLEN};
        ck_srd(srd_put(st, tu_s(k), val));
    }
    uint64_t tail;
    ck_srd(srd_tail(st, &tail));
    ck_srd(srd_close(st));
    ck_assert_uint_ge(tail, (uint64_t)N * VLEN);
    uint8_t *z = calloc(1, 1 << 20);
    int fd = open(p, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, z, 1 << 20), 1 << 20);
    close(fd);
    free(z);

    for (int ro = 1; ro >= 0; ro--) {
        ck_srd(tu_open(p, ro ? SRD_OPEN_READONLY : 0, &st));
        uint64_t c, t;
        ck_srd(srd_count(st, &c));
        ck_srd(srd_tail(st, &t));
        ck_assert_uint_eq(c, N);
        ck_assert_uint_eq(t, tail);
        const int check[] = {0, 31, N - 1};
        for (int i = 0; i < 3; i++) {
            char k[16];
            snprintf(k, sizeof k, "blob%02d", check[i]);
            srd_view view;
            ck_srd(srd_get(st, tu_s(k), &view));
            ck_assert_uint_eq(view.len, VLEN);
            ck_assert_uint_eq(view.data[0], (uint8_t)check[i]);
            ck_assert_uint_eq(view.data[VLEN - 1], (uint8_t)(check[i] + 1));
            srd_view_release(&view);
        }
        ck_srd(srd_close(st));
        ck_assert_int_eq(tu_file_size(p),
                         (long long)(ro ? tail + (1 << 20) : tail));
    }
    free(v);
    free(p);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* srdi_recovery_find_tail and srdi_recovery_walk                            */
/* ------------------------------------------------------------------------ */

/* Write image bytes to a file and return an fd open read-only on it. */
static int image_fd(const uint8_t *img, size_t len)
{
    char *p = tu_join(tmp_dir, "direct.bin");
    ck_assert_int_eq(tu_write_file(p, img, len), 0);
    int fd = open(p, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    free(p);
    return fd;
}

START_TEST(test_find_tail_finds_end_of_whole_golden_files)
{
    const char *files[] = {"basic.bin", "batch.bin", "mixed.bin",
                           "small.bin", "stream.bin", "compacted.bin",
                           "small-torn.bin"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char *path = tu_golden(files[f]);
        size_t n;
        uint8_t *b = tu_read_file(path, &n);
        ck_assert_ptr_nonnull(b);
        int fd = image_fd(b, n);
        uint64_t tail = 1;
        ck_srd(srdi_recovery_find_tail(fd, 0, n, &tail));
        uint64_t want = strcmp(files[f], "small-torn.bin") == 0 ? 212 : n;
        ck_assert_msg(tail == want, "%s: tail %llu, want %llu", files[f],
                      (unsigned long long)tail, (unsigned long long)want);
        close(fd);
        free(b);
        free(path);
    }
}
END_TEST

START_TEST(test_find_tail_within_size_limit_finds_last_complete_entry)
{
    image g;
    image_load(&g, "basic.bin");
    int fd = image_fd(g.img, g.size);
    for (uint64_t len = 0; len <= g.size; len++) {
        uint64_t tail = 12345;
        ck_srd(srdi_recovery_find_tail(fd, 0, len, &tail));
        uint64_t want = image_tail(&g, image_entries_within(&g, len));
        ck_assert_msg(tail == want, "size %llu: tail %llu, want %llu",
                      (unsigned long long)len, (unsigned long long)tail,
                      (unsigned long long)want);
    }
    close(fd);
    image_free(&g);
}
END_TEST

START_TEST(test_find_tail_from_a_base_entry_end)
{
    image g;
    image_load(&g, "basic.bin");
    int fd = image_fd(g.img, g.size);
    for (long i = 0; i < g.n; i++) {
        uint64_t base = g.ents[i].end, tail = 0;
        ck_srd(srdi_recovery_find_tail(fd, base, g.size, &tail));
        ck_assert_uint_eq(tail, g.size);
        /* Nothing past base: tail == base. */
        ck_srd(srdi_recovery_find_tail(fd, base, base, &tail));
        ck_assert_uint_eq(tail, base);
        /* Torn after base: the last complete entry, or base itself. */
        if (i + 1 < g.n) {
            uint64_t cut = g.ents[i + 1].end - 1;
            ck_srd(srdi_recovery_find_tail(fd, base, cut, &tail));
            ck_assert_uint_eq(tail, base);
        }
    }
    close(fd);
    image_free(&g);
}
END_TEST

START_TEST(test_find_tail_from_unreachable_base_finds_nothing)
{
    /* No chain reaches a base that is not an entry end: the search finds
     * nothing past it, and says so with tail == base (the caller decides
     * whether that is corruption; srd_open refuses such a file). */
    image g;
    image_load(&g, "basic.bin");
    int fd = image_fd(g.img, g.size);
    const uint64_t bases[] = {1, 24, 100, 1150};
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        uint64_t tail = 0;
        ck_srd(srdi_recovery_find_tail(fd, bases[i], g.size, &tail));
        ck_assert_msg(tail == bases[i], "base %llu: tail %llu",
                      (unsigned long long)bases[i], (unsigned long long)tail);
    }
    close(fd);
    image_free(&g);
}
END_TEST

START_TEST(test_find_tail_of_garbage_from_0_finds_nothing)
{
    uint64_t rs = 7;
    uint8_t b[4096];
    tu_fill_random(&rs, b, sizeof b);
    int fd = image_fd(b, sizeof b);
    uint64_t tail = 77;
    srd_err rc = srdi_recovery_find_tail(fd, 0, sizeof b, &tail);
    ck_assert_msg(rc == SRD_OK || rc == SRD_ECORRUPT, "%s", srd_errname(rc));
    if (rc == SRD_OK)
        ck_assert_uint_eq(tail, 0);
    close(fd);
}
END_TEST

START_TEST(test_find_tail_skips_tail_entry_with_bad_crc)
{
    image g;
    image_load(&g, "basic.bin");
    /* alpha "uno" at 1152 is the second-last entry; the tombstone after it
     * is the tail. Damage the tombstone's CRC field: tail is alpha's end. */
    g.img[g.size - 1] ^= 0x01;
    int fd = image_fd(g.img, g.size);
    uint64_t tail = 0;
    ck_srd(srdi_recovery_find_tail(fd, 0, g.size, &tail));
    ck_assert_uint_eq(tail, g.ents[g.n - 2].end);
    close(fd);
    image_free(&g);
}
END_TEST

typedef struct walk_ctx {
    srdi_entry got[1100];
    long n;
    long stop_at; /* return non-zero after this many (0: never) */
} walk_ctx;

static int walk_fn(void *ctx, const srdi_entry *e)
{
    walk_ctx *w = ctx;
    ck_assert_int_lt(w->n, 1100);
    w->got[w->n++] = *e;
    return w->stop_at && w->n >= w->stop_at;
}

static void assert_walk_matches(const walk_ctx *w, const image *g, long lo,
                                long hi)
{
    /* Newest first: got[0] is entry hi - 1. */
    ck_assert_int_eq(w->n, hi - lo);
    for (long i = 0; i < w->n; i++) {
        const tu_entry *t = &g->ents[hi - 1 - i];
        const srdi_entry *e = &w->got[i];
        ck_assert_uint_eq(e->start, t->start);
        ck_assert_uint_eq(e->payload, t->payload);
        ck_assert_uint_eq(e->len, t->len);
        ck_assert_uint_eq(e->end, t->end);
        ck_assert_uint_eq(e->key_hash, t->key_hash);
        ck_assert_uint_eq(e->crc, t->crc);
        ck_assert_int_eq(e->tombstone, t->tombstone != 0);
    }
}

START_TEST(test_walk_visits_every_entry_newest_first)
{
    const char *files[] = {"basic.bin", "batch.bin", "mixed.bin",
                           "small.bin"};
    for (size_t f = 0; f < 4; f++) {
        image g;
        image_load(&g, files[f]);
        int fd = image_fd(g.img, g.size);
        static walk_ctx w;
        memset(&w, 0, sizeof w);
        ck_srd(srdi_recovery_walk(fd, 0, g.size, walk_fn, &w));
        assert_walk_matches(&w, &g, 0, g.n);
        /* From a base: only the entries after it. */
        memset(&w, 0, sizeof w);
        ck_srd(srdi_recovery_walk(fd, g.ents[1].end, g.size, walk_fn, &w));
        assert_walk_matches(&w, &g, 2, g.n);
        /* Up to an earlier tail. */
        memset(&w, 0, sizeof w);
        ck_srd(srdi_recovery_walk(fd, 0, g.ents[2].end, walk_fn, &w));
        assert_walk_matches(&w, &g, 0, 3);
        /* Empty range. */
        memset(&w, 0, sizeof w);
        ck_srd(srdi_recovery_walk(fd, g.ents[1].end, g.ents[1].end, walk_fn,
                                  &w));
        ck_assert_int_eq(w.n, 0);
        close(fd);
        image_free(&g);
    }
}
END_TEST

START_TEST(test_walk_stops_when_callback_says_so)
{
    image g;
    image_load(&g, "basic.bin");
    int fd = image_fd(g.img, g.size);
    static walk_ctx w;
    memset(&w, 0, sizeof w);
    w.stop_at = 2;
    ck_assert_int_eq(srdi_recovery_walk(fd, 0, g.size, walk_fn, &w),
                     SRD_ECANCELED);
    ck_assert_int_eq(w.n, 2);
    close(fd);
    image_free(&g);
}
END_TEST

START_TEST(test_walk_from_a_non_entry_offset_is_corrupt)
{
    image g;
    image_load(&g, "basic.bin");
    int fd = image_fd(g.img, g.size);
    static walk_ctx w;
    /* Offsets where no entry ends: the oracle agrees. (Not 100, say: the
     * bytes there do form an entry [0, 100), structurally.) */
    const uint64_t tails[] = {g.size - 1, 30, 1000, 1150};
    for (size_t i = 0; i < 4; i++) {
        tu_entry *chk;
        ck_assert_int_eq(tu_chain(g.img, tails[i], &chk), -1);
        memset(&w, 0, sizeof w);
        srd_err rc = srdi_recovery_walk(fd, 0, tails[i], walk_fn, &w);
        ck_assert_msg(rc == SRD_ECORRUPT, "tail %llu: %s",
                      (unsigned long long)tails[i], srd_errname(rc));
    }
    /* A base the chain skips over. */
    memset(&w, 0, sizeof w);
    ck_assert_int_eq(srdi_recovery_walk(fd, 1, g.size, walk_fn, &w),
                     SRD_ECORRUPT);
    close(fd);
    image_free(&g);
}
END_TEST

/* The oracle finds no chain in g's image, and the walk reports it. */
static void expect_broken_chain(const image *g)
{
    static walk_ctx w;
    tu_entry *chk;
    ck_assert_int_eq(tu_chain(g->img, g->size, &chk), -1); /* oracle agrees */
    int fd = image_fd(g->img, g->size);
    memset(&w, 0, sizeof w);
    ck_assert_int_eq(srdi_recovery_walk(fd, 0, g->size, walk_fn, &w),
                     SRD_ECORRUPT);
    close(fd);
}

START_TEST(test_walk_detects_broken_chain_in_the_middle)
{
    image g;
    image_load(&g, "basic.bin");
    /* gamma (entry 2) points back at 87; make it point at 86. */
    uint8_t *prevp = g.img + g.ents[2].end - 12;
    ck_assert_uint_eq(tu_get_le64(prevp), 87);
    tu_put_le64(prevp, 86);
    expect_broken_chain(&g);
    /* Restore it and dirty gamma's pad instead. */
    tu_put_le64(prevp, 87);
    g.img[100] = 0x20;
    expect_broken_chain(&g);
    /* A back pointer that goes forwards. */
    g.img[100] = 0;
    tu_put_le64(prevp, g.size - 21);
    expect_broken_chain(&g);
    image_free(&g);
}
END_TEST

START_TEST(test_recovery_crc_matches_stored_checksums)
{
    image g;
    image_load(&g, "mixed.bin");
    int fd = image_fd(g.img, g.size);
    for (long i = 0; i < g.n; i++) {
        uint32_t c = 0;
        ck_srd(srdi_recovery_crc(fd, g.ents[i].payload, g.ents[i].len, &c));
        ck_assert_uint_eq(c, g.ents[i].crc);
    }
    close(fd);
    image_free(&g);
}
END_TEST

/* Regression (found by check_crash): an entry larger than the recovery
 * read window whose start lies in the last 64 bytes of a 4 KiB page was
 * judged broken, so reopening dropped it and everything after it. */
START_TEST(test_large_entry_starting_at_page_end_survives_reopen)
{
    const size_t big = (2u << 20) + 333;
    uint8_t *val = malloc(big);
    ck_assert_ptr_nonnull(val);
    uint64_t rs = 99;
    tu_fill_random(&rs, val, big);
    for (unsigned start = 4033; start < 4096; start += 9) {
        char name[32];
        snprintf(name, sizeof name, "page%u.srd", start);
        char *p = tu_join(tmp_dir, name);
        srd_store *st = NULL;
        ck_srd(tu_open(p, SRD_OPEN_CREATE, &st));
        /* first entry: payload at 0, trailer ends at start */
        ck_srd(srd_put(st, tu_s("first"),
                       (srd_val){val, start - SRDI_TRAILER_SIZE}));
        ck_srd(srd_put(st, tu_s("big"), (srd_val){val, big}));
        ck_srd(srd_put(st, tu_s("last"), tu_s("after the big one")));
        long long size = tu_file_size(p);
        ck_srd(srd_close(st));
        ck_srd(tu_open(p, 0, &st));
        ck_assert_int_eq(tu_file_size(p), size);
        srd_view v;
        ck_srd(srd_get(st, tu_s("big"), &v));
        ck_assert_uint_eq(v.len, big);
        ck_assert_int_eq(memcmp(v.data, val, big), 0);
        srd_view_release(&v);
        bool there = false;
        ck_srd(srd_exists(st, tu_s("last"), &there));
        ck_assert(there);
        ck_srd(srd_close(st));
        free(p);
    }
    free(val);
}
END_TEST

/* Regression (found by check_crash after a CRC budget was added): a torn
 * tail whose bytes hold many short zero runs makes many candidate tails
 * with back pointer 0 (each claims to be the first entry, covering the
 * whole file). Each cost a CRC of the whole file (quadratic); with the
 * budget the store was refused. It must open fast to its real tail. */
START_TEST(test_torn_tail_with_zero_runs_opens_to_real_tail)
{
    char *p = store_with("zeros.srd", two_values, 2);
    srd_store *st = NULL;
    long long good = tu_file_size(p);
    const size_t junk = 4u << 20;
    uint8_t *j = malloc(junk);
    ck_assert_ptr_nonnull(j);
    for (size_t i = 0; i < junk; i += 32) {
        memset(j + i, 0xAB, 12);
        memset(j + i + 12, 0, 8);
        memset(j + i + 20, 0xCD, 12);
    }
    int fd = open(p, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, j, junk), (ssize_t)junk);
    close(fd);
    free(j);
    ck_srd(tu_open(p, 0, &st));
    ck_assert_int_eq(tu_file_size(p), good);
    char buf[32];
    size_t n = 0;
    ck_srd(srd_get_copy(st, tu_s("b"), buf, sizeof buf, &n));
    ck_assert_mem_eq(buf, "second value", 12);
    ck_srd(srd_close(st));
    free(p);
}
END_TEST

/* A batch left unfinished by kill -9 (first back pointer still poisoned)
 * at the end of a large store: the store must open at the tail before
 * it. Values holding little-endian numbers that are entry ends of the
 * store make trailer-shaped bytes whose chains are good and whose
 * payloads run from each such entry to the end of the file, each with a
 * different start: the tail search once CRCed each of them from scratch,
 * ran out of budget and refused the store as corrupt (a Python test
 * found it: 71 MB of 50-entry batches, killed mid-write). */
START_TEST(test_unfinished_batch_at_the_end_of_a_large_store_is_dropped)
{
    enum { EARLY = 50, FILL = 50, VLEN = 24 };
    char *p = tu_join(tmp_dir, "unfinished.srd");
    srd_store *st = NULL;
    ck_srd(tu_open(p, SRD_OPEN_CREATE, &st));
    uint64_t ends[EARLY];
    for (int i = 0; i < EARLY; i++) {
        char k[16];
        snprintf(k, sizeof k, "early%d", i);
        ck_srd(srd_put(st, tu_s(k), tu_s("an early value")));
        ck_srd(srd_tail(st, &ends[i]));
    }
    static char kb[FILL][16], vb[FILL][16];
    srd_val keys[FILL], vals[FILL];
    for (int b = 0; tu_file_size(p) < (16 << 20); b++) {
        for (int i = 0; i < FILL; i++) {
            snprintf(kb[i], sizeof kb[i], "k%d", i);
            snprintf(vb[i], sizeof vb[i], "batch%d", b);
            keys[i] = tu_s(kb[i]);
            vals[i] = tu_s(vb[i]);
        }
        ck_srd(srd_put_batch(st, keys, vals, FILL));
    }
    uint64_t before;
    ck_srd(srd_tail(st, &before));
    /* The sidecar as it was before the last batch: a writer that died
     * before fixing the batch never recorded it as synced. */
    char *side = srdi_synced_path(p);
    size_t side_len = 0;
    uint8_t *side_before = tu_read_file(side, &side_len);
    ck_assert_ptr_nonnull(side_before);
    /* The last batch: value i = 12 bytes, the end of early entry i as a
     * little-endian u64, 4 bytes. */
    static uint8_t lv[EARLY][VLEN];
    for (int i = 0; i < EARLY; i++) {
        memset(lv[i], 0x5A, VLEN);
        tu_put_le64(lv[i] + 12, ends[i]);
        snprintf(kb[i], sizeof kb[i], "last%d", i);
        keys[i] = tu_s(kb[i]);
        vals[i] = (srd_val){lv[i], VLEN};
    }
    ck_srd(srd_put_batch(st, keys, vals, EARLY));
    ck_srd(srd_close(st));
    /* Undo the fix of the batch's first back pointer, as if the writer
     * died between writing the batch and fixing it. */
    uint64_t first_end = before + ((64 - before % 64) & 63) + VLEN + 20;
    uint8_t poison[8];
    memset(poison, 0xFF, sizeof poison);
    int fd = open(p, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, poison, 8, (off_t)(first_end - 12)), 8);
    close(fd);
    ck_assert_int_eq(tu_write_file(side, side_before, side_len), 0);
    free(side_before);
    free(side);

    ck_srd(tu_open(p, 0, &st));
    uint64_t tail;
    ck_srd(srd_tail(st, &tail));
    ck_assert_uint_eq(tail, before);
    char buf[32];
    size_t n = 0;
    ck_assert_int_eq(srd_get_copy(st, tu_s("last0"), buf, sizeof buf, &n),
                     SRD_ENOTFOUND);
    ck_srd(srd_get_copy(st, tu_s("early7"), buf, sizeof buf, &n));
    ck_assert_mem_eq(buf, "an early value", 14);
    ck_srd(srd_get_copy(st, tu_s("k49"), buf, sizeof buf, &n));
    ck_assert_mem_eq(buf, "batch", 5);
    ck_srd(srd_close(st));
    free(p);
}
END_TEST

static Suite *recovery_suite(void)
{
    Suite *s = suite_create("recovery");
    TCase *tc = tcase_create("torn");
    tcase_add_checked_fixture(tc, rec_setup, rec_teardown);
    tcase_add_test(tc,
                   test_torn_basic_bin_opens_to_last_complete_entry_at_every_cut);
    tcase_add_test(tc,
                   test_torn_batch_bin_opens_to_last_complete_entry_at_every_cut);
    tcase_add_test(tc,
                   test_torn_mixed_bin_opens_to_last_complete_entry_at_every_cut);
    tcase_add_test(tc,
                   test_torn_small_bin_opens_to_last_complete_entry_at_every_cut);
    tcase_add_test(tc, test_torn_first_entry_is_refused_not_truncated);
    tcase_add_test(tc, test_interrupted_write_is_cut_and_store_stays_usable);
    tcase_add_test(tc, test_large_entry_starting_at_page_end_survives_reopen);
    suite_add_tcase(s, tc);

    tc = tcase_create("garbage");
    tcase_add_checked_fixture(tc, rec_setup, rec_teardown);
    tcase_add_test(tc, test_random_garbage_tail_is_ignored_and_cut);
    tcase_add_test(tc, test_zero_tail_never_yields_a_phantom_entry);
    tcase_add_test(
        tc,
        test_reference_defect_phantom_entry_at_offset_0_does_not_lose_the_store);
    tcase_add_test(tc, test_copied_earlier_trailer_tail_is_ignored);
    tcase_add_test(tc, test_copied_last_entry_tail_is_ignored);
    tcase_add_test(tc, test_rechained_last_entry_with_flipped_bit_is_ignored);
    tcase_add_test(tc, test_rechained_last_entry_intact_is_a_new_entry);
    tcase_add_test(tc, test_corrupt_text_tail_is_ignored_and_cut);
    tcase_add_test(tc, test_batch_with_poisoned_first_prev_is_dropped_whole);
    tcase_add_test(tc, test_64_mib_store_with_1_mib_zero_tail_opens);
    tcase_add_test(tc, test_torn_tail_with_zero_runs_opens_to_real_tail);
    tcase_add_test(tc,
                   test_unfinished_batch_at_the_end_of_a_large_store_is_dropped);
    suite_add_tcase(s, tc);

    tc = tcase_create("crc");
    tcase_add_checked_fixture(tc, rec_setup, rec_teardown);
    tcase_add_test(tc, test_tail_entry_with_bad_crc_is_dropped);
    tcase_add_test(tc, test_single_entry_store_with_bad_crc_is_refused);
    tcase_add_test(tc, test_bad_crc_in_older_entry_is_reported_not_dropped);
    suite_add_tcase(s, tc);

    tc = tcase_create("synced_tail");
    tcase_add_checked_fixture(tc, rec_setup, rec_teardown);
    tcase_add_test(tc, test_torn_entry_past_the_synced_tail_is_cut);
    tcase_add_test(tc, test_damage_below_the_synced_tail_is_kept_and_reported);
    tcase_add_test(tc, test_written_tail_is_trusted_only_in_its_boot);
    tcase_add_test(tc, test_missing_or_foreign_sidecar_checks_every_entry);
    tcase_add_test(tc, test_torn_first_batch_of_a_new_store_is_cut_to_empty);
    tcase_add_test(
        tc, test_damaged_first_entry_past_the_synced_tail_is_refused_not_cut);
    tcase_add_test(tc, test_copied_store_is_checked_in_full);
    tcase_add_test(tc, test_read_only_open_never_writes_the_sidecar);
    tcase_add_test(tc, test_compaction_records_the_new_file);
    tcase_add_test(tc,
                   test_check_stops_at_the_trusted_end_and_finds_the_oldest_bad);
    suite_add_tcase(s, tc);

    tc = tcase_create("not_a_store");
    tcase_add_checked_fixture(tc, rec_setup, rec_teardown);
    tcase_add_test(tc, test_text_file_is_refused_unmodified_and_repairable);
    tcase_add_test(tc, test_zero_file_is_refused_unmodified_and_repairable);
    tcase_add_test(tc, test_random_file_is_refused_unmodified_and_repairable);
    tcase_add_test(tc, test_single_trailer_with_bad_crc_is_refused_unmodified);
    tcase_add_test(tc, test_reference_defect_not_a_store_is_never_truncated);
    tcase_add_test(tc, test_empty_file_is_an_empty_store);
    suite_add_tcase(s, tc);

    tc = tcase_create("direct");
    tcase_add_checked_fixture(tc, rec_setup, rec_teardown);
    tcase_add_test(tc, test_find_tail_finds_end_of_whole_golden_files);
    tcase_add_test(tc,
                   test_find_tail_within_size_limit_finds_last_complete_entry);
    tcase_add_test(tc, test_find_tail_from_a_base_entry_end);
    tcase_add_test(tc, test_find_tail_from_unreachable_base_finds_nothing);
    tcase_add_test(tc, test_find_tail_of_garbage_from_0_finds_nothing);
    tcase_add_test(tc, test_find_tail_skips_tail_entry_with_bad_crc);
    tcase_add_test(tc, test_walk_visits_every_entry_newest_first);
    tcase_add_test(tc, test_walk_stops_when_callback_says_so);
    tcase_add_test(tc, test_walk_from_a_non_entry_offset_is_corrupt);
    tcase_add_test(tc, test_walk_detects_broken_chain_in_the_middle);
    tcase_add_test(tc, test_recovery_crc_matches_stored_checksums);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(recovery_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
