/* SPDX-License-Identifier: MIT */
/*
 * writer.c -- the single writer of a store file (see writer.h).
 *
 * Invariants:
 *  1. Bytes past `tail` are never part of the store: a failed append is cut
 *     back with ftruncate before the call returns; if even that fails the
 *     writer is marked failed and refuses every later write.
 *  2. A multi-entry unit is unreachable until complete: its first trailer
 *     is written with prev = UINT64_MAX (no chain can pass through it) and
 *     fixed by an 8-byte pwrite once every byte of the unit is written; in
 *     SRD_SYNC_ALWAYS an fdatasync separates the two, so a power loss cannot
 *     persist the fix without the unit.
 *  3. After an fdatasync failure the data it covered is treated as lost:
 *     the writer is failed (no retry that could falsely succeed, since
 *     Linux reports a writeback error only once).
 *  4. The sidecar "<path>.synced" (synced.h) is written under sync_mu
 *     with pwrite (a torn record fails its CRC) and no sync of its own, after an fdatasync (or
 *     compaction's fsync) made its synced tail durable, and names as its
 *     written tail one this process has written: whatever version of it
 *     survives a crash claims no more than holds. Its failure is ignored
 *     (the record is retried at the next sync): it only saves recovery
 *     work, durability never depends on it. When a sync fails, the record
 *     withdraws its written tail to the synced one (Linux may drop the
 *     pages that failed writeback, so written bytes may read back stale
 *     even in this boot), and the failed writer records nothing more.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errno_map.h"
#include "io.h"
#include "srd_assert.h"
#include "synced.h"
#include "writer.h"

struct srdi_writer {
    int lock_fd;
    int fd;
    _Atomic uint64_t tail;      /* end of the last complete entry */
    srd_sync_mode mode;
    unsigned interval_ms;
    _Atomic bool failed;        /* see invariant 3 */
    pthread_mutex_t sync_mu;    /* group commit: one fdatasync at a time */
    uint64_t synced;            /* under sync_mu: durable up to here */
    int sfd;                    /* the sidecar "<path>.synced", or -1 */
    srdi_synced rec;            /* under sync_mu: what the sidecar holds */
    bool rec_ok;                /* rec is known to be in the sidecar */
    bool rec_mine;              /* ... and its trailers were read by us */
    bool ident_ok;              /* rec.dev/ino describe fd (else no record) */
    uint64_t dev, ino;          /* fd's identity as of start or switch */
    uint8_t boot[SRDI_BOOT_ID_SIZE]; /* the running boot's id */
    uint32_t align;             /* the file's layout (format.h) */
    uint8_t *scratch;           /* staging for small entries */
    size_t scratch_cap;
    bool ticker_running;        /* SRD_SYNC_INTERVAL background thread */
    bool ticker_stop;
    pthread_t ticker;
    pthread_mutex_t ticker_mu;
    pthread_cond_t ticker_cv;
};

/* Values up to this size are copied into the staging buffer; larger ones
 * are written straight from the caller's memory. */
#define WR_COPY_MAX 4096u
#define WR_STREAM_BUF (1u << 20)

static const uint8_t wr_zeros[SRDI_ALIGN];

/* ---- system calls (replaceable for fault injection) -------------------- */

static const srdi_sys wr_default_sys = {pwritev, pwrite, fdatasync, ftruncate};
static const srdi_sys *wr_sys = &wr_default_sys;

void srdi_writer_set_sys(const srdi_sys *sys)
{
    wr_sys = sys ? sys : &wr_default_sys;
}

/* Write all of iov at off, resuming after short writes and EINTR. */
static srd_err wr_pwritev_all(int fd, struct iovec *iov, int n, uint64_t off)
{
    while (n > 0) {
        if (iov->iov_len == 0) { /* nothing to write (e.g. a pad of 0) */
            iov++;
            n--;
            continue;
        }
        int chunk = n < IOV_MAX ? n : IOV_MAX;
        ssize_t k = wr_sys->pwritev(fd, iov, chunk, (off_t)off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return srdi_errno(errno);
        }
        if (k == 0)
            return SRD_EIO;
        off += (uint64_t)k;
        while (n > 0 && (size_t)k >= iov->iov_len) {
            k -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + k;
            iov->iov_len -= (size_t)k;
        }
    }
    return SRD_OK;
}

static srd_err wr_pwrite_all(int fd, const void *p, size_t len, uint64_t off)
{
    struct iovec iov = {(void *)p, len};
    return wr_pwritev_all(fd, &iov, 1, off);
}

static srd_err wr_datasync(srdi_writer *w)
{
    while (wr_sys->fdatasync(w->fd) != 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        atomic_store(&w->failed, true);
        return srdi_errno(e);
    }
    return SRD_OK;
}

