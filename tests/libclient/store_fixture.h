/* SPDX-License-Identifier: MIT */
/*
 * store_fixture.h -- the fixture and helpers shared by the check_store_*
 * suites (the public store API in embedded mode): a fresh folder per test
 * with g_path = <folder>/store.srd, openers, value and file assertions,
 * a pull-stream source and fork/wait wrappers.
 */
#ifndef SRD_STORE_FIXTURE_H
#define SRD_STORE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "bufsrc.h"
#include "testutil.h"

#define MIB (1u << 20)

extern char *g_dir;  /* fresh temporary folder per test */
extern char *g_path; /* g_dir/store.srd */

/* A test case of s whose tests each run in a fresh g_dir. */
TCase *store_tcase(Suite *s, const char *name);

srd_store *open_with(const char *path, unsigned flags,
                     srd_sync_mode sync);

/* A writer with the default options (create, SRD_SYNC_ALWAYS). */
srd_store *open_rw(const char *path);

/* A writer that leaves syncing to the OS, for tests that write a lot. */
srd_store *open_fast(const char *path);

srd_store *open_ro(const char *path);

/* srd_open's return code alone (the handle, if any, is closed). */
srd_err try_open(const char *path, unsigned flags);

srd_val bytes(const void *p, size_t n);

void put_str(srd_store *st, const char *k, const char *v);

void expect_bytes_(srd_store *st, srd_val key, const void *want,
                          size_t n, int line);

#define expect_bytes(st, key, want, n) \
    expect_bytes_((st), (key), (want), (n), __LINE__)

#define expect_str(st, k, s) \
    expect_bytes_((st), tu_s(k), (s), strlen(s), __LINE__)

void expect_absent_(srd_store *st, srd_val key, int line);

#define expect_absent(st, k) expect_absent_((st), tu_s(k), __LINE__)

uint64_t count_of(srd_store *st);

uint64_t tail_of(srd_store *st);

srd_info info_of(srd_store *st);

bool exists(srd_store *st, const char *k);

/* Deterministic non-trivial bytes (never a lone 0x00 for n >= 2). */
void fill_pattern(uint8_t *p, size_t n, unsigned seed);

uint8_t *pattern(size_t n, unsigned seed);

/* Whole-file snapshot for byte-for-byte comparisons. */
typedef struct snap {
    uint8_t *b;
    size_t n;
} snap;

snap snap_file(const char *path);

void expect_file_is_(const char *path, snap s, int line);

#define expect_file_is(path, s) expect_file_is_((path), (s), __LINE__)

pid_t xfork(void);

/* Exit status of a child (or 128 + signal). */
int xwait(pid_t pid);

void msleep(unsigned ms);

#endif /* SRD_STORE_FIXTURE_H */
