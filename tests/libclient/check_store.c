/* SPDX-License-Identifier: MIT */
/*
 * check_store.c -- the public store API (srd.h) in embedded mode. Ports every
 * behaviour of the reference SIMD R Drive suite that applies to the storage
 * core (shared/REFERENCE-TESTS.md; the reference test is named above each
 * port) and adds srd's own contract: recovery decisions, alignment, zero-copy
 * views, counts, bad input, the writer lock, refresh and compaction.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>
#include <zlib.h>

#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* Fixture and helpers                                                       */
/* ------------------------------------------------------------------------ */

static char *g_dir;  /* fresh temporary folder per test */
static char *g_path; /* g_dir/store.srd */

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

static srd_store *open_with(const char *path, unsigned flags,
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
static srd_store *open_rw(const char *path)
{
    return open_with(path, SRD_OPEN_CREATE, SRD_SYNC_ALWAYS);
}

/* A writer that leaves syncing to the OS, for tests that write a lot. */
static srd_store *open_fast(const char *path)
{
    return open_with(path, SRD_OPEN_CREATE, SRD_SYNC_NEVER);
}

static srd_store *open_ro(const char *path)
{
    return open_with(path, SRD_OPEN_READONLY, SRD_SYNC_ALWAYS);
}

/* srd_open's return code alone (the handle, if any, is closed). */
static srd_err try_open(const char *path, unsigned flags)
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

static srd_val bytes(const void *p, size_t n)
{
    srd_val v = {p, n};
    return v;
}

static void put_str(srd_store *st, const char *k, const char *v)
{
    ck_srd(srd_put(st, tu_s(k), tu_s(v)));
}

static void expect_bytes_(srd_store *st, srd_val key, const void *want,
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
#define expect_bytes(st, key, want, n) \
    expect_bytes_((st), (key), (want), (n), __LINE__)
#define expect_str(st, k, s) \
    expect_bytes_((st), tu_s(k), (s), strlen(s), __LINE__)

static void expect_absent_(srd_store *st, srd_val key, int line)
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
#define expect_absent(st, k) expect_absent_((st), tu_s(k), __LINE__)

static uint64_t count_of(srd_store *st)
{
    uint64_t n = UINT64_MAX;
    ck_srd(srd_count(st, &n));
    return n;
}

static uint64_t tail_of(srd_store *st)
{
    uint64_t t = UINT64_MAX;
    ck_srd(srd_tail(st, &t));
    return t;
}

static srd_info info_of(srd_store *st)
{
    srd_info i;
    memset(&i, 0xA5, sizeof i);
    ck_srd(srd_get_info(st, &i));
    return i;
}

static bool exists(srd_store *st, const char *k)
{
    bool e = false;
    ck_srd(srd_exists(st, tu_s(k), &e));
    return e;
}

/* Deterministic non-trivial bytes (never a lone 0x00 for n >= 2). */
static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 31u + seed * 7u + (i >> 8) + 1u) & 0xFF);
}

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    fill_pattern(p, n, seed);
    return p;
}

/* Whole-file snapshot for byte-for-byte comparisons. */
typedef struct snap {
    uint8_t *b;
    size_t n;
} snap;

static snap snap_file(const char *path)
{
    snap s = {NULL, 0};
    s.b = tu_read_file(path, &s.n);
    ck_assert_msg(s.b != NULL, "cannot read %s", path);
    return s;
}

static void expect_file_is_(const char *path, snap s, int line)
{
    snap now = snap_file(path);
    ck_assert_msg(now.n == s.n, "line %d: file size %zu, expected %zu", line,
                  now.n, s.n);
    ck_assert_msg(memcmp(now.b, s.b, s.n) == 0,
                  "line %d: file bytes changed", line);
    free(now.b);
}
#define expect_file_is(path, s) expect_file_is_((path), (s), __LINE__)

/* The newest live entry in file order, found through iteration; checks that
 * it really is the last entry of the file (its trailer ends at the tail). */
static void last_entry(srd_store *st, srd_view *out)
{
    srd_iter *it = NULL;
    ck_srd(srd_iter_open(st, &it));
    srd_view v, last;
    memset(&last, 0, sizeof last);
    srd_err rc;
    while ((rc = srd_iter_next(it, &v)) == SRD_OK) {
        srd_view_release(&last);
        last = v;
    }
    ck_assert_int_eq(rc, SRD_ENOTFOUND);
    srd_iter_close(it);
    ck_assert_ptr_nonnull(last.data);
    ck_assert_uint_eq(last.offset + last.len + 20, tail_of(st));
    *out = last;
}

/* Pull-stream source over a buffer; optional per-read sleep, chunk cap and
 * an error to return after a number of reads. */
typedef struct src {
    const uint8_t *data;
    size_t len, pos;
    size_t chunk;        /* 0: as much as the writer asks for */
    unsigned sleep_ms;   /* per read */
    int fail_after;      /* reads that succeed before fail_rc (0: never) */
    int fail_rc;
    int calls;
} src;

static int src_read(void *ctx, void *buf, size_t cap, size_t *n)
{
    src *s = ctx;
    s->calls++;
    if (s->fail_after && s->calls > s->fail_after)
        return s->fail_rc;
    if (s->sleep_ms)
        usleep(s->sleep_ms * 1000u);
    size_t k = s->len - s->pos;
    if (k > cap)
        k = cap;
    if (s->chunk && k > s->chunk)
        k = s->chunk;
    if (k)
        memcpy(buf, s->data + s->pos, k);
    s->pos += k;
    *n = k;
    return 0;
}

static src src_of(const void *data, size_t len)
{
    src s;
    memset(&s, 0, sizeof s);
    s.data = data;
    s.len = len;
    return s;
}

/* Read a value back through srd_read_stream_* in chunks of `chunk`. */
static uint8_t *read_back_stream(srd_store *st, srd_val key, size_t chunk,
                                 size_t *len)
{
    srd_read_stream *rs = NULL;
    ck_srd(srd_read_stream_open(st, key, &rs));
    size_t cap = 1 << 16, got = 0;
    uint8_t *out = malloc(cap);
    uint8_t *buf = malloc(chunk);
    ck_assert(out && buf);
    for (;;) {
        size_t n = SIZE_MAX;
        ck_srd(srd_read_stream_read(rs, buf, chunk, &n));
        ck_assert_uint_le(n, chunk);
        if (n == 0)
            break;
        if (got + n > cap) {
            cap = (got + n) * 2;
            out = realloc(out, cap);
            ck_assert_ptr_nonnull(out);
        }
        memcpy(out + got, buf, n);
        got += n;
    }
    srd_read_stream_close(rs);
    free(buf);
    *len = got;
    return out;
}

static pid_t xfork(void)
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    return pid;
}

/* Exit status of a child (or 128 + signal). */
static int xwait(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

static void msleep(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ------------------------------------------------------------------------ */
/* Basic operations (reference: tests/basic_operations_tests.rs)             */
/* ------------------------------------------------------------------------ */

/* reference: test_emptiness_check */
START_TEST(test_new_store_is_empty_until_first_put)
{
    srd_store *st = open_rw(g_path);
    ck_assert_uint_eq(count_of(st), 0);
    ck_assert_uint_eq(tail_of(st), 0);
    ck_assert_int_eq(tu_file_size(g_path), 0);
    put_str(st, "test_key", "Hello, world!");
    ck_assert_uint_eq(count_of(st), 1);
    ck_assert_int_gt(tu_file_size(g_path), 0);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_exists_checks_key_presence */
START_TEST(test_exists_follows_put_and_delete)
{
    srd_store *st = open_rw(g_path);
    ck_assert(!exists(st, "exists_key"));
    put_str(st, "exists_key", "some value");
    ck_assert(exists(st, "exists_key"));
    bool existed = false;
    ck_srd(srd_delete(st, tu_s("exists_key"), &existed));
    ck_assert(existed);
    ck_assert(!exists(st, "exists_key"));
    expect_absent(st, "exists_key");
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_append_and_read_last_entry (srd has no read_last_entry:
 * the newest entry is the last one iteration yields, ending at the tail) */
START_TEST(test_put_becomes_last_entry)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "test_key", "Hello, world!");
    srd_view v;
    last_entry(st, &v);
    ck_assert_uint_eq(v.len, 13);
    ck_assert_mem_eq(v.data, "Hello, world!", 13);
    ck_assert_uint_eq(v.key_hash, srd_key_hash("test_key", 8));
    srd_view_release(&v);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_multiple_appends_and_reads */
START_TEST(test_last_of_three_puts_is_last_entry)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "key1", "First Entry");
    put_str(st, "key2", "Second Entry");
    put_str(st, "key3", "Third Entry");
    srd_view v;
    last_entry(st, &v);
    ck_assert_uint_eq(v.len, 11);
    ck_assert_mem_eq(v.data, "Third Entry", 11);
    srd_view_release(&v);
    expect_str(st, "key1", "First Entry");
    expect_str(st, "key2", "Second Entry");
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_varying_payload_sizes */
START_TEST(test_values_of_varying_sizes_read_back)
{
    srd_store *st = open_rw(g_path);
    static const size_t sizes[3] = {10, 1024, 4096};
    static const char fill[3] = {'a', 'b', 'c'};
    uint8_t *buf[3];
    char key[8];
    for (int i = 0; i < 3; i++) {
        buf[i] = malloc(sizes[i]);
        memset(buf[i], fill[i], sizes[i]);
        snprintf(key, sizeof key, "key%d", i);
        ck_srd(srd_put(st, tu_s(key), bytes(buf[i], sizes[i])));
    }
    srd_view v;
    last_entry(st, &v);
    ck_assert_uint_eq(v.len, 4096);
    ck_assert_mem_eq(v.data, buf[2], 4096);
    srd_view_release(&v);
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "key%d", i);
        expect_bytes(st, tu_s(key), buf[i], sizes[i]);
        free(buf[i]);
    }
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_retrieve_entry_by_key */
START_TEST(test_get_returns_put_bytes)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "test_key", "Some payload to read back");
    expect_str(st, "test_key", "Some payload to read back");
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_update_entries_with_varying_lengths */
START_TEST(test_put_replaces_value_with_other_lengths)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "key1", "Short");
    put_str(st, "key2", "Medium length payload");
    put_str(st, "key3", "Unchanged");
    put_str(st, "key1", "Updated with longer data!");
    put_str(st, "key2", "Short");
    expect_str(st, "key1", "Updated with longer data!");
    expect_str(st, "key2", "Short");
    expect_str(st, "key3", "Unchanged");
    ck_assert_uint_eq(count_of(st), 3);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_open_existing_storage */
START_TEST(test_reopen_existing_store_without_create)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "k", "v1");
    ck_srd(srd_close(st));
    st = open_with(g_path, 0, SRD_SYNC_ALWAYS);
    expect_str(st, "k", "v1");
    put_str(st, "k2", "v2");
    expect_str(st, "k2", "v2");
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_open_existing_fails_for_missing_file */
START_TEST(test_open_missing_file_without_create_is_enoent)
{
    ck_assert_int_eq(try_open(g_path, 0), SRD_ENOENT);
    ck_assert_int_eq(try_open(g_path, SRD_OPEN_READONLY), SRD_ENOENT);
    ck_assert_int_eq(tu_file_size(g_path), -1); /* nothing was created */
}
END_TEST

/* reference: test_write_null_byte_fails */
START_TEST(test_put_single_zero_byte_is_einval)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "before", "x1");
    snap s = snap_file(g_path);
    ck_assert_int_eq(srd_put(st, tu_s("k"), bytes("\0", 1)), SRD_EINVAL);
    expect_file_is(g_path, s);
    expect_absent(st, "k");
    ck_assert_uint_eq(count_of(st), 1);
    free(s.b);
    ck_srd(srd_close(st));
}
END_TEST

