/* SPDX-License-Identifier: MIT */
/*
 * check_shindex.c -- tests of libclient/shindex.c (the shared index file)
 * and of how the store uses it: the header checks, lookups that terminate
 * whatever the file holds, growth by a new file that flags the old one
 * superseded, read-only handles that use the file instead of building a
 * private table, and damaged, stale or foreign index files that never
 * make a read return another key's value.
 */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "format.h"
#include "index.h"
#include "shindex.h"
#include "store_impl.h"
#include "testutil.h"

/* Header offsets as shindex.c documents them (an independent oracle). */
#define H_DEV 24
#define H_INO 32
#define H_CAP 40
#define H_ALIGN 48
#define H_BOOT 56
#define H_CHECK 72
#define H_COVERED 136
#define H_SUPERSEDED 144
#define H_CLEAN 152
#define H_USED 160
#define H_EXACT 248
#define H_SLOTS_SUM 240

static char *g_dir;
static char *g_path;  /* g_dir/store.srd */
static char *g_idx;   /* g_dir/store.srd.idx */

static void setup(void)
{
    g_dir = tu_tmpdir();
    g_path = tu_join(g_dir, "store.srd");
    g_idx = tu_join(g_dir, "store.srd.idx");
    unsetenv("SRD_SHARED_INDEX");
}

static void teardown(void)
{
    tu_rmtree(g_dir);
    free(g_path);
    free(g_idx);
    free(g_dir);
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static srd_store *open_flags(const char *path, unsigned flags)
{
    srd_store *st = NULL;
    ck_srd(tu_open(path, flags, &st));
    return st;
}

static srd_store *open_w(const char *path)
{
    return open_flags(path, SRD_OPEN_CREATE);
}

static srd_store *open_ro(const char *path)
{
    return open_flags(path, SRD_OPEN_READONLY);
}

static void key_of(char *buf, size_t cap, unsigned i)
{
    snprintf(buf, cap, "key-%u", i);
}

static void val_of(char *buf, size_t cap, unsigned i, unsigned ver)
{
    snprintf(buf, cap, "value-%u-v%u-%0*u", i, ver, (int)(i % 50), 7u);
}

static void put_n(srd_store *st, unsigned from, unsigned to, unsigned ver)
{
    char k[64], v[128];
    for (unsigned i = from; i < to; i++) {
        key_of(k, sizeof k, i);
        val_of(v, sizeof v, i, ver);
        tu_require(srd_put(st, tu_s(k), tu_s(v)) == SRD_OK, "put %u", i);
    }
}

/* Every key in [from, to) reads as version ver. */
static void expect_n(srd_store *st, unsigned from, unsigned to, unsigned ver)
{
    char k[64], v[128];
    for (unsigned i = from; i < to; i++) {
        key_of(k, sizeof k, i);
        val_of(v, sizeof v, i, ver);
        srd_view view;
        srd_err rc = srd_get(st, tu_s(k), &view);
        tu_require(rc == SRD_OK, "get %u: %s", i, srd_errname(rc));
        tu_require(view.len == strlen(v) && memcmp(view.data, v, view.len) == 0,
                   "key %u: wrong value %.*s", i, (int)view.len, view.data);
        srd_view_release(&view);
    }
}

static size_t index_bytes(srd_store *st)
{
    srd_info i;
    ck_srd(srd_get_info(st, &i));
    return i.index_bytes;
}

/* A private table for n keys takes at least 16 bytes a key; the overlay
 * of a handle on the shared index stays at its minimum. */
#define OVERLAY_MAX (16u * 1024u)

static void patch64(const char *path, long off, uint64_t v)
{
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, &v, 8, off), 8);
    close(fd);
}

static uint64_t read64(const char *path, long off)
{
    uint64_t v = 0;
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, &v, 8, off), 8);
    close(fd);
    return v;
}

/* Recompute the header checksum after patching checked fields. */
static void reseal(const char *path)
{
    uint8_t h[H_CHECK];
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, h, sizeof h, 0), (ssize_t)sizeof h);
    uint64_t c = srdi_hash(h, sizeof h);
    ck_assert_int_eq(pwrite(fd, &c, 8, H_CHECK), 8);
    close(fd);
}

static ino_t inode_of(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_ino : 0;
}

/* A bare file standing in for a store (the module needs its identity). */
static int make_store_file(struct stat *sb)
{
    int fd = open(g_path, O_RDWR | O_CREAT, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fstat(fd, sb), 0);
    return fd;
}

static srdi_shxw *new_writer(int fd, uint64_t expected)
{
    srdi_shxw *w = NULL;
    ck_srd(srdi_shxw_create(g_path, fd, SRDI_ALIGN, expected, &w));
    return w;
}

/* The published index file of g_path, mapped as a reader would. */
static srdi_shx *map_reader(const struct stat *sb)
{
    srdi_shx *x = NULL;
    ck_srd(srdi_shx_open(g_path, sb, &x));
    return x;
}

static uint64_t hash_n(unsigned i)
{
    return srdi_hash(&i, sizeof i);
}

/* ------------------------------------------------------------------------ */
/* The module                                                                */
/* ------------------------------------------------------------------------ */

START_TEST(test_writer_slots_are_found_by_a_reader_mapping)
{
    struct stat sb;
    int fd = make_store_file(&sb);
    srdi_shxw *w = new_writer(fd, 100);
    for (unsigned i = 0; i < 500; i++)
        ck_srd(srdi_shxw_apply(w, hash_n(i), srdi_loc_tomb(i * 64 + 64)));
    srdi_shx_stats s = {0, 500, 0, 0};
    uint8_t tr[SRDI_TRAILER_SIZE] = {1, 2, 3};
    srdi_shxw_set_covered(w, 7777, tr, &s, false);
    ck_srd(srdi_shxw_publish(w));
    srdi_shx *x = map_reader(&sb);
    ck_assert_uint_eq(srdi_shx_covered(x), 7777);
    uint64_t c = 0;
    uint8_t got_tr[SRDI_TRAILER_SIZE];
    ck_assert(srdi_shx_covered_at(x, &c, got_tr));
    ck_assert_uint_eq(c, 7777);
    ck_assert_mem_eq(got_tr, tr, sizeof tr);
    for (unsigned i = 0; i < 500; i++)
        ck_assert_uint_eq(srdi_shx_lookup(x, hash_n(i)),
                          srdi_loc_tomb(i * 64 + 64));
    ck_assert_uint_eq(srdi_shx_lookup(x, hash_n(100000)), 0);
    srdi_shx_stats got;
    srdi_shx_stats_get(x, &got);
    ck_assert_uint_eq(got.entries, 500);
    ck_assert(!srdi_shx_superseded(x));
    srdi_shx_unref(x);
    srdi_shxw_close(w, true);
    close(fd);
}
END_TEST

START_TEST(test_newest_position_wins_in_the_file)
{
    struct stat sb;
    int fd = make_store_file(&sb);
    srdi_shxw *w = new_writer(fd, 0);
    ck_srd(srdi_shxw_apply(w, 42, srdi_loc_tomb(6400)));
    ck_srd(srdi_shxw_apply(w, 42, srdi_loc_tomb(640))); /* older: ignored */
    ck_srd(srdi_shxw_publish(w));
    srdi_shx *x = map_reader(&sb);
    ck_assert_uint_eq(srdi_shx_lookup(x, 42), srdi_loc_tomb(6400));
    srdi_shx_unref(x);
    srdi_shxw_close(w, false);
    close(fd);
}
END_TEST

START_TEST(test_growth_writes_new_files_old_mapping_stays_valid)
{
    struct stat sb;
    int fd = make_store_file(&sb);
    srdi_shxw *w = new_writer(fd, 0);
    ck_srd(srdi_shxw_apply(w, hash_n(0), srdi_loc_tomb(64)));
    ck_srd(srdi_shxw_publish(w));
    srdi_shx *first = map_reader(&sb);
    uint64_t cap0 = srdi_shxw_capacity(w);
    unsigned grows = 0;
    ino_t ino = inode_of(g_idx);
    for (unsigned i = 1; i < 20000; i++) {
        ck_srd(srdi_shxw_apply(w, hash_n(i), srdi_loc_tomb(64 * (i + 1))));
        if (inode_of(g_idx) != ino) {
            grows++;
            ino = inode_of(g_idx);
        }
    }
    ck_assert_uint_ge(grows, 3);
    ck_assert_uint_gt(srdi_shxw_capacity(w), cap0 * 4);
    /* The first mapping was replaced but still answers what it held. */
    ck_assert(srdi_shx_superseded(first));
    ck_assert_uint_eq(srdi_shx_lookup(first, hash_n(0)), srdi_loc_tomb(64));
    srdi_shx *now = map_reader(&sb);
    for (unsigned i = 0; i < 20000; i++)
        tu_require(srdi_shx_lookup(now, hash_n(i)) ==
                       srdi_loc_tomb(64 * (i + 1)),
                   "key %u lost in growth", i);
    srdi_shx_unref(first);
    srdi_shx_unref(now);
    srdi_shxw_close(w, true);
    close(fd);
}
END_TEST

/* A file whose header was made by hand from a published one. */
static void publish_small(int fd)
{
    srdi_shxw *w = new_writer(fd, 10);
    ck_srd(srdi_shxw_apply(w, 1, srdi_loc_tomb(64)));
    ck_srd(srdi_shxw_publish(w));
    srdi_shxw_close(w, true);
}

