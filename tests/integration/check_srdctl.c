/* SPDX-License-Identifier: MIT */
/*
 * check_srdctl.c -- end-to-end tests of the srdctl binary (tools/srdctl.c).
 *
 * Each test forks and execs the real binary (SRDCTL_PATH) against a store in
 * a fresh temporary folder and checks exit status, stdout and stderr, and
 * the store file's bytes. Ports the reference CLI tests (cli_tests.rs) that
 * apply to srdctl.
 */
#define _GNU_SOURCE 1

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "srd/srd.h"
#include "srdd_proc.h"
#include "testutil.h"

#ifndef SRDCTL_PATH
#error "SRDCTL_PATH must name the srdctl binary (set by tests/CMakeLists.txt)"
#endif
#ifndef SRD_GOLDEN_DIR
#error "SRD_GOLDEN_DIR must name the golden store folder"
#endif

/* ======================================================================== */
/* Fixture and helpers                                                       */
/* ======================================================================== */

static char *g_dir;   /* temporary folder of the running test */
static char *g_store; /* g_dir/store.bin */

static void setup(void)
{
    g_dir = tu_tmpdir();
    g_store = tu_join(g_dir, "store.bin");
    /* The child inherits our environment: make it predictable. */
    unsetenv("SRD_STORE");
    unsetenv("FORCE_NO_TTY");
}

static void teardown(void)
{
    tu_rmtree(g_dir);
    free(g_store);
    free(g_dir);
}

/* What one srdctl run produced. */
typedef struct ctl_res {
    int rc;
    char *out; /* stdout, NUL-terminated (binary-safe with out_len) */
    size_t out_len;
    char *err; /* stderr */
} ctl_res;

static void res_free(ctl_res *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

/* Run srdctl with argv = SRDCTL_PATH, [--store store,] args...; store may
 * be NULL to leave --store out. */
static ctl_res run_ctl(const char *store, char *const env[], const void *in,
                       size_t in_len, const char *const *args)
{
    const char *argv[64];
    size_t n = 0;
    argv[n++] = SRDCTL_PATH;
    if (store) {
        argv[n++] = "--store";
        argv[n++] = store;
    }
    for (size_t i = 0; args[i]; i++) {
        ck_assert_uint_lt(n, 63);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    ctl_res r;
    memset(&r, 0, sizeof r);
    r.rc = tu_run((char *const *)argv, env, in, in_len, &r.out, &r.out_len,
                  &r.err);
    return r;
}

/* RUN(...): on g_store, no stdin. RUN_IN(in, len, ...): with stdin data. */
#define RUN(...) run_ctl(g_store, NULL, NULL, 0, (const char *[]){__VA_ARGS__, NULL})
#define RUN_IN(in, len, ...)                                                   \
    run_ctl(g_store, NULL, (in), (len), (const char *[]){__VA_ARGS__, NULL})
#define RUN_ENV(env, ...)                                                      \
    run_ctl(g_store, (env), NULL, 0, (const char *[]){__VA_ARGS__, NULL})
#define RUN_RAW(env, ...)                                                      \
    run_ctl(NULL, (env), NULL, 0, (const char *[]){__VA_ARGS__, NULL})

#define ck_rc(r, want)                                                         \
    ck_assert_msg((r).rc == (want), "exit %d, want %d; stderr: %s", (r).rc,     \
                  (want), (r).err)

/* Run a command that must succeed silently on stderr, and free it. */
#define ck_ok(...)                                                             \
    do {                                                                       \
        ctl_res ck_ok_r_ = RUN(__VA_ARGS__);                                   \
        ck_rc(ck_ok_r_, 0);                                                    \
        ck_assert_str_eq(ck_ok_r_.err, "");                                    \
        res_free(&ck_ok_r_);                                                   \
    } while (0)

/* Run a command that must exit with rc and print exactly want, and free it. */
#define ck_out(rc, want, ...)                                                  \
    do {                                                                       \
        ctl_res ck_out_r_ = RUN(__VA_ARGS__);                                  \
        ck_rc(ck_out_r_, rc);                                                  \
        ck_assert_str_eq(ck_out_r_.out, want);                                 \
        res_free(&ck_out_r_);                                                  \
    } while (0)

/* Run a command that must exit with rc and print needle on stream (out or
 * err), and free it. */
#define ck_has_(stream, rc, needle, ...)                                       \
    do {                                                                       \
        ctl_res ck_has_r_ = RUN(__VA_ARGS__);                                  \
        ck_rc(ck_has_r_, rc);                                                  \
        ck_assert_ptr_nonnull(strstr(ck_has_r_.stream, needle));               \
        res_free(&ck_has_r_);                                                  \
    } while (0)
#define ck_out_has(rc, needle, ...) ck_has_(out, rc, needle, __VA_ARGS__)
#define ck_err_has(rc, needle, ...) ck_has_(err, rc, needle, __VA_ARGS__)

/* Run a command and check only its exit status. */
#define ck_exit(want, ...)                                                     \
    do {                                                                       \
        ctl_res ck_exit_r_ = RUN(__VA_ARGS__);                                 \
        ck_rc(ck_exit_r_, want);                                               \
        res_free(&ck_exit_r_);                                                 \
    } while (0)

/* Put "first value" under k0 and "second value" under k1. */
static void put_k0_k1(void)
{
    ck_ok("put", "k0", "first value");
    ck_ok("put", "k1", "second value");
}

/* `get key` must print exactly want[0..len). */
static void ck_get(const char *key, const void *want, size_t len)
{
    ctl_res r = RUN("get", key);
    ck_rc(r, 0);
    ck_assert_msg(r.out_len == len, "get %s: %zu bytes, want %zu", key,
                  r.out_len, len);
    ck_assert_msg(memcmp(r.out, want, len) == 0, "get %s: bytes differ", key);
    ck_assert_str_eq(r.err, "");
    res_free(&r);
}

/* A deterministic pattern that includes zero bytes. */
static uint8_t *pattern(size_t n)
{
    uint8_t *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 31 + 7) % 256);
    return p;
}

/* The whole store file (must exist). */
static uint8_t *store_bytes(size_t *len)
{
    uint8_t *b = tu_read_file(g_store, len);
    ck_assert_ptr_nonnull(b);
    return b;
}

static void golden_to_store(const char *name)
{
    char *src = tu_join(SRD_GOLDEN_DIR, name);
    ck_assert_msg(tu_copy_file(src, g_store) == 0, "copy %s", src);
    chmod(g_store, 0644); /* the golden files are read-only */
    free(src);
}

/* Parse stdout of `info --json` and return member k as uint64. */
static uint64_t json_u64(json_object *o, const char *k)
{
    json_object *v = NULL;
    ck_assert_msg(json_object_object_get_ex(o, k, &v), "no member %s", k);
    ck_assert_msg(json_object_is_type(v, json_type_int), "%s not a number",
                  k);
    return json_object_get_uint64(v);
}

static json_object *info_json(void)
{
    ctl_res r = RUN("info", "--json");
    ck_rc(r, 0);
    ck_assert_str_eq(r.err, "");
    json_object *o = json_tokener_parse(r.out);
    ck_assert_msg(o != NULL, "info --json is not JSON: %s", r.out);
    ck_assert(json_object_is_type(o, json_type_object));
    res_free(&r);
    return o;
}

/* srd_meta of key in the store at path, read-only through the API. */
static srd_err api_meta(const char *path, const char *key, srd_entry_meta *m)
{
    srd_store *st = NULL;
    srd_err e = tu_open(path, SRD_OPEN_READONLY, &st);
    if (e == SRD_OK)
        e = srd_meta(st, tu_s(key), m);
    srd_close(st);
    return e;
}

/* Flip the first payload byte of key's entry in the store at path; its
 * meta before. */
static srd_entry_meta corrupt_payload_at(const char *path, const char *key)
{
    srd_entry_meta m;
    ck_srd(api_meta(path, key, &m));
    size_t n;
    uint8_t *b = tu_read_file(path, &n);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_lt(m.payload_offset, n);
    b[m.payload_offset] ^= 0xFF;
    ck_assert_int_eq(tu_write_file(path, b, n), 0);
    free(b);
    return m;
}

/* The same in g_store. */
static srd_entry_meta corrupt_payload(const char *key)
{
    return corrupt_payload_at(g_store, key);
}

/* ======================================================================== */
/* put / get                                                                 */
/* ======================================================================== */

/* Reference cli_tests.rs test_write_and_read. */
START_TEST(test_put_argument_then_get_prints_value)
{
    ctl_res r = RUN("put", "test_key", "hello");
    ck_rc(r, 0);
    ck_assert_uint_eq(r.out_len, 0); /* put is silent on success */
    ck_assert_str_eq(r.err, "");
    res_free(&r);
    ck_get("test_key", "hello", 5); /* no newline added */
}
END_TEST

START_TEST(test_put_replaces_value)
{
    ck_ok("put", "k", "Short");
    ck_ok("put", "k", "Updated with longer data!");
    ck_get("k", "Updated with longer data!", 25);
    json_object *o = info_json();
    ck_assert_uint_eq(json_u64(o, "live_keys"), 1);
    ck_assert_uint_eq(json_u64(o, "entries"), 2);
    json_object_put(o);
}
END_TEST

START_TEST(test_put_stdin_binary_with_nuls_round_trips)
{
    static const uint8_t v[] = {0, 0, 'a', 0, 0xff, 0x80, 0, '\n', 0};
    ctl_res r = RUN_IN(v, sizeof v, "put", "bin");
    ck_rc(r, 0);
    res_free(&r);
    ck_get("bin", v, sizeof v);
}
END_TEST

START_TEST(test_put_file_option_round_trips_binary)
{
    static const uint8_t v[] = {0x7f, 0, 1, 2, 0, 0, 0, 0xfe};
    char *f = tu_join(g_dir, "value.dat");
    ck_assert_int_eq(tu_write_file(f, v, sizeof v), 0);
    ck_ok("put", "--file", f, "fkey");
    ck_get("fkey", v, sizeof v);
    /* Two zero bytes are an ordinary value, and "-f" is the short form. */
    ck_assert_int_eq(tu_write_file(f, "\0\0", 2), 0);
    ck_ok("put", "fkey2", "-f", f);
    ck_get("fkey2", "\0\0", 2);
    free(f);
}
END_TEST

START_TEST(test_put_stdin_over_one_mib_round_trips_byte_exact)
{
    size_t n = ((size_t)3 << 20) + 4099; /* several chunks, odd tail */
    uint8_t *v = pattern(n);
    ctl_res r = RUN_IN(v, n, "put", "big");
    ck_rc(r, 0);
    res_free(&r);
    ck_get("big", v, n);
    json_object *o = info_json();
    ck_assert_uint_eq(json_u64(o, "live_bytes"), n);
    json_object_put(o);
    free(v);
}
END_TEST

/* Reference cli_tests.rs test_read_with_buffer_size: 128 KiB of 'A'. */
START_TEST(test_put_stdin_128k_value_reads_back_all_bytes)
{
    size_t n = 128 * 1024;
    char *v = malloc(n);
    memset(v, 'A', n);
    ctl_res r = RUN_IN(v, n, "put", "large_key");
    ck_rc(r, 0);
    res_free(&r);
    ck_get("large_key", v, n);
    free(v);
}
END_TEST

START_TEST(test_put_and_get_empty_key)
{
    ck_ok("put", "", "empty-key-value");
    ck_get("", "empty-key-value", 15);
}
END_TEST

START_TEST(test_put_and_get_huge_key)
{
    size_t n = 100000; /* below Linux's 128 KiB limit for one argument */
    char *key = malloc(n + 1);
    memset(key, 'k', n);
    key[n] = 0;
    ck_ok("put", key, "v");
    ck_get(key, "v", 1);
    key[0] = 'x'; /* a different huge key: absent, message stays short */
    ctl_res r = RUN("get", key);
    ck_rc(r, 1);
    ck_assert_uint_eq(r.out_len, 0);
    ck_assert_ptr_nonnull(strstr(r.err, "not found"));
    ck_assert_uint_lt(strlen(r.err), 1000);
    res_free(&r);
    free(key);
}
END_TEST

START_TEST(test_store_path_from_environment)
{
    char env_s[4200];
    snprintf(env_s, sizeof env_s, "SRD_STORE=%s", g_store);
    char *env[] = {env_s, NULL};
    ctl_res r = RUN_RAW(env, "put", "ek", "env-value");
    ck_rc(r, 0);
    res_free(&r);
    r = RUN_RAW(env, "get", "ek");
    ck_rc(r, 0);
    ck_assert_str_eq(r.out, "env-value");
    res_free(&r);
    ck_get("ek", "env-value", 9); /* the same file through --store */
}
END_TEST

