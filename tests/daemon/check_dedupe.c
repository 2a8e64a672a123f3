/* SPDX-License-Identifier: MIT */
/*
 * check_dedupe.c -- tests of daemon/dedupe.c, which applies each mutation
 * once per (client id, sequence): a new request, the same request while it
 * is applied and after, the window of remembered replies per client, the
 * floor below which a sequence is stale, and which clients a full table
 * forgets (the idlest, never one with a request in flight).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedupe.h"
#include "testutil.h"

typedef struct verdict {
    dedupe_verdict v;
    void *tag;
    uint8_t *resp;
    size_t len;
} verdict;

static verdict check(dedupe *d, uint64_t cid, uint64_t seq)
{
    verdict r;
    r.v = dedupe_check(d, cid, seq, &r.tag, &r.resp, &r.len);
    return r;
}

/* Begin and finish (cid, seq) with the reply "r<seq>". */
static void apply(dedupe *d, uint64_t cid, uint64_t seq, uint64_t now)
{
    char reply[32];
    int n = snprintf(reply, sizeof reply, "r%llu", (unsigned long long)seq);
    ck_srd(dedupe_begin(d, cid, seq, d, now));
    dedupe_finish(d, cid, seq, reply, (size_t)n);
}

static void expect_cached(dedupe *d, uint64_t cid, uint64_t seq)
{
    char want[32];
    int n = snprintf(want, sizeof want, "r%llu", (unsigned long long)seq);
    verdict r = check(d, cid, seq);
    ck_assert_msg(r.v == DEDUPE_CACHED, "(%llu, %llu) is not cached: %d",
                  (unsigned long long)cid, (unsigned long long)seq, r.v);
    ck_assert_uint_eq(r.len, (size_t)n);
    ck_assert(memcmp(r.resp, want, (size_t)n) == 0);
    free(r.resp);
}

START_TEST(test_dedupe_new_then_pending_then_cached)
{
    dedupe *d;
    ck_srd(dedupe_create(8, &d));
    ck_assert_int_eq(check(d, 1, 10).v, DEDUPE_NEW);
    int tag;
    ck_srd(dedupe_begin(d, 1, 10, &tag, 100));
    verdict r = check(d, 1, 10);
    ck_assert_int_eq(r.v, DEDUPE_PENDING);
    ck_assert_ptr_eq(r.tag, &tag);
    dedupe_finish(d, 1, 10, "r10", 3);
    expect_cached(d, 1, 10);
    expect_cached(d, 1, 10); /* a copy each time */
    ck_assert_int_eq(check(d, 2, 10).v, DEDUPE_NEW); /* another client */
    ck_assert_int_eq(check(d, 1, 11).v, DEDUPE_NEW);
    dedupe_destroy(d);
}
END_TEST

START_TEST(test_dedupe_window_keeps_the_last_replies_and_stales_older)
{
    dedupe *d;
    ck_srd(dedupe_create(8, &d));
    for (uint64_t seq = 1; seq <= DEDUPE_WINDOW + 4; seq++)
        apply(d, 7, seq, seq);
    for (uint64_t seq = 1; seq <= 4; seq++)
        ck_assert_int_eq(check(d, 7, seq).v, DEDUPE_STALE);
    for (uint64_t seq = 5; seq <= DEDUPE_WINDOW + 4; seq++)
        expect_cached(d, 7, seq);
    ck_assert_int_eq(check(d, 7, DEDUPE_WINDOW + 5).v, DEDUPE_NEW);
    dedupe_destroy(d);
}
END_TEST

START_TEST(test_dedupe_out_of_order_within_the_window_is_new)
{
    dedupe *d;
    ck_srd(dedupe_create(8, &d));
    apply(d, 3, 9, 1);
    apply(d, 3, 12, 2);
    ck_assert_int_eq(check(d, 3, 10).v, DEDUPE_NEW);
    ck_assert_int_eq(check(d, 3, 11).v, DEDUPE_NEW);
    apply(d, 3, 10, 3);
    expect_cached(d, 3, 10);
    dedupe_destroy(d);
}
END_TEST

START_TEST(test_dedupe_finish_without_reply_lets_a_retry_apply)
{
    dedupe *d;
    ck_srd(dedupe_create(8, &d));
    ck_srd(dedupe_begin(d, 5, 1, d, 1));
    dedupe_finish(d, 5, 1, NULL, 0);
    ck_assert_int_eq(check(d, 5, 1).v, DEDUPE_NEW);
    dedupe_finish(d, 5, 99, "x", 1); /* never begun: ignored */
    ck_assert_int_eq(check(d, 5, 99).v, DEDUPE_NEW);
    dedupe_destroy(d);
}
END_TEST

START_TEST(test_dedupe_full_table_forgets_the_idlest_client)
{
    dedupe *d;
    ck_srd(dedupe_create(2, &d));
    apply(d, 100, 1, 10);  /* heard at 10 */
    apply(d, 200, 1, 20);  /* heard at 20 */
    apply(d, 100, 2, 30);  /* 100 heard again at 30: 200 is the idlest */
    apply(d, 300, 1, 40);  /* a third client: 200 is forgotten */
    ck_assert_int_eq(check(d, 200, 1).v, DEDUPE_NEW);
    expect_cached(d, 100, 1);
    expect_cached(d, 300, 1);
    dedupe_destroy(d);
}
END_TEST

START_TEST(test_dedupe_client_with_a_request_in_flight_is_kept)
{
    dedupe *d;
    ck_srd(dedupe_create(2, &d));
    ck_srd(dedupe_begin(d, 100, 1, d, 10)); /* idlest, but in flight */
    apply(d, 200, 1, 20);
    apply(d, 300, 1, 30);                    /* forgets 200, not 100 */
    ck_assert_int_eq(check(d, 100, 1).v, DEDUPE_PENDING);
    ck_assert_int_eq(check(d, 200, 1).v, DEDUPE_NEW);
    dedupe_finish(d, 100, 1, "r1", 2);
    expect_cached(d, 100, 1);
    dedupe_destroy(d);
    dedupe_destroy(NULL);
}
END_TEST

static Suite *dedupe_suite(void)
{
    Suite *s = suite_create("dedupe");
    TCase *tc = tcase_create("dedupe");
    tcase_add_test(tc, test_dedupe_new_then_pending_then_cached);
    tcase_add_test(tc, test_dedupe_window_keeps_the_last_replies_and_stales_older);
    tcase_add_test(tc, test_dedupe_out_of_order_within_the_window_is_new);
    tcase_add_test(tc, test_dedupe_finish_without_reply_lets_a_retry_apply);
    tcase_add_test(tc, test_dedupe_full_table_forgets_the_idlest_client);
    tcase_add_test(tc, test_dedupe_client_with_a_request_in_flight_is_kept);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(dedupe_suite());
}
