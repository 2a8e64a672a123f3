/* SPDX-License-Identifier: MIT */
/*
 * check_layouts.c -- stores of both on-disk layouts (docs/FORMAT.md
 * section 10): the unpadded one of simd-r-drive <= 0.13 and the Python
 * bindings 0.4 (golden file made by tests/layouts/make_unpadded.py, and a
 * store of thousands of random operations written here by the same rules)
 * and today's 64-byte-aligned one. Opening finds the layout from the
 * entries, reads every key, and leaves the file byte for byte as it was;
 * writing appends in the file's own layout; compaction keeps it;
 * srd_compact_to(SRD_LAYOUT_ALIGNED64) converts it, losing nothing.
 */
#define _GNU_SOURCE 1
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "srdd_proc.h"
#include "testutil.h"

static char *g_dir, *g_path;

static void setup(void)
{
    tu_fixture_begin(&g_dir, &g_path);
}

static void teardown(void)
{
    tu_fixture_end(&g_dir, &g_path);
}

/* ---- the unpadded writer's rules (as make_unpadded.py) ---------------- */

typedef struct model {
    uint8_t *img;   /* the file */
    size_t len, cap;
    int nkeys;
    unsigned align; /* 1 (unpadded), or 16 as simd-r-drive 0.14 wrote */
    uint8_t **val;  /* val[k]: key k's value, or NULL (absent) */
    size_t *vlen;
} model;

static void m_init(model *m, int nkeys)
{
    memset(m, 0, sizeof *m);
    m->nkeys = nkeys;
    m->align = 1;
    m->val = calloc((size_t)nkeys, sizeof *m->val);
    m->vlen = calloc((size_t)nkeys, sizeof *m->vlen);
}

static void m_free(model *m)
{
    for (int k = 0; k < m->nkeys; k++)
        free(m->val[k]);
    free(m->val);
    free(m->vlen);
    free(m->img);
}

static srd_val m_key(int k, char *buf)
{
    snprintf(buf, 16, "key%05d", k);
    return tu_s(buf);
}

/* Append [zero pad] payload, then trailer {hash, prev, crc}; a tombstone
 * has no pad. */
static void m_append(model *m, int k, const uint8_t *v, size_t n)
{
    bool tomb = n == 1 && v[0] == 0;
    size_t pad = tomb ? 0 : (m->align - m->len % m->align) % m->align;
    if (m->len + pad + n + 20 > m->cap) {
        m->cap = (m->len + pad + n + 20) * 2;
        m->img = realloc(m->img, m->cap);
    }
    char kb[16];
    srd_val key = m_key(k, kb);
    uint64_t prev = m->len;
    memset(m->img + m->len, 0, pad);
    m->len += pad;
    memcpy(m->img + m->len, v, n);
    uint8_t *t = m->img + m->len + n;
    tu_put_le64(t, srd_key_hash(key.ptr, key.len));
    tu_put_le64(t + 8, prev);
    tu_put_le32(t + 16, (uint32_t)crc32(0, v, (uInt)n));
    m->len += n + 20;
    free(m->val[k]);
    m->val[k] = NULL;
    if (n == 1 && v[0] == 0)
        return; /* a tombstone */
    m->val[k] = malloc(n);
    memcpy(m->val[k], v, n);
    m->vlen[k] = n;
}

/* Thousands of puts (random sizes), overwrites, deletes and batches. */
static void m_random(model *m, int ops, uint64_t seed)
{
    uint64_t rs = seed;
    uint8_t v[700];
    for (int i = 0; i < ops; i++) {
        int k = (int)(tu_rand(&rs) % (uint64_t)m->nkeys);
        uint64_t r = tu_rand(&rs) % 100;
        if (r < 10) {
            static const uint8_t zero = 0;
            m_append(m, k, &zero, 1);
            continue;
        }
        size_t n = 1 + (size_t)(tu_rand(&rs) % 600);
        tu_fill_random(&rs, v, n);
        v[n - 1] |= 1; /* never exactly 00 */
        m_append(m, k, v, n);
    }
}

/* A store of `ops` random operations on nkeys keys, padded to align (1:
 * unpadded), written to g_path. */
