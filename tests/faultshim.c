/* SPDX-License-Identifier: MIT */
/*
 * faultshim.c -- an LD_PRELOAD library that fails chosen system calls of
 * a real process (srdd, or a client), for the fault tests of
 * tests/integration/check_procfaults.c. Chosen by the environment:
 *
 *   SRD_FAULT=KIND:N:ERRNO[:COUNT]
 *     KIND   write  pwritev, pwrite, write, copy_file_range to the file
 *                   SRD_FAULT_FILE names (its inode, as at the first call)
 *            sync   fdatasync and fsync of that file
 *            sock   sendmsg, recvmsg, writev and readv on sockets
 *            alloc  posix_fallocate of any regular file (the shared index
 *                   files, which are replaced as they grow: no
 *                   SRD_FAULT_FILE); it returns the error, as that
 *                   function does
 *            pwait2 epoll_pwait2 (ENOSYS: a kernel before 5.11)
 *     N      the first call to fail (1-based, counted per KIND)
 *     ERRNO  EIO, ENOSPC, ECONNRESET, EPIPE or ENOSYS
 *     COUNT  how many calls fail from the N-th on (default 1; 0: every
 *            later one, a disk that stays full)
 *   SRD_FAULT_MARK=PATH  created when the first fault is injected, holding
 *                        "KIND N" (so a test knows the fault happened)
 *
 * Nothing is written when a call fails. The real calls are found with
 * dlsym(RTLD_NEXT).
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { FK_NONE, FK_WRITE, FK_SYNC, FK_SOCK, FK_ALLOC, FK_PWAIT2 };

static struct {
    pthread_once_t once;
    int kind;
    unsigned long first, count; /* count 0: no end */
    int err;
    dev_t dev;
    ino_t ino;
    bool have_file;
    unsigned long calls;
    bool marked;
    pthread_mutex_t mu;
} g_fs = {PTHREAD_ONCE_INIT, FK_NONE, 0, 1, 0, 0, 0, false, 0, false,
          PTHREAD_MUTEX_INITIALIZER};

static int fs_errno_of(const char *s)
{
    static const struct {
        const char *name;
        int e;
    } tab[] = {{"EIO", EIO}, {"ENOSPC", ENOSPC}, {"ECONNRESET", ECONNRESET},
               {"EPIPE", EPIPE}, {"ENOSYS", ENOSYS}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(s, tab[i].name) == 0)
            return tab[i].e;
    return EIO;
}

static void fs_init(void)
{
    const char *spec = getenv("SRD_FAULT");
    char kind[16], err[16] = "EIO";
    unsigned long n = 0, count = 1;
    if (!spec || sscanf(spec, "%15[a-z0-9]:%lu:%15[A-Z]:%lu", kind, &n, err,
                        &count) < 2)
        return;
    g_fs.kind = strcmp(kind, "write") == 0  ? FK_WRITE
                : strcmp(kind, "sync") == 0 ? FK_SYNC
                : strcmp(kind, "sock") == 0 ? FK_SOCK
                : strcmp(kind, "alloc") == 0 ? FK_ALLOC
                : strcmp(kind, "pwait2") == 0 ? FK_PWAIT2
                                            : FK_NONE;
    g_fs.first = n;
    g_fs.count = count;
    g_fs.err = fs_errno_of(err);
    const char *file = getenv("SRD_FAULT_FILE");
    struct stat sb;
    if (g_fs.kind != FK_SOCK && g_fs.kind != FK_ALLOC &&
        g_fs.kind != FK_PWAIT2 && file &&
        stat(file, &sb) == 0) {
        g_fs.dev = sb.st_dev;
        g_fs.ino = sb.st_ino;
        g_fs.have_file = true;
    }
}

/* Whether fd is the call's target for kind. */
static bool fs_target(int kind, int fd)
{
    pthread_once(&g_fs.once, fs_init);
    if (g_fs.kind != kind || g_fs.first == 0)
        return false;
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return false;
    if (kind == FK_SOCK)
        return S_ISSOCK(sb.st_mode);
    if (kind == FK_ALLOC)
        return S_ISREG(sb.st_mode);
    if (kind == FK_PWAIT2)
        return true; /* any epoll instance */
    if (!g_fs.have_file) { /* the store did not exist yet at the start */
        const char *file = getenv("SRD_FAULT_FILE");
        struct stat fb;
        if (!file || stat(file, &fb) != 0)
            return false;
        g_fs.dev = fb.st_dev;
        g_fs.ino = fb.st_ino;
        g_fs.have_file = true;
    }
    return sb.st_dev == g_fs.dev && sb.st_ino == g_fs.ino;
}