/* ftruncate, retried on EINTR. */
static srd_err wr_truncate(int fd, uint64_t len)
{
    while (wr_sys->ftruncate(fd, (off_t)len) != 0)
        if (errno != EINTR)
            return srdi_errno(errno);
    return SRD_OK;
}

/* Cut the file back to tail after a failed append (invariant 1). */
static void wr_cut(srdi_writer *w, uint64_t tail)
{
    if (wr_truncate(w->fd, tail) != SRD_OK)
        atomic_store(&w->failed, true);
}

/* The trailer of the entry ending at end (zeros for 0). */
static bool wr_trailer(int fd, uint64_t end, uint8_t tr[SRDI_TRAILER_SIZE])
{
    memset(tr, 0, SRDI_TRAILER_SIZE);
    return end == 0 || srdi_pread_full(fd, tr, SRDI_TRAILER_SIZE,
                                       end - SRDI_TRAILER_SIZE,
                                       NULL) == SRDI_TRAILER_SIZE;
}

/* Write the record {durable up to w->synced, written up to `written`}
 * unless the sidecar holds it already (invariant 4; caller holds sync_mu
 * or owns w alone). */
static void wr_put_record(srdi_writer *w, uint64_t written)
{
    if (w->sfd < 0 || !w->ident_ok)
        return;
    if (w->rec_ok && w->rec.synced == w->synced && w->rec.written == written &&
        memcmp(w->rec.boot, w->boot, sizeof w->boot) == 0)
        return;
    srdi_synced rec = w->rec;
    rec.synced = w->synced;
    rec.written = written;
    memcpy(rec.boot, w->boot, sizeof w->boot);
    /* One read per record in the common cases: right after a sync the
     * two tails are one, and the synced tail is often the last record's
     * written one. */
    if (!wr_trailer(w->fd, rec.written, rec.written_trailer))
        return;
    if (rec.synced == rec.written)
        memcpy(rec.synced_trailer, rec.written_trailer,
               SRDI_TRAILER_SIZE);
    else if (w->rec_ok && w->rec_mine && rec.synced == w->rec.written)
        memcpy(rec.synced_trailer, w->rec.written_trailer,
               SRDI_TRAILER_SIZE);
    else if (!wr_trailer(w->fd, rec.synced, rec.synced_trailer))
        return;
    uint8_t buf[SRDI_SYNCED_SIZE];
    srdi_synced_encode(buf, &rec);
    w->rec_ok = false; /* until the whole record is written */
    size_t done = 0;
    while (done < sizeof buf) {
        ssize_t k = wr_sys->pwrite(w->sfd, buf + done, sizeof buf - done,
                                   (off_t)done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return;
        done += (size_t)k;
    }
    w->rec = rec;
    w->rec_ok = true;
    w->rec_mine = true;
}

/* After a sync: durable up to w->synced, written up to the tail. */
static void wr_record(srdi_writer *w)
{
    if (!atomic_load(&w->failed))
        wr_put_record(w, atomic_load(&w->tail));
}

/* A sync failed (invariant 3): vouch for nothing past the synced tail. */
static void wr_withdraw(srdi_writer *w)
{
    wr_put_record(w, w->synced);
}

/* Identity of the store file for the record. */
static void wr_identify(srdi_writer *w)
{
    struct stat st;
    w->ident_ok = fstat(w->fd, &st) == 0;
    w->rec.dev = w->ident_ok ? (uint64_t)st.st_dev : 0;
    w->rec.ino = w->ident_ok ? (uint64_t)st.st_ino : 0;
    w->dev = w->rec.dev; /* rec is rewritten by syncs; these are not */
    w->ino = w->rec.ino;
    w->rec_ok = false;
    w->rec_mine = false;
}

/* ---- lifecycle --------------------------------------------------------- */

/* The directory holding path, opened (-1 with errno set). */
static int wr_open_dir(const char *path)
{
    char *dir = strdup(path);
    if (!dir) {
        errno = ENOMEM;
        return -1;
    }
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = 0;
    else if (slash)
        *slash = 0;
    else
        strcpy(dir, ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int e = errno;
    free(dir);
    errno = e;
    return dfd;
}

srd_err srdi_writer_fsync_dir(const char *path)
{
    int dfd = wr_open_dir(path);
    if (dfd < 0)
        return srdi_errno(errno);
    int rc = fsync(dfd);
    int e = errno;
    close(dfd);
    return rc == 0 ? SRD_OK : srdi_errno(e);
}

/* "<path>.lock" in a new string (NULL: out of memory, errno set). */
static char *wr_lock_name(const char *path)
{
    size_t n = strlen(path);
    char *lpath = malloc(n + sizeof ".lock");
    if (!lpath) {
        errno = ENOMEM;
        return NULL;
    }
    /* the second memcpy appends ".lock" and its NUL */
    memcpy(lpath, path, n); // NOLINT(bugprone-not-null-terminated-result)
    memcpy(lpath + n, ".lock", sizeof ".lock");
    return lpath;
}

/* A new lock file at lpath that is flocked before it appears there (an
 * O_TMPFILE linked into place), so no other locker can take it first and
 * leave it behind when the store is refused: its fd, or -1 (errno EEXIST:
 * one appeared meanwhile; EOPNOTSUPP and the like: no O_TMPFILE here). */
static int wr_create_locked(const char *lpath)
{
    int dfd = wr_open_dir(lpath);
    if (dfd < 0)
        return -1;
    int lfd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    int e = errno;
    close(dfd);
    if (lfd < 0) {
        errno = e;
        return -1;
    }
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", lfd);
    if (flock(lfd, LOCK_EX | LOCK_NB) != 0 ||
        linkat(AT_FDCWD, proc, AT_FDCWD, lpath, AT_SYMLINK_FOLLOW) != 0) {
        e = errno;
        close(lfd);
        errno = e;
        return -1;
    }
    return lfd;
}

/* Open path read-write (with extra open flags oflags); when it is
 * missing and make is given, create it with make(path, mode), which must
 * fail with EEXIST when a file appeared meanwhile (then open again).
 * *created: make made it. */
static int wr_open_or_make(const char *path, int oflags,
                           int (*make)(const char *path, unsigned mode),
                           unsigned mode, bool *created)
{
    *created = false;
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = open(path, O_RDWR | O_CLOEXEC | oflags);
        if (fd >= 0 || errno != ENOENT || !make)
            return fd;
        fd = make(path, mode);
        if (fd >= 0 || errno != EEXIST) {
            *created = fd >= 0;
            return fd;
        }
    }
    errno = EEXIST;
    return -1;
}

/* Create a file exclusively (never through a symlink) with mode. */
static int wr_make_excl(const char *path, unsigned mode)
{
    return open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                mode);
}

