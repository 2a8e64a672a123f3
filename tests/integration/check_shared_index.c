/* SPDX-License-Identifier: MIT */
/*
 * check_shared_index.c -- the shared index file (libclient/shindex.c)
 * between real processes. Reader processes (read-only handles, and client
 * handles of srdd) open and read over and over while one writer grows the
 * index several times and compacts: every read must give the newest
 * acknowledged value of its key or a newer one, never another key's. And
 * a writer process killed with SIGKILL at random moments while it grows
 * or rewrites the index: the next open (read-only, then as writer) shows
 * every acknowledged write. Children re-run this binary ("child"); the
 * processes share what was acknowledged through a mapped file.
 */
#define _GNU_SOURCE 1
#include <stdatomic.h>
#include <sys/mman.h>

#include "client_harness.h"
#include "client_impl.h"
#include "store_impl.h"

#define MAX_KEYS 65536u
#define READERS 4

/* The mapped file: a stop flag, the keys written so far, how many reader
 * opens used the shared index, and the acknowledged version of each key. */
typedef struct acked {
    _Atomic uint64_t stop;
    _Atomic uint64_t nkeys;
    _Atomic uint64_t shared_opens;
    _Atomic uint64_t reads;
    _Atomic uint64_t ver[MAX_KEYS];
    /* followers of the shared index (test_client_readers_follow_...):
     * phase 1 once srdd is made to abandon the index; the readers that
     * found themselves subscribed since (a bit each) */
    _Atomic uint64_t phase;
    _Atomic uint64_t subscribed;
} acked;

