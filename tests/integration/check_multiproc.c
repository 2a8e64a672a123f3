/* SPDX-License-Identifier: MIT */
/*
 * check_multiproc.c -- many client processes on one srdd: 8 writers with
 * disjoint and overlapping keys (puts, batches, async puts, deletes) while
 * 8 readers read; at the end every process, without being told anything
 * but the expected fingerprint, must show the state of the store reopened
 * fresh. Child processes re-run this binary ("child").
 */
#define _GNU_SOURCE 1
#include <poll.h>
#include <stdatomic.h>

#include "client_harness.h"

#define WRITERS 8
#define READERS 8
#define OWN_KEYS 150
#define SHARED_KEYS 40

/* "<key>=<writer>:<n>" plus filler: a reader can tell a value belongs to
 * its key. */
static size_t make_value(char *buf, size_t cap, const char *key, int id,
                         int n)
{
    int len = snprintf(buf, cap, "%s=%d:%d:", key, id, n);
    size_t fill = (size_t)((n * 37 + id * 11) % 200);
    if (fill > cap - (size_t)len - 1)
        fill = cap - (size_t)len - 1;
    memset(buf + len, 'a' + id, fill);
    return (size_t)len + fill;
}

static bool value_matches(const srd_view *v, const char *key)
{
    size_t k = strlen(key);
    return v->len > k && !memcmp(v->data, key, k) && v->data[k] == '=';
}

static void key_name(char *buf, size_t cap, int i)
{
    /* The universe readers pick from: own keys of every writer, shared. */
    if (i < WRITERS * OWN_KEYS)
        snprintf(buf, cap, "w%d-%d", i / OWN_KEYS, i % OWN_KEYS);
    else
        snprintf(buf, cap, "s-%d", (i - WRITERS * OWN_KEYS) % SHARED_KEYS);
}

static void done_cb(void *ctx, srd_err rc)
{
    atomic_int *bad = ctx;
    if (rc != SRD_OK)
        atomic_fetch_add(bad, 1);
}

/* ======================================================================== */
/* Children                                                                 */
/* ======================================================================== */

static int writer_own(srd_store *st, int id)
{
    char k[32], v[512];
    for (int i = 0; i < OWN_KEYS; i++) {
        snprintf(k, sizeof k, "w%d-%d", id, i);
        size_t n = make_value(v, sizeof v, k, id, i);
        if (srd_put(st, tu_s(k), (srd_val){v, n}) != SRD_OK)
            return 1;
    }
    atomic_int bad;
    atomic_init(&bad, 0);
    for (int i = 0; i < OWN_KEYS; i += 3) { /* overwrite a third, async */
        snprintf(k, sizeof k, "w%d-%d", id, i);
        size_t n = make_value(v, sizeof v, k, id, 1000 + i);
        if (srd_put_async(st, tu_s(k), (srd_val){v, n}, done_cb, &bad) !=
            SRD_OK)
            return 1;
    }
    return srd_flush(st) != SRD_OK || atomic_load(&bad) != 0;
}

static int writer_shared(srd_store *st, int id)
{
    static char kb[5][32], vb[5][512];
    srd_val keys[5], vals[5];
    for (int r = 0; r < 16; r++) {
        for (int m = 0; m < 5; m++) {
            snprintf(kb[m], sizeof kb[m], "s-%d", (r * 5 + m + id) %
                                                      SHARED_KEYS);
            size_t n = make_value(vb[m], sizeof vb[m], kb[m], id, r);
            keys[m] = tu_s(kb[m]);
            vals[m] = (srd_val){vb[m], n};
        }
        if (srd_put_batch(st, keys, vals, 5) != SRD_OK)
            return 1;
    }
    char k[32];
    bool existed;
    for (int i = 0; i < OWN_KEYS; i += 10) { /* delete a tenth of ours */
        snprintf(k, sizeof k, "w%d-%d", id, i);
        if (srd_delete(st, tu_s(k), &existed) != SRD_OK || !existed)
            return 1;
    }
    srd_val gone[2] = {tu_s("s-1"), tu_s("s-2")};
    size_t deleted;
    return id == 3 && srd_delete_batch(st, gone, 2, &deleted) != SRD_OK;
}

static int child_writer(char **argv)
{
    srd_store *st = ch_child_open(argv[0]);
    int id = atoi(argv[1]);
    if (writer_own(st, id) || writer_shared(st, id)) {
        printf("write failed\n");
        return 1;
    }
    printf("wrote\n");
    fflush(stdout);
    int rc = ch_child_converge(st, 20000);
    srd_close(st);
    return rc;
}

