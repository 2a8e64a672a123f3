/* SPDX-License-Identifier: MIT */
/*
 * check_generation.c -- tests of daemon/generation.c: the generation and
 * file identity srdd tells its clients. The first sight of a store file,
 * a restart on the same file, a file replaced while srdd was down, a
 * damaged sidecar, a compaction under a running srdd, and tails raised
 * only within their own generation.
 */
#define _GNU_SOURCE 1
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "generation.h"
#include "testutil.h"

typedef struct gen_env {
    char *dir, *path, *sidecar;
    srd_store *st;
} gen_env;

static void env_open(gen_env *e)
{
    ck_srd(tu_open(e->path, SRD_OPEN_CREATE | SRD_OPEN_EMBEDDED, &e->st));
}

static void env_setup(gen_env *e)
{
    e->dir = tu_tmpdir();
    e->path = tu_join(e->dir, "g.srd");
    e->sidecar = tu_join(e->dir, "g.srd.generation");
    env_open(e);
}

static void env_teardown(gen_env *e)
{
    srd_close(e->st);
    tu_rmtree(e->dir);
    free(e->dir);
    free(e->path);
    free(e->sidecar);
}

/* The sidecar's three numbers; false when it is missing or different. */
static bool sidecar_says(const gen_env *e, uint64_t gen)
{
    struct stat sb;
    size_t len;
    char *text = (char *)tu_read_file(e->sidecar, &len);
    if (!text || stat(e->path, &sb) != 0) {
        free(text);
        return false;
    }
    char want[128];
    snprintf(want, sizeof want,
             "generation=%" PRIu64 "\ndev=%" PRIu64 "\nino=%" PRIu64 "\n", gen,
             (uint64_t)sb.st_dev, (uint64_t)sb.st_ino);
    bool same = len == strlen(want) && memcmp(text, want, len) == 0;
    free(text);
    return same;
}

/* Open the generation of e's store; it must be gen, and say so on disk. */
static generation *open_expect(const gen_env *e, uint64_t gen, gen_view *v)
{
    generation *g;
    ck_srd(generation_open(e->st, e->path, &g));
    generation_view(g, v);
    ck_assert_uint_eq(v->gen, gen);
    ck_assert(sidecar_says(e, gen));
    return g;
}

static void put_str(srd_store *st, const char *k, const char *v)
{
    ck_srd(srd_put(st, tu_s(k), tu_s(v)));
}

START_TEST(test_generation_first_sight_is_one_and_recorded)
{
    gen_env e;
    env_setup(&e);
    gen_view v;
    generation *g = open_expect(&e, 1, &v);
    struct stat sb;
    ck_assert_int_eq(stat(e.path, &sb), 0);
    ck_assert_uint_eq(v.ino, (uint64_t)sb.st_ino);
    ck_assert_uint_eq(v.dev, (uint64_t)sb.st_dev);
    generation_close(g);
    env_teardown(&e);
}
END_TEST

START_TEST(test_generation_restart_on_the_same_file_keeps_it)
{
    gen_env e;
    env_setup(&e);
    generation *g;
    ck_srd(generation_open(e.st, e.path, &g));
    generation_close(g);
    put_str(e.st, "k", "v");
    srd_close(e.st);
    env_open(&e);
    gen_view v;
    g = open_expect(&e, 1, &v);
    ck_assert_uint_gt(v.tail, 0);
    generation_close(g);
    env_teardown(&e);
}
END_TEST

START_TEST(test_generation_file_replaced_while_down_bumps_it)
{
    gen_env e;
    env_setup(&e);
    generation *g;
    ck_srd(generation_open(e.st, e.path, &g));
    generation_close(g);
    srd_close(e.st);
    /* Another file at the path (a restore, a copy): a new inode. */
    char *moved = tu_join(e.dir, "old.srd");
    ck_assert_int_eq(rename(e.path, moved), 0);
    ck_assert_int_eq(tu_write_file(e.path, "", 0), 0);
    env_open(&e);
    gen_view v;
    generation_close(open_expect(&e, 2, &v));
    free(moved);
    env_teardown(&e);
}
END_TEST

static const char *const damaged[] = {
    "",
    "generation=\ndev=1\nino=2\n",
    "generation=-3\ndev=1\nino=2\n",
    "generation=18446744073709551616\ndev=1\nino=2\n",
    "generation=7\ndev=1\n",
    "gen=7\ndev=1\nino=2\n",
    "generation=7x\ndev=1\nino=2\n",
};

/* A sidecar it cannot read counts as a first sight, and is rewritten. */
START_TEST(test_generation_damaged_sidecar_is_rewritten)
{
    gen_env e;
    env_setup(&e);
    const char *text = damaged[_i];
    ck_assert_int_eq(tu_write_file(e.sidecar, text, strlen(text)), 0);
    gen_view v;
    generation_close(open_expect(&e, 1, &v));
    env_teardown(&e);
}
END_TEST

START_TEST(test_generation_compaction_bumps_it_once)
{
    gen_env e;
    env_setup(&e);
    generation *g;
    ck_srd(generation_open(e.st, e.path, &g));
    bool changed = true;
    ck_assert_uint_eq(generation_current(g, &changed), 1);
    ck_assert(!changed);
    for (int i = 0; i < 50; i++)
        put_str(e.st, "same-key", i % 2 ? "odd" : "even");
    ck_srd(srd_compact(e.st, NULL));
    ck_assert_uint_eq(generation_current(g, &changed), 2);
    ck_assert(changed);
    gen_view v;
    generation_view(g, &v);
    struct stat sb;
    ck_assert_int_eq(stat(e.path, &sb), 0);
    ck_assert_uint_eq(v.ino, (uint64_t)sb.st_ino);
    ck_assert_uint_eq(v.tail, (uint64_t)sb.st_size);
    ck_assert(sidecar_says(&e, 2));
    ck_assert_uint_eq(generation_current(g, &changed), 2);
    ck_assert(!changed);
    generation_close(g);
    env_teardown(&e);
}
END_TEST

START_TEST(test_generation_raise_moves_only_its_own_tail_up)
{
    gen_env e;
    env_setup(&e);
    generation *g;
    ck_srd(generation_open(e.st, e.path, &g));
    generation_raise(g, 1, 500);
    gen_view v;
    generation_view(g, &v);
    ck_assert_uint_eq(v.tail, 500);
    generation_raise(g, 1, 400); /* never down */
    generation_view(g, &v);
    ck_assert_uint_eq(v.tail, 500);
    generation_raise(g, 2, 900); /* another generation's tail */
    generation_view(g, &v);
    ck_assert_uint_eq(v.tail, 500);
    ck_assert_uint_eq(v.gen, 1);
    generation_close(g);
    generation_close(NULL);
    env_teardown(&e);
}
END_TEST

static Suite *generation_suite(void)
{
    Suite *s = suite_create("generation");
    TCase *tc = tcase_create("generation");
    tcase_add_test(tc, test_generation_first_sight_is_one_and_recorded);
    tcase_add_test(tc, test_generation_restart_on_the_same_file_keeps_it);
    tcase_add_test(tc, test_generation_file_replaced_while_down_bumps_it);
    tcase_add_loop_test(tc, test_generation_damaged_sidecar_is_rewritten, 0,
                        (int)(sizeof damaged / sizeof damaged[0]));
    tcase_add_test(tc, test_generation_compaction_bumps_it_once);
    tcase_add_test(tc, test_generation_raise_moves_only_its_own_tail_up);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(generation_suite());
}
