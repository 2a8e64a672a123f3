/* SPDX-License-Identifier: MIT */
/*
 * check_index.c -- tests of libclient/index.c: the loc encoding documented
 * in index.h, apply/lookup with newest-wins ordering, tombstones and the
 * live count, growth through many resizes, and lock-free readers that must
 * never miss a present key while one updater grows the table.
 */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ebr.h"
#include "format.h"
#include "index.h"
#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

#define LOC_OFF_MASK ((1ull << 42) - 1)
#define LOC_LEN_MASK ((1ull << 20) - 1)

/* Fields of a small value loc, as index.h documents them. */
static uint64_t loc_small_payload(uint64_t loc)
{
    return (loc & LOC_OFF_MASK) * 64;
}

static uint64_t loc_small_len(uint64_t loc)
{
    return (loc >> 42) & LOC_LEN_MASK;
}

/* A value loc for a payload of len bytes at a 64-aligned payload offset. */
static uint64_t vloc(uint64_t payload, uint64_t len)
{
    return srdi_loc_value(payload, len, payload + len + SRDI_TRAILER_SIZE);
}

static srdi_index *new_index(size_t expected)
{
    srdi_index *idx = NULL;
    ck_srd(srdi_index_create(expected, &idx));
    ck_assert_ptr_nonnull(idx);
    return idx;
}

/* Apply and return whether it was applied; *old optional. */
static bool apply(srdi_index *idx, uint64_t h, uint64_t loc, uint64_t *old)
{
    uint64_t o = 0xdeadbeef;
    bool applied = false;
    srd_err rc = srdi_index_apply(idx, h, loc, &o, &applied);
    tu_require(rc == SRD_OK, "srdi_index_apply: %s", srd_errname(rc));
    if (old)
        *old = o;
    return applied;
}

static uint64_t lookup(const srdi_index *idx, uint64_t h)
{
    srdi_ebr_rec *r = srdi_ebr_enter();
    uint64_t loc = srdi_index_lookup(idx, h);
    srdi_ebr_leave(r);
    return loc;
}

/* A bijective mix, so distinct inputs give distinct hashes. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* ------------------------------------------------------------------------ */
/* loc encoding                                                              */
/* ------------------------------------------------------------------------ */

START_TEST(test_loc_small_value_round_trips)
{
    const uint64_t payloads[] = {0, 64, 128, 4096, 1ull << 30,
                                 (LOC_OFF_MASK) * 64};
    const uint64_t lens[] = {1, 2, 63, 64, 1000, SRDI_LOC_MAXLEN};
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++) {
            uint64_t loc = vloc(payloads[i], lens[j]);
            ck_assert_uint_ne(loc, 0);
            ck_assert(srdi_loc_is_live(loc));
            ck_assert_uint_eq(loc & SRDI_LOC_TOMB, 0);
            ck_assert_uint_eq(loc & SRDI_LOC_LARGE, 0);
            ck_assert_uint_eq(loc_small_payload(loc), payloads[i]);
            ck_assert_uint_eq(loc_small_len(loc), lens[j]);
        }
    }
}
END_TEST

START_TEST(test_loc_large_value_keeps_entry_end)
{
    const uint64_t lens[] = {SRDI_LOC_MAXLEN + 1, 5u << 20,
                             (1ull << 32) + 7};
    const uint64_t payloads[] = {0, 64, 1ull << 40};
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++) {
            uint64_t end = payloads[i] + lens[j] + SRDI_TRAILER_SIZE;
            uint64_t loc = srdi_loc_value(payloads[i], lens[j], end);
            ck_assert(srdi_loc_is_live(loc));
            ck_assert_uint_eq(loc & SRDI_LOC_TOMB, 0);
            ck_assert_uint_ne(loc & SRDI_LOC_LARGE, 0);
            ck_assert_uint_eq(loc & (SRDI_LOC_LARGE - 1), end);
        }
    }
}
END_TEST

START_TEST(test_loc_value_past_2_pow_48_uses_large_form)
{
    /* payload / 64 no longer fits in 42 bits: only the end can be kept. */
    uint64_t payload = 1ull << 48;
    uint64_t loc = srdi_loc_value(payload, 10, payload + 30);
    ck_assert(srdi_loc_is_live(loc));
    ck_assert_uint_ne(loc & SRDI_LOC_LARGE, 0);
    ck_assert_uint_eq(loc & (SRDI_LOC_LARGE - 1), payload + 30);
}
END_TEST

