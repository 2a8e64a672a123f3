/* SPDX-License-Identifier: MIT */
/*
 * check_crcrange.c -- tests of libclient/crcrange.c: every range CRC equals
 * zlib's CRC of the same bytes (ends moving up and down, starts above and
 * below the anchor, across table steps), the bytes read stay near one pass
 * of the file for the access pattern of a torn region, the budget is
 * honoured, and ranges outside the file are refused.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "crcrange.h"
#include "testutil.h"

static char *dir;
static char *path;
static uint8_t *data;
static size_t data_len;
static int fd = -1;

static uint32_t zlib_crc(uint64_t start, uint64_t len)
{
    return (uint32_t)crc32(0L, (const Bytef *)data + start, (uInt)len);
}

/* A file of n bytes: random, with runs of zeros (like pads) here and
 * there. */
static void make_file(size_t n)
{
    dir = tu_tmpdir();
    path = tu_join(dir, "bytes.bin");
    data = malloc(n);
    ck_assert_ptr_nonnull(data);
    uint64_t seed = 42;
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)tu_rand(&seed);
    for (size_t i = 0; i + 64 < n; i += 64 + tu_rand(&seed) % 512)
        memset(data + i, 0, 1 + tu_rand(&seed) % 60);
    data_len = n;
    ck_assert_int_eq(tu_write_file(path, data, n), 0);
    fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
}

static void teardown(void)
{
    if (fd >= 0)
        close(fd);
    fd = -1;
    tu_rmtree(dir);
    free(path);
    free(dir);
    free(data);
}

static void expect_range(srdi_crcrange *q, uint64_t start, uint64_t len)
{
    uint32_t c = 0;
    ck_assert_msg(srdi_crcrange_get(q, start, len, &c),
                  "range [%llu, +%llu) refused", (unsigned long long)start,
                  (unsigned long long)len);
    ck_assert_msg(c == zlib_crc(start, len),
                  "range [%llu, +%llu): %08x, zlib says %08x",
                  (unsigned long long)start, (unsigned long long)len, c,
                  zlib_crc(start, len));
}

START_TEST(test_random_ranges_match_zlib)
{
    make_file(300000);
    srdi_crcrange q;
    srdi_crcrange_init(&q, fd, data_len, UINT64_MAX);
    uint64_t seed = 7;
    for (int i = 0; i < 3000; i++) {
        uint64_t a = tu_rand(&seed) % data_len;
        uint64_t len = tu_rand(&seed) % (data_len - a + 1);
        expect_range(&q, a, len);
    }
    srdi_crcrange_fini(&q);
}
END_TEST

START_TEST(test_ends_walking_down_and_up_with_alternating_starts_match)
{
    make_file(200000);
    srdi_crcrange q;
    srdi_crcrange_init(&q, fd, data_len, UINT64_MAX);
    const uint64_t starts[] = {5000, 0, 12345, 64, 99999};
    int k = 0;
    /* down by 1..40 bytes, as a backward search does; then back up */
    for (uint64_t end = data_len; end > 150000; end -= 1 + end % 40, k++)
        expect_range(&q, starts[k % 5], end - starts[k % 5]);
    for (uint64_t end = 150000; end < data_len; end += 1 + end % 3000, k++)
        expect_range(&q, starts[k % 5], end - starts[k % 5]);
    /* moves of exactly one step, and of one byte more and less */
    for (uint64_t d = q.step - 1; d <= q.step + 1; d++) {
        expect_range(&q, 0, 100000);
        expect_range(&q, 0, 100000 - d);
        expect_range(&q, 0, 100000);
    }
    expect_range(&q, 7, 0);
    srdi_crcrange_fini(&q);
}
END_TEST

START_TEST(test_a_torn_region_costs_about_one_pass_of_the_file)
{
    make_file(4u << 20);
    const uint64_t budget = UINT64_MAX;
    srdi_crcrange q;
    srdi_crcrange_init(&q, fd, data_len, budget);
    /* 30000 candidates in the last 200 KB, with payloads from 20 starts
     * spread over the file: CRCing each afresh would read ~120 GB. */
    int k = 0;
    for (uint64_t end = data_len; end > data_len - 200000; end -= 7, k++) {
        uint64_t start = (uint64_t)(k % 20) * 4096 * 13 + 1000;
        uint32_t c;
        ck_assert(srdi_crcrange_get(&q, start, end - start, &c));
        if (k % 997 == 0)
            ck_assert_uint_eq(c, zlib_crc(start, end - start));
    }
    uint64_t read = budget - q.budget;
    ck_assert_msg(read <= 2 * data_len, "read %llu bytes for a %zu-byte file",
                  (unsigned long long)read, data_len);
    srdi_crcrange_fini(&q);
}
END_TEST

START_TEST(test_budget_is_honoured)
{
    make_file(100000);
    srdi_crcrange q;
    srdi_crcrange_init(&q, fd, data_len, 5000);
    uint32_t c;
    ck_assert(!srdi_crcrange_get(&q, 0, 50000, &c));
    ck_assert(q.over_budget);
    srdi_crcrange_fini(&q);
}
END_TEST

START_TEST(test_ranges_outside_the_file_are_refused)
{
    make_file(10000);
    srdi_crcrange q;
    srdi_crcrange_init(&q, fd, data_len, UINT64_MAX);
    uint32_t c;
    ck_assert(!srdi_crcrange_get(&q, 9000, 1001, &c));
    ck_assert(!srdi_crcrange_get(&q, 10001, 0, &c));
    ck_assert(!srdi_crcrange_get(&q, UINT64_MAX, 2, &c));
    expect_range(&q, 9000, 1000);
    ck_assert(!q.over_budget);
    /* a file shorter than it was said to be: refused, not a crash */
    srdi_crcrange_fini(&q);
    srdi_crcrange_init(&q, fd, 2 * data_len, UINT64_MAX);
    ck_assert(!srdi_crcrange_get(&q, 0, 15000, &c));
    srdi_crcrange_fini(&q);
}
END_TEST

START_TEST(test_step_keeps_the_table_small_for_huge_files)
{
    srdi_crcrange q;
    srdi_crcrange_init(&q, -1, 1ull << 40, 0);
    ck_assert_uint_ge(q.step, 1024);
    ck_assert_uint_le((1ull << 40) / q.step, 1u << 20);
    srdi_crcrange_fini(&q);
    srdi_crcrange_init(&q, -1, 4096, 0);
    ck_assert_uint_eq(q.step, 1024);
    srdi_crcrange_fini(&q);
}
END_TEST

static Suite *crcrange_suite(void)
{
    Suite *s = suite_create("crcrange");
    TCase *tc = tcase_create("crcrange");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_random_ranges_match_zlib);
    tcase_add_test(tc, test_ends_walking_down_and_up_with_alternating_starts_match);
    tcase_add_test(tc, test_a_torn_region_costs_about_one_pass_of_the_file);
    tcase_add_test(tc, test_budget_is_honoured);
    tcase_add_test(tc, test_ranges_outside_the_file_are_refused);
    tcase_add_test(tc, test_step_keeps_the_table_small_for_huge_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(crcrange_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