static void m_store(model *m, int nkeys, unsigned align, int ops,
                    uint64_t seed)
{
    m_init(m, nkeys);
    m->align = align;
    m_random(m, ops, seed);
    ck_assert_int_eq(tu_write_file(g_path, m->img, m->len), 0);
}

/* Every key of m reads back as m says, through handle st. */
static void m_check(const model *m, srd_store *st, const char *what)
{
    uint64_t live = 0;
    for (int k = 0; k < m->nkeys; k++) {
        char kb[16];
        srd_view v;
        srd_err rc = srd_get(st, m_key(k, kb), &v);
        if (!m->val[k]) {
            tu_require(rc == SRD_ENOTFOUND, "%s: %s should be absent: %s",
                       what, kb, srd_errname(rc));
            continue;
        }
        live++;
        tu_require(rc == SRD_OK, "%s: get %s: %s", what, kb,
                   srd_errname(rc));
        tu_require(v.len == m->vlen[k] &&
                       memcmp(v.data, m->val[k], v.len) == 0,
                   "%s: %s reads other bytes", what, kb);
        srd_view_release(&v);
    }
    uint64_t c;
    ck_srd(srd_count(st, &c));
    tu_require(c == live, "%s: %llu live keys, want %llu", what,
               (unsigned long long)c, (unsigned long long)live);
}

/* The file at path, walked as the unpadded layout: every entry's payload
 * starts at its prev and matches its CRC. Returns the entry count, -1 when
 * it is not such a file. */
static long unpadded_entries(const char *path)
{
    size_t n = 0;
    uint8_t *b = tu_read_file(path, &n);
    long count = 0;
    uint64_t end = n;
    while (b && end > 0) {
        if (end < 21) {
            count = -1;
            break;
        }
        uint64_t prev = tu_get_le64(b + end - 12);
        uint32_t crc = tu_get_le32(b + end - 4);
        if (prev >= end - 20 ||
            (uint32_t)crc32(0, b + prev, (uInt)(end - 20 - prev)) != crc) {
            count = -1;
            break;
        }
        count++;
        end = prev;
    }
    free(b);
    return count;
}

static srd_layout layout_of(srd_store *st)
{
    srd_info in;
    ck_srd(srd_get_info(st, &in));
    return in.layout;
}

/* Open g_path read-only, check its layout and every key of m, close. */
static void reopen_check(const model *m, srd_layout layout, const char *what)
{
    srd_store *st = NULL;
    ck_srd(tu_open(g_path, SRD_OPEN_READONLY, &st));
    ck_assert_int_eq(layout_of(st), layout);
    m_check(m, st, what);
    ck_srd(srd_close(st));
}

static void assert_file_is(const char *path, const uint8_t *b, size_t n,
                           const char *what)
{
    size_t got = 0;
    uint8_t *now = tu_read_file(path, &got);
    tu_require(now && got == n && memcmp(now, b, n) == 0,
               "%s: the file changed", what);
    free(now);
}

/* ---- golden files ----------------------------------------------------- */

static json_object *jget(json_object *o, const char *k)
{
    json_object *v = NULL;
    ck_assert_msg(json_object_object_get_ex(o, k, &v), "no '%s'", k);
    return v;
}

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned x;
        sscanf(h + 2 * i, "%2x", &x);
        out[i] = (uint8_t)x;
    }
    return n;
}

/* Every key of the golden's JSON reads back (length, offset, bytes when
 * given), the deleted ones are absent. */
