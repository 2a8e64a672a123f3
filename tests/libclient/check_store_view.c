/* SPDX-License-Identifier: MIT */
/*
 * check_store_view.c -- the public store API (srd.h) in embedded mode:
 * payload alignment and zero-copy views into the mapping.
 * Split from check_store.c; the reference test ported is named above
 * each port (shared/REFERENCE-TESTS.md). Fixture: store_fixture.h.
 */
#define _GNU_SOURCE 1
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_fixture.h"

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

static Suite *store_view_suite(void)
{
    Suite *s = suite_create("store_view");
    TCase *tc = store_tcase(s, "alignment");
    tcase_add_test(tc, test_every_payload_address_is_64_byte_aligned);

    tc = store_tcase(s, "zero_copy");
    tcase_add_test(tc, test_view_points_into_read_only_mapping_of_store);
    tcase_add_test(tc, test_writing_through_view_faults);
    tcase_add_test(tc, test_view_stays_valid_after_writes_of_other_keys);
    tcase_add_test(tc, test_view_keeps_old_bytes_after_overwrite);
    return s;
}

int main(void)
{
    return tu_main(store_view_suite());
}
