/* SPDX-License-Identifier: MIT */
/*
 * check_damage.c -- no open ever destroys data (issue 12 item 4, issue 17
 * item 2). A store of 1000 synced entries (random sizes) and a few
 * unsynced ones is damaged in one way (a flipped payload byte, a flipped
 * bit of a prev_offset, a zeroed page, a garbage tail, a truncated tail),
 * inside or outside the synced range, with or without its sidecar. Then:
 * a read-only open changes nothing; a writer open either leaves the file
 * byte for byte as it was (refused, or nothing to cut) or cuts it, and the
 * bytes that left are exactly what "<path>.cut-<offset>" holds; the open
 * says so on stderr; verify of the damaged file fails naming the offset.
 */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shindex.h"
#include "srdd_proc.h"
#include "synced.h"
#include "testutil.h"

enum { DM_SYNCED = 1000, DM_UNSYNCED = 12, DM_N = DM_SYNCED + DM_UNSYNCED };

static char *g_dir, *g_path;

static void setup(void)
{
    tu_fixture_begin(&g_dir, &g_path);
}

static void teardown(void)
{
    tu_fixture_end(&g_dir, &g_path);
}

/* Value i: 1..300 random bytes, never the forbidden single 0x00. */
static size_t dm_value(int i, uint8_t *buf)
{
    uint64_t rs = 0xda3a6e + (uint64_t)i * 7919;
    size_t len = 1 + (size_t)(tu_rand(&rs) % 300);
    tu_fill_random(&rs, buf, len);
    buf[0] |= 1;
    return len;
}

static srd_val dm_key(int i, char *buf)
{
    snprintf(buf, 16, "k%04d", i);
    return tu_s(buf);
}

static void dm_put(srd_store *st, int from, int to)
{
    for (int i = from; i < to; i++) {
        char k[16];
        uint8_t v[300];
        size_t n = dm_value(i, v);
        ck_srd(srd_put(st, dm_key(i, k), (srd_val){v, n}));
    }
}

/* The store: DM_SYNCED entries made durable (the sidecar records them),
 * then DM_UNSYNCED written and never synced, as after a power loss (the
 * record's written tail is of another boot). Returns the synced tail. */
static uint64_t dm_build(void)
{
    srd_options o;
    srd_options_init(&o);
    o.sync = SRD_SYNC_NEVER;
    srd_store *st = NULL;
    ck_srd(srd_open(g_path, &o, &st));
    dm_put(st, 0, DM_SYNCED);
    ck_srd(srd_sync(st));
    uint64_t synced;
    ck_srd(srd_tail(st, &synced));
    dm_put(st, DM_SYNCED, DM_N);
    ck_srd(srd_close(st));
    srdi_synced rec;
    ck_assert(srdi_synced_read(g_path, &rec));
    ck_assert_uint_eq(rec.synced, synced);
    memset(rec.boot, 0, sizeof rec.boot); /* the machine went down */
    uint8_t raw[SRDI_SYNCED_SIZE];
    srdi_synced_encode(raw, &rec);
    char *side = srdi_synced_path(g_path);
    ck_assert_int_eq(tu_write_file(side, raw, sizeof raw), 0);
    free(side);
    return synced;
}

/* Key i reads back intact (1), absent (0), or with other bytes (-1). */
static int dm_reads(srd_store *st, int i)
{
    char k[16];
    uint8_t want[300];
    size_t n = dm_value(i, want);
    srd_view v;
    srd_err rc = srd_get(st, dm_key(i, k), &v);
    if (rc == SRD_ENOTFOUND)
        return 0;
    ck_assert_msg(rc == SRD_OK, "get k%04d: %s", i, srd_errname(rc));
    int same = v.len == n && memcmp(v.data, want, n) == 0;
    srd_view_release(&v);
    return same ? 1 : -1;
}

/* Run fn with fd 2 going to a file; returns what it wrote (malloc'd). */
typedef struct dm_open {
    unsigned flags;
    srd_store *st;
    srd_err rc;
} dm_open;

static char *dm_open_capturing(dm_open *o)
{
    char *log = tu_join(g_dir, "stderr.txt");
    fflush(stderr);
    int saved = dup(2);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 2);
    close(fd);
    o->rc = tu_open(g_path, o->flags, &o->st);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size_t n = 0;
    uint8_t *b = tu_read_file(log, &n);
    free(log);
    char *s = calloc(1, n + 1);
    memcpy(s, b, n);
    free(b);
    return s;
}