static srd_err open_status(const struct stat *sb)
{
    srdi_shx *x = NULL;
    srd_err rc = srdi_shx_open(g_path, sb, &x);
    srdi_shx_unref(x);
    return rc;
}

START_TEST(test_header_checks_reject_every_mismatch)
{
    struct stat sb;
    int fd = make_store_file(&sb);
    ck_assert_int_eq(open_status(&sb), SRD_ENOENT);
    publish_small(fd);
    ck_assert_int_eq(open_status(&sb), SRD_OK);
    size_t len;
    uint8_t *good = tu_read_file(g_idx, &len);
    ck_assert_ptr_nonnull(good);
    /* byte offset to flip, whether to reseal the checksum afterwards */
    struct { long off; int reseal; } flips[] = {
        {0, 0}, {0, 1}, {8, 1}, {12, 1}, {16, 1}, {H_DEV, 1}, {H_INO, 1},
        {H_CAP, 1}, {H_CAP, 0}, {H_ALIGN, 1}, {H_CHECK, 0}, {60, 0},
    };
    for (size_t i = 0; i < sizeof flips / sizeof *flips; i++) {
        uint8_t *b = malloc(len);
        memcpy(b, good, len);
        b[flips[i].off] ^= 0x01;
        ck_assert_int_eq(tu_write_file(g_idx, b, len), 0);
        if (flips[i].reseal)
            reseal(g_idx);
        ck_assert_msg(open_status(&sb) == SRD_ECORRUPT, "flip at %ld", flips[i].off);
        free(b);
    }
    /* truncated, grown, zeroed, empty */
    ck_assert_int_eq(tu_write_file(g_idx, good, len - 16), 0);
    ck_assert_int_eq(open_status(&sb), SRD_ECORRUPT);
    ck_assert_int_eq(tu_write_file(g_idx, good, 100), 0);
    ck_assert_int_eq(open_status(&sb), SRD_ECORRUPT);
    uint8_t *z = calloc(1, len + 16);
    memcpy(z, good, len);
    ck_assert_int_eq(tu_write_file(g_idx, z, len + 16), 0);
    ck_assert_int_eq(open_status(&sb), SRD_ECORRUPT);
    memset(z, 0, len);
    ck_assert_int_eq(tu_write_file(g_idx, z, len), 0);
    ck_assert_int_eq(open_status(&sb), SRD_ECORRUPT);
    ck_assert_int_eq(tu_write_file(g_idx, z, 0), 0);
    ck_assert_int_eq(open_status(&sb), SRD_ECORRUPT);
    /* superseded */
    ck_assert_int_eq(tu_write_file(g_idx, good, len), 0);
    patch64(g_idx, H_SUPERSEDED, 1);
    ck_assert_int_eq(open_status(&sb), SRD_ECORRUPT);
    /* a directory, a symlink */
    unlink(g_idx);
    ck_assert_int_eq(mkdir(g_idx, 0755), 0);
    ck_assert_int_eq(open_status(&sb), SRD_ECORRUPT);
    rmdir(g_idx);
    char *other = tu_join(g_dir, "other.idx");
    ck_assert_int_eq(tu_write_file(other, good, len), 0);
    ck_assert_int_eq(symlink(other, g_idx), 0);
    ck_assert_int_eq(open_status(&sb), SRD_ECORRUPT);
    free(other);
    free(z);
    free(good);
    close(fd);
}
END_TEST

START_TEST(test_unclean_file_of_another_boot_is_not_trusted)
{
    struct stat sb;
    int fd = make_store_file(&sb);
    srdi_shxw *w = new_writer(fd, 10);
    ck_srd(srdi_shxw_publish(w));
    srdi_shxw_close(w, false); /* as after kill -9 */
    ck_assert_int_eq(open_status(&sb), SRD_OK); /* same boot: page cache */
    patch64(g_idx, H_BOOT, read64(g_idx, H_BOOT) ^ 1);
    reseal(g_idx);
    ck_assert_int_eq(open_status(&sb), SRD_ECORRUPT);
    patch64(g_idx, H_CLEAN, 1); /* made durable by a clean close */
    ck_assert_int_eq(open_status(&sb), SRD_OK);
    close(fd);
}
END_TEST

START_TEST(test_lookup_in_a_full_table_terminates)
{
    struct stat sb;
    int fd = make_store_file(&sb);
    publish_small(fd);
    size_t len;
    uint8_t *b = tu_read_file(g_idx, &len);
    for (size_t off = SRDI_SHX_HDR; off + 16 <= len; off += 16) {
        uint64_t h = off, loc = 1;
        memcpy(b + off, &h, 8);
        memcpy(b + off + 8, &loc, 8);
    }
    ck_assert_int_eq(tu_write_file(g_idx, b, len), 0);
    srdi_shx *x = map_reader(&sb);
    ck_assert_uint_eq(srdi_shx_lookup(x, 3), 0); /* absent, no empty slot */
    srdi_shx_unref(x);
    free(b);
    close(fd);
}
END_TEST

/* A published, cleanly closed file exact at covered COVERED: n tombstone
 * slots (positions below TAIL), some overwritten, the table grown. */
#define COVERED 4096u
#define TAIL (1ull << 30)

static void publish_exact(int fd, unsigned n)
{
    srdi_shxw *w = new_writer(fd, 0);
    for (unsigned i = 0; i < n; i++)
        ck_srd(srdi_shxw_apply(w, hash_n(i), srdi_loc_tomb(64 * (i + 1))));
    ck_srd(srdi_shxw_publish(w));
    srdi_shx_stats s = {0, n, 0, 0};
    uint8_t tr[SRDI_TRAILER_SIZE] = {0};
    srdi_shxw_set_covered(w, COVERED, tr, &s, true);
    ck_assert_int_eq(srdi_shxw_verify(w), SRD_OK);
    srdi_shxw_close(w, true);
}

static srd_err reuse_status(int fd, srdi_shxw **w)
{
    uint64_t c = 0;
    uint8_t tr[SRDI_TRAILER_SIZE];
    *w = NULL;
    return srdi_shxw_reuse(g_path, fd, SRDI_ALIGN, TAIL, w, &c, tr);
}

/* The first used slot's file offset. */
static long first_used_slot(void)
{
    size_t len;
    uint8_t *b = tu_read_file(g_idx, &len);
    long at = -1;
    for (size_t off = SRDI_SHX_HDR; at < 0 && off + 16 <= len; off += 16) {
        uint64_t loc;
        memcpy(&loc, b + off + 8, 8);
        if (loc != 0)
            at = (long)off;
    }
    free(b);
    ck_assert_int_gt(at, 0);
    return at;
}

/* The sum and counts kept as slots change (inserts, newer and older
 * positions, tombstones over values, growth into new files) are those a
 * pass over the slots computes, and a takeover starts from them. */
START_TEST(test_running_sum_matches_the_slots_after_every_change)
{
    struct stat sb;
    int fd = make_store_file(&sb);
    srdi_shxw *w = new_writer(fd, 0);
    ck_assert_int_eq(srdi_shxw_verify(w), SRD_OK);
    for (unsigned i = 0; i < 6000; i++) /* grows several times */
        ck_srd(srdi_shxw_apply(w, hash_n(i),
                               srdi_loc_value(64 * (i + 1), 8, 64 * i + 92)));
    ck_assert_int_eq(srdi_shxw_verify(w), SRD_OK);
    for (unsigned i = 0; i < 6000; i += 3) /* newer: a tombstone */
        ck_srd(srdi_shxw_apply(w, hash_n(i), srdi_loc_tomb(1000000 + 64 * i)));
    for (unsigned i = 1; i < 6000; i += 3) /* older: ignored */
        ck_srd(srdi_shxw_apply(w, hash_n(i), srdi_loc_tomb(0)));
    ck_assert_int_eq(srdi_shxw_verify(w), SRD_OK);
    srdi_shx_stats st;
    srdi_shxw_stats_get(w, &st);
    ck_assert_uint_eq(st.live, 4000);
    ck_assert_uint_eq(srdi_shxw_used(w), 6000);
    ck_srd(srdi_shxw_publish(w));
    srdi_shx_stats s = {0, 8000, 0, 0};
    uint8_t tr[SRDI_TRAILER_SIZE] = {0};
    srdi_shxw_set_covered(w, COVERED, tr, &s, true);
    srdi_shxw_close(w, true);
    ck_assert_uint_eq(read64(g_idx, H_CLEAN), 1);
    ck_srd(reuse_status(fd, &w)); /* its sum and counts: the header's */
    ck_assert_int_eq(srdi_shxw_verify(w), SRD_OK);
    ck_assert_uint_eq(srdi_shxw_used(w), 6000);
    ck_srd(srdi_shxw_apply(w, hash_n(6000), srdi_loc_tomb(2000000)));
    ck_assert_int_eq(srdi_shxw_verify(w), SRD_OK);
    /* a slot changed behind the writer's back: the pass sees it */
    long at = first_used_slot();
    patch64(g_idx, at, read64(g_idx, at) ^ 4);
    ck_assert_int_eq(srdi_shxw_verify(w), SRD_ECORRUPT);
    srdi_shxw_close(w, false);
    close(fd);
}
END_TEST