/* Reference cli_tests.rs test_read_nonexistent_key, on an empty file. */
START_TEST(test_get_missing_key_exits_1_with_message_and_empty_stdout)
{
    ck_assert_int_eq(tu_write_file(g_store, "", 0), 0);
    ctl_res r = RUN("get", "nonexistent_key");
    ck_rc(r, 1);
    ck_assert_uint_eq(r.out_len, 0);
    ck_assert_ptr_nonnull(strstr(r.err, "srdctl: key 'nonexistent_key' not found"));
    res_free(&r);
    ck_assert_int_eq(tu_file_size(g_store), 0); /* a reader writes nothing */
}
END_TEST

START_TEST(test_get_on_missing_store_exits_3_and_creates_nothing)
{
    ctl_res r = RUN("get", "k");
    ck_rc(r, 3);
    ck_assert_uint_eq(r.out_len, 0);
    ck_assert_ptr_nonnull(strstr(r.err, srd_strerror(SRD_ENOENT)));
    res_free(&r);
    ck_exit(3, "del", "k");
    ck_assert_int_eq(tu_file_size(g_store), -1);
}
END_TEST

/* ======================================================================== */
/* Values that cannot be stored                                              */
/* ======================================================================== */

/* Reference cli_tests.rs test_write_without_value: FORCE_NO_TTY=1, stdin
 * empty: "No value provided", and nothing is created. */
START_TEST(test_put_without_value_and_empty_stdin_is_usage_error)
{
    char *env[] = {"FORCE_NO_TTY=1", NULL};
    ctl_res r = RUN_ENV(env, "put", "test_key");
    ck_rc(r, 2);
    ck_assert_uint_eq(r.out_len, 0);
    ck_assert_ptr_nonnull(strstr(r.err, "No value provided"));
    res_free(&r);
    ck_assert_int_eq(tu_file_size(g_store), -1);
}
END_TEST

/* Without FORCE_NO_TTY, a terminal on stdin is refused without reading. */
START_TEST(test_put_without_value_on_terminal_is_usage_error)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_int_ge(m, 0);
    ck_assert_int_eq(grantpt(m), 0);
    ck_assert_int_eq(unlockpt(m), 0);
    char *slave = strdup(ptsname(m));
    int perr[2];
    ck_assert_int_eq(pipe(perr), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int s = open(slave, O_RDWR | O_NOCTTY);
        int dn = open("/dev/null", O_WRONLY);
        if (s < 0 || dn < 0)
            _exit(126);
        dup2(s, 0);
        dup2(dn, 1);
        dup2(perr[1], 2);
        close(perr[0]);
        execl(SRDCTL_PATH, SRDCTL_PATH, "--store", g_store, "put", "k",
              (char *)NULL);
        _exit(127);
    }
    close(perr[1]);
    char err[4096];
    size_t n = 0;
    for (;;) {
        struct pollfd pf = {perr[0], POLLIN, 0};
        int pr = poll(&pf, 1, 20000);
        if (pr == 0) {
            kill(pid, SIGKILL);
            ck_abort_msg("srdctl put blocked reading a terminal");
        }
        ssize_t r = read(perr[0], err + n, sizeof err - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    err[n] = 0;
    int st = 0;
    waitpid(pid, &st, 0);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 2);
    ck_assert_ptr_nonnull(strstr(err, "No value provided"));
    ck_assert_int_eq(tu_file_size(g_store), -1);
    close(perr[0]);
    close(m);
    free(slave);
}
END_TEST

START_TEST(test_put_empty_value_argument_is_rejected)
{
    ctl_res r = RUN("put", "k", "");
    ck_rc(r, 2);
    ck_assert_uint_eq(r.out_len, 0);
    ck_assert_ptr_nonnull(strstr(r.err, "empty"));
    res_free(&r);
    ck_assert_int_eq(tu_file_size(g_store), -1);
}
END_TEST

START_TEST(test_put_empty_file_is_rejected)
{
    ck_ok("put", "keep", "me");
    long long before = tu_file_size(g_store);
    char *f = tu_join(g_dir, "empty.dat");
    ck_assert_int_eq(tu_write_file(f, "", 0), 0);
    ck_err_has(2, "No value provided", "put", "k", "--file", f);
    ck_assert_int_eq(tu_file_size(g_store), before);
    free(f);
}
END_TEST

START_TEST(test_put_single_zero_byte_from_stdin_is_rejected)
{
    ck_ok("put", "keep", "me");
    size_t n0;
    uint8_t *before = store_bytes(&n0);
    ctl_res r = RUN_IN("\0", 1, "put", "nul");
    ck_rc(r, 2);
    ck_assert_uint_eq(r.out_len, 0);
    ck_assert_ptr_nonnull(strstr(r.err, "0x00"));
    res_free(&r);
    size_t n1;
    uint8_t *after = store_bytes(&n1);
    ck_assert_uint_eq(n0, n1);
    ck_assert(memcmp(before, after, n0) == 0);
    ck_exit(1, "exists", "nul");
    ck_get("keep", "me", 2);
    free(before);
    free(after);
    /* On a missing store, the refusal creates no file either. */
    char *f = tu_join(g_dir, "new.bin");
    ctl_res r2 = run_ctl(f, NULL, "\0", 1, (const char *[]){"put", "nul", NULL});
    ck_rc(r2, 2);
    res_free(&r2);
    ck_assert_int_eq(tu_file_size(f), -1);
    free(f);
}
END_TEST

START_TEST(test_put_missing_input_file_exits_2)
{
    char *f = tu_join(g_dir, "no-such-file");
    ck_err_has(2, "No such file", "put", "k", "--file", f);
    ctl_res r = RUN("put", "k", "--file", g_dir); /* a directory */
    ck_rc(r, 2);
    res_free(&r);
    ck_assert_int_eq(tu_file_size(g_store), -1);
    free(f);
}
END_TEST

/* ======================================================================== */
/* del / exists                                                              */
/* ======================================================================== */

/* Reference cli_tests.rs test_delete_key. */
START_TEST(test_del_removes_key_and_later_get_fails)
{
    ck_ok("put", "delete_key", "delete_test");
    ck_out(0, "Deleted key 'delete_key'\n", "del", "delete_key");
    ctl_res r = RUN("get", "delete_key");
    ck_rc(r, 1);
    ck_assert_uint_eq(r.out_len, 0);
    res_free(&r);
}
END_TEST

START_TEST(test_del_missing_key_exits_1_and_writes_nothing)
{
    ck_ok("put", "other", "x");
    long long before = tu_file_size(g_store);
    ctl_res r = RUN("del", "nope");
    ck_rc(r, 1);
    ck_assert_uint_eq(r.out_len, 0); /* no "Deleted" */
    ck_assert_ptr_nonnull(strstr(r.err, "'nope' not found"));
    res_free(&r);
    ck_assert_int_eq(tu_file_size(g_store), before);
}
END_TEST

/* Reference basic_operations_tests.rs test_exists_checks_key_presence. */
START_TEST(test_exists_answers_yes_no_with_exit_status)
{
    ck_assert_int_eq(tu_write_file(g_store, "", 0), 0);
    ck_out(1, "no\n", "exists", "exists_key");
    ck_ok("put", "exists_key", "v");
    ck_out(0, "yes\n", "exists", "exists_key");
    ck_ok("del", "exists_key");
    ck_out(1, "no\n", "exists", "exists_key");
}
END_TEST

/* ======================================================================== */
/* info                                                                      */
/* ======================================================================== */

START_TEST(test_info_json_excludes_deleted_keys)
{
    ck_ok("put", "a", "1111");
    ck_ok("put", "b", "2222");
    ck_ok("put", "c", "3333");
    ck_ok("del", "b");
    json_object *o = info_json();
    ck_assert_uint_eq(json_u64(o, "live_keys"), 2);
    ck_assert_uint_eq(json_u64(o, "entries"), 4);
    ck_assert_uint_eq(json_u64(o, "live_bytes"), 8);
    ck_assert_uint_eq(json_u64(o, "file_size"),
                      (uint64_t)tu_file_size(g_store));
    ck_assert_uint_eq(json_u64(o, "tail"), json_u64(o, "file_size"));
    ck_assert_uint_eq(json_u64(o, "torn_bytes"), 0);
    ck_assert_uint_gt(json_u64(o, "dead_bytes"), 0);
    ck_assert_uint_lt(json_u64(o, "dead_bytes"), json_u64(o, "tail"));
    (void)json_u64(o, "index_bytes");
    json_object *p = NULL;
    ck_assert(json_object_object_get_ex(o, "path", &p));
    ck_assert_str_eq(json_object_get_string(p), g_store);
    json_object_put(o);
}
END_TEST