/* srd: two or more zero bytes are an ordinary value on every write path. */
START_TEST(test_zero_bytes_of_length_two_are_an_ordinary_value)
{
    static const uint8_t z2[2] = {0, 0};
    static const uint8_t z64[64] = {0};
    srd_store *st = open_rw(g_path);
    ck_srd(srd_put(st, tu_s("p"), bytes(z2, 2)));
    srd_val k = tu_s("b"), v = bytes(z64, 64);
    ck_srd(srd_put_batch(st, &k, &v, 1));
    src s = src_of(z2, 2);
    ck_srd(srd_put_stream(st, tu_s("s"), src_read, &s));
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_bytes(st, tu_s("p"), z2, 2);
    expect_bytes(st, tu_s("b"), z64, 64);
    expect_bytes(st, tu_s("s"), z2, 2);
    ck_assert_uint_eq(count_of(st), 3);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_read_with_key_hash */
START_TEST(test_get_hash_reads_value_and_misses_unknown_hash)
{
    srd_store *st = open_rw(g_path);
    const char *key = "test_key_for_hash_read";
    put_str(st, key, "some data");
    uint64_t h = srd_key_hash(key, strlen(key));
    ck_assert_uint_eq(h, XXH3_64bits(key, strlen(key)));
    srd_view v;
    ck_srd(srd_get_hash(st, h, &v));
    ck_assert_uint_eq(v.len, 9);
    ck_assert_mem_eq(v.data, "some data", 9);
    ck_assert_uint_eq(v.key_hash, h);
    srd_view_release(&v);
    ck_assert_int_eq(srd_get_hash(st, h ^ 1, &v), SRD_ENOTFOUND);
    ck_assert_ptr_null(v.data);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_exists_with_key_hash */
START_TEST(test_exists_hash_for_written_and_unknown_key)
{
    ck_assert_uint_eq(srd_key_hash("test_key", 8), 0xe0614cc5ecbeed92ull);
    srd_store *st = open_rw(g_path);
    put_str(st, "test_key", "v");
    bool e = false;
    ck_srd(srd_exists_hash(st, 0xe0614cc5ecbeed92ull, &e));
    ck_assert(e);
    ck_srd(srd_exists_hash(st, 0x1234, &e));
    ck_assert(!e);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_exists_with_key_hash_after_deletion */
START_TEST(test_exists_hash_false_after_delete)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "gone", "soon");
    uint64_t h = srd_key_hash("gone", 4);
    bool e = false;
    ck_srd(srd_exists_hash(st, h, &e));
    ck_assert(e);
    ck_srd(srd_delete(st, tu_s("gone"), NULL));
    ck_srd(srd_exists_hash(st, h, &e));
    ck_assert(!e);
    ck_srd(srd_close(st));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Batches (reference: tests/batch_ops_tests.rs)                             */
/* ------------------------------------------------------------------------ */

/* reference: test_batch_write_and_individual_reads */
START_TEST(test_batch_put_then_single_gets)
{
    srd_store *st = open_rw(g_path);
    srd_val k[3] = {tu_s("alpha"), tu_s("beta"), tu_s("gamma")};
    srd_val v[3] = {tu_s("one"), tu_s("two"), tu_s("three")};
    ck_srd(srd_put_batch(st, k, v, 3));
    expect_str(st, "alpha", "one");
    expect_str(st, "beta", "two");
    expect_str(st, "gamma", "three");
    ck_assert_uint_eq(count_of(st), 3);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_batch_write_and_batch_read (batch_read -> srd_get_many) */
START_TEST(test_batch_put_then_get_many_in_order)
{
    srd_store *st = open_rw(g_path);
    srd_val k[4] = {tu_s("a"), tu_s("b"), tu_s("c"), tu_s("d")};
    srd_val v[4] = {tu_s("AAA"), tu_s("BBB"), tu_s("CCC"), tu_s("DDD")};
    ck_srd(srd_put_batch(st, k, v, 4));
    srd_view views[4];
    size_t found = 0;
    ck_srd(srd_get_many(st, k, 4, views, &found));
    ck_assert_uint_eq(found, 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_uint_eq(views[i].len, 3);
        ck_assert_mem_eq(views[i].data, v[i].ptr, 3);
        ck_assert_uint_eq(views[i].key_hash, srd_key_hash(k[i].ptr, 1));
        srd_view_release(&views[i]);
    }
    ck_srd(srd_close(st));
}
END_TEST

/* Checks a rejected batch left no trace: file bytes and count unchanged. */
static void expect_batch_rejected(const srd_val *k, const srd_val *v, size_t n)
{
    srd_store *st = open_rw(g_path);
    ck_assert_int_eq(srd_put_batch(st, k, v, n), SRD_EINVAL);
    ck_assert_uint_eq(count_of(st), 0);
    ck_assert_uint_eq(tail_of(st), 0);
    ck_assert_int_eq(tu_file_size(g_path), 0);
    for (size_t i = 0; i < n; i++)
        expect_absent_(st, k[i], __LINE__);
    /* also on a non-empty store: byte-identical afterwards */
    put_str(st, "existing", "value");
    snap s = snap_file(g_path);
    ck_assert_int_eq(srd_put_batch(st, k, v, n), SRD_EINVAL);
    expect_file_is(g_path, s);
    ck_assert_uint_eq(count_of(st), 1);
    free(s.b);
    ck_srd(srd_close(st));
}

/* reference: test_batch_write_rejects_null_byte_payload */
START_TEST(test_batch_with_single_zero_byte_value_is_einval)
{
    srd_val k[2] = {tu_s("good_key"), tu_s("bad_key")};
    srd_val v[2] = {tu_s("OK"), bytes("\0", 1)};
    expect_batch_rejected(k, v, 2);
}
END_TEST

/* reference: test_batch_write_rejects_empty_payload */
START_TEST(test_batch_with_empty_value_is_einval)
{
    srd_val k[1] = {tu_s("empty")};
    srd_val v[1] = {bytes("", 0)};
    expect_batch_rejected(k, v, 1);
}
END_TEST

/* reference: test_batch_write_rejects_empty_payload_among_many */
START_TEST(test_batch_with_empty_value_among_many_writes_nothing)
{
    srd_val k[3] = {tu_s("k1"), tu_s("bad"), tu_s("k2")};
    srd_val v[3] = {tu_s("v1"), bytes("", 0), tu_s("v2")};
    expect_batch_rejected(k, v, 3);
}
END_TEST

/* reference: test_batch_read_with_missing_key */
START_TEST(test_get_many_zeroes_view_of_missing_key)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "exists_1", "one");
    put_str(st, "exists_2", "two");
    srd_val k[3] = {tu_s("exists_1"), tu_s("missing_key"), tu_s("exists_2")};
    srd_view views[3];
    memset(views, 0xA5, sizeof views);
    size_t found = 0;
    ck_srd(srd_get_many(st, k, 3, views, &found));
    ck_assert_uint_eq(found, 2);
    ck_assert_uint_eq(views[0].len, 3);
    ck_assert_mem_eq(views[0].data, "one", 3);
    ck_assert_ptr_null(views[1].data);
    ck_assert_uint_eq(views[1].len, 0);
    ck_assert_uint_eq(views[2].len, 3);
    ck_assert_mem_eq(views[2].data, "two", 3);
    srd_view_release(&views[0]);
    srd_view_release(&views[1]); /* releasing a zeroed view is harmless */
    srd_view_release(&views[2]);
    /* found may be NULL */
    ck_srd(srd_get_many(st, k, 3, views, NULL));
    for (int i = 0; i < 3; i++)
        srd_view_release(&views[i]);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_batch_write_rejects_null_byte_among_many */
START_TEST(test_batch_with_zero_byte_among_many_writes_nothing)
{
    srd_val k[3] = {tu_s("k1"), tu_s("bad"), tu_s("k2")};
    srd_val v[3] = {tu_s("v1"), bytes("\0", 1), tu_s("v2")};
    expect_batch_rejected(k, v, 3);
}
END_TEST

/* reference: test_batch_read_hashed_keys_with_verification and
 * test_batch_read_hashed_keys_without_verification. srd stores no keys, so
 * there is nothing to verify a hash against: both are srd_get_many_hash. */
START_TEST(test_get_many_hash_returns_values)
{
    srd_store *st = open_rw(g_path);
    srd_val k[3] = {tu_s("alpha"), tu_s("beta"), tu_s("gamma")};
    srd_val v[3] = {tu_s("one"), tu_s("two"), tu_s("three")};
    ck_srd(srd_put_batch(st, k, v, 3));
    uint64_t h[3];
    for (int i = 0; i < 3; i++)
        h[i] = srd_key_hash(k[i].ptr, k[i].len);
    srd_view views[3];
    size_t found = 0;
    ck_srd(srd_get_many_hash(st, h, 3, views, &found));
    ck_assert_uint_eq(found, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(views[i].len, v[i].len);
        ck_assert_mem_eq(views[i].data, v[i].ptr, v[i].len);
        ck_assert_uint_eq(views[i].key_hash, h[i]);
        srd_view_release(&views[i]);
    }
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_batch_read_hashed_keys_with_missing_keys */
START_TEST(test_get_many_hash_zeroes_view_of_unknown_hash)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "exists", "here");
    uint64_t h[2] = {srd_key_hash("exists", 6), 12345};
    srd_view views[2];
    size_t found = 99;
    ck_srd(srd_get_many_hash(st, h, 2, views, &found));
    ck_assert_uint_eq(found, 1);
    ck_assert_uint_eq(views[0].len, 4);
    ck_assert_mem_eq(views[0].data, "here", 4);
    ck_assert_ptr_null(views[1].data);
    srd_view_release(&views[0]);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_batch_read_hashed_keys_detects_collision. srd keeps no
 * keys, so it cannot tell two keys with one hash apart (a documented limit);
 * what it can promise is that another key's hash does not find the value. */
START_TEST(test_other_keys_hash_does_not_find_value)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "real_key", "real value");
    uint64_t fake = srd_key_hash("fake_key", 8);
    ck_assert_uint_ne(fake, srd_key_hash("real_key", 8));
    srd_view views[1];
    size_t found = 99;
    ck_srd(srd_get_many_hash(st, &fake, 1, views, &found));
    ck_assert_uint_eq(found, 0);
    ck_assert_ptr_null(views[0].data);
    expect_absent(st, "fake_key");
    expect_str(st, "real_key", "real value");
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_batch_delete */
START_TEST(test_delete_batch_removes_listed_keys)
{
    srd_store *st = open_rw(g_path);
    srd_val k[4] = {tu_s("alpha"), tu_s("beta"), tu_s("gamma"),
                    tu_s("delta")};
    srd_val v[4] = {tu_s("1"), tu_s("2"), tu_s("3"), tu_s("4")};
    ck_srd(srd_put_batch(st, k, v, 4));
    ck_assert_uint_eq(count_of(st), 4);
    srd_val del[2] = {tu_s("beta"), tu_s("delta")};
    size_t deleted = 99;
    ck_srd(srd_delete_batch(st, del, 2, &deleted));
    ck_assert_uint_eq(deleted, 2);
    ck_assert_uint_eq(count_of(st), 2);
    expect_absent(st, "beta");
    expect_absent(st, "delta");
    expect_str(st, "alpha", "1");
    expect_str(st, "gamma", "3");
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    ck_assert_uint_eq(count_of(st), 2);
    expect_absent(st, "beta");
    expect_absent(st, "delta");
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_batch_delete_with_missing_keys */
START_TEST(test_delete_batch_skips_missing_keys)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "key1", "v");
    srd_val del[2] = {tu_s("key1"), tu_s("non_existent_key")};
    size_t deleted = 99;
    ck_srd(srd_delete_batch(st, del, 2, &deleted));
    ck_assert_uint_eq(deleted, 1);
    ck_assert_uint_eq(count_of(st), 0);
    /* a batch of only missing keys writes nothing */
    snap s = snap_file(g_path);
    ck_srd(srd_delete_batch(st, del, 2, &deleted));
    ck_assert_uint_eq(deleted, 0);
    expect_file_is(g_path, s);
    free(s.b);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_batch_delete_key_hashes. srd has no delete by hash (see
 * the report); the same behaviour through keys: one present key and one
 * that was never written leave an empty store. */
START_TEST(test_delete_batch_of_present_and_unknown_key_empties_store)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "real", "data");
    srd_val del[2] = {tu_s("real"), tu_s("1234567890")};
    ck_srd(srd_delete_batch(st, del, 2, NULL));
    ck_assert_uint_eq(count_of(st), 0);
    expect_absent(st, "real");
    ck_srd(srd_close(st));
}
END_TEST

/* srd: "later pairs win over earlier ones with the same key" */
START_TEST(test_batch_later_pair_wins_for_same_key)
{
    srd_store *st = open_rw(g_path);
    srd_val k[3] = {tu_s("dup"), tu_s("other"), tu_s("dup")};
    srd_val v[3] = {tu_s("first"), tu_s("x"), tu_s("second")};
    ck_srd(srd_put_batch(st, k, v, 3));
    expect_str(st, "dup", "second");
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_str(st, "dup", "second");
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Storage operations (reference: tests/storage_operation_tests.rs)          */
/* ------------------------------------------------------------------------ */

/* reference: test_update_and_delete_entry */
START_TEST(test_deleted_key_has_no_version_in_iteration)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "key1", "Initial Value 1");
    put_str(st, "key2", "Initial Value 2");
    put_str(st, "key1", "Updated Value 1");
    put_str(st, "key2", "Updated Value 2");
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_delete(st, tu_s("key1"), NULL));
    ck_assert_uint_eq(count_of(st), 1);
    expect_absent(st, "key1");
    expect_str(st, "key2", "Updated Value 2");
    srd_iter *it;
    ck_srd(srd_iter_open(st, &it));
    srd_view v;
    int n = 0;
    while (srd_iter_next(it, &v) == SRD_OK) {
        ck_assert_uint_ne(v.key_hash, srd_key_hash("key1", 4));
        ck_assert_uint_eq(v.len, 15);
        ck_assert_mem_eq(v.data, "Updated Value 2", 15);
        srd_view_release(&v);
        n++;
    }
    srd_iter_close(it);
    ck_assert_int_eq(n, 1);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_nested_storage_extraction */
START_TEST(test_store_file_as_value_reopens_as_store)
{
    char *inner = tu_join(g_dir, "inner.srd");
    char *out = tu_join(g_dir, "extracted.srd");
    srd_store *st = open_rw(inner);
    put_str(st, "original_key", "Initial Data");
    put_str(st, "second", "more");
    ck_srd(srd_close(st));
    snap s = snap_file(inner);

    st = open_rw(g_path);
    put_str(st, "extra1", "x");
    ck_srd(srd_put(st, tu_s("nested"), bytes(s.b, s.n)));
    put_str(st, "extra2", "y");
    srd_view v;
    ck_srd(srd_get(st, tu_s("nested"), &v));
    ck_assert_uint_eq(v.len, s.n);
    ck_assert_int_eq(tu_write_file(out, v.data, v.len), 0);
    srd_view_release(&v);
    ck_srd(srd_close(st));

    st = open_ro(out);
    expect_str(st, "original_key", "Initial Data");
    expect_str(st, "second", "more");
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
    free(s.b);
    free(inner);
    free(out);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Persistence and recovery (reference: tests/persistence_tests.rs)          */
/* ------------------------------------------------------------------------ */

/* reference: test_persistence_across_reopen */
START_TEST(test_values_survive_reopen)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "key1", "value1");
    put_str(st, "key2", "value2");
    put_str(st, "key3", "value3");
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_str(st, "key1", "value1");
    expect_str(st, "key2", "value2");
    expect_str(st, "key3", "value3");
    ck_assert_uint_eq(count_of(st), 3);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_persistence_across_multiple_reopens_with_updates */
START_TEST(test_updates_survive_multiple_reopens)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "key1", "v1");
    put_str(st, "key2", "w1");
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    put_str(st, "key1", "v2 (updated after first reopen)");
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_str(st, "key1", "v2 (updated after first reopen)");
    expect_str(st, "key2", "w1");
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
}
END_TEST

/* Appends raw bytes to a file. */
static void append_raw(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
    close(fd);
}

/* Xors one byte of a file with 0xFF. */
static void flip_byte(const char *path, uint64_t off)
{
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t b;
    ck_assert_int_eq(pread(fd, &b, 1, (off_t)off), 1);
    b ^= 0xFF;
    ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)off), 1);
    close(fd);
}

/* reference: test_recovery_from_interrupted_write */
START_TEST(test_writer_reopen_cuts_torn_tail)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "key1", "Valid Entry");
    ck_srd(srd_close(st));
    long long good = tu_file_size(g_path);
    append_raw(g_path, "CORRUPT", 7);
    ck_assert_int_eq(tu_file_size(g_path), good + 7);

    st = open_rw(g_path);
    ck_assert_int_eq(tu_file_size(g_path), good);
    ck_assert_uint_eq(tail_of(st), (uint64_t)good);
    expect_str(st, "key1", "Valid Entry");
    put_str(st, "key2", "New Entry");
    expect_str(st, "key2", "New Entry");
    ck_srd(srd_close(st));

    st = open_rw(g_path);
    expect_str(st, "key1", "Valid Entry");
    expect_str(st, "key2", "New Entry");
    srd_verify_report r;
    ck_srd(srd_verify(st, &r, NULL, NULL));
    ck_assert_uint_eq(r.entries, 2);
    ck_srd(srd_close(st));
}
END_TEST