/* A takeover in the boot that wrote the file reads no slot (damage made
 * since is not seen: every read checks its loc instead); a clean file of
 * another boot (read back from the disk) must match its sum and counts,
 * and then names this boot. Not exact, or counts leaving no empty slot:
 * never taken over. */
START_TEST(test_takeover_checks_the_slots_only_of_a_file_of_another_boot)
{
    struct stat sb;
    int fd = make_store_file(&sb);
    publish_exact(fd, 3000);
    srdi_shxw *w;
    ck_srd(reuse_status(fd, &w));
    srdi_shxw_close(w, true);
    long at = first_used_slot();
    uint64_t good = read64(g_idx, at);
    patch64(g_idx, at, good ^ 4);
    ck_srd(reuse_status(fd, &w)); /* this boot: the slots are not read */
    srdi_shxw_close(w, true);
    uint64_t boot = read64(g_idx, H_BOOT);
    patch64(g_idx, H_BOOT, boot ^ 1); /* another boot's clean file */
    reseal(g_idx);
    ck_assert_int_eq(reuse_status(fd, &w), SRD_ECORRUPT);
    patch64(g_idx, at, good);
    ck_srd(reuse_status(fd, &w)); /* whole: taken over, stamped */
    srdi_shxw_close(w, true);
    ck_assert_uint_eq(read64(g_idx, H_BOOT), boot);
    /* not exact at covered / used counts filling the table */
    uint64_t exact = read64(g_idx, H_EXACT), used = read64(g_idx, H_USED);
    patch64(g_idx, H_EXACT, exact + 1);
    ck_assert_int_eq(reuse_status(fd, &w), SRD_ECORRUPT);
    patch64(g_idx, H_EXACT, exact);
    patch64(g_idx, H_USED, read64(g_idx, H_CAP));
    ck_assert_int_eq(reuse_status(fd, &w), SRD_ECORRUPT);
    patch64(g_idx, H_USED, used);
    ck_srd(reuse_status(fd, &w));
    srdi_shxw_close(w, true);
    close(fd);
}
END_TEST

/* A writer that takes a file over and changes nothing leaves every byte
 * of it as it was (clean stays set; nothing to hash or sync at close);
 * its first change clears clean, and its close makes it clean again. */