typedef enum { FLIP_PAYLOAD, FLIP_PREV, ZERO_PAGE, GARBAGE, TRUNCATE } dm_kind;
static const char *const kind_names[] = {"flipped payload byte",
                                         "flipped prev_offset bit",
                                         "zeroed page", "garbage tail",
                                         "truncated tail"};

/* One damage case: kind at entry `at` (of the image, oldest first). */
typedef struct dm_case {
    dm_kind kind;
    bool inside;  /* in the synced range (else past it) */
    bool sidecar; /* the sidecar is kept (else: a copied store) */
    const char *what;
    uint8_t *img; /* the damaged file */
    size_t len;
    tu_entry *ents; /* the pristine chain */
    long n;
    int at;       /* damaged entry: the first one that is not intact */
    uint64_t cut_at; /* where a writer that cuts must cut */
} dm_case;

static void dm_damage(dm_case *c)
{
    const tu_entry *e = &c->ents[c->at];
    uint64_t rs = 77;
    switch (c->kind) {
    case FLIP_PAYLOAD:
        c->img[e->payload + e->len / 2] ^= 0x10;
        break;
    case FLIP_PREV: /* bit 40 of the back pointer: far past the file */
        c->img[e->end - 12 + 5] ^= 0x01;
        break;
    case ZERO_PAGE: /* from entry at's payload: it and those after */
        memset(c->img + e->payload, 0,
               c->len - e->payload < 4096 ? c->len - e->payload : 4096);
        break;
    case GARBAGE:
        c->img = realloc(c->img, c->len + 300);
        tu_fill_random(&rs, c->img + c->len, 300);
        c->cut_at = c->len;
        c->len += 300;
        break;
    case TRUNCATE:
        c->len = (size_t)(e->end - 7);
        break;
    }
    if (c->kind != GARBAGE)
        c->cut_at = e->start;
    ck_assert_int_eq(tu_write_file(g_path, c->img, c->len), 0);
    /* The subject is the whole recovery (what an open finds and may cut):
     * a shared index file vouching for the chain up to its covered tail
     * would let the open skip the damage below it (check_shindex tests
     * that path: nothing is cut, reads and srd_verify meet the damage). */
    char *idx = srdi_shx_path(g_path);
    ck_assert_ptr_nonnull(idx);
    unlink(idx);
    free(idx);
    if (!c->sidecar) {
        char *side = srdi_synced_path(g_path);
        ck_assert_int_eq(unlink(side), 0);
        free(side);
    }
}

/* The file is a prefix of the damaged one, and what is missing is exactly
 * in the .cut file named after where the file now ends. Returns the new
 * size. */
static uint64_t dm_nothing_lost(const dm_case *c)
{
    size_t n = 0;
    uint8_t *now = tu_read_file(g_path, &n);
    tu_require(now && n <= c->len && memcmp(now, c->img, n) == 0,
               "%s: the file is not a prefix of what it was", c->what);
    free(now);
    char name[64];
    snprintf(name, sizeof name, "store.srd.cut-%zu", n);
    char *cut = tu_join(g_dir, name);
    size_t cn = 0;
    uint8_t *b = tu_read_file(cut, &cn);
    if (n == c->len) {
        tu_require(b == NULL, "%s: a .cut file although nothing left",
                   c->what);
    } else {
        tu_require(b != NULL, "%s: %zu bytes left without %s", c->what,
                   c->len - n, cut);
        tu_require(cn == c->len - n &&
                       memcmp(b, c->img + n, cn) == 0,
                   "%s: %s does not hold the bytes that left", c->what, cut);
    }
    free(b);
    free(cut);
    return n;
}

/* Read-only: nothing changes; verify reports the damage. This is the
 * read-only open that runs the whole recovery: one through the shared
 * index file trusts the chain below the file's covered tail and meets
 * damage there on reads instead (check_shindex), so it is turned off. */
