/* SPDX-License-Identifier: MIT */
/*
 * openrec.c -- the open's decision about a store's damaged or torn end
 * (see openrec.h): find the tail, check what the synced-tail record does
 * not vouch for, scan what lies past the tail, then cut (saving the bytes
 * first), keep, or refuse.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errno_map.h"
#include "io.h"
#include "openrec.h"
#include "recovery.h"
#include "store_impl.h"

#define OR_NAME_MAX 4096

/* Create "<path>.cut-<off>" (or ".cut-<off>.<n>" when that exists: an
 * earlier cut is never overwritten) exclusively; its name in name. */
static int or_cut_create(const char *path, uint64_t off, char *name)
{
    for (unsigned n = 0; n < 1000; n++) {
        int k = n ? snprintf(name, OR_NAME_MAX, "%s.cut-%llu.%u", path,
                             (unsigned long long)off, n)
                  : snprintf(name, OR_NAME_MAX, "%s.cut-%llu", path,
                             (unsigned long long)off);
        if (k < 0 || k >= OR_NAME_MAX) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd;
        do
            fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
                                O_NOFOLLOW, 0600);
        while (fd < 0 && errno == EINTR);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

/* fsync, retried on EINTR. */
static srd_err or_fsync(int fd)
{
    while (fsync(fd) != 0)
        if (errno != EINTR)
            return srdi_errno(errno);
    return SRD_OK;
}

/* fsync the directory holding name, so the new file's name is durable. */
static srd_err or_sync_dir(const char *name)
{
    char *copy = strdup(name);
    if (!copy)
        return SRD_ENOMEM;
    int fd;
    do
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    free(copy);
    if (fd < 0)
        return srdi_errno(errno);
    srd_err rc = or_fsync(fd);
    close(fd);
    return rc;
}

/* write all of buf, retrying EINTR and short counts. */
static srd_err or_write(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, buf, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? srdi_errno(errno) : SRD_EIO;
        buf += k;
        n -= (size_t)k;
    }
    return SRD_OK;
}

/* Copy the file bytes [off, size) to out. */
static srd_err or_copy(int fd, int out, uint64_t off, uint64_t size)
{
    char buf[65536];
    while (off < size) {
        size_t want = size - off < sizeof buf ? (size_t)(size - off)
                                              : sizeof buf;
        int err;
        size_t k = srdi_pread_full(fd, buf, want, off, &err);
        if (k < want)
            return srdi_errno(err);
        srd_err rc = or_write(out, buf, k);
        if (rc != SRD_OK)
            return rc;
        off += k;
    }
    return SRD_OK;
}

/* Save the bytes [off, size) that are about to be cut, durably (file and
 * directory synced) before anything is truncated; the file's name in name. */
static srd_err or_save_cut(const char *path, int fd, uint64_t off,
                           uint64_t size, char *name)
{
    int out = or_cut_create(path, off, name);
    if (out < 0)
        return srdi_errno(errno);
    srd_err rc = or_copy(fd, out, off, size);
    if (rc == SRD_OK)
        rc = or_fsync(out);
    close(out);
    if (rc == SRD_OK)
        rc = or_sync_dir(name);
    if (rc != SRD_OK)
        unlink(name); /* nothing is cut: the copy is not needed */
    return rc;
}

/* The point the record vouches for, given the found tail: its written
 * tail when that is of the running boot, else its synced tail. */
static uint64_t or_point(const srdi_synced *rec, uint64_t tail,
                         const uint8_t **tr)
{
    if (rec->written >= rec->synced && rec->written <= tail &&
        srdi_synced_this_boot(rec)) {
        *tr = rec->written_trailer;
        return rec->written;
    }
    *tr = rec->synced_trailer;
    return rec->synced;
}

/* Entries past the prefix the sidecar vouches for (its synced tail, or
 * its written tail when that is of the running boot) are CRC-checked,
 * all of them when it is missing, damaged or names another file.
 * *good: the start of the oldest bad one, or tail; *trusted: the record
 * was found true of this file (the walk met it on the chain). */
