/* SPDX-License-Identifier: MIT */
/*
 * fuzz_util.h -- what the fuzz targets share: a private scratch directory
 * per process, whole-file helpers, and fz_require(), which aborts with a
 * message so that a broken invariant is reported like a crash.
 */
#ifndef SRD_FUZZ_UTIL_H
#define SRD_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry points; replay_main.c calls them without libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort (a "crash" to the fuzzer) with file:line and a message. */
#define fz_require(cond, ...)                                             \
    do {                                                                  \
        if (!(cond))                                                      \
            fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);              \
    } while (0)
void fz_fail(const char *file, int line, const char *cond, const char *fmt,
             ...) __attribute__((noreturn, format(printf, 4, 5)));

/* A fresh directory under $TMPDIR (else /dev/shm or /tmp), removed at exit. The string
 * is owned by fuzz_util. Aborts when it cannot be made. */
const char *fz_scratch_dir(void);
/* dir joined with name into buf (aborts if it does not fit). */
void fz_path(char *buf, size_t cap, const char *dir, const char *name);
/* Delete every entry of the scratch directory (not the directory). */
void fz_clear_scratch(void);

/* Write len bytes to path (created or truncated); aborts on failure. */
void fz_write_file(const char *path, const void *data, size_t len);
/* Read a whole file (malloc'd, *len set); NULL when it cannot be read. */
uint8_t *fz_read_file(const char *path, size_t *len);

#endif
