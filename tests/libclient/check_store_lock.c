/* SPDX-License-Identifier: MIT */
/*
 * check_store_lock.c -- the public store API (srd.h) in embedded mode:
 * the writer lock across processes, refresh of a read-only handle and sync modes.
 * Split from check_store.c; the reference test ported is named above
 * each port (shared/REFERENCE-TESTS.md). Fixture: store_fixture.h.
 */
#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store_fixture.h"

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

/* The lock itself: a second writer that opted out of the hand-over
 * (SRD_OPEN_EMBEDDED) is refused and changes nothing (check_autostart:
 * the hand-over a default open asks for). */
START_TEST(test_second_writer_in_other_process_gets_ebusy)
{
    int go[2], go2[2], go3[2];
    pid_t busy = spawn_opener(g_path, SRD_OPEN_CREATE | SRD_OPEN_EMBEDDED,
                              go);
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

/* In one process a default open shares the handle open already; one that
 * opted out (SRD_OPEN_EMBEDDED) meets the lock. */
START_TEST(test_second_writer_in_same_process_gets_ebusy)
{
    srd_store *st = open_rw(g_path);
    put_str(st, "k", "v");
    const unsigned emb = SRD_OPEN_EMBEDDED;
    ck_assert_int_eq(try_open(g_path, SRD_OPEN_CREATE | emb), SRD_EBUSY);
    ck_assert_int_eq(try_open(g_path, emb), SRD_EBUSY);
    ck_assert_int_eq(try_open(g_path, SRD_OPEN_REPAIR | emb), SRD_EBUSY);
    ck_srd(try_open(g_path, SRD_OPEN_CREATE)); /* shared, then closed */
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

static Suite *store_lock_suite(void)
{
    Suite *s = suite_create("store_lock");
    TCase *tc = store_tcase(s, "lock_and_modes");
    tcase_add_test(tc, test_second_writer_in_other_process_gets_ebusy);
    tcase_add_test(tc, test_second_writer_in_same_process_gets_ebusy);
    tcase_add_test(tc,
                   test_readonly_refresh_sees_entries_appended_by_other_process);
    tcase_add_test(tc, test_each_sync_mode_persists_writes);
    return s;
}

int main(void)
{
    return tu_main(store_lock_suite());
}