/* Create the lock file lpath flocked (wr_create_locked), or plainly
 * where the file system has no O_TMPFILE. */
static int wr_make_lock(const char *lpath, unsigned mode)
{
    int lfd = wr_create_locked(lpath);
    return lfd >= 0 || errno == EEXIST ? lfd : wr_make_excl(lpath, mode);
}

/* Open the lock file lpath, creating it 0600 and exclusively (a lock
 * file others could open is one they could flock to keep the writer out;
 * never through a symlink planted in its place). *created: this call
 * made it, so a refused open may remove it again. */
static int wr_open_lockfile(const char *lpath, bool *created)
{
    return wr_open_or_make(lpath, O_NOFOLLOW, wr_make_lock, 0600, created);
}

/* Whether lpath still names the file open on lfd. A refused open removes
 * the lock file it created while holding its flock (srdi_writer_unlock),
 * so a locker whose flock lands on a removed file must not count it. */
static bool wr_lock_current(int lfd, const char *lpath)
{
    struct stat a, b;
    return fstat(lfd, &a) == 0 && lstat(lpath, &b) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Open and flock the lock file lpath: its fd, or -1 with *rc set
 * (SRD_EBUSY: another writer holds it). Again while the file it locked
 * (or found locked) is one a refused open removed meanwhile. */
static int wr_take_lockfile(const char *lpath, bool *created, srd_err *rc)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        int lfd = wr_open_lockfile(lpath, created);
        if (lfd < 0) {
            *rc = srdi_errno(errno);
            return -1;
        }
        bool got = flock(lfd, LOCK_EX | LOCK_NB) == 0;
        int e = errno;
        if (wr_lock_current(lfd, lpath)) {
            if (got)
                return lfd;
            close(lfd);
            *rc = e == EWOULDBLOCK ? SRD_EBUSY : srdi_errno(e);
            return -1;
        }
        close(lfd); /* removed or replaced under us: look again */
    }
    *rc = SRD_EBUSY;
    return -1;
}

void srdi_writer_unlock(const char *path, int lfd, bool lock_made)
{
    if (lfd < 0)
        return;
    char *lpath = lock_made ? wr_lock_name(path) : NULL;
    /* Only while the flock is still ours, and only the file it is on:
     * every locker checks that the name still names what it locked. */
    if (lpath && wr_lock_current(lfd, lpath))
        unlink(lpath);
    free(lpath);
    close(lfd);
}

/* Open the store read-write; a new one is created exclusively (O_EXCL:
 * never through a symlink or over a file that appeared meanwhile) with
 * mode. *created: it was. */
