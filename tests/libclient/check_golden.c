/* SPDX-License-Identifier: MIT */
/*
 * check_golden.c -- srd against the stores written by the reference engine
 * (SRD_GOLDEN_DIR): each file reads as golden/README.md and expected.json
 * say, and replaying each file's operations through the public API writes
 * the same bytes (compacted.bin: the same live set; srd keeps file order).
 */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "bufsrc.h"
#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static char *tmp_dir;

static void golden_setup(void)
{
    tmp_dir = tu_tmpdir();
}

static void golden_teardown(void)
{
    tu_rmtree(tmp_dir);
    free(tmp_dir);
}

/* Copy golden file name into the test's folder; returns the copy's path. */
static char *copy_golden(const char *name)
{
    char *from = tu_golden(name);
    char *to = tu_join(tmp_dir, name);
    ck_assert_msg(tu_copy_file(from, to) == 0, "copy %s", from);
    free(from);
    return to;
}

static uint8_t *read_golden(const char *name, size_t *len)
{
    char *p = tu_golden(name);
    uint8_t *b = tu_read_file(p, len);
    ck_assert_msg(b != NULL, "read %s", p);
    free(p);
    return b;
}

/* Assert that the file at path holds exactly the bytes of golden name. */
static void assert_file_is_golden(const char *path, const char *name)
{
    size_t n, g;
    uint8_t *b = tu_read_file(path, &n);
    ck_assert_msg(b != NULL, "read %s", path);
    uint8_t *w = read_golden(name, &g);
    size_t i = 0;
    while (i < n && i < g && b[i] == w[i])
        i++;
    ck_assert_msg(n == g && i == n,
                  "%s differs from %s: sizes %zu vs %zu, first difference "
                  "at byte %zu",
                  path, name, n, g, i);
    free(b);
    free(w);
}

static uint32_t zlib_crc(const void *p, size_t n)
{
    return (uint32_t)crc32(0L, (const Bytef *)p, (uInt)n);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    ck_abort_msg("bad hex digit %c", c);
    return 0;
}

/* Decode hex into a malloc'd buffer. */
static uint8_t *unhex(const char *h, size_t *len)
{
    size_t n = strlen(h) / 2;
    uint8_t *b = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(hexval(h[2 * i]) << 4 | hexval(h[2 * i + 1]));
    *len = n;
    return b;
}

/* The value recipes of golden/README.md; NULL when there is none. */
static uint8_t *recipe(const char *file, const char *key, size_t len)
{
    uint8_t *b = malloc(len ? len : 1);
    if (strcmp(key, "gamma") == 0) {
        for (size_t i = 0; i < len; i++)
            b[i] = (uint8_t)(i % 251);
        return b;
    }
    if (strcmp(key, "big") == 0) {
        for (size_t i = 0; i < len; i++)
            b[i] = (uint8_t)((i * 31 + 7) % 256);
        return b;
    }
    if (strcmp(file, "batch.bin") == 0 && key[0] == 'k') {
        int i = atoi(key + 1);
        char one[16];
        snprintf(one, sizeof one, "v%04d", i);
        size_t pos = 0;
        for (int r = 0; r < i % 7 + 1; r++) {
            ck_assert_uint_le(pos + 5, len);
            memcpy(b + pos, one, 5);
            pos += 5;
        }
        ck_assert_uint_eq(pos, len);
        return b;
    }
    free(b);
    return NULL;
}

static void assert_absent(srd_store *st, const char *key)
{
    srd_view v;
    memset(&v, 0x5a, sizeof v);
    srd_err rc = srd_get(st, tu_s(key), &v);
    ck_assert_msg(rc == SRD_ENOTFOUND, "get(\"%s\") = %s, want SRD_ENOTFOUND",
                  key, srd_errname(rc));
    ck_assert_ptr_null(v.data);
    bool ex = true;
    ck_srd(srd_exists(st, tu_s(key), &ex));
    ck_assert_msg(!ex, "\"%s\" exists", key);
    srd_entry_meta m;
    ck_assert_int_eq(srd_meta(st, tu_s(key), &m), SRD_ENOTFOUND);
}

