/* SPDX-License-Identifier: MIT */
/*
 * check_readfaults.c -- read errors after the open: a read-only handle's
 * srd_refresh and an online compaction (its catch-up walk over entries
 * written while it copied included), with pread(2) failing
 * (EIO) at every one of its calls in turn. pread is wrapped with the
 * linker's --wrap (tests/CMakeLists.txt), so the library's own calls are
 * the ones that fail.
 *
 * The promises: a failed read is reported as an error, never taken for
 * the end of the data (a refresh that could not read says so instead of
 * reporting nothing new) and never for damage (no cut, no rewrite of the
 * store); every key a handle served before the fault it still serves,
 * whole (a refresh that failed part way may already show some newer
 * values); once the disk reads again, the same call succeeds, nothing is
 * missing and the handle's figures match the writer's.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* Fault injection                                                           */
/* ------------------------------------------------------------------------ */

static struct {
    bool armed;       /* calls are counted */
    unsigned calls;   /* counted so far */
    unsigned at;      /* the call that fails (1-based); 0: none */
    bool every;       /* every counted call fails */
    bool tripped;
} g_rf;

ssize_t __real_pread(int fd, void *buf, size_t n, off_t off);
ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off);

ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off)
{
    if (g_rf.armed) {
        unsigned c = ++g_rf.calls;
        if (g_rf.every || c == g_rf.at) {
            g_rf.tripped = true;
            errno = EIO;
            return -1;
        }
    }
    return __real_pread(fd, buf, n, off);
}

static void rf_arm(unsigned at, bool every)
{
    g_rf.calls = 0;
    g_rf.at = at;
    g_rf.every = every;
    g_rf.tripped = false;
    g_rf.armed = true;
}

/* Stop failing; returns how many calls were counted. */
static unsigned rf_disarm(void)
{
    g_rf.armed = false;
    return g_rf.calls;
}

/* ------------------------------------------------------------------------ */
/* Fixture                                                                   */
/* ------------------------------------------------------------------------ */

static char *g_dir, *g_store;

static void setup(void)
{
    tu_fixture_begin(&g_dir, &g_store);
}

static void teardown(void)
{
    rf_disarm();
    tu_fixture_end(&g_dir, &g_store);
}

/* The value of key i in round r: long enough to span pages now and then. */
static void rf_value(unsigned i, unsigned r, char *buf, size_t cap,
                     srd_val *key, srd_val *val, char *kbuf, size_t kcap)
{
    snprintf(kbuf, kcap, "key-%03u", i);
    size_t n = (size_t)snprintf(buf, cap, "value of %u in round %u:", i, r);
    size_t want = 40 + (size_t)(i * 97 + r * 31) % 3000;
    while (n < want && n + 1 < cap)
        { buf[n] = (char)('a' + (i + n) % 26); n++; }
    *key = (srd_val){kbuf, strlen(kbuf)};
    *val = (srd_val){buf, n};
}

static void rf_put_round(srd_store *w, unsigned n, unsigned r)
{
    char buf[4096], kbuf[32];
    for (unsigned i = 0; i < n; i++) {
        srd_val k, v;
        rf_value(i, r, buf, sizeof buf, &k, &v, kbuf, sizeof kbuf);
        ck_srd(srd_put(w, k, v));
    }
}

/* Whether view holds key i's value of round r, whole. */
static bool rf_is_round(const srd_view *view, unsigned i, unsigned r)
{
    char buf[4096], kbuf[32];
    srd_val k, v;
    rf_value(i, r, buf, sizeof buf, &k, &v, kbuf, sizeof kbuf);
    return view->len == v.len && memcmp(view->data, v.ptr, v.len) == 0;
}

/* Every key reads back whole through st, as round `lo` or round `hi`. */
static void rf_expect_rounds(srd_store *st, unsigned n, unsigned lo,
                             unsigned hi)
{
    char buf[4096], kbuf[32];
    for (unsigned i = 0; i < n; i++) {
        srd_val k, v;
        rf_value(i, lo, buf, sizeof buf, &k, &v, kbuf, sizeof kbuf);
        srd_view view;
        srd_err rc = srd_get(st, k, &view);
        tu_require(rc == SRD_OK, "%s: %s", kbuf, srd_errname(rc));
        tu_require(rf_is_round(&view, i, lo) || rf_is_round(&view, i, hi),
                   "%s: %zu bytes, not round %u's or %u's value", kbuf,
                   view.len, lo, hi);
        srd_view_release(&view);
    }
}