static int wr_open_store(const char *path, bool create, unsigned mode,
                         bool *created)
{
    return wr_open_or_make(path, 0, create ? wr_make_excl : NULL, mode,
                           created);
}

/* Lock the store's inode itself (flock on fd): a second writer reaching
 * the same file through a symlink or a hard link, whose "<name>.lock"
 * differs, is refused too. SRD_ESTATE: path no longer names the file
 * (replaced between the open and the lock): open again. */
static srd_err wr_lock_inode(int fd, const char *path)
{
    struct stat a, b;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0)
        return errno == EWOULDBLOCK ? SRD_EBUSY : srdi_errno(errno);
    if (fstat(fd, &a) != 0)
        return srdi_errno(errno);
    if (!S_ISREG(a.st_mode))
        return SRD_EINVAL;
    if (stat(path, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        return SRD_ESTATE;
    return SRD_OK;
}

/* Open path and lock its inode, again if it was replaced meanwhile. */
static srd_err wr_open_locked(const char *path, bool create, unsigned mode,
                              int *fd_out, bool *created)
{
    srd_err rc = SRD_ESTATE;
    for (int attempt = 0; attempt < 3 && rc == SRD_ESTATE; attempt++) {
        int fd = wr_open_store(path, create, mode, created);
        if (fd < 0)
            return srdi_errno(errno);
        rc = wr_lock_inode(fd, path);
        if (rc == SRD_OK)
            *fd_out = fd;
        else
            close(fd);
    }
    return rc == SRD_ESTATE ? SRD_EBUSY : rc;
}

srd_err srdi_writer_lock(const char *path, bool create, unsigned mode,
                         int *lock_fd, int *fd_out, bool *lock_created)
{
    struct stat st;
    *lock_created = false;
    if (!create && stat(path, &st) != 0)
        return srdi_errno(errno);
    char *lpath = wr_lock_name(path);
    if (!lpath)
        return SRD_ENOMEM;
    srd_err rc = SRD_OK;
    bool made = false;
    int lfd = wr_take_lockfile(lpath, &made, &rc);
    free(lpath);
    if (lfd < 0)
        return rc;
    int fd = -1;
    bool created = false;
    rc = wr_open_locked(path, create, mode, &fd, &created);
    if (rc == SRD_OK && created)
        rc = srdi_writer_fsync_dir(path);
    if (rc != SRD_OK) {
        if (fd >= 0)
            close(fd);
        srdi_writer_unlock(path, lfd, made);
        return rc;
    }
    *lock_fd = lfd;
    *fd_out = fd;
    *lock_created = made;
    return SRD_OK;
}

/* SRD_SYNC_INTERVAL: sync in the background every interval_ms. */
static void *wr_ticker_main(void *arg)
{
    srdi_writer *w = arg;
    pthread_mutex_lock(&w->ticker_mu);
    while (!w->ticker_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)w->interval_ms * 1000000u;
        ts.tv_sec += (time_t)(ns / 1000000000u);
        ts.tv_nsec = (long)(ns % 1000000000u);
        pthread_cond_timedwait(&w->ticker_cv, &w->ticker_mu, &ts);
        if (w->ticker_stop)
            break;
        pthread_mutex_unlock(&w->ticker_mu);
        srdi_writer_sync(w);
        pthread_mutex_lock(&w->ticker_mu);
    }
    pthread_mutex_unlock(&w->ticker_mu);
    return NULL;
}