static void golden_check(srd_store *st, json_object *root, const char *what)
{
    json_object *keys = jget(root, "keys_hex");
    uint8_t kb[64], vb[128];
    json_object_object_foreach(keys, kh, kv) {
        size_t kl = unhex(kh, kb);
        srd_view v;
        srd_err rc = srd_get(st, (srd_val){kb, kl}, &v);
        tu_require(rc == SRD_OK, "%s: key %s: %s", what, kh,
                   srd_errname(rc));
        tu_require(v.len == (size_t)json_object_get_uint64(jget(kv, "len")) &&
                       v.offset == json_object_get_uint64(
                                       jget(kv, "payload_offset")),
                   "%s: key %s at %llu+%zu", what, kh,
                   (unsigned long long)v.offset, v.len);
        json_object *hx = NULL;
        if (json_object_object_get_ex(kv, "hex", &hx)) {
            size_t n = unhex(json_object_get_string(hx), vb);
            tu_require(n == v.len && memcmp(vb, v.data, n) == 0,
                       "%s: key %s: other bytes", what, kh);
        }
        srd_view_release(&v);
    }
    json_object *absent = jget(root, "absent_hex");
    for (size_t i = 0; i < json_object_array_length(absent); i++) {
        size_t kl = unhex(json_object_get_string(
                              json_object_array_get_idx(absent, i)),
                          kb);
        srd_view v;
        tu_require(srd_get(st, (srd_val){kb, kl}, &v) == SRD_ENOTFOUND,
                   "%s: a deleted key reads", what);
    }
    uint64_t c;
    ck_srd(srd_count(st, &c));
    ck_assert_uint_eq(c, json_object_get_uint64(jget(root, "live_keys")));
}

START_TEST(test_golden_unpadded_store_reads_key_by_key_every_way)
{
    json_object *root = json_object_from_file(SRD_LAYOUTS_DIR
                                              "/unpadded-0.4.json");
    ck_assert_ptr_nonnull(root);
    size_t n = 0;
    uint8_t *b = tu_read_file(SRD_LAYOUTS_DIR "/unpadded-0.4.bin", &n);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(n, json_object_get_uint64(jget(root, "size")));
    ck_assert_int_eq(tu_write_file(g_path, b, n), 0);
    const unsigned flags[] = {SRD_OPEN_READONLY, 0, SRD_OPEN_READONLY};
    for (int i = 0; i < 3; i++) {
        srd_store *st = NULL;
        ck_srd(tu_open(g_path, flags[i], &st));
        ck_assert_int_eq(layout_of(st), SRD_LAYOUT_UNPADDED);
        golden_check(st, root, flags[i] ? "read-only" : "writer");
        srd_verify_report r;
        ck_srd(srd_verify(st, &r, NULL, NULL));
        ck_srd(srd_close(st));
        assert_file_is(g_path, b, n, "golden unpadded");
    }
    json_object_put(root);
    free(b);
}
END_TEST

/* Today's layout, for contrast: the reference's golden files say so. */
START_TEST(test_golden_aligned_stores_say_aligned)
{
    static const char *const names[] = {"basic.bin", "batch.bin",
                                        "mixed.bin", "small.bin"};
    for (int i = 0; i < 4; i++) {
        char *p = tu_golden(names[i]);
        srd_store *st = NULL;
        ck_srd(tu_open(p, SRD_OPEN_READONLY, &st));
        ck_assert_int_eq(layout_of(st), SRD_LAYOUT_ALIGNED64);
        ck_srd(srd_close(st));
        free(p);
    }
}
END_TEST

/* simd-r-drive 0.14 padded to 16 bytes: a layout srd does not read. Its
 * entries verify in no layout srd knows as the file's, but they verify
 * with 16-byte pads: never taken for a torn write, so a writer refuses
 * the store and nothing is cut. */
START_TEST(test_sixteen_byte_layout_of_0_14_is_never_cut)
{
    model m;
    m_store(&m, 50, 16, 120, 14);
    srd_store *st = NULL;
    srd_err rc = tu_open(g_path, SRD_OPEN_READONLY, &st);
    if (rc == SRD_OK)
        ck_srd(srd_close(st));
    assert_file_is(g_path, m.img, m.len, "read-only open of a 0.14 store");
    rc = tu_open(g_path, 0, &st);
    ck_assert_msg(rc == SRD_ECORRUPT, "writer open: %s", srd_errname(rc));
    assert_file_is(g_path, m.img, m.len, "writer open of a 0.14 store");
    m_free(&m);
}
END_TEST

/* ---- a large unpadded store --------------------------------------------- */

