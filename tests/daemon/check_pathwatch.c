/* SPDX-License-Identifier: MIT */
/*
 * check_pathwatch.c -- tests of daemon/pathwatch.c: the store path still
 * names the file srdd writes, whole. A path removed, replaced by another
 * file or cut below the tail fails the check, for good and with a reason;
 * a file that grew and srdd's own compaction (a rename over the path)
 * pass it. The split check of a group (pathwatch_whole before its
 * appends, pathwatch_ok_seen before its replies) gives the same verdicts.
 */
#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pathwatch.h"
#include "testutil.h"
#include "wire.h"

static char *g_dir;
static char *g_store;
static srd_store *g_st;
static pathwatch *g_pw;
static char g_why[SRDI_WIRE_WHY];

static void setup(void)
{
    tu_fixture_begin(&g_dir, &g_store);
    ck_srd(tu_open(g_store, SRD_OPEN_CREATE | SRD_OPEN_EMBEDDED, &g_st));
    ck_srd(srd_put(g_st, tu_s("k1"), tu_s("a value srdd acknowledged")));
    ck_srd(srd_put(g_st, tu_s("k2"), tu_s("and another one")));
    ck_srd(pathwatch_create(g_st, g_store, &g_pw));
    memset(g_why, 0, sizeof g_why);
}

static void teardown(void)
{
    pathwatch_destroy(g_pw);
    srd_close(g_st);
    tu_fixture_end(&g_dir, &g_store);
}

/* The check fails now, and stays failed, with a why naming part. */
static void expect_lost(const char *part)
{
    ck_assert(!pathwatch_ok(g_pw, g_why));
    ck_assert_msg(strstr(g_why, part) != NULL, "why '%s' lacks '%s'", g_why,
                  part);
    ck_assert_msg(strstr(g_why, "acknowledges no more writes") != NULL,
                  "why '%s' does not say writes stop", g_why);
    char again[SRDI_WIRE_WHY];
    ck_assert(pathwatch_failed(g_pw, again));
    ck_assert_str_eq(again, g_why);
    ck_assert(!pathwatch_ok(g_pw, NULL));
}

START_TEST(test_healthy_store_passes)
{
    ck_assert(pathwatch_ok(g_pw, g_why));
    ck_assert(!pathwatch_failed(g_pw, g_why));
    ck_srd(srd_put(g_st, tu_s("k3"), tu_s("more")));
    ck_assert(pathwatch_ok(g_pw, NULL));
}
END_TEST

START_TEST(test_removed_path_is_detected)
{
    ck_assert_int_eq(unlink(g_store), 0);
    expect_lost("is gone");
}
END_TEST

START_TEST(test_moved_away_path_fails_for_good)
{
    char *aside = tu_join(g_dir, "aside.srd");
    ck_assert_int_eq(rename(g_store, aside), 0);
    expect_lost("removed or moved away");
    /* moving it back does not undo the verdict */
    ck_assert_int_eq(rename(aside, g_store), 0);
    ck_assert(!pathwatch_ok(g_pw, NULL));
    ck_assert(pathwatch_failed(g_pw, NULL));
    free(aside);
}
END_TEST

START_TEST(test_replaced_path_is_detected)
{
    char *other = tu_join(g_dir, "other.srd");
    ck_assert_int_eq(tu_copy_file(g_store, other), 0);
    ck_assert_int_eq(rename(other, g_store), 0);
    expect_lost("names another file");
    free(other);
}
END_TEST

START_TEST(test_truncated_file_is_detected)
{
    uint64_t tail = 0;
    ck_srd(srd_tail(g_st, &tail));
    ck_assert_int_eq(truncate(g_store, (off_t)tail - 1), 0);
    expect_lost("was cut to");
}
END_TEST

/* The reason goes to clients in SRDI_WIRE_WHY bytes: a long store path
 * must not cut it short. */