/* srd: a read-only handle ignores a torn tail and never modifies the file */
START_TEST(test_readonly_open_ignores_torn_tail_without_cutting)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "key1", "Valid Entry");
    ck_srd(srd_close(st));
    long long good = tu_file_size(g_path);
    append_raw(g_path, "CORRUPT", 7);
    snap s = snap_file(g_path);

    st = open_ro(g_path);
    expect_str(st, "key1", "Valid Entry");
    srd_info i = info_of(st);
    ck_assert_uint_eq(i.tail, (uint64_t)good);
    ck_assert_uint_eq(i.file_size, (uint64_t)good + 7);
    ck_assert(i.readonly);
    ck_srd(srd_close(st));
    expect_file_is(g_path, s);
    free(s.b);
}
END_TEST

/* srd: the tail entry's CRC must match; a last entry whose payload is
 * damaged is treated like a torn write (the previous tail is recovered). */
/* A flipped byte in the newest entry, inside the range the sidecar says
 * was synced, is damage, not a torn write (issue 12): a reader stops
 * before it, a writer refuses the store and changes nothing. Without the
 * sidecar the same bytes cannot be told from a torn last write: the writer
 * cuts them, and the .cut file holds exactly the bytes that left. */
START_TEST(test_last_entry_with_bad_crc_is_treated_as_torn)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "first", "first value");
    uint64_t t1 = tail_of(st);
    put_str(st, "second", "second value");
    srd_entry_meta m;
    ck_srd(srd_meta(st, tu_s("second"), &m));
    ck_srd(srd_close(st));
    flip_byte(g_path, m.payload_offset + 3);
    snap s = snap_file(g_path);

    st = open_ro(g_path);
    ck_assert_uint_eq(tail_of(st), t1);
    expect_absent(st, "second");
    ck_srd(srd_close(st));
    expect_file_is(g_path, s);

    ck_assert_int_eq(try_open(g_path, 0), SRD_ECORRUPT);
    expect_file_is(g_path, s);

    char *side = tu_join(g_dir, "store.srd.synced");
    ck_assert_int_eq(unlink(side), 0);
    free(side);
    st = open_rw(g_path);
    ck_assert_uint_eq(tail_of(st), t1);
    ck_assert_int_eq(tu_file_size(g_path), (long long)t1);
    expect_str(st, "first", "first value");
    expect_absent(st, "second");
    ck_srd(srd_close(st));
    char name[64];
    snprintf(name, sizeof name, "store.srd.cut-%llu", (unsigned long long)t1);
    char *cut = tu_join(g_dir, name);
    size_t n = 0;
    uint8_t *b = tu_read_file(cut, &n);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(n, s.n - t1);
    ck_assert_mem_eq(b, s.b + t1, n);
    free(b);
    free(cut);
    free(s.b);
}
END_TEST

/* srd: a non-empty file with no valid chain is refused and left alone */
START_TEST(test_file_without_valid_chain_is_refused_untouched)
{
    uint8_t junk[1000];
    fill_pattern(junk, sizeof junk, 42);
    ck_assert_int_eq(tu_write_file(g_path, junk, sizeof junk), 0);
    snap s = snap_file(g_path);
    ck_assert_int_eq(try_open(g_path, SRD_OPEN_CREATE), SRD_ECORRUPT);
    expect_file_is(g_path, s);
    ck_assert_int_eq(try_open(g_path, SRD_OPEN_READONLY), SRD_ECORRUPT);
    expect_file_is(g_path, s);
    char *cut = tu_join(g_dir, "store.srd.cut-0");
    ck_assert_int_eq(tu_file_size(cut), -1);
    free(cut);
    free(s.b);
}
END_TEST

/* srd: SRD_OPEN_REPAIR saves the unreadable bytes to <path>.cut-<offset> */
START_TEST(test_repair_saves_unreadable_bytes_then_cuts)
{
    uint8_t junk[1000];
    fill_pattern(junk, sizeof junk, 42);
    ck_assert_int_eq(tu_write_file(g_path, junk, sizeof junk), 0);
    srd_store *st = open_with(g_path, SRD_OPEN_REPAIR, SRD_SYNC_ALWAYS);
    ck_assert_uint_eq(count_of(st), 0);
    ck_assert_uint_eq(tail_of(st), 0);
    ck_assert_int_eq(tu_file_size(g_path), 0);
    put_str(st, "fresh", "start");
    ck_srd(srd_close(st));

    char *cut = tu_join(g_dir, "store.srd.cut-0");
    snap saved = snap_file(cut);
    ck_assert_uint_eq(saved.n, sizeof junk);
    ck_assert_mem_eq(saved.b, junk, sizeof junk);
    free(saved.b);
    free(cut);

    st = open_rw(g_path);
    expect_str(st, "fresh", "start");
    ck_srd(srd_close(st));
}
END_TEST

/* srd: repair of a valid store with trailing junk saves the junk at its
 * offset and keeps every entry */
START_TEST(test_repair_of_torn_store_saves_junk_at_tail_offset)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "a", "alpha");
    put_str(st, "b", "beta");
    uint64_t t = tail_of(st);
    ck_srd(srd_close(st));
    append_raw(g_path, "CORRUPT", 7);
    st = open_with(g_path, SRD_OPEN_REPAIR | SRD_OPEN_CREATE,
                   SRD_SYNC_ALWAYS);
    expect_str(st, "a", "alpha");
    expect_str(st, "b", "beta");
    ck_assert_int_eq(tu_file_size(g_path), (long long)t);
    ck_srd(srd_close(st));
    char name[64];
    snprintf(name, sizeof name, "store.srd.cut-%llu", (unsigned long long)t);
    char *cut = tu_join(g_dir, name);
    snap saved = snap_file(cut);
    ck_assert_uint_eq(saved.n, 7);
    ck_assert_mem_eq(saved.b, "CORRUPT", 7);
    free(saved.b);
    free(cut);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Integrity (reference: tests/integrity_tests.rs)                           */
/* ------------------------------------------------------------------------ */

/* reference: test_entry_checksum_validation, single-entry form. Documented
 * departure: the reference reads the damaged value; srd refuses the file,
 * because its only entry is the tail and the tail's CRC must match. */
START_TEST(test_single_entry_store_with_bad_payload_is_ecorrupt)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "key", "payload under test");
    srd_entry_meta m;
    ck_srd(srd_meta(st, tu_s("key"), &m));
    ck_assert(m.checksum_valid);
    ck_srd(srd_close(st));
    flip_byte(g_path, m.payload_offset);
    snap s = snap_file(g_path);
    ck_assert_int_eq(try_open(g_path, SRD_OPEN_CREATE), SRD_ECORRUPT);
    expect_file_is(g_path, s);
    ck_assert_int_eq(try_open(g_path, SRD_OPEN_READONLY), SRD_ECORRUPT);
    expect_file_is(g_path, s);
    free(s.b);
}
END_TEST

/* reference: test_entry_checksum_validation, two-entry form: the damaged
 * first value still reads (Some), but its checksum is reported invalid. */
START_TEST(test_corrupt_older_entry_reads_but_fails_checksum)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "key1", "first payload");
    put_str(st, "key2", "second payload");
    srd_entry_meta m;
    ck_srd(srd_meta(st, tu_s("key1"), &m));
    ck_assert(m.checksum_valid);
    ck_assert_uint_eq(m.payload_offset, 0);
    ck_srd(srd_close(st));
    flip_byte(g_path, m.payload_offset);

    st = open_rw(g_path);
    char want[] = "first payload";
    want[0] ^= (char)0xFF;
    expect_bytes(st, tu_s("key1"), want, 13);
    srd_entry_meta m2;
    ck_srd(srd_meta(st, tu_s("key1"), &m2));
    ck_assert(!m2.checksum_valid);
    ck_assert_uint_eq(m2.checksum, m.checksum);
    ck_srd(srd_meta(st, tu_s("key2"), &m2));
    ck_assert(m2.checksum_valid);
    srd_verify_report r;
    memset(&r, 0xA5, sizeof r);
    ck_assert_int_eq(srd_verify(st, &r, NULL, NULL), SRD_ECHECKSUM);
    ck_assert_uint_eq(r.entries, 2);
    ck_assert_uint_eq(r.bad_entries, 1);
    ck_assert_uint_eq(r.first_bad_offset, m.payload_offset);
    ck_assert_uint_eq(r.bytes, tail_of(st));
    ck_srd(srd_close(st));
}
END_TEST

/* srd: the same check with the damage in the middle of three entries, so
 * first_bad_offset is a non-zero offset */
START_TEST(test_verify_reports_offset_of_damaged_middle_entry)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "a", "aaaaaaaaaaaaaaaa");
    put_str(st, "b", "bbbbbbbbbbbbbbbb");
    put_str(st, "c", "cccccccccccccccc");
    srd_entry_meta mb;
    ck_srd(srd_meta(st, tu_s("b"), &mb));
    ck_assert_uint_gt(mb.payload_offset, 0);
    srd_verify_report r;
    ck_srd(srd_verify(st, &r, NULL, NULL));
    ck_assert_uint_eq(r.entries, 3);
    ck_assert_uint_eq(r.bad_entries, 0);
    ck_srd(srd_close(st));
    flip_byte(g_path, mb.payload_offset + 5);
    st = open_ro(g_path);
    ck_assert_int_eq(srd_verify(st, &r, NULL, NULL), SRD_ECHECKSUM);
    ck_assert_uint_eq(r.bad_entries, 1);
    ck_assert_uint_eq(r.first_bad_offset, mb.payload_offset);
    ck_srd(srd_close(st));
}
END_TEST

/* reference: test_checksum_consistency_across_write_methods */
START_TEST(test_put_and_stream_of_same_bytes_have_same_checksum)
{
    srd_store *st = open_rw(g_path);
    const char *payload = "Consistent checksum payload";
    size_t n = strlen(payload);
    put_str(st, "via_put", payload);
    src s = src_of(payload, n);
    s.chunk = 5;
    ck_srd(srd_put_stream(st, tu_s("via_stream"), src_read, &s));
    put_str(st, "different", "Another payload entirely");
    srd_entry_meta a, b, c;
    ck_srd(srd_meta(st, tu_s("via_put"), &a));
    ck_srd(srd_meta(st, tu_s("via_stream"), &b));
    ck_srd(srd_meta(st, tu_s("different"), &c));
    ck_assert_uint_eq(a.checksum, b.checksum);
    ck_assert_uint_ne(a.checksum, c.checksum);
    ck_assert_uint_eq(a.checksum,
                      (uint32_t)crc32(0, (const Bytef *)payload, (uInt)n));
    ck_assert(a.checksum_valid && b.checksum_valid && c.checksum_valid);
    ck_assert_uint_eq(a.key_hash, XXH3_64bits("via_put", 7));
    ck_srd(srd_close(st));
}
END_TEST

/* srd: srd_meta describes the entry exactly as the format lays it out */
START_TEST(test_meta_matches_format_layout)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "a", "abc");
    put_str(st, "b", "0123456789");
    srd_entry_meta a, b;
    ck_srd(srd_meta(st, tu_s("a"), &a));
    ck_srd(srd_meta(st, tu_s("b"), &b));
    ck_assert_uint_eq(a.payload_offset, 0);
    ck_assert_uint_eq(a.len, 3);
    ck_assert_uint_eq(a.entry_end, 23);
    ck_assert_uint_eq(a.prev_offset, 0);
    ck_assert_uint_eq(b.prev_offset, 23);
    ck_assert_uint_eq(b.payload_offset, 64);
    ck_assert_uint_eq(b.entry_end, 64 + 10 + 20);
    ck_assert_uint_eq(b.checksum, (uint32_t)crc32(0, (const Bytef *)"0123456789", 10));
    ck_assert_uint_eq(tail_of(st), b.entry_end);
    ck_assert_int_eq(srd_meta(st, tu_s("missing"), &a), SRD_ENOTFOUND);
    ck_srd(srd_close(st));
}
END_TEST

static int cancel_progress(void *ctx, uint64_t done, uint64_t total)
{
    int *calls = ctx;
    ck_assert_uint_le(done, total);
    (*calls)++;
    return 1;
}

/* srd: a progress callback that returns non-zero stops srd_verify */
START_TEST(test_verify_progress_can_cancel)
{
    srd_store *st = open_fast(g_path);
    uint8_t *big = pattern(1 << 20, 3);
    char key[16];
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "big%d", i);
        ck_srd(srd_put(st, tu_s(key), bytes(big, 1 << 20)));
    }
    free(big);
    int calls = 0;
    srd_verify_report r;
    ck_assert_int_eq(srd_verify(st, &r, cancel_progress, &calls),
                     SRD_ECANCELED);
    ck_assert_int_eq(calls, 1);
    ck_srd(srd_verify(st, &r, NULL, NULL));
    ck_assert_uint_eq(r.entries, 8);
    ck_srd(srd_close(st));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Streaming (reference: tests/streaming_tests.rs)                           */
/* ------------------------------------------------------------------------ */

#define MIB (1u << 20)

/* reference: test_write_and_read_streams (pull stream) */
START_TEST(test_pull_stream_of_1mib_reads_back_in_4k_chunks)
{
    srd_store *st = open_rw(g_path);
    uint8_t *data = malloc(MIB);
    memset(data, 'X', MIB);
    src s = src_of(data, MIB);
    s.chunk = 8192;
    ck_srd(srd_put_stream(st, tu_s("stream_key"), src_read, &s));
    size_t n = 0;
    uint8_t *back = read_back_stream(st, tu_s("stream_key"), 4096, &n);
    ck_assert_uint_eq(n, MIB);
    ck_assert_uint_eq(crc32(0, back, (uInt)n), crc32(0, data, MIB));
    ck_assert(memcmp(back, data, MIB) == 0);
    srd_entry_meta m;
    ck_srd(srd_meta(st, tu_s("stream_key"), &m));
    ck_assert_uint_eq(m.checksum, (uint32_t)crc32(0, data, MIB));
    ck_assert(m.checksum_valid);
    free(back);
    ck_srd(srd_close(st));
    st = open_ro(g_path);
    expect_bytes(st, tu_s("stream_key"), data, MIB);
    ck_srd(srd_close(st));
    free(data);
}
END_TEST

/* reference: test_write_and_read_streams (push stream) */
START_TEST(test_push_stream_of_1mib_reads_back_in_4k_chunks)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "before", "b"); /* the stream starts unaligned */
    uint8_t *data = pattern(MIB, 9);
    srd_stream *s = NULL;
    ck_srd(srd_stream_begin(st, tu_s("pushed"), &s));
    for (size_t off = 0; off < MIB; off += 3000) {
        size_t k = MIB - off < 3000 ? MIB - off : 3000;
        ck_srd(srd_stream_write(s, data + off, k));
    }
    ck_srd(srd_stream_commit(s));
    size_t n = 0;
    uint8_t *back = read_back_stream(st, tu_s("pushed"), 4096, &n);
    ck_assert_uint_eq(n, MIB);
    ck_assert(memcmp(back, data, MIB) == 0);
    free(back);
    srd_view v;
    ck_srd(srd_get(st, tu_s("pushed"), &v));
    ck_assert_uint_eq(v.offset % 64, 0);
    srd_view_release(&v);
    ck_srd(srd_close(st));
    st = open_ro(g_path);
    expect_bytes(st, tu_s("pushed"), data, MIB);
    expect_str(st, "before", "b");
    ck_srd(srd_close(st));
    free(data);
}
END_TEST