START_TEST(test_large_unpadded_store_reads_completely_and_stays_as_is)
{
    model m;
    m_store(&m, 1500, 1, 4000, 0x0401a5);
    ck_assert_int_eq(unpadded_entries(g_path), 4000);
    const unsigned flags[] = {SRD_OPEN_READONLY, 0, SRD_OPEN_CREATE,
                              SRD_OPEN_READONLY};
    for (int i = 0; i < 4; i++) {
        srd_store *st = NULL;
        ck_srd(tu_open(g_path, flags[i], &st));
        ck_assert_int_eq(layout_of(st), SRD_LAYOUT_UNPADDED);
        m_check(&m, st, "unpadded store");
        srd_verify_report r;
        ck_srd(srd_verify(st, &r, NULL, NULL));
        ck_assert_uint_eq(r.entries, 4000);
        uint64_t added = 0;
        ck_srd(srd_refresh(st, &added));
        ck_assert_uint_eq(added, 0);
        ck_srd(srd_close(st));
        assert_file_is(g_path, m.img, m.len, "after an open");
    }
    m_free(&m);
}
END_TEST

/* Writes append in the file's layout, so the program that wrote it can
 * still read it; compaction keeps the layout; srd_compact_to converts. */
START_TEST(test_writer_compaction_and_upgrade_of_unpadded_lose_nothing)
{
    model m;
    m_store(&m, 400, 1, 1200, 42);
    srd_store *st = NULL;
    ck_srd(tu_open(g_path, 0, &st));
    uint64_t rs = 7;
    uint8_t v[300];
    for (int i = 0; i < 300; i++) {
        int k = (int)(tu_rand(&rs) % 400);
        char kb[16];
        if (i % 5 == 0) {
            srd_err rc = srd_delete(st, m_key(k, kb), NULL);
            ck_assert(rc == SRD_OK || rc == SRD_ENOTFOUND);
            free(m.val[k]);
            m.val[k] = NULL;
            continue;
        }
        size_t n = 1 + (size_t)(tu_rand(&rs) % 290);
        tu_fill_random(&rs, v, n);
        v[0] |= 1;
        ck_srd(srd_put(st, m_key(k, kb), (srd_val){v, n}));
        free(m.val[k]);
        m.val[k] = malloc(n);
        memcpy(m.val[k], v, n);
        m.vlen[k] = n;
    }
    m_check(&m, st, "after writes");
    ck_srd(srd_close(st));
    ck_assert_int_gt(unpadded_entries(g_path), 1200); /* still unpadded */

    ck_srd(tu_open(g_path, 0, &st));
    ck_assert_int_eq(layout_of(st), SRD_LAYOUT_UNPADDED);
    ck_srd(srd_compact(st, NULL));
    ck_assert_int_eq(layout_of(st), SRD_LAYOUT_UNPADDED);
    m_check(&m, st, "after compaction");
    ck_srd(srd_close(st));
    ck_assert_int_gt(unpadded_entries(g_path), 0);

    ck_srd(tu_open(g_path, 0, &st));
    ck_srd(srd_compact_to(st, SRD_LAYOUT_ALIGNED64, NULL, NULL, NULL));
    ck_assert_int_eq(layout_of(st), SRD_LAYOUT_ALIGNED64);
    m_check(&m, st, "after the upgrade");
    char kb[16];
    ck_srd(srd_put(st, m_key(1, kb), tu_s("written after the upgrade")));
    free(m.val[1]);
    m.val[1] = (uint8_t *)strdup("written after the upgrade");
    m.vlen[1] = strlen("written after the upgrade");
    ck_srd(srd_close(st));
    size_t n = 0;
    uint8_t *b = tu_read_file(g_path, &n);
    tu_entry *ents = NULL;
    ck_assert_int_gt(tu_chain(b, n, &ents), 0); /* the 64-byte layout */
    free(ents);
    free(b);
    reopen_check(&m, SRD_LAYOUT_ALIGNED64, "reopened after the upgrade");
    m_free(&m);
}
END_TEST

/* SIGKILL while srd_compact_to converts a store (killed once its
 * temporary file exists): the store is the old file byte for byte, or the
 * new one with every key. */