srd_err srdi_writer_start(const char *path, int lock_fd, int fd,
                          uint64_t tail, const srdi_synced *old,
                          srd_sync_mode mode, unsigned interval_ms,
                          srdi_writer **out)
{
    srdi_writer *w = calloc(1, sizeof *w);
    if (!w) {
        close(fd);
        close(lock_fd);
        return SRD_ENOMEM;
    }
    w->lock_fd = lock_fd;
    w->fd = fd;
    w->sfd = -1;
    w->align = SRDI_ALIGN;
    atomic_init(&w->tail, tail);
    atomic_init(&w->failed, false);
    w->mode = mode;
    w->interval_ms = interval_ms ? interval_ms : 100;
    /* Recovery checked every entry past what old trusted (or all). */
    w->synced = old && old->synced <= tail ? old->synced : 0;
    pthread_mutex_init(&w->sync_mu, NULL);
    pthread_mutex_init(&w->ticker_mu, NULL);
    pthread_cond_init(&w->ticker_cv, NULL);
    struct stat st;
    srd_err rc = SRD_OK;
    if (fstat(fd, &st) != 0)
        rc = srdi_errno(errno);
    else if ((uint64_t)st.st_size > tail)
        rc = wr_truncate(fd, tail);
    if (rc == SRD_OK) {
        wr_identify(w);
        srdi_synced_boot_id(w->boot);
        if (old && old->dev == w->rec.dev && old->ino == w->rec.ino) {
            w->rec = *old; /* what the sidecar holds: no rewrite if same */
            w->rec_ok = true;
        }
        w->sfd = srdi_synced_open(path, st.st_mode & 0666);
    }
    /* What recovery accepted past the old record (or, without one, the
     * whole file) becomes the durable prefix once synced; in
     * SRD_SYNC_NEVER only as the written tail of this boot. */
    if (rc == SRD_OK && mode != SRD_SYNC_NEVER && w->synced < tail) {
        rc = wr_datasync(w);
        if (rc == SRD_OK)
            w->synced = tail;
        else
            wr_withdraw(w);
    }
    if (rc == SRD_OK)
        wr_record(w);
    if (rc == SRD_OK && mode == SRD_SYNC_INTERVAL) {
        if (pthread_create(&w->ticker, NULL, wr_ticker_main, w) != 0)
            rc = SRD_ENOMEM;
        else
            w->ticker_running = true;
    }
    if (rc != SRD_OK) {
        srdi_writer_stop(w);
        return rc;
    }
    *out = w;
    return SRD_OK;
}

srd_err srdi_writer_stop(srdi_writer *w)
{
    if (!w)
        return SRD_OK;
    if (w->ticker_running) {
        pthread_mutex_lock(&w->ticker_mu);
        w->ticker_stop = true;
        pthread_cond_signal(&w->ticker_cv);
        pthread_mutex_unlock(&w->ticker_mu);
        pthread_join(w->ticker, NULL);
    }
    srd_err rc = SRD_OK;
    if (w->mode != SRD_SYNC_NEVER && !atomic_load(&w->failed))
        rc = srdi_writer_sync(w);
    else
        wr_record(w); /* the written tail, for a reopen in this boot */
    close(w->fd);
    if (w->sfd >= 0)
        close(w->sfd);
    close(w->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&w->sync_mu);
    pthread_mutex_destroy(&w->ticker_mu);
    pthread_cond_destroy(&w->ticker_cv);
    free(w->scratch);
    free(w);
    return rc;
}

void srdi_writer_abandon(srdi_writer *w)
{
    if (!w)
        return;
    close(w->fd); /* the flocks stay with the parent's descriptors */
    if (w->sfd >= 0)
        close(w->sfd);
    close(w->lock_fd);
    free(w->scratch);
    free(w); /* its mutexes may be held by a parent's thread: left as is */
}

void srdi_writer_unlock_inode(srdi_writer *w)
{
    flock(w->fd, LOCK_UN);
}

/* fd on a new open file description of its file (no flock of its own). */
static void wr_reopen_unlocked(int fd)
{
    char name[32] = "/proc/self/fd/";
    char digits[12];
    size_t n = 0, at = strlen(name);
    for (unsigned v = (unsigned)fd; n == 0 || v > 0; v /= 10)
        digits[n++] = (char)('0' + v % 10);
    while (n > 0)
        name[at++] = digits[--n];
    name[at] = 0;
    int nfd = open(name, O_RDONLY | O_CLOEXEC);
    if (nfd >= 0) {
        dup3(nfd, fd, O_CLOEXEC);
        close(nfd);
    }
}

void srdi_writer_child_unlock(srdi_writer *w)
{
    if (!w)
        return;
    wr_reopen_unlocked(w->fd);
    wr_reopen_unlocked(w->lock_fd);
}

uint64_t srdi_writer_tail(const srdi_writer *w)
{
    return atomic_load(&w->tail);
}

void srdi_writer_set_align(srdi_writer *w, uint32_t align)
{
    w->align = align;
}

int srdi_writer_fd(const srdi_writer *w)
{
    return w->fd;
}

bool srdi_writer_ident(const srdi_writer *w, uint64_t *dev, uint64_t *ino)
{
    *dev = w->dev;
    *ino = w->ino;
    return w->ident_ok;
}

bool srdi_writer_failed(const srdi_writer *w)
{
    return atomic_load(&w->failed);
}

void srdi_writer_switch_file(srdi_writer *w, int new_fd, uint64_t new_tail)
{
    pthread_mutex_lock(&w->sync_mu);
    close(w->fd);
    w->fd = new_fd;
    atomic_store(&w->tail, new_tail);
    w->synced = new_tail;
    wr_identify(w); /* the record named the old file */
    wr_record(w);
    pthread_mutex_unlock(&w->sync_mu);
}

/* ---- syncing ----------------------------------------------------------- */