/* reference: test_write_stream_null_byte_fails, for both stream kinds */
START_TEST(test_stream_of_single_zero_byte_is_einval_and_writes_nothing)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "existing", "value");
    snap before = snap_file(g_path);
    src s = src_of("\0", 1);
    ck_assert_int_eq(srd_put_stream(st, tu_s("k"), src_read, &s), SRD_EINVAL);
    expect_file_is(g_path, before);
    srd_stream *ps = NULL;
    ck_srd(srd_stream_begin(st, tu_s("k"), &ps));
    ck_srd(srd_stream_write(ps, "\0", 1));
    ck_assert_int_eq(srd_stream_commit(ps), SRD_EINVAL);
    expect_file_is(g_path, before);
    expect_absent(st, "k");
    /* the next write lands where the rejected stream would have */
    put_str(st, "next", "ok");
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_str(st, "existing", "value");
    expect_str(st, "next", "ok");
    expect_absent(st, "k");
    ck_srd(srd_close(st));
    free(before.b);
}
END_TEST

/* srd: an empty stream cannot be stored either */
START_TEST(test_empty_stream_is_einval_and_writes_nothing)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "existing", "value");
    snap before = snap_file(g_path);
    src s = src_of("", 0);
    ck_assert_int_eq(srd_put_stream(st, tu_s("k"), src_read, &s), SRD_EINVAL);
    expect_file_is(g_path, before);
    srd_stream *ps = NULL;
    ck_srd(srd_stream_begin(st, tu_s("k"), &ps));
    ck_assert_int_eq(srd_stream_commit(ps), SRD_EINVAL);
    expect_file_is(g_path, before);
    expect_absent(st, "k");
    put_str(st, "next", "ok");
    expect_str(st, "next", "ok");
    ck_srd(srd_close(st));
    free(before.b);
}
END_TEST

/* srd: an aborted push stream leaves no bytes that could corrupt the next
 * entry (a known defect of the reference) */
START_TEST(test_aborted_stream_leaves_file_unchanged)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "existing", "value");
    snap before = snap_file(g_path);
    uint8_t *data = pattern(100000, 5);
    srd_stream *ps = NULL;
    ck_srd(srd_stream_begin(st, tu_s("aborted"), &ps));
    ck_srd(srd_stream_write(ps, data, 100000));
    srd_stream_abort(ps);
    expect_file_is(g_path, before);
    expect_absent(st, "aborted");
    put_str(st, "next", "after abort");
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_str(st, "next", "after abort");
    expect_absent(st, "aborted");
    srd_verify_report r;
    ck_srd(srd_verify(st, &r, NULL, NULL));
    ck_srd(srd_close(st));
    free(data);
    free(before.b);
}
END_TEST

/* srd: a pull callback's error aborts the stream with its code, or with
 * SRD_ECANCELED when it is not an srd_err; nothing of the value remains */
START_TEST(test_pull_stream_callback_error_aborts_write)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "existing", "value");
    snap before = snap_file(g_path);
    uint8_t *data = pattern(200000, 6);
    src s = src_of(data, 200000);
    s.chunk = 10000;
    s.fail_after = 4;
    s.fail_rc = SRD_ETOOBIG;
    ck_assert_int_eq(srd_put_stream(st, tu_s("s"), src_read, &s), SRD_ETOOBIG);
    expect_file_is(g_path, before);
    s = src_of(data, 200000);
    s.chunk = 10000;
    s.fail_after = 3;
    s.fail_rc = -1;
    ck_assert_int_eq(srd_put_stream(st, tu_s("s"), src_read, &s),
                     SRD_ECANCELED);
    expect_file_is(g_path, before);
    expect_absent(st, "s");
    s = src_of(data, 200000);
    ck_srd(srd_put_stream(st, tu_s("s"), src_read, &s));
    expect_bytes(st, tu_s("s"), data, 200000);
    ck_srd(srd_close(st));
    free(data);
    free(before.b);
}
END_TEST

/* srd: a read stream of a missing key is SRD_ENOTFOUND */
START_TEST(test_read_stream_of_missing_key_is_enotfound)
{
    srd_store *st = open_rw(g_path);
    srd_read_stream *rs = NULL;
    ck_assert_int_eq(srd_read_stream_open(st, tu_s("nope"), &rs),
                     SRD_ENOTFOUND);
    ck_srd(srd_close(st));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Compaction (reference: tests/compaction_tests.rs)                         */
/* ------------------------------------------------------------------------ */

/* reference: test_compact_storage_with_mixed_types */
START_TEST(test_compact_shrinks_file_and_keeps_latest_values)
{
    srd_store *st = open_rw(g_path);
    uint64_t u = 0x0102030405060708ull;
    double f = 3.141592653589793;
    struct { uint32_t id; char name[12]; } rec = {7, "record-one"};
    uint8_t bin[300];
    fill_pattern(bin, sizeof bin, 11);
    put_str(st, "text_key", "some text");
    ck_srd(srd_put(st, tu_s("binary_key"), bytes(bin, sizeof bin)));
    ck_srd(srd_put(st, tu_s("struct_key"), bytes(&rec, sizeof rec)));
    ck_srd(srd_put(st, tu_s("u64_key"), bytes(&u, sizeof u)));
    ck_srd(srd_put(st, tu_s("f64_key"), bytes(&f, sizeof f)));
    put_str(st, "mixed_key", "mixed\x01\x02 bytes");
    put_str(st, "temp_key", "temporary");
    /* overwrite each with another type and size */
    uint64_t u2 = 42;
    double f2 = -0.5;
    uint8_t bin2[64];
    fill_pattern(bin2, sizeof bin2, 12);
    ck_srd(srd_put(st, tu_s("text_key"), bytes(&u2, sizeof u2)));
    put_str(st, "binary_key", "now text");
    ck_srd(srd_put(st, tu_s("struct_key"), bytes(bin2, sizeof bin2)));
    ck_srd(srd_put(st, tu_s("u64_key"), bytes(&f2, sizeof f2)));
    ck_srd(srd_put(st, tu_s("f64_key"), bytes(&rec, sizeof rec)));
    put_str(st, "mixed_key", "replaced");
    put_str(st, "temp_key", "temporary 2");
    bool existed = false;
    ck_srd(srd_delete(st, tu_s("temp_key"), &existed));
    ck_assert(existed);

    long long before = tu_file_size(g_path);
    uint64_t reclaimed = 0;
    ck_srd(srd_compact(st, &reclaimed));
    long long after = tu_file_size(g_path);
    ck_assert_int_lt(after, before);
    ck_assert_uint_eq(reclaimed, (uint64_t)(before - after));
    ck_assert_uint_eq(tail_of(st), (uint64_t)after);
    ck_assert_uint_eq(count_of(st), 6);

    for (int pass = 0; pass < 2; pass++) {
        expect_bytes(st, tu_s("text_key"), &u2, sizeof u2);
        expect_str(st, "binary_key", "now text");
        expect_bytes(st, tu_s("struct_key"), bin2, sizeof bin2);
        expect_bytes(st, tu_s("u64_key"), &f2, sizeof f2);
        expect_bytes(st, tu_s("f64_key"), &rec, sizeof rec);
        expect_str(st, "mixed_key", "replaced");
        expect_absent(st, "temp_key");
        ck_srd(srd_close(st));
        st = open_rw(g_path);
    }
    ck_assert_uint_eq(count_of(st), 6);
    srd_verify_report r;
    ck_srd(srd_verify(st, &r, NULL, NULL));
    ck_assert_uint_eq(r.entries, 6);
    ck_srd(srd_close(st));
}
END_TEST

/* srd: compaction keeps live entries in file order (oldest first); the
 * reference writes them newest first */
START_TEST(test_compact_keeps_live_entries_in_file_order)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "a", "a-old");
    put_str(st, "b", "b-value");
    put_str(st, "c", "c-value");
    put_str(st, "a", "a-new");
    put_str(st, "d", "d-value");
    ck_srd(srd_delete(st, tu_s("d"), NULL));
    ck_srd(srd_compact(st, NULL));
    const char *order[3] = {"b", "c", "a"};
    const char *vals[3] = {"b-value", "c-value", "a-new"};
    srd_iter *it;
    ck_srd(srd_iter_open(st, &it));
    srd_view v;
    uint64_t prev_off = 0;
    for (int i = 0; i < 3; i++) {
        ck_srd(srd_iter_next(it, &v));
        ck_assert_uint_eq(v.key_hash, srd_key_hash(order[i], 1));
        ck_assert_uint_eq(v.len, strlen(vals[i]));
        ck_assert_mem_eq(v.data, vals[i], v.len);
        if (i == 0)
            ck_assert_uint_eq(v.offset, 0);
        else
            ck_assert_uint_gt(v.offset, prev_off);
        prev_off = v.offset;
        srd_view_release(&v);
    }
    ck_assert_int_eq(srd_iter_next(it, &v), SRD_ENOTFOUND);
    srd_iter_close(it);
    ck_srd(srd_close(st));
}
END_TEST

/* srd (DESIGN.md invariant 6): a view taken before compaction still reads
 * the same bytes after it */
START_TEST(test_view_taken_before_compact_reads_same_bytes_after)
{
    srd_store *st = open_rw(g_path);
    uint8_t *val = pattern(4096, 21);
    for (int i = 0; i < 20; i++)
        put_str(st, "churn", i % 2 ? "odd" : "even");
    ck_srd(srd_put(st, tu_s("kept"), bytes(val, 4096)));
    put_str(st, "churn", "final");
    srd_view v;
    ck_srd(srd_get(st, tu_s("kept"), &v));
    const uint8_t *p = v.data;
    ck_srd(srd_compact(st, NULL));
    put_str(st, "after", "compaction");
    ck_assert_ptr_eq(v.data, p);
    ck_assert_uint_eq(v.len, 4096);
    ck_assert(memcmp(v.data, val, 4096) == 0);
    srd_view v2;
    ck_srd(srd_get(st, tu_s("kept"), &v2));
    ck_assert(memcmp(v2.data, val, 4096) == 0);
    srd_view_release(&v2);
    srd_view_release(&v);
    ck_assert_ptr_null(v.data);
    srd_view_release(&v); /* idempotent */
    ck_srd(srd_close(st));
    free(val);
}
END_TEST

/* srd: a stale "<path>.compact" (from a crash) is deleted, never merged in;
 * here it holds a valid store with an intruder key, and bigger than the
 * result, so reuse of its bytes would show */
START_TEST(test_compact_deletes_stale_temp_file_without_merging)
{
    char *tmp = tu_join(g_dir, "store.srd.compact");
    char *other = tu_join(g_dir, "other.srd");
    srd_store *st = open_fast(other);
    uint8_t *big = pattern(50000, 8);
    ck_srd(srd_put(st, tu_s("filler"), bytes(big, 50000)));
    put_str(st, "intruder", "evil");
    ck_srd(srd_close(st));
    ck_assert_int_eq(rename(other, tmp), 0);

    st = open_rw(g_path);
    put_str(st, "a", "1");
    put_str(st, "a", "2");
    put_str(st, "b", "3");
    ck_srd(srd_compact(st, NULL));
    ck_assert_int_eq(tu_file_size(tmp), -1);
    expect_absent(st, "intruder");
    expect_absent(st, "filler");
    expect_str(st, "a", "2");
    expect_str(st, "b", "3");
    ck_assert_uint_eq(count_of(st), 2);
    ck_assert_int_eq(tu_file_size(g_path), (long long)tail_of(st));
    ck_assert_int_lt(tu_file_size(g_path), 200);
    ck_srd(srd_close(st));

    /* plain garbage in the way as well */
    ck_assert_int_eq(tu_write_file(tmp, big, 50000), 0);
    st = open_rw(g_path);
    ck_srd(srd_compact(st, NULL));
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_absent(st, "intruder");
    expect_str(st, "a", "2");
    expect_str(st, "b", "3");
    ck_assert_uint_eq(count_of(st), 2);
    srd_verify_report r;
    ck_srd(srd_verify(st, &r, NULL, NULL));
    ck_assert_uint_eq(r.entries, 2);
    ck_srd(srd_close(st));
    free(big);
    free(tmp);
    free(other);
}
END_TEST

/* srd: writes made through the same handle after compaction persist (the
 * reference loses them) */
START_TEST(test_put_after_compact_survives_reopen)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "x", "1");
    put_str(st, "x", "2");
    ck_srd(srd_compact(st, NULL));
    put_str(st, "y", "after");
    put_str(st, "x", "3");
    ck_srd(srd_delete(st, tu_s("x"), NULL));
    put_str(st, "z", "last");
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_str(st, "y", "after");
    expect_str(st, "z", "last");
    expect_absent(st, "x");
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
}
END_TEST

/* srd: online compaction. A writer thread keeps putting, overwriting and
 * deleting while the main thread compacts again and again; afterwards (and
 * after a reopen) every key holds exactly what the writer last did. */
#define OC_KEYS 200
#define OC_OPS 20000

typedef struct oc_writer {
    srd_store *st;
    atomic_int done;
    int last[OC_KEYS]; /* -1 deleted/never, else op number of the last put */
} oc_writer;

static void oc_key(char *b, size_t n, int k)
{
    snprintf(b, n, "oc%d", k);
}

static size_t oc_val(char *b, size_t n, int op)
{
    return (size_t)snprintf(b, n, "value of op %d %*s", op, op % 300, "+");
}

static void *oc_write(void *arg)
{
    oc_writer *w = arg;
    for (int k = 0; k < OC_KEYS; k++)
        w->last[k] = -1;
    for (int op = 0; op < OC_OPS; op++) {
        int k = (int)(((unsigned)op * 2654435761u) % OC_KEYS);
        char key[32], val[400];
        oc_key(key, sizeof key, k);
        if (op % 7 == 3) {
            if (srd_delete(w->st, tu_s(key), NULL) != SRD_OK)
                break;
            w->last[k] = -1;
        } else {
            size_t n = oc_val(val, sizeof val, op);
            if (srd_put(w->st, tu_s(key), (srd_val){val, n}) != SRD_OK)
                break;
            w->last[k] = op;
        }
    }
    atomic_store(&w->done, 1);
    return NULL;
}