static void dm_reader(const dm_case *c, srd_err want_verify)
{
    dm_open o = {.flags = SRD_OPEN_READONLY};
    setenv("SRD_SHARED_INDEX", "0", 1);
    free(dm_open_capturing(&o));
    unsetenv("SRD_SHARED_INDEX");
    tu_require(o.rc == SRD_OK, "%s: read-only open: %s", c->what,
               srd_errname(o.rc));
    srd_verify_report r;
    srd_err rc = srd_verify(o.st, &r, NULL, NULL);
    tu_require(rc == want_verify, "%s: verify %s, want %s", c->what,
               srd_errname(rc), srd_errname(want_verify));
    const tu_entry *e = &c->ents[c->at];
    if (rc == SRD_ECHECKSUM)
        tu_require(r.first_bad_offset == e->payload,
                   "%s: verify names %llu, not the entry at %llu", c->what,
                   (unsigned long long)r.first_bad_offset,
                   (unsigned long long)e->payload);
    if (c->kind != FLIP_PAYLOAD || !c->inside)
        tu_require(r.past_tail_bytes == c->len - c->cut_at ||
                       (c->kind == FLIP_PAYLOAD && !c->sidecar),
                   "%s: verify counts %llu bytes past the tail", c->what,
                   (unsigned long long)r.past_tail_bytes);
    if (rc == SRD_ECORRUPT)
        tu_require(r.break_offset == e->start && r.past_tail_entries > 0,
                   "%s: verify names a break at %llu, want %llu", c->what,
                   (unsigned long long)r.break_offset,
                   (unsigned long long)e->start);
    ck_srd(srd_close(o.st));
    size_t n = 0;
    uint8_t *b = tu_read_file(g_path, &n);
    tu_require(n == c->len && memcmp(b, c->img, n) == 0,
               "%s: a read-only open changed the file", c->what);
    free(b);
}

/* What a writer open must do with a case. */
typedef enum {
    W_KEEP,   /* opens, nothing cut, every entry readable (one damaged) */
    W_CUT,    /* opens, cuts from the damaged entry on, saved */
    W_REFUSE, /* SRD_ECORRUPT, the file unchanged */
} dm_want;

static void dm_writer(const dm_case *c, dm_want want)
{
    dm_open o = {.flags = 0};
    char *err = dm_open_capturing(&o);
    uint64_t size = dm_nothing_lost(c);
    const tu_entry *e = &c->ents[c->at];
    char off[32];
    snprintf(off, sizeof off, "offset %llu", (unsigned long long)e->start);
    if (want == W_REFUSE) {
        tu_require(o.rc == SRD_ECORRUPT && size == c->len,
                   "%s: writer open %s, %llu of %zu bytes left; want a "
                   "refusal", c->what, srd_errname(o.rc),
                   (unsigned long long)size, c->len);
        tu_require(strstr(err, off) && strstr(err, "refused"),
                   "%s: the refusal does not name %s: %s", c->what, off, err);
        free(err);
        return;
    }
    tu_require(o.rc == SRD_OK, "%s: writer open: %s (%s)", c->what,
               srd_errname(o.rc), err);
    uint64_t tail;
    ck_srd(srd_tail(o.st, &tail));
    ck_assert_uint_eq(tail, size);
    if (want == W_CUT) {
        tu_require(size == c->cut_at, "%s: cut at %llu, want %llu", c->what,
                   (unsigned long long)size, (unsigned long long)c->cut_at);
        snprintf(off, sizeof off, "offset %llu",
                 (unsigned long long)c->cut_at);
        tu_require(strstr(err, off) && strstr(err, ".cut-"),
                   "%s: the cut is not announced: %s", c->what, err);
    } else {
        tu_require(size == c->len, "%s: %zu bytes cut", c->what,
                   c->len - (size_t)size);
    }
    for (int i = 0; i < c->n; i++) {
        int r = dm_reads(o.st, i);
        int expect = want == W_CUT && c->ents[i].end > c->cut_at ? 0
                     : c->kind == FLIP_PAYLOAD && i == c->at ? -1
                                                            : 1;
        tu_require(r == expect, "%s: k%04d reads %d, want %d", c->what, i, r,
                   expect);
    }
    ck_srd(srd_close(o.st));
    free(err);
}

static void dm_run(dm_kind kind, bool inside, bool sidecar, srd_err verify,
                   dm_want want)
{
    tu_rmtree(g_dir);
    ck_assert_int_eq(mkdir(g_dir, 0700), 0);
    uint64_t synced = dm_build();
    dm_case c = {kind, inside, sidecar, NULL, NULL, 0, NULL, 0, 0, 0};
    c.img = tu_read_file(g_path, &c.len);
    c.n = tu_chain(c.img, c.len, &c.ents);
    ck_assert_int_eq(c.n, DM_N);
    ck_assert_uint_eq(c.ents[DM_SYNCED - 1].end, synced);
    c.at = kind == GARBAGE || kind == TRUNCATE ? DM_N - 1
           : inside                            ? DM_SYNCED / 2
                                               : DM_SYNCED + 3;
    char what[128];
    snprintf(what, sizeof what, "%s %s the synced range, %s sidecar",
             kind_names[kind], inside ? "inside" : "past",
             sidecar ? "with its" : "without a");
    c.what = what;
    dm_damage(&c);
    dm_reader(&c, verify);
    dm_writer(&c, want);
    free(c.img);
    free(c.ents);
}

