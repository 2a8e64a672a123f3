/* SPDX-License-Identifier: MIT */
/*
 * srdctl_backup.c -- "srdctl backup STORE DEST": an online, consistent
 * copy of a store, like mdb_copy. Works while srdd serves the store, while
 * an embedded writer holds it, or with no writer at all: a read-only open
 * finds the last valid tail at one instant (docs/FORMAT.md section 6), and
 * the bytes [0, tail) of an append-only file never change afterwards, so
 * copying them from the very file that open read gives a store that is
 * valid up to that tail. The copy goes to a temporary file next to DEST,
 * is fsynced, then opened as a writer once (which checks every entry's
 * CRC, since no sidecar applies to a new file, and records the copy's own
 * "<copy>.synced" sidecar: the copy keeps the protection of section 6),
 * verified, and renamed into place with its sidecar. A failure removes the
 * temporary files: DEST is never a half copy.
 */
#define _GNU_SOURCE 1

#include "srdctl_backup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srdctl_out.h"

/* One backup in progress. */
typedef struct bk_job {
    const char *src, *dest;
    int sfd;            /* the source file the read-only open read */
    uint64_t tail;      /* copy [0, tail) */
    mode_t mode;        /* the source's permission bits */
    char *tmp;          /* the temporary copy, or NULL */
    bool progress;      /* --progress */
} bk_job;

/* "<a><b>" in a new string, or NULL. */
static char *bk_cat(const char *a, const char *b)
{
    char *s = NULL;
    return asprintf(&s, "%s%s", a, b) < 0 ? NULL : s;
}

/* Remove "<base><suffix>" (missing is fine). */
static void bk_unlink_sib(const char *base, const char *suffix)
{
    char *n = bk_cat(base, suffix);
    if (n)
        unlink(n);
    free(n);
}

/* Remove what a writer's open of the copy left next to it: the lock and
 * the shared index (rebuilt by the copy's next writer; the copy needs
 * only its .synced, kept unless with_synced). */
static void bk_unlink_writer_files(const char *base, bool with_synced)
{
    bk_unlink_sib(base, ".lock");
    bk_unlink_sib(base, ".idx");
    bk_unlink_sib(base, ".idx.tmp");
    if (with_synced)
        bk_unlink_sib(base, ".synced");
}

/* Whether a writer holds DEST (its lock file is locked). */
static bool bk_dest_held(const char *dest)
{
    char *n = bk_cat(dest, ".lock");
    int fd = n ? open(n, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    free(n);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

/* Open the source and find its tail: the file a read-only open read and
 * its valid tail then. Again when a compaction renamed another file over
 * the path meanwhile. */
static int bk_snapshot(bk_job *j)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        j->sfd = open(j->src, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (j->sfd < 0)
            return cli_fail(cli_sys(errno), "backup: cannot open '%s'",
                            j->src);
        srd_store *st = NULL;
        int rc = cli_open(j->src, 0, &st);
        if (rc != CTL_EXIT_OK)
            return rc;
        srd_err e = srd_tail(st, &j->tail);
        srd_close(st);
        if (e != SRD_OK)
            return cli_fail(e, "backup: %s", j->src);
        struct stat a, b;
        if (fstat(j->sfd, &a) != 0)
            return cli_fail(cli_sys(errno), "backup: %s", j->src);
        j->mode = a.st_mode & 0666;
        if (stat(j->src, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino)
            return CTL_EXIT_OK;
        close(j->sfd); /* replaced under us (a compaction): again */
        j->sfd = -1;
    }
    cli_err("backup: '%s' keeps being replaced (compactions?): try again",
            j->src);
    return CTL_EXIT_STORE;
}

/* Copy up to n bytes at off of sfd to the end of fd by pread and write
 * (where copy_file_range cannot): bytes copied, or -1 with errno. */
static ssize_t bk_copy_plain(int sfd, off_t off, int fd, size_t n)
{
    static char buf[1 << 16];
    ssize_t got = pread(sfd, buf, n < sizeof buf ? n : sizeof buf, off);
    int er = got > 0 ? cli_write_all(fd, buf, (size_t)got) : 0;
    if (er != 0) {
        errno = er;
        return -1;
    }
    return got;
}

/* Copy [0, tail) of the source into fd, with a progress bar. */
static srd_err bk_copy_bytes(const bk_job *j, int fd)
{
    out_progress pg;
    out_progress_init(&pg, "backup", j->progress);
    uint64_t off = 0;
    srd_err e = SRD_OK;
    while (off < j->tail && e == SRD_OK) {
        size_t want = j->tail - off > CTL_CHUNK * 16 ? CTL_CHUNK * 16
                                                     : (size_t)(j->tail - off);
        loff_t in = (loff_t)off;
        ssize_t n = copy_file_range(j->sfd, &in, fd, NULL, want, 0);
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL))
            n = bk_copy_plain(j->sfd, (off_t)off, fd, want);
        if (n < 0)
            e = cli_sys(errno);
        else if (n == 0)
            e = SRD_ECORRUPT; /* the file shrank under its tail */
        else
            off += (uint64_t)n;
        out_progress_show(&pg, off, j->tail);
    }
    out_progress_end(&pg, e == SRD_OK, j->tail);
    if (e == SRD_OK && fsync(fd) != 0)
        e = cli_sys(errno);
    return e;
}

