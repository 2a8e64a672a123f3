/* SPDX-License-Identifier: MIT */
/*
 * check_discovery.c -- tests of daemon/discovery.c: absolute store paths,
 * the default ipc:// addresses and their 107-byte limit, and the
 * "<store>.srdd" file clients find srdd by (atomic, readable by everyone,
 * removed only by the daemon it names, never written through a symlink).
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discovery.h"
#include "testutil.h"

/* A temp dir with a store path and one sidecar path in it. */
typedef struct disc_env {
    char *dir, *abs, *file;
} disc_env;

static disc_env env_make(const char *suffix)
{
    disc_env e;
    char name[64];
    snprintf(name, sizeof name, "s.srd%s", suffix);
    e.dir = tu_tmpdir();
    e.abs = tu_join(e.dir, "s.srd");
    e.file = tu_join(e.dir, name);
    return e;
}

static void env_free(disc_env *e)
{
    tu_rmtree(e->dir);
    free(e->dir);
    free(e->abs);
    free(e->file);
}

START_TEST(test_discovery_abspath_resolves_the_directory)
{
    char *dir = tu_tmpdir();
    char *sub = tu_join(dir, "sub");
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    ck_assert_int_eq(chdir(sub), 0);
    char *abs = discovery_abspath("../sub/./none-yet.srd");
    ck_assert_ptr_nonnull(abs);
    char real[PATH_MAX];
    ck_assert_ptr_nonnull(realpath(sub, real));
    char *want_real = tu_join(real, "none-yet.srd");
    ck_assert_str_eq(abs, want_real);
    free(abs);
    abs = discovery_abspath("plain.srd");
    char *plain = tu_join(real, "plain.srd");
    ck_assert_str_eq(abs, plain);
    free(abs);
    free(plain);
    ck_assert_int_eq(chdir("/"), 0);
    abs = discovery_abspath("/etc");
    ck_assert_str_eq(abs, "/etc");
    free(abs);
    free(want_real);
    tu_rmtree(dir);
    free(sub);
    free(dir);
}
END_TEST

START_TEST(test_discovery_abspath_fails_for_a_missing_directory)
{
    errno = 0;
    ck_assert_ptr_null(discovery_abspath("/no/such/dir/at/all/x.srd"));
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_discovery_default_url_and_its_length_limit)
{
    char why[512] = "", *url = NULL;
    ck_assert_int_eq(discovery_default_url("/var/lib/a.srd", ".sock", &url, why),
                     0);
    ck_assert_str_eq(url, "ipc:///var/lib/a.srd.sock");
    ck_assert_str_eq(discovery_ipc_path(url), "/var/lib/a.srd.sock");
    free(url);

    char longp[DISCOVERY_IPC_MAX + 2];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[DISCOVERY_IPC_MAX - 5] = '\0'; /* 102 bytes + ".sock" = 107 */
    ck_assert_int_eq(discovery_default_url(longp, ".sock", &url, why), 0);
    ck_assert_uint_eq(strlen(discovery_ipc_path(url)), DISCOVERY_IPC_MAX);
    free(url);
    longp[DISCOVERY_IPC_MAX - 5] = 'a';
    longp[DISCOVERY_IPC_MAX - 5 + 1] = '\0'; /* one byte too many */
    ck_assert_int_eq(discovery_default_url(longp, ".sock", &url, why), -1);
    ck_assert_ptr_null(url);
    ck_assert_ptr_nonnull(strstr(why, "--listen"));
    ck_assert_ptr_nonnull(strstr(why, "107"));
}
END_TEST

START_TEST(test_discovery_ipc_path_only_for_ipc_urls)
{
    ck_assert_ptr_null(discovery_ipc_path("tcp://127.0.0.1:5555"));
    ck_assert_ptr_null(discovery_ipc_path("ipc:/x"));
    ck_assert_ptr_null(discovery_ipc_path("unix:/x"));
    ck_assert_str_eq(discovery_ipc_path("ipc://rel.sock"), "rel.sock");
    ck_assert_str_eq(discovery_ipc_path("unix:///d/s.sock"), "/d/s.sock");
}
END_TEST

/* The request socket's default: unix://, the same path and limit. */
START_TEST(test_discovery_default_request_url_is_unix)
{
    char why[512] = "", *url = NULL;
    ck_assert_int_eq(discovery_default_request_url("/var/lib/a.srd", &url,
                                                   why),
                     0);
    ck_assert_str_eq(url, "unix:///var/lib/a.srd.sock");
    ck_assert_str_eq(discovery_ipc_path(url), "/var/lib/a.srd.sock");
    free(url);
    char longp[DISCOVERY_IPC_MAX + 2];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[DISCOVERY_IPC_MAX - 4] = '\0'; /* 103 bytes + ".sock": too long */
    url = (char *)why; /* must come back NULL */
    ck_assert_int_eq(discovery_default_request_url(longp, &url, why), -1);
    ck_assert_ptr_null(url);
    ck_assert_ptr_nonnull(strstr(why, "--listen"));
}
END_TEST

