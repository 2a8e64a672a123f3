/* SPDX-License-Identifier: MIT */
/*
 * replay_main.c -- runs a fuzz target over files without libFuzzer, so the
 * seed and regression corpora are ordinary tests in every build (gcc,
 * ASan, TSan). Usage: <target>_replay FILE|DIR...; each file is one input.
 * Exit 0 when every input ran (a broken invariant aborts).
 */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"

static int rp_one(const char *path)
{
    size_t n = 0;
    uint8_t *data = fz_read_file(path, &n);
    if (!data) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput(data, n);
    free(data);
    return 0;
}

static int rp_name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every regular file of dir, in name order; *count incremented. */
static int rp_dir(const char *dir, unsigned *count)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, rp_name_cmp);
    if (n < 0) {
        fprintf(stderr, "replay: cannot list %s\n", dir);
        return 1;
    }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        char p[8192];
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", dir, names[i]->d_name);
        if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) {
            fprintf(stderr, "replay: %s\n", p);
            bad |= rp_one(p);
            ++*count;
        }
        free(names[i]);
    }
    free(names);
    return bad;
}

int main(int argc, char **argv)
{
    /* A target may chdir in LLVMFuzzerInitialize: make paths absolute. */
    for (int i = 1; i < argc; i++) {
        char *abs = realpath(argv[i], NULL);
        if (abs)
            argv[i] = abs; /* leaked on purpose: lives until exit */
    }
    LLVMFuzzerInitialize(&argc, &argv);
    unsigned count = 0;
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            bad |= rp_dir(argv[i], &count);
        } else {
            bad |= rp_one(argv[i]);
            count++;
        }
    }
    fprintf(stderr, "replay: %u inputs\n", count);
    return bad || count == 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