static srd_err or_check_unsynced(int fd, uint64_t tail, uint32_t align,
                                 bool have, const srdi_synced *rec,
                                 uint64_t *good, bool *trusted)
{
    *trusted = false;
    *good = tail;
    if (!have)
        return tail == 0 ? SRD_OK
                         : srdi_recovery_check_in(fd, tail, 0, NULL, align,
                                                  good, trusted);
    const uint8_t *tr;
    uint64_t from = or_point(rec, tail, &tr);
    if (from > tail) {
        from = UINT64_MAX;
        tr = NULL;
    }
    if (tail == 0) {
        *trusted = from == 0;
        return SRD_OK;
    }
    bool ok;
    srd_err rc = srdi_recovery_check_in(fd, tail, from, tr, align, good,
                                        &ok);
    *trusted = rc == SRD_OK && ok && tr != NULL;
    return rc;
}

/* Does the file hold, ending at end, the trailer the record names? */
static bool or_trailer_is(int fd, uint64_t end, const uint8_t *tr)
{
    uint8_t b[SRDI_TRAILER_SIZE];
    return end >= SRDI_TRAILER_SIZE &&
           srdi_pread_full(fd, b, sizeof b, end - SRDI_TRAILER_SIZE, NULL) ==
               sizeof b &&
           memcmp(b, tr, sizeof b) == 0;
}

/* The highest entry end above found that the record vouches for (synced,
 * or written in this boot) and the file confirms with the recorded
 * trailer: there, data that was durable lies past the tail the search
 * found, so nothing past found may be cut. 0 when there is none. */
static uint64_t or_vouched_above(int fd, bool have, const srdi_synced *rec,
                                 uint64_t found)
{
    if (!have)
        return 0;
    if (rec->written > found && rec->written >= rec->synced &&
        srdi_synced_this_boot(rec) &&
        or_trailer_is(fd, rec->written, rec->written_trailer))
        return rec->written;
    if (rec->synced > found && or_trailer_is(fd, rec->synced,
                                             rec->synced_trailer))
        return rec->synced;
    return 0;
}

/* The state of one decision. */
typedef struct or_run {
    const char *path;
    int fd;
    uint32_t align; /* the file's layout (format.h) */
    bool writer, repair;
    uint64_t size, found;
    uint64_t vouched; /* see or_vouched_above */
    srdi_tail_scan scan;
} or_run;

static void or_refused(const or_run *r, const char *verb)
{
    char why[160];
    if (r->vouched)
        snprintf(why, sizeof why,
                 "its .synced record says the file was durable up to "
                 "offset %llu",
                 (unsigned long long)r->vouched);
    else if (r->scan.foreign)
        snprintf(why, sizeof why,
                 "%llu entr%s there verify in another layout than this "
                 "file's, such as simd-r-drive 0.14's 16-byte pads",
                 (unsigned long long)r->scan.foreign,
                 r->scan.foreign == 1 ? "y" : "ies");
    else
        snprintf(why, sizeof why,
                 "%llu intact entr%s after a break in the chain at "
                 "offset %llu",
                 (unsigned long long)r->scan.intact,
                 r->scan.intact == 1 ? "y" : "ies",
                 (unsigned long long)r->scan.break_at);
    fprintf(stderr,
            "srd: %s: the valid chain ends at offset %llu but the %llu bytes "
            "after it are not a torn write (%s): %s; the file is not "
            "changed (SRD_OPEN_REPAIR would save them to %s.cut-%llu and "
            "cut them)\n",
            r->path, (unsigned long long)r->scan.from,
            (unsigned long long)(r->size - r->scan.from), why, verb, r->path,
            (unsigned long long)r->scan.from);
}

/* Cut [tail, size) as a writer: save it, then say so. */
static srd_err or_cut(const or_run *r, uint64_t tail, const char *why)
{
    char name[OR_NAME_MAX];
    srd_err rc = or_save_cut(r->path, r->fd, tail, r->size, name);
    if (rc != SRD_OK) {
        fprintf(stderr,
                "srd: %s: cannot save the %llu bytes past offset %llu "
                "before cutting them: %s; nothing is cut\n",
                r->path, (unsigned long long)(r->size - tail),
                (unsigned long long)tail, srd_strerror(rc));
        return rc;
    }
    fprintf(stderr,
            "srd: %s: cut %llu bytes (%llu whole entr%s) from offset %llu "
            "%s; they are saved in %s\n",
            r->path, (unsigned long long)(r->size - tail),
            (unsigned long long)(r->scan.intact + r->scan.bad),
            r->scan.intact + r->scan.bad == 1 ? "y" : "ies",
            (unsigned long long)tail, why, name);
    return SRD_OK;
}