static void oc_expect(srd_store *st, const oc_writer *w)
{
    uint64_t live = 0;
    for (int k = 0; k < OC_KEYS; k++) {
        char key[32], want[400], got[400];
        oc_key(key, sizeof key, k);
        size_t n = 0;
        srd_err rc = srd_get_copy(st, tu_s(key), got, sizeof got, &n);
        if (w->last[k] < 0) {
            ck_assert_msg(rc == SRD_ENOTFOUND, "%s: %s", key, srd_errname(rc));
            continue;
        }
        live++;
        ck_assert_msg(rc == SRD_OK, "%s: %s", key, srd_errname(rc));
        size_t wn = oc_val(want, sizeof want, w->last[k]);
        ck_assert_msg(n == wn && memcmp(got, want, n) == 0,
                      "%s holds the wrong value", key);
    }
    ck_assert_uint_eq(count_of(st), live);
}

START_TEST(test_online_compaction_keeps_concurrent_writes)
{
    srd_store *st = open_fast(g_path);
    oc_writer w = {.st = st};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, oc_write, &w), 0);
    int rounds = 0;
    uint64_t caught_up = 0;
    while (!atomic_load(&w.done) || rounds < 3) {
        srd_compact_report rep;
        ck_srd(srd_compact_ex(st, NULL, NULL, &rep));
        ck_assert_uint_eq(rep.old_size - rep.new_size, rep.reclaimed);
        caught_up += rep.caught_up_entries;
        rounds++;
    }
    pthread_join(t, NULL);
    fprintf(stderr, "online compaction: %d rounds, %llu entries caught up\n",
            rounds, (unsigned long long)caught_up);
    oc_expect(st, &w);
    srd_verify_report vr;
    ck_srd(srd_verify(st, &vr, NULL, NULL));
    ck_srd(srd_close(st));
    char *tmp = tu_join(g_dir, "store.srd.compact");
    ck_assert_int_eq(access(tmp, F_OK), -1);
    free(tmp);
    st = open_ro(g_path);
    oc_expect(st, &w);
    ck_srd(srd_close(st));
}
END_TEST

/* Regression: with several writer threads, appends finish out of order, so
 * the committed tail can cover an entry not yet indexed; compaction taking
 * T0 then lost that acknowledged write (found by the Python suite). */
#define MW_THREADS 4
#define MW_PUTS 2000

typedef struct mw_arg {
    srd_store *st;
    int id;
} mw_arg;

static void *mw_write(void *p)
{
    mw_arg *a = p;
    char k[32], v[32];
    for (int i = 0; i < MW_PUTS; i++) {
        int kl = snprintf(k, sizeof k, "k%d-%d", a->id, i);
        int vl = snprintf(v, sizeof v, "v%d", i);
        if (srd_put(a->st, (srd_val){k, (size_t)kl}, (srd_val){v, (size_t)vl}))
            return p;
    }
    return NULL;
}

START_TEST(test_compaction_keeps_writes_of_many_threads)
{
    srd_store *st = open_fast(g_path);
    pthread_t t[MW_THREADS];
    mw_arg a[MW_THREADS];
    for (int i = 0; i < MW_THREADS; i++) {
        a[i] = (mw_arg){st, i};
        ck_assert_int_eq(pthread_create(&t[i], NULL, mw_write, &a[i]), 0);
    }
    for (int round = 0; round < 20; round++)
        ck_srd(srd_compact(st, NULL));
    for (int i = 0; i < MW_THREADS; i++) {
        void *failed;
        pthread_join(t[i], &failed);
        ck_assert_ptr_null(failed);
    }
    ck_srd(srd_compact(st, NULL));
    for (int reopen = 0; reopen < 2; reopen++) {
        for (int i = 0; i < MW_THREADS; i++)
            for (int j = 0; j < MW_PUTS; j++) {
                char k[32], v[32];
                snprintf(k, sizeof k, "k%d-%d", i, j);
                snprintf(v, sizeof v, "v%d", j);
                expect_str(st, k, v);
            }
        ck_assert_uint_eq(count_of(st), MW_THREADS * MW_PUTS);
        ck_srd(srd_close(st));
        st = open_ro(g_path);
    }
    ck_srd(srd_close(st));
}
END_TEST

/* Progress callback that tries a second compaction and then cancels. */
typedef struct oc_prog {
    srd_store *st;
    srd_err nested;
    int calls;
    bool cancel;
} oc_prog;

static int oc_progress(void *ctx, uint64_t done, uint64_t total)
{
    oc_prog *p = ctx;
    ck_assert_uint_le(done, total);
    if (p->calls++ == 0)
        p->nested = srd_compact_ex(p->st, NULL, NULL, NULL);
    return p->cancel;
}

START_TEST(test_compaction_while_compacting_is_estate)
{
    srd_store *st = open_fast(g_path);
    put_str(st, "a", "1");
    put_str(st, "a", "2");
    oc_prog p = {.st = st};
    srd_compact_report rep;
    ck_srd(srd_compact_ex(st, oc_progress, &p, &rep));
    ck_assert_int_ge(p.calls, 1);
    ck_assert_int_eq(p.nested, SRD_ESTATE);
    ck_assert_uint_eq(rep.copied_entries, 1);
    ck_assert_uint_gt(rep.reclaimed, 0);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_cancelled_compaction_leaves_store_unchanged)
{
    srd_store *st = open_fast(g_path);
    put_str(st, "a", "1");
    put_str(st, "a", "2");
    put_str(st, "b", "3");
    long long before = tu_file_size(g_path);
    oc_prog p = {.st = st, .cancel = true};
    ck_assert_int_eq(srd_compact_ex(st, oc_progress, &p, NULL), SRD_ECANCELED);
    ck_assert_int_eq(tu_file_size(g_path), before);
    char *tmp = tu_join(g_dir, "store.srd.compact");
    ck_assert_int_eq(access(tmp, F_OK), -1);
    free(tmp);
    expect_str(st, "a", "2");
    put_str(st, "c", "after cancel");
    ck_srd(srd_compact(st, NULL)); /* a later one runs */
    expect_str(st, "c", "after cancel");
    expect_str(st, "b", "3");
    ck_srd(srd_close(st));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Alignment (reference: tests/alignment_tests.rs)                           */
/* ------------------------------------------------------------------------ */

static void expect_view_aligned(const srd_view *v)
{
    long page = sysconf(_SC_PAGESIZE);
    ck_assert_uint_eq((uintptr_t)v->data % 64, 0);
    ck_assert_uint_eq(v->offset % 64, 0);
    /* the mapping base (payload address minus file offset) is page-aligned */
    ck_assert_uint_eq(((uintptr_t)v->data - (uintptr_t)v->offset) %
                          (uintptr_t)page, 0);
}

static void expect_all_aligned(srd_store *st, const char *const *keys,
                               size_t n)
{
    for (size_t i = 0; i < n; i++) {
        srd_view v;
        if (srd_get(st, tu_s(keys[i]), &v) != SRD_OK)
            continue;
        expect_view_aligned(&v);
        if (v.len >= 8) {
            /* typed loads straight from the mapping are legal */
            const uint32_t *p32 = (const uint32_t *)(const void *)v.data;
            const uint64_t *p64 = (const uint64_t *)(const void *)v.data;
            uint32_t a;
            uint64_t b;
            memcpy(&a, v.data, 4);
            memcpy(&b, v.data, 8);
            ck_assert_uint_eq(*p32, a);
            ck_assert_uint_eq(*p64, b);
        }
        srd_view_release(&v);
    }
    srd_iter *it;
    ck_srd(srd_iter_open(st, &it));
    srd_view v;
    while (srd_iter_next(it, &v) == SRD_OK) {
        expect_view_aligned(&v);
        srd_view_release(&v);
    }
    srd_iter_close(it);
}

/* reference: byte_alignment_unaligned_then_overwrite_and_simd */
START_TEST(test_every_payload_address_is_64_byte_aligned)
{
    static const char *const keys[] = {"k_s1", "k_s2", "k_s3", "k_s4",
                                       "k_ee", "k_33", "k_77"};
    srd_store *st = open_rw(g_path);
    uint8_t buf[128];
    static const size_t small[4] = {3, 5, 7, 9};
    for (int i = 0; i < 4; i++) {
        fill_pattern(buf, small[i], (unsigned)i);
        ck_srd(srd_put(st, tu_s(keys[i]), bytes(buf, small[i])));
    }
    memset(buf, 0xEE, 20);
    ck_srd(srd_put(st, tu_s("k_ee"), bytes(buf, 20)));
    memset(buf, 0x33, 72);
    ck_srd(srd_put(st, tu_s("k_33"), bytes(buf, 72)));
    memset(buf, 0x77, 64);
    ck_srd(srd_put(st, tu_s("k_77"), bytes(buf, 64)));
    expect_all_aligned(st, keys, 7);

    ck_srd(srd_delete(st, tu_s("k_s2"), NULL)); /* unpadded tombstone */
    memset(buf, 0x11, 128);
    ck_srd(srd_put(st, tu_s("k_s1"), bytes(buf, 64)));
    ck_srd(srd_put(st, tu_s("k_s3"), bytes(buf, 128)));
    ck_srd(srd_put(st, tu_s("k_s4"), bytes(buf, 64)));
    expect_all_aligned(st, keys, 7);
    expect_bytes(st, tu_s("k_s3"), buf, 128);
    ck_srd(srd_close(st));

    st = open_ro(g_path);
    expect_all_aligned(st, keys, 7);
    ck_srd(srd_close(st));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Zero copy (reference: tests/mmap_and_zero_copy_tests.rs)                  */
/* ------------------------------------------------------------------------ */

/* Finds the /proc/self/maps line holding p: copies its path and perms. */
static bool find_mapping(const void *p, char *path, size_t cap,
                         char perms[8])
{
    FILE *f = fopen("/proc/self/maps", "r");
    ck_assert_ptr_nonnull(f);
    char line[PATH_MAX + 256];
    bool found = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        int pos = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms,
                   &pos) < 3)
            continue;
        if ((uintptr_t)p < lo || (uintptr_t)p >= hi)
            continue;
        char *name = line + pos;
        name[strcspn(name, "\n")] = 0;
        snprintf(path, cap, "%s", name);
        found = true;
        break;
    }
    fclose(f);
    return found;
}

/* reference: test_mmap_exposure_and_zero_copy_read and the two
 * test_clone_arc_* tests: the view points into a read-only shared mapping
 * of the store file, and two gets give the same address */
START_TEST(test_view_points_into_read_only_mapping_of_store)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "zc", "zero copy value");
    put_str(st, "other", "x");
    srd_view a, b;
    ck_srd(srd_get(st, tu_s("zc"), &a));
    ck_srd(srd_get(st, tu_s("zc"), &b));
    ck_assert_ptr_eq(a.data, b.data);
    ck_assert_uint_eq(a.offset, b.offset);
    srd_view_release(&b);
    ck_assert_mem_eq(a.data, "zero copy value", 15);

    char real[PATH_MAX], mpath[PATH_MAX];
    char perms[8] = "";
    ck_assert_ptr_nonnull(realpath(g_path, real));
    ck_assert(find_mapping(a.data, mpath, sizeof mpath, perms));
    ck_assert_str_eq(mpath, real);
    ck_assert_msg(perms[1] == '-', "mapping is writable: %s", perms);
    ck_assert_msg(perms[3] == 's', "mapping is not shared: %s", perms);
    ck_assert(find_mapping(a.data + a.len - 1, mpath, sizeof mpath, perms));
    ck_assert_str_eq(mpath, real);

    /* the same through srd_get_hash, get_many and iteration */
    srd_view c;
    ck_srd(srd_get_hash(st, srd_key_hash("zc", 2), &c));
    ck_assert_ptr_eq(c.data, a.data);
    srd_view_release(&c);
    srd_val k = tu_s("zc");
    ck_srd(srd_get_many(st, &k, 1, &c, NULL));
    ck_assert_ptr_eq(c.data, a.data);
    srd_view_release(&c);
    srd_view_release(&a);
    ck_srd(srd_close(st));
}
END_TEST

/* srd: writing through a view is impossible (the mapping is PROT_READ) */
START_TEST(test_writing_through_view_faults)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "ro", "read only");
    srd_view v;
    ck_srd(srd_get(st, tu_s("ro"), &v));
    pid_t pid = xfork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        ((volatile uint8_t *)(uintptr_t)v.data)[0] = 'X';
        _exit(0);
    }
    int rc = xwait(pid);
    ck_assert_msg(rc == 128 + SIGSEGV || rc == 128 + SIGBUS,
                  "child status %d", rc);
    ck_assert_mem_eq(v.data, "read only", 9);
    srd_view_release(&v);
    ck_srd(srd_close(st));
}
END_TEST

/* srd: a view stays valid across later writes of other keys */
START_TEST(test_view_stays_valid_after_writes_of_other_keys)
{
    srd_store *st = open_fast(g_path);
    uint8_t *val = pattern(10000, 1);
    ck_srd(srd_put(st, tu_s("held"), bytes(val, 10000)));
    srd_view v;
    ck_srd(srd_get(st, tu_s("held"), &v));
    const uint8_t *p = v.data;
    uint8_t *big = pattern(4 * MIB, 2);
    char key[32];
    for (int i = 0; i < 12; i++) { /* well past any initial mapping size */
        snprintf(key, sizeof key, "other%d", i);
        ck_srd(srd_put(st, tu_s(key), bytes(big, 4 * MIB)));
    }
    ck_assert_ptr_eq(v.data, p);
    ck_assert(memcmp(v.data, val, 10000) == 0);
    expect_bytes(st, tu_s("other11"), big, 4 * MIB);
    srd_view_release(&v);
    ck_srd(srd_close(st));
    free(val);
    free(big);
}
END_TEST

/* srd: overwriting or deleting the key does not change a held view */
START_TEST(test_view_keeps_old_bytes_after_overwrite)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "k", "old bytes here");
    srd_view v;
    ck_srd(srd_get(st, tu_s("k"), &v));
    put_str(st, "k", "NEW BYTES HERE, longer");
    ck_assert_uint_eq(v.len, 14);
    ck_assert_mem_eq(v.data, "old bytes here", 14);
    expect_str(st, "k", "NEW BYTES HERE, longer");
    ck_srd(srd_delete(st, tu_s("k"), NULL));
    ck_assert_mem_eq(v.data, "old bytes here", 14);
    expect_absent(st, "k");
    srd_view_release(&v);
    ck_srd(srd_close(st));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Concurrency (reference: tests/concurrency_tests.rs)                       */
/* ------------------------------------------------------------------------ */

typedef struct thr_arg {
    srd_store *st;
    int id;
    srd_err rc;
    pthread_barrier_t *bar;
    const uint8_t *data;
    size_t len;
    atomic_int *stop;
    long checks;
} thr_arg;

static void *put10_thread(void *p)
{
    thr_arg *a = p;
    pthread_barrier_wait(a->bar);
    for (int i = 0; i < 10 && a->rc == SRD_OK; i++) {
        char k[64], v[64];
        snprintf(k, sizeof k, "thread%d_key%d", a->id, i);
        snprintf(v, sizeof v, "thread%d_value%d", a->id, i);
        a->rc = srd_put(a->st, tu_s(k), tu_s(v));
    }
    return NULL;
}