START_TEST(test_info_text_shows_sizes_and_counts)
{
    ck_ok("put", "a", "1111");
    ck_ok("put", "b", "2222");
    ck_ok("del", "a");
    ctl_res r = RUN("info");
    ck_rc(r, 0);
    char want[128];
    snprintf(want, sizeof want, "file size:    %lld\n",
             tu_file_size(g_store));
    ck_assert_ptr_nonnull(strstr(r.out, want));
    ck_assert_ptr_nonnull(strstr(r.out, "live keys:    1\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "entries:      3\n"));
    ck_assert_ptr_nonnull(strstr(r.out, g_store));
    ck_assert_str_eq(r.err, "");
    res_free(&r);
}
END_TEST

/* Reference cli_tests.rs test_info: an empty file is an empty store. */
START_TEST(test_info_on_empty_file_reports_empty_store)
{
    ck_assert_int_eq(tu_write_file(g_store, "", 0), 0);
    json_object *o = info_json();
    ck_assert_uint_eq(json_u64(o, "file_size"), 0);
    ck_assert_uint_eq(json_u64(o, "live_keys"), 0);
    ck_assert_uint_eq(json_u64(o, "entries"), 0);
    json_object_put(o);
}
END_TEST

/* basic.bin from the reference: counts match expected.json (the reference
 * itself reports 3 live keys after a reopen; 2 is right). */
START_TEST(test_golden_basic_reads_and_counts_like_expected_json)
{
    golden_to_store("basic.bin");
    json_object *exp = json_object_from_file(SRD_GOLDEN_DIR "/expected.json");
    ck_assert_ptr_nonnull(exp);
    json_object *files, *basic;
    ck_assert(json_object_object_get_ex(exp, "files", &files));
    ck_assert(json_object_object_get_ex(files, "basic.bin", &basic));

    json_object *o = info_json();
    ck_assert_uint_eq(json_u64(o, "file_size"), json_u64(basic, "size"));
    ck_assert_uint_eq(json_u64(o, "tail"), json_u64(basic, "size"));
    ck_assert_uint_eq(json_u64(o, "live_keys"), json_u64(basic, "live_count"));
    ck_assert_uint_eq(json_u64(o, "entries"), json_u64(basic, "chain_entries"));
    json_object_put(o);
    json_object_put(exp);

    ck_get("alpha", "uno", 3);
    uint8_t gamma[1000];
    for (int i = 0; i < 1000; i++)
        gamma[i] = (uint8_t)(i % 251);
    ck_get("gamma", gamma, sizeof gamma);
    ck_exit(1, "get", "beta");
    ck_exit(0, "verify");
}
END_TEST

/* mixed.bin: the empty key and a value of two zero bytes (then deleted). */
START_TEST(test_golden_mixed_reads_empty_key)
{
    golden_to_store("mixed.bin");
    ck_get("", "empty-key", 9);
    uint8_t c[100];
    memset(c, 0xAB, sizeof c);
    ck_get("carol", c, sizeof c);
    ck_exit(1, "exists", "bob");
}
END_TEST

/* stream.bin: a 5 MiB value goes out of the zero-copy view intact. */
START_TEST(test_golden_stream_big_value_is_written_whole)
{
    golden_to_store("stream.bin");
    size_t n = 5u << 20;
    uint8_t *v = pattern(n);
    ck_get("big", v, n);
    ck_get("small", "s", 1);
    free(v);
}
END_TEST

/* small-torn.bin: readers ignore the torn bytes, a writer cuts them. */
START_TEST(test_torn_tail_is_ignored_by_readers_and_cut_by_put)
{
    golden_to_store("small-torn.bin");
    long long torn = tu_file_size(g_store);
    uint8_t k2[64];
    memset(k2, 0x01, sizeof k2);
    ck_get("k2", k2, sizeof k2);
    json_object *o = info_json();
    ck_assert_uint_eq(json_u64(o, "torn_bytes"), 7);
    ck_assert_uint_eq(json_u64(o, "tail"), (uint64_t)torn - 7);
    json_object_put(o);
    ck_out_has(0, "torn bytes:   7", "verify");
    ck_assert_int_eq(tu_file_size(g_store), torn); /* readers cut nothing */

    /* the writer cuts the 7 bytes, saves them first and says so */
    ctl_res r = RUN("put", "k3", "x");
    ck_rc(r, 0);
    char *cut = tu_join(g_dir, "store.bin.cut-212");
    ck_assert_msg(strstr(r.err, "cut 7 bytes") && strstr(r.err, cut),
                  "the cut is not announced: %s", r.err);
    res_free(&r);
    size_t cn = 0;
    uint8_t *cb = tu_read_file(cut, &cn);
    ck_assert_ptr_nonnull(cb);
    ck_assert_uint_eq(cn, 7);
    ck_assert_mem_eq(cb, "CORRUPT", 7);
    free(cb);
    free(cut);
    uint64_t tail = (uint64_t)torn - 7;
    uint64_t want = tail + ((64 - tail % 64) & 63) + 1 + 20;
    ck_assert_int_eq(tu_file_size(g_store), (long long)want);
    ck_get("k2", k2, sizeof k2);
    ck_get("k3", "x", 1);
}
END_TEST

/* ======================================================================== */
/* verify                                                                    */
/* ======================================================================== */

START_TEST(test_verify_good_store_exits_0)
{
    ck_ok("put", "k0", "value zero");
    ck_ok("put", "k1", "value one");
    ck_ok("del", "k0");
    ctl_res r = RUN("verify");
    ck_rc(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "entries:      3\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "result:       OK\n"));
    ck_assert_str_eq(r.err, ""); /* stderr is not a tty: no progress */
    res_free(&r);
}
END_TEST

START_TEST(test_verify_progress_option_reports_on_stderr_only)
{
    ck_ok("put", "k0", "value zero");
    ctl_res r = RUN("verify", "--progress");
    ck_rc(r, 0);
    ck_assert_ptr_nonnull(strstr(r.err, "verify: 100%"));
    ck_assert_ptr_null(strstr(r.out, "verify:"));
    res_free(&r);
}
END_TEST

/* Corrupt one payload byte of an earlier (not the tail) entry: the store
 * still opens, get still returns the bytes, verify names the offset. */
START_TEST(test_verify_detects_corrupted_earlier_entry)
{
    put_k0_k1();
    ck_ok("put", "k2", "third value");
    srd_entry_meta m = corrupt_payload("k1");
    ck_assert_uint_gt(m.payload_offset, 0);
    size_t n;
    uint8_t *b = store_bytes(&n);

    ctl_res r = RUN("verify");
    ck_rc(r, 3);
    char want[96];
    snprintf(want, sizeof want, "payload offset %llu",
             (unsigned long long)m.payload_offset);
    ck_assert_ptr_nonnull(strstr(r.out, want));
    ck_assert_ptr_nonnull(strstr(r.out, "bad entries:  1\n"));
    ck_assert_ptr_nonnull(strstr(r.err, srd_strerror(SRD_ECHECKSUM)));
    ck_assert_ptr_nonnull(strstr(r.err, want));
    res_free(&r);

    /* Design decision: the bytes are still served (as the reference). */
    char bad[] = "second value";
    bad[0] ^= (char)0xFF;
    ck_get("k1", bad, 12);
    ck_get("k2", "third value", 11);
    /* Nothing was modified by verify or get. */
    size_t n2;
    uint8_t *b2 = store_bytes(&n2);
    ck_assert_uint_eq(n, n2);
    ck_assert(memcmp(b, b2, n) == 0);
    free(b);
    free(b2);
}
END_TEST

/* Names of the files in g_dir, sorted, one per line (malloc'd). */
static char *dir_listing(void)
{
    char *argv[] = {"/bin/ls", "-a", g_dir, NULL};
    char *out = NULL;
    size_t n = 0;
    ck_assert_int_eq(tu_run(argv, NULL, NULL, 0, &out, &n, NULL), 0);
    return out;
}

/* A copied store (no sidecar) whose chain is cut in the middle by a
 * flipped prev_offset bit: every reading command leaves the directory as
 * it was (no lock, sidecar or .cut file, the store byte for byte), verify
 * fails naming where the chain breaks, and a writer refuses the store
 * (issue 12 item 6, issue 17 item 2). */
START_TEST(test_read_commands_never_write_a_damaged_store)
{
    srd_store *st = NULL;
    ck_srd(tu_open(g_store, SRD_OPEN_CREATE, &st));
    srd_entry_meta m, m19;
    for (int i = 0; i < 40; i++) {
        char k[16], v[32];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "value number %d", i);
        ck_srd(srd_put(st, tu_s(k), tu_s(v)));
        if (i == 19)
            ck_srd(srd_meta(st, tu_s(k), &m19));
        if (i == 20)
            ck_srd(srd_meta(st, tu_s(k), &m));
    }
    ck_srd(srd_close(st));
    char *side = tu_join(g_dir, "store.bin.synced");
    ck_assert_int_eq(unlink(side), 0);
    free(side);
    uint64_t trailer = m.payload_offset + m.len;
    size_t n;
    uint8_t *b = store_bytes(&n);
    b[trailer + 8 + 5] ^= 0x01; /* k20's back pointer: far past the end */
    ck_assert_int_eq(tu_write_file(g_store, b, n), 0);
    char *before = dir_listing();
    size_t n2;
    static const char *const reads[][3] = {
        {"get", "k3", NULL}, {"get", "k30", NULL}, {"exists", "k30", NULL},
        {"meta", "k3", NULL}, {"ls", NULL, NULL}, {"status", NULL, NULL},
        {"verify", NULL, NULL}, {"export", "/dev/null", NULL}};
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        ctl_res r = run_ctl(g_store, NULL, NULL, 0,
                            (const char *[]){reads[i][0], reads[i][1], NULL});
        ck_assert_msg(r.rc <= 3, "%s: exit %d: %s", reads[i][0], r.rc, r.err);
        res_free(&r);
        char *now = dir_listing();
        ck_assert_msg(strcmp(before, now) == 0, "%s changed the folder:\n%s",
                      reads[i][0], now);
        free(now);
        uint8_t *b2 = store_bytes(&n2);
        ck_assert_msg(n2 == n && memcmp(b, b2, n) == 0, "%s changed the store",
                      reads[i][0]);
        free(b2);
    }
    ctl_res g = RUN("get", "k3");
    ck_rc(g, 0);
    ck_assert_mem_eq(g.out, "value number 3", 14);
    ck_assert_msg(strstr(g.err, "not a torn write"), "get: %s", g.err);
    res_free(&g);
    ck_exit(1, "get", "k30"); /* past the damage: a read stops there */
    char brk[80];
    snprintf(brk, sizeof brk, "BAD (the chain breaks at offset %llu)",
             (unsigned long long)(m19.payload_offset + m19.len + 20));
    ctl_res r = RUN("verify");
    ck_rc(r, 3);
    ck_assert_msg(strstr(r.out, brk), "verify: %s", r.out);
    ck_assert_ptr_nonnull(strstr(r.err, "intact entries"));
    res_free(&r);
    r = RUN("put", "new", "value");
    ck_assert_int_ne(r.rc, 0);
    ck_assert_msg(strstr(r.err, "refused") && strstr(r.err, "not a torn"),
                  "put: %s", r.err);
    res_free(&r);
    uint8_t *b2 = store_bytes(&n2);
    ck_assert(n2 == n && memcmp(b, b2, n) == 0);
    free(b2);
    free(before);
    free(b);
}
END_TEST

/* An unpadded store (simd_r_drive_py 0.4, tests/layouts): srdctl reads it,
 * status names the layout, writes keep it, --layout cannot change it, and
 * upgrade converts it losing nothing. */
START_TEST(test_unpadded_store_reads_writes_and_upgrades)
{
    size_t n = 0;
    uint8_t *b = tu_read_file(SRD_LAYOUTS_DIR "/unpadded-0.4.bin", &n);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(tu_write_file(g_store, b, n), 0);
    free(b);
    ck_out_has(0, "layout:       unpadded", "status");
    ck_get("omega", "the last value", 14);
    ck_get("alpha", "uno", 3);
    ck_exit(1, "get", "beta");
    ck_ok("put", "new", "appended in the unpadded layout");
    ck_exit(2, "put", "--layout", "aligned64", "x", "y");
    ctl_res r = RUN("status", "--json");
    ck_rc(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "\"layout\":\"unpadded\""));
    res_free(&r);
    ck_out_has(0, "from the unpadded to the aligned64", "upgrade");
    r = RUN("status");
    ck_assert_ptr_nonnull(strstr(r.out, "layout:       aligned64"));
    res_free(&r);
    ck_get("omega", "the last value", 14);
    ck_get("new", "appended in the unpadded layout", 31);
    ck_get("", "the empty key", 13);
    ck_exit(1, "get", "beta");
    ck_ok("verify");
    ck_out_has(0, "nothing to do", "upgrade");
}
END_TEST

/* ======================================================================== */
/* compact                                                                   */
/* ======================================================================== */

/* Reference compaction_tests.rs: the file shrinks, latest values stay. */
START_TEST(test_compact_shrinks_file_and_keeps_values)
{
    size_t n = 4096;
    uint8_t *v = pattern(n);
    for (int i = 0; i < 4; i++) {
        v[0] = (uint8_t)i;
        ctl_res r = RUN_IN(v, n, "put", "big");
        ck_rc(r, 0);
        res_free(&r);
    }
    ck_ok("put", "small", "keep me");
    ck_ok("put", "temp", "temporary");
    ck_ok("del", "temp");
    long long before = tu_file_size(g_store);

    ctl_res r = RUN("compact");
    ck_rc(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "reclaimed"));
    ck_assert_str_eq(r.err, "");
    long long after = tu_file_size(g_store);
    ck_assert_int_lt(after, before);
    char want[64];
    snprintf(want, sizeof want, "reclaimed %lld bytes", before - after);
    ck_assert_msg(strstr(r.out, want) != NULL, "'%s' not in: %s", want,
                  r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "writers paused"));
    res_free(&r);

    ck_get("big", v, n); /* v[0] == 3: the latest version */
    ck_get("small", "keep me", 7);
    ck_exit(1, "get", "temp");

    /* --progress: plain progress lines on stderr, the report on stdout */
    ck_ok("put", "small", "again");
    r = RUN("compact", "--progress");
    ck_rc(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "reclaimed"));
    ck_assert_msg(strstr(r.err, "compact") != NULL, "no progress: '%s'",
                  r.err);
    res_free(&r);
    ck_get("small", "again", 5);
    json_object *o = info_json();
    ck_assert_uint_eq(json_u64(o, "live_keys"), 2);
    ck_assert_uint_eq(json_u64(o, "entries"), 2);
    ck_assert_uint_eq(json_u64(o, "dead_bytes"), 0);
    json_object_put(o);
    char *tmp = tu_join(g_dir, "store.bin.compact");
    ck_assert_int_eq(tu_file_size(tmp), -1); /* no temporary left behind */
    free(tmp);
    free(v);
}
END_TEST

/* ======================================================================== */
/* Locks and bad stores                                                      */
/* ======================================================================== */

START_TEST(test_locked_store_refuses_writes_but_serves_reads)
{
    srd_store *w = NULL;
    ck_srd(srd_open(g_store, NULL, &w)); /* this process is the writer */
    ck_srd(srd_put(w, tu_s("held"), tu_s("by the test")));

    char *dump = tu_join(g_dir, "d.dump");
    char *kf = tu_join(g_dir, "keys.txt");
    char *other = tu_join(g_dir, "other.bin");
    ck_assert_int_eq(tu_write_file(kf, "held\n", 5), 0);
    long long before = tu_file_size(g_store);
    const char *const *cmds[] = {
        (const char *[]){"put", "k", "v", NULL},
        (const char *[]){"del", "held", NULL},
        (const char *[]){"compact", NULL},
        (const char *[]){"sync", NULL},
        (const char *[]){"copy", "held", "k2", NULL},
        (const char *[]){"move", "held", "k2", NULL},
        (const char *[]){"rename", "held", "k2", NULL},
        (const char *[]){"move", "held", "--to", other, NULL},
    };
    /* the lock itself: srdctl opted out of the hand-over a default open
     * asks for (check_autostart, test_srdctl.py) */
    char *const no_auto[] = {"SRD_AUTOSTART=0", NULL};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        ctl_res r = run_ctl(g_store, no_auto, NULL, 0, cmds[i]);
        ck_rc(r, 3);
        ck_assert_uint_eq(r.out_len, 0);
        ck_assert_msg(strstr(r.err, "store is locked by another writer (srdd?)"),
                      "%s: %s", cmds[i][0], r.err);
        res_free(&r);
    }
    ck_assert_int_eq(tu_file_size(g_store), before);
    ck_assert_int_eq(tu_file_size(other), -1);
    /* Read commands open read-only and work while the writer holds it. */
    const char *const *reads[] = {
        (const char *[]){"status", NULL},
        (const char *[]){"meta", "held", NULL},
        (const char *[]){"ls", NULL},
        (const char *[]){"export", dump, "--keys", kf, NULL},
        (const char *[]){"copy", "held", "--to", other, NULL},
    };
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        ctl_res r = run_ctl(g_store, NULL, NULL, 0, reads[i]);
        ck_assert_msg(r.rc == 0, "%s: exit %d: %s", reads[i][0], r.rc, r.err);
        res_free(&r);
    }
    /* import writes: refused, after checking the dump. */
    ctl_res imp = run_ctl(g_store, no_auto, NULL, 0,
                          (const char *[]){"import", dump, NULL});
    ck_rc(imp, 3);
    ck_assert_ptr_nonnull(strstr(imp.err, "store is locked by another writer"));
    res_free(&imp);
    ck_get("held", "by the test", 11);
    ck_exit(0, "exists", "held");
    ck_exit(0, "verify");
    free(dump);
    free(kf);
    free(other);

    ck_srd(srd_close(w));
    ck_ok("put", "k", "v"); /* the lock is gone with the writer */
    ck_get("k", "v", 1);
}
END_TEST