/* Assert key reads as want (len bytes) at payload offset off. */
static void assert_value(srd_store *st, srd_val key, const void *want,
                         size_t len, uint64_t off)
{
    srd_view v;
    srd_err rc = srd_get(st, key, &v);
    ck_assert_msg(rc == SRD_OK, "get(\"%.*s\") = %s", (int)key.len,
                  (const char *)key.ptr, srd_errname(rc));
    ck_assert_uint_eq(v.len, len);
    ck_assert_mem_eq(v.data, want, len);
    ck_assert_uint_eq(v.offset, off);
    ck_assert_uint_eq(v.key_hash, srd_key_hash(key.ptr, key.len));
    ck_assert_uint_eq((uintptr_t)v.data % 64, 0);
    srd_view_release(&v);
    ck_assert_ptr_null(v.data);
    bool ex = false;
    ck_srd(srd_exists(st, key, &ex));
    ck_assert(ex);
}

static void assert_info(srd_store *st, uint64_t live, uint64_t entries,
                        uint64_t tail, uint64_t file_size)
{
    srd_info in;
    ck_srd(srd_get_info(st, &in));
    ck_assert_uint_eq(in.live_keys, live);
    ck_assert_uint_eq(in.entries, entries);
    ck_assert_uint_eq(in.tail, tail);
    ck_assert_uint_eq(in.file_size, file_size);
    uint64_t c = 0, t = 0;
    ck_srd(srd_count(st, &c));
    ck_assert_uint_eq(c, live);
    ck_srd(srd_tail(st, &t));
    ck_assert_uint_eq(t, tail);
}

static void assert_verifies(srd_store *st, uint64_t entries, uint64_t bytes)
{
    srd_verify_report r;
    memset(&r, 0xff, sizeof r);
    ck_srd(srd_verify(st, &r, NULL, NULL));
    ck_assert_uint_eq(r.entries, entries);
    ck_assert_uint_eq(r.bad_entries, 0);
    ck_assert_uint_eq(r.bytes, bytes);
}

static json_object *jget(json_object *o, const char *k)
{
    json_object *v = NULL;
    ck_assert_msg(json_object_object_get_ex(o, k, &v), "json lacks %s", k);
    return v;
}

/* Check an open store against expected.json's record for file name. */
static void check_expected(srd_store *st, const char *name)
{
    char *jp = tu_golden("expected.json");
    json_object *root = json_object_from_file(jp);
    ck_assert_msg(root != NULL, "parse %s", jp);
    free(jp);
    json_object *f = jget(jget(root, "files"), name);
    size_t isz;
    uint8_t *img = read_golden(name, &isz);
    uint64_t size = (uint64_t)json_object_get_int64(jget(f, "size"));
    ck_assert_uint_eq(size, isz);
    uint64_t live = (uint64_t)json_object_get_int64(jget(f, "live_count"));
    uint64_t entries =
        (uint64_t)json_object_get_int64(jget(f, "chain_entries"));
    assert_info(st, live, entries, size, size);
    assert_verifies(st, entries, size);

    uint64_t present = 0;
    json_object_object_foreach(jget(f, "keys"), key, kv)
    {
        if (kv == NULL) {
            assert_absent(st, key);
            continue;
        }
        present++;
        srd_val k = tu_s(key);
        size_t len = (size_t)json_object_get_int64(jget(kv, "len"));
        uint64_t off =
            (uint64_t)json_object_get_int64(jget(kv, "payload_offset"));
        uint64_t hash = strtoull(
            json_object_get_string(jget(kv, "key_hash")), NULL, 16);
        size_t cl;
        uint8_t *cb = unhex(
            json_object_get_string(jget(kv, "checksum_le_hex")), &cl);
        ck_assert_uint_eq(cl, 4);
        uint32_t crc = tu_get_le32(cb);
        free(cb);

        ck_assert_uint_eq(srd_key_hash(key, strlen(key)), hash);
        srd_view v;
        ck_srd(srd_get(st, k, &v));
        ck_assert_uint_eq(v.len, len);
        ck_assert_uint_eq(v.offset, off);
        ck_assert_uint_eq(v.key_hash, hash);
        ck_assert_uint_eq((uintptr_t)v.data % 64, 0);
        ck_assert_uint_eq(zlib_crc(v.data, v.len), crc);
        /* The view points at the file's own bytes. */
        ck_assert_mem_eq(v.data, img + off, len);
        json_object *hx = NULL;
        if (json_object_object_get_ex(kv, "hex", &hx)) {
            size_t hl;
            uint8_t *want = unhex(json_object_get_string(hx), &hl);
            ck_assert_uint_eq(hl, len);
            ck_assert_mem_eq(v.data, want, len);
            free(want);
        }
        uint8_t *rb = recipe(name, key, len);
        if (rb) {
            ck_assert_msg(memcmp(v.data, rb, len) == 0,
                          "%s: %s differs from the README recipe", name,
                          key);
            free(rb);
        }
        srd_view_release(&v);

        srd_entry_meta m;
        ck_srd(srd_meta(st, k, &m));
        ck_assert_uint_eq(m.key_hash, hash);
        ck_assert_uint_eq(m.payload_offset, off);
        ck_assert_uint_eq(m.len, len);
        ck_assert_uint_eq(m.entry_end, off + len + 20);
        ck_assert_uint_eq(m.prev_offset, tu_get_le64(img + off + len + 8));
        ck_assert_uint_eq(m.checksum, crc);
        ck_assert(m.checksum_valid);
    }
    ck_assert_uint_eq(present, live);
    json_object *arr = jget(f, "deleted_keys");
    for (size_t i = 0; i < json_object_array_length(arr); i++)
        assert_absent(st,
                      json_object_get_string(json_object_array_get_idx(arr, i)));
    arr = jget(f, "never_written_keys_probed");
    for (size_t i = 0; i < json_object_array_length(arr); i++)
        assert_absent(st,
                      json_object_get_string(json_object_array_get_idx(arr, i)));
    free(img);
    json_object_put(root);
}