/* May the bytes past tail leave the store? Yes when asked to repair,
 * when the record vouches for everything up to tail (trusted) and for
 * nothing above it, or when they are a torn write (the scan; without a
 * record that vouches for more). full: scan even when the answer is known
 * (for the counts the messages and verify report). */
static srd_err or_judge(or_run *r, uint64_t tail, bool trusted, bool full,
                        bool *cuttable, const char **why)
{
    *cuttable = r->repair || (!r->vouched && trusted);
    if (full || !*cuttable) {
        srd_err rc = srdi_recovery_scan(r->fd, tail, r->size, r->align,
                                        full, &r->scan);
        if (rc != SRD_OK)
            return rc;
    }
    r->scan.from = tail;
    if (!*cuttable && !r->vouched && !r->scan.damage) {
        *cuttable = true;
        *why = "as a torn last write";
    }
    return SRD_OK;
}

/* The bytes past tail: cut them (writer), read around them (reader), or
 * refuse. trusted: the record vouches for everything up to tail. */
static srd_err or_decide_end(or_run *r, uint64_t tail, bool trusted,
                             const char *why)
{
    if (tail >= r->size)
        return SRD_OK;
    bool cuttable;
    srd_err rc = or_judge(r, tail, trusted, true, &cuttable, &why);
    if (rc != SRD_OK)
        return rc;
    if (!cuttable) {
        or_refused(r, r->writer ? "the open is refused"
                                : "this read-only open stops there");
        return r->writer ? SRD_ECORRUPT : SRD_OK;
    }
    return r->writer ? or_cut(r, tail, why) : SRD_OK;
}

srd_err srdi_openrec_judge(const char *path, int fd, uint64_t tail,
                           uint32_t align, srdi_tail_scan *scan, bool *torn)
{
    struct stat sb;
    *torn = true;
    memset(scan, 0, sizeof *scan);
    if (fstat(fd, &sb) != 0)
        return srdi_errno(errno);
    or_run r = {.path = path, .fd = fd, .align = align,
                .size = (uint64_t)sb.st_size, .found = tail};
    if (r.size <= tail)
        return SRD_OK;
    srdi_synced rec;
    bool have = srdi_synced_read(path, &rec) &&
                srdi_synced_applies(&rec, &sb);
    r.vouched = or_vouched_above(fd, have, &rec, tail);
    const uint8_t *tr = NULL;
    uint64_t point = have ? or_point(&rec, tail, &tr) : UINT64_MAX;
    bool trusted = point <= tail &&
                   (point == 0 || or_trailer_is(fd, point, tr));
    const char *why = NULL;
    srd_err rc = or_judge(&r, tail, trusted, true, torn, &why);
    *scan = r.scan;
    return rc;
}

/* A non-empty file without a valid chain (the tail is 0): refused, the
 * file unchanged, unless it is a store whose first batch was cut short by
 * kill -9 (its first back pointer still poisoned, FORMAT.md section 7):
 * the search found no chain at all (not a bad CRC that would cut entries
 * to nothing), the record applies to this file and vouches for nothing
 * (trusted: its point is 0), and the scan finds the bytes a torn write
 * holding intact entries (bytes with none, such as text or zeros, are no
 * sign of a store). Those go as any torn tail does: the writer saves them
 * to .cut-0 and cuts them, a reader reads nothing of them. */
static srd_err or_no_chain(or_run *r, bool trusted)
{
    bool cuttable = false;
    const char *why = NULL;
    if (r->found == 0 && trusted) {
        /* not trusted here: only the scan may call the bytes torn */
        srd_err rc = or_judge(r, 0, false, true, &cuttable, &why);
        if (rc != SRD_OK)
            return rc;
        cuttable = cuttable && r->scan.intact > 0;
    }
    if (!cuttable) {
        fprintf(stderr,
                "srd: %s: no valid entry chain (%llu bytes): refused, the "
                "file is not changed (SRD_OPEN_REPAIR would save it to "
                "%s.cut-0 and open it empty)\n",
                r->path, (unsigned long long)r->size, r->path);
        return SRD_ECORRUPT;
    }
    return r->writer ? or_cut(r, 0, "as a torn first batch") : SRD_OK;
}