static acked *acked_map(const char *path, bool create)
{
    int fd = open(path, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0600);
    if (fd < 0 || (create && ftruncate(fd, sizeof(acked)) != 0))
        return NULL;
    void *p = mmap(NULL, sizeof(acked), PROT_READ | PROT_WRITE, MAP_SHARED,
                   fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

static void key_name(char *buf, size_t cap, unsigned i)
{
    snprintf(buf, cap, "key-%u", i);
}

static size_t make_value(char *buf, size_t cap, unsigned i, unsigned ver)
{
    int n = snprintf(buf, cap, "k%u:v%u:", i, ver);
    size_t fill = (i * 7u + ver * 13u) % 90u;
    memset(buf + n, 'a' + (int)(ver % 26u), fill);
    return (size_t)n + fill;
}

/* 0 when v is key i's value at a version >= want; else a message. */
static const char *check_value(const srd_view *v, unsigned i, uint64_t want)
{
    unsigned id, ver;
    char buf[64];
    size_t n = v->len < sizeof buf - 1 ? v->len : sizeof buf - 1;
    memcpy(buf, v->data, n);
    buf[n] = '\0';
    if (sscanf(buf, "k%u:v%u:", &id, &ver) != 2)
        return "unparseable value";
    if (id != i)
        return "another key's value";
    if (ver < want)
        return "older than acknowledged";
    return NULL;
}

static void put_version(srd_store *st, acked *a, unsigned i, unsigned ver)
{
    char k[32], v[160];
    key_name(k, sizeof k, i);
    size_t n = make_value(v, sizeof v, i, ver);
    ck_srd(srd_put(st, tu_s(k), (srd_val){v, n}));
    atomic_store(&a->ver[i], ver);
}

/* ======================================================================== */
/* Children                                                                 */
/* ======================================================================== */

static srd_store *reader_open(const char *store, bool client)
{
    if (client)
        return ch_child_open(store);
    srd_store *st = NULL;
    srd_err rc = tu_open(store, SRD_OPEN_READONLY, &st);
    if (rc != SRD_OK) {
        printf("read-only open: %s\n", srd_errname(rc));
        fflush(stdout);
        _exit(3);
    }
    return st;
}

/* One round: refresh (if asked), then read keys whose acknowledged
 * version was noted before. 0, or 1 with a message printed. */
static int reader_round_ex(srd_store *st, acked *a, uint64_t *seed,
                           bool refresh)
{
    unsigned idx[8];
    uint64_t want[8];
    uint64_t n = atomic_load(&a->nkeys);
    if (n == 0)
        return 0;
    for (int j = 0; j < 8; j++) {
        idx[j] = (unsigned)(tu_rand(seed) % n);
        want[j] = atomic_load(&a->ver[idx[j]]);
    }
    srd_err rc = refresh ? srd_refresh(st, NULL) : SRD_OK;
    if (rc != SRD_OK) {
        printf("refresh: %s\n", srd_errname(rc));
        return 1;
    }
    for (int j = 0; j < 8; j++) {
        char k[32];
        key_name(k, sizeof k, idx[j]);
        srd_view v;
        rc = srd_get(st, tu_s(k), &v);
        if (rc != SRD_OK) {
            printf("get %s (acked v%llu): %s\n", k,
                   (unsigned long long)want[j], srd_errname(rc));
            return 1;
        }
        const char *bad = check_value(&v, idx[j], want[j]);
        if (bad) {
            printf("get %s (acked v%llu): %s: %.*s\n", k,
                   (unsigned long long)want[j], bad, (int)v.len, v.data);
            return 1;
        }
        srd_view_release(&v);
        atomic_fetch_add(&a->reads, 1);
    }
    return 0;
}

static int reader_round(srd_store *st, acked *a, uint64_t *seed)
{
    return reader_round_ex(st, a, seed, true);
}

/* The same without srd_refresh: the handle must know on its own. */
static int nsreader_round(srd_store *st, acked *a, uint64_t *seed)
{
    return reader_round_ex(st, a, seed, false);
}

static int reader_main(char **argv, bool client)
{
    acked *a = acked_map(argv[1], false);
    if (!a)
        return 2;
    uint64_t seed = (uint64_t)atoi(argv[2]) * 7919u + 1;
    while (!atomic_load(&a->stop)) {
        srd_store *st = reader_open(argv[0], client);
        srd_info info;
        if (srd_get_info(st, &info) == SRD_OK && info.index_bytes < 65536)
            atomic_fetch_add(&a->shared_opens, 1);
        for (int r = 0; r < 50 && !atomic_load(&a->stop); r++) {
            if (reader_round(st, a, &seed)) {
                fflush(stdout);
                return 1;
            }
        }
        srd_close(st);
    }
    return 0;
}

static int child_roreader(char **argv)
{
    return reader_main(argv, false);
}

static int child_clreader(char **argv)
{
    return reader_main(argv, true);
}

/* Put new keys for ever, compacting now and then; SIGKILL ends it. */
static int child_killwriter(char **argv)
{
    acked *a = acked_map(argv[1], false);
    srd_store *st = NULL;
    if (!a || tu_open(argv[0], SRD_OPEN_CREATE, &st) != SRD_OK)
        return 2;
    char k[32], v[160];
    for (unsigned i = (unsigned)atomic_load(&a->nkeys); i < MAX_KEYS; i++) {
        key_name(k, sizeof k, i);
        size_t n = make_value(v, sizeof v, i, 1);
        if (srd_put(st, tu_s(k), (srd_val){v, n}) != SRD_OK)
            return 1;
        atomic_store(&a->nkeys, i + 1);
        if (i % 2500 == 2499 && srd_compact(st, NULL) != SRD_OK)
            return 1;
    }
    for (;;) /* all keys written: wait for the signal */
        pause();
}

/* Whether a client handle follows the shared index, subscribed to
 * nothing (client.c: no SUB socket, reads catch up from the index). */
static bool follows_index(srd_store *st)
{
    return !atomic_load(&st->client->subscribed) &&
           atomic_load(&st->follow) != NULL;
}

/* One handle for the whole run, reading without srd_refresh: in phase 0
 * it must follow the index (no subscription) and every read and count
 * must show what was acknowledged before it; in phase 1 (srdd abandoned
 * the index) it must come to subscribe, and reads after a refresh stay
 * right. */
static int child_nsreader(char **argv)
{
    acked *a = acked_map(argv[1], false);
    if (!a)
        return 2;
    int me = atoi(argv[2]);
    uint64_t seed = (uint64_t)me * 7919u + 1;
    srd_store *st = ch_child_open(argv[0]);
    if (!follows_index(st)) {
        printf("subscribed at open\n");
        return 1;
    }
    atomic_fetch_add(&a->shared_opens, 1);
    while (!atomic_load(&a->stop)) {
        bool phase0 = atomic_load(&a->phase) == 0;
        uint64_t n = atomic_load(&a->nkeys), live = 0;
        bool follows = follows_index(st);
        if (phase0 && srd_count(st, &live) == SRD_OK && live < n) {
            printf("srd_count %llu < %llu keys acknowledged\n",
                   (unsigned long long)live, (unsigned long long)n);
            return 1;
        }
        if (!phase0 && atomic_load(&st->client->subscribed))
            atomic_fetch_or(&a->subscribed, 1ull << me);
        int bad = phase0 ? nsreader_round(st, a, &seed)
                         : reader_round(st, a, &seed);
        if (bad)
            return 1;
        if (!follows && atomic_load(&a->phase) == 0) {
            printf("subscribed before srdd abandoned the index\n");
            return 1;
        }
    }
    srd_close(st);
    return 0;
}

/* ======================================================================== */
/* The tests                                                                */
/* ======================================================================== */

static ino_t inode_of(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_ino : 0;
}

static void spawn_readers(ch_child *kids, const char *role,
                          const char *acked_path)
{
    for (int r = 0; r < READERS; r++) {
        char seed[16];
        snprintf(seed, sizeof seed, "%d", r);
        const char *argv[] = {role, g_store, acked_path, seed, NULL};
        kids[r] = ch_spawn(argv);
    }
}

static void reap_readers(ch_child *kids, acked *a)
{
    atomic_store(&a->stop, 1);
    for (int r = 0; r < READERS; r++) {
        char line[512] = "";
        bool said = ch_line(&kids[r], line, sizeof line);
        int rc = ch_wait(&kids[r]);
        ck_assert_msg(rc == 0, "reader %d exited %d: %s", r, rc,
                      said ? line : "");
    }
    ck_assert_uint_gt(atomic_load(&a->reads), 0);
    ck_assert_uint_gt(atomic_load(&a->shared_opens), 0);
}

/* Rounds of new keys (growth) and overwrites; a compaction every third
 * round. Returns how many times the index file was replaced. */
static unsigned write_rounds_by(srd_store *w, srd_daemon *d, acked *a,
                                unsigned rounds);

static unsigned write_rounds(srd_store *w, acked *a, unsigned rounds)
{
    return write_rounds_by(w, NULL, a, rounds);
}

/* The same, srdd compacting when d asks it (srd_daemon_compact). */
static unsigned write_rounds_by(srd_store *w, srd_daemon *d, acked *a,
                                unsigned rounds)
{
    char *idx = tu_join(g_dir, "s.srd.idx");
    ino_t ino = inode_of(idx);
    unsigned replaced = 0;
    uint64_t seed = 99;
    for (unsigned round = 0; round < rounds; round++) {
        unsigned n = (unsigned)atomic_load(&a->nkeys);
        for (unsigned j = 0; j < 2000; j++) {
            put_version(w, a, n + j, 1);
            atomic_store(&a->nkeys, n + j + 1);
        }
        for (unsigned j = 0; j < 300; j++) {
            unsigned i = (unsigned)(tu_rand(&seed) % (n + 2000));
            put_version(w, a, i, (unsigned)atomic_load(&a->ver[i]) + 1);
        }
        if (round % 3 == 2 && d)
            ck_srd(srd_daemon_compact(d, NULL, NULL, NULL, NULL));
        else if (round % 3 == 2)
            ck_srd(srd_compact(w, NULL));
        replaced += inode_of(idx) != ino;
        ino = inode_of(idx);
    }
    free(idx);
    return replaced;
}

START_TEST(test_readonly_readers_while_the_writer_grows_and_compacts)
{
    char *ap = tu_join(g_dir, "acked");
    acked *a = acked_map(ap, true);
    ck_assert_ptr_nonnull(a);
    srd_store *w = NULL;
    ck_srd(tu_open(g_store, SRD_OPEN_CREATE, &w));
    ch_child kids[READERS];
    spawn_readers(kids, "roreader", ap);
    unsigned replaced = write_rounds(w, a, 9);
    reap_readers(kids, a);
    ck_assert_uint_ge(replaced, 4); /* growths and compactions */
    ck_srd(srd_close(w));
    free(ap);
}
END_TEST

/* srdd on the store, and a client handle writing through it. */
static srd_store *start_srdd_and_client(void)
{
    start_srdd(NULL);
    srd_store *w = NULL;
    srd_options o;
    srd_options_init(&o);
    o.flags = SRD_OPEN_CLIENT;
    ck_srd(srd_open(g_store, &o, &w));
    return w;
}

START_TEST(test_client_readers_while_srdd_grows_and_compacts)
{
    char *ap = tu_join(g_dir, "acked");
    acked *a = acked_map(ap, true);
    ck_assert_ptr_nonnull(a);
    srd_store *w = start_srdd_and_client();
    ch_child kids[READERS];
    spawn_readers(kids, "clreader", ap);
    unsigned replaced = write_rounds(w, a, 6);
    reap_readers(kids, a);
    ck_assert_uint_ge(replaced, 3);
    ck_srd(srd_close(w));
    free(ap);
}
END_TEST

/* Client processes read the newest values with no subscription while a
 * client writes, srdd grows its index and compacts (srd_daemon_compact);
 * then srdd is made to abandon the index (its next growth cannot create
 * a file): the readers notice, subscribe and keep reading right. */
START_TEST(test_client_readers_follow_the_index_without_subscribing)
{
    char *ap = tu_join(g_dir, "acked");
    acked *a = acked_map(ap, true);
    ck_assert_ptr_nonnull(a);
    srd_store *w = start_srdd_and_client();
    ck_assert(follows_index(w));
    srd_daemon *d = NULL;
    ck_srd(srd_daemon_open(g_store, &d));
    ch_child kids[READERS];
    spawn_readers(kids, "nsreader", ap);
    unsigned replaced = write_rounds_by(w, d, a, 6);
    ck_assert_uint_ge(replaced, 3); /* growths and compactions */
    ck_assert(follows_index(w));
    /* srdd's next growth fails: it abandons the shared index */
    atomic_store(&a->phase, 1);
    char *idx = tu_join(g_dir, "s.srd.idx"), *tmp = tu_join(g_dir,
                                                            "s.srd.idx.tmp");
    ck_assert_int_eq(mkdir(tmp, 0700), 0);
    struct stat sb;
    for (int r = 0; r < 20 && stat(idx, &sb) == 0; r++)
        write_rounds_by(w, NULL, a, 1);
    ck_assert_msg(stat(idx, &sb) != 0, "srdd kept its index");
    uint64_t t0 = ch_now_us();
    while (atomic_load(&a->subscribed) != (1ull << READERS) - 1 &&
           ch_now_us() - t0 < 20000000u)
        write_rounds_by(w, NULL, a, 1);
    ck_assert_uint_eq(atomic_load(&a->subscribed), (1ull << READERS) - 1);
    ck_assert(!follows_index(w));
    write_rounds_by(w, NULL, a, 1);
    reap_readers(kids, a);
    srd_daemon_close(d);
    ck_srd(srd_close(w));
    rmdir(tmp);
    free(idx);
    free(tmp);
    free(ap);
}
END_TEST

/* Every key below n reads as its version-1 value through st. */
static void expect_all(srd_store *st, unsigned n, const char *what)
{
    for (unsigned i = 0; i < n; i++) {
        char k[32];
        key_name(k, sizeof k, i);
        srd_view v;
        srd_err rc = srd_get(st, tu_s(k), &v);
        tu_require(rc == SRD_OK, "%s: acknowledged %s: %s", what, k,
                   srd_errname(rc));
        const char *bad = check_value(&v, i, 1);
        tu_require(bad == NULL, "%s: %s: %s", what, k, bad);
        srd_view_release(&v);
    }
}

START_TEST(test_writer_killed_while_growing_or_rewriting_loses_nothing)
{
    char *ap = tu_join(g_dir, "acked");
    acked *a = acked_map(ap, true);
    ck_assert_ptr_nonnull(a);
    uint64_t seed = (uint64_t)getpid();
    for (int round = 0; round < 6; round++) {
        const char *argv[] = {"killwriter", g_store, ap, NULL};
        ch_child c = ch_spawn(argv);
        uint64_t before = atomic_load(&a->nkeys);
        /* Let it get going (its open writes a fresh index), then kill. */
        while (atomic_load(&a->nkeys) < before + 200)
            ch_sleep_ms(1);
        ch_sleep_ms((unsigned)(tu_rand(&seed) % 150));
        kill(c.pid, SIGKILL);
        ck_assert_int_eq(ch_wait(&c), 128 + SIGKILL);
        unsigned n = (unsigned)atomic_load(&a->nkeys);
        srd_store *st = NULL;
        ck_srd(tu_open(g_store, SRD_OPEN_READONLY, &st));
        expect_all(st, n, "read-only after kill -9");
        ck_srd(srd_close(st));
        ck_srd(tu_open(g_store, SRD_OPEN_CREATE, &st));
        expect_all(st, n, "writer after kill -9");
        ck_srd(srd_close(st));
    }
    ck_assert_uint_gt(atomic_load(&a->nkeys), 2500); /* compacted at least once */
    free(ap);
}
END_TEST

/* ---- srdd's deletes with the shared index file as its only table ------- */

static void put_plain(srd_store *st, unsigned from, unsigned to, unsigned ver)
{
    char k[32], v[160];
    for (unsigned i = from; i < to; i++) {
        key_name(k, sizeof k, i);
        size_t n = make_value(v, sizeof v, i, ver);
        ck_srd(srd_put(st, tu_s(k), (srd_val){v, n}));
    }
}

static bool del_key(srd_store *st, unsigned i)
{
    char k[32];
    bool existed = false;
    key_name(k, sizeof k, i);
    ck_srd(srd_delete(st, tu_s(k), &existed));
    return existed;
}

static void async_done(void *ctx, srd_err rc)
{
    if (rc != SRD_OK)
        atomic_fetch_add((_Atomic unsigned *)ctx, 1);
}

/* One stage: keys [base, base + 400) are put, then deleted one by one
 * (srdd answers whether each existed from its table), deleted again (none
 * is there), and [base + 400, base + 500) put pipelined and deleted right
 * behind (one group of srdd, often: its keyset answers). srdd's live-key
 * figure must match what is left: *live more keys than before. */
static void delete_stage(srd_store *w, srd_daemon *d, unsigned base,
                         uint64_t *live)
{
    put_plain(w, base, base + 400, 1);
    for (unsigned i = base; i < base + 400; i += 2)
        tu_require(del_key(w, i), "srdd missed key %u", i);
    for (unsigned i = base; i < base + 400; i += 10)
        tu_require(!del_key(w, i), "srdd deleted key %u twice", i);
    _Atomic unsigned failed = 0;
    char k[32], v[160];
    for (unsigned i = base + 400; i < base + 500; i++) {
        key_name(k, sizeof k, i);
        size_t n = make_value(v, sizeof v, i, 1);
        ck_srd(srd_put_async(w, tu_s(k), (srd_val){v, n}, async_done,
                             (void *)&failed));
        tu_require(del_key(w, i), "srdd missed pipelined key %u", i);
    }
    ck_srd(srd_flush(w));
    ck_assert_uint_eq(atomic_load(&failed), 0);
    *live += 200;
    srd_daemon_stats ds;
    ck_srd(srd_daemon_stats_get(d, &ds));
    ck_assert_uint_eq(ds.live_keys, *live);
    bool there = true;
    key_name(k, sizeof k, base + 450);
    ck_srd(srd_exists(w, tu_s(k), &there));
    ck_assert(!there);
}

/* srdd keeps no private table while it keeps the shared index file: its
 * deletes and figures come from that file, right across growth, a
 * compaction and, once it gives the file up (its growth cannot create a
 * new one), from the private table it copies the slots into. */
START_TEST(test_srdd_deletes_right_through_growth_compaction_and_fallback)
{
    srd_store *w = start_srdd_and_client();
    srd_daemon *d = NULL;
    ck_srd(srd_daemon_open(g_store, &d));
    uint64_t live = 0;
    unsigned base = 0;
    char *idx = tu_join(g_dir, "s.srd.idx");
    struct stat sb;
    ck_assert_int_eq(stat(idx, &sb), 0);
    off_t size0 = sb.st_size;
    for (int i = 0; i < 6; i++, base += 500)
        delete_stage(w, d, base, &live); /* 1200 live keys: it grew */
    ck_assert_int_eq(stat(idx, &sb), 0);
    ck_assert_int_gt(sb.st_size, size0);
    ck_srd(srd_daemon_compact(d, NULL, NULL, NULL, NULL));
    for (int i = 0; i < 2; i++, base += 500)
        delete_stage(w, d, base, &live);
    ck_assert(follows_index(w));
    char *tmp = tu_join(g_dir, "s.srd.idx.tmp");
    ck_assert_int_eq(mkdir(tmp, 0700), 0);
    for (int r = 0; r < 40 && stat(idx, &sb) == 0; r++, base += 500)
        delete_stage(w, d, base, &live);
    ck_assert_msg(stat(idx, &sb) != 0, "srdd kept its index");
    for (int i = 0; i < 2; i++, base += 500)
        delete_stage(w, d, base, &live);
    ck_assert_int_eq(rmdir(tmp), 0);
    ck_srd(srd_daemon_compact(d, NULL, NULL, NULL, NULL));
    ck_assert_int_eq(stat(idx, &sb), 0); /* a file again */
    for (int i = 0; i < 2; i++, base += 500)
        delete_stage(w, d, base, &live);
    srd_daemon_close(d);
    ck_srd(srd_close(w));
    free(tmp);
    free(idx);
}
END_TEST

/* The offset in srdd's index file of the slot holding hash (-1: none). */
static long idx_slot_of(const char *idx, uint64_t hash)
{
    size_t len;
    uint8_t *b = tu_read_file(idx, &len);
    long at = -1;
    for (size_t off = SRDI_SHX_HDR; b && at < 0 && off + 16 <= len;
         off += 16) {
        uint64_t h, loc;
        memcpy(&h, b + off, 8);
        memcpy(&loc, b + off + 8, 8);
        if (loc != 0 && h == hash)
            at = (long)off;
    }
    free(b);
    return at;
}

/* A third party points key 0's slot in srdd's index file (the table srdd
 * itself reads) at key 1's entry: a delete of key 0 through srdd fails
 * with SRD_ECORRUPT instead of saying the key was not there, and writes
 * nothing; key 1 deletes as before. */
START_TEST(test_srdd_delete_over_a_forged_slot_fails)
{
    srd_store *w = start_srdd_and_client();
    put_plain(w, 0, 2, 1);
    char *idx = tu_join(g_dir, "s.srd.idx");
    char k0[32], k1[32];
    key_name(k0, sizeof k0, 0);
    key_name(k1, sizeof k1, 1);
    long s0 = idx_slot_of(idx, srd_key_hash(k0, strlen(k0)));
    long s1 = idx_slot_of(idx, srd_key_hash(k1, strlen(k1)));
    ck_assert(s0 > 0 && s1 > 0);
    int fd = open(idx, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint64_t loc1;
    ck_assert_int_eq(pread(fd, &loc1, 8, s1 + 8), 8);
    ck_assert_int_eq(pwrite(fd, &loc1, 8, s0 + 8), 8);
    close(fd);
    uint64_t tail0 = 0, tail1 = 0;
    ck_srd(srd_tail(w, &tail0));
    bool existed = true;
    ck_assert_int_eq(srd_delete(w, tu_s(k0), &existed), SRD_ECORRUPT);
    ck_srd(srd_tail(w, &tail1));
    ck_assert_uint_eq(tail1, tail0); /* no tombstone written */
    ck_srd(srd_delete(w, tu_s(k1), &existed));
    ck_assert(existed);
    ck_srd(srd_close(w));
    free(idx);
}
END_TEST

static Suite *shared_index_suite(void)
{
    Suite *s = suite_create("shared_index");
    TCase *tc = tcase_create("processes");
    tcase_add_checked_fixture(tc, ch_setup, ch_teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_readonly_readers_while_the_writer_grows_and_compacts);
    tcase_add_test(tc, test_client_readers_while_srdd_grows_and_compacts);
    tcase_add_test(tc, test_client_readers_follow_the_index_without_subscribing);
    tcase_add_test(tc, test_writer_killed_while_growing_or_rewriting_loses_nothing);
    tcase_add_test(tc, test_srdd_deletes_right_through_growth_compaction_and_fallback);
    tcase_add_test(tc, test_srdd_delete_over_a_forged_slot_fails);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    static const ch_role roles[] = {
        {"roreader", 3, child_roreader},
        {"clreader", 3, child_clreader},
        {"nsreader", 3, child_nsreader},
        {"killwriter", 2, child_killwriter},
        {NULL, 0, NULL},
    };
    return ch_main(argc, argv, roles, shared_index_suite);
}
