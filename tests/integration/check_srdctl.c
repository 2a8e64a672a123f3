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
    r = RUN("del", "k");
    ck_rc(r, 3);
    res_free(&r);
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
    ctl_res r = RUN("put", "k", "--file", f);
    ck_rc(r, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "No value provided"));
    res_free(&r);
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
    r = RUN("exists", "nul");
    ck_rc(r, 1);
    res_free(&r);
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
    ctl_res r = RUN("put", "k", "--file", f);
    ck_rc(r, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "No such file"));
    res_free(&r);
    r = RUN("put", "k", "--file", g_dir); /* a directory */
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
    ctl_res r = RUN("del", "delete_key");
    ck_rc(r, 0);
    ck_assert_str_eq(r.out, "Deleted key 'delete_key'\n");
    res_free(&r);
    r = RUN("get", "delete_key");
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
    ctl_res r = RUN("exists", "exists_key");
    ck_rc(r, 1);
    ck_assert_str_eq(r.out, "no\n");
    res_free(&r);
    ck_ok("put", "exists_key", "v");
    r = RUN("exists", "exists_key");
    ck_rc(r, 0);
    ck_assert_str_eq(r.out, "yes\n");
    res_free(&r);
    ck_ok("del", "exists_key");
    r = RUN("exists", "exists_key");
    ck_rc(r, 1);
    ck_assert_str_eq(r.out, "no\n");
    res_free(&r);
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
    ctl_res r = RUN("get", "beta");
    ck_rc(r, 1);
    res_free(&r);
    r = RUN("verify");
    ck_rc(r, 0);
    res_free(&r);
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
    ctl_res r = RUN("exists", "bob");
    ck_rc(r, 1);
    res_free(&r);
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
    ctl_res r = RUN("verify");
    ck_rc(r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "torn bytes:   7"));
    res_free(&r);
    ck_assert_int_eq(tu_file_size(g_store), torn); /* readers cut nothing */

    ck_ok("put", "k3", "x");
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
    ck_ok("put", "k0", "first value");
    ck_ok("put", "k1", "second value");
    ck_ok("put", "k2", "third value");

    srd_options opts;
    srd_options_init(&opts);
    opts.flags = SRD_OPEN_READONLY;
    srd_store *st = NULL;
    ck_srd(srd_open(g_store, &opts, &st));
    srd_entry_meta m;
    ck_srd(srd_meta(st, tu_s("k1"), &m));
    ck_srd(srd_close(st));
    ck_assert_uint_gt(m.payload_offset, 0);

    size_t n;
    uint8_t *b = store_bytes(&n);
    ck_assert_uint_lt(m.payload_offset, n);
    b[m.payload_offset] ^= 0xFF;
    ck_assert_int_eq(tu_write_file(g_store, b, n), 0);

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
    res_free(&r);

    ck_get("big", v, n); /* v[0] == 3: the latest version */
    ck_get("small", "keep me", 7);
    r = RUN("get", "temp");
    ck_rc(r, 1);
    res_free(&r);
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

    const char *const *cmds[] = {
        (const char *[]){"put", "k", "v", NULL},
        (const char *[]){"del", "held", NULL},
        (const char *[]){"compact", NULL},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        ctl_res r = run_ctl(g_store, NULL, NULL, 0, cmds[i]);
        ck_rc(r, 3);
        ck_assert_uint_eq(r.out_len, 0);
        ck_assert_msg(strstr(r.err, "store is locked by another writer (srdd?)"),
                      "%s: %s", cmds[i][0], r.err);
        res_free(&r);
    }
    ck_get("held", "by the test", 11);
    ctl_res r = RUN("exists", "held");
    ck_rc(r, 0);
    res_free(&r);
    r = RUN("verify");
    ck_rc(r, 0);
    res_free(&r);

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
        (const char *[]){"verify", "--json", NULL},
        (const char *[]){"put", "k", "--file", NULL},
        (const char *[]){"help", "nosuch", NULL},
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
    const char *names[] = {"put", "get", "del", "exists", "info", "verify",
                           "compact"};
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
    ck_assert_ptr_nonnull(strstr(r.out, "srdctl"));
    res_free(&r);
    ck_assert_int_eq(tu_file_size(g_store), -1);
}
END_TEST

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
    tcase_add_test(tc, test_compact_shrinks_file_and_keeps_values);
    tcase_add_test(tc, test_locked_store_refuses_writes_but_serves_reads);
    tcase_add_test(tc, test_non_store_file_is_refused_and_left_unmodified);
    tcase_add_test(tc, test_directory_as_store_is_refused);
    tcase_add_test(tc, test_usage_errors_exit_2_and_print_nothing_to_stdout);
    tcase_add_test(tc, test_help_and_version_print_to_stdout_and_exit_0);
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