START_TEST(test_non_store_file_is_refused_and_left_unmodified)
{
    char text[2000];
    size_t n = 0;
    while (n + 40 < sizeof text)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "this is not an srd store, line %zu\n", n);
    ck_assert_int_eq(tu_write_file(g_store, text, n), 0);

    const char *const *cmds[] = {
        (const char *[]){"get", "k", NULL},
        (const char *[]){"exists", "k", NULL},
        (const char *[]){"info", NULL},
        (const char *[]){"verify", NULL},
        (const char *[]){"put", "k", "v", NULL},
        (const char *[]){"del", "k", NULL},
        (const char *[]){"compact", NULL},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        ctl_res r = run_ctl(g_store, NULL, NULL, 0, cmds[i]);
        ck_assert_msg(r.rc == 3, "%s: exit %d", cmds[i][0], r.rc);
        ck_assert_uint_eq(r.out_len, 0);
        ck_assert_msg(strstr(r.err, srd_strerror(SRD_ECORRUPT)), "%s: %s",
                      cmds[i][0], r.err);
        res_free(&r);
        size_t m;
        uint8_t *now = store_bytes(&m);
        ck_assert_msg(m == n && memcmp(now, text, n) == 0,
                      "%s modified the file", cmds[i][0]);
        free(now);
    }
}
END_TEST

START_TEST(test_directory_as_store_is_refused)
{
    const char *const *cmds[] = {
        (const char *[]){"get", "k", NULL},
        (const char *[]){"info", NULL},
        (const char *[]){"put", "k", "v", NULL},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        ctl_res r = run_ctl(g_dir, NULL, NULL, 0, cmds[i]);
        ck_assert_msg(r.rc == 3, "%s: exit %d", cmds[i][0], r.rc);
        ck_assert_uint_eq(r.out_len, 0);
        ck_assert_ptr_nonnull(strstr(r.err, "Is a directory"));
        res_free(&r);
    }
}
END_TEST

/* ======================================================================== */
/* Usage                                                                     */
/* ======================================================================== */

START_TEST(test_usage_errors_exit_2_and_print_nothing_to_stdout)
{
    const char *const *bad[] = {
        (const char *[]){NULL},
        (const char *[]){"frobnicate", NULL},
        (const char *[]){"get", NULL},
        (const char *[]){"get", "a", "b", NULL},
        (const char *[]){"put", NULL},
        (const char *[]){"put", "k", "v", "extra", NULL},
        (const char *[]){"put", "k", "v", "--file", "/dev/null", NULL},
        (const char *[]){"--bogus", "get", "k", NULL},
        (const char *[]){"get", "--bogus", "k", NULL},
        (const char *[]){"get", "-x", "k", NULL},
        (const char *[]){"info", "--json=1", NULL},
        (const char *[]){"info", "extra", NULL},
        (const char *[]){"verify", "--watch", NULL},
        (const char *[]){"put", "k", "--file", NULL},
        (const char *[]){"help", "nosuch", NULL},
        (const char *[]){"copy", "k", NULL},
        (const char *[]){"move", "k", NULL},
        (const char *[]){"rename", "k", NULL},
        (const char *[]){"copy", "k", "--to", NULL},
        (const char *[]){"copy", "k", "--to", "", NULL},
        (const char *[]){"status", "--watch", "abc", NULL},
        (const char *[]){"status", "--watch=0", NULL},
        (const char *[]){"status", "--count", "3", NULL},
        (const char *[]){"status", "--watch", "--count", "0", NULL},
        (const char *[]){"status", "extra", NULL},
        (const char *[]){"get", "k", "-b", NULL},
        (const char *[]){"meta", NULL},
        (const char *[]){"ls", "extra", NULL},
        (const char *[]){"export", NULL},
        (const char *[]){"export", "", NULL},
        (const char *[]){"import", NULL},
        (const char *[]){"import", "a", "b", NULL},
        (const char *[]){"sync", "--json", NULL},
        (const char *[]){"compact", "--json", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ctl_res r = run_ctl(g_store, NULL, NULL, 0, bad[i]);
        ck_assert_msg(r.rc == 2, "case %zu (%s): exit %d, stderr %s", i,
                      bad[i][0] ? bad[i][0] : "-", r.rc, r.err);
        ck_assert_msg(r.out_len == 0, "case %zu wrote stdout: %s", i, r.out);
        ck_assert_msg(strncmp(r.err, "srdctl: ", 8) == 0, "case %zu: %s", i,
                      r.err);
        res_free(&r);
    }
    /* No store anywhere, an empty path, --store without its argument. */
    ctl_res r = RUN_RAW(NULL, "get", "k");
    ck_rc(r, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "SRD_STORE"));
    ck_assert_uint_eq(r.out_len, 0);
    res_free(&r);
    r = RUN_RAW(NULL, "--store", "", "get", "k");
    ck_rc(r, 2);
    res_free(&r);
    r = RUN_RAW(NULL, "--store");
    ck_rc(r, 2);
    ck_assert_uint_eq(r.out_len, 0);
    res_free(&r);
    ck_assert_int_eq(tu_file_size(g_store), -1);
}
END_TEST

START_TEST(test_help_and_version_print_to_stdout_and_exit_0)
{
    ctl_res r = RUN_RAW(NULL, "--help");
    ck_rc(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "Usage: srdctl"));
    const char *names[] = {"put",     "get",  "del",  "exists", "status",
                           "verify",  "compact", "meta", "ls", "sync",
                           "copy",    "move", "rename", "export", "import"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char pat[32];
        snprintf(pat, sizeof pat, "\n  %s ", names[i]);
        ck_assert_msg(strstr(r.out, pat), "%s missing from --help", names[i]);
    }
    ck_assert_str_eq(r.err, "");
    res_free(&r);

    r = RUN_RAW(NULL, "put", "--help");
    ck_rc(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "put KEY [VALUE]"));
    ck_assert_ptr_nonnull(strstr(r.out, "--file"));
    res_free(&r);

    r = RUN_RAW(NULL, "help", "verify");
    ck_rc(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "--progress"));
    res_free(&r);

    r = RUN_RAW(NULL, "--version");
    ck_rc(r, 0);
    /* The project version from CMake: "srdctl (srd) X.Y.Z". */
    unsigned vx, vy, vz;
    char nl = 0;
    ck_assert_msg(sscanf(r.out, "srdctl (srd) %u.%u.%u%c", &vx, &vy, &vz,
                         &nl) == 4 && nl == '\n',
                  "version: %s", r.out);
    res_free(&r);
    ck_assert_int_eq(tu_file_size(g_store), -1);
}
END_TEST

/* ======================================================================== */
/* Helpers for the admin commands                                            */
/* ======================================================================== */

/* Parse stdout of a successful run as JSON. */
static json_object *out_json(ctl_res *r)
{
    ck_rc(*r, 0);
    json_object *o = json_tokener_parse(r->out);
    ck_assert_msg(o != NULL, "not JSON: %s", r->out);
    return o;
}

static const char *json_str(json_object *o, const char *k)
{
    json_object *v = NULL;
    ck_assert_msg(json_object_object_get_ex(o, k, &v), "no member %s", k);
    ck_assert_msg(json_object_is_type(v, json_type_string), "%s not a string",
                  k);
    return json_object_get_string(v);
}

/* "0x%016llx" of h. */
static const char *hex64(uint64_t h, char buf[24])
{
    snprintf(buf, 24, "0x%016llx", (unsigned long long)h);
    return buf;
}

/* A mixed store: overwrites, a delete, binary and multi-MiB values. */
static void fill_mixed_store(size_t big)
{
    ck_ok("put", "alpha", "one");
    ck_ok("put", "beta", "two");
    ck_ok("put", "alpha", "one, updated");
    ck_ok("put", "gone", "deleted soon");
    ck_ok("del", "gone");
    uint8_t *v = pattern(big);
    ctl_res r = RUN_IN(v, big, "put", "big");
    ck_rc(r, 0);
    res_free(&r);
    free(v);
    ck_ok("put", "", "empty key");
    static const uint8_t bin[] = {0, 0, 1, 0xff, 0};
    r = RUN_IN(bin, sizeof bin, "put", "bin");
    ck_rc(r, 0);
    res_free(&r);
}

/* ======================================================================== */
/* status                                                                    */
/* ======================================================================== */

START_TEST(test_status_reports_direct_mode_and_no_daemon_figures)
{
    ck_ok("put", "a", "1");
    ctl_res r = RUN("status");
    ck_rc(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "mode:         direct\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "live keys:    1\n"));
    /* Daemon figures are absent, not zero. */
    ck_assert_ptr_null(strstr(r.out, "pid"));
    ck_assert_ptr_null(strstr(r.out, "clients"));
    ck_assert_ptr_null(strstr(r.out, "generation"));
    res_free(&r);
    r = RUN("status", "--json");
    json_object *o = out_json(&r);
    ck_assert_str_eq(json_str(o, "mode"), "direct");
    json_object *d = (json_object *)1;
    ck_assert(json_object_object_get_ex(o, "daemon", &d));
    ck_assert_ptr_null(d); /* JSON null */
    ck_assert_uint_eq(json_u64(o, "live_keys"), 1);
    json_object_put(o);
    res_free(&r);
}
END_TEST

START_TEST(test_status_watch_prints_count_reports_when_not_a_terminal)
{
    ck_ok("put", "a", "1");
    ctl_res r = RUN("status", "--json", "--watch", "0.1", "--count", "3");
    ck_rc(r, 0);
    int lines = 0;
    for (char *p = r.out, *nl; (nl = strchr(p, '\n')); p = nl + 1, lines++) {
        *nl = '\0';
        json_object *o = json_tokener_parse(p);
        ck_assert_msg(o != NULL, "line %d not JSON: %s", lines, p);
        ck_assert_uint_eq(json_u64(o, "live_keys"), 1);
        json_object_put(o);
    }
    ck_assert_int_eq(lines, 3);
    res_free(&r);
    /* Text reports are separated by a blank line; -w=SECONDS works too. */
    r = RUN("status", "--watch=0.1", "-n", "2");
    ck_rc(r, 0);
    char *second = strstr(r.out, "\n\npath:");
    ck_assert_ptr_nonnull(second);
    ck_assert_ptr_null(strstr(second + 2, "\n\npath:"));
    ck_assert_ptr_null(strstr(r.out, "\033[")); /* no screen control */
    res_free(&r);
}
END_TEST

/* A watching srdctl follows appends by another process and a compaction
 * that replaces the file; SIGTERM ends it with status 0. */
START_TEST(test_status_watch_follows_other_writer_and_ends_on_sigterm)
{
    srd_store *w = NULL;
    ck_srd(srd_open(g_store, NULL, &w));
    ck_srd(srd_put(w, tu_s("k0"), tu_s("v")));
    int po[2];
    ck_assert_int_eq(pipe(po), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(po[1], 1);
        close(po[0]);
        execl(SRDCTL_PATH, SRDCTL_PATH, "--store", g_store, "status", "--json",
              "--watch", "0.1", (char *)NULL);
        _exit(127);
    }
    close(po[1]);
    FILE *f = fdopen(po[0], "r");
    char line[4096];
    uint64_t want = 1;
    int seen = 0;
    while (want <= 4 && fgets(line, sizeof line, f)) {
        json_object *o = json_tokener_parse(line);
        ck_assert_msg(o != NULL, "not JSON: %s", line);
        uint64_t live = json_u64(o, "live_keys");
        json_object_put(o);
        ck_assert_msg(++seen < 2000, "watch never showed %llu keys",
                      (unsigned long long)want);
        if (live != want)
            continue;
        if (++want > 4)
            break;
        /* Seen: change the store under the watcher; the third change
         * comes after a compaction replaced the file. */
        if (want == 4)
            ck_srd(srd_compact(w, NULL));
        char k[8];
        snprintf(k, sizeof k, "k%llu", (unsigned long long)want - 1);
        ck_srd(srd_put(w, tu_s(k), tu_s("v")));
    }
    ck_assert_uint_eq(want, 5);
    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    fclose(f);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    ck_srd(srd_close(w));
}
END_TEST

/* ======================================================================== */
/* get --buffer-size, read                                                   */
/* ======================================================================== */

START_TEST(test_read_alias_with_buffer_size_writes_whole_value)
{
    size_t n = 128 * 1024;
    uint8_t *v = pattern(n);
    ctl_res r = RUN_IN(v, n, "write", "large_key");
    ck_rc(r, 0);
    res_free(&r);
    const char *sizes[] = {"64K", "1000", "1mb", " 2k ", "1G"};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        r = RUN("read", "large_key", "--buffer-size", sizes[i]);
        ck_rc(r, 0);
        ck_assert_msg(r.out_len == n && memcmp(r.out, v, n) == 0,
                      "-b %s: %zu bytes", sizes[i], r.out_len);
        res_free(&r);
    }
    r = RUN("get", "-b", "7", "large_key");
    ck_rc(r, 0);
    ck_assert(r.out_len == n && memcmp(r.out, v, n) == 0);
    res_free(&r);
    free(v);
}
END_TEST