START_TEST(test_loc_tombstone_round_trips)
{
    const uint64_t starts[] = {0, 1, 87, 384, 1ull << 40,
                               (1ull << 62) - 1};
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        uint64_t loc = srdi_loc_tomb(starts[i]);
        ck_assert_uint_ne(loc, 0); /* a tombstone at 0 is not "empty" */
        ck_assert(!srdi_loc_is_live(loc));
        ck_assert_uint_ne(loc & SRDI_LOC_TOMB, 0);
        ck_assert_uint_eq(loc & ~SRDI_LOC_TOMB, starts[i]);
    }
    ck_assert(!srdi_loc_is_live(0));
}
END_TEST

START_TEST(test_loc_pos_strictly_ordered_for_consecutive_entries)
{
    /* A file of consecutive entries of every kind, including the hard
     * cases: a large value directly followed by a tombstone at its end,
     * and tombstones back to back. */
    uint64_t rs = 11;
    uint64_t prev = 0, last_pos = 0;
    bool first = true;
    for (int i = 0; i < 20000; i++) {
        uint64_t r = tu_rand(&rs) % 8, loc, start = prev, end;
        if (r < 3) {
            loc = srdi_loc_tomb(start);
            end = start + 1 + SRDI_TRAILER_SIZE;
        } else {
            uint64_t len;
            if (r == 3)
                len = SRDI_LOC_MAXLEN + 1 + tu_rand(&rs) % 100000;
            else if (r == 4)
                len = SRDI_LOC_MAXLEN;
            else
                len = 1 + tu_rand(&rs) % 200;
            uint64_t payload = start + srdi_format_pad(start);
            end = payload + len + SRDI_TRAILER_SIZE;
            loc = srdi_loc_value(payload, len, end);
        }
        uint64_t pos = srdi_loc_pos(loc);
        tu_require(pos >= start && pos < end,
                      "entry %d: pos %llu outside [%llu, %llu)", i,
                      (unsigned long long)pos, (unsigned long long)start,
                      (unsigned long long)end);
        if (!first)
            tu_require(pos > last_pos, "entry %d: pos %llu <= %llu", i,
                          (unsigned long long)pos,
                          (unsigned long long)last_pos);
        first = false;
        last_pos = pos;
        prev = end;
    }
}
END_TEST