srd_err srdi_writer_sync(srdi_writer *w)
{
    pthread_mutex_lock(&w->sync_mu);
    srd_err rc = SRD_EFAILED;
    if (!atomic_load(&w->failed)) {
        uint64_t target = atomic_load(&w->tail);
        rc = wr_datasync(w);
        if (rc == SRD_OK && target > w->synced)
            w->synced = target;
        if (rc == SRD_OK)
            wr_record(w);
        else
            wr_withdraw(w);
    }
    pthread_mutex_unlock(&w->sync_mu);
    return rc;
}

srd_err srdi_writer_sync_to(srdi_writer *w, uint64_t end)
{
    if (w->mode != SRD_SYNC_ALWAYS)
        return atomic_load(&w->failed) ? SRD_EFAILED : SRD_OK;
    pthread_mutex_lock(&w->sync_mu);
    srd_err rc = SRD_OK;
    if (atomic_load(&w->failed)) {
        rc = SRD_EFAILED;
    } else if (w->synced < end) {
        /* One fdatasync covers every append that finished before it. */
        uint64_t target = atomic_load(&w->tail);
        rc = wr_datasync(w);
        if (rc == SRD_OK) {
            w->synced = target;
            wr_record(w);
        } else {
            wr_withdraw(w);
        }
    }
    pthread_mutex_unlock(&w->sync_mu);
    return rc;
}

/* ---- appending entries -------------------------------------------------- */

static bool wr_reserve_scratch(srdi_writer *w, size_t need)
{
    if (need <= w->scratch_cap)
        return true;
    size_t cap = need < 65536 ? 65536 : need + need / 2;
    uint8_t *p = realloc(w->scratch, cap);
    if (!p)
        return false;
    w->scratch = p;
    w->scratch_cap = cap;
    return true;
}

/* Lay the unit out: placed[], staging bytes needed and iovec count. */
static void wr_plan(const srdi_op *ops, size_t n, uint64_t tail,
                    uint32_t align, srdi_entry *placed, size_t *scratch,
                    size_t *niov)
{
    uint64_t prev = tail;
    *scratch = 0;
    *niov = 0;
    for (size_t i = 0; i < n; i++) {
        srdi_entry *e = &placed[i];
        e->start = prev;
        e->key_hash = ops[i].key_hash;
        e->tombstone = ops[i].tombstone;
        if (ops[i].tombstone) {
            e->payload = prev;
            e->len = 1;
            e->crc = SRDI_TOMBSTONE_CRC;
        } else {
            e->payload = prev + srdi_format_pad_in(prev, align);
            e->len = ops[i].len;
            e->crc = srdi_crc32(0, ops[i].val, ops[i].len);
        }
        e->end = e->payload + e->len + SRDI_TRAILER_SIZE;
        if (e->tombstone || e->len <= WR_COPY_MAX) {
            *scratch += (size_t)(e->end - e->start);
            *niov += 1;
        } else {
            *scratch += SRDI_TRAILER_SIZE;
            *niov += 3;
        }
        prev = e->end;
    }
}

/* Build iovecs: small entries are copied whole into the staging buffer
 * (adjacent copies merge into one iovec), large payloads are referenced. */
static int wr_build(srdi_writer *w, const srdi_op *ops, size_t n,
                    const srdi_entry *placed, bool poison, struct iovec *iov)
{
    uint8_t *s = w->scratch;
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        const srdi_entry *e = &placed[i];
        uint64_t prev = (i == 0 && poison) ? UINT64_MAX : e->start;
        size_t pad = (size_t)(e->payload - e->start);
        bool copy = e->tombstone || e->len <= WR_COPY_MAX;
        uint8_t *seg = s;
        if (copy) {
            memset(s, 0, pad);
            s += pad;
            if (e->tombstone)
                *s = 0;
            else
                memcpy(s, ops[i].val, (size_t)e->len);
            s += e->len;
        } else {
            iov[k++] = (struct iovec){(void *)wr_zeros, pad};
            iov[k++] = (struct iovec){(void *)ops[i].val, (size_t)e->len};
            seg = s;
        }
        srdi_format_put_trailer(s, e->key_hash, prev, e->crc);
        s += SRDI_TRAILER_SIZE;
        if (k > 0 && (uint8_t *)iov[k - 1].iov_base + iov[k - 1].iov_len == seg)
            iov[k - 1].iov_len += (size_t)(s - seg);
        else
            iov[k++] = (struct iovec){seg, (size_t)(s - seg)};
    }
    return k;
}

/* The tail after an append: DESIGN.md invariant 1 (only the writer that
 * holds the lock moves it) and the committed tail never decreases (an
 * append only adds bytes past it; only switch_file sets another). The
 * order check is always on: one compare per append. */
