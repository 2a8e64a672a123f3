/* SPDX-License-Identifier: MIT */
/*
 * check_keyset.c -- tests of daemon/keyset.c, the per-group record of what
 * a group has done to each key: untouched keys are unknown, the last state
 * set wins, growth keeps every key, reserve makes the next sets infallible
 * and clear forgets the group.
 */
#include <stdint.h>

#include "keyset.h"
#include "testutil.h"

START_TEST(test_keyset_untouched_key_is_unknown)
{
    keyset ks = {0};
    ck_assert_int_eq(keyset_get(&ks, 42), KEYSET_UNKNOWN);
    ck_srd(keyset_set(&ks, 42, KEYSET_PRESENT));
    ck_assert_int_eq(keyset_get(&ks, 43), KEYSET_UNKNOWN);
    keyset_free(&ks);
}
END_TEST

START_TEST(test_keyset_last_state_set_wins)
{
    static const int states[] = {KEYSET_PRESENT, KEYSET_ABSENT, KEYSET_PRESENT};
    keyset ks = {0};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        ck_srd(keyset_set(&ks, 7, states[i]));
        ck_assert_int_eq(keyset_get(&ks, 7), states[i]);
    }
    ck_assert_uint_eq(ks.used, 1);
    keyset_free(&ks);
}
END_TEST

START_TEST(test_keyset_hash_zero_is_an_ordinary_key)
{
    keyset ks = {0};
    ck_srd(keyset_set(&ks, 0, KEYSET_ABSENT));
    ck_assert_int_eq(keyset_get(&ks, 0), KEYSET_ABSENT);
    keyset_free(&ks);
}
END_TEST

static uint64_t mixed(uint64_t i)
{
    return (i + 1) * 0x9E3779B97F4A7C15ull;
}

START_TEST(test_keyset_growth_keeps_every_key)
{
    keyset ks = {0};
    const uint64_t n = 100000;
    for (uint64_t i = 0; i < n; i++)
        tu_require(keyset_set(&ks, mixed(i), (i & 1) ? KEYSET_ABSENT
                                                     : KEYSET_PRESENT) == SRD_OK,
                   "set %llu failed", (unsigned long long)i);
    for (uint64_t i = 0; i < n; i++)
        tu_require(keyset_get(&ks, mixed(i)) ==
                       ((i & 1) ? KEYSET_ABSENT : KEYSET_PRESENT),
                   "key %llu lost its state", (unsigned long long)i);
    ck_assert_uint_eq(ks.used, n);
    ck_assert_uint_ge(ks.cap, 2 * n);
    keyset_free(&ks);
}
END_TEST

/* Hashes that share their low bits all want the same home slot. */
START_TEST(test_keyset_colliding_hashes_stay_apart)
{
    keyset ks = {0};
    for (uint64_t i = 1; i <= 300; i++)
        ck_srd(keyset_set(&ks, i << 32, KEYSET_PRESENT));
    ck_srd(keyset_set(&ks, 150ull << 32, KEYSET_ABSENT));
    for (uint64_t i = 1; i <= 300; i++)
        ck_assert_int_eq(keyset_get(&ks, i << 32),
                         i == 150 ? KEYSET_ABSENT : KEYSET_PRESENT);
    ck_assert_int_eq(keyset_get(&ks, 301ull << 32), KEYSET_UNKNOWN);
    keyset_free(&ks);
}
END_TEST

START_TEST(test_keyset_reserve_makes_room_for_the_next_sets)
{
    keyset ks = {0};
    ck_srd(keyset_reserve(&ks, 5000));
    size_t cap = ks.cap;
    ck_assert_uint_ge(cap, 5000);
    for (uint64_t i = 1; i <= 5000; i++)
        tu_require(keyset_set(&ks, mixed(i), KEYSET_PRESENT) == SRD_OK,
                   "set after reserve failed");
    ck_assert_uint_eq(ks.cap, cap); /* no growth was needed */
    keyset_free(&ks);
}
END_TEST

START_TEST(test_keyset_clear_forgets_the_group)
{
    keyset ks = {0};
    for (uint64_t i = 1; i <= 20000; i++)
        ck_srd(keyset_set(&ks, i, KEYSET_PRESENT));
    keyset_clear(&ks);
    ck_assert_uint_eq(ks.used, 0);
    for (uint64_t i = 1; i <= 20000; i++)
        tu_require(keyset_get(&ks, i) == KEYSET_UNKNOWN,
                   "key %llu survived clear", (unsigned long long)i);
    ck_srd(keyset_set(&ks, 5, KEYSET_ABSENT));
    ck_assert_int_eq(keyset_get(&ks, 5), KEYSET_ABSENT);
    keyset_free(&ks);
    keyset_free(&ks); /* freeing twice is harmless */
}
END_TEST

static Suite *keyset_suite(void)
{
    Suite *s = suite_create("keyset");
    TCase *tc = tcase_create("keyset");
    tcase_add_test(tc, test_keyset_untouched_key_is_unknown);
    tcase_add_test(tc, test_keyset_last_state_set_wins);
    tcase_add_test(tc, test_keyset_hash_zero_is_an_ordinary_key);
    tcase_add_test(tc, test_keyset_growth_keeps_every_key);
    tcase_add_test(tc, test_keyset_colliding_hashes_stay_apart);
    tcase_add_test(tc, test_keyset_reserve_makes_room_for_the_next_sets);
    tcase_add_test(tc, test_keyset_clear_forgets_the_group);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(keyset_suite());
}