static void rf_expect_round(srd_store *st, unsigned n, unsigned r)
{
    rf_expect_rounds(st, n, r, r);
}

/* Two rounds of about 1.2 MB each: a walk over one takes several reads
 * (recovery reads in 1 MiB blocks). */
#define RF_KEYS 800u

/* ------------------------------------------------------------------------ */
/* Refresh of a read-only handle                                             */
/* ------------------------------------------------------------------------ */

/* A writer and a read-only handle that has seen round 0; the writer has
 * written round 1 since (in the same process: a read-only handle takes
 * no lock). Without the shared index file: with it, a read-only handle
 * sees new entries through the writer's table and its refresh reads
 * nothing of the file (check_shared_index covers that path). */
static void rf_two_handles(srd_store **w, srd_store **ro)
{
    setenv("SRD_SHARED_INDEX", "0", 1);
    ck_srd(tu_open(g_store, SRD_OPEN_CREATE | SRD_OPEN_EMBEDDED, w));
    rf_put_round(*w, RF_KEYS, 0);
    ck_srd(tu_open(g_store, SRD_OPEN_READONLY, ro));
    rf_expect_round(*ro, RF_KEYS, 0);
    rf_put_round(*w, RF_KEYS, 1);
}

/* A read-only handle that caught up counts what the writer counts. */
static void rf_expect_same_figures(srd_store *ro, srd_store *w)
{
    srd_info a, b;
    ck_srd(srd_get_info(ro, &a));
    ck_srd(srd_get_info(w, &b));
    ck_assert_uint_eq(a.entries, b.entries);
    ck_assert_uint_eq(a.live_keys, b.live_keys);
    ck_assert_uint_eq(a.live_bytes, b.live_bytes);
    ck_assert_uint_eq(a.tail, b.tail);
}

START_TEST(test_refresh_that_cannot_read_reports_it_and_keeps_serving)
{
    srd_store *w, *ro;
    rf_two_handles(&w, &ro);
    rf_arm(0, true);
    uint64_t added = 12345;
    srd_err rc = srd_refresh(ro, &added);
    rf_disarm();
    ck_assert_msg(g_rf.tripped, "the refresh read nothing with pread");
    ck_assert_msg(rc != SRD_OK, "a refresh that could not read said OK "
                  "(added %llu)", (unsigned long long)added);
    ck_assert_msg(rc == SRD_EIO, "refresh: %s, not SRD_EIO", srd_errname(rc));
    ck_assert_uint_eq(added, 0);
    rf_expect_round(ro, RF_KEYS, 0); /* what it served, it still serves */
    ck_srd(srd_refresh(ro, &added));   /* the disk reads again */
    ck_assert_uint_eq(added, RF_KEYS);
    rf_expect_round(ro, RF_KEYS, 1);
    rf_expect_same_figures(ro, w);
    ck_srd(srd_close(ro));
    ck_srd(srd_close(w));
}
END_TEST