static void wr_advance(srdi_writer *w, uint64_t from, uint64_t to)
{
    SRD_ASSERT_ALWAYS(to > from);
    SRD_ASSERT(w->lock_fd >= 0 && w->fd >= 0);
    SRD_ASSERT(atomic_load(&w->tail) == from); /* appends are serialized */
    atomic_store(&w->tail, to);
}

srd_err srdi_writer_append(srdi_writer *w, const srdi_op *ops, size_t n,
                           srdi_entry *placed, bool unit)
{
    if (atomic_load(&w->failed))
        return SRD_EFAILED;
    if (n == 0)
        return SRD_OK;
    uint64_t tail = atomic_load(&w->tail);
    size_t scratch, niov;
    wr_plan(ops, n, tail, w->align, placed, &scratch, &niov);
    struct iovec small[8];
    struct iovec *iov = niov <= 8 ? small : malloc(niov * sizeof *iov);
    if (!iov || !wr_reserve_scratch(w, scratch)) {
        if (iov != small)
            free(iov);
        return SRD_ENOMEM;
    }
    bool poison = unit && n > 1;
    int k = wr_build(w, ops, n, placed, poison, iov);
    srd_err rc = wr_pwritev_all(w->fd, iov, k, tail);
    if (iov != small)
        free(iov);
    if (rc == SRD_OK && poison) {
        /* Invariant 2: make the unit reachable only now. */
        if (w->mode == SRD_SYNC_ALWAYS) {
            rc = wr_datasync(w);
            if (rc != SRD_OK) {
                pthread_mutex_lock(&w->sync_mu);
                wr_withdraw(w);
                pthread_mutex_unlock(&w->sync_mu);
            }
        }
        uint8_t tr[SRDI_TRAILER_SIZE];
        srdi_format_put_trailer(tr, placed[0].key_hash, placed[0].start,
                                placed[0].crc);
        if (rc == SRD_OK)
            rc = wr_pwrite_all(w->fd, tr + 8, 8,
                               placed[0].end - SRDI_TRAILER_SIZE + 8);
    }
    if (rc != SRD_OK) {
        wr_cut(w, tail);
        return rc;
    }
    wr_advance(w, tail, placed[n - 1].end);
    return SRD_OK;
}

/* Copy len bytes from src (offset 0) to the store at off: copy_file_range
 * where the kernel can, pread/pwrite otherwise. */
static srd_err wr_copy_from(srdi_writer *w, int src, uint64_t len,
                            uint64_t off)
{
    loff_t in = 0, out = (loff_t)off;
    bool plain = wr_sys != &wr_default_sys; /* fault tests see every write */
    while (!plain && (uint64_t)in < len) {
        ssize_t k = copy_file_range(src, &in, w->fd, &out,
                                    (size_t)(len - (uint64_t)in), 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                      errno == EOPNOTSUPP)) {
            plain = true;
            break;
        }
        if (k < 0)
            return srdi_errno(errno);
        if (k == 0)
            return SRD_EIO; /* the staging file is shorter than len */
    }
    uint8_t *buf = plain ? malloc(WR_STREAM_BUF) : NULL;
    if (plain && !buf)
        return SRD_ENOMEM;
    srd_err rc = SRD_OK;
    while (plain && (uint64_t)in < len && rc == SRD_OK) {
        size_t want = len - (uint64_t)in < WR_STREAM_BUF
                          ? (size_t)(len - (uint64_t)in) : WR_STREAM_BUF;
        ssize_t k = pread(src, buf, want, in);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            rc = k < 0 ? srdi_errno(errno) : SRD_EIO;
            break;
        }
        rc = wr_pwrite_all(w->fd, buf, (size_t)k, (uint64_t)out);
        in += k;
        out += k;
    }
    free(buf);
    return rc;
}

srd_err srdi_writer_append_file(srdi_writer *w, uint64_t key_hash, int src_fd,
                                uint64_t len, uint32_t crc,
                                srdi_entry *placed)
{
    if (atomic_load(&w->failed))
        return SRD_EFAILED;
    uint64_t tail = atomic_load(&w->tail);
    placed->start = tail;
    placed->payload = tail + srdi_format_pad_in(tail, w->align);
    placed->len = len;
    placed->end = placed->payload + len + SRDI_TRAILER_SIZE;
    placed->key_hash = key_hash;
    placed->crc = crc;
    placed->tombstone = false;
    uint8_t tr[SRDI_TRAILER_SIZE];
    srdi_format_put_trailer(tr, key_hash, tail, crc);
    srd_err rc = wr_pwrite_all(w->fd, wr_zeros,
                               (size_t)(placed->payload - tail), tail);
    if (rc == SRD_OK)
        rc = wr_copy_from(w, src_fd, len, placed->payload);
    if (rc == SRD_OK)
        rc = wr_pwrite_all(w->fd, tr, sizeof tr, placed->end - sizeof tr);
    if (rc != SRD_OK) {
        wr_cut(w, tail);
        return rc;
    }
    wr_advance(w, tail, placed->end);
    return SRD_OK;
}

