/* SPDX-License-Identifier: MIT */
/*
 * store_fixture.c -- the fixture and helpers shared by the check_store_*
 * suites (see store_fixture.h).
 */
#define _GNU_SOURCE 1
#include "store_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char *g_dir;  /* fresh temporary folder per test */
char *g_path; /* g_dir/store.srd */

static void setup(void)
{
    g_dir = tu_tmpdir();
    g_path = tu_join(g_dir, "store.srd");
}

static void teardown(void)
{
    tu_rmtree(g_dir);
    free(g_path);
    free(g_dir);
}

srd_store *open_with(const char *path, unsigned flags,
                     srd_sync_mode sync)
{
    srd_options o;
    srd_options_init(&o);
    o.flags = flags;
    o.sync = sync;
    srd_store *st = NULL;
    ck_srd(srd_open(path, &o, &st));
    ck_assert_ptr_nonnull(st);
    return st;
}

/* A writer with the default options (create, SRD_SYNC_ALWAYS). */
srd_store *open_rw(const char *path)
{
    return open_with(path, SRD_OPEN_CREATE, SRD_SYNC_ALWAYS);
}

/* A writer that leaves syncing to the OS, for tests that write a lot. */
srd_store *open_fast(const char *path)
{
    return open_with(path, SRD_OPEN_CREATE, SRD_SYNC_NEVER);
}

srd_store *open_ro(const char *path)
{
    return open_with(path, SRD_OPEN_READONLY, SRD_SYNC_ALWAYS);
}

/* srd_open's return code alone (the handle, if any, is closed). */
srd_err try_open(const char *path, unsigned flags)
{
    srd_options o;
    srd_options_init(&o);
    o.flags = flags;
    srd_store *st = NULL;
    srd_err rc = srd_open(path, &o, &st);
    if (rc == SRD_OK)
        srd_close(st);
    else
        ck_assert_ptr_null(st);
    return rc;
}

srd_val bytes(const void *p, size_t n)
{
    srd_val v = {p, n};
    return v;
}

void put_str(srd_store *st, const char *k, const char *v)
{
    ck_srd(srd_put(st, tu_s(k), tu_s(v)));
}

void expect_bytes_(srd_store *st, srd_val key, const void *want,
                          size_t n, int line)
{
    srd_view v;
    srd_err rc = srd_get(st, key, &v);
    ck_assert_msg(rc == SRD_OK, "line %d: srd_get: %s", line,
                  srd_errname(rc));
    ck_assert_msg(v.len == n, "line %d: length %zu, expected %zu", line,
                  v.len, n);
    ck_assert_msg(v.data != NULL && memcmp(v.data, want, n) == 0,
                  "line %d: value bytes differ", line);
    ck_assert_msg(v.key_hash == srd_key_hash(key.ptr, key.len),
                  "line %d: view key_hash", line);
    srd_view_release(&v);
}

void expect_absent_(srd_store *st, srd_val key, int line)
{
    srd_view v;
    memset(&v, 0xA5, sizeof v);
    srd_err rc = srd_get(st, key, &v);
    ck_assert_msg(rc == SRD_ENOTFOUND, "line %d: srd_get: %s, expected "
                  "SRD_ENOTFOUND", line, srd_errname(rc));
    ck_assert_msg(v.data == NULL && v.len == 0,
                  "line %d: view of an absent key is not zeroed", line);
    bool e = true;
    ck_srd(srd_exists(st, key, &e));
    ck_assert_msg(!e, "line %d: srd_exists says present", line);
}

uint64_t count_of(srd_store *st)
{
    uint64_t n = UINT64_MAX;
    ck_srd(srd_count(st, &n));
    return n;
}

uint64_t tail_of(srd_store *st)
{
    uint64_t t = UINT64_MAX;
    ck_srd(srd_tail(st, &t));
    return t;
}

srd_info info_of(srd_store *st)
{
    srd_info i;
    memset(&i, 0xA5, sizeof i);
    ck_srd(srd_get_info(st, &i));
    return i;
}

bool exists(srd_store *st, const char *k)
{
    bool e = false;
    ck_srd(srd_exists(st, tu_s(k), &e));
    return e;
}

/* Deterministic non-trivial bytes (never a lone 0x00 for n >= 2). */
void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 31u + seed * 7u + (i >> 8) + 1u) & 0xFF);
}

uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    fill_pattern(p, n, seed);
    return p;
}

snap snap_file(const char *path)
{
    snap s = {NULL, 0};
    s.b = tu_read_file(path, &s.n);
    ck_assert_msg(s.b != NULL, "cannot read %s", path);
    return s;
}

void expect_file_is_(const char *path, snap s, int line)
{
    snap now = snap_file(path);
    ck_assert_msg(now.n == s.n, "line %d: file size %zu, expected %zu", line,
                  now.n, s.n);
    ck_assert_msg(memcmp(now.b, s.b, s.n) == 0,
                  "line %d: file bytes changed", line);
    free(now.b);
}

pid_t xfork(void)
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    return pid;
}

/* Exit status of a child (or 128 + signal). */
int xwait(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

void msleep(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

TCase *store_tcase(Suite *s, const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(s, tc);
    return tc;
}