static void fs_mark(unsigned long call)
{
    const char *mark = getenv("SRD_FAULT_MARK");
    if (!mark || g_fs.marked)
        return;
    g_fs.marked = true;
    int fd = open(mark, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    char line[64];
    int n = snprintf(line, sizeof line, "%d %lu\n", g_fs.kind, call);
    if (n > 0 && write(fd, line, (size_t)n) < 0)
        n = 0;
    close(fd);
}

/* Counts a call of kind on fd; true (errno set) when it must fail. */
static bool fs_fail(int kind, int fd)
{
    if (!fs_target(kind, fd))
        return false;
    pthread_mutex_lock(&g_fs.mu);
    unsigned long call = ++g_fs.calls;
    bool fail = call >= g_fs.first &&
                (g_fs.count == 0 || call < g_fs.first + g_fs.count);
    if (fail)
        fs_mark(call);
    pthread_mutex_unlock(&g_fs.mu);
    if (fail)
        errno = g_fs.err;
    return fail;
}

/* The next definition of name (libc's), looked up once per slot. */
static void *fs_real(void **slot, const char *name)
{
    void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (!f) {
        f = dlsym(RTLD_NEXT, name);
        __atomic_store_n(slot, f, __ATOMIC_RELEASE);
    }
    return f;
}

#define FS_REAL(type, name) \
    static void *slot_##name; \
    type real_##name = (type)fs_real(&slot_##name, #name)

typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*cfr_fn)(int, loff_t *, int, loff_t *, size_t, unsigned);
typedef int (*sync_fn)(int);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);
typedef ssize_t (*iov_fn)(int, const struct iovec *, int);
typedef int (*falloc_fn)(int, off_t, off_t);
typedef int (*pwait2_fn)(int, struct epoll_event *, int,
                         const struct timespec *, const sigset_t *);

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    FS_REAL(pwritev_fn, pwritev);
    return fs_fail(FK_WRITE, fd) ? -1 : real_pwritev(fd, iov, n, off);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    FS_REAL(pwrite_fn, pwrite);
    return fs_fail(FK_WRITE, fd) ? -1 : real_pwrite(fd, buf, n, off);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    FS_REAL(write_fn, write);
    return fs_fail(FK_WRITE, fd) ? -1 : real_write(fd, buf, n);
}

ssize_t copy_file_range(int in, loff_t *in_off, int out, loff_t *out_off,
                        size_t len, unsigned flags)
{
    FS_REAL(cfr_fn, copy_file_range);
    return fs_fail(FK_WRITE, out) ? -1
                                  : real_copy_file_range(in, in_off, out,
                                                         out_off, len, flags);
}

int fdatasync(int fd)
{
    FS_REAL(sync_fn, fdatasync);
    return fs_fail(FK_SYNC, fd) ? -1 : real_fdatasync(fd);
}

int fsync(int fd)
{
    FS_REAL(sync_fn, fsync);
    return fs_fail(FK_SYNC, fd) ? -1 : real_fsync(fd);
}

ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
    FS_REAL(sendmsg_fn, sendmsg);
    return fs_fail(FK_SOCK, fd) ? -1 : real_sendmsg(fd, m, flags);
}

ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
    FS_REAL(recvmsg_fn, recvmsg);
    return fs_fail(FK_SOCK, fd) ? -1 : real_recvmsg(fd, m, flags);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    FS_REAL(iov_fn, writev);
    return fs_fail(FK_SOCK, fd) ? -1 : real_writev(fd, iov, n);
}

ssize_t readv(int fd, const struct iovec *iov, int n)
{
    FS_REAL(iov_fn, readv);
    return fs_fail(FK_SOCK, fd) ? -1 : real_readv(fd, iov, n);
}

int posix_fallocate(int fd, off_t off, off_t len)
{
    FS_REAL(falloc_fn, posix_fallocate);
    if (fs_fail(FK_ALLOC, fd))
        return errno;
    return real_posix_fallocate(fd, off, len);
}

int epoll_pwait2(int ep, struct epoll_event *evs, int max,
                 const struct timespec *timeout, const sigset_t *mask)
{
    FS_REAL(pwait2_fn, epoll_pwait2);
    return fs_fail(FK_PWAIT2, ep) ? -1
                                  : real_epoll_pwait2(ep, evs, max, timeout,
                                                      mask);
}