START_TEST(test_kill_during_upgrade_leaves_the_old_or_the_new_file)
{
    model m;
    m_store(&m, 20000, 1, 30000, 0x5161);
    char *tmp = tu_join(g_dir, "store.srd.compact");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        srd_store *st = NULL;
        if (tu_open(g_path, 0, &st) != SRD_OK)
            _exit(2);
        srd_err rc = srd_compact_to(st, SRD_LAYOUT_ALIGNED64, NULL, NULL,
                                    NULL);
        _exit(rc == SRD_OK ? 0 : 3);
    }
    struct stat sb;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (stat(tmp, &sb) == 0 && sb.st_size > 0) {
            kill(pid, SIGKILL);
            ck_assert_int_eq(waitpid(pid, &status, 0), pid);
            break;
        }
        usleep(200);
    }
    ck_assert(WIFSIGNALED(status) || WEXITSTATUS(status) == 0);
    size_t n = 0;
    uint8_t *b = tu_read_file(g_path, &n);
    bool old = n == m.len && memcmp(b, m.img, n) == 0;
    free(b);
    fprintf(stderr, "upgrade %s: the %s file\n",
            WIFSIGNALED(status) ? "killed" : "finished", old ? "old" : "new");
    srd_store *st = NULL;
    ck_srd(tu_open(g_path, 0, &st)); /* removes a stale .compact */
    ck_assert_int_eq(layout_of(st), old ? SRD_LAYOUT_UNPADDED
                                        : SRD_LAYOUT_ALIGNED64);
    m_check(&m, st, old ? "the old file" : "the new file");
    ck_srd(srd_close(st));
    ck_assert_int_ne(stat(tmp, &sb), 0);
    free(tmp);
    m_free(&m);
}
END_TEST

/* srd_options.layout chooses the layout of a new store; reopening finds
 * it from the entries. Views of an unpadded store are in place, not
 * 64-byte aligned. */
START_TEST(test_new_store_in_the_unpadded_layout)
{
    srd_options o;
    srd_options_init(&o);
    o.sync = SRD_SYNC_NEVER;
    o.layout = SRD_LAYOUT_UNPADDED;
    srd_store *st = NULL;
    ck_srd(srd_open(g_path, &o, &st));
    ck_assert_int_eq(layout_of(st), SRD_LAYOUT_UNPADDED);
    ck_srd(srd_put(st, tu_s("a"), tu_s("first")));
    ck_srd(srd_put(st, tu_s("b"), tu_s("second")));
    ck_srd(srd_delete(st, tu_s("a"), NULL));
    ck_srd(srd_put(st, tu_s("c"), tu_s("third")));
    srd_view v;
    ck_srd(srd_get(st, tu_s("b"), &v));
    ck_assert_uint_eq(v.offset, 25); /* right after "first"'s trailer */
    ck_assert_mem_eq(v.data, "second", 6);
    srd_view_release(&v);
    ck_srd(srd_close(st));
    ck_assert_int_eq(unpadded_entries(g_path), 4);
    ck_srd(tu_open(g_path, SRD_OPEN_READONLY, &st));
    ck_assert_int_eq(layout_of(st), SRD_LAYOUT_UNPADDED);
    ck_srd(srd_get(st, tu_s("c"), &v));
    ck_assert_mem_eq(v.data, "third", 5);
    srd_view_release(&v);
    ck_assert_int_eq(srd_get(st, tu_s("a"), &v), SRD_ENOTFOUND);
    ck_srd(srd_close(st));
    o.layout = (srd_layout)7;
    ck_assert_int_eq(srd_open(g_path, &o, &st), SRD_EINVAL);
}
END_TEST

/* The values that tell the layout are small ones first (a store ending
 * in a huge value is not read twice), else a large one does. */
START_TEST(test_layout_found_past_a_large_last_value)
{
    static uint8_t big[300000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7 + 1);
    for (int small = 0; small < 2; small++) {
        model m;
        m_init(&m, 4);
        m_append(&m, 0, (const uint8_t *)"first", 5);
        if (small)
            m_append(&m, 1, (const uint8_t *)"second", 6);
        m_append(&m, 2, big, sizeof big);
        ck_assert_int_eq(tu_write_file(g_path, m.img, m.len), 0);
        reopen_check(&m, SRD_LAYOUT_UNPADDED,
                     small ? "a small value decides" : "the big one");
        m_free(&m);
    }
}
END_TEST

/* A copied unpadded store with one flipped byte in the middle: verify
 * names the entry, the writer keeps every entry (issue 12's first case:
 * srd once cut such a store to its first entry). */