/* ---- streams ------------------------------------------------------------ */

struct srdi_wstream {
    srdi_writer *w;
    uint64_t key_hash;
    uint64_t start;    /* the tail when the stream began (its prev) */
    uint64_t payload;  /* first payload byte */
    uint64_t flushed;  /* file offset up to which bytes are written */
    bool wrote;        /* a write was attempted: bytes past start may exist */
    uint64_t len;      /* payload bytes received */
    uint32_t crc;
    uint8_t first;     /* first payload byte (single-0x00 rule) */
    srd_err err;       /* sticky error; the stream is dead once set */
    uint8_t *buf;      /* bytes not yet written, starting at flushed */
    size_t blen;
};

srd_err srdi_writer_stream_begin(srdi_writer *w, uint64_t key_hash,
                                 srdi_wstream **out)
{
    if (atomic_load(&w->failed))
        return SRD_EFAILED;
    srdi_wstream *s = calloc(1, sizeof *s);
    if (!s || !(s->buf = malloc(WR_STREAM_BUF))) {
        free(s);
        return SRD_ENOMEM;
    }
    s->w = w;
    s->key_hash = key_hash;
    s->start = atomic_load(&w->tail);
    s->payload = s->start + srdi_format_pad_in(s->start, w->align);
    s->flushed = s->start;
    s->blen = (size_t)(s->payload - s->start);
    memset(s->buf, 0, s->blen);
    *out = s;
    return SRD_OK;
}

static srd_err ws_flush(srdi_wstream *s)
{
    if (s->blen == 0)
        return SRD_OK;
    s->wrote = true;
    srd_err rc = wr_pwrite_all(s->w->fd, s->buf, s->blen, s->flushed);
    if (rc == SRD_OK) {
        s->flushed += s->blen;
        s->blen = 0;
    }
    return rc;
}

srd_err srdi_writer_stream_write(srdi_wstream *s, const void *p, size_t n)
{
    if (s->err)
        return s->err;
    if (n == 0)
        return SRD_OK;
    const uint8_t *b = p;
    if (s->len == 0)
        s->first = b[0];
    s->crc = srdi_crc32(s->crc, b, n);
    s->len += n;
    srd_err rc = SRD_OK;
    if (s->blen + n <= WR_STREAM_BUF) {
        memcpy(s->buf + s->blen, b, n);
        s->blen += n;
        if (s->blen == WR_STREAM_BUF)
            rc = ws_flush(s);
    } else {
        rc = ws_flush(s);
        if (rc == SRD_OK) {
            s->wrote = true;
            rc = wr_pwrite_all(s->w->fd, b, n, s->flushed);
            if (rc == SRD_OK)
                s->flushed += n;
        }
    }
    if (rc != SRD_OK) {
        s->err = rc;
        wr_cut(s->w, s->start);
    }
    return rc;
}

srd_err srdi_writer_stream_commit(srdi_wstream *s, srdi_entry *placed)
{
    srd_err rc = s->err;
    if (rc == SRD_OK && (s->len == 0 || (s->len == 1 && s->first == 0)))
        rc = SRD_EINVAL;
    if (rc == SRD_OK && s->blen + SRDI_TRAILER_SIZE > WR_STREAM_BUF)
        rc = ws_flush(s);
    if (rc == SRD_OK) {
        srdi_format_put_trailer(s->buf + s->blen, s->key_hash, s->start,
                                s->crc);
        s->blen += SRDI_TRAILER_SIZE;
        rc = ws_flush(s);
    }
    if (rc != SRD_OK) {
        srdi_writer_stream_abort(s);
        return rc;
    }
    placed->start = s->start;
    placed->payload = s->payload;
    placed->len = s->len;
    placed->end = s->payload + s->len + SRDI_TRAILER_SIZE;
    placed->key_hash = s->key_hash;
    placed->crc = s->crc;
    placed->tombstone = false;
    wr_advance(s->w, s->start, placed->end);
    free(s->buf);
    free(s);
    return SRD_OK;
}

void srdi_writer_stream_abort(srdi_wstream *s)
{
    if (!s)
        return;
    if (s->wrote) /* even a failed write may have left bytes behind */
        wr_cut(s->w, s->start);
    free(s->buf);
    free(s);
}