static bool stdin_ready(void)
{
    struct pollfd p = {.fd = 0, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

static int child_reader(char **argv)
{
    srd_store *st = ch_child_open(argv[0]);
    uint64_t seed = (uint64_t)atoi(argv[1]) + 1;
    unsigned long reads = 0, hits = 0;
    printf("ready\n");
    fflush(stdout);
    while (!stdin_ready()) {
        char k[32];
        key_name(k, sizeof k, (int)(tu_rand(&seed) %
                                    (WRITERS * OWN_KEYS + SHARED_KEYS)));
        srd_view v;
        if (srd_get(st, tu_s(k), &v) == SRD_OK) {
            if (!value_matches(&v, k)) {
                printf("key %s holds another key's value\n", k);
                return 1;
            }
            srd_view_release(&v);
            hits++;
        }
        reads++;
    }
    int rc = ch_child_converge(st, 20000);
    fprintf(stderr, "reader %s: %lu reads, %lu hits\n", argv[1], reads, hits);
    srd_close(st);
    return rc;
}

/* ======================================================================== */
/* The test                                                                 */
/* ======================================================================== */

START_TEST(test_8_writers_8_readers_converge_to_the_reopened_store)
{
    start_srdd(NULL);
    ch_child kids[WRITERS + READERS];
    char ids[WRITERS + READERS][8], line[256];
    for (int i = 0; i < READERS; i++) {
        snprintf(ids[i], sizeof ids[i], "%d", i);
        const char *argv[] = {"reader", g_store, ids[i], NULL};
        kids[i] = ch_spawn(argv);
        ck_assert(ch_line(&kids[i], line, sizeof line));
        ck_assert_str_eq(line, "ready");
    }
    uint64_t t0 = ch_now_us();
    for (int i = 0; i < WRITERS; i++) {
        snprintf(ids[READERS + i], sizeof ids[0], "%d", i);
        const char *argv[] = {"writer", g_store, ids[READERS + i], NULL};
        kids[READERS + i] = ch_spawn(argv);
    }
    for (int i = READERS; i < READERS + WRITERS; i++) {
        ck_assert(ch_line(&kids[i], line, sizeof line));
        ck_assert_msg(!strcmp(line, "wrote"), "writer %d: %s", i - READERS,
                      line);
    }
    printf("8 writers done in %llu ms\n",
           (unsigned long long)((ch_now_us() - t0) / 1000u));
    ch_state want = ch_state_fresh(g_store);
    ch_state_fmt(want, line, sizeof line);
    for (int i = 0; i < READERS + WRITERS; i++)
        ch_say(&kids[i], line);
    long worst = 0;
    for (int i = 0; i < READERS + WRITERS; i++) {
        ck_assert(ch_line(&kids[i], line, sizeof line));
        ck_assert_msg(!strncmp(line, "converged ", 10), "process %d: %s", i,
                      line);
        long ms = atol(line + 10);
        worst = ms > worst ? ms : worst;
        ck_assert_int_eq(ch_wait(&kids[i]), 0);
    }
    printf("all 16 processes showed the fresh state; the slowest needed "
           "%ld ms more after the last write\n", worst);
    /* Writer 3 deletes s-1 and s-2, which others may write again. */
    ck_assert_uint_ge(want.count,
                      WRITERS * (OWN_KEYS - OWN_KEYS / 10) + SHARED_KEYS - 2);
    ck_assert_uint_le(want.count,
                      WRITERS * (OWN_KEYS - OWN_KEYS / 10) + SHARED_KEYS);
    stop_srdd(SIGTERM);
    srd_store *st;
    ck_srd(tu_open(g_store, 0, &st));
    ck_assert(ch_state_eq(ch_state_of(st), want));
    srd_close(st);
}
END_TEST

static Suite *multiproc_suite(void)
{
    Suite *s = suite_create("multiproc");
    TCase *tc = tcase_create("multiproc");
    tcase_add_checked_fixture(tc, ch_setup, ch_teardown);
    tcase_set_timeout(tc, 100);
    tcase_add_test(tc, test_8_writers_8_readers_converge_to_the_reopened_store);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    static const ch_role roles[] = {
        {"writer", 2, child_writer},
        {"reader", 2, child_reader},
        {NULL, 0, NULL},
    };
    return ch_main(argc, argv, roles, multiproc_suite);
}
