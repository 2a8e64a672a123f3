/* SPDX-License-Identifier: MIT */
/*
 * check_pathwatch.c -- tests of daemon/pathwatch.c: the store path still
 * names the file srdd writes, whole. A path removed, replaced by another
 * file or cut below the tail fails the check, for good and with a reason;
 * a file that grew and srdd's own compaction (a rename over the path)
 * pass it. The check of a group (pathwatch_group: one stat, compared with
 * the identity the writer recorded for its file) gives the same verdicts,
 * and follows the writer to the file a compaction switched it to.
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
/* The check of a group                                                     */
/* ======================================================================== */

/* pathwatch_group fails now with a why naming part, for good, as the
 * whole check does. */
static void expect_group_lost(const char *part)
{
    ck_assert(!pathwatch_group(g_pw, g_why));
    ck_assert_msg(strstr(g_why, part) != NULL, "why '%s' lacks '%s'", g_why,
                  part);
    ck_assert_msg(strstr(g_why, "acknowledges no more writes") != NULL,
                  "why '%s' does not say writes stop", g_why);
    ck_assert(pathwatch_failed(g_pw, NULL));
    ck_assert(!pathwatch_ok(g_pw, NULL));
    ck_assert(!pathwatch_group(g_pw, NULL));
}

START_TEST(test_group_check_passes_healthy_groups)
{
    ck_assert(pathwatch_group(g_pw, g_why));
    ck_srd(srd_put(g_st, tu_s("k3"), tu_s("the group's append")));
    ck_assert(pathwatch_group(g_pw, g_why));
    uint64_t tail = 0;
    ck_srd(srd_tail(g_st, &tail));
    ck_assert_int_eq(truncate(g_store, (off_t)tail + 4096), 0);
    ck_assert(pathwatch_group(g_pw, g_why));
    ck_assert(!pathwatch_failed(g_pw, NULL));
}
END_TEST

/* Cut short before the appends, which would fill the gap: caught first. */
START_TEST(test_group_check_catches_a_cut)
{
    uint64_t tail = 0;
    ck_srd(srd_tail(g_st, &tail));
    ck_assert_int_eq(truncate(g_store, (off_t)tail - 1), 0);
    expect_group_lost("was cut to");
}
END_TEST

START_TEST(test_group_check_catches_a_removal)
{
    ck_assert(pathwatch_group(g_pw, g_why));
    ck_assert_int_eq(unlink(g_store), 0);
    expect_group_lost("is gone");
}
END_TEST

START_TEST(test_group_check_catches_a_move)
{
    ck_assert(pathwatch_group(g_pw, g_why));
    char *aside = tu_join(g_dir, "aside.srd");
    ck_assert_int_eq(rename(g_store, aside), 0);
    expect_group_lost("removed or moved away");
    free(aside);
}
END_TEST

START_TEST(test_group_check_catches_a_replacement)
{
    ck_assert(pathwatch_group(g_pw, g_why));
    char *other = tu_join(g_dir, "other.srd");
    ck_assert_int_eq(tu_copy_file(g_store, other), 0);
    ck_assert_int_eq(rename(other, g_store), 0);
    expect_group_lost("names another file");
    free(other);
}
END_TEST

/* The identity compared is the writer's own, taken when it switched
 * files: after a compaction the new file passes, and the old file put
 * back at the path (through a hard link kept from before) is another
 * file, although it was the writer's once. */
START_TEST(test_group_check_follows_the_writer_to_a_new_file)
{
    char *keep = tu_join(g_dir, "old-link.srd");
    ck_assert_int_eq(link(g_store, keep), 0);
    ck_srd(srd_put(g_st, tu_s("k1"), tu_s("replaced, the old one is dead")));
    uint64_t reclaimed = 0;
    ck_srd(srd_compact(g_st, &reclaimed));
    ck_assert_uint_gt(reclaimed, 0);
    ck_assert(pathwatch_group(g_pw, g_why));
    ck_srd(srd_put(g_st, tu_s("k4"), tu_s("into the new file")));
    ck_assert(pathwatch_group(g_pw, g_why));
    ck_assert_int_eq(rename(keep, g_store), 0);
    expect_group_lost("names another file");
    free(keep);
}
END_TEST

/* Once lost, the group check refuses without looking: the file moved
 * back to its path does not undo the verdict. */
START_TEST(test_group_check_stays_failed)
{
    char *aside = tu_join(g_dir, "aside.srd");
    ck_assert_int_eq(rename(g_store, aside), 0);
    ck_assert(!pathwatch_ok(g_pw, NULL));
    ck_assert_int_eq(rename(aside, g_store), 0);
    ck_assert(!pathwatch_group(g_pw, g_why));
    ck_assert_msg(strstr(g_why, "removed or moved away") != NULL, "why '%s'",
                  g_why);
    free(aside);
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
    tc = tcase_create("group");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_group_check_passes_healthy_groups);
    tcase_add_test(tc, test_group_check_catches_a_cut);
    tcase_add_test(tc, test_group_check_catches_a_removal);
    tcase_add_test(tc, test_group_check_catches_a_move);
    tcase_add_test(tc, test_group_check_catches_a_replacement);
    tcase_add_test(tc, test_group_check_follows_the_writer_to_a_new_file);
    tcase_add_test(tc, test_group_check_stays_failed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(pathwatch_suite());
}