/* reference: concurrent_write_test */
START_TEST(test_16_threads_writing_10_keys_each_all_read_back)
{
    srd_store *st = open_rw(g_path);
    pthread_t t[16];
    thr_arg a[16];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 16);
    for (int i = 0; i < 16; i++) {
        memset(&a[i], 0, sizeof a[i]);
        a[i].st = st;
        a[i].id = i;
        a[i].bar = &bar;
        ck_assert_int_eq(pthread_create(&t[i], NULL, put10_thread, &a[i]), 0);
    }
    for (int i = 0; i < 16; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(a[i].rc == SRD_OK, "thread %d: %s", i,
                      srd_errname(a[i].rc));
    }
    pthread_barrier_destroy(&bar);
    for (int pass = 0; pass < 2; pass++) {
        ck_assert_uint_eq(count_of(st), 160);
        for (int i = 0; i < 16; i++)
            for (int j = 0; j < 10; j++) {
                char k[64], v[64];
                snprintf(k, sizeof k, "thread%d_key%d", i, j);
                snprintf(v, sizeof v, "thread%d_value%d", i, j);
                expect_str(st, k, v);
            }
        ck_srd(srd_close(st));
        st = open_rw(g_path);
    }
    srd_verify_report r;
    ck_srd(srd_verify(st, &r, NULL, NULL));
    ck_assert_uint_eq(r.entries, 160);
    ck_srd(srd_close(st));
}
END_TEST

static void *slow_stream_thread(void *p)
{
    thr_arg *a = p;
    src s = src_of(a->data, a->len);
    s.chunk = 64 * 1024;
    s.sleep_ms = 10;
    char k[32];
    snprintf(k, sizeof k, "stream_%c", (char)a->data[0]);
    pthread_barrier_wait(a->bar);
    a->rc = srd_put_stream(a->st, tu_s(k), src_read, &s);
    return NULL;
}

/* reference: concurrent_slow_streamed_write_test (sleep 10 ms per chunk) */
START_TEST(test_slow_concurrent_streams_do_not_interleave)
{
    srd_store *st = open_rw(g_path);
    uint8_t *va = malloc(MIB), *vb = malloc(MIB);
    memset(va, 'A', MIB);
    memset(vb, 'B', MIB);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 3);
    thr_arg a[2];
    pthread_t t[2];
    memset(a, 0, sizeof a);
    a[0].st = a[1].st = st;
    a[0].bar = a[1].bar = &bar;
    a[0].data = va;
    a[1].data = vb;
    a[0].len = a[1].len = MIB;
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, slow_stream_thread,
                                        &a[i]), 0);
    pthread_barrier_wait(&bar);
    /* while the streams run, a small put from a third thread also works */
    msleep(30);
    put_str(st, "during", "streams");
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        ck_srd(a[i].rc);
    }
    pthread_barrier_destroy(&bar);
    expect_bytes(st, tu_s("stream_A"), va, MIB);
    expect_bytes(st, tu_s("stream_B"), vb, MIB);
    expect_str(st, "during", "streams");
    srd_entry_meta ma, mb;
    ck_srd(srd_meta(st, tu_s("stream_A"), &ma));
    ck_srd(srd_meta(st, tu_s("stream_B"), &mb));
    ck_assert(ma.entry_end <= mb.payload_offset ||
              mb.entry_end <= ma.payload_offset);
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_bytes(st, tu_s("stream_A"), va, MIB);
    expect_bytes(st, tu_s("stream_B"), vb, MIB);
    srd_verify_report r;
    ck_srd(srd_verify(st, &r, NULL, NULL));
    ck_assert_uint_eq(r.entries, 3);
    ck_srd(srd_close(st));
    free(va);
    free(vb);
}
END_TEST

static void *interleave_a1(void *p)
{
    thr_arg *a = p;
    a->rc = srd_put(a->st, tu_s("shared"), tu_s("value_from_A1"));
    return NULL;
}

static void *interleave_b(void *p)
{
    thr_arg *a = p;
    srd_view v;
    a->rc = srd_get(a->st, tu_s("shared"), &v);
    if (a->rc != SRD_OK)
        return NULL;
    if (v.len != 13 || memcmp(v.data, "value_from_A1", 13) != 0)
        a->rc = SRD_ECHECKSUM;
    srd_view_release(&v);
    if (a->rc == SRD_OK)
        a->rc = srd_put(a->st, tu_s("shared"), tu_s("value_from_B"));
    return NULL;
}

static void *interleave_a2(void *p)
{
    thr_arg *a = p;
    char buf[64];
    size_t n = 0;
    a->rc = srd_get_copy(a->st, tu_s("shared"), buf, sizeof buf, &n);
    if (a->rc == SRD_OK && (n != 12 || memcmp(buf, "value_from_B", 12) != 0))
        a->rc = SRD_ECHECKSUM;
    return NULL;
}

/* reference: interleaved_read_write_test */
START_TEST(test_interleaved_reads_and_writes_across_threads)
{
    srd_store *st = open_rw(g_path);
    void *(*steps[3])(void *) = {interleave_a1, interleave_b, interleave_a2};
    for (int i = 0; i < 3; i++) {
        thr_arg a;
        memset(&a, 0, sizeof a);
        a.st = st;
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, steps[i], &a), 0);
        pthread_join(t, NULL);
        ck_assert_msg(a.rc == SRD_OK, "step %d: %s", i, srd_errname(a.rc));
    }
    ck_srd(srd_close(st));
}
END_TEST

static void *reader_thread(void *p)
{
    thr_arg *a = p;
    while (!atomic_load(a->stop) && a->rc == SRD_OK) {
        srd_view v;
        srd_err rc = srd_get(a->st, tu_s("hot"), &v);
        if (rc != SRD_OK) {
            a->rc = rc;
            break;
        }
        uint8_t c = v.data[0];
        size_t want = c == 'x' ? 1000 : c == 'y' ? 300000 : 0;
        if (v.len != want)
            a->rc = SRD_ECORRUPT;
        for (size_t i = 0; i < v.len && a->rc == SRD_OK; i++)
            if (v.data[i] != c)
                a->rc = SRD_ECORRUPT;
        srd_view_release(&v);
        a->checks++;
    }
    return NULL;
}

/* srd: readers never see a partial value while a writer replaces it (and
 * never block; DESIGN.md invariant 5) */
START_TEST(test_readers_see_whole_values_while_writer_replaces_them)
{
    srd_store *st = open_fast(g_path);
    uint8_t *x = malloc(1000), *y = malloc(300000);
    memset(x, 'x', 1000);
    memset(y, 'y', 300000);
    ck_srd(srd_put(st, tu_s("hot"), bytes(x, 1000)));
    atomic_int stop = 0;
    thr_arg a[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        memset(&a[i], 0, sizeof a[i]);
        a[i].st = st;
        a[i].stop = &stop;
        ck_assert_int_eq(pthread_create(&t[i], NULL, reader_thread, &a[i]),
                         0);
    }
    for (int i = 0; i < 400; i++) {
        if (i % 2)
            ck_srd(srd_put(st, tu_s("hot"), bytes(x, 1000)));
        else
            ck_srd(srd_put(st, tu_s("hot"), bytes(y, 300000)));
        char k[32];
        snprintf(k, sizeof k, "filler%d", i);
        put_str(st, k, "f");
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(a[i].rc == SRD_OK, "reader %d: %s", i,
                      srd_errname(a[i].rc));
        ck_assert_int_gt(a[i].checks, 0);
    }
    ck_srd(srd_close(st));
    free(x);
    free(y);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Iteration (reference: tests/parallel_iterator_tests.rs, sequentially)     */
/* ------------------------------------------------------------------------ */

/* reference: par_iter set equals iter set; a deleted key is excluded; only
 * the latest version appears; updated-then-deleted appears in neither */
START_TEST(test_iter_yields_each_live_key_once_in_file_order)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "a", "a1");
    put_str(st, "b", "b1");
    put_str(st, "c", "c1");
    put_str(st, "a", "a2");
    put_str(st, "d", "d1");
    ck_srd(srd_delete(st, tu_s("b"), NULL));
    put_str(st, "f", "f1");
    put_str(st, "e", "e1");
    put_str(st, "f", "f2");
    ck_srd(srd_delete(st, tu_s("f"), NULL));
    put_str(st, "c", "c2");
    /* live entries in file order: a2, d1, e1, c2 */
    const char *keys[4] = {"a", "d", "e", "c"};
    const char *vals[4] = {"a2", "d1", "e1", "c2"};
    for (int pass = 0; pass < 2; pass++) {
        srd_iter *it;
        ck_srd(srd_iter_open(st, &it));
        srd_view v;
        uint64_t last = 0;
        for (int i = 0; i < 4; i++) {
            ck_srd(srd_iter_next(it, &v));
            ck_assert_uint_eq(v.key_hash, srd_key_hash(keys[i], 1));
            ck_assert_uint_eq(v.len, 2);
            ck_assert_mem_eq(v.data, vals[i], 2);
            if (i)
                ck_assert_uint_gt(v.offset, last);
            last = v.offset;
            srd_view_release(&v);
        }
        ck_assert_int_eq(srd_iter_next(it, &v), SRD_ENOTFOUND);
        ck_assert_ptr_null(v.data);
        ck_assert_int_eq(srd_iter_next(it, &v), SRD_ENOTFOUND);
        srd_iter_close(it);
        ck_srd(srd_close(st));
        st = open_ro(g_path); /* same after reopen (rebuilt index) */
    }
    ck_srd(srd_close(st));
}
END_TEST

/* reference: an empty store gives 0 */
START_TEST(test_iter_on_empty_store_yields_nothing)
{
    srd_store *st = open_rw(g_path);
    srd_iter *it;
    srd_view v;
    ck_srd(srd_iter_open(st, &it));
    ck_assert_int_eq(srd_iter_next(it, &v), SRD_ENOTFOUND);
    srd_iter_close(it);
    put_str(st, "k", "v");
    ck_srd(srd_delete(st, tu_s("k"), NULL));
    ck_srd(srd_iter_open(st, &it));
    ck_assert_int_eq(srd_iter_next(it, &v), SRD_ENOTFOUND);
    srd_iter_close(it);
    ck_srd(srd_close(st));
}
END_TEST

/* srd: the iterator works on the snapshot taken when it was opened */
START_TEST(test_iter_ignores_keys_added_after_open)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "one", "1");
    srd_iter *it;
    ck_srd(srd_iter_open(st, &it));
    put_str(st, "two", "2");
    srd_view v;
    ck_srd(srd_iter_next(it, &v));
    ck_assert_uint_eq(v.key_hash, srd_key_hash("one", 3));
    srd_view_release(&v);
    ck_assert_int_eq(srd_iter_next(it, &v), SRD_ENOTFOUND);
    srd_iter_close(it);
    ck_srd(srd_close(st));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Counts (reference: python-ws-client count semantics; golden README)       */
/* ------------------------------------------------------------------------ */

START_TEST(test_update_does_not_change_count)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "k", "v1");
    put_str(st, "j", "w");
    ck_assert_uint_eq(count_of(st), 2);
    put_str(st, "k", "v2");
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_deleting_deleted_key_changes_nothing)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "k", "v");
    put_str(st, "j", "w");
    bool existed = false;
    ck_srd(srd_delete(st, tu_s("k"), &existed));
    ck_assert(existed);
    ck_assert_uint_eq(count_of(st), 1);
    snap s = snap_file(g_path);
    ck_srd(srd_delete(st, tu_s("k"), &existed));
    ck_assert(!existed);
    ck_assert_uint_eq(count_of(st), 1);
    expect_file_is(g_path, s);
    free(s.b);
    ck_srd(srd_close(st));
}
END_TEST

/* golden small.bin: delete("nope") writes nothing */
START_TEST(test_deleting_missing_key_writes_nothing)
{
    srd_store *st = open_rw(g_path);
    bool existed = true;
    ck_srd(srd_delete(st, tu_s("nope"), &existed));
    ck_assert(!existed);
    ck_assert_int_eq(tu_file_size(g_path), 0);
    put_str(st, "k", "v");
    snap s = snap_file(g_path);
    uint64_t t = tail_of(st);
    ck_srd(srd_delete(st, tu_s("nope"), NULL));
    expect_file_is(g_path, s);
    ck_assert_uint_eq(tail_of(st), t);
    ck_assert_uint_eq(info_of(st).entries, 1);
    free(s.b);
    ck_srd(srd_close(st));
}
END_TEST

/* golden README: the reference counts deleted keys as live after a reopen;
 * srd must not */
START_TEST(test_count_excludes_deleted_keys_after_reopen)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "alpha", "one");
    put_str(st, "beta", "two");
    put_str(st, "gamma", "three");
    put_str(st, "alpha", "uno");
    ck_srd(srd_delete(st, tu_s("beta"), NULL));
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
    st = open_ro(g_path);
    ck_assert_uint_eq(count_of(st), 2);
    ck_srd(srd_close(st));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Info and srd_get_copy                                                     */
/* ------------------------------------------------------------------------ */

