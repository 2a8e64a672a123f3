/* SPDX-License-Identifier: MIT */
/*
 * fuzz_util.c -- scratch directory and file helpers of the fuzz targets
 * (see fuzz_util.h). Everything aborts on failure: a harness that cannot
 * set itself up must not report the input as harmless.
 */
#define _GNU_SOURCE 1
#include "fuzz_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fz_dir[4096];

void fz_fail(const char *file, int line, const char *cond, const char *fmt,
             ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: invariant broken: %s: ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static void fz_remove_scratch(void)
{
    if (!fz_dir[0])
        return;
    fz_clear_scratch();
    rmdir(fz_dir);
}

const char *fz_scratch_dir(void)
{
    if (fz_dir[0])
        return fz_dir;
    /* tmpfs by default: fsync there costs nothing, and durability is
     * not what the fuzz targets test. */
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fz_dir, sizeof fz_dir, "%s/srdfuzz.XXXXXX", base);
    fz_require(mkdtemp(fz_dir) != NULL, "mkdtemp %s: %s", fz_dir,
               strerror(errno));
    atexit(fz_remove_scratch);
    return fz_dir;
}

void fz_path(char *buf, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    fz_require(n > 0 && (size_t)n < cap, "path %s/%s too long", dir, name);
}

void fz_clear_scratch(void)
{
    DIR *d = opendir(fz_scratch_dir());
    fz_require(d != NULL, "opendir: %s", strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[8192];
        fz_path(p, sizeof p, fz_dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

void fz_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    fz_require(fd >= 0, "open %s: %s", path, strerror(errno));
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR)
            continue;
        fz_require(k > 0, "write %s: %s", path, strerror(errno));
        p += k;
        len -= (size_t)k;
    }
    fz_require(close(fd) == 0, "close %s: %s", path, strerror(errno));
}

uint8_t *fz_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat sb;
    uint8_t *buf = NULL;
    size_t got = 0;
    if (fstat(fd, &sb) == 0)
        buf = malloc((size_t)sb.st_size + 1);
    while (buf && got < (size_t)sb.st_size) {
        ssize_t k = read(fd, buf + got, (size_t)sb.st_size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    if (buf && got != (size_t)sb.st_size) {
        free(buf);
        return NULL;
    }
    *len = got;
    return buf;
}
