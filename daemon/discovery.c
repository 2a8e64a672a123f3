/* SPDX-License-Identifier: MIT */
/*
 * discovery.c -- default addresses and the "<store>.srdd" file (see
 * discovery.h). The file is replaced atomically so that a client never
 * reads half of it, and removed only by the daemon it names.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discovery.h"

char *discovery_abspath(const char *path)
{
    char *a = strdup(path), *b = strdup(path);
    char *out = NULL, dir[PATH_MAX];
    if (a && b && realpath(dirname(a), dir)) {
        const char *base = basename(b);
        size_t n = strlen(dir) + strlen(base) + 2;
        out = malloc(n);
        if (out)
            snprintf(out, n, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "",
                     base);
    }
    int e = errno;
    free(a);
    free(b);
    errno = e;
    return out;
}

int discovery_default_url(const char *abs, const char *suffix, char **url,
                          char *why)
{
    size_t plen = strlen(abs) + strlen(suffix);
    *url = NULL;
    if (plen > DISCOVERY_IPC_MAX) {
        snprintf(why, 512,
                 "give --listen and --publish: the default socket path would "
                 "be %zu bytes, more than the %d a Unix socket allows (%s%s)",
                 plen, DISCOVERY_IPC_MAX, abs, suffix);
        return -1;
    }
    size_t n = plen + sizeof "ipc://";
    *url = malloc(n);
    if (!*url) {
        snprintf(why, 256, "out of memory");
        return -1;
    }
    snprintf(*url, n, "ipc://%s%s", abs, suffix);
    return 0;
}

int discovery_default_request_url(const char *abs, char **url, char *why)
{
    char *ipc;
    *url = NULL;
    if (discovery_default_url(abs, ".sock", &ipc, why) != 0)
        return -1;
    size_t n = strlen(ipc) + 2; /* "unix://" is one byte longer */
    *url = malloc(n);
    if (*url)
        snprintf(*url, n, "unix://%s", ipc + 6);
    else
        snprintf(why, 256, "out of memory");
    free(ipc);
    return *url ? 0 : -1;
}

const char *discovery_ipc_path(const char *url)
{
    if (strncmp(url, "unix://", 7) == 0)
        return url + 7;
    return strncmp(url, "ipc://", 6) == 0 ? url + 6 : NULL;
}

/* "<abs><suffix>" malloc'd. */
static char *discovery_name(const char *abs, const char *suffix)
{
    size_t n = strlen(abs) + strlen(suffix) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s", abs, suffix);
    return p;
}

/* Write all of text to fd and fsync it; 0 or -1 with errno. */
static int discovery_fill(int fd, const char *text)
{
    size_t n = strlen(text);
    errno = 0;
    if (write(fd, text, n) != (ssize_t)n) {
        if (errno == 0)
            errno = EIO;
        return -1;
    }
    return fsync(fd);
}

int discovery_put(const char *abs, const char *suffix, const char *text)
{
    char *final = discovery_name(abs, suffix);
    char tmp_suffix[96];
    snprintf(tmp_suffix, sizeof tmp_suffix, "%s.tmp-%ld", suffix,
             (long)getpid());
    char *tmp = discovery_name(abs, tmp_suffix);
    int rc = -1;
    if (final && tmp) {
        /* A new file, never through a symlink planted in a shared
         * folder (it would truncate whatever it names). */
        unlink(tmp);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                               O_CLOEXEC, 0644);
        if (fd >= 0) {
            fchmod(fd, 0644); /* whatever the umask says */
            rc = discovery_fill(fd, text);
            close(fd);
            if (rc == 0)
                rc = rename(tmp, final);
            if (rc != 0)
                unlink(tmp);
        }
    }
    int e = errno;
    free(final);
    free(tmp);
    errno = e;
    return rc;
}

int discovery_write(const char *abs, const char *listen, const char *publish)
{
    char buf[4 * PATH_MAX + 128];
    int n = snprintf(buf, sizeof buf,
                     "pid=%ld\nlisten=%s\npublish=%s\nstore=%s\n",
                     (long)getpid(), listen, publish, abs);
    if (n < 0 || (size_t)n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return discovery_put(abs, ".srdd", buf);
}

void discovery_remove(const char *abs)
{
    char *name = discovery_name(abs, ".srdd");
    char buf[64], want[64];
    if (!name)
        return;
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        snprintf(want, sizeof want, "pid=%ld\n", (long)getpid());
        if (strncmp(buf, want, strlen(want)) == 0)
            unlink(name);
    }
    free(name);
}