START_TEST(test_bad_buffer_size_is_usage_error)
{
    ck_ok("put", "k", "v");
    const char *bad[] = {"abc", "10XZ", "0", "", "-5", "2G", "1.5K"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ctl_res r = RUN("read", "k", "-b", bad[i]);
        ck_assert_msg(r.rc == 2, "-b '%s': exit %d", bad[i], r.rc);
        ck_assert_uint_eq(r.out_len, 0);
        ck_assert_msg(strstr(r.err, "buffer size"), "-b '%s': %s", bad[i],
                      r.err);
        res_free(&r);
    }
}
END_TEST

/* ======================================================================== */
/* meta                                                                      */
/* ======================================================================== */

START_TEST(test_meta_matches_the_api_in_text_and_json)
{
    ck_ok("put", "first", "padding entry");
    ck_ok("put", "key1", "some value");
    srd_entry_meta m;
    ck_srd(api_meta(g_store, "key1", &m));
    ck_assert_uint_eq(m.key_hash, 0x384d070cd5d829e2ull); /* pinned vector */
    char want[256], h[24];
    ctl_res r = RUN("meta", "key1");
    ck_rc(r, 0);
    snprintf(want, sizeof want,
             "key:            key1\nkey hash:       %s\noffset:         "
             "%llu\nlength:         10\nentry end:      %llu\n",
             hex64(m.key_hash, h), (unsigned long long)m.payload_offset,
             (unsigned long long)m.entry_end);
    ck_assert_msg(strstr(r.out, want), "got:\n%s", r.out);
    snprintf(want, sizeof want, "checksum:       0x%08x\nchecksum valid: yes\n",
             (unsigned)m.checksum);
    ck_assert_ptr_nonnull(strstr(r.out, want));
    res_free(&r);

    r = RUN("metadata", "key1", "--json"); /* the reference's name */
    json_object *o = out_json(&r);
    ck_assert_str_eq(json_str(o, "key_hash"), hex64(m.key_hash, h));
    ck_assert_uint_eq(json_u64(o, "offset"), m.payload_offset);
    ck_assert_uint_eq(json_u64(o, "length"), 10);
    ck_assert_uint_eq(json_u64(o, "entry_end"), m.entry_end);
    ck_assert_uint_eq(json_u64(o, "prev_offset"), m.prev_offset);
    snprintf(want, sizeof want, "0x%08x", (unsigned)m.checksum);
    ck_assert_str_eq(json_str(o, "checksum"), want);
    json_object *cv = NULL;
    ck_assert(json_object_object_get_ex(o, "checksum_valid", &cv));
    ck_assert(json_object_get_boolean(cv));
    json_object_put(o);
    res_free(&r);
}
END_TEST

START_TEST(test_meta_reports_bad_checksum_and_missing_key)
{
    put_k0_k1();
    corrupt_payload("k0");
    ctl_res r = RUN("meta", "k0");
    ck_rc(r, 0); /* reported, not an error: verify is the check */
    ck_assert_ptr_nonnull(strstr(r.out, "checksum valid: NO\n"));
    res_free(&r);
    r = RUN("meta", "nope");
    ck_rc(r, 1);
    ck_assert_uint_eq(r.out_len, 0);
    ck_assert_ptr_nonnull(strstr(r.err, "'nope' not found"));
    res_free(&r);
}
END_TEST

/* ======================================================================== */
/* ls                                                                        */
/* ======================================================================== */

START_TEST(test_ls_lists_live_entries_oldest_first)
{
    ck_ok("put", "a", "1111");
    ck_ok("put", "b", "22");
    ck_ok("put", "c", "333");
    ck_ok("del", "b");
    ck_ok("put", "a", "55555"); /* moves a after c */
    srd_entry_meta ma, mc;
    ck_srd(api_meta(g_store, "a", &ma));
    ck_srd(api_meta(g_store, "c", &mc));
    char want[256], ha[24], hc[24];
    snprintf(want, sizeof want, "%s %llu 3\n%s %llu 5\n", hex64(mc.key_hash, hc),
             (unsigned long long)mc.payload_offset, hex64(ma.key_hash, ha),
             (unsigned long long)ma.payload_offset);
    ctl_res r = RUN("ls");
    ck_rc(r, 0);
    ck_assert_str_eq(r.out, want);
    res_free(&r);

    /* --keys names the hashes it knows; unknown keys are ignored. */
    char *kf = tu_join(g_dir, "keys.txt");
    ck_assert_int_eq(tu_write_file(kf, "c\nnot-there\nb\n", 14), 0);
    r = RUN("ls", "--keys", kf);
    ck_rc(r, 0);
    snprintf(want, sizeof want, "%s %llu 3 c\n%s %llu 5\n", hc,
             (unsigned long long)mc.payload_offset, ha,
             (unsigned long long)ma.payload_offset);
    ck_assert_str_eq(r.out, want);
    res_free(&r);

    r = RUN("ls", "--json", "-k", kf);
    json_object *o = out_json(&r);
    ck_assert(json_object_is_type(o, json_type_array));
    ck_assert_uint_eq(json_object_array_length(o), 2);
    json_object *e0 = json_object_array_get_idx(o, 0);
    json_object *e1 = json_object_array_get_idx(o, 1);
    ck_assert_str_eq(json_str(e0, "key_hash"), hc);
    ck_assert_str_eq(json_str(e0, "key"), "c");
    ck_assert_uint_eq(json_u64(e0, "offset"), mc.payload_offset);
    ck_assert_uint_eq(json_u64(e1, "length"), 5);
    ck_assert(!json_object_object_get_ex(e1, "key", NULL));
    json_object_put(o);
    res_free(&r);
    free(kf);
}
END_TEST

START_TEST(test_ls_on_empty_store_and_bad_key_list)
{
    ck_assert_int_eq(tu_write_file(g_store, "", 0), 0);
    ck_out(0, "", "ls");
    ctl_res r = RUN("ls", "--json");
    json_object *o = out_json(&r);
    ck_assert_uint_eq(json_object_array_length(o), 0);
    json_object_put(o);
    res_free(&r);
    char *missing = tu_join(g_dir, "no-such-keys");
    ck_err_has(2, "no-such-keys", "ls", "--keys", missing);
    free(missing);
}
END_TEST

/* ======================================================================== */
/* sync                                                                      */
/* ======================================================================== */

START_TEST(test_sync_flushes_store_and_needs_it)
{
    ctl_res r = RUN("sync");
    ck_rc(r, 3); /* no store: sync creates nothing */
    ck_assert_ptr_nonnull(strstr(r.err, srd_strerror(SRD_ENOENT)));
    res_free(&r);
    ck_assert_int_eq(tu_file_size(g_store), -1);
    ck_ok("put", "k", "v");
    size_t n0;
    uint8_t *before = store_bytes(&n0);
    r = RUN("sync");
    ck_rc(r, 0);
    ck_assert_uint_eq(r.out_len, 0);
    ck_assert_str_eq(r.err, "");
    res_free(&r);
    size_t n1;
    uint8_t *after = store_bytes(&n1);
    ck_assert(n0 == n1 && memcmp(before, after, n0) == 0);
    free(before);
    free(after);
}
END_TEST

/* ======================================================================== */
/* copy, move, rename within a store                                         */
/* ======================================================================== */

START_TEST(test_copy_move_rename_within_store)
{
    ck_ok("put", "src", "the value");
    ck_out(0, "Copied key 'src' to 'dup'\n", "copy", "src", "dup");
    ck_get("src", "the value", 9);
    ck_get("dup", "the value", 9);

    ck_out(0, "Moved key 'dup' to 'moved'\n", "move", "dup", "moved");
    ck_get("moved", "the value", 9);
    ck_exit(1, "exists", "dup");

    /* Reference storage_operation_tests.rs test_rename. */
    ck_out(0, "Renamed key 'moved' to 'renamed'\n", "rename", "moved",
           "renamed");
    ck_get("renamed", "the value", 9);
    ck_exit(1, "get", "moved");
    json_object *o = info_json();
    ck_assert_uint_eq(json_u64(o, "live_keys"), 2);
    json_object_put(o);

    /* The copy replaces an existing value under the new key. */
    ck_ok("copy", "src", "renamed");
    ck_get("renamed", "the value", 9);
}
END_TEST