START_TEST(test_damaged_unpadded_store_is_kept_and_reported)
{
    model m;
    m_store(&m, 300, 1, 900, 99);
    int k = 0;
    while (!m.val[k])
        k++;
    srd_store *st = NULL;
    ck_srd(tu_open(g_path, SRD_OPEN_READONLY, &st));
    char kb[16];
    srd_entry_meta meta;
    ck_srd(srd_meta(st, m_key(k, kb), &meta));
    ck_srd(srd_close(st));
    m.img[meta.payload_offset] ^= 0x20;
    m.val[k][0] ^= 0x20;
    ck_assert_int_eq(tu_write_file(g_path, m.img, m.len), 0);
    for (int ro = 1; ro >= 0; ro--) {
        ck_srd(tu_open(g_path, ro ? SRD_OPEN_READONLY : 0, &st));
        ck_assert_int_eq(layout_of(st), SRD_LAYOUT_UNPADDED);
        srd_verify_report r;
        ck_assert_int_eq(srd_verify(st, &r, NULL, NULL), SRD_ECHECKSUM);
        ck_assert_uint_eq(r.first_bad_offset, meta.payload_offset);
        m_check(&m, st, "damaged unpadded store");
        ck_srd(srd_close(st));
        assert_file_is(g_path, m.img, m.len, "damaged unpadded store");
    }
    m_free(&m);
}
END_TEST

#ifdef SRDD_PATH
/* srdd serves an unpadded store: clients read its keys, their writes go
 * to the file in its own layout, and after srdd stops the store is still
 * unpadded, every key there. */
START_TEST(test_srdd_serves_an_unpadded_store_in_its_layout)
{
    model m;
    m_store(&m, 200, 1, 600, 0x5dd);
    char *log = tu_join(g_dir, "srdd.log");
    tu_srdd_run run = {.log = log};
    pid_t pid = tu_srdd_start(g_path, NULL, &run);
    srd_store *st = NULL;
    ck_srd(tu_open(g_path, SRD_OPEN_CLIENT, &st));
    ck_assert_int_eq(layout_of(st), SRD_LAYOUT_UNPADDED);
    m_check(&m, st, "through srdd");
    uint8_t v[100];
    for (int k = 0; k < 200; k += 3) {
        char kb[16];
        size_t n = 1 + (size_t)k % 90;
        memset(v, 'a' + k % 26, n);
        ck_srd(srd_put(st, m_key(k, kb), (srd_val){v, n}));
        free(m.val[k]);
        m.val[k] = malloc(n);
        memcpy(m.val[k], v, n);
        m.vlen[k] = n;
    }
    m_check(&m, st, "after writes through srdd");
    ck_srd(srd_close(st));
    ck_assert_int_eq(tu_srdd_stop(pid, SIGTERM), 0);
    ck_assert_int_gt(unpadded_entries(g_path), 600);
    reopen_check(&m, SRD_LAYOUT_UNPADDED, "after srdd stopped");
    free(log);
    m_free(&m);
}
END_TEST
#endif

static Suite *layouts_suite(void)
{
    Suite *s = suite_create("layouts");
    TCase *tc = tcase_create("layouts");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_golden_unpadded_store_reads_key_by_key_every_way);
    tcase_add_test(tc, test_golden_aligned_stores_say_aligned);
    tcase_add_test(tc, test_sixteen_byte_layout_of_0_14_is_never_cut);
    tcase_add_test(tc,
                   test_large_unpadded_store_reads_completely_and_stays_as_is);
    tcase_add_test(tc,
                   test_writer_compaction_and_upgrade_of_unpadded_lose_nothing);
    tcase_add_test(tc, test_new_store_in_the_unpadded_layout);
    tcase_add_test(tc,
                   test_kill_during_upgrade_leaves_the_old_or_the_new_file);
    tcase_add_test(tc, test_damaged_unpadded_store_is_kept_and_reported);
    tcase_add_test(tc, test_layout_found_past_a_large_last_value);
#ifdef SRDD_PATH
    tcase_add_test(tc, test_srdd_serves_an_unpadded_store_in_its_layout);
#endif
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(layouts_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
