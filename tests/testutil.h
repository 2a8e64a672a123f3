/* SPDX-License-Identifier: MIT */
/*
 * testutil.h -- helpers shared by the Check suites: temporary folders,
 * whole-file read/write, running a child process and collecting its output.
 */
#ifndef SRD_TESTUTIL_H
#define SRD_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <check.h>

#include "srd/srd.h"

/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); the returned
 * path is malloc'd (free it). Removed by tu_rmtree. */
char *tu_tmpdir(void);
/* rm -rf path (best effort). */
void tu_rmtree(const char *path);
/* A fixture's folder: a fresh tu_tmpdir() in *dir and "<dir>/store.srd"
 * in *store; tu_fixture_end removes the folder and frees both. */
void tu_fixture_begin(char **dir, char **store);
void tu_fixture_end(char **dir, char **store);
/* path joined with name, malloc'd. */
char *tu_join(const char *dir, const char *name);

/* Read a whole file (malloc'd, *len set); NULL on error. */
uint8_t *tu_read_file(const char *path, size_t *len);
/* Write a whole file; 0 on success. */
int tu_write_file(const char *path, const void *data, size_t len);
/* Size of a file, or -1. */
long long tu_file_size(const char *path);

/* Copy a file; 0 on success. */
int tu_copy_file(const char *from, const char *to);

/* Run argv with optional stdin data; captures stdout and stderr (malloc'd,
 * NUL-terminated, may be NULL pointers if not wanted). Returns the exit
 * status (0..255) or 128+signal. env_extra: NULL or "NAME=VALUE" list
 * terminated by NULL, added to the environment. */
int tu_run(char *const argv[], char *const env_extra[], const void *in,
           size_t in_len, char **out, size_t *out_len, char **err);

/* Like ck_assert_msg, but silent on success. Check records every passing
 * assertion with a write(2); inside loops of millions that dominates the
 * run time, so hot loops use this instead. */
#define tu_require(cond, ...)              \
    do {                                   \
        if (!(cond))                       \
            ck_abort_msg(__VA_ARGS__);     \
    } while (0)

/* Convenience: srd_val from a C string. */
srd_val tu_s(const char *s);

/* Assert an srd call returned SRD_OK, printing the error otherwise. */
#define ck_srd(expr)                                                      \
    do {                                                                  \
        srd_err ck_srd_rc_ = (expr);                                      \
        ck_assert_msg(ck_srd_rc_ == SRD_OK, "%s failed: %s (%s)", #expr,  \
                      srd_errname(ck_srd_rc_), srd_strerror(ck_srd_rc_)); \
    } while (0)


/* ---- Store images, parsed without srd code (an independent oracle) ---- */

/* Path of a golden file: SRD_GOLDEN_DIR joined with name, malloc'd. Only
 * usable in a suite compiled with SRD_GOLDEN_DIR (all srd_check suites). */
#define tu_golden(name) tu_join(SRD_GOLDEN_DIR, (name))

/* One entry of a store image, as the format defines it. */
typedef struct tu_entry {
    uint64_t start;    /* prev: where the entry (its pad) begins */
    uint64_t payload;  /* first payload byte */
    uint64_t len;      /* payload length (1 for a tombstone) */
    uint64_t end;      /* just past the trailer */
    uint64_t key_hash;
    uint32_t crc;      /* stored checksum */
    int tombstone;
} tu_entry;

/* Walk the chain of img[0, end) back from end to 0 through the trailers'
 * prev offsets (no CRC check, no srd code). *out (malloc'd) receives the
 * entries oldest first. Returns their number, or -1 when the chain does not
 * reach 0 with decreasing offsets and zero pads. */
long tu_chain(const uint8_t *img, uint64_t end, tu_entry **out);

/* Little-endian helpers for building images by hand. */
void tu_put_le64(uint8_t *p, uint64_t v);
void tu_put_le32(uint8_t *p, uint32_t v);
uint64_t tu_get_le64(const uint8_t *p);
uint32_t tu_get_le32(const uint8_t *p);

/* Open path with the given SRD_OPEN_* flags and SRD_SYNC_NEVER (fast). */
srd_err tu_open(const char *path, unsigned flags, srd_store **out);

/* Deterministic PRNG (splitmix64) for reproducible random data. */
uint64_t tu_rand(uint64_t *state);
void tu_fill_random(uint64_t *state, void *buf, size_t len);

/* Run fn(ctx) with stderr sent to a temporary file; returns what it wrote
 * (malloc'd, NUL-terminated). */
char *tu_stderr_of(void (*fn)(void *ctx), void *ctx);

/* Run every test of s (Check's default fork mode, normal output); the
 * exit status for main: 0 when all passed. */
int tu_main(Suite *s);

#endif