/* A flipped payload byte is bit rot below the synced tail and without a
 * record (a copied store: issue 12's 1.3M-entry case): kept, readable,
 * named by verify. Past the synced tail it is a lost write: cut, saved. */
START_TEST(test_flipped_payload_byte)
{
    dm_run(FLIP_PAYLOAD, true, true, SRD_ECHECKSUM, W_KEEP);
    dm_run(FLIP_PAYLOAD, true, false, SRD_ECHECKSUM, W_KEEP);
    dm_run(FLIP_PAYLOAD, false, false, SRD_ECHECKSUM, W_KEEP);
    /* the reader stops at it (the record says it was not synced); verify
     * counts the bytes past the tail as the torn write they are */
    dm_run(FLIP_PAYLOAD, false, true, SRD_OK, W_CUT);
}
END_TEST

/* A flipped prev_offset bit cuts the chain: issue 17 item 2 (srdd cut 500
 * of 1000 synced entries with no .cut file). Refused unless the break is
 * past the synced tail. */
START_TEST(test_flipped_prev_offset_bit)
{
    dm_run(FLIP_PREV, true, true, SRD_ECORRUPT, W_REFUSE);
    dm_run(FLIP_PREV, true, false, SRD_ECORRUPT, W_REFUSE);
    dm_run(FLIP_PREV, false, false, SRD_ECORRUPT, W_REFUSE);
    dm_run(FLIP_PREV, false, true, SRD_OK, W_CUT);
}
END_TEST

START_TEST(test_zeroed_page)
{
    dm_run(ZERO_PAGE, true, true, SRD_ECORRUPT, W_REFUSE);
    dm_run(ZERO_PAGE, true, false, SRD_ECORRUPT, W_REFUSE);
    dm_run(ZERO_PAGE, false, true, SRD_OK, W_CUT);
}
END_TEST

/* Garbage after the tail and a torn last entry are torn writes: cut and
 * saved, with or without the sidecar. */
START_TEST(test_garbage_and_truncated_tails)
{
    for (int s = 0; s < 2; s++) {
        dm_run(GARBAGE, false, s, SRD_OK, W_CUT);
        dm_run(TRUNCATE, false, s, SRD_OK, W_CUT);
    }
}
END_TEST

#ifdef SRDD_PATH
/* Issue 17 item 2 with a real srdd: one flipped prev_offset bit in the
 * middle of 1000 synced entries (sidecar kept). srdd once cut 500 of them
 * with no .cut file and no log line; now it refuses to start, logs the
 * offset, and the store is byte for byte as it was. */
START_TEST(test_srdd_refuses_a_store_with_damage_in_the_synced_range)
{
    dm_build();
    dm_case c = {FLIP_PREV, true, true, "srdd", NULL, 0, NULL, 0,
                 DM_SYNCED / 2, 0};
    c.img = tu_read_file(g_path, &c.len);
    c.n = tu_chain(c.img, c.len, &c.ents);
    ck_assert_int_eq(c.n, DM_N);
    dm_damage(&c);
    char *log = tu_join(g_dir, "srdd.log");
    tu_srdd_run run = {.log = log};
    pid_t pid = tu_srdd_spawn(g_path, NULL, &run);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    ck_assert_uint_eq(dm_nothing_lost(&c), c.len);
    size_t n = 0;
    char *text = (char *)tu_read_file(log, &n);
    ck_assert_ptr_nonnull(text);
    text = realloc(text, n + 1);
    text[n] = '\0';
    char off[48];
    snprintf(off, sizeof off, "chain ends at offset %llu",
             (unsigned long long)c.ents[c.at].start);
    ck_assert_msg(strstr(text, off) && strstr(text, "refused"),
                  "srdd's log does not say where: %s", text);
    free(text);
    free(log);
    free(c.img);
    free(c.ents);
}
END_TEST
#endif

static Suite *damage_suite(void)
{
    Suite *s = suite_create("damage");
    TCase *tc = tcase_create("cases");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_flipped_payload_byte);
    tcase_add_test(tc, test_flipped_prev_offset_bit);
    tcase_add_test(tc, test_zeroed_page);
    tcase_add_test(tc, test_garbage_and_truncated_tails);
#ifdef SRDD_PATH
    tcase_add_test(tc,
                   test_srdd_refuses_a_store_with_damage_in_the_synced_range);
#endif
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(damage_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