START_TEST(test_untouched_takeover_leaves_the_file_as_it_was)
{
    struct stat sb;
    int fd = make_store_file(&sb);
    publish_exact(fd, 100);
    size_t len0, len1;
    uint8_t *before = tu_read_file(g_idx, &len0);
    srdi_shxw *w;
    ck_srd(reuse_status(fd, &w));
    srdi_shx_stats s;
    srdi_shxw_stats_get(w, &s);
    uint8_t tr[SRDI_TRAILER_SIZE] = {0};
    srdi_shxw_set_covered(w, COVERED, tr, &s, true); /* nothing new */
    ck_srd(srdi_shxw_apply(w, hash_n(5), srdi_loc_tomb(64))); /* older */
    srdi_shxw_close(w, true);
    uint8_t *after = tu_read_file(g_idx, &len1);
    ck_assert(len0 == len1 && memcmp(before, after, len0) == 0);
    ck_srd(reuse_status(fd, &w));
    ck_srd(srdi_shxw_apply(w, hash_n(5), srdi_loc_tomb(1u << 20)));
    ck_assert_uint_eq(read64(g_idx, H_CLEAN), 0);
    ck_assert_uint_eq(read64(g_idx, H_EXACT), 0);
    srdi_shxw_set_covered(w, COVERED + 64, tr, &s, true);
    srdi_shxw_close(w, true);
    ck_assert_uint_eq(read64(g_idx, H_CLEAN), 1);
    ck_assert_uint_eq(read64(g_idx, H_EXACT), COVERED + 65);
    free(before);
    free(after);
    close(fd);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Store handles on the shared index                                         */
/* ------------------------------------------------------------------------ */

#define N_KEYS 20000u

START_TEST(test_first_writer_open_creates_the_index_file)
{
    srd_store *st = open_w(g_path); /* SRD_SYNC_NEVER */
    ck_assert_int_ge(tu_file_size(g_idx), (long long)SRDI_SHX_HDR);
    put_n(st, 0, 10, 1);
    ck_srd(srd_close(st));
    /* a close that did not sync the store does not vouch for it */
    ck_assert_uint_eq(read64(g_idx, H_CLEAN), 0);
    srd_options o;
    srd_options_init(&o); /* SRD_SYNC_ALWAYS */
    /* a syncing close that changed nothing leaves it as it was (unclean,
     * of this boot: trusted until a reboot; shindex.c invariant 8) */
    ck_srd(srd_open(g_path, &o, &st));
    ck_srd(srd_close(st));
    ck_assert_uint_eq(read64(g_idx, H_CLEAN), 0);
    /* one that changed it makes it durable and clean */
    ck_srd(srd_open(g_path, &o, &st));
    put_n(st, 10, 11, 1);
    ck_srd(srd_close(st));
    ck_assert_uint_eq(read64(g_idx, H_CLEAN), 1);
    /* A store from elsewhere (no index file) gets one too. */
    unlink(g_idx);
    st = open_w(g_path);
    ck_assert_int_ge(tu_file_size(g_idx), (long long)SRDI_SHX_HDR);
    ck_srd(srd_close(st));
    st = open_ro(g_path);
    expect_n(st, 0, 10, 1);
    ck_assert_uint_lt(index_bytes(st), OVERLAY_MAX);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_readonly_open_maps_the_index_instead_of_building_one)
{
    srd_store *st = open_w(g_path);
    put_n(st, 0, N_KEYS, 1);
    ck_srd(srd_close(st));
    st = open_ro(g_path);
    expect_n(st, 0, N_KEYS, 1);
    ck_assert_uint_lt(index_bytes(st), OVERLAY_MAX);
    uint64_t n = 0;
    ck_srd(srd_count(st, &n));
    ck_assert_uint_eq(n, N_KEYS);
    ck_srd(srd_close(st));
    /* Without it (SRD_SHARED_INDEX=0) the handle builds a private table. */
    setenv("SRD_SHARED_INDEX", "0", 1);
    st = open_ro(g_path);
    expect_n(st, 0, N_KEYS, 1);
    ck_assert_uint_ge(index_bytes(st), 16u * N_KEYS);
    ck_srd(srd_close(st));
}
END_TEST

START_TEST(test_readonly_follows_the_writer_through_growth)
{
    srd_store *w = open_w(g_path);
    put_n(w, 0, 100, 1);
    srd_store *r = open_ro(g_path);
    ino_t ino = inode_of(g_idx);
    unsigned grows = 0;
    for (unsigned round = 0; round < 8; round++) {
        unsigned to = 100 + (round + 1) * 4000;
        put_n(w, 0, to, round + 2);
        grows += inode_of(g_idx) != ino;
        ino = inode_of(g_idx);
        ck_srd(srd_refresh(r, NULL));
        expect_n(r, 0, to, round + 2);
        ck_assert_uint_lt(index_bytes(r), OVERLAY_MAX);
    }
    ck_assert_uint_ge(grows, 3);
    /* Writes the reader has not refreshed for: the old or a newer value. */
    put_n(w, 0, 10, 99);
    expect_n(r, 0, 10, 99);
    /* ... and their metadata, read past the reader's committed tail */
    char k[64], v[64];
    key_of(k, sizeof k, 3);
    val_of(v, sizeof v, 3, 99);
    srd_entry_meta m;
    ck_srd(srd_meta(r, tu_s(k), &m));
    ck_assert_uint_eq(m.len, strlen(v));
    ck_assert(m.checksum_valid);
    ck_assert_uint_eq(m.key_hash, srd_key_hash(k, strlen(k)));
    /* Compaction gives the new file its own index; the reader follows. */
    ck_srd(srd_compact(w, NULL));
    put_n(w, 0, 5, 100);
    ck_srd(srd_refresh(r, NULL));
    expect_n(r, 0, 5, 100);
    expect_n(r, 10, 100 + 8 * 4000, 9);
    ck_assert_uint_lt(index_bytes(r), OVERLAY_MAX);
    ck_srd(srd_close(r));
    ck_srd(srd_close(w));
}
END_TEST

START_TEST(test_iteration_over_the_shared_index_sees_every_live_key)
{
    srd_store *w = open_w(g_path);
    put_n(w, 0, 1000, 1);
    char k[64];
    for (unsigned i = 0; i < 1000; i += 3) {
        key_of(k, sizeof k, i);
        ck_srd(srd_delete(w, tu_s(k), NULL));
    }
    srd_store *r = open_ro(g_path);
    put_n(w, 1000, 1010, 1); /* past the reader's tail */
    srd_iter *it;
    ck_srd(srd_iter_open(r, &it));
    size_t n = 0;
    srd_view v;
    while (srd_iter_next(it, &v) == SRD_OK) {
        n++;
        srd_view_release(&v);
    }
    srd_iter_close(it);
    ck_assert_uint_ge(n, 1000 - 334);
    ck_assert_uint_le(n, 1010 - 334);
    ck_srd(srd_close(r));
    ck_srd(srd_close(w));
}
END_TEST

/* Slot index of hash in the file (its first match), or -1. */
static long slot_of(const uint8_t *b, size_t len, uint64_t hash)
{
    for (size_t off = SRDI_SHX_HDR; off + 16 <= len; off += 16) {
        uint64_t h, loc;
        memcpy(&h, b + off, 8);
        memcpy(&loc, b + off + 8, 8);
        if (loc != 0 && h == hash)
            return (long)off;
    }
    return -1;
}

/* Write keys 0 and 1, close, and return the index file's bytes with key
 * 0's slot pointing at key 1's entry (k0 and k1 get the two keys, *slot0
 * the offset of key 0's slot, when not NULL). */
static uint8_t *two_keys_slot0_to_key1(char k0[64], char k1[64], size_t *len,
                                       long *slot0)
{
    srd_store *w = open_w(g_path);
    put_n(w, 0, 2, 1);
    ck_srd(srd_close(w));
    uint8_t *b = tu_read_file(g_idx, len);
    key_of(k0, 64, 0);
    key_of(k1, 64, 1);
    long s0 = slot_of(b, *len, srd_key_hash(k0, strlen(k0)));
    long s1 = slot_of(b, *len, srd_key_hash(k1, strlen(k1)));
    ck_assert(s0 > 0 && s1 > 0);
    memcpy(b + s0 + 8, b + s1 + 8, 8); /* key 0 -> key 1's entry */
    if (slot0)
        *slot0 = s0;
    return b;
}

START_TEST(test_slot_naming_another_keys_entry_is_an_error_not_its_value)
{
    size_t len;
    char k0[64], k1[64];
    long s0;
    uint8_t *b = two_keys_slot0_to_key1(k0, k1, &len, &s0);
    ck_assert_int_eq(tu_write_file(g_idx, b, len), 0);
    srd_store *r = open_ro(g_path);
    srd_view v;
    ck_assert_int_eq(srd_get(r, tu_s(k0), &v), SRD_ECORRUPT);
    bool there = true;
    ck_assert_int_eq(srd_exists(r, tu_s(k0), &there), SRD_ECORRUPT);
    expect_n(r, 1, 2, 1);
    ck_srd(srd_close(r));
    /* A loc past the end of the store: an error, no fault. */
    uint64_t far = srdi_loc_tomb(1ull << 40);
    memcpy(b + s0 + 8, &far, 8);
    ck_assert_int_eq(tu_write_file(g_idx, b, len), 0);
    r = open_ro(g_path);
    ck_assert_int_eq(srd_get(r, tu_s(k0), &v), SRD_ECORRUPT);
    ck_srd(srd_close(r));
    /* A writer open does not read the slots (same boot): it takes the
     * file over, and its reads check every loc as a reader's do. */
    ino_t ino = inode_of(g_idx);
    srd_store *w = open_w(g_path);
    ck_assert(inode_of(g_idx) == ino);
    ck_assert_int_eq(srd_get(w, tu_s(k0), &v), SRD_ECORRUPT);
    expect_n(w, 1, 2, 1);
    ck_srd(srd_close(w));
    /* One that walks the store (SRD_OPEN_REPAIR) checks the slots against
     * their sum and rebuilds the file: everything reads right again. */
    ck_srd(tu_open(g_path, SRD_OPEN_REPAIR, &w));
    ck_assert(inode_of(g_idx) != ino);
    ck_srd(srd_close(w));
    r = open_ro(g_path);
    expect_n(r, 0, 2, 1);
    ck_srd(srd_close(r));
    free(b);
}
END_TEST

/* A slot naming a later line of its own key's value (the same trailer, so
 * the same key hash and entry end): never that value's suffix. */
START_TEST(test_slot_naming_a_suffix_of_its_value_is_an_error)
{
    char val[100];
    memset(val, 'v', sizeof val);
    srd_store *w = open_w(g_path);
    ck_srd(srd_put(w, tu_s("long"), (srd_val){val, sizeof val}));
    put_n(w, 0, 2, 1);
    ck_srd(srd_close(w));
    size_t len;
    uint8_t *b = tu_read_file(g_idx, &len);
    long s = slot_of(b, len, srd_key_hash("long", 4));
    ck_assert(s > 0);
    uint64_t loc;
    memcpy(&loc, b + s + 8, 8);
    ck_assert(!(loc & (SRDI_LOC_TOMB | SRDI_LOC_LARGE)));
    ck_assert_uint_eq(srdi_loc_len(loc), sizeof val);
    uint64_t tail = srdi_loc_value(srdi_loc_payload(loc) + 64,
                                   sizeof val - 64,
                                   srdi_loc_payload(loc) + sizeof val +
                                       SRDI_TRAILER_SIZE);
    memcpy(b + s + 8, &tail, 8);
    ck_assert_int_eq(tu_write_file(g_idx, b, len), 0);
    srd_store *r = open_ro(g_path);
    srd_view v;
    ck_assert_int_eq(srd_get(r, tu_s("long"), &v), SRD_ECORRUPT);
    ck_assert_ptr_null(v.data);
    bool there = true;
    ck_assert_int_eq(srd_exists(r, tu_s("long"), &there), SRD_ECORRUPT);
    expect_n(r, 0, 2, 1);
    ck_srd(srd_close(r));
    /* The writer takes the file over and checks its locs the same way. */
    w = open_w(g_path);
    ck_assert_int_eq(srd_get(w, tu_s("long"), &v), SRD_ECORRUPT);
    expect_n(w, 0, 2, 1);
    ck_srd(srd_close(w));
    free(b);
}
END_TEST

/* The overlay of a read-only handle is skipped while it never held a slot
 * and probed once it does: entries the shared index lacks (a writer that
 * did not keep it) read as the newest, over the shared index's slots. */
static void expect_overlay_wins(srd_store *r)
{
    srd_view v;
    expect_n(r, 0, 10, 2);
    ck_assert_int_eq(srd_get(r, tu_s("key-20"), &v), SRD_ENOTFOUND);
    expect_n(r, 10, 20, 1);
    expect_n(r, 21, 50, 1);
}

START_TEST(test_readonly_overlay_entry_wins_over_the_shared_slot)
{
    srd_store *w = open_w(g_path);
    put_n(w, 0, 50, 1);
    ck_srd(srd_close(w));
    srd_store *r = open_ro(g_path);
    expect_n(r, 0, 50, 1); /* an empty overlay */
    setenv("SRD_SHARED_INDEX", "0", 1); /* appends the index lacks */
    w = open_w(g_path);
    put_n(w, 0, 10, 2);
    ck_srd(srd_delete(w, tu_s("key-20"), NULL));
    ck_srd(srd_close(w));
    unsetenv("SRD_SHARED_INDEX");
    ck_srd(srd_refresh(r, NULL)); /* into the overlay of an open handle */
    expect_overlay_wins(r);
    srd_store *r2 = open_ro(g_path); /* into the overlay at open */
    expect_overlay_wins(r2);
    ck_srd(srd_close(r2));
    ck_srd(srd_close(r));
}
END_TEST

/* Reads of [0, n) right through a read-only handle, whatever the file. */
static void expect_ro_right(unsigned n)
{
    srd_store *r = open_ro(g_path);
    expect_n(r, 0, n, 1);
    ck_srd(srd_close(r));
}

START_TEST(test_damaged_index_files_fall_back_and_the_writer_rebuilds)
{
    srd_store *w = open_w(g_path);
    put_n(w, 0, 3000, 1);
    ck_srd(srd_close(w));
    size_t len;
    uint8_t *good = tu_read_file(g_idx, &len);
    uint64_t seed = 7;
    for (int variant = 0; variant < 6; variant++) {
        uint8_t *b = malloc(len);
        memcpy(b, good, len);
        size_t n = len;
        switch (variant) {
        case 0: memset(b, 0, len); break;                  /* zeroed */
        case 1: n = len / 2; break;                        /* truncated */
        case 2: tu_fill_random(&seed, b, len); break;      /* random */
        case 3: b[H_COVERED] ^= 0x40; break;               /* bad covered */
        case 4: { /* a covered tail past the end of the store */
            uint64_t c = 1ull << 40;
            memcpy(b + H_COVERED, &c, 8);
            break;
        }
        default: tu_fill_random(&seed, b + SRDI_SHX_HDR, len - SRDI_SHX_HDR);
        }
        ck_assert_int_eq(tu_write_file(g_idx, b, n), 0);
        if (variant == 5) { /* random slots: errors allowed, never a wrong value */
            srd_store *r = open_ro(g_path);
            char k[64], v[128];
            for (unsigned i = 0; i < 3000; i++) {
                key_of(k, sizeof k, i);
                val_of(v, sizeof v, i, 1);
                srd_view view;
                srd_err rc = srd_get(r, tu_s(k), &view);
                if (rc == SRD_OK) {
                    tu_require(view.len == strlen(v) &&
                                   memcmp(view.data, v, view.len) == 0,
                               "random slots gave key %u a wrong value", i);
                    srd_view_release(&view);
                }
            }
            ck_srd(srd_close(r));
        } else {
            expect_ro_right(3000);
        }
        free(b);
        /* rebuilds: a header the checks refuse at a plain open; slots that
         * do not match their sum (variant 5) at one that walks the store */
        ck_srd(tu_open(g_path, variant == 5 ? SRD_OPEN_REPAIR : SRD_OPEN_CREATE,
                       &w));
        ck_srd(srd_close(w));
        srd_store *r = open_ro(g_path);
        expect_n(r, 0, 3000, 1);
        ck_assert_uint_lt(index_bytes(r), OVERLAY_MAX);
        ck_srd(srd_close(r));
    }
    free(good);
}
END_TEST

START_TEST(test_index_of_another_store_is_not_used)
{
    char *other = tu_join(g_dir, "other.srd");
    char *other_idx = tu_join(g_dir, "other.srd.idx");
    srd_store *w = open_w(other);
    put_n(w, 0, 500, 7); /* same keys, other values */
    ck_srd(srd_close(w));
    w = open_w(g_path);
    put_n(w, 0, 500, 1);
    ck_srd(srd_close(w));
    ck_assert_int_eq(tu_copy_file(other_idx, g_idx), 0);
    srd_store *r = open_ro(g_path);
    expect_n(r, 0, 500, 1);
    ck_assert_uint_ge(index_bytes(r), 16u * 500);
    ck_srd(srd_close(r));
    w = open_w(g_path);
    ck_srd(srd_close(w));
    r = open_ro(g_path);
    expect_n(r, 0, 500, 1);
    ck_assert_uint_lt(index_bytes(r), OVERLAY_MAX);
    ck_srd(srd_close(r));
    free(other);
    free(other_idx);
}
END_TEST

START_TEST(test_stale_index_covering_less_is_caught_up_by_the_reader)
{
    srd_store *w = open_w(g_path);
    put_n(w, 0, 1000, 1);
    ck_srd(srd_close(w));
    size_t len;
    uint8_t *old = tu_read_file(g_idx, &len);
    w = open_w(g_path);
    put_n(w, 0, 500, 2);
    put_n(w, 1000, 1100, 2);
    char k[64];
    key_of(k, sizeof k, 999);
    ck_srd(srd_delete(w, tu_s(k), NULL));
    ck_srd(srd_close(w));
    ck_assert_int_eq(tu_write_file(g_idx, old, len), 0); /* put the old back */
    srd_store *r = open_ro(g_path);
    expect_n(r, 0, 500, 2);
    expect_n(r, 500, 999, 1);
    expect_n(r, 1000, 1100, 2);
    bool there = true;
    ck_srd(srd_exists(r, tu_s(k), &there));
    ck_assert(!there);
    ck_srd(srd_close(r));
    free(old);
}
END_TEST

START_TEST(test_index_ahead_of_a_shortened_store_is_not_used)
{
    srd_store *w = open_w(g_path);
    put_n(w, 0, 100, 1);
    uint64_t t1;
    ck_srd(srd_tail(w, &t1));
    put_n(w, 100, 200, 1);
    ck_srd(srd_close(w));
    ck_assert_int_eq(truncate(g_path, (off_t)t1 + 5), 0); /* torn tail */
    srd_store *r = open_ro(g_path);
    expect_n(r, 0, 100, 1);
    char k[64];
    key_of(k, sizeof k, 150);
    srd_view v;
    ck_assert_int_eq(srd_get(r, tu_s(k), &v), SRD_ENOTFOUND);
    ck_srd(srd_close(r));
    /* The writer cuts the torn bytes and does not take the file over: its
     * slots name entries that are gone. */
    ino_t before = inode_of(g_idx);
    srd_store *w2 = open_w(g_path);
    ck_assert(inode_of(g_idx) != before);
    put_n(w2, 150, 160, 3);
    ck_srd(srd_close(w2));
    r = open_ro(g_path);
    expect_n(r, 0, 100, 1);
    expect_n(r, 150, 160, 3);
    ck_assert_int_eq(srd_get(r, tu_s(k), &v), SRD_OK); /* key 150, v3 */
    srd_view_release(&v);
    ck_srd(srd_close(r));
}
END_TEST

/* Damage below the covered tail (bit rot, a third party writing into the
 * store): a read-only open through the index does not walk there, so it
 * meets the damage on reads: an error, never another key's value; the
 * writer's open (the whole recovery) still refuses or cuts as before. */
START_TEST(test_damage_below_covered_is_an_error_on_read)
{
    srd_options o;
    srd_options_init(&o); /* a syncing close: clean file and sidecar */
    srd_store *w = NULL;
    ck_srd(srd_open(g_path, &o, &w));
    put_n(w, 0, 200, 1);
    char k[64];
    key_of(k, sizeof k, 50);
    srd_entry_meta m;
    ck_srd(srd_meta(w, tu_s(k), &m));
    ck_srd(srd_close(w));
    /* zero key 50's trailer */
    int fd = open(g_path, O_WRONLY);
    uint8_t z[SRDI_TRAILER_SIZE] = {0};
    ck_assert_int_eq(pwrite(fd, z, sizeof z, (off_t)(m.entry_end -
                                                     SRDI_TRAILER_SIZE)),
                     (ssize_t)sizeof z);
    close(fd);
    srd_store *r = open_ro(g_path);
    ck_assert_uint_lt(index_bytes(r), OVERLAY_MAX); /* took the fast way */
    srd_view v;
    ck_assert_int_eq(srd_get(r, tu_s(k), &v), SRD_ECORRUPT);
    expect_n(r, 0, 50, 1);
    expect_n(r, 51, 200, 1);
    srd_verify_report rep;
    ck_assert_int_ne(srd_verify(r, &rep, NULL, NULL), SRD_OK);
    ck_srd(srd_close(r));
}
END_TEST

START_TEST(test_writer_reopen_takes_over_the_index_file)
{
    srd_store *w = open_w(g_path);
    put_n(w, 0, 3000, 1);
    ck_srd(srd_close(w));
    ino_t ino = inode_of(g_idx);
    w = open_w(g_path); /* same file: checked, replayed, reused */
    ck_assert(inode_of(g_idx) == ino);
    ck_assert_uint_eq(read64(g_idx, H_CLEAN), 0);
    put_n(w, 0, 100, 2);
    ck_srd(srd_close(w));
    ck_assert(inode_of(g_idx) == ino);
    srd_store *r = open_ro(g_path);
    expect_n(r, 0, 100, 2);
    expect_n(r, 100, 3000, 1);
    ck_assert_uint_lt(index_bytes(r), OVERLAY_MAX);
    ck_srd(srd_close(r));
    /* A store that grew without it (SRD_SHARED_INDEX=0 writer): the next
     * writer replays what the file lacks. */
    setenv("SRD_SHARED_INDEX", "0", 1);
    w = open_w(g_path);
    put_n(w, 0, 50, 3);
    put_n(w, 3000, 3100, 3);
    ck_srd(srd_close(w));
    unsetenv("SRD_SHARED_INDEX");
    w = open_w(g_path);
    ck_assert(inode_of(g_idx) == ino);
    ck_srd(srd_close(w));
    r = open_ro(g_path);
    expect_n(r, 0, 50, 3);
    expect_n(r, 50, 100, 2);
    expect_n(r, 3000, 3100, 3);
    ck_srd(srd_close(r));
}
END_TEST

/* Break the chain at key i's entry (its back pointer past its own end),
 * below the index file's covered tail; returns the entry's end. The whole
 * recovery finds the break (the writer's open is refused); an open that
 * walks only past the covered tail cannot see it. */
static uint64_t break_chain_at(srd_store *w, unsigned i)
{
    char k[64];
    key_of(k, sizeof k, i);
    srd_entry_meta m;
    ck_srd(srd_meta(w, tu_s(k), &m));
    return m.entry_end;
}

static void poison_prev(uint64_t end)
{
    patch64(g_path, (long)(end - SRDI_TRAILER_SIZE + 8), end + 64);
}

/* The damaged key's read is an error, never a value; verify finds it. */
static void expect_damage_seen(srd_store *w, unsigned i)
{
    char k[64];
    key_of(k, sizeof k, i);
    srd_view v;
    ck_assert_int_eq(srd_get(w, tu_s(k), &v), SRD_ECORRUPT);
    srd_verify_report rep;
    ck_assert_int_eq(srd_verify(w, &rep, NULL, NULL), SRD_ECORRUPT);
}

/* A writer open after a clean close takes the index file over without
 * walking the store: damage below its covered tail, which the whole
 * recovery finds (and refuses the open for), is not seen at open but on
 * the read of that key (SRD_ECORRUPT) and by srd_verify. Its statistics
 * are those a walk computes. */
START_TEST(test_writer_open_after_clean_close_does_not_walk_the_store)
{
    srd_store *w = open_w(g_path);
    put_n(w, 0, 300, 1);
    put_n(w, 0, 40, 2); /* overwrites: live bytes and span must be kept */
    ck_srd(srd_delete(w, tu_s("key-299"), NULL));
    uint64_t end = break_chain_at(w, 120);
    srd_info before;
    ck_srd(srd_get_info(w, &before));
    ck_srd(srd_close(w));
    ino_t ino = inode_of(g_idx);
    poison_prev(end);
    size_t len0, len1;
    uint8_t *img = tu_read_file(g_path, &len0);
    setenv("SRD_SHARED_INDEX", "0", 1); /* the whole recovery: refused */
    srd_store *x = NULL;
    ck_assert_int_eq(tu_open(g_path, SRD_OPEN_CREATE, &x), SRD_ECORRUPT);
    unsetenv("SRD_SHARED_INDEX");
    w = open_w(g_path);
    ck_assert(inode_of(g_idx) == ino); /* taken over, not rewritten */
    srd_info after;
    ck_srd(srd_get_info(w, &after));
    ck_assert_uint_eq(after.live_keys, before.live_keys);
    ck_assert_uint_eq(after.entries, before.entries);
    ck_assert_uint_eq(after.live_bytes, before.live_bytes);
    ck_assert_uint_eq(after.dead_bytes, before.dead_bytes);
    ck_assert_uint_eq(after.tail, before.tail);
    expect_n(w, 0, 40, 2);
    expect_n(w, 40, 120, 1);
    expect_n(w, 121, 299, 1);
    expect_damage_seen(w, 120);
    uint8_t *now = tu_read_file(g_path, &len1); /* nothing was cut */
    ck_assert(len1 == len0 && memcmp(now, img, len0) == 0);
    free(now);
    free(img);
    put_n(w, 300, 310, 1); /* and it writes on */
    expect_n(w, 300, 310, 1);
    ck_srd(srd_close(w));
}
END_TEST

/* A child writer that takes the store over, writes, and is killed. */
static void write_then_die(void)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        srd_store *w = NULL;
        if (tu_open(g_path, SRD_OPEN_CREATE, &w) != SRD_OK)
            _exit(2);
        put_n(w, 300, 400, 1);
        put_n(w, 0, 10, 2);
        raise(SIGKILL);
        _exit(3);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* After kill -9 of the writer (same boot), the index file is exact at
 * its covered tail (no update was in flight), so the next writer takes
 * it over and replays only what follows: damage below is not walked
 * over, and every acknowledged write of the killed writer is there. */
START_TEST(test_writer_open_after_kill_replays_only_the_tail)
{
    srd_store *w = open_w(g_path);
    put_n(w, 0, 300, 1);
    uint64_t end = break_chain_at(w, 150);
    ck_srd(srd_close(w));
    write_then_die();
    ck_assert_uint_eq(read64(g_idx, H_CLEAN), 0);
    ck_assert_uint_eq(read64(g_idx, H_EXACT), read64(g_idx, H_COVERED) + 1);
    poison_prev(end);
    w = open_w(g_path);
    expect_n(w, 0, 10, 2);
    expect_n(w, 10, 150, 1);
    expect_n(w, 151, 400, 1);
    uint64_t live = 0;
    ck_srd(srd_count(w, &live));
    ck_assert_uint_eq(live, 400);
    expect_damage_seen(w, 150);
    ck_srd(srd_close(w));
}
END_TEST

/* An unclean file that is not exact (its writer changed slots after the
 * last covered tail it published) is not taken over: the writer runs the
 * whole recovery and writes a new file. */
START_TEST(test_unclean_inexact_file_is_not_taken_over)
{
    srd_store *w = open_w(g_path);
    put_n(w, 0, 300, 1);
    ck_srd(srd_close(w));
    write_then_die();
    ino_t ino = inode_of(g_idx);
    patch64(g_idx, H_EXACT, 0);
    w = open_w(g_path);
    ck_assert(inode_of(g_idx) != ino);
    expect_n(w, 0, 10, 2);
    expect_n(w, 10, 400, 1);
    ck_srd(srd_close(w));
}
END_TEST

/* A forged index file that passes every check a takeover makes (its
 * slot checksum recomputed): the writer takes it over as its table, but
 * never shows key 0 with key 1's value, nor iterates or compacts it. */
START_TEST(test_writer_over_a_forged_index_errs_never_shows_another_value)
{
    size_t len, slen;
    char k0[64], k1[64];
    uint8_t *b = two_keys_slot0_to_key1(k0, k1, &len, NULL);
    uint64_t sum = srdi_hash(b + SRDI_SHX_HDR, len - SRDI_SHX_HDR);
    memcpy(b + H_SLOTS_SUM, &sum, 8);
    ck_assert_int_eq(tu_write_file(g_idx, b, len), 0);
    uint8_t *store = tu_read_file(g_path, &slen);
    ino_t ino = inode_of(g_idx);
    srd_store *w = open_w(g_path);
    ck_assert(inode_of(g_idx) == ino); /* taken over */
    srd_view v;
    ck_assert_int_eq(srd_get(w, tu_s(k0), &v), SRD_ECORRUPT);
    expect_n(w, 1, 2, 1);
    srd_iter *it = NULL;
    ck_assert_int_eq(srd_iter_open(w, &it), SRD_ECORRUPT);
    /* nor is the damaged key taken for absent by a delete: no tombstone */
    size_t deleted = 7;
    ck_assert_int_eq(srd_delete_batch(w, (srd_val[]){tu_s(k0)}, 1, &deleted),
                     SRD_ECORRUPT);
    ck_assert_uint_eq(deleted, 0);
    /* Compaction proves the table against the running sum first (the
     * forger's sum is not the running one): it takes the live set from a
     * walk of the store, so key 0 is copied and reads right again. */
    uint64_t reclaimed = 0;
    ck_srd(srd_compact(w, &reclaimed));
    expect_n(w, 0, 2, 1);
    ck_srd(srd_close(w));
    size_t after_len;
    uint8_t *after = tu_read_file(g_path, &after_len);
    ck_assert(after_len == slen && memcmp(after, store, slen) == 0);
    w = open_ro(g_path);
    expect_n(w, 0, 2, 1);
    ck_srd(srd_close(w));
    free(after);
    free(store);
    free(b);
}
END_TEST

/* A file whose header counts say the table has room while every slot is
 * used (the writer takes it over from its header: shindex.c invariant 5):
 * a lookup of an absent key ends, and a new key grows the table. */
START_TEST(test_writer_over_an_index_whose_counts_lie_does_not_spin)
{
    srd_store *w = open_w(g_path);
    put_n(w, 0, 2, 1);
    ck_srd(srd_close(w));
    size_t len;
    uint8_t *b = tu_read_file(g_idx, &len);
    for (size_t off = SRDI_SHX_HDR; off + 16 <= len; off += 16) {
        uint64_t h = off * 0x9e3779b97f4a7c15ull, loc;
        memcpy(&loc, b + off + 8, 8);
        if (loc != 0)
            continue;
        loc = srdi_loc_tomb(off);
        memcpy(b + off, &h, 8);
        memcpy(b + off + 8, &loc, 8);
    }
    ck_assert_int_eq(tu_write_file(g_idx, b, len), 0);
    ino_t ino = inode_of(g_idx);
    w = open_w(g_path);
    ck_assert(inode_of(g_idx) == ino); /* taken over: the header is good */
    srd_view v;
    srd_err rc = srd_get(w, tu_s("never written"), &v);
    ck_assert(rc == SRD_ENOTFOUND || rc == SRD_ECORRUPT);
    ck_srd(srd_put(w, tu_s("new key"), tu_s("new value")));
    ck_srd(srd_get(w, tu_s("new key"), &v));
    ck_assert(v.len == 9 && memcmp(v.data, "new value", 9) == 0);
    srd_view_release(&v);
    expect_n(w, 0, 2, 1);
    ck_srd(srd_close(w));
    free(b);
}
END_TEST

/* A read-only handle's overlay holds an entry the index file did not
 * cover when it opened; a writer then takes the file over and covers it.
 * The count adds only what the overlay holds past the covered tail: the
 * writer's count includes that entry now (it was counted twice before
 * the st_delta fix). */
START_TEST(test_readonly_count_does_not_count_a_covered_overlay_entry_twice)
{
    srd_store *w = open_w(g_path);
    put_n(w, 0, 100, 1);
    ck_srd(srd_close(w));
    setenv("SRD_SHARED_INDEX", "0", 1); /* appends the index lacks */
    w = open_w(g_path);
    put_n(w, 100, 103, 1);
    put_n(w, 0, 1, 2); /* an overwrite: no new key */
    ck_srd(srd_delete(w, tu_s("key-50"), NULL));
    ck_srd(srd_close(w));
    unsetenv("SRD_SHARED_INDEX");
    srd_store *r = open_ro(g_path);
    ck_assert_uint_lt(index_bytes(r), OVERLAY_MAX); /* the shared index */
    uint64_t n = 0;
    ck_srd(srd_count(r, &n));
    ck_assert_uint_eq(n, 102);
    ino_t ino = inode_of(g_idx);
    w = open_w(g_path); /* takes the file over, covers the new entries */
    ck_assert(inode_of(g_idx) == ino);
    ck_srd(srd_count(r, &n));
    ck_assert_uint_eq(n, 102);
    ck_srd(srd_close(w));
    ck_srd(srd_count(r, &n));
    ck_assert_uint_eq(n, 102);
    expect_n(r, 0, 1, 2);
    expect_n(r, 1, 50, 1);
    expect_n(r, 51, 103, 1);
    ck_srd(srd_close(r));
}
END_TEST

/* An order-independent fingerprint of what a handle shows. */
static uint64_t fingerprint(srd_store *st, size_t *count)
{
    srd_iter *it;
    srd_view v;
    uint64_t sum = 0;
    *count = 0;
    ck_srd(srd_iter_open(st, &it));
    while (srd_iter_next(it, &v) == SRD_OK) {
        (*count)++;
        sum += (v.key_hash * 0x9E3779B97F4A7C15ull) ^ srdi_hash(v.data, v.len);
        srd_view_release(&v);
    }
    srd_iter_close(it);
    return sum;
}

START_TEST(test_unpadded_store_reads_the_same_through_the_shared_index)
{
    ck_assert_int_eq(tu_copy_file(SRD_LAYOUTS_DIR "/unpadded-0.4.bin",
                                  g_path), 0);
    setenv("SRD_SHARED_INDEX", "0", 1);
    srd_store *r = open_ro(g_path);
    size_t want_n, got_n;
    uint64_t want = fingerprint(r, &want_n);
    ck_srd(srd_close(r));
    unsetenv("SRD_SHARED_INDEX");
    srd_store *w = open_w(g_path); /* writes the index; appends unpadded */
    ck_srd(srd_put(w, tu_s("extra"), tu_s("an unaligned payload")));
    ck_srd(srd_delete(w, tu_s("extra"), NULL));
    ck_srd(srd_close(w));
    r = open_ro(g_path);
    ck_assert_uint_lt(index_bytes(r), OVERLAY_MAX);
    uint64_t got = fingerprint(r, &got_n);
    ck_assert_uint_eq(got_n, want_n);
    ck_assert_uint_eq(got, want);
    /* and key by key: every iterated key reads through srd_get_hash */
    srd_iter *it;
    srd_view v;
    ck_srd(srd_iter_open(r, &it));
    while (srd_iter_next(it, &v) == SRD_OK) {
        srd_view again;
        ck_srd(srd_get_hash(r, v.key_hash, &again));
        ck_assert_uint_eq(again.len, v.len);
        ck_assert_ptr_eq(again.data, v.data);
        srd_view_release(&again);
        srd_view_release(&v);
    }
    srd_iter_close(it);
    ck_srd(srd_close(r));
}
END_TEST

/* ---- compaction over slots damaged between two writer sessions ------- */

/* Byte offset of key i's slot in the published index file. */
static long slot_of_key(unsigned i)
{
    size_t len;
    uint8_t *b = tu_read_file(g_idx, &len);
    char k[64];
    key_of(k, sizeof k, i);
    long s = slot_of(b, len, srd_key_hash(k, strlen(k)));
    free(b);
    ck_assert(s > 0);
    return s;
}

/* How a third party damages key i's slot in place (no new inode). */
typedef enum { DMG_ZERO, DMG_TOMB_BIT, DMG_HASH_BITS } damage_kind;

static void damage_slot(unsigned i, damage_kind how)
{
    long s = slot_of_key(i);
    if (how == DMG_ZERO) {
        patch64(g_idx, s, 0);
        patch64(g_idx, s + 8, 0);
    } else if (how == DMG_TOMB_BIT) { /* the key looks deleted */
        patch64(g_idx, s + 8, read64(g_idx, s + 8) ^ SRDI_LOC_TOMB);
    } else { /* the slot names a hash no key has */
        patch64(g_idx, s, read64(g_idx, s) ^ 0x0101010101010101ull);
    }
}

/* 400 keys, half of them overwritten (something to reclaim), then a
 * clean close: the index file is exact and of this boot. */
static void store_for_compaction(void)
{
    srd_store *w = open_w(g_path);
    put_n(w, 0, 400, 1);
    put_n(w, 0, 200, 2);
    ck_srd(srd_close(w));
}

/* Every key right through a writer, a read-only handle and a writer open
 * that walks the store. */
static void expect_all_after_compaction(void)
{
    srd_store *w = open_w(g_path);
    expect_n(w, 0, 200, 2);
    expect_n(w, 200, 400, 1);
    srd_verify_report vr;
    ck_srd(srd_verify(w, &vr, NULL, NULL));
    ck_srd(srd_close(w));
    srd_store *r = open_ro(g_path);
    expect_n(r, 0, 200, 2);
    expect_n(r, 200, 400, 1);
    ck_srd(srd_close(r));
    ck_srd(tu_open(g_path, SRD_OPEN_REPAIR, &w));
    expect_n(w, 0, 200, 2);
    expect_n(w, 200, 400, 1);
    ck_srd(srd_close(w));
}

/* The writer takes the damaged file over from its header alone (same
 * boot); its compaction must not trust the table: it proves it against
 * the running sum, finds the mismatch and takes the live set from a walk
 * of the store instead. grow: enough new keys first that the table and
 * the file both grow (the new file's sum is computed afresh: the
 * mismatch must not be laundered, shindex.c invariant 9). */
static srd_store *open_one_table(const char *path);

/* Keys after which a table taken over at 400 has grown (twice the keys
 * per growth: shindex.c). */
#define GROWN_KEYS 6000u

static void compact_over_damage_by(damage_kind how, bool grow, bool one)
{
    store_for_compaction();
    damage_slot(7, how);
    damage_slot(250, how);
    ino_t ino = inode_of(g_idx);
    srd_store *w = one ? open_one_table(g_path) : open_w(g_path);
    ck_assert(inode_of(g_idx) == ino); /* taken over, slots not read */
    if (grow) {
        put_n(w, 400, GROWN_KEYS, 1);
        ck_assert(inode_of(g_idx) != ino); /* the file grew */
    }
    srd_compact_report rep;
    ck_srd(srd_compact_ex(w, NULL, NULL, &rep));
    ck_assert_uint_eq(rep.copied_entries, grow ? GROWN_KEYS : 400);
    ck_assert_uint_gt(rep.reclaimed, 0);
    expect_n(w, 0, 200, 2); /* the new table is the walk's: 7 is back */
    expect_n(w, 200, 400, 1);
    srd_verify_report vr;
    ck_srd(srd_verify(w, &vr, NULL, NULL));
    ck_srd(srd_close(w));
    expect_all_after_compaction();
}

static void compact_over_damage(damage_kind how, bool grow)
{
    compact_over_damage_by(how, grow, false);
}

START_TEST(test_compaction_keeps_a_key_whose_slot_was_zeroed)
{
    compact_over_damage(DMG_ZERO, false);
}
END_TEST

START_TEST(test_compaction_keeps_a_key_whose_slot_bits_flipped)
{
    compact_over_damage(DMG_TOMB_BIT, false);
}
END_TEST

START_TEST(test_compaction_keeps_a_key_whose_slot_hash_bits_flipped)
{
    compact_over_damage(DMG_HASH_BITS, false);
}
END_TEST

START_TEST(test_compaction_keeps_a_zeroed_key_after_the_index_grew)
{
    compact_over_damage(DMG_ZERO, true);
}
END_TEST

/* Mostly deleted keys: the walk meets far more keys (tombstones) than
 * the damaged table counts live, so the table it builds grows while the
 * compaction is inside its epoch section. */
START_TEST(test_compaction_walk_over_many_tombstones_keeps_every_key)
{
    srd_store *w = open_w(g_path);
    put_n(w, 0, 4000, 1);
    char k[64];
    for (unsigned i = 100; i < 4000; i++) {
        key_of(k, sizeof k, i);
        ck_srd(srd_delete(w, tu_s(k), NULL));
    }
    ck_srd(srd_close(w));
    damage_slot(7, DMG_ZERO);
    w = open_w(g_path);
    srd_compact_report rep;
    ck_srd(srd_compact_ex(w, NULL, NULL, &rep));
    ck_assert_uint_eq(rep.copied_entries, 100);
    expect_n(w, 0, 100, 1);
    ck_srd(srd_close(w));
    w = open_ro(g_path);
    expect_n(w, 0, 100, 1);
    bool there = true;
    key_of(k, sizeof k, 100);
    ck_srd(srd_exists(w, tu_s(k), &there));
    ck_assert(!there);
    ck_srd(srd_close(w));
}
END_TEST

/* An undamaged file taken over the same way: the proof passes and the
 * compaction copies exactly the live set. */
START_TEST(test_compaction_over_an_intact_takeover_copies_the_live_set)
{
    store_for_compaction();
    ino_t ino = inode_of(g_idx);
    srd_store *w = open_w(g_path);
    ck_assert(inode_of(g_idx) == ino);
    srd_compact_report rep;
    ck_srd(srd_compact_ex(w, NULL, NULL, &rep));
    ck_assert_uint_eq(rep.copied_entries, 400);
    ck_srd(srd_close(w));
    expect_all_after_compaction();
}
END_TEST

/* ---- srdd's one table: the shared index file alone ---------------------- */

static bool one_table(srd_store *st)
{
    pthread_mutex_lock(&st->mu);
    bool b = srdi_store_wshared(st);
    pthread_mutex_unlock(&st->mu);
    return b;
}

static off_t size_of(const char *path)
{
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    return sb.st_size;
}

/* A writer as srdd opens it: no private table while the file is kept. */
static srd_store *open_one_table(const char *path)
{
    srd_store *w = open_w(path);
    srdi_store_shared_only(w);
    ck_assert(one_table(w));
    return w;
}

static bool deleted(srd_store *st, unsigned i)
{
    char k[64];
    bool existed = false;
    key_of(k, sizeof k, i);
    ck_srd(srd_delete(st, tu_s(k), &existed));
    return existed;
}

static bool present(srd_store *st, unsigned i)
{
    char k[64];
    bool there = false;
    key_of(k, sizeof k, i);
    ck_srd(srd_exists(st, tu_s(k), &there));
    return there;
}

/* Keys [0, n) as left by one_table_work: [0, 1000) deleted, [1000,
 * 2000) at version 2, the rest at version 1; n - 1000 live. */
static void expect_worked(srd_store *st, unsigned n, const char *what)
{
    for (unsigned i = 0; i < 1000; i += 7)
        tu_require(!present(st, i), "%s: deleted key %u is there", what, i);
    expect_n(st, 1000, 2000, 2);
    expect_n(st, 2000, n, 1);
    uint64_t live = 0;
    ck_srd(srd_count(st, &live));
    tu_require(live == n - 1000, "%s: %llu live keys, not %u", what,
               (unsigned long long)live, n - 1000);
}

/* Puts of [0, n), then deletes (the writer's exists through its table:
 * each key deleted once, a batch with repeated and absent keys) and
 * overwrites. */
static void one_table_work(srd_store *w, unsigned n)
{
    put_n(w, 0, n, 1);
    for (unsigned i = 0; i < 500; i++)
        tu_require(deleted(w, i), "key %u was not there to delete", i);
    for (unsigned i = 0; i < 500; i += 50)
        tu_require(!deleted(w, i), "key %u deleted twice", i);
    char k[4][64];
    key_of(k[0], 64, 600);
    key_of(k[1], 64, 600);
    key_of(k[2], 64, 10); /* deleted above */
    key_of(k[3], 64, 601);
    srd_val ks[4] = {tu_s(k[0]), tu_s(k[1]), tu_s(k[2]), tu_s(k[3])};
    size_t del = 0;
    ck_srd(srd_delete_batch(w, ks, 4, &del));
    ck_assert_uint_eq(del, 2);
    for (unsigned i = 500; i < 1000; i++)
        if (i != 600 && i != 601)
            tu_require(deleted(w, i), "key %u was not there", i);
    put_n(w, 1000, 2000, 2);
}

/* srdd's writer keeps the shared index file as its only table: its
 * deletes find their keys there, across growth of the file and across a
 * compaction (which writes a new file and goes on with it alone), and
 * every handle reads the same. */
START_TEST(test_one_table_writer_deletes_and_compacts_through_the_file)
{
    srd_store *w = open_one_table(g_path);
    off_t size0 = size_of(g_idx);
    one_table_work(w, 6000);
    ck_assert(size_of(g_idx) > size0); /* it grew */
    ck_assert(one_table(w));
    ck_assert_uint_le(index_bytes(w), OVERLAY_MAX); /* no private table */
    expect_worked(w, 6000, "one table");
    ino_t ino = inode_of(g_idx);
    srd_compact_report rep;
    ck_srd(srd_compact_ex(w, NULL, NULL, &rep));
    ck_assert_uint_eq(rep.copied_entries, 5000);
    ck_assert(inode_of(g_idx) != ino); /* the new store's file */
    ck_assert(one_table(w));
    expect_worked(w, 6000, "after compaction");
    put_n(w, 6000, 12000, 1); /* the new file grows too */
    ck_assert(one_table(w));
    expect_worked(w, 12000, "grown after compaction");
    ck_assert(!deleted(w, 3)); /* still deleted after the compaction */
    ck_assert(deleted(w, 11999));
    put_n(w, 11999, 12000, 1);
    ck_srd(srd_close(w));
    srd_store *r = open_ro(g_path);
    expect_worked(r, 12000, "read-only");
    ck_srd(srd_close(r));
    ck_srd(tu_open(g_path, SRD_OPEN_REPAIR, &w)); /* a walk of the store */
    expect_worked(w, 12000, "walked");
    ck_srd(srd_close(w));
}
END_TEST

/* The file given up (its growth cannot create a new one): the writer
 * copies its slots into a private table first and goes on right; the
 * next compaction writes a file again and drops the private table. */
START_TEST(test_one_table_writer_falls_back_to_a_private_table)
{
    srd_store *w = open_one_table(g_path);
    put_n(w, 0, 1000, 1);
    char *tmp = tu_join(g_dir, "store.srd.idx.tmp");
    ck_assert_int_eq(mkdir(tmp, 0700), 0);
    struct stat sb;
    unsigned n = 1000;
    while (stat(g_idx, &sb) == 0 && n < 20000) {
        put_n(w, n, n + 500, 1);
        n += 500;
    }
    ck_assert_msg(stat(g_idx, &sb) != 0, "the index file was kept");
    ck_assert(!one_table(w));
    ck_assert_uint_gt(index_bytes(w), OVERLAY_MAX); /* a private table */
    n += 2000;
    one_table_work(w, n);
    expect_worked(w, n, "private after giving up");
    ck_assert_int_eq(rmdir(tmp), 0);
    ck_srd(srd_compact(w, NULL));
    ck_assert_int_eq(stat(g_idx, &sb), 0);
    ck_assert(one_table(w));
    expect_worked(w, n, "one table again");
    ck_assert(!deleted(w, 20));
    ck_srd(srd_close(w));
    srd_store *r = open_ro(g_path);
    expect_worked(r, n, "read-only");
    ck_srd(srd_close(r));
    free(tmp);
}
END_TEST

/* Reopened, srdd's writer takes the file over and keeps it as its only
 * table (nothing copied at open); a key whose slot a third party zeroed
 * meanwhile is kept by a compaction, which proves the slots first. */
START_TEST(test_one_table_writer_reopens_and_compacts_over_damage)
{
    srd_store *w = open_one_table(g_path);
    one_table_work(w, 3000);
    ck_srd(srd_close(w));
    ino_t ino = inode_of(g_idx);
    w = open_one_table(g_path);
    ck_assert(inode_of(g_idx) == ino); /* taken over */
    expect_worked(w, 3000, "reopened");
    ck_srd(srd_close(w));
    tu_rmtree(g_dir);
    ck_assert_int_eq(mkdir(g_dir, 0700), 0);
    compact_over_damage_by(DMG_ZERO, true, true);
}
END_TEST

static Suite *shindex_suite(void)
{
    Suite *s = suite_create("shindex");
    TCase *tc = tcase_create("file");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_writer_slots_are_found_by_a_reader_mapping);
    tcase_add_test(tc, test_newest_position_wins_in_the_file);
    tcase_add_test(tc, test_growth_writes_new_files_old_mapping_stays_valid);
    tcase_add_test(tc, test_header_checks_reject_every_mismatch);
    tcase_add_test(tc, test_unclean_file_of_another_boot_is_not_trusted);
    tcase_add_test(tc, test_lookup_in_a_full_table_terminates);
    tcase_add_test(tc, test_running_sum_matches_the_slots_after_every_change);
    tcase_add_test(tc, test_takeover_checks_the_slots_only_of_a_file_of_another_boot);
    tcase_add_test(tc, test_untouched_takeover_leaves_the_file_as_it_was);
    suite_add_tcase(s, tc);

    tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_first_writer_open_creates_the_index_file);
    tcase_add_test(tc, test_readonly_open_maps_the_index_instead_of_building_one);
    tcase_add_test(tc, test_readonly_follows_the_writer_through_growth);
    tcase_add_test(tc, test_iteration_over_the_shared_index_sees_every_live_key);
    tcase_add_test(tc, test_slot_naming_another_keys_entry_is_an_error_not_its_value);
    tcase_add_test(tc, test_damaged_index_files_fall_back_and_the_writer_rebuilds);
    tcase_add_test(tc, test_index_of_another_store_is_not_used);
    tcase_add_test(tc, test_stale_index_covering_less_is_caught_up_by_the_reader);
    tcase_add_test(tc, test_index_ahead_of_a_shortened_store_is_not_used);
    tcase_add_test(tc, test_writer_reopen_takes_over_the_index_file);
    tcase_add_test(tc, test_writer_open_after_clean_close_does_not_walk_the_store);
    tcase_add_test(tc, test_writer_open_after_kill_replays_only_the_tail);
    tcase_add_test(tc, test_unclean_inexact_file_is_not_taken_over);
    tcase_add_test(tc, test_writer_over_a_forged_index_errs_never_shows_another_value);
    tcase_add_test(tc, test_slot_naming_a_suffix_of_its_value_is_an_error);
    tcase_add_test(tc, test_readonly_overlay_entry_wins_over_the_shared_slot);
    tcase_add_test(tc, test_damage_below_covered_is_an_error_on_read);
    tcase_add_test(tc, test_writer_over_an_index_whose_counts_lie_does_not_spin);
    tcase_add_test(tc, test_readonly_count_does_not_count_a_covered_overlay_entry_twice);
    tcase_add_test(tc, test_unpadded_store_reads_the_same_through_the_shared_index);
    tcase_add_test(tc, test_compaction_keeps_a_key_whose_slot_was_zeroed);
    tcase_add_test(tc, test_compaction_keeps_a_key_whose_slot_bits_flipped);
    tcase_add_test(tc, test_compaction_keeps_a_key_whose_slot_hash_bits_flipped);
    tcase_add_test(tc, test_compaction_keeps_a_zeroed_key_after_the_index_grew);
    tcase_add_test(tc, test_compaction_walk_over_many_tombstones_keeps_every_key);
    tcase_add_test(tc, test_compaction_over_an_intact_takeover_copies_the_live_set);
    tcase_add_test(tc, test_one_table_writer_deletes_and_compacts_through_the_file);
    tcase_add_test(tc, test_one_table_writer_falls_back_to_a_private_table);
    tcase_add_test(tc, test_one_table_writer_reopens_and_compacts_over_damage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(shindex_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