START_TEST(test_refresh_with_a_read_error_at_any_call_loses_nothing)
{
    /* How many preads does one refresh make? */
    srd_store *w, *ro;
    rf_two_handles(&w, &ro);
    rf_arm(0, false);
    ck_srd(srd_refresh(ro, NULL));
    unsigned total = rf_disarm();
    ck_srd(srd_close(ro));
    ck_srd(srd_close(w));
    ck_assert_uint_gt(total, 0);
    for (unsigned at = 1; at <= total; at++) {
        tu_rmtree(g_dir);
        ck_assert_int_eq(mkdir(g_dir, 0700), 0);
        rf_two_handles(&w, &ro);
        rf_arm(at, false);
        uint64_t added = 0;
        srd_err rc = srd_refresh(ro, &added);
        rf_disarm();
        ck_assert_msg(rc == SRD_OK || rc == SRD_EIO,
                      "read error at call %u of %u: %s", at, total,
                      srd_errname(rc));
        ck_assert_msg(rc != SRD_OK || !g_rf.tripped || added == RF_KEYS,
                      "read error at call %u: OK with %llu of %u new", at,
                      (unsigned long long)added, RF_KEYS);
        /* Failed part way, some keys may show their newer value, each
         * whole; none is lost. */
        if (rc == SRD_OK)
            rf_expect_round(ro, RF_KEYS, 1);
        else
            rf_expect_rounds(ro, RF_KEYS, 0, 1);
        uint64_t again = 0;
        ck_srd(srd_refresh(ro, &again));
        ck_assert_uint_eq(added + again, RF_KEYS);
        rf_expect_round(ro, RF_KEYS, 1);
        rf_expect_same_figures(ro, w);
        ck_srd(srd_close(ro));
        ck_srd(srd_close(w));
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Compaction                                                                */
/* ------------------------------------------------------------------------ */

/* Progress of a compaction: the first call writes round 2 of the first
 * RF_DURING keys, which the compaction's catch-up must then copy. */
#define RF_DURING 200u

typedef struct rf_side {
    srd_store *w;
    bool wrote;
} rf_side;

static int rf_write_during(void *ctx, uint64_t done, uint64_t total)
{
    (void)done;
    (void)total;
    rf_side *side = ctx;
    if (!side->wrote) {
        side->wrote = true;
        bool armed = g_rf.armed;
        g_rf.armed = false; /* the puts do not count */
        rf_put_round(side->w, RF_DURING, 2);
        g_rf.armed = armed;
    }
    return 0;
}

/* Keys below RF_DURING hold round 2, the others round 1. */
static void rf_expect_after_compaction(srd_store *st)
{
    for (unsigned i = 0; i < RF_KEYS; i++) {
        char kbuf[32];
        snprintf(kbuf, sizeof kbuf, "key-%03u", i);
        srd_view view;
        srd_err rc = srd_get(st, (srd_val){kbuf, strlen(kbuf)}, &view);
        tu_require(rc == SRD_OK, "%s: %s", kbuf, srd_errname(rc));
        tu_require(rf_is_round(&view, i, i < RF_DURING ? 2 : 1),
                   "%s: not its newest value", kbuf);
        srd_view_release(&view);
    }
}

static srd_err rf_compact_with_writes(srd_store *w)
{
    rf_side side = {.w = w, .wrote = false};
    srd_err rc = srd_compact_ex(w, rf_write_during, &side, NULL);
    ck_assert_msg(side.wrote, "the compaction reported no progress");
    return rc;
}

START_TEST(test_compaction_with_a_read_error_at_any_call_loses_nothing)
{
    /* Round 0 is overwritten by round 1: compaction has garbage to drop;
     * round 2 arrives while it copies. */
    srd_store *w;
    ck_srd(tu_open(g_store, SRD_OPEN_CREATE | SRD_OPEN_EMBEDDED, &w));
    rf_put_round(w, RF_KEYS, 0);
    rf_put_round(w, RF_KEYS, 1);
    ck_srd(srd_close(w));
    char *copy = tu_join(g_dir, "pristine");
    ck_assert_int_eq(tu_copy_file(g_store, copy), 0);
    ck_srd(tu_open(g_store, SRD_OPEN_EMBEDDED, &w));
    rf_arm(0, false);
    ck_srd(rf_compact_with_writes(w));
    unsigned total = rf_disarm();
    ck_srd(srd_close(w));
    ck_assert_uint_gt(total, 0);
    for (unsigned at = 1; at <= total; at++) {
        ck_assert_int_eq(tu_copy_file(copy, g_store), 0);
        ck_srd(tu_open(g_store, SRD_OPEN_EMBEDDED, &w));
        rf_arm(at, false);
        srd_err rc = rf_compact_with_writes(w);
        rf_disarm();
        ck_assert_msg(rc == SRD_OK || rc == SRD_EIO,
                      "read error at call %u of %u: compaction said %s", at,
                      total, srd_errname(rc));
        /* the handle goes on, with every value whole */
        rf_expect_after_compaction(w);
        ck_srd(srd_put(w, tu_s("after"), tu_s("the fault")));
        ck_srd(srd_close(w));
        /* and the file the path names is complete */
        ck_srd(tu_open(g_store, SRD_OPEN_EMBEDDED, &w));
        rf_expect_after_compaction(w);
        srd_verify_report rep;
        ck_srd(srd_verify(w, &rep, NULL, NULL));
        ck_assert_uint_eq(rep.past_tail_bytes, 0);
        ck_srd(srd_compact(w, NULL)); /* a compaction works again */
        rf_expect_after_compaction(w);
        ck_srd(srd_close(w));
    }
    free(copy);
}
END_TEST

static Suite *readfaults_suite(void)
{
    Suite *s = suite_create("readfaults");
    TCase *tc = tcase_create("readfaults");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_refresh_that_cannot_read_reports_it_and_keeps_serving);
    tcase_add_test(tc, test_refresh_with_a_read_error_at_any_call_loses_nothing);
    tcase_add_test(tc, test_compaction_with_a_read_error_at_any_call_loses_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(readfaults_suite());
}