START_TEST(test_discovery_file_names_this_daemon_and_is_world_readable)
{
    disc_env e = env_make(".srdd");
    const char *abs = e.abs, *file = e.file;
    umask(077);
    ck_assert_int_eq(discovery_write(abs, "ipc:///l", "ipc:///p"), 0);
    size_t len;
    char *text = (char *)tu_read_file(file, &len);
    ck_assert_ptr_nonnull(text);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof want, "pid=%ld\nlisten=ipc:///l\npublish=ipc:///p\n"
             "store=%s\n", (long)getpid(), abs);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(text, want, len) == 0);
    struct stat sb;
    ck_assert_int_eq(stat(file, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0644); /* whatever the umask */
    free(text);
    env_free(&e);
}
END_TEST

START_TEST(test_discovery_put_replaces_atomically_and_leaves_no_temp)
{
    disc_env e = env_make(".generation");
    const char *abs = e.abs, *file = e.file;
    ck_assert_int_eq(discovery_put(abs, ".generation", "one\n"), 0);
    ck_assert_int_eq(discovery_put(abs, ".generation", "two\n"), 0);
    size_t len;
    char *text = (char *)tu_read_file(file, &len);
    ck_assert_uint_eq(len, 4);
    ck_assert(memcmp(text, "two\n", 4) == 0);
    free(text);
    /* only the store's sidecar is there: no temporary file left */
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "%s/s.srd.generation.tmp-%ld", e.dir,
             (long)getpid());
    ck_assert_int_ne(access(cmd, F_OK), 0);
    env_free(&e);
}
END_TEST

START_TEST(test_discovery_put_in_a_missing_directory_fails_cleanly)
{
    errno = 0;
    ck_assert_int_eq(discovery_put("/no/such/dir/s.srd", ".srdd", "x"), -1);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_discovery_remove_leaves_another_daemons_file)
{
    disc_env e = env_make(".srdd");
    const char *abs = e.abs, *file = e.file;
    /* A file naming another pid (a newer daemon took over) stays. */
    char other[64];
    snprintf(other, sizeof other, "pid=%ld\nlisten=x\n", (long)getpid() + 1);
    ck_assert_int_eq(tu_write_file(file, other, strlen(other)), 0);
    discovery_remove(abs);
    ck_assert_int_eq(access(file, F_OK), 0);
    /* Its own goes. */
    ck_assert_int_eq(discovery_write(abs, "ipc:///l", "ipc:///p"), 0);
    discovery_remove(abs);
    ck_assert_int_ne(access(file, F_OK), 0);
    discovery_remove(abs); /* nothing there: harmless */
    env_free(&e);
}
END_TEST

START_TEST(test_discovery_put_never_writes_through_a_planted_symlink)
{
    /* Someone who can write the store's folder plants symlinks at the
     * temporary name and at the sidecar's name, both aimed at a file of
     * the daemon's user: the file must stay as it was. */
    disc_env e = env_make(".srdd");
    char *victim = tu_join(e.dir, "victim");
    ck_assert_int_eq(tu_write_file(victim, "precious\n", 9), 0);
    char tmp[PATH_MAX + 64];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", e.file, (long)getpid());
    ck_assert_int_eq(symlink(victim, tmp), 0);
    ck_assert_int_eq(symlink(victim, e.file), 0);
    ck_assert_int_eq(discovery_put(e.abs, ".srdd", "pid=1\n"), 0);
    size_t len;
    char *text = (char *)tu_read_file(victim, &len);
    ck_assert_uint_eq(len, 9);
    ck_assert(memcmp(text, "precious\n", 9) == 0);
    free(text);
    /* the sidecar is now a plain file of its own, with the new text */
    struct stat sb;
    ck_assert_int_eq(lstat(e.file, &sb), 0);
    ck_assert(S_ISREG(sb.st_mode));
    text = (char *)tu_read_file(e.file, &len);
    ck_assert_uint_eq(len, 6);
    ck_assert(memcmp(text, "pid=1\n", 6) == 0);
    free(text);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    free(victim);
    env_free(&e);
}
END_TEST

static Suite *discovery_suite(void)
{
    Suite *s = suite_create("discovery");
    TCase *tc = tcase_create("discovery");
    tcase_add_test(tc, test_discovery_abspath_resolves_the_directory);
    tcase_add_test(tc, test_discovery_abspath_fails_for_a_missing_directory);
    tcase_add_test(tc, test_discovery_default_url_and_its_length_limit);
    tcase_add_test(tc, test_discovery_ipc_path_only_for_ipc_urls);
    tcase_add_test(tc, test_discovery_default_request_url_is_unix);
    tcase_add_test(tc, test_discovery_file_names_this_daemon_and_is_world_readable);
    tcase_add_test(tc, test_discovery_put_replaces_atomically_and_leaves_no_temp);
    tcase_add_test(tc, test_discovery_put_in_a_missing_directory_fails_cleanly);
    tcase_add_test(tc, test_discovery_remove_leaves_another_daemons_file);
    tcase_add_test(tc, test_discovery_put_never_writes_through_a_planted_symlink);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(discovery_suite());
}