START_TEST(test_info_fields_follow_writes_deletes_and_compaction)
{
    srd_store *st = open_rw(g_path);
    srd_info i = info_of(st);
    ck_assert_uint_eq(i.live_keys, 0);
    ck_assert_uint_eq(i.entries, 0);
    ck_assert_uint_eq(i.tail, 0);
    ck_assert_uint_eq(i.file_size, 0);
    ck_assert_uint_eq(i.live_bytes, 0);
    ck_assert_uint_eq(i.dead_bytes, 0);
    ck_assert(!i.readonly);

    uint8_t hundred[100];
    fill_pattern(hundred, sizeof hundred, 4);
    put_str(st, "a", "abc");                                     /* 0..23 */
    ck_srd(srd_put(st, tu_s("b"), bytes(hundred, 100)));        /* 64..184 */
    i = info_of(st);
    ck_assert_uint_eq(i.live_keys, 2);
    ck_assert_uint_eq(i.entries, 2);
    ck_assert_uint_eq(i.tail, 184);
    ck_assert_uint_eq(i.file_size, 184);
    ck_assert_uint_eq(i.live_bytes, 103);
    ck_assert_uint_eq(i.dead_bytes, 0);
    ck_assert_uint_gt(i.index_bytes, 0);

    ck_srd(srd_delete(st, tu_s("a"), NULL));                     /* ..205 */
    i = info_of(st);
    ck_assert_uint_eq(i.live_keys, 1);
    ck_assert_uint_eq(i.entries, 3);
    ck_assert_uint_eq(i.tail, 205);
    ck_assert_uint_eq(i.file_size, 205);
    ck_assert_uint_eq(i.live_bytes, 100);
    /* compaction would keep b alone at offset 0 (100 + 20 bytes), so the
     * exact figure is 205 - 120 = 85; srd counts live entries with the pad
     * they have now (41 bytes for b), so it may report as little as the
     * dead entries themselves: 23 + 21 = 44 (see the report) */
    ck_assert_uint_ge(i.dead_bytes, 44);
    ck_assert_uint_le(i.dead_bytes, 85);

    uint64_t reclaimed = 0;
    ck_srd(srd_compact(st, &reclaimed));
    ck_assert_uint_eq(reclaimed, 85);
    i = info_of(st);
    ck_assert_uint_eq(i.live_keys, 1);
    ck_assert_uint_eq(i.entries, 1);
    ck_assert_uint_eq(i.tail, 120);
    ck_assert_uint_eq(i.file_size, 120);
    ck_assert_uint_eq(i.live_bytes, 100);
    ck_assert_uint_eq(i.dead_bytes, 0);
    ck_srd(srd_close(st));

    st = open_ro(g_path);
    i = info_of(st);
    ck_assert(i.readonly);
    ck_assert_uint_eq(i.live_keys, 1);
    ck_assert_uint_eq(i.entries, 1);
    ck_assert_uint_eq(i.tail, 120);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_get_copy_reports_length_when_buffer_too_small)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "k", "hello world");
    char buf[32];
    memset(buf, 0xEE, sizeof buf);
    size_t n = 0;
    ck_assert_int_eq(srd_get_copy(st, tu_s("k"), buf, 4, &n), SRD_ETOOBIG);
    ck_assert_uint_eq(n, 11);
    for (size_t i = 0; i < sizeof buf; i++)
        ck_assert_uint_eq((uint8_t)buf[i], 0xEE); /* untouched */
    ck_srd(srd_get_copy(st, tu_s("k"), buf, 11, &n));
    ck_assert_uint_eq(n, 11);
    ck_assert_mem_eq(buf, "hello world", 11);
    ck_assert_uint_eq((uint8_t)buf[11], 0xEE);
    ck_assert_int_eq(srd_get_copy(st, tu_s("missing"), buf, sizeof buf, &n),
                     SRD_ENOTFOUND);
    ck_srd(srd_close(st));
}
END_TEST

/* srd: values around the index's inline length limit (2^20 - 1) */
START_TEST(test_values_around_one_mib_read_back)
{
    srd_store *st = open_fast(g_path);
    static const size_t sizes[4] = {MIB - 1, MIB, MIB + 1, 3 * MIB + 17};
    uint8_t *data = pattern(4 * MIB, 13);
    char key[16];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "v%d", i);
        ck_srd(srd_put(st, tu_s(key), bytes(data + i, sizes[i])));
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 4; i++) {
            snprintf(key, sizeof key, "v%d", i);
            expect_bytes(st, tu_s(key), data + i, sizes[i]);
            srd_entry_meta m;
            ck_srd(srd_meta(st, tu_s(key), &m));
            ck_assert_uint_eq(m.len, sizes[i]);
            ck_assert(m.checksum_valid);
        }
        ck_srd(srd_close(st));
        st = open_ro(g_path);
    }
    ck_srd(srd_close(st));
    free(data);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Bad arguments                                                             */
/* ------------------------------------------------------------------------ */

START_TEST(test_open_rejects_bad_arguments)
{
    srd_options o;
    srd_options_init(&o);
    ck_assert_uint_eq(o.flags, SRD_OPEN_CREATE);
    ck_assert_int_eq(o.sync, SRD_SYNC_ALWAYS);
    ck_assert_uint_eq(o.sync_interval_ms, 100);
    srd_store *st = NULL;
    ck_assert_int_eq(srd_open(NULL, &o, &st), SRD_EINVAL);
    ck_assert_int_eq(srd_open(g_path, &o, NULL), SRD_EINVAL);
    o.flags = SRD_OPEN_CREATE | 0x100u;
    ck_assert_int_eq(srd_open(g_path, &o, &st), SRD_EINVAL);
    ck_assert_ptr_null(st);
    srd_options_init(&o);
    o.sync = (srd_sync_mode)77;
    ck_assert_int_eq(srd_open(g_path, &o, &st), SRD_EINVAL);
    ck_assert_ptr_null(st);
    ck_assert_int_eq(tu_file_size(g_path), -1); /* nothing created */
    /* NULL options are the defaults (create) */
    ck_srd(srd_open(g_path, NULL, &st));
    ck_srd(srd_close(st));
    ck_assert_int_eq(tu_file_size(g_path), 0);
}
END_TEST