/* Reference test_rename_entry_to_self_fails: an error, the value stays. */
START_TEST(test_rename_or_copy_to_same_key_is_usage_error)
{
    ck_ok("put", "k", "v");
    long long before = tu_file_size(g_store);
    const char *const *bad[] = {
        (const char *[]){"rename", "k", "k", NULL},
        (const char *[]){"copy", "k", "k", NULL},
        (const char *[]){"move", "k", "k", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ctl_res r = run_ctl(g_store, NULL, NULL, 0, bad[i]);
        ck_assert_msg(r.rc == 2, "%s: exit %d", bad[i][0], r.rc);
        ck_assert_ptr_nonnull(strstr(r.err, "same key"));
        res_free(&r);
    }
    ck_assert_int_eq(tu_file_size(g_store), before);
    ck_get("k", "v", 1);
}
END_TEST

START_TEST(test_copy_move_rename_missing_key_exit_1_and_write_nothing)
{
    ck_ok("put", "other", "x");
    long long before = tu_file_size(g_store);
    char *target = tu_join(g_dir, "target.bin");
    const char *const *cmds[] = {
        (const char *[]){"copy", "nope", "new", NULL},
        (const char *[]){"move", "nope", "new", NULL},
        (const char *[]){"rename", "nope", "new", NULL},
        (const char *[]){"copy", "nope", "--to", target, NULL},
        (const char *[]){"move", "nope", "--to", target, NULL},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        ctl_res r = run_ctl(g_store, NULL, NULL, 0, cmds[i]);
        ck_assert_msg(r.rc == 1, "%s: exit %d", cmds[i][0], r.rc);
        ck_assert_uint_eq(r.out_len, 0);
        ck_assert_ptr_nonnull(strstr(r.err, "'nope' not found"));
        res_free(&r);
    }
    ck_assert_int_eq(tu_file_size(g_store), before);
    ck_assert_int_eq(tu_file_size(target), -1); /* not created */
    free(target);
}
END_TEST

/* ======================================================================== */
/* copy and move to another store                                            */
/* ======================================================================== */

/* Reference test_copy_entry_between_storages: same bytes, hash, CRC. */
START_TEST(test_copy_to_other_store_keeps_bytes_hash_and_checksum)
{
    size_t n = (1u << 20) + 333;
    uint8_t *v = pattern(n);
    ctl_res r = RUN_IN(v, n, "put", "copy_key");
    ck_rc(r, 0);
    res_free(&r);
    char *target = tu_join(g_dir, "target.bin");
    r = RUN("copy", "copy_key", "--to", target);
    ck_rc(r, 0);
    char want[4300];
    snprintf(want, sizeof want, "Copied key 'copy_key' to store '%s'\n",
             target);
    ck_assert_str_eq(r.out, want);
    res_free(&r);
    ck_get("copy_key", v, n); /* the source keeps it */
    srd_entry_meta ms, mt;
    ck_srd(api_meta(g_store, "copy_key", &ms));
    ck_srd(api_meta(target, "copy_key", &mt));
    ck_assert_uint_eq(mt.key_hash, ms.key_hash);
    ck_assert_uint_eq(mt.checksum, ms.checksum);
    ck_assert_uint_eq(mt.len, n);
    ck_assert(mt.checksum_valid);
    ctl_res t = run_ctl(target, NULL, NULL, 0,
                        (const char *[]){"get", "copy_key", NULL});
    ck_rc(t, 0);
    ck_assert(t.out_len == n && memcmp(t.out, v, n) == 0);
    res_free(&t);

    /* Under a new name in the other store. */
    ck_ok("copy", "copy_key", "renamed", "-t", target);
    ck_assert_int_eq(api_meta(target, "renamed", &mt), SRD_OK);
    ck_assert_uint_eq(mt.checksum, ms.checksum);
    free(target);
    free(v);
}
END_TEST

/* Reference test_transfer_entry_between_storages. */
START_TEST(test_move_to_other_store_removes_source_key)
{
    ck_ok("put", "mv", "moving value");
    ck_ok("put", "stay", "x");
    char *target = tu_join(g_dir, "target.bin");
    ck_out_has(0, "Moved key 'mv' to store", "move", "mv", "--to", target);
    ck_exit(1, "get", "mv");
    srd_entry_meta m;
    ck_srd(api_meta(target, "mv", &m));
    ck_assert_uint_eq(m.key_hash, srd_key_hash("mv", 2));
    ck_assert(m.checksum_valid);
    ck_get("stay", "x", 1);
    free(target);
}
END_TEST

/* Reference test_copy_to_self_fails; also through a second path. */
START_TEST(test_copy_to_same_store_is_refused)
{
    ck_ok("put", "k", "v");
    long long before = tu_file_size(g_store);
    char *link = tu_join(g_dir, "link.bin");
    ck_assert_int_eq(symlink(g_store, link), 0);
    const char *targets[] = {g_store, link};
    for (size_t i = 0; i < 2; i++) {
        ctl_res r = RUN("copy", "k", "--to", targets[i]);
        ck_rc(r, 2);
        ck_assert_ptr_nonnull(strstr(r.err, "same store"));
        res_free(&r);
        ck_exit(2, "move", "k", "--to", targets[i]);
    }
    ck_assert_int_eq(tu_file_size(g_store), before);
    ck_get("k", "v", 1);
    free(link);
}
END_TEST

START_TEST(test_move_to_locked_store_leaves_source_intact)
{
    ck_ok("put", "k", "v");
    char *target = tu_join(g_dir, "target.bin");
    srd_store *w = NULL;
    ck_srd(srd_open(target, NULL, &w)); /* another writer holds the target */
    long long before = tu_file_size(g_store);
    char *const no_auto[] = {"SRD_AUTOSTART=0", NULL}; /* no hand-over */
    ctl_res r = run_ctl(g_store, no_auto, NULL, 0,
                        (const char *[]){"move", "k", "--to", target, NULL});
    ck_rc(r, 3);
    ck_assert_ptr_nonnull(strstr(r.err, "store is locked by another writer"));
    ck_assert_ptr_nonnull(strstr(r.err, target));
    res_free(&r);
    ck_srd(srd_close(w));
    ck_assert_int_eq(tu_file_size(g_store), before);
    ck_get("k", "v", 1);
    free(target);
}
END_TEST

/* ======================================================================== */
/* The simd-r-drive CLI's syntax: srdctl STORE COMMAND ARGS                  */
/* ======================================================================== */

/* Run srdctl with argv = SRDCTL_PATH, args... (no --store). */
#define RUN_ARGS(...) run_ctl(NULL, NULL, NULL, 0, (const char *[]){__VA_ARGS__, NULL})
#define ck_exit_args(want, ...)                                                \
    do {                                                                       \
        ctl_res ck_exit_r_ = RUN_ARGS(__VA_ARGS__);                            \
        ck_rc(ck_exit_r_, want);                                               \
        res_free(&ck_exit_r_);                                                 \
    } while (0)

/* Reference cli_tests.rs: write, read, copy, rename, delete, metadata,
 * info, with the store as the first argument. */
START_TEST(test_reference_syntax_commands_work_as_in_simd_r_drive)
{
    ck_exit_args(0, g_store, "write", "test_key", "hello");
    ctl_res r = RUN_ARGS(g_store, "read", "test_key");
    ck_rc(r, 0);
    ck_assert_str_eq(r.out, "hello");
    res_free(&r);

    /* copy KEY TARGET copies to another store file, as the reference. */
    char *target = tu_join(g_dir, "target_storage.bin");
    ck_ok("put", "copy_key", "copy_test");
    ck_exit_args(0, g_store, "copy", "copy_key", target);
    r = RUN_ARGS(target, "read", "copy_key");
    ck_rc(r, 0);
    ck_assert_str_eq(r.out, "copy_test");
    res_free(&r);
    ck_exit_args(0, g_store, "move", "copy_key", target);
    ck_exit_args(1, g_store, "read", "copy_key");

    ck_exit_args(0, g_store, "rename", "test_key", "new_key");
    ck_exit_args(1, g_store, "read", "test_key");
    r = RUN_ARGS(g_store, "metadata", "new_key");
    ck_rc(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "checksum valid: yes"));
    res_free(&r);
    r = RUN_ARGS(g_store, "info", "--detailed");
    ck_rc(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "live keys:    1\n"));
    res_free(&r);
    ck_exit_args(0, g_store, "delete", "new_key");
    ck_exit_args(1, g_store, "read", "new_key");
    /* Unlike the reference, deleting a missing key is not "Deleted". */
    r = RUN_ARGS(g_store, "delete", "new_key");
    ck_rc(r, 1);
    ck_assert_uint_eq(r.out_len, 0);
    res_free(&r);
    ck_exit_args(0, g_store, "compact");
    free(target);
}
END_TEST

START_TEST(test_reference_syntax_errors)
{
    /* The store given twice; a first word that is neither. */
    ctl_res r = run_ctl(g_store, NULL, NULL, 0,
                        (const char *[]){"other.bin", "read", "k", NULL});
    ck_rc(r, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "given twice"));
    res_free(&r);
    r = RUN_ARGS(g_store, "frobnicate", "k");
    ck_rc(r, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "unknown command"));
    res_free(&r);
    /* Reference test_write_without_value. */
    char *env[] = {"FORCE_NO_TTY=1", NULL};
    r = run_ctl(NULL, env, NULL, 0,
                (const char *[]){g_store, "write", "test_key", NULL});
    ck_rc(r, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "No value provided"));
    res_free(&r);
    ck_assert_int_eq(tu_file_size(g_store), -1);
}
END_TEST

/* ======================================================================== */
/* export and import                                                         */
/* ======================================================================== */

/* The keys of fill_mixed_store, one per line (the empty key included). */
static char *write_mixed_keys(void)
{
    char *kf = tu_join(g_dir, "keys.txt");
    static const char k[] = "alpha\nbeta\ngone\nbig\n\nbin\n";
    ck_assert_int_eq(tu_write_file(kf, k, sizeof k - 1), 0);
    return kf;
}

/* Import dump into a fresh store: it prints imported (and nothing on
 * stderr: no progress bar off a terminal), is the compacted g_store byte
 * for byte, and has want under key. */
static void import_is_compacted_source(const char *dump, const char *imported,
                                       const char *key, const char *want)
{
    char *fresh = tu_join(g_dir, "fresh.bin");
    ctl_res r = run_ctl(fresh, NULL, NULL, 0,
                        (const char *[]){"import", dump, NULL});
    ck_rc(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, imported));
    ck_assert_str_eq(r.err, "");
    res_free(&r);
    ck_ok("compact");
    size_t na, nb;
    uint8_t *a = store_bytes(&na);
    uint8_t *b = tu_read_file(fresh, &nb);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(na, nb);
    ck_assert_msg(memcmp(a, b, na) == 0, "imported store differs");
    free(a);
    free(b);
    r = run_ctl(fresh, NULL, NULL, 0, (const char *[]){"get", key, NULL});
    ck_rc(r, 0);
    ck_assert_str_eq(r.out, want);
    res_free(&r);
    free(fresh);
}

/* Export → import into a fresh store gives the compacted source byte for
 * byte: same entries, same order, same hashes and pads. */
START_TEST(test_export_import_round_trip_is_byte_exact)
{
    size_t big = (3u << 20) + 77;
    fill_mixed_store(big);
    char *kf = write_mixed_keys();
    char *dump = tu_join(g_dir, "store.dump");
    ctl_res r = RUN("export", dump, "--keys", kf);
    ck_rc(r, 0);
    ck_assert_str_eq(r.err, "");
    ck_assert_ptr_nonnull(strstr(r.out, "Exported 5 entries"));
    ck_assert_ptr_nonnull(strstr(r.out, "5 with their key, 0 by key hash"));
    res_free(&r);

    import_is_compacted_source(dump, "Imported 5 entries", "alpha",
                               "one, updated");
    free(dump);
    free(kf);
}
END_TEST

/* A store of IMP_N values of IMP_LEN bytes (more than one import batch
 * of 32 MiB), then a value too big to batch (streamed) between
 * overwrites of batched keys; keys listed in the returned file. */
#define IMP_N 700
#define IMP_LEN 50000
static char *fill_batch_store(void)
{
    srd_store *st;
    ck_assert_int_eq(tu_open(g_store, SRD_OPEN_CREATE, &st), SRD_OK);
    char *kf = tu_join(g_dir, "keys.txt");
    FILE *f = fopen(kf, "w");
    ck_assert_ptr_nonnull(f);
    static char names[IMP_N][8];
    uint8_t *v = pattern(IMP_LEN + IMP_N);
    for (int i = 0; i < IMP_N; i++) {
        snprintf(names[i], sizeof names[i], "k%03d", i);
        fprintf(f, "%s\n", names[i]);
        ck_assert_int_eq(srd_put(st, tu_s(names[i]),
                                 (srd_val){v + i, IMP_LEN}), SRD_OK);
    }
    fprintf(f, "mid\n");
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(srd_put(st, tu_s("k001"), tu_s("small, newer")), SRD_OK);
    uint8_t *big = pattern(300000); /* over the batched size: streamed */
    ck_assert_int_eq(srd_put(st, tu_s("mid"), (srd_val){big, 300000}), SRD_OK);
    free(big);
    ck_assert_int_eq(srd_put(st, tu_s("k002"), tu_s("after the big one")),
                     SRD_OK);
    free(v);
    ck_assert_int_eq(srd_close(st), SRD_OK);
    return kf;
}

/* fill_batch_store(), exported with every key: the dump's path (*kf: the
 * key list's). */
static char *dump_batch_store(char **kf)
{
    *kf = fill_batch_store();
    char *dump = tu_join(g_dir, "store.dump");
    ctl_res r = RUN("export", dump, "--keys", *kf);
    ck_rc(r, 0);
    res_free(&r);
    return dump;
}

/* Import stores small values in batches and large ones streamed, in file
 * order: the result is still the compacted source byte for byte. */
START_TEST(test_import_in_batches_keeps_order_and_bytes)
{
    char *kf = NULL;
    char *dump = dump_batch_store(&kf);
    import_is_compacted_source(dump, "Imported 701 entries", "k001",
                               "small, newer");
    free(dump);
    free(kf);
}
END_TEST

/* Runs srdctl --store store ARGS with its stderr on a pseudo-terminal
 * (stdout to /dev/null) and returns its exit status; what it wrote on
 * the terminal goes to buf (NUL-terminated). */
static int run_ctl_tty_stderr(const char *store, const char *const *args,
                              char *buf, size_t cap)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_msg(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "no pty");
    const char *tty = ptsname(m);
    ck_assert_ptr_nonnull(tty);
    const char *argv[16] = {SRDCTL_PATH, "--store", store};
    size_t n = 3;
    while (*args && n < 15)
        argv[n++] = *args++;
    argv[n] = NULL;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int t = open(tty, O_RDWR | O_NOCTTY), dn = open("/dev/null", O_RDWR);
        if (t < 0 || dn < 0 || dup2(dn, 0) < 0 || dup2(dn, 1) < 0 ||
            dup2(t, 2) < 0)
            _exit(126);
        execv(SRDCTL_PATH, (char *const *)argv);
        _exit(127);
    }
    size_t got = 0;
    struct pollfd pf = {m, POLLIN, 0};
    while (got + 1 < cap && poll(&pf, 1, 60000) > 0) {
        ssize_t r = read(m, buf + got, cap - 1 - got);
        if (r <= 0)
            break; /* EIO once the child closed the terminal */
        got += (size_t)r;
    }
    buf[got] = '\0';
    int st = 0;
    waitpid(pid, &st, 0);
    close(m);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* On a terminal, import draws a progress bar on stderr up to 100 %. */
START_TEST(test_import_shows_progress_on_a_terminal)
{
    char *kf = NULL;
    char *dump = dump_batch_store(&kf);
    char *fresh = tu_join(g_dir, "fresh.bin");
    static char tty[65536];
    const char *args[] = {"import", dump, NULL};
    ck_assert_int_eq(run_ctl_tty_stderr(fresh, args, tty, sizeof tty), 0);
    ck_assert_msg(strstr(tty, "import: [") != NULL, "no bar: '%s'", tty);
    ck_assert_msg(strstr(tty, "100%") != NULL, "no 100 %%: '%s'", tty);
    free(fresh);
    free(dump);
    free(kf);
}
END_TEST