/* Open a copy of golden name read-only, check it, and check that the
 * reader left the file untouched. */
static void read_golden_as_expected(const char *name)
{
    char *p = copy_golden(name);
    srd_store *st = NULL;
    ck_srd(tu_open(p, SRD_OPEN_READONLY, &st));
    srd_info in;
    ck_srd(srd_get_info(st, &in));
    ck_assert(in.readonly);
    check_expected(st, name);
    ck_srd(srd_close(st));
    assert_file_is_golden(p, name);
    /* The same through a writer handle. */
    ck_srd(tu_open(p, 0, &st));
    check_expected(st, name);
    ck_srd(srd_close(st));
    assert_file_is_golden(p, name);
    free(p);
}

/* ------------------------------------------------------------------------ */
/* Reading the golden files                                                  */
/* ------------------------------------------------------------------------ */

START_TEST(test_basic_bin_reads_as_expected)
{
    read_golden_as_expected("basic.bin");
}
END_TEST

START_TEST(test_batch_bin_reads_as_expected)
{
    read_golden_as_expected("batch.bin");
}
END_TEST

START_TEST(test_stream_bin_reads_as_expected)
{
    read_golden_as_expected("stream.bin");
}
END_TEST

START_TEST(test_compacted_bin_reads_as_expected)
{
    read_golden_as_expected("compacted.bin");
}
END_TEST

START_TEST(test_basic_bin_counts_2_live_keys_not_3_after_reopen)
{
    /* Reference defect: after a reopen it counts the deleted beta. */
    char *p = copy_golden("basic.bin");
    for (int i = 0; i < 3; i++) {
        srd_store *st = NULL;
        ck_srd(tu_open(p, i == 1 ? SRD_OPEN_READONLY : 0, &st));
        uint64_t c = 99;
        ck_srd(srd_count(st, &c));
        ck_assert_uint_eq(c, 2);
        ck_srd(srd_close(st));
    }
    free(p);
}
END_TEST

static void check_small(srd_store *st, uint64_t file_size)
{
    uint8_t ones[64];
    memset(ones, 0x01, sizeof ones);
    assert_value(st, tu_s("k2"), ones, 64, 128);
    assert_absent(st, "k1");
    assert_absent(st, "nope");
    assert_info(st, 1, 4, 212, file_size);
    srd_entry_meta m;
    ck_srd(srd_meta(st, tu_s("k2"), &m));
    ck_assert_uint_eq(m.payload_offset, 128);
    ck_assert_uint_eq(m.prev_offset, 108); /* the k1 tombstone's end */
    ck_assert_uint_eq(m.entry_end, 212);
    ck_assert_uint_eq(m.checksum, zlib_crc(ones, 64));
    ck_assert(m.checksum_valid);
    assert_verifies(st, 4, 212);
}

