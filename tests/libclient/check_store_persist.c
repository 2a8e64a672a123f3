/* SPDX-License-Identifier: MIT */
/*
 * check_store_persist.c -- the public store API (srd.h) in embedded mode:
 * persistence, torn-tail recovery, repair and checksums.
 * Split from check_store.c; the reference test ported is named above
 * each port (shared/REFERENCE-TESTS.md). Fixture: store_fixture.h.
 */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>
#include <zlib.h>

#include "store_fixture.h"

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

/* A writer open and a reader open of g_path are both SRD_ECORRUPT and
 * leave the file byte for byte as it was. */
static void expect_opens_refused_untouched_(int line)
{
    snap s = snap_file(g_path);
    ck_assert_int_eq(try_open(g_path, SRD_OPEN_CREATE), SRD_ECORRUPT);
    expect_file_is_(g_path, s, line);
    ck_assert_int_eq(try_open(g_path, SRD_OPEN_READONLY), SRD_ECORRUPT);
    expect_file_is_(g_path, s, line);
    free(s.b);
}

#define expect_opens_refused_untouched() \
    expect_opens_refused_untouched_(__LINE__)

/* The saved bytes file cut holds exactly the n bytes at want. */
static void expect_cut_holds(const char *cut, const void *want, size_t n)
{
    snap saved = snap_file(cut);
    ck_assert_uint_eq(saved.n, n);
    ck_assert_mem_eq(saved.b, want, n);
    free(saved.b);
}

/* srd: a non-empty file with no valid chain is refused and left alone */
START_TEST(test_file_without_valid_chain_is_refused_untouched)
{
    uint8_t junk[1000];
    fill_pattern(junk, sizeof junk, 42);
    ck_assert_int_eq(tu_write_file(g_path, junk, sizeof junk), 0);
    expect_opens_refused_untouched();
    char *cut = tu_join(g_dir, "store.srd.cut-0");
    ck_assert_int_eq(tu_file_size(cut), -1);
    free(cut);
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
    expect_cut_holds(cut, junk, sizeof junk);
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
    expect_cut_holds(cut, "CORRUPT", 7);
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
    expect_opens_refused_untouched();
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

static Suite *store_persist_suite(void)
{
    Suite *s = suite_create("store_persist");
    TCase *tc = store_tcase(s, "persistence");
    tcase_add_test(tc, test_values_survive_reopen);
    tcase_add_test(tc, test_updates_survive_multiple_reopens);
    tcase_add_test(tc, test_writer_reopen_cuts_torn_tail);
    tcase_add_test(tc, test_readonly_open_ignores_torn_tail_without_cutting);
    tcase_add_test(tc, test_last_entry_with_bad_crc_is_treated_as_torn);
    tcase_add_test(tc, test_file_without_valid_chain_is_refused_untouched);
    tcase_add_test(tc, test_repair_saves_unreadable_bytes_then_cuts);
    tcase_add_test(tc, test_repair_of_torn_store_saves_junk_at_tail_offset);

    tc = store_tcase(s, "integrity");
    tcase_add_test(tc, test_single_entry_store_with_bad_payload_is_ecorrupt);
    tcase_add_test(tc, test_corrupt_older_entry_reads_but_fails_checksum);
    tcase_add_test(tc, test_verify_reports_offset_of_damaged_middle_entry);
    tcase_add_test(tc, test_put_and_stream_of_same_bytes_have_same_checksum);
    tcase_add_test(tc, test_meta_matches_format_layout);
    tcase_add_test(tc, test_verify_progress_can_cancel);
    return s;
}

int main(void)
{
    return tu_main(store_persist_suite());
}