START_TEST(test_export_to_stdout_equals_export_to_file)
{
    fill_mixed_store(70000);
    char *kf = write_mixed_keys();
    char *dump = tu_join(g_dir, "store.dump");
    ck_ok("export", dump, "-k", kf);
    ctl_res r = RUN("export", "-", "-k", kf);
    ck_rc(r, 0);
    ck_assert_ptr_nonnull(strstr(r.err, "srdctl: Exported 5 entries"));
    size_t n;
    uint8_t *f = tu_read_file(dump, &n);
    ck_assert_uint_eq(r.out_len, n);
    ck_assert(memcmp(r.out, f, n) == 0);
    ck_assert(memcmp(f, "SRDDUMP\0", 8) == 0);
    free(f);
    res_free(&r);
    free(dump);
    free(kf);
}
END_TEST

/* Without keys, entries carry only their hash: import refuses them, or
 * skips them with --skip-unkeyed. */
START_TEST(test_import_of_hash_only_entries_is_refused_or_skipped)
{
    ck_ok("put", "named", "has a key");
    ck_ok("put", "anon", "no key given");
    char *kf = tu_join(g_dir, "keys.txt");
    ck_assert_int_eq(tu_write_file(kf, "named", 5), 0); /* no final LF */
    char *dump = tu_join(g_dir, "d.dump");
    ck_out_has(0, "1 with their key, 1 by key hash", "export", dump,
               "--keys", kf);
    char *fresh = tu_join(g_dir, "fresh.bin");
    ctl_res r = run_ctl(fresh, NULL, NULL, 0,
                        (const char *[]){"import", dump, NULL});
    ck_rc(r, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "--skip-unkeyed"));
    res_free(&r);
    ck_assert_int_eq(tu_file_size(fresh), -1); /* nothing created */
    r = run_ctl(fresh, NULL, NULL, 0,
                (const char *[]){"import", dump, "--skip-unkeyed", NULL});
    ck_rc(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "Imported 1 entries"));
    ck_assert_ptr_nonnull(strstr(r.out, "skipped 1 without a key"));
    res_free(&r);
    r = run_ctl(fresh, NULL, NULL, 0, (const char *[]){"get", "named", NULL});
    ck_rc(r, 0);
    ck_assert_str_eq(r.out, "has a key");
    res_free(&r);
    free(fresh);
    free(dump);
    free(kf);
}
END_TEST

/* A damaged dump (any flipped byte, any truncation) writes nothing. */
START_TEST(test_import_of_damaged_dump_writes_nothing)
{
    fill_mixed_store(5000);
    char *kf = write_mixed_keys();
    char *dump = tu_join(g_dir, "d.dump");
    ck_ok("export", dump, "-k", kf);
    size_t n;
    uint8_t *good = tu_read_file(dump, &n);
    char *bad = tu_join(g_dir, "bad.dump");
    char *fresh = tu_join(g_dir, "fresh.bin");
    for (size_t at = 0; at < n; at += (at < 200 ? 1 : 97)) {
        good[at] ^= 0x41;
        ck_assert_int_eq(tu_write_file(bad, good, n), 0);
        good[at] ^= 0x41;
        ctl_res r = run_ctl(fresh, NULL, NULL, 0,
                            (const char *[]){"import", bad, NULL});
        ck_assert_msg(r.rc == 3, "flip at %zu: exit %d (%s)", at, r.rc, r.err);
        ck_assert_ptr_nonnull(strstr(r.err, "not a valid srd dump"));
        res_free(&r);
        ck_assert_msg(tu_file_size(fresh) == -1, "flip at %zu wrote", at);
    }
    size_t cuts[] = {0, 7, 16, 40, n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        ck_assert_int_eq(tu_write_file(bad, good, cuts[i]), 0);
        ctl_res r = run_ctl(fresh, NULL, NULL, 0,
                            (const char *[]){"import", bad, NULL});
        ck_assert_msg(r.rc == 3, "cut at %zu: exit %d", cuts[i], r.rc);
        res_free(&r);
        ck_assert_int_eq(tu_file_size(fresh), -1);
    }
    free(good);
    free(bad);
    free(fresh);
    free(dump);
    free(kf);
}
END_TEST

START_TEST(test_export_and_import_argument_errors)
{
    ck_ok("put", "k", "v");
    char *dump = tu_join(g_dir, "d.dump");
    ck_assert_int_eq(tu_write_file(dump, "keep", 4), 0);
    ctl_res r = RUN("export", dump);
    ck_rc(r, 2); /* exists */
    ck_assert_ptr_nonnull(strstr(r.err, "--force"));
    res_free(&r);
    ck_assert_int_eq(tu_file_size(dump), 4);
    ck_ok("export", dump, "--force");
    ck_assert_int_gt(tu_file_size(dump), 4);
    r = RUN("export", g_store, "--force");
    ck_rc(r, 2); /* the store itself */
    res_free(&r);
    ck_get("k", "v", 1);
    char *nodir = tu_join(g_dir, "no/such/dir.dump");
    ck_exit(2, "export", nodir);
    ck_exit(2, "import", nodir);
    /* A pipe cannot be read twice; a store file is not a dump. */
    r = RUN_IN("x", 1, "import", "/dev/stdin");
    ck_rc(r, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "regular file"));
    res_free(&r);
    char *copy = tu_join(g_dir, "copy.bin");
    ck_assert_int_eq(tu_copy_file(g_store, copy), 0);
    ck_err_has(3, "SRDDUMP", "import", copy);
    /* No temporary file is left behind by any of it. */
    DIR *d = opendir(g_dir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d));)
        ck_assert_msg(strncmp(e->d_name, "d.dump.", 7) != 0, "left: %s",
                      e->d_name);
    closedir(d);
    free(copy);
    free(nodir);
    free(dump);
}
END_TEST

/* ======================================================================== */
/* Help for every command and alias                                          */
/* ======================================================================== */

START_TEST(test_every_command_and_alias_has_help)
{
    const char *names[] = {"status", "get",    "put",    "del",    "exists",
                           "meta",   "ls",     "verify", "compact", "sync",
                           "copy",   "move",   "rename", "export", "import",
                           "help",   "read",   "write",  "delete", "info",
                           "metadata"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "Usage: srdctl [--store PATH] %s",
                 names[i]);
        ctl_res r = RUN_RAW(NULL, names[i], "--help");
        ck_assert_msg(r.rc == 0, "%s --help: exit %d", names[i], r.rc);
        ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0,
                      "%s --help: %s", names[i], r.out);
        ck_assert_str_eq(r.err, "");
        res_free(&r);
        ctl_res h = RUN_RAW(NULL, "help", names[i]);
        ck_rc(h, 0);
        ck_assert_msg(strncmp(h.out, want, strlen(want)) == 0, "help %s",
                      names[i]);
        res_free(&h);
    }
    ctl_res r = RUN_RAW(NULL, "help", "read");
    ck_assert_ptr_nonnull(strstr(r.out, "'read' is the simd-r-drive CLI's "
                                        "name for 'get'"));
    ck_assert_ptr_nonnull(strstr(r.out, "--buffer-size"));
    res_free(&r);
    ck_assert_int_eq(tu_file_size(g_store), -1);
}
END_TEST

/* Daemon mode: every command against a store that srdd serves (writes go
 * through the daemon, reads map the file). check_compact_live covers
 * status/compact progress and exit 4 for an unreachable daemon. */
#ifdef SRDD_PATH
static pid_t start_srdd(void)
{
    return tu_srdd_start(g_store, NULL, NULL);
}

static void stop_srdd(pid_t pid)
{
    int code = tu_srdd_stop(pid, SIGTERM);
    ck_assert_msg(code == 0, "srdd exit %d", code);
}

START_TEST(test_every_command_works_through_a_running_srdd)
{
    pid_t pid = start_srdd();
    char *dump = tu_join(g_dir, "dump.srdx");
    char *keys = tu_join(g_dir, "keys.txt");
    char *other = tu_join(g_dir, "other.bin");
    ck_assert_int_eq(tu_write_file(keys, "a\nb\nc\n", 6), 0);
    ck_ok("put", "a", "alpha");
    ck_ok("write", "b", "beta"); /* the reference's alias */
    ctl_res r = RUN_IN("gamma", 5, "put", "c");
    ck_rc(r, 0);
    res_free(&r);
    ck_get("a", "alpha", 5);
    ck_get("b", "beta", 4);
    ck_exit(0, "exists", "c");
    ck_exit(1, "exists", "nope");
    ck_exit(1, "get", "nope");
    ck_exit(0, "meta", "a");
    ck_exit(0, "ls", "--json");
    ck_ok("copy", "a", "a2");
    ck_get("a2", "alpha", 5);
    ck_ok("rename", "a2", "a3");
    ck_exit(1, "get", "a2");
    ck_ok("move", "a3", "--to", other);
    ck_exit(1, "get", "a3");
    ck_ok("del", "b");
    ck_exit(1, "get", "b");
    ck_ok("sync");
    ck_exit(0, "verify");
    ck_exit(0, "export", dump, "--keys", keys);
    r = RUN("status", "--json");
    ck_rc(r, 0);
    ck_assert_msg(strstr(r.out, "\"pid\"") != NULL, "no daemon figures: %s",
                  r.out);
    res_free(&r);
    ck_out_has(0, "reclaimed", "compact");
    ck_ok("del", "a");
    ck_ok("import", dump);
    ck_get("a", "alpha", 5);
    ck_get("c", "gamma", 5);
    stop_srdd(pid);
    /* the daemon wrote everything: the file says the same directly */
    ck_get("a", "alpha", 5);
    ck_exit(1, "get", "b");
    free(dump);
    free(keys);
    free(other);
}
END_TEST
#endif

/* ======================================================================== */
/* verify --json, export progress                                            */
/* ======================================================================== */

/* Whether member k of o is JSON null (and present). */
static bool json_is_null(json_object *o, const char *k)
{
    json_object *v = (json_object *)1;
    return json_object_object_get_ex(o, k, &v) && v == NULL;
}

START_TEST(test_verify_json_reports_every_field)
{
    put_k0_k1();
    ctl_res r = RUN("verify", "--json");
    json_object *o = out_json(&r);
    ck_assert_str_eq(json_str(o, "store"), g_store);
    ck_assert_str_eq(json_str(o, "result"), "ok");
    ck_assert(json_is_null(o, "error"));
    ck_assert_uint_eq(json_u64(o, "entries"), 2);
    ck_assert_uint_eq(json_u64(o, "bytes"), (uint64_t)tu_file_size(g_store));
    ck_assert_uint_eq(json_u64(o, "tail"), (uint64_t)tu_file_size(g_store));
    ck_assert_uint_eq(json_u64(o, "file_size"),
                      (uint64_t)tu_file_size(g_store));
    ck_assert_uint_eq(json_u64(o, "bad_entries"), 0);
    ck_assert(json_is_null(o, "first_bad_offset"));
    ck_assert_uint_eq(json_u64(o, "torn_bytes"), 0);
    ck_assert_uint_eq(json_u64(o, "past_tail_bytes"), 0);
    ck_assert_uint_eq(json_u64(o, "past_tail_entries"), 0);
    ck_assert(json_is_null(o, "break_offset"));
    ck_assert_int_eq(json_object_object_length(o), 13);
    json_object_put(o);
    res_free(&r);
    /* a bad entry: still one JSON object, exit 3 */
    srd_entry_meta m = corrupt_payload("k0");
    r = RUN("verify", "--json");
    ck_rc(r, 3);
    o = json_tokener_parse(r.out);
    ck_assert_msg(o != NULL, "not JSON: %s", r.out);
    ck_assert_str_eq(json_str(o, "result"), "bad_checksum");
    ck_assert_str_eq(json_str(o, "error"), srd_strerror(SRD_ECHECKSUM));
    ck_assert_uint_eq(json_u64(o, "bad_entries"), 1);
    ck_assert_uint_eq(json_u64(o, "first_bad_offset"), m.payload_offset);
    json_object_put(o);
    res_free(&r);
}
END_TEST

START_TEST(test_export_shows_progress_on_a_terminal_or_when_asked)
{
    put_k0_k1();
    char *dump = tu_join(g_dir, "d.dump");
    ctl_res r = RUN("export", dump);
    ck_rc(r, 0);
    ck_assert_ptr_null(strstr(r.err, "export:")); /* not a terminal */
    res_free(&r);
    r = RUN("export", dump, "--force", "--progress");
    ck_rc(r, 0);
    ck_assert_msg(strstr(r.err, "export: 100% (23 of 23 bytes)") != NULL,
                  "no progress: '%s'", r.err);
    res_free(&r);
    static char tty[65536];
    const char *args[] = {"export", dump, "--force", NULL};
    ck_assert_int_eq(run_ctl_tty_stderr(g_store, args, tty, sizeof tty), 0);
    ck_assert_msg(strstr(tty, "export: [") != NULL, "no bar: '%s'", tty);
    free(dump);
}
END_TEST