/* Open p with flags, check_small it, close it. */
static void open_check_small(const char *p, unsigned flags,
                             uint64_t file_size)
{
    srd_store *st = NULL;
    ck_srd(tu_open(p, flags, &st));
    check_small(st, file_size);
    ck_srd(srd_close(st));
}

START_TEST(test_small_bin_reads_as_readme_says)
{
    char *p = copy_golden("small.bin");
    open_check_small(p, SRD_OPEN_READONLY, 212);
    open_check_small(p, 0, 212);
    assert_file_is_golden(p, "small.bin");
    free(p);
}
END_TEST

START_TEST(test_small_torn_bin_reader_ignores_and_keeps_torn_bytes)
{
    char *p = copy_golden("small-torn.bin");
    open_check_small(p, SRD_OPEN_READONLY, 219);
    /* The reader left the 7 bytes alone. */
    assert_file_is_golden(p, "small-torn.bin");
    free(p);
}
END_TEST

START_TEST(test_small_torn_bin_writer_cuts_to_small_bin)
{
    char *p = copy_golden("small-torn.bin");
    srd_store *st = NULL;
    ck_srd(tu_open(p, 0, &st));
    check_small(st, 212);
    ck_assert_int_eq(tu_file_size(p), 212);
    ck_srd(srd_close(st));
    assert_file_is_golden(p, "small.bin");
    /* The next write lands right after the valid tail. */
    ck_srd(tu_open(p, 0, &st));
    ck_srd(srd_put(st, tu_s("k3"), tu_s("after")));
    srd_entry_meta m;
    ck_srd(srd_meta(st, tu_s("k3"), &m));
    ck_assert_uint_eq(m.prev_offset, 212);
    ck_assert_uint_eq(m.payload_offset, 256);
    ck_srd(srd_close(st));
    free(p);
}
END_TEST

static void check_mixed(srd_store *st)
{
    uint8_t a[44], c[100];
    memset(a, 0x11, sizeof a);
    memset(c, 0xab, sizeof c);
    assert_value(st, tu_s("alice"), a, 44, 320);
    srd_val empty = {NULL, 0};
    assert_value(st, empty, "empty-key", 9, 128);
    srd_val empty2 = {"", 0};
    assert_value(st, empty2, "empty-key", 9, 128);
    assert_value(st, tu_s("carol"), c, 100, 192);
    assert_absent(st, "bob");
    assert_info(st, 3, 6, 405, 405);
    assert_verifies(st, 6, 405);
    /* The bob tombstone sits at the aligned offset 384. */
    size_t n;
    uint8_t *img = read_golden("mixed.bin", &n);
    ck_assert_uint_eq(n, 405);
    ck_assert_uint_eq(img[384], 0);
    ck_assert_uint_eq(tu_get_le64(img + 385), srd_key_hash("bob", 3));
    ck_assert_uint_eq(tu_get_le64(img + 393), 384);
    ck_assert_uint_eq(tu_get_le32(img + 401), 0xd202ef8du);
    free(img);
}