START_TEST(test_loc_pos_large_then_tombstone_at_its_end)
{
    uint64_t len = SRDI_LOC_MAXLEN + 1;
    uint64_t end = 0 + len + SRDI_TRAILER_SIZE;
    uint64_t big = srdi_loc_value(0, len, end);
    uint64_t tomb = srdi_loc_tomb(end);
    ck_assert_uint_lt(srdi_loc_pos(big), srdi_loc_pos(tomb));
    /* And a small value that ends exactly where a tombstone starts. */
    uint64_t small = srdi_loc_value(64, 3, 87);
    ck_assert_uint_lt(srdi_loc_pos(small), srdi_loc_pos(srdi_loc_tomb(87)));
    /* A tombstone then the value written right after it. */
    uint64_t t0 = srdi_loc_tomb(87);
    uint64_t v1 = srdi_loc_value(128, 64, 212);
    ck_assert_uint_lt(srdi_loc_pos(t0), srdi_loc_pos(v1));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* apply / lookup                                                            */
/* ------------------------------------------------------------------------ */

START_TEST(test_empty_index_finds_nothing)
{
    srdi_index *idx = new_index(0);
    ck_assert_uint_eq(srdi_index_live(idx), 0);
    ck_assert_uint_eq(lookup(idx, 1), 0);
    ck_assert_uint_eq(lookup(idx, 0), 0);
    ck_assert_uint_eq(lookup(idx, UINT64_MAX), 0);
    ck_assert_uint_gt(srdi_index_memory(idx), 0);
    srdi_index_destroy(idx);
}
END_TEST

START_TEST(test_unused_until_the_first_slot_and_after_growth)
{
    srdi_index *idx;
    ck_srd(srdi_index_create(4, &idx));
    ck_assert(srdi_index_unused(idx));
    uint64_t old;
    bool applied;
    ck_srd(srdi_index_apply(idx, 7, srdi_loc_tomb(64), &old, &applied));
    ck_assert(applied);
    ck_assert(!srdi_index_unused(idx)); /* a tombstone is a slot too */
    for (uint64_t h = 8; h < 1000; h++) /* grows the table */
        ck_srd(srdi_index_apply(idx, h, srdi_loc_value(64 * h, 8, 0), &old,
                                &applied));
    ck_assert(!srdi_index_unused(idx));
    ck_assert_uint_eq(srdi_index_lookup(idx, 7), srdi_loc_tomb(64));
    srdi_index_destroy(idx);
}
END_TEST

START_TEST(test_apply_then_lookup_finds_loc)
{
    srdi_index *idx = new_index(16);
    uint64_t old;
    uint64_t l1 = vloc(0, 3);
    ck_assert(apply(idx, 42, l1, &old));
    ck_assert_uint_eq(old, 0);
    ck_assert_uint_eq(lookup(idx, 42), l1);
    ck_assert_uint_eq(lookup(idx, 43), 0);
    ck_assert_uint_eq(srdi_index_live(idx), 1);
    srdi_index_destroy(idx);
}
END_TEST

START_TEST(test_apply_newer_replaces_and_reports_old)
{
    srdi_index *idx = new_index(16);
    uint64_t old;
    uint64_t l1 = vloc(0, 3), l2 = vloc(64, 3);
    ck_assert(apply(idx, 42, l1, NULL));
    ck_assert(apply(idx, 42, l2, &old));
    ck_assert_uint_eq(old, l1);
    ck_assert_uint_eq(lookup(idx, 42), l2);
    ck_assert_uint_eq(srdi_index_live(idx), 1);
    srdi_index_destroy(idx);
}
END_TEST

START_TEST(test_apply_older_is_ignored_newest_wins)
{
    srdi_index *idx = new_index(16);
    uint64_t old;
    uint64_t l1 = vloc(0, 3), l2 = vloc(64, 3);
    ck_assert(apply(idx, 42, l2, NULL));
    ck_assert(!apply(idx, 42, l1, &old));
    ck_assert_uint_eq(old, l2);
    ck_assert_uint_eq(lookup(idx, 42), l2);
    /* The same loc again is not newer either. */
    ck_assert(!apply(idx, 42, l2, NULL));
    ck_assert_uint_eq(srdi_index_live(idx), 1);
    srdi_index_destroy(idx);
}
END_TEST

START_TEST(test_newest_wins_when_applied_out_of_order)
{
    enum { KEYS = 2000, VERS = 6 };
    srdi_index *idx = new_index(8);
    uint64_t rs = 21;
    /* Version v of key k lives at payload ((v * KEYS) + k) * 64. */
    int order[KEYS * VERS];
    for (int i = 0; i < KEYS * VERS; i++)
        order[i] = i;
    for (int i = KEYS * VERS - 1; i > 0; i--) {
        int j = (int)(tu_rand(&rs) % (uint64_t)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int i = 0; i < KEYS * VERS; i++) {
        int v = order[i] / KEYS, k = order[i] % KEYS;
        apply(idx, mix((uint64_t)k),
              vloc(((uint64_t)v * KEYS + (uint64_t)k) * 64, 1), NULL);
    }
    for (int k = 0; k < KEYS; k++)
        tu_require(lookup(idx, mix((uint64_t)k)) ==
                       vloc(((uint64_t)(VERS - 1) * KEYS + (uint64_t)k) * 64,
                            1),
                   "key %d does not hold its newest version", k);
    ck_assert_uint_eq(srdi_index_live(idx), KEYS);
    srdi_index_destroy(idx);
}
END_TEST

START_TEST(test_tombstone_removes_key_and_live_count)
{
    srdi_index *idx = new_index(16);
    uint64_t old;
    ck_assert(apply(idx, 1, vloc(0, 3), NULL));
    ck_assert(apply(idx, 2, vloc(64, 3), NULL));
    ck_assert_uint_eq(srdi_index_live(idx), 2);
    /* Delete key 1 with a tombstone at 87 (after both values). */
    ck_assert(apply(idx, 1, srdi_loc_tomb(87), &old));
    ck_assert_uint_eq(old, vloc(0, 3));
    ck_assert(!srdi_loc_is_live(lookup(idx, 1)));
    ck_assert_uint_eq(srdi_index_live(idx), 1);
    /* Deleting it again changes nothing in the count. */
    apply(idx, 1, srdi_loc_tomb(108), NULL);
    ck_assert_uint_eq(srdi_index_live(idx), 1);
    /* An older value arriving late does not resurrect it. */
    ck_assert(!apply(idx, 1, vloc(64 * 1, 2), NULL));
    ck_assert(!srdi_loc_is_live(lookup(idx, 1)));
    ck_assert_uint_eq(srdi_index_live(idx), 1);
    /* A newer value does. */
    ck_assert(apply(idx, 1, vloc(192, 4), NULL));
    ck_assert_uint_eq(lookup(idx, 1), vloc(192, 4));
    ck_assert_uint_eq(srdi_index_live(idx), 2);
    srdi_index_destroy(idx);
}
END_TEST

START_TEST(test_tombstone_for_absent_key_keeps_count)
{
    srdi_index *idx = new_index(16);
    apply(idx, 1, vloc(0, 3), NULL);
    apply(idx, 99, srdi_loc_tomb(23), NULL);
    ck_assert_uint_eq(srdi_index_live(idx), 1);
    ck_assert(!srdi_loc_is_live(lookup(idx, 99)));
    srdi_index_destroy(idx);
}
END_TEST

START_TEST(test_tombstone_older_than_value_is_ignored)
{
    /* Replayed out of order: value at 128 then the tombstone at 87. */
    srdi_index *idx = new_index(16);
    ck_assert(apply(idx, 7, vloc(128, 64), NULL));
    ck_assert(!apply(idx, 7, srdi_loc_tomb(87), NULL));
    ck_assert_uint_eq(lookup(idx, 7), vloc(128, 64));
    ck_assert_uint_eq(srdi_index_live(idx), 1);
    srdi_index_destroy(idx);
}
END_TEST

START_TEST(test_hash_zero_and_max_are_ordinary_keys)
{
    srdi_index *idx = new_index(4);
    uint64_t pos = 0;
    ck_assert(apply(idx, 0, vloc(pos, 5), NULL));
    pos += 64;
    ck_assert(apply(idx, UINT64_MAX, vloc(pos, 6), NULL));
    pos += 64;
    ck_assert_uint_eq(lookup(idx, 0), vloc(0, 5));
    ck_assert_uint_eq(lookup(idx, UINT64_MAX), vloc(64, 6));
    ck_assert_uint_eq(srdi_index_live(idx), 2);
    /* They survive many resizes. */
    for (uint64_t k = 1; k <= 100000; k++, pos += 64)
        apply(idx, mix(k), vloc(pos, 1), NULL);
    ck_assert_uint_eq(lookup(idx, 0), vloc(0, 5));
    ck_assert_uint_eq(lookup(idx, UINT64_MAX), vloc(64, 6));
    /* Delete and re-add both. */
    ck_assert(apply(idx, 0, srdi_loc_tomb(pos), NULL));
    pos += 64;
    ck_assert(apply(idx, UINT64_MAX, srdi_loc_tomb(pos), NULL));
    pos += 64;
    ck_assert(!srdi_loc_is_live(lookup(idx, 0)));
    ck_assert(!srdi_loc_is_live(lookup(idx, UINT64_MAX)));
    uint64_t live = srdi_index_live(idx);
    ck_assert(apply(idx, 0, vloc(pos, 9), NULL));
    ck_assert_uint_eq(lookup(idx, 0), vloc(pos, 9));
    ck_assert_uint_eq(srdi_index_live(idx), live + 1);
    srdi_index_destroy(idx);
}
END_TEST

START_TEST(test_growth_to_a_million_keys_keeps_all)
{
    enum { N = 1000000 };
    srdi_index *idx = new_index(16);
    size_t mem0 = srdi_index_memory(idx);
    uint64_t rs = 31;
    uint64_t seed = rs;
    for (uint64_t i = 0; i < N; i++) {
        uint64_t h = tu_rand(&rs);
        uint64_t old;
        bool applied = apply(idx, h, vloc(i * 64, (i % 1000) + 1), &old);
        tu_require(applied && old == 0, "key %llu: applied %d, old %llx",
                   (unsigned long long)i, applied, (unsigned long long)old);
        if (i % 65536 == 0)
            srdi_index_collect(idx);
    }
    srdi_index_collect(idx);
    ck_assert_uint_eq(srdi_index_live(idx), N);
    ck_assert_uint_gt(srdi_index_memory(idx), mem0);
    ck_assert_uint_ge(srdi_index_memory(idx), (size_t)N * 16);
    rs = seed;
    srdi_ebr_rec *r = srdi_ebr_enter();
    for (uint64_t i = 0; i < N; i++) {
        uint64_t h = tu_rand(&rs);
        uint64_t loc = srdi_index_lookup(idx, h);
        tu_require(loc == vloc(i * 64, (i % 1000) + 1), "key %llu",
                   (unsigned long long)i);
    }
    srdi_ebr_leave(r);
    srdi_index_destroy(idx);
}
END_TEST

/* srdi_index_each visitor: counts and checks each loc against the key. */
typedef struct each_ctx {
    uint64_t seen;
    uint64_t bad;
    uint64_t stop_after;
} each_ctx;

static int each_fn(void *ctx, uint64_t hash, uint64_t loc)
{
    each_ctx *c = ctx;
    c->seen++;
    /* Keys 1..1000 hold loc vloc(k * 64, k % 100 + 1); odd keys deleted. */
    uint64_t k = 0;
    for (uint64_t i = 1; i <= 1000; i++)
        if (mix(i) == hash)
            k = i;
    if (k == 0 || (k & 1) || loc != vloc(k * 64, k % 100 + 1))
        c->bad++;
    return c->stop_after && c->seen >= c->stop_after;
}

START_TEST(test_each_visits_live_slots_once)
{
    srdi_index *idx = new_index(8);
    for (uint64_t k = 1; k <= 1000; k++)
        apply(idx, mix(k), vloc(k * 64, k % 100 + 1), NULL);
    for (uint64_t k = 1; k <= 1000; k += 2)
        apply(idx, mix(k), srdi_loc_tomb(100000 + k * 64), NULL);
    each_ctx c = {0, 0, 0};
    ck_assert_int_eq(srdi_index_each(idx, each_fn, &c), 0);
    ck_assert_uint_eq(c.seen, 500);
    ck_assert_uint_eq(c.bad, 0);
    ck_assert_uint_eq(srdi_index_live(idx), 500);
    each_ctx s = {0, 0, 10};
    ck_assert_int_ne(srdi_index_each(idx, each_fn, &s), 0);
    ck_assert_uint_eq(s.seen, 10);
    srdi_index_destroy(idx);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Concurrency: one updater, lock-free readers                               */
/* ------------------------------------------------------------------------ */

enum { CONC_UPDATES = 1000000, CONC_PRELOAD = 1000 };

typedef struct conc {
    srdi_index *idx;
    _Atomic uint64_t published; /* keys [0, published) are present */
    _Atomic int done;
} conc;

typedef struct reader_res {
    conc *c;
    uint64_t seed;
    uint64_t lookups;
    uint64_t misses;    /* a present key not found */
    uint64_t wrong;     /* a loc that is not one of the key's */
    uint64_t phantoms;  /* a never-written key found */
} reader_res;

/* Every loc of key k has length k % 1000 + 1: a reader can tell whether a
 * loc it got belongs to the key it asked for. */
static uint64_t key_len(uint64_t k)
{
    return k % 1000 + 1;
}

static void *conc_reader(void *arg)
{
    reader_res *r = arg;
    uint64_t rs = r->seed;
    while (!atomic_load_explicit(&r->c->done, memory_order_acquire)) {
        uint64_t n =
            atomic_load_explicit(&r->c->published, memory_order_acquire);
        for (int i = 0; i < 64; i++) {
            uint64_t k = tu_rand(&rs) % n;
            srdi_ebr_rec *e = srdi_ebr_enter();
            uint64_t loc = srdi_index_lookup(r->c->idx, mix(k));
            uint64_t ghost = srdi_index_lookup(r->c->idx, ~mix(k) ^ 1);
            srdi_ebr_leave(e);
            r->lookups++;
            if (!srdi_loc_is_live(loc))
                r->misses++;
            else if ((loc & SRDI_LOC_LARGE) || loc_small_len(loc) != key_len(k))
                r->wrong++;
            if (ghost != 0)
                r->phantoms++;
        }
    }
    return NULL;
}

START_TEST(test_readers_never_miss_present_keys_during_resizes)
{
    conc c;
    c.idx = new_index(16);
    atomic_init(&c.published, 0);
    atomic_init(&c.done, 0);
    uint64_t pos = 0;
    for (uint64_t k = 0; k < CONC_PRELOAD; k++, pos += 64)
        ck_assert(apply(c.idx, mix(k), vloc(pos, key_len(k)), NULL));
    atomic_store(&c.published, CONC_PRELOAD);

    pthread_t th[2];
    reader_res res[2];
    for (int i = 0; i < 2; i++) {
        res[i] = (reader_res){&c, 1000 + (uint64_t)i, 0, 0, 0, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, conc_reader, &res[i]),
                         0);
    }
    /* The updater: a quarter new keys (growing the table many times),
     * the rest newer versions of keys already present. */
    uint64_t rs = 77, next = CONC_PRELOAD;
    for (uint64_t i = 0; i < CONC_UPDATES; i++, pos += 64) {
        uint64_t k;
        if (i % 4 == 0)
            k = next;
        else
            k = tu_rand(&rs) % next;
        tu_require(apply(c.idx, mix(k), vloc(pos, key_len(k)), NULL),
                   "update %llu not applied", (unsigned long long)i);
        if (k == next) {
            next++;
            atomic_store_explicit(&c.published, next, memory_order_release);
        }
        if (i % 4096 == 0)
            srdi_index_collect(c.idx);
    }
    atomic_store_explicit(&c.done, 1, memory_order_release);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    srdi_index_collect(c.idx);

    for (int i = 0; i < 2; i++) {
        ck_assert_uint_gt(res[i].lookups, 0);
        ck_assert_msg(res[i].misses == 0,
                      "reader %d missed %llu present keys in %llu lookups",
                      i, (unsigned long long)res[i].misses,
                      (unsigned long long)res[i].lookups);
        ck_assert_msg(res[i].wrong == 0, "reader %d got %llu foreign locs",
                      i, (unsigned long long)res[i].wrong);
        ck_assert_msg(res[i].phantoms == 0,
                      "reader %d found %llu never-written keys", i,
                      (unsigned long long)res[i].phantoms);
    }
    ck_assert_uint_eq(srdi_index_live(c.idx), next);
    for (uint64_t k = 0; k < next; k++)
        tu_require(srdi_loc_is_live(lookup(c.idx, mix(k))), "key %llu lost",
                   (unsigned long long)k);
    srdi_index_destroy(c.idx);
}
END_TEST

static Suite *index_suite(void)
{
    Suite *s = suite_create("index");
    TCase *tc = tcase_create("loc");
    tcase_add_test(tc, test_loc_small_value_round_trips);
    tcase_add_test(tc, test_unused_until_the_first_slot_and_after_growth);
    tcase_add_test(tc, test_loc_large_value_keeps_entry_end);
    tcase_add_test(tc, test_loc_value_past_2_pow_48_uses_large_form);
    tcase_add_test(tc, test_loc_tombstone_round_trips);
    tcase_add_test(tc, test_loc_pos_strictly_ordered_for_consecutive_entries);
    tcase_add_test(tc, test_loc_pos_large_then_tombstone_at_its_end);
    suite_add_tcase(s, tc);

    tc = tcase_create("table");
    tcase_add_test(tc, test_empty_index_finds_nothing);
    tcase_add_test(tc, test_apply_then_lookup_finds_loc);
    tcase_add_test(tc, test_apply_newer_replaces_and_reports_old);
    tcase_add_test(tc, test_apply_older_is_ignored_newest_wins);
    tcase_add_test(tc, test_newest_wins_when_applied_out_of_order);
    tcase_add_test(tc, test_tombstone_removes_key_and_live_count);
    tcase_add_test(tc, test_tombstone_for_absent_key_keeps_count);
    tcase_add_test(tc, test_tombstone_older_than_value_is_ignored);
    tcase_add_test(tc, test_hash_zero_and_max_are_ordinary_keys);
    tcase_add_test(tc, test_growth_to_a_million_keys_keeps_all);
    tcase_add_test(tc, test_each_visits_live_slots_once);
    suite_add_tcase(s, tc);

    tc = tcase_create("concurrency");
    tcase_add_test(tc, test_readers_never_miss_present_keys_during_resizes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(index_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
