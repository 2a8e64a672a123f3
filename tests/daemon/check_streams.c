/* SPDX-License-Identifier: MIT */
/*
 * check_streams.c -- tests of daemon/streams.c: chunked uploads staged in
 * unnamed files next to the store. Chunks append in order with their CRC,
 * a stream belongs to its client, one connection holds at most
 * STREAMS_PER_OWNER streams, a closed connection's streams go, a full
 * table refuses a new stream unless one was idle long enough to reclaim
 * (the one idle longest), and the reaper drops idle streams.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "streams.h"
#include "testutil.h"
#include "wire.h"

/* Long enough that nothing is reaped or reclaimed while a test runs. */
#define IDLE_NEVER 600000u

static char *g_dir;
static char *g_store;
static streams *g_ss;
static char g_why[SRDI_WIRE_WHY];

static void setup(void)
{
    tu_fixture_begin(&g_dir, &g_store);
    g_ss = NULL;
    memset(g_why, 0, sizeof g_why);
}

static void teardown(void)
{
    streams_destroy(g_ss);
    tu_fixture_end(&g_dir, &g_store);
}

static void make(unsigned idle_ms, size_t max_open)
{
    ck_srd(streams_create(g_store, idle_ms, max_open, &g_ss));
}

static uint64_t begin(uint64_t cid, uint32_t owner)
{
    uint64_t id = 0;
    ck_srd(streams_begin(g_ss, cid, owner, 0x1234, &id, g_why));
    ck_assert_uint_ne(id, 0);
    return id;
}

static srd_err chunk(uint64_t cid, uint64_t id, const char *s)
{
    return streams_chunk(g_ss, cid, id, s, strlen(s), g_why);
}