/* Write the temporary copy; its name in j->tmp. */
static int bk_write_copy(bk_job *j)
{
    j->tmp = bk_cat(j->dest, ".backup-XXXXXX");
    if (!j->tmp)
        return cli_fail(SRD_ENOMEM, "backup");
    int fd = mkostemp(j->tmp, O_CLOEXEC);
    if (fd < 0) {
        int er = errno;
        free(j->tmp);
        j->tmp = NULL;
        return cli_fail(cli_sys(er), "backup: cannot create a file next to "
                        "'%s'", j->dest);
    }
    srd_err e = fchmod(fd, j->mode) == 0 ? SRD_OK : cli_sys(errno);
    if (e == SRD_OK)
        e = bk_copy_bytes(j, fd);
    if (close(fd) != 0 && e == SRD_OK)
        e = cli_sys(errno);
    return e == SRD_OK ? CTL_EXIT_OK
                       : cli_fail(e, "backup: cannot copy '%s' to '%s'",
                                  j->src, j->tmp);
}

/* Open the copy as its writer (every entry's CRC checked, its sidecar
 * recorded), verify it, close it. */
static int bk_seal_copy(const bk_job *j)
{
    srd_options o;
    srd_options_init(&o);
    o.flags = SRD_OPEN_EMBEDDED; /* no create: the copy is there */
    srd_store *st = NULL;
    srd_err e = srd_open(j->tmp, &o, &st);
    if (e != SRD_OK)
        return cli_fail(e, "backup: the copy '%s' does not open", j->tmp);
    srd_verify_report r;
    memset(&r, 0, sizeof r);
    e = srd_verify(st, &r, NULL, NULL);
    srd_err ce = srd_close(st);
    bk_unlink_writer_files(j->tmp, false);
    if (e == SRD_ECHECKSUM)
        cli_err("backup: '%s' has %llu bad entr%s (the first at payload "
                "offset %llu): no backup written; see srdctl verify",
                j->src, (unsigned long long)r.bad_entries,
                r.bad_entries == 1 ? "y" : "ies",
                (unsigned long long)r.first_bad_offset);
    if (e == SRD_OK)
        e = ce;
    return e == SRD_OK ? CTL_EXIT_OK
                       : cli_fail(e, "backup: the copy fails its check");
}

/* Rename the sidecar, then the copy, into place; sync the directory. */
static int bk_install(const bk_job *j, bool force)
{
    char *ts = bk_cat(j->tmp, ".synced"), *ds = bk_cat(j->dest, ".synced");
    srd_err e = ts && ds ? SRD_OK : SRD_ENOMEM;
    /* the sidecar first: alone at DEST.synced it names another file's
     * inode, which no open trusts */
    if (e == SRD_OK && rename(ts, ds) != 0 && errno != ENOENT)
        e = cli_sys(errno);
    if (e == SRD_OK && force)
        bk_unlink_sib(j->dest, ".idx"); /* the replaced store's index */
    if (e == SRD_OK && !force &&
        renameat2(AT_FDCWD, j->tmp, AT_FDCWD, j->dest, RENAME_NOREPLACE) != 0)
        e = cli_sys(errno);
    else if (e == SRD_OK && force && rename(j->tmp, j->dest) != 0)
        e = cli_sys(errno);
    if (e == SRD_OK) {
        char *dir = strdup(j->dest);
        char *slash = dir ? strrchr(dir, '/') : NULL;
        if (slash)
            slash[slash == dir ? 1 : 0] = '\0';
        int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) != 0)
            e = cli_sys(errno);
        if (dfd >= 0)
            close(dfd);
        free(dir);
    }
    if (e != SRD_OK && ds)
        unlink(ds);
    free(ts);
    free(ds);
    return e == SRD_OK ? CTL_EXIT_OK
                       : cli_fail(e, "backup: cannot move the copy to '%s'",
                                  j->dest);
}

/* Refuse a DEST that exists (unless force) or that a writer holds. */
static int bk_check_dest(const bk_job *j, bool force)
{
    struct stat sb;
    if (lstat(j->dest, &sb) == 0 && !force)
        return cli_usage_e(SRD_EEXIST, "backup: '%s' exists (use --force to "
                           "replace it)", j->dest);
    if (lstat(j->dest, &sb) == 0 && !S_ISREG(sb.st_mode))
        return cli_usage_e(SRD_EINVAL, "backup: '%s' is not a regular file",
                           j->dest);
    if (bk_dest_held(j->dest)) {
        cli_err("backup: '%s' is a store a writer holds (srdd?): not "
                "replaced", j->dest);
        return CTL_EXIT_STORE;
    }
    return CTL_EXIT_OK;
}

int backup_run(ctl_ctx *cx)
{
    bk_job j = {.src = cx->path, .dest = cx->argv[0], .sfd = -1,
                .progress = cx->progress};
    int rc = bk_check_dest(&j, cx->force);
    if (rc == CTL_EXIT_OK)
        rc = bk_snapshot(&j);
    if (rc == CTL_EXIT_OK)
        rc = bk_write_copy(&j);
    if (rc == CTL_EXIT_OK)
        rc = bk_seal_copy(&j);
    if (rc == CTL_EXIT_OK)
        rc = bk_install(&j, cx->force);
    if (j.sfd >= 0)
        close(j.sfd);
    if (j.tmp && rc != CTL_EXIT_OK) {
        unlink(j.tmp);
        bk_unlink_writer_files(j.tmp, true);
    }
    if (rc == CTL_EXIT_OK)
        printf("backed up %llu bytes of '%s' to '%s'\n",
               (unsigned long long)j.tail, j.src, j.dest);
    free(j.tmp);
    return rc;
}