START_TEST(test_calls_on_null_store_are_einval)
{
    srd_view v;
    bool b;
    uint64_t u;
    srd_info info;
    srd_entry_meta m;
    srd_verify_report r;
    srd_iter *it;
    srd_stream *s;
    srd_read_stream *rs;
    char buf[8];
    size_t n;
    srd_val k = tu_s("k"), val = tu_s("v");
    u = 0;
    ck_assert_int_eq(srd_put(NULL, k, val), SRD_EINVAL);
    ck_assert_int_eq(srd_put_batch(NULL, &k, &val, 1), SRD_EINVAL);
    ck_assert_int_eq(srd_delete(NULL, k, &b), SRD_EINVAL);
    ck_assert_int_eq(srd_delete_batch(NULL, &k, 1, &n), SRD_EINVAL);
    src sr = src_of("ab", 2);
    ck_assert_int_eq(srd_put_stream(NULL, k, src_read, &sr), SRD_EINVAL);
    ck_assert_int_eq(sr.calls, 0); /* a failed call never calls back */
    ck_assert_int_eq(srd_stream_begin(NULL, k, &s), SRD_EINVAL);
    ck_assert_int_eq(srd_get(NULL, k, &v), SRD_EINVAL);
    ck_assert_int_eq(srd_get_hash(NULL, 1, &v), SRD_EINVAL);
    ck_assert_int_eq(srd_get_copy(NULL, k, buf, sizeof buf, &n), SRD_EINVAL);
    ck_assert_int_eq(srd_get_many(NULL, &k, 1, &v, &n), SRD_EINVAL);
    ck_assert_int_eq(srd_get_many_hash(NULL, &u, 1, &v, &n), SRD_EINVAL);
    ck_assert_int_eq(srd_exists(NULL, k, &b), SRD_EINVAL);
    ck_assert_int_eq(srd_exists_hash(NULL, 1, &b), SRD_EINVAL);
    ck_assert_int_eq(srd_meta(NULL, k, &m), SRD_EINVAL);
    ck_assert_int_eq(srd_read_stream_open(NULL, k, &rs), SRD_EINVAL);
    ck_assert_int_eq(srd_iter_open(NULL, &it), SRD_EINVAL);
    ck_assert_int_eq(srd_get_info(NULL, &info), SRD_EINVAL);
    ck_assert_int_eq(srd_count(NULL, &u), SRD_EINVAL);
    ck_assert_int_eq(srd_tail(NULL, &u), SRD_EINVAL);
    ck_assert_int_eq(srd_refresh(NULL, &u), SRD_EINVAL);
    ck_assert_int_eq(srd_verify(NULL, &r, NULL, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_sync(NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_compact(NULL, &u), SRD_EINVAL);
}
END_TEST

START_TEST(test_null_out_pointers_are_einval)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "k", "v1");
    srd_val k = tu_s("k");
    char buf[8];
    ck_assert_int_eq(srd_get(st, k, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_get_hash(st, 1, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_exists(st, k, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_exists_hash(st, 1, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_meta(st, k, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_get_copy(st, k, buf, sizeof buf, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_get_many(st, &k, 1, NULL, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_get_many(st, NULL, 1, NULL, NULL), SRD_EINVAL);
    uint64_t h = 1;
    ck_assert_int_eq(srd_get_many_hash(st, &h, 1, NULL, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_iter_open(st, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_stream_begin(st, k, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_read_stream_open(st, k, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_get_info(st, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_count(st, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_tail(st, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_put_stream(st, k, NULL, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_get_copy(st, k, NULL, 4, &h), SRD_EINVAL);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_key_or_value_pointer_null_with_length_is_einval)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "k", "v1");
    snap s = snap_file(g_path);
    srd_val badk = {NULL, 5}, badv = {NULL, 5}, k = tu_s("k");
    srd_val v = tu_s("value");
    srd_view view;
    bool b;
    srd_entry_meta m;
    ck_assert_int_eq(srd_put(st, badk, v), SRD_EINVAL);
    ck_assert_int_eq(srd_put(st, k, badv), SRD_EINVAL);
    ck_assert_int_eq(srd_get(st, badk, &view), SRD_EINVAL);
    ck_assert_int_eq(srd_exists(st, badk, &b), SRD_EINVAL);
    ck_assert_int_eq(srd_delete(st, badk, &b), SRD_EINVAL);
    ck_assert_int_eq(srd_meta(st, badk, &m), SRD_EINVAL);
    srd_val ks[2] = {tu_s("ok"), badk}, vs[2] = {v, v};
    ck_assert_int_eq(srd_put_batch(st, ks, vs, 2), SRD_EINVAL);
    srd_val ks2[2] = {tu_s("ok"), tu_s("ok2")}, vs2[2] = {v, badv};
    ck_assert_int_eq(srd_put_batch(st, ks2, vs2, 2), SRD_EINVAL);
    ck_assert_int_eq(srd_delete_batch(st, ks, 2, NULL), SRD_EINVAL);
    expect_file_is(g_path, s);
    expect_str(st, "k", "v1");
    expect_absent(st, "ok");
    free(s.b);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_empty_and_single_zero_values_are_einval)
{
    srd_store *st = open_rw(g_path);
    ck_assert_int_eq(srd_put(st, tu_s("k"), bytes("", 0)), SRD_EINVAL);
    ck_assert_int_eq(srd_put(st, tu_s("k"), bytes(NULL, 0)), SRD_EINVAL);
    ck_assert_int_eq(srd_put(st, tu_s("k"), bytes("\0", 1)), SRD_EINVAL);
    ck_assert_int_eq(tu_file_size(g_path), 0);
    ck_assert_uint_eq(count_of(st), 0);
    /* one non-zero byte is fine */
    ck_srd(srd_put(st, tu_s("k"), bytes("\x01", 1)));
    expect_bytes(st, tu_s("k"), "\x01", 1);
    ck_srd(srd_close(st));
}
END_TEST

/* golden mixed.bin: the empty key is an ordinary key */
START_TEST(test_zero_length_key_is_legal)
{
    ck_assert_uint_eq(srd_key_hash("", 0), 0x2d06800538d394c2ull);
    ck_assert_uint_eq(srd_key_hash(NULL, 0), 0x2d06800538d394c2ull);
    srd_store *st = open_rw(g_path);
    srd_val nullkey = {NULL, 0}, emptykey = {"", 0};
    ck_srd(srd_put(st, nullkey, tu_s("empty-key")));
    expect_bytes(st, emptykey, "empty-key", 9);
    expect_bytes(st, nullkey, "empty-key", 9);
    ck_assert_uint_eq(count_of(st), 1);
    ck_srd(srd_close(st));
    st = open_rw(g_path);
    expect_bytes(st, emptykey, "empty-key", 9);
    bool existed = false;
    ck_srd(srd_delete(st, emptykey, &existed));
    ck_assert(existed);
    expect_absent_(st, nullkey, __LINE__);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_huge_n_with_null_arrays_is_einval)
{
    srd_store *st = open_rw(g_path);
    srd_view v;
    ck_assert_int_eq(srd_put_batch(st, NULL, NULL, SIZE_MAX), SRD_EINVAL);
    ck_assert_int_eq(srd_put_batch(st, NULL, NULL, SIZE_MAX / 16 + 1),
                     SRD_EINVAL);
    srd_val k = tu_s("k");
    ck_assert_int_eq(srd_put_batch(st, &k, NULL, SIZE_MAX), SRD_EINVAL);
    ck_assert_int_eq(srd_get_many(st, NULL, SIZE_MAX, NULL, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_get_many(st, NULL, SIZE_MAX, &v, NULL), SRD_EINVAL);
    ck_assert_int_eq(srd_get_many_hash(st, NULL, SIZE_MAX, NULL, NULL),
                     SRD_EINVAL);
    ck_assert_int_eq(srd_delete_batch(st, NULL, SIZE_MAX, NULL), SRD_EINVAL);
    ck_assert_int_eq(tu_file_size(g_path), 0);
    ck_assert_uint_eq(count_of(st), 0);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_writes_on_readonly_handle_are_ereadonly)
{
    srd_store *w = open_rw(g_path);
    put_str(w, "k", "v");
    ck_srd(srd_close(w));
    snap s = snap_file(g_path);
    srd_store *st = open_ro(g_path);
    srd_val k = tu_s("k"), v = tu_s("new");
    bool b;
    size_t n;
    srd_stream *ps = NULL;
    ck_assert_int_eq(srd_put(st, k, v), SRD_EREADONLY);
    ck_assert_int_eq(srd_put_batch(st, &k, &v, 1), SRD_EREADONLY);
    ck_assert_int_eq(srd_delete(st, k, &b), SRD_EREADONLY);
    ck_assert_int_eq(srd_delete_batch(st, &k, 1, &n), SRD_EREADONLY);
    src sr = src_of("abc", 3);
    ck_assert_int_eq(srd_put_stream(st, k, src_read, &sr), SRD_EREADONLY);
    ck_assert_int_eq(sr.calls, 0);
    ck_assert_int_eq(srd_stream_begin(st, k, &ps), SRD_EREADONLY);
    ck_assert_int_eq(srd_compact(st, NULL), SRD_EREADONLY);
    expect_str(st, "k", "v");
    ck_srd(srd_close(st));
    expect_file_is(g_path, s);
    free(s.b);
}
END_TEST

START_TEST(test_close_null_does_nothing)
{
    ck_assert_int_eq(srd_close(NULL), SRD_OK);
    srd_view_release(NULL);
    srd_iter_close(NULL);
    srd_read_stream_close(NULL);
    srd_stream_abort(NULL);
}
END_TEST

START_TEST(test_path_is_the_one_opened)
{
    srd_store *st = open_rw(g_path);
    ck_assert_str_eq(srd_path(st), g_path);
    ck_srd(srd_close(st));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The writer lock, read-only handles and durability modes                   */
/* ------------------------------------------------------------------------ */

/* A child that waits for a byte on `go`, then tries to open path with flags
 * and exits with the srd_err (0..255 range for the codes used here). */
static pid_t spawn_opener(const char *path, unsigned flags, int go[2])
{
    ck_assert_int_eq(pipe(go), 0);
    pid_t pid = xfork();
    if (pid == 0) {
        close(go[1]);
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(100);
        srd_options o;
        srd_options_init(&o);
        o.flags = flags;
        srd_store *st = NULL;
        srd_err rc = srd_open(path, &o, &st);
        if (rc == SRD_OK) {
            if (!(flags & SRD_OPEN_READONLY) &&
                srd_put(st, tu_s("child"), tu_s("was here")) != SRD_OK)
                _exit(101);
            srd_close(st);
        }
        _exit(rc > 200 ? 200 : (int)rc);
    }
    close(go[0]);
    return pid;
}

static int release_opener(pid_t pid, int go[2])
{
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    close(go[1]);
    return xwait(pid);
}

START_TEST(test_second_writer_in_other_process_gets_ebusy)
{
    int go[2], go2[2], go3[2];
    pid_t busy = spawn_opener(g_path, SRD_OPEN_CREATE, go);
    pid_t reader = spawn_opener(g_path, SRD_OPEN_READONLY, go2);
    pid_t later = spawn_opener(g_path, SRD_OPEN_CREATE, go3);
    srd_store *st = open_rw(g_path);
    put_str(st, "k", "v");
    snap s = snap_file(g_path);
    ck_assert_int_eq(release_opener(busy, go), SRD_EBUSY);
    ck_assert_int_eq(release_opener(reader, go2), SRD_OK); /* no lock */
    expect_file_is(g_path, s);
    put_str(st, "k2", "still the writer");
    ck_srd(srd_close(st));
    /* once closed, another process can take the writer role */
    ck_assert_int_eq(release_opener(later, go3), SRD_OK);
    st = open_ro(g_path);
    expect_str(st, "child", "was here");
    expect_str(st, "k2", "still the writer");
    ck_srd(srd_close(st));
    free(s.b);
}
END_TEST

START_TEST(test_second_writer_in_same_process_gets_ebusy)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "k", "v");
    ck_assert_int_eq(try_open(g_path, SRD_OPEN_CREATE), SRD_EBUSY);
    ck_assert_int_eq(try_open(g_path, 0), SRD_EBUSY);
    ck_assert_int_eq(try_open(g_path, SRD_OPEN_REPAIR), SRD_EBUSY);
    /* a read-only handle next to the writer is fine */
    srd_store *ro = open_ro(g_path);
    expect_str(ro, "k", "v");
    ck_srd(srd_close(ro));
    put_str(st, "k", "v2");
    ck_srd(srd_close(st));
    st = open_rw(g_path); /* lock released by close */
    expect_str(st, "k", "v2");
    ck_srd(srd_close(st));
}
END_TEST

/* srd: a read-only handle sees what another process appended after
 * srd_refresh, also past the initial mapping, and its old views survive */
START_TEST(test_readonly_refresh_sees_entries_appended_by_other_process)
{
    srd_store *w = open_rw(g_path);
    put_str(w, "first", "before reader");
    ck_srd(srd_close(w));

    int go[2], done[2];
    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(done), 0);
    pid_t pid = xfork();
    if (pid == 0) {
        close(go[1]);
        close(done[0]);
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(100);
        srd_options o;
        srd_options_init(&o);
        o.sync = SRD_SYNC_NEVER;
        srd_store *st = NULL;
        if (srd_open(g_path, &o, &st) != SRD_OK)
            _exit(101);
        char k[32];
        for (int i = 0; i < 100; i++) {
            snprintf(k, sizeof k, "small%d", i);
            if (srd_put(st, tu_s(k), tu_s(k)) != SRD_OK)
                _exit(102);
        }
        uint8_t *big = malloc(8 * MIB);
        for (int i = 0; i < 6; i++) {
            fill_pattern(big, 8 * MIB, (unsigned)i);
            snprintf(k, sizeof k, "big%d", i);
            if (srd_put(st, tu_s(k), bytes(big, 8 * MIB)) != SRD_OK)
                _exit(103);
        }
        if (srd_delete(st, tu_s("first"), NULL) != SRD_OK)
            _exit(104);
        if (srd_put(st, tu_s("last"), tu_s("after 48 MiB")) != SRD_OK)
            _exit(105);
        srd_close(st);
        free(big);
        _exit(0);
    }
    close(go[0]);
    close(done[1]);
    close(done[0]);

    srd_store *ro = open_ro(g_path);
    srd_view held;
    ck_srd(srd_get(ro, tu_s("first"), &held));
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    close(go[1]);
    ck_assert_int_eq(xwait(pid), 0);

    uint64_t added = 0;
    ck_srd(srd_refresh(ro, &added));
    ck_assert_uint_ge(added, 100);
    expect_str(ro, "last", "after 48 MiB");
    expect_str(ro, "small42", "small42");
    expect_absent(ro, "first");
    uint8_t *big = malloc(8 * MIB);
    fill_pattern(big, 8 * MIB, 5);
    expect_bytes(ro, tu_s("big5"), big, 8 * MIB);
    free(big);
    ck_assert_uint_eq(count_of(ro), 107);
    ck_assert_uint_eq(tail_of(ro), (uint64_t)tu_file_size(g_path));
    /* the view taken before the refresh is unchanged */
    ck_assert_mem_eq(held.data, "before reader", 13);
    srd_view_release(&held);
    ck_srd(srd_refresh(ro, NULL));
    ck_srd(srd_refresh(ro, &added));
    ck_assert_uint_eq(added, 0);
    ck_srd(srd_close(ro));
}
END_TEST

START_TEST(test_each_sync_mode_persists_writes)
{
    static const srd_sync_mode modes[3] = {SRD_SYNC_ALWAYS, SRD_SYNC_INTERVAL,
                                           SRD_SYNC_NEVER};
    for (int m = 0; m < 3; m++) {
        char name[32];
        snprintf(name, sizeof name, "mode%d.srd", m);
        char *path = tu_join(g_dir, name);
        srd_options o;
        srd_options_init(&o);
        o.sync = modes[m];
        o.sync_interval_ms = 20;
        srd_store *st = NULL;
        ck_srd(srd_open(path, &o, &st));
        char k[32];
        for (int i = 0; i < 20; i++) {
            snprintf(k, sizeof k, "k%d", i);
            put_str(st, k, name);
        }
        srd_val bk[2] = {tu_s("b1"), tu_s("b2")}, bv[2] = {tu_s("x"),
                                                          tu_s("yy")};
        ck_srd(srd_put_batch(st, bk, bv, 2));
        if (modes[m] == SRD_SYNC_INTERVAL)
            msleep(60);
        ck_srd(srd_sync(st));
        ck_srd(srd_close(st));
        st = open_ro(path);
        for (int i = 0; i < 20; i++) {
            snprintf(k, sizeof k, "k%d", i);
            expect_str(st, k, name);
        }
        expect_str(st, "b2", "yy");
        ck_assert_uint_eq(count_of(st), 22);
        ck_srd(srd_close(st));
        free(path);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Suite                                                                     */
/* ------------------------------------------------------------------------ */

static TCase *tcase(Suite *s, const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(s, tc);
    return tc;
}

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase(s, "basic");
    tcase_add_test(tc, test_new_store_is_empty_until_first_put);
    tcase_add_test(tc, test_exists_follows_put_and_delete);
    tcase_add_test(tc, test_put_becomes_last_entry);
    tcase_add_test(tc, test_last_of_three_puts_is_last_entry);
    tcase_add_test(tc, test_values_of_varying_sizes_read_back);
    tcase_add_test(tc, test_get_returns_put_bytes);
    tcase_add_test(tc, test_put_replaces_value_with_other_lengths);
    tcase_add_test(tc, test_reopen_existing_store_without_create);
    tcase_add_test(tc, test_open_missing_file_without_create_is_enoent);
    tcase_add_test(tc, test_put_single_zero_byte_is_einval);
    tcase_add_test(tc, test_zero_bytes_of_length_two_are_an_ordinary_value);
    tcase_add_test(tc, test_get_hash_reads_value_and_misses_unknown_hash);
    tcase_add_test(tc, test_exists_hash_for_written_and_unknown_key);
    tcase_add_test(tc, test_exists_hash_false_after_delete);
    tcase_add_test(tc, test_values_around_one_mib_read_back);

    tc = tcase(s, "batch");
    tcase_add_test(tc, test_batch_put_then_single_gets);
    tcase_add_test(tc, test_batch_put_then_get_many_in_order);
    tcase_add_test(tc, test_batch_with_single_zero_byte_value_is_einval);
    tcase_add_test(tc, test_batch_with_empty_value_is_einval);
    tcase_add_test(tc, test_batch_with_empty_value_among_many_writes_nothing);
    tcase_add_test(tc, test_get_many_zeroes_view_of_missing_key);
    tcase_add_test(tc, test_batch_with_zero_byte_among_many_writes_nothing);
    tcase_add_test(tc, test_get_many_hash_returns_values);
    tcase_add_test(tc, test_get_many_hash_zeroes_view_of_unknown_hash);
    tcase_add_test(tc, test_other_keys_hash_does_not_find_value);
    tcase_add_test(tc, test_delete_batch_removes_listed_keys);
    tcase_add_test(tc, test_delete_batch_skips_missing_keys);
    tcase_add_test(tc,
                   test_delete_batch_of_present_and_unknown_key_empties_store);
    tcase_add_test(tc, test_batch_later_pair_wins_for_same_key);

    tc = tcase(s, "storage");
    tcase_add_test(tc, test_deleted_key_has_no_version_in_iteration);
    tcase_add_test(tc, test_store_file_as_value_reopens_as_store);

    tc = tcase(s, "persistence");
    tcase_add_test(tc, test_values_survive_reopen);
    tcase_add_test(tc, test_updates_survive_multiple_reopens);
    tcase_add_test(tc, test_writer_reopen_cuts_torn_tail);
    tcase_add_test(tc, test_readonly_open_ignores_torn_tail_without_cutting);
    tcase_add_test(tc, test_last_entry_with_bad_crc_is_treated_as_torn);
    tcase_add_test(tc, test_file_without_valid_chain_is_refused_untouched);
    tcase_add_test(tc, test_repair_saves_unreadable_bytes_then_cuts);
    tcase_add_test(tc, test_repair_of_torn_store_saves_junk_at_tail_offset);

    tc = tcase(s, "integrity");
    tcase_add_test(tc, test_single_entry_store_with_bad_payload_is_ecorrupt);
    tcase_add_test(tc, test_corrupt_older_entry_reads_but_fails_checksum);
    tcase_add_test(tc, test_verify_reports_offset_of_damaged_middle_entry);
    tcase_add_test(tc, test_put_and_stream_of_same_bytes_have_same_checksum);
    tcase_add_test(tc, test_meta_matches_format_layout);
    tcase_add_test(tc, test_verify_progress_can_cancel);

    tc = tcase(s, "streaming");
    tcase_add_test(tc, test_pull_stream_of_1mib_reads_back_in_4k_chunks);
    tcase_add_test(tc, test_push_stream_of_1mib_reads_back_in_4k_chunks);
    tcase_add_test(tc,
                   test_stream_of_single_zero_byte_is_einval_and_writes_nothing);
    tcase_add_test(tc, test_empty_stream_is_einval_and_writes_nothing);
    tcase_add_test(tc, test_aborted_stream_leaves_file_unchanged);
    tcase_add_test(tc, test_pull_stream_callback_error_aborts_write);
    tcase_add_test(tc, test_read_stream_of_missing_key_is_enotfound);

    tc = tcase(s, "compaction");
    tcase_add_test(tc, test_compact_shrinks_file_and_keeps_latest_values);
    tcase_add_test(tc, test_compact_keeps_live_entries_in_file_order);
    tcase_add_test(tc, test_view_taken_before_compact_reads_same_bytes_after);
    tcase_add_test(tc, test_compact_deletes_stale_temp_file_without_merging);
    tcase_add_test(tc, test_put_after_compact_survives_reopen);
    tcase_add_test(tc, test_online_compaction_keeps_concurrent_writes);
    tcase_add_test(tc, test_compaction_while_compacting_is_estate);
    tcase_add_test(tc, test_compaction_keeps_writes_of_many_threads);
    tcase_add_test(tc, test_cancelled_compaction_leaves_store_unchanged);

    tc = tcase(s, "alignment");
    tcase_add_test(tc, test_every_payload_address_is_64_byte_aligned);

    tc = tcase(s, "zero_copy");
    tcase_add_test(tc, test_view_points_into_read_only_mapping_of_store);
    tcase_add_test(tc, test_writing_through_view_faults);
    tcase_add_test(tc, test_view_stays_valid_after_writes_of_other_keys);
    tcase_add_test(tc, test_view_keeps_old_bytes_after_overwrite);

    tc = tcase(s, "concurrency");
    tcase_add_test(tc, test_16_threads_writing_10_keys_each_all_read_back);
    tcase_add_test(tc, test_slow_concurrent_streams_do_not_interleave);
    tcase_add_test(tc, test_interleaved_reads_and_writes_across_threads);
    tcase_add_test(tc,
                   test_readers_see_whole_values_while_writer_replaces_them);

    tc = tcase(s, "iteration");
    tcase_add_test(tc, test_iter_yields_each_live_key_once_in_file_order);
    tcase_add_test(tc, test_iter_on_empty_store_yields_nothing);
    tcase_add_test(tc, test_iter_ignores_keys_added_after_open);

    tc = tcase(s, "counts");
    tcase_add_test(tc, test_update_does_not_change_count);
    tcase_add_test(tc, test_deleting_deleted_key_changes_nothing);
    tcase_add_test(tc, test_deleting_missing_key_writes_nothing);
    tcase_add_test(tc, test_count_excludes_deleted_keys_after_reopen);
    tcase_add_test(tc, test_info_fields_follow_writes_deletes_and_compaction);
    tcase_add_test(tc, test_get_copy_reports_length_when_buffer_too_small);

    tc = tcase(s, "arguments");
    tcase_add_test(tc, test_open_rejects_bad_arguments);
    tcase_add_test(tc, test_calls_on_null_store_are_einval);
    tcase_add_test(tc, test_null_out_pointers_are_einval);
    tcase_add_test(tc, test_key_or_value_pointer_null_with_length_is_einval);
    tcase_add_test(tc, test_empty_and_single_zero_values_are_einval);
    tcase_add_test(tc, test_zero_length_key_is_legal);
    tcase_add_test(tc, test_huge_n_with_null_arrays_is_einval);
    tcase_add_test(tc, test_writes_on_readonly_handle_are_ereadonly);
    tcase_add_test(tc, test_close_null_does_nothing);
    tcase_add_test(tc, test_path_is_the_one_opened);

    tc = tcase(s, "lock_and_modes");
    tcase_add_test(tc, test_second_writer_in_other_process_gets_ebusy);
    tcase_add_test(tc, test_second_writer_in_same_process_gets_ebusy);
    tcase_add_test(tc,
                   test_readonly_refresh_sees_entries_appended_by_other_process);
    tcase_add_test(tc, test_each_sync_mode_persists_writes);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