static void msleep(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The why of the last call names the problem. */
static void expect_why(const char *part)
{
    ck_assert_msg(strstr(g_why, part) != NULL, "why '%s' lacks '%s'", g_why,
                  part);
}

START_TEST(test_chunks_stage_in_order_with_their_crc)
{
    make(IDLE_NEVER, 8);
    uint64_t id = begin(7, 1);
    ck_srd(chunk(7, id, "hello, "));
    ck_srd(chunk(7, id, "staged "));
    ck_srd(chunk(7, id, "world"));
    stream_staged st;
    ck_srd(streams_take(g_ss, 7, id, &st, g_why));
    const char *want = "hello, staged world";
    ck_assert_uint_eq(st.len, strlen(want));
    ck_assert_uint_eq(st.key_hash, 0x1234);
    ck_assert_uint_eq(st.first, 'h');
    ck_assert_uint_eq(st.crc, (uint32_t)crc32(0L, (const Bytef *)want,
                                              (uInt)strlen(want)));
    char buf[64] = {0};
    ck_assert_int_eq(pread(st.fd, buf, sizeof buf, 0), (ssize_t)strlen(want));
    ck_assert_str_eq(buf, want);
    streams_staged_close(&st);
    ck_assert_int_eq(st.fd, -1);
    ck_assert_uint_eq(streams_count(g_ss), 0);
}
END_TEST

START_TEST(test_staging_file_is_unnamed_in_the_store_folder)
{
    make(IDLE_NEVER, 8);
    uint64_t id = begin(1, 1);
    ck_srd(chunk(1, id, "bytes"));
    stream_staged st;
    ck_srd(streams_take(g_ss, 1, id, &st, g_why));
    char link[64], where[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", st.fd);
    ssize_t n = readlink(link, where, sizeof where - 1);
    ck_assert_int_gt(n, 0);
    where[n] = '\0';
    ck_assert_msg(strncmp(where, g_dir, strlen(g_dir)) == 0,
                  "staged in %s, not in %s", where, g_dir);
    ck_assert_msg(strstr(where, "(deleted)") != NULL || strstr(where, "#"),
                  "staging file %s has a name", where);
    streams_staged_close(&st);
}
END_TEST

START_TEST(test_missing_store_folder_fails_with_a_reason)
{
    char *gone = tu_join(g_dir, "no-such-dir/store.srd");
    ck_srd(streams_create(gone, IDLE_NEVER, 8, &g_ss));
    uint64_t id = 0;
    srd_err rc = streams_begin(g_ss, 1, 1, 0, &id, g_why);
    ck_assert_int_eq(rc, SRD_ENOENT); /* srdi_errno (errno_map.h) */
    expect_why("staging file");
    ck_assert_uint_eq(streams_count(g_ss), 0);
    free(gone);
}
END_TEST

START_TEST(test_take_removes_the_stream)
{
    make(IDLE_NEVER, 8);
    uint64_t id = begin(1, 1);
    ck_srd(chunk(1, id, "x1"));
    stream_staged st;
    ck_srd(streams_take(g_ss, 1, id, &st, g_why));
    streams_staged_close(&st);
    ck_assert_int_eq(chunk(1, id, "x2"), SRD_ENOTFOUND);
    expect_why("unknown stream");
    ck_assert_int_eq(streams_take(g_ss, 1, id, &st, g_why), SRD_ENOTFOUND);
}
END_TEST

START_TEST(test_other_clients_stream_is_not_found)
{
    make(IDLE_NEVER, 8);
    uint64_t id = begin(1, 1);
    ck_assert_int_eq(chunk(2, id, "intruder"), SRD_ENOTFOUND);
    stream_staged st;
    ck_assert_int_eq(streams_take(g_ss, 2, id, &st, g_why), SRD_ENOTFOUND);
    /* the owner's stream is untouched by the refused calls */
    ck_srd(chunk(1, id, "mine"));
    ck_srd(streams_take(g_ss, 1, id, &st, g_why));
    ck_assert_uint_eq(st.len, 4);
    streams_staged_close(&st);
}
END_TEST

START_TEST(test_ids_are_distinct_and_not_zero)
{
    make(IDLE_NEVER, 64);
    uint64_t ids[64];
    for (int i = 0; i < 64; i++) {
        ids[i] = begin(1, (uint32_t)i);
        for (int j = 0; j < i; j++)
            ck_assert_uint_ne(ids[i], ids[j]);
    }
    ck_assert_uint_eq(streams_count(g_ss), 64);
}
END_TEST

START_TEST(test_one_connection_holds_at_most_its_quota)
{
    make(IDLE_NEVER, STREAMS_PER_OWNER + 8);
    for (unsigned i = 0; i < STREAMS_PER_OWNER; i++)
        begin(1, 5);
    uint64_t id = 0;
    ck_assert_int_eq(streams_begin(g_ss, 1, 5, 0, &id, g_why), SRD_EBUSY);
    expect_why("this connection has");
    /* another client on the same connection counts against it too */
    ck_assert_int_eq(streams_begin(g_ss, 2, 5, 0, &id, g_why), SRD_EBUSY);
    /* another connection still gets a slot */
    begin(1, 6);
    ck_assert_uint_eq(streams_count(g_ss), STREAMS_PER_OWNER + 1);
}
END_TEST

START_TEST(test_full_table_without_idle_stream_refuses)
{
    make(IDLE_NEVER, 2);
    uint64_t a = begin(1, 1), b = begin(2, 2), id = 0;
    ck_assert_int_eq(streams_begin(g_ss, 3, 3, 0, &id, g_why), SRD_EBUSY);
    expect_why("too many open streams");
    ck_assert_uint_eq(streams_count(g_ss), 2);
    ck_srd(chunk(1, a, "still here"));
    ck_srd(chunk(2, b, "still here"));
}
END_TEST

START_TEST(test_full_table_reclaims_the_stream_idle_longest)
{
    /* reclaim after 500 ms idle; the reaper only after 4 s */
    make(4000, 2);
    ck_assert_uint_eq(streams_reclaim_ms(g_ss), 500);
    uint64_t old = begin(1, 1), fresh = begin(2, 2);
    msleep(600);
    ck_srd(chunk(2, fresh, "keeps it busy"));
    uint64_t c = begin(3, 3);
    ck_assert_uint_eq(streams_count(g_ss), 2);
    ck_assert_int_eq(chunk(1, old, "late"), SRD_ENOTFOUND);
    ck_srd(chunk(2, fresh, " and alive"));
    ck_srd(chunk(3, c, "new"));
}
END_TEST

START_TEST(test_reclaim_wait_is_an_eighth_of_idle_at_most_5s)
{
    make(800, 1);
    ck_assert_uint_eq(streams_reclaim_ms(g_ss), 100);
    streams_destroy(g_ss);
    make(IDLE_NEVER, 1);
    ck_assert_uint_eq(streams_reclaim_ms(g_ss), 5000);
}
END_TEST

START_TEST(test_closed_connection_loses_only_its_streams)
{
    make(IDLE_NEVER, 8);
    uint64_t a1 = begin(1, 1), a2 = begin(1, 1), b = begin(2, 2);
    streams_drop_owner(g_ss, 1);
    ck_assert_uint_eq(streams_count(g_ss), 1);
    ck_assert_int_eq(chunk(1, a1, "x"), SRD_ENOTFOUND);
    ck_assert_int_eq(chunk(1, a2, "x"), SRD_ENOTFOUND);
    ck_srd(chunk(2, b, "x"));
    /* its quota is free again */
    for (unsigned i = 0; i < 4; i++)
        begin(1, 1);
}
END_TEST

START_TEST(test_reaper_drops_idle_stream)
{
    make(100, 8);
    uint64_t id = begin(1, 1);
    ck_srd(chunk(1, id, "abandoned"));
    /* Waits for the reaper, however slow the machine: no timing asserted. */
    for (int i = 0; i < 2000 && streams_count(g_ss) > 0; i++)
        msleep(10);
    ck_assert_uint_eq(streams_count(g_ss), 0);
    ck_assert_int_eq(chunk(1, id, "too late"), SRD_ENOTFOUND);
}
END_TEST

START_TEST(test_destroy_of_null_does_nothing)
{
    streams_destroy(NULL);
    stream_staged st = {.fd = -1};
    streams_staged_close(&st);
    streams_staged_close(NULL);
    ck_assert_int_eq(st.fd, -1);
}
END_TEST

static Suite *streams_suite(void)
{
    Suite *s = suite_create("streams");
    TCase *tc = tcase_create("staging");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_chunks_stage_in_order_with_their_crc);
    tcase_add_test(tc, test_staging_file_is_unnamed_in_the_store_folder);
    tcase_add_test(tc, test_missing_store_folder_fails_with_a_reason);
    tcase_add_test(tc, test_take_removes_the_stream);
    tcase_add_test(tc, test_other_clients_stream_is_not_found);
    tcase_add_test(tc, test_ids_are_distinct_and_not_zero);
    tcase_add_test(tc, test_destroy_of_null_does_nothing);
    suite_add_tcase(s, tc);
    tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_one_connection_holds_at_most_its_quota);
    tcase_add_test(tc, test_full_table_without_idle_stream_refuses);
    tcase_add_test(tc, test_full_table_reclaims_the_stream_idle_longest);
    tcase_add_test(tc, test_reclaim_wait_is_an_eighth_of_idle_at_most_5s);
    tcase_add_test(tc, test_closed_connection_loses_only_its_streams);
    tcase_add_test(tc, test_reaper_drops_idle_stream);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(streams_suite());
}