/* The decision once the tail search found r->found: the unsynced
 * entries' CRCs (checked: done already, the oldest bad one, with
 * out->trusted), then the bytes past the tail. */
static srd_err or_finish(or_run *r, bool have, srdi_openrec *out,
                         const uint64_t *checked)
{
    const char *path = r->path;
    int fd = r->fd;
    srd_err rc = SRD_OK;
    r->vouched = or_vouched_above(fd, have, &out->rec, r->found);
    uint64_t good = checked ? *checked : 0;
    if (!checked)
        rc = or_check_unsynced(fd, r->found, r->align, have, &out->rec,
                               &good, &out->trusted);
    if (rc != SRD_OK)
        return rc;
    uint64_t tail = r->found;
    const char *why = "past the last synced entry";
    if (good < r->found && out->trusted && !r->vouched) {
        tail = good; /* written after the last sync, then torn */
        why = "(an entry there written after the last sync fails its CRC)";
    } else if (good < r->found) {
        fprintf(stderr,
                "srd: %s: an entry starting at offset %llu fails its CRC; "
                "it is kept (srdctl verify lists the damage)\n",
                path, (unsigned long long)good);
    }
    if (r->repair)
        why = "(SRD_OPEN_REPAIR)";
    if (tail < r->found)
        out->entries = 0; /* the count was of the longer chain */
    out->tail = tail;
    if (tail == 0 && r->size > 0 && !r->repair)
        return or_no_chain(r, out->trusted);
    return or_decide_end(r, tail, out->trusted, why);
}

srd_err srdi_openrec_run(const char *path, int fd, unsigned flags,
                         uint32_t prefer, srdi_openrec *out)
{
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return srdi_errno(errno);
    or_run r = {.path = path, .fd = fd,
                .writer = !(flags & SRD_OPEN_READONLY),
                .repair = (flags & SRD_OPEN_REPAIR) != 0,
                .size = (uint64_t)sb.st_size};
    srd_err rc = srdi_recovery_detect(fd, r.size, prefer, &out->align,
                                      &r.found, &out->entries);
    if (rc != SRD_OK)
        return rc;
    r.align = out->align;
    bool have = srdi_synced_read(path, &out->rec) &&
                srdi_synced_applies(&out->rec, &sb);
    return or_finish(&r, have, out, NULL);
}

srd_err srdi_openrec_run_from(const char *path, int fd, unsigned flags,
                              uint32_t align, uint64_t base,
                              srdi_openrec *out)
{
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (base == 0 || (flags & SRD_OPEN_REPAIR) || fstat(fd, &sb) != 0)
        return SRD_ENOENT;
    or_run r = {.path = path, .fd = fd, .align = align,
                .writer = !(flags & SRD_OPEN_READONLY),
                .size = (uint64_t)sb.st_size};
    out->align = align;
    bool have = srdi_synced_read(path, &out->rec) &&
                srdi_synced_applies(&out->rec, &sb);
    const uint8_t *tr;
    if (!have)
        return SRD_ENOENT; /* every entry would need its CRC checked */
    srd_err rc = srdi_recovery_find_tail_in(fd, base, r.size, align, &r.found,
                                            NULL);
    if (rc != SRD_OK || r.found < base)
        return SRD_ENOENT;
    uint64_t point = or_point(&out->rec, r.found, &tr), good;
    if (point > r.found)
        return SRD_ENOENT; /* the whole search decides what to keep */
    /* The chain down to the record's point must walk (below base too, when
     * the last writer did not sync since): else the store changed under
     * the index file, and the whole search decides. */
    rc = or_check_unsynced(fd, r.found, align, have, &out->rec, &good,
                           &out->trusted);
    if (rc == SRD_ECORRUPT || (rc == SRD_OK && !out->trusted))
        return SRD_ENOENT;
    return rc == SRD_OK ? or_finish(&r, have, out, &good) : rc;
}