START_TEST(test_mixed_bin_reads_as_readme_says)
{
    char *p = copy_golden("mixed.bin");
    srd_store *st = NULL;
    ck_srd(tu_open(p, SRD_OPEN_READONLY, &st));
    check_mixed(st);
    ck_srd(srd_close(st));
    ck_srd(tu_open(p, 0, &st));
    check_mixed(st);
    ck_srd(srd_close(st));
    assert_file_is_golden(p, "mixed.bin");
    free(p);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Replaying the operations writes the same bytes                            */
/* ------------------------------------------------------------------------ */

static srd_store *fresh_store(const char *name, char **path)
{
    *path = tu_join(tmp_dir, name);
    srd_store *st = NULL;
    ck_srd(tu_open(*path, SRD_OPEN_CREATE, &st));
    return st;
}

static void put_s(srd_store *st, const char *k, const char *v)
{
    ck_srd(srd_put(st, tu_s(k), tu_s(v)));
}

START_TEST(test_replay_basic_writes_basic_bin_bytes)
{
    char *p;
    srd_store *st = fresh_store("basic.bin", &p);
    put_s(st, "alpha", "one");
    put_s(st, "beta", "two");
    uint8_t *g = recipe("basic.bin", "gamma", 1000);
    srd_val gv = {g, 1000};
    ck_srd(srd_put(st, tu_s("gamma"), gv));
    put_s(st, "alpha", "uno");
    bool existed = false;
    ck_srd(srd_delete(st, tu_s("beta"), &existed));
    ck_assert(existed);
    uint64_t c;
    ck_srd(srd_count(st, &c));
    ck_assert_uint_eq(c, 2);
    ck_srd(srd_close(st));
    assert_file_is_golden(p, "basic.bin");
    free(g);
    free(p);
}
END_TEST

START_TEST(test_replay_batch_as_one_put_batch_writes_batch_bin_bytes)
{
    enum { N = 1000 };
    char *p;
    srd_store *st = fresh_store("batch.bin", &p);
    srd_val *keys = calloc(N, sizeof *keys), *vals = calloc(N, sizeof *vals);
    char(*kb)[8] = calloc(N, 8);
    for (int i = 0; i < N; i++) {
        snprintf(kb[i], 8, "k%04d", i);
        keys[i] = tu_s(kb[i]);
        size_t len = (size_t)(i % 7 + 1) * 5;
        vals[i].ptr = recipe("batch.bin", kb[i], len);
        vals[i].len = len;
    }
    ck_srd(srd_put_batch(st, keys, vals, N));
    uint64_t c;
    ck_srd(srd_count(st, &c));
    ck_assert_uint_eq(c, N);
    ck_srd(srd_close(st));
    assert_file_is_golden(p, "batch.bin");
    for (int i = 0; i < N; i++)
        free((void *)vals[i].ptr);
    free(keys);
    free(vals);
    free(kb);
    free(p);
}
END_TEST

#define BIG_LEN (5u << 20)

START_TEST(test_replay_stream_with_stream_api_writes_stream_bin_bytes)
{
    char *p;
    srd_store *st = fresh_store("stream.bin", &p);
    uint8_t *big = recipe("stream.bin", "big", BIG_LEN);
    srd_stream *s = NULL;
    ck_srd(srd_stream_begin(st, tu_s("big"), &s));
    /* Uneven chunks, the first one tiny. */
    size_t off = 0, chunk = 1;
    while (off < BIG_LEN) {
        size_t k = BIG_LEN - off < chunk ? BIG_LEN - off : chunk;
        ck_srd(srd_stream_write(s, big + off, k));
        off += k;
        chunk = chunk * 7 + 3;
        if (chunk > (1u << 20) + 17)
            chunk = (1u << 20) + 17;
    }
    ck_srd(srd_stream_commit(s));
    put_s(st, "small", "s");
    ck_srd(srd_close(st));
    assert_file_is_golden(p, "stream.bin");
    free(big);
    free(p);
}
END_TEST

START_TEST(test_replay_stream_with_put_stream_writes_stream_bin_bytes)
{
    char *p;
    srd_store *st = fresh_store("stream.bin", &p);
    uint8_t *big = recipe("stream.bin", "big", BIG_LEN);
    src s = src_of(big, BIG_LEN);
    s.chunk = 65537;
    ck_srd(srd_put_stream(st, tu_s("big"), src_read, &s));
    ck_assert_uint_eq(s.pos, BIG_LEN);
    put_s(st, "small", "s");
    ck_srd(srd_close(st));
    assert_file_is_golden(p, "stream.bin");
    free(big);
    free(p);
}
END_TEST

START_TEST(test_replay_small_writes_small_bin_bytes)
{
    char *p;
    srd_store *st = fresh_store("small.bin", &p);
    put_s(st, "k1", "hello");
    put_s(st, "k2", "abc");
    bool existed = false;
    ck_srd(srd_delete(st, tu_s("k1"), &existed));
    ck_assert(existed);
    uint8_t ones[64];
    memset(ones, 0x01, sizeof ones);
    srd_val v = {ones, sizeof ones};
    ck_srd(srd_put(st, tu_s("k2"), v));
    uint64_t tail0, tail1;
    ck_srd(srd_tail(st, &tail0));
    existed = true;
    ck_srd(srd_delete(st, tu_s("nope"), &existed));
    ck_assert(!existed);
    ck_srd(srd_tail(st, &tail1));
    ck_assert_uint_eq(tail1, tail0); /* deleting a missing key: nothing */
    ck_srd(srd_close(st));
    assert_file_is_golden(p, "small.bin");
    free(p);
}
END_TEST

START_TEST(test_replay_mixed_writes_mixed_bin_bytes)
{
    char *p;
    srd_store *st = fresh_store("mixed.bin", &p);
    srd_val keys[3] = {tu_s("alice"), tu_s("bob"), {"", 0}};
    srd_val vals[3] = {tu_s("A"), {"\0\0", 2}, tu_s("empty-key")};
    ck_srd(srd_put_batch(st, keys, vals, 3));
    uint8_t c[100], a[44];
    memset(c, 0xab, sizeof c);
    memset(a, 0x11, sizeof a);
    src s = src_of(c, sizeof c);
    s.chunk = 33;
    ck_srd(srd_put_stream(st, tu_s("carol"), src_read, &s));
    srd_val av = {a, sizeof a};
    ck_srd(srd_put(st, tu_s("alice"), av));
    bool existed = false;
    ck_srd(srd_delete(st, tu_s("bob"), &existed));
    ck_assert(existed);
    ck_srd(srd_close(st));
    assert_file_is_golden(p, "mixed.bin");
    free(p);
}
END_TEST

START_TEST(test_replay_mixed_with_stream_api_writes_mixed_bin_bytes)
{
    char *p;
    srd_store *st = fresh_store("mixed.bin", &p);
    srd_val keys[3] = {tu_s("alice"), tu_s("bob"), {NULL, 0}};
    srd_val vals[3] = {tu_s("A"), {"\0\0", 2}, tu_s("empty-key")};
    ck_srd(srd_put_batch(st, keys, vals, 3));
    uint8_t c[100], a[44];
    memset(c, 0xab, sizeof c);
    memset(a, 0x11, sizeof a);
    srd_stream *s = NULL;
    ck_srd(srd_stream_begin(st, tu_s("carol"), &s));
    ck_srd(srd_stream_write(s, c, 1));
    ck_srd(srd_stream_write(s, c + 1, 99));
    ck_srd(srd_stream_commit(s));
    srd_val av = {a, sizeof a};
    ck_srd(srd_put(st, tu_s("alice"), av));
    ck_srd(srd_delete(st, tu_s("bob"), NULL));
    ck_srd(srd_close(st));
    assert_file_is_golden(p, "mixed.bin");
    free(p);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Compaction of basic.bin                                                   */
/* ------------------------------------------------------------------------ */

/* The live set of compacted.bin, read through srd, equals st's. */
static void assert_same_live_set_as_compacted_bin(srd_store *st)
{
    char *cp = copy_golden("compacted.bin");
    srd_store *ref = NULL;
    ck_srd(tu_open(cp, SRD_OPEN_READONLY, &ref));
    const char *keys[] = {"alpha", "gamma", "beta", "missing"};
    for (size_t i = 0; i < 4; i++) {
        srd_view a, b;
        srd_err ra = srd_get(st, tu_s(keys[i]), &a);
        srd_err rb = srd_get(ref, tu_s(keys[i]), &b);
        ck_assert_int_eq(ra, rb);
        if (ra == SRD_OK) {
            ck_assert_uint_eq(a.len, b.len);
            ck_assert_mem_eq(a.data, b.data, a.len);
            srd_view_release(&a);
            srd_view_release(&b);
        }
    }
    uint64_t c1, c2;
    ck_srd(srd_count(st, &c1));
    ck_srd(srd_count(ref, &c2));
    ck_assert_uint_eq(c1, 2);
    ck_assert_uint_eq(c1, c2);
    ck_srd(srd_close(ref));
    free(cp);
}

/* After compacting basic.bin: gamma then alpha, in file order. */
static void assert_compacted_basic(srd_store *st)
{
    uint8_t *g = recipe("basic.bin", "gamma", 1000);
    assert_value(st, tu_s("gamma"), g, 1000, 0);
    assert_value(st, tu_s("alpha"), "uno", 3, 1024);
    assert_absent(st, "beta");
    assert_absent(st, "missing");
    assert_info(st, 2, 2, 1047, 1047);
    assert_verifies(st, 2, 1047);
    srd_iter *it = NULL;
    ck_srd(srd_iter_open(st, &it));
    srd_view v;
    ck_srd(srd_iter_next(it, &v));
    ck_assert_uint_eq(v.key_hash, srd_key_hash("gamma", 5));
    srd_view_release(&v);
    ck_srd(srd_iter_next(it, &v));
    ck_assert_uint_eq(v.key_hash, srd_key_hash("alpha", 5));
    srd_view_release(&v);
    ck_assert_int_eq(srd_iter_next(it, &v), SRD_ENOTFOUND);
    srd_iter_close(it);
    free(g);
}

START_TEST(test_compact_basic_keeps_live_set_of_compacted_bin)
{
    char *p = copy_golden("basic.bin");
    srd_store *st = NULL;
    ck_srd(tu_open(p, 0, &st));
    uint64_t saved = 0;
    ck_srd(srd_compact(st, &saved));
    ck_assert_uint_eq(saved, 1196 - 1047);
    assert_compacted_basic(st);
    assert_same_live_set_as_compacted_bin(st);
    ck_srd(srd_close(st));
    ck_assert_int_eq(tu_file_size(p), 1047);
    char *tmp;
    ck_assert_int_gt(asprintf(&tmp, "%s.compact", p), 0);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    free(tmp);
    /* Reopened, read-only and as writer. */
    ck_srd(tu_open(p, SRD_OPEN_READONLY, &st));
    assert_compacted_basic(st);
    ck_srd(srd_close(st));
    ck_srd(tu_open(p, 0, &st));
    assert_compacted_basic(st);
    assert_same_live_set_as_compacted_bin(st);
    ck_srd(srd_close(st));
    free(p);
}
END_TEST

START_TEST(test_compact_deletes_stale_temporary_file_not_reuses_it)
{
    /* Reference defect: a stale "<path>.compact" was reused. Leave one
     * holding a valid store of other keys: none of them may appear. */
    char *p = copy_golden("basic.bin");
    char *tmp;
    ck_assert_int_gt(asprintf(&tmp, "%s.compact", p), 0);
    char *g = tu_golden("small.bin");
    ck_assert_int_eq(tu_copy_file(g, tmp), 0);
    free(g);
    srd_store *st = NULL;
    ck_srd(tu_open(p, 0, &st));
    ck_srd(srd_compact(st, NULL));
    assert_compacted_basic(st);
    assert_absent(st, "k2");
    ck_srd(srd_close(st));
    ck_assert_int_eq(access(tmp, F_OK), -1);
    ck_assert_int_eq(tu_file_size(p), 1047);
    free(tmp);
    free(p);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Coverage and the format block of expected.json                            */
/* ------------------------------------------------------------------------ */

START_TEST(test_every_golden_file_is_covered_by_this_suite)
{
    /* A golden file added later must get tests here, not be skipped. */
    static const char *const known[] = {
        "basic.bin", "batch.bin",      "stream.bin", "compacted.bin",
        "small.bin", "small-torn.bin", "mixed.bin"};
    DIR *d = opendir(SRD_GOLDEN_DIR);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    int bins = 0;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 4 || strcmp(de->d_name + n - 4, ".bin") != 0)
            continue;
        bins++;
        bool found = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            found = found || strcmp(known[i], de->d_name) == 0;
        ck_assert_msg(found, "golden file %s has no test", de->d_name);
    }
    closedir(d);
    ck_assert_int_eq(bins, 7);
}
END_TEST

static int src_fail(void *ctx, void *buf, size_t cap, size_t *n)
{
    (void)ctx;
    (void)buf;
    (void)cap;
    *n = 0;
    return 0;
}

START_TEST(test_unstorable_values_are_rejected_and_write_nothing)
{
    /* expected.json "format": an empty value and the single byte 0x00
     * cannot be written; nothing reaches the file. */
    char *p;
    srd_store *st = fresh_store("values.bin", &p);
    srd_val empty = {"", 0}, nul = {"\0", 1}, two = {"\0\0", 2};
    ck_assert_int_eq(srd_put(st, tu_s("k"), empty), SRD_EINVAL);
    ck_assert_int_eq(srd_put(st, tu_s("k"), nul), SRD_EINVAL);
    srd_val keys[3] = {tu_s("a"), tu_s("b"), tu_s("c")};
    srd_val vals[3] = {tu_s("ok"), nul, tu_s("ok")};
    ck_assert_int_eq(srd_put_batch(st, keys, vals, 3), SRD_EINVAL);
    vals[1] = empty;
    ck_assert_int_eq(srd_put_batch(st, keys, vals, 3), SRD_EINVAL);
    src one = src_of("\0", 1);
    one.chunk = 1;
    ck_assert_int_eq(srd_put_stream(st, tu_s("k"), src_read, &one),
                     SRD_EINVAL);
    ck_assert_int_eq(srd_put_stream(st, tu_s("k"), src_fail, NULL),
                     SRD_EINVAL);
    uint64_t t = 1, c = 1;
    ck_srd(srd_tail(st, &t));
    ck_srd(srd_count(st, &c));
    ck_assert_uint_eq(t, 0);
    ck_assert_uint_eq(c, 0);
    ck_assert_int_eq(tu_file_size(p), 0);
    /* Two zero bytes are an ordinary value. */
    ck_srd(srd_put(st, tu_s("k"), two));
    assert_value(st, tu_s("k"), "\0\0", 2, 0);
    ck_srd(srd_close(st));
    ck_assert_int_eq(tu_file_size(p), 22);
    free(p);
}
END_TEST

static Suite *golden_suite(void)
{
    Suite *s = suite_create("golden");
    TCase *tc = tcase_create("read");
    tcase_add_checked_fixture(tc, golden_setup, golden_teardown);
    tcase_add_test(tc, test_basic_bin_reads_as_expected);
    tcase_add_test(tc, test_batch_bin_reads_as_expected);
    tcase_add_test(tc, test_stream_bin_reads_as_expected);
    tcase_add_test(tc, test_compacted_bin_reads_as_expected);
    tcase_add_test(tc, test_basic_bin_counts_2_live_keys_not_3_after_reopen);
    tcase_add_test(tc, test_small_bin_reads_as_readme_says);
    tcase_add_test(tc, test_small_torn_bin_reader_ignores_and_keeps_torn_bytes);
    tcase_add_test(tc, test_small_torn_bin_writer_cuts_to_small_bin);
    tcase_add_test(tc, test_mixed_bin_reads_as_readme_says);
    suite_add_tcase(s, tc);

    tc = tcase_create("replay");
    tcase_add_checked_fixture(tc, golden_setup, golden_teardown);
    tcase_add_test(tc, test_replay_basic_writes_basic_bin_bytes);
    tcase_add_test(tc, test_replay_batch_as_one_put_batch_writes_batch_bin_bytes);
    tcase_add_test(tc, test_replay_stream_with_stream_api_writes_stream_bin_bytes);
    tcase_add_test(tc, test_replay_stream_with_put_stream_writes_stream_bin_bytes);
    tcase_add_test(tc, test_replay_small_writes_small_bin_bytes);
    tcase_add_test(tc, test_replay_mixed_writes_mixed_bin_bytes);
    tcase_add_test(tc, test_replay_mixed_with_stream_api_writes_mixed_bin_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("compact");
    tcase_add_checked_fixture(tc, golden_setup, golden_teardown);
    tcase_add_test(tc, test_compact_basic_keeps_live_set_of_compacted_bin);
    tcase_add_test(tc, test_compact_deletes_stale_temporary_file_not_reuses_it);
    suite_add_tcase(s, tc);

    tc = tcase_create("format");
    tcase_add_checked_fixture(tc, golden_setup, golden_teardown);
    tcase_add_test(tc, test_every_golden_file_is_covered_by_this_suite);
    tcase_add_test(tc, test_unstorable_values_are_rejected_and_write_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(golden_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