/* ======================================================================== */
/* backup                                                                    */
/* ======================================================================== */

/* The names in g_dir that start with prefix, counted. */
static int names_starting(const char *prefix)
{
    DIR *d = opendir(g_dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

START_TEST(test_backup_copies_a_store_that_keeps_its_protection)
{
    ck_ok("put", "a", "alpha");
    ck_ok("put", "b", "beta");
    char *dest = tu_join(g_dir, "copy.bin");
    srd_store *w = NULL; /* an embedded writer holds the store meanwhile */
    ck_srd(tu_open(g_store, SRD_OPEN_EMBEDDED, &w));
    ctl_res r = RUN_RAW(NULL, "backup", g_store, dest); /* STORE DEST */
    ck_rc(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "backed up"));
    res_free(&r);
    ck_srd(srd_close(w));
    ck_assert_int_eq(tu_file_size(dest), tu_file_size(g_store));
    r = run_ctl(dest, NULL, NULL, 0, (const char *[]){"verify", NULL});
    ck_rc(r, 0);
    res_free(&r);
    /* DEST exists: refused, unchanged, unless --force */
    ck_ok("put", "c", "gamma");
    r = RUN("backup", dest);
    ck_rc(r, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "exists (use --force"));
    res_free(&r);
    ck_assert_int_lt(tu_file_size(dest), tu_file_size(g_store));
    r = run_ctl(NULL, NULL, NULL, 0,
                (const char *[]){"--store", g_store, "backup", dest,
                                 "--force", NULL});
    ck_rc(r, 0);
    res_free(&r);
    ck_assert_int_eq(tu_file_size(dest), tu_file_size(g_store));
    ck_assert_int_eq(names_starting("copy.bin.backup-"), 0);
    /* without its sidecar the copy opens whole (every entry checked) */
    char *side = tu_join(g_dir, "copy.bin.synced");
    char *bare = tu_join(g_dir, "bare.bin");
    size_t n = 0;
    uint8_t *bytes = tu_read_file(dest, &n);
    ck_assert_int_eq(tu_write_file(bare, bytes, n), 0);
    free(bytes);
    r = run_ctl(bare, NULL, NULL, 0, (const char *[]){"get", "c", NULL});
    ck_rc(r, 0);
    ck_assert_str_eq(r.out, "gamma");
    res_free(&r);
    /* with it, a damaged newest entry is refused, not cut as torn */
    ck_assert_int_eq(access(side, F_OK), 0);
    corrupt_payload_at(dest, "c");
    long long before = tu_file_size(dest);
    srd_store *st = NULL;
    ck_assert_int_eq(tu_open(dest, SRD_OPEN_EMBEDDED, &st), SRD_ECORRUPT);
    ck_assert_int_eq(tu_file_size(dest), before);
    free(bare);
    free(side);
    free(dest);
}
END_TEST

START_TEST(test_a_failing_backup_leaves_no_dest)
{
    ck_ok("put", "a", "alpha");
    ck_ok("put", "b", "beta");
    corrupt_payload("a"); /* an old entry: the store opens, verify fails */
    char *dest = tu_join(g_dir, "copy.bin");
    ctl_res r = RUN("backup", dest);
    ck_rc(r, 3);
    ck_assert_ptr_nonnull(strstr(r.err, "bad entr"));
    res_free(&r);
    ck_assert_int_eq(names_starting("copy.bin"), 0);
    /* not a store at all */
    char *junk = tu_join(g_dir, "junk");
    ck_assert_int_eq(tu_write_file(junk, "no store here\n", 14), 0);
    r = run_ctl(junk, NULL, NULL, 0, (const char *[]){"backup", dest, NULL});
    ck_rc(r, 3);
    res_free(&r);
    ck_assert_int_eq(names_starting("copy.bin"), 0);
    /* the store twice, and no DEST */
    r = run_ctl(g_store, NULL, NULL, 0,
                (const char *[]){"backup", g_store, dest, NULL});
    ck_rc(r, 2);
    res_free(&r);
    r = RUN("backup");
    ck_rc(r, 2);
    res_free(&r);
    ck_assert_int_eq(names_starting("copy.bin"), 0);
    free(junk);
    free(dest);
}
END_TEST

#ifdef SRDD_PATH
/* A client of srdd putting k0, k1, ... until killed; one byte on ack for
 * each acknowledged put. */
static void backup_writer(int ack)
{
    srd_store *st = NULL;
    if (tu_open(g_store, SRD_OPEN_CLIENT, &st) != SRD_OK) /* srdd syncs */
        _exit(5);
    char key[32], val[64];
    for (unsigned i = 0;; i++) {
        snprintf(key, sizeof key, "k%u", i);
        snprintf(val, sizeof val, "value of %u, padded out a little", i);
        if (srd_put(st, tu_s(key), tu_s(val)) != SRD_OK)
            _exit(6);
        if (write(ack, "a", 1) != 1)
            _exit(7);
    }
}

/* Read acknowledgements from fd until at least want came; their count. */
static unsigned read_acks(int fd, unsigned want)
{
    unsigned got = 0;
    char buf[256];
    while (got < want) {
        ssize_t n = read(fd, buf, sizeof buf);
        ck_assert_int_gt(n, 0);
        got += (unsigned)n;
    }
    return got;
}

START_TEST(test_backup_during_writes_through_srdd_holds_every_acked_key)
{
    pid_t srdd = start_srdd();
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t w = fork();
    ck_assert_int_ge(w, 0);
    if (w == 0) {
        close(p[0]);
        backup_writer(p[1]);
    }
    close(p[1]);
    unsigned acked = read_acks(p[0], 200); /* all before the backup */
    char *dest = tu_join(g_dir, "copy.bin");
    ctl_res r = RUN("backup", dest);
    ck_rc(r, 0);
    res_free(&r);
    unsigned more = read_acks(p[0], 1); /* the writer went on meanwhile */
    ck_assert_uint_gt(more, 0);
    kill(w, SIGKILL);
    waitpid(w, NULL, 0);
    close(p[0]);
    r = run_ctl(dest, NULL, NULL, 0, (const char *[]){"verify", NULL});
    ck_rc(r, 0);
    res_free(&r);
    srd_store *st = NULL;
    ck_srd(tu_open(dest, SRD_OPEN_READONLY, &st));
    char key[32];
    for (unsigned i = 0; i < acked; i++) {
        snprintf(key, sizeof key, "k%u", i);
        bool there = false;
        ck_srd(srd_exists(st, tu_s(key), &there));
        ck_assert_msg(there, "%s, acknowledged before the backup, is "
                      "missing from the copy", key);
    }
    ck_srd(srd_close(st));
    stop_srdd(srdd);
    free(dest);
}
END_TEST
#endif

/* ======================================================================== */
/* Suite                                                                     */
/* ======================================================================== */

static Suite *srdctl_suite(void)
{
    Suite *s = suite_create("srdctl");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_put_argument_then_get_prints_value);
    tcase_add_test(tc, test_put_replaces_value);
    tcase_add_test(tc, test_put_stdin_binary_with_nuls_round_trips);
    tcase_add_test(tc, test_put_file_option_round_trips_binary);
    tcase_add_test(tc, test_put_stdin_over_one_mib_round_trips_byte_exact);
    tcase_add_test(tc, test_put_stdin_128k_value_reads_back_all_bytes);
    tcase_add_test(tc, test_put_and_get_empty_key);
    tcase_add_test(tc, test_put_and_get_huge_key);
    tcase_add_test(tc, test_store_path_from_environment);
    tcase_add_test(tc, test_get_missing_key_exits_1_with_message_and_empty_stdout);
    tcase_add_test(tc, test_get_on_missing_store_exits_3_and_creates_nothing);
    tcase_add_test(tc, test_put_without_value_and_empty_stdin_is_usage_error);
    tcase_add_test(tc, test_put_without_value_on_terminal_is_usage_error);
    tcase_add_test(tc, test_put_empty_value_argument_is_rejected);
    tcase_add_test(tc, test_put_empty_file_is_rejected);
    tcase_add_test(tc, test_put_single_zero_byte_from_stdin_is_rejected);
    tcase_add_test(tc, test_put_missing_input_file_exits_2);
    tcase_add_test(tc, test_del_removes_key_and_later_get_fails);
    tcase_add_test(tc, test_del_missing_key_exits_1_and_writes_nothing);
    tcase_add_test(tc, test_exists_answers_yes_no_with_exit_status);
    tcase_add_test(tc, test_info_json_excludes_deleted_keys);
    tcase_add_test(tc, test_info_text_shows_sizes_and_counts);
    tcase_add_test(tc, test_info_on_empty_file_reports_empty_store);
    tcase_add_test(tc, test_golden_basic_reads_and_counts_like_expected_json);
    tcase_add_test(tc, test_golden_mixed_reads_empty_key);
    tcase_add_test(tc, test_golden_stream_big_value_is_written_whole);
    tcase_add_test(tc, test_torn_tail_is_ignored_by_readers_and_cut_by_put);
    tcase_add_test(tc, test_verify_good_store_exits_0);
    tcase_add_test(tc, test_verify_progress_option_reports_on_stderr_only);
    tcase_add_test(tc, test_verify_detects_corrupted_earlier_entry);
    tcase_add_test(tc, test_read_commands_never_write_a_damaged_store);
    tcase_add_test(tc, test_unpadded_store_reads_writes_and_upgrades);
    tcase_add_test(tc, test_compact_shrinks_file_and_keeps_values);
    tcase_add_test(tc, test_locked_store_refuses_writes_but_serves_reads);
    tcase_add_test(tc, test_non_store_file_is_refused_and_left_unmodified);
    tcase_add_test(tc, test_directory_as_store_is_refused);
    tcase_add_test(tc, test_usage_errors_exit_2_and_print_nothing_to_stdout);
    tcase_add_test(tc, test_help_and_version_print_to_stdout_and_exit_0);
    tcase_add_test(tc, test_status_reports_direct_mode_and_no_daemon_figures);
#ifdef SRDD_PATH
    tcase_add_test(tc, test_every_command_works_through_a_running_srdd);
#endif
    tcase_add_test(tc, test_status_watch_prints_count_reports_when_not_a_terminal);
    tcase_add_test(tc, test_status_watch_follows_other_writer_and_ends_on_sigterm);
    tcase_add_test(tc, test_read_alias_with_buffer_size_writes_whole_value);
    tcase_add_test(tc, test_bad_buffer_size_is_usage_error);
    tcase_add_test(tc, test_meta_matches_the_api_in_text_and_json);
    tcase_add_test(tc, test_meta_reports_bad_checksum_and_missing_key);
    tcase_add_test(tc, test_ls_lists_live_entries_oldest_first);
    tcase_add_test(tc, test_ls_on_empty_store_and_bad_key_list);
    tcase_add_test(tc, test_sync_flushes_store_and_needs_it);
    tcase_add_test(tc, test_copy_move_rename_within_store);
    tcase_add_test(tc, test_rename_or_copy_to_same_key_is_usage_error);
    tcase_add_test(tc, test_copy_move_rename_missing_key_exit_1_and_write_nothing);
    tcase_add_test(tc, test_copy_to_other_store_keeps_bytes_hash_and_checksum);
    tcase_add_test(tc, test_move_to_other_store_removes_source_key);
    tcase_add_test(tc, test_copy_to_same_store_is_refused);
    tcase_add_test(tc, test_move_to_locked_store_leaves_source_intact);
    tcase_add_test(tc, test_reference_syntax_commands_work_as_in_simd_r_drive);
    tcase_add_test(tc, test_reference_syntax_errors);
    tcase_add_test(tc, test_export_import_round_trip_is_byte_exact);
    tcase_add_test(tc, test_import_in_batches_keeps_order_and_bytes);
    tcase_add_test(tc, test_import_shows_progress_on_a_terminal);
    tcase_add_test(tc, test_export_to_stdout_equals_export_to_file);
    tcase_add_test(tc, test_import_of_hash_only_entries_is_refused_or_skipped);
    tcase_add_test(tc, test_import_of_damaged_dump_writes_nothing);
    tcase_add_test(tc, test_export_and_import_argument_errors);
    tcase_add_test(tc, test_every_command_and_alias_has_help);
    tcase_add_test(tc, test_verify_json_reports_every_field);
    tcase_add_test(tc, test_export_shows_progress_on_a_terminal_or_when_asked);
    tcase_add_test(tc, test_backup_copies_a_store_that_keeps_its_protection);
    tcase_add_test(tc, test_a_failing_backup_leaves_no_dest);
#ifdef SRDD_PATH
    tcase_add_test(tc,
                   test_backup_during_writes_through_srdd_holds_every_acked_key);
#endif
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(srdctl_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
