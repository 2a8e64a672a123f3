/* SPDX-License-Identifier: MIT */
/*
 * fuzz_srdctl_args.c -- libFuzzer target: srdctl's argument parsing and
 * dispatch, run in-process (tools/srdctl*.c are compiled into the target
 * with -Dmain=srdctl_main). The input is one argument per line; each run
 * starts in a private scratch directory holding a small store "s.srd"
 * (also $SRD_STORE), with stdin and stdout on /dev/null. Arguments with a
 * '/' are refused so a run can only touch files of that directory, and so
 * is "status --watch" (-w, --w...), which by design runs until a signal.
 */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "srd/srd.h"

int srdctl_main(int argc, char **argv);

#define SA_MAX_ARGS 24

static uint8_t *sa_seed;   /* bytes of the store every run starts from */
static size_t sa_seed_len;

/* A small store with a live key, a deleted one and a large value. */
static void sa_make_seed(void)
{
    srd_store *st = NULL;
    srd_options o;
    srd_options_init(&o);
    o.sync = SRD_SYNC_NEVER;
    srd_err rc = srd_open("s.srd", &o, &st);
    fz_require(rc == SRD_OK, "seed store: %s", srd_errname(rc));
    static uint8_t big[5000];
    memset(big, 0xA5, sizeof big);
    srd_val k1 = {"k1", 2}, k2 = {"k2", 2}, k3 = {"big", 3};
    fz_require(srd_put(st, k1, (srd_val){"hello", 5}) == SRD_OK &&
                   srd_put(st, k2, (srd_val){"abc", 3}) == SRD_OK &&
                   srd_put(st, k3, (srd_val){big, sizeof big}) == SRD_OK &&
                   srd_delete(st, k1, NULL) == SRD_OK,
               "seed store writes failed");
    srd_close(st);
    sa_seed = fz_read_file("s.srd", &sa_seed_len);
    fz_require(sa_seed != NULL, "cannot read the seed store");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_require(chdir(fz_scratch_dir()) == 0, "chdir to the scratch dir");
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    fz_require(null >= 0, "open /dev/null");
    /* stdin: "put KEY" reads an empty value; stdout: output goes away
     * (stderr is left to libFuzzer's -close_fd_mask). */
    fz_require(dup2(null, STDIN_FILENO) == STDIN_FILENO &&
                   dup2(null, STDOUT_FILENO) == STDOUT_FILENO,
               "dup2 /dev/null");
    close(null);
    setenv("FORCE_NO_TTY", "1", 1);
    setenv("SRD_STORE", "s.srd", 1);
    sa_make_seed();
    return 0;
}

/* Whether argument a may ask for --watch: "--w..." or a cluster of short
 * options holding a 'w' (conservative: "-sw" is refused too). */
static bool sa_may_watch(const char *a)
{
    if (a[0] != '-')
        return false;
    if (a[1] == '-')
        return a[2] == 'w';
    return strchr(a, 'w') != NULL;
}

/* Split data into at most SA_MAX_ARGS lines after argv[0] = "srdctl".
 * Returns argc, or 0 when the input is refused. */
static int sa_split(const uint8_t *data, size_t size, char **argv)
{
    int argc = 0;
    argv[argc++] = strdup("srdctl");
    fz_require(argv[0] != NULL, "out of memory");
    if (size == 0) {
        argv[argc] = NULL;
        return argc;
    }
    size_t start = 0;
    for (size_t i = 0; i <= size && argc <= SA_MAX_ARGS; i++) {
        if (i < size && data[i] != '\n')
            continue;
        size_t n = i - start;
        if (memchr(data + start, '/', n) || memchr(data + start, 0, n))
            break;
        char *a = malloc(n + 1);
        fz_require(a != NULL, "out of memory");
        memcpy(a, data + start, n);
        a[n] = 0;
        argv[argc++] = a;
        if (sa_may_watch(a))
            break;
        start = i + 1;
    }
    bool whole = start > size;
    if (!whole) { /* refused: a '/', a NUL, --watch or too many arguments */
        for (int i = 0; i < argc; i++)
            free(argv[i]);
        return 0;
    }
    argv[argc] = NULL;
    return argc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[SA_MAX_ARGS + 2];
    int argc = sa_split(data, size, argv);
    if (argc == 0)
        return 0;
    fz_clear_scratch();
    fz_write_file("s.srd", sa_seed, sa_seed_len);
    /* getopt keeps state across calls; a process starts with optind 1,
     * and 0 asks glibc for a full re-initialisation. */
    optind = 0;
    opterr = 0;
    /* getopt may permute argv: keep the pointers to free them. */
    char *owned[SA_MAX_ARGS + 2];
    memcpy(owned, argv, (size_t)argc * sizeof *argv);
    int rc = srdctl_main(argc, argv);
    fz_require(rc >= 0 && rc <= 4, "srdctl exit status %d", rc);
    fflush(stdout);
    for (int i = 0; i < argc; i++)
        free(owned[i]);
    return 0;
}