START_TEST(test_long_store_path_keeps_the_whole_reason)
{
    char name[120];
    memset(name, 'd', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    char *deep = tu_join(g_dir, name);
    ck_assert_int_eq(mkdir(deep, 0700), 0);
    char *path = tu_join(deep, "store.srd");
    srd_store *st = NULL;
    pathwatch *pw = NULL;
    ck_srd(tu_open(path, SRD_OPEN_CREATE | SRD_OPEN_EMBEDDED, &st));
    ck_srd(srd_put(st, tu_s("k"), tu_s("v1")));
    ck_srd(pathwatch_create(st, path, &pw));
    ck_assert_int_eq(unlink(path), 0);
    ck_assert(!pathwatch_ok(pw, g_why));
    const char *end = "restart it";
    size_t n = strlen(g_why);
    ck_assert_msg(n >= strlen(end) && strcmp(g_why + n - strlen(end), end) == 0,
                  "reason cut short: '%s'", g_why);
    ck_assert_msg(strstr(g_why, "removed or moved away") != NULL,
                  "reason '%s' lacks what happened", g_why);
    pathwatch_destroy(pw);
    srd_close(st);
    free(path);
    free(deep);
}
END_TEST

START_TEST(test_file_grown_past_tail_passes)
{
    uint64_t tail = 0;
    ck_srd(srd_tail(g_st, &tail));
    ck_assert_int_eq(truncate(g_store, (off_t)tail + 4096), 0);
    ck_assert(pathwatch_ok(g_pw, g_why));
}
END_TEST

START_TEST(test_compaction_renaming_over_path_passes)
{
    ck_srd(srd_put(g_st, tu_s("k1"), tu_s("replaced, the old one is dead")));
    uint64_t reclaimed = 0;
    ck_srd(srd_compact(g_st, &reclaimed));
    ck_assert_uint_gt(reclaimed, 0);
    ck_assert(pathwatch_ok(g_pw, g_why));
    /* and the watch follows the new file: removing it is still caught */
    ck_assert_int_eq(unlink(g_store), 0);
    expect_lost("is gone");
}
END_TEST

START_TEST(test_destroy_of_null_does_nothing)
{
    pathwatch_destroy(NULL);
    ck_assert(pathwatch_ok(g_pw, NULL));
}
END_TEST

/* ======================================================================== */
/* The split check of a group                                               */
/* ======================================================================== */

/* pathwatch_whole passes and sees the store file; ok_seen fails now with
 * a why naming part, for good, as the whole check does. */
static void expect_seen_lost(const pathwatch_seen *seen, const char *part)
{
    ck_assert(!pathwatch_ok_seen(g_pw, seen, g_why));
    ck_assert_msg(strstr(g_why, part) != NULL, "why '%s' lacks '%s'", g_why,
                  part);
    ck_assert(pathwatch_failed(g_pw, NULL));
    ck_assert(!pathwatch_ok(g_pw, NULL));
}

static void whole_sees_the_store(pathwatch_seen *seen)
{
    struct stat sb;
    ck_assert_int_eq(stat(g_store, &sb), 0);
    ck_assert(pathwatch_whole(g_pw, seen, g_why));
    ck_assert(seen->valid);
    ck_assert_uint_eq(seen->dev, (uint64_t)sb.st_dev);
    ck_assert_uint_eq(seen->ino, (uint64_t)sb.st_ino);
}

START_TEST(test_split_check_passes_a_healthy_group)
{
    pathwatch_seen seen;
    whole_sees_the_store(&seen);
    ck_srd(srd_put(g_st, tu_s("k3"), tu_s("the group's append")));
    ck_assert(pathwatch_ok_seen(g_pw, &seen, g_why));
    ck_assert(pathwatch_ok_seen(g_pw, NULL, g_why));
    ck_assert(!pathwatch_failed(g_pw, NULL));
}
END_TEST

/* Cut short before the appends, which would fill the gap: caught first. */
START_TEST(test_whole_catches_a_cut_before_the_appends)
{
    uint64_t tail = 0;
    ck_srd(srd_tail(g_st, &tail));
    ck_assert_int_eq(truncate(g_store, (off_t)tail - 1), 0);
    pathwatch_seen seen;
    ck_assert(!pathwatch_whole(g_pw, &seen, g_why));
    ck_assert(!seen.valid);
    ck_assert_msg(strstr(g_why, "was cut to") != NULL, "why '%s'", g_why);
    ck_assert(!pathwatch_ok(g_pw, NULL));
}
END_TEST

START_TEST(test_seen_check_catches_a_cut_during_the_group)
{
    pathwatch_seen seen;
    whole_sees_the_store(&seen);
    ck_srd(srd_put(g_st, tu_s("k3"), tu_s("the group's append")));
    uint64_t tail = 0;
    ck_srd(srd_tail(g_st, &tail));
    ck_assert_int_eq(truncate(g_store, (off_t)tail - 1), 0);
    expect_seen_lost(&seen, "was cut to");
}
END_TEST

START_TEST(test_seen_check_catches_a_move_during_the_group)
{
    pathwatch_seen seen;
    whole_sees_the_store(&seen);
    char *aside = tu_join(g_dir, "aside.srd");
    ck_assert_int_eq(rename(g_store, aside), 0);
    expect_seen_lost(&seen, "removed or moved away");
    free(aside);
}
END_TEST

START_TEST(test_seen_check_catches_a_replacement_during_the_group)
{
    pathwatch_seen seen;
    whole_sees_the_store(&seen);
    char *other = tu_join(g_dir, "other.srd");
    ck_assert_int_eq(tu_copy_file(g_store, other), 0);
    ck_assert_int_eq(rename(other, g_store), 0);
    expect_seen_lost(&seen, "names another file");
    free(other);
}
END_TEST

/* A seen that no longer describes the writer's file (the caller broke
 * the rule: a compaction switched it) only costs the whole check, whose
 * verdict stands: the path names the file written. */
START_TEST(test_stale_seen_gets_the_whole_check)
{
    pathwatch_seen seen;
    whole_sees_the_store(&seen);
    ck_srd(srd_put(g_st, tu_s("k1"), tu_s("replaced, the old one is dead")));
    uint64_t reclaimed = 0;
    ck_srd(srd_compact(g_st, &reclaimed));
    ck_assert(pathwatch_ok_seen(g_pw, &seen, g_why));
    pathwatch_seen invalid = {0};
    ck_assert(pathwatch_ok_seen(g_pw, &invalid, g_why));
    ck_assert_int_eq(unlink(g_store), 0);
    expect_seen_lost(&seen, "is gone");
}
END_TEST

/* Once lost, both halves refuse without looking. */
START_TEST(test_split_check_stays_failed)
{
    ck_assert_int_eq(unlink(g_store), 0);
    ck_assert(!pathwatch_ok(g_pw, NULL));
    pathwatch_seen seen;
    ck_assert(!pathwatch_whole(g_pw, &seen, g_why));
    ck_assert(!seen.valid);
    ck_assert_msg(strstr(g_why, "is gone") != NULL, "why '%s'", g_why);
    ck_assert(!pathwatch_ok_seen(g_pw, NULL, NULL));
}
END_TEST

static Suite *pathwatch_suite(void)
{
    Suite *s = suite_create("pathwatch");
    TCase *tc = tcase_create("path");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_healthy_store_passes);
    tcase_add_test(tc, test_removed_path_is_detected);
    tcase_add_test(tc, test_moved_away_path_fails_for_good);
    tcase_add_test(tc, test_replaced_path_is_detected);
    tcase_add_test(tc, test_truncated_file_is_detected);
    tcase_add_test(tc, test_long_store_path_keeps_the_whole_reason);
    tcase_add_test(tc, test_file_grown_past_tail_passes);
    tcase_add_test(tc, test_compaction_renaming_over_path_passes);
    tcase_add_test(tc, test_destroy_of_null_does_nothing);
    suite_add_tcase(s, tc);
    tc = tcase_create("split");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_split_check_passes_a_healthy_group);
    tcase_add_test(tc, test_whole_catches_a_cut_before_the_appends);
    tcase_add_test(tc, test_seen_check_catches_a_cut_during_the_group);
    tcase_add_test(tc, test_seen_check_catches_a_move_during_the_group);
    tcase_add_test(tc, test_seen_check_catches_a_replacement_during_the_group);
    tcase_add_test(tc, test_stale_seen_gets_the_whole_check);
    tcase_add_test(tc, test_split_check_stays_failed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(pathwatch_suite());
}
