/* SPDX-License-Identifier: MIT */
/*
 * writer.h -- the one writer of a store file (embedded mode and srdd).
 *
 * Owns the exclusive lock ("<path>.lock", flock) for its lifetime, the
 * read-write fd and the tail. Appends entries, atomic multi-entry units,
 * and streams; syncs per the durability mode. Invariant: a failed append
 * leaves the file exactly as before it (the tail is restored with
 * ftruncate). The writer is not thread-safe: callers serialize appends;
 * srdi_writer_sync_to() alone may be called concurrently (group commit).
 * It knows nothing of the index: it reports where each entry landed.
 * After every fdatasync (and at start, and at a close in never mode) it
 * records the tail known durable in the sidecar "<path>.synced"
 * (synced.h), which recovery trusts; a failed record is not an error
 * (recovery then checks more).
 */
#ifndef SRD_WRITER_H
#define SRD_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "format.h"
#include "srd/srd.h"
#include "synced.h"

typedef struct srdi_writer srdi_writer;

/* One entry to append: a value (val, len) or, when tombstone, a delete. */
typedef struct srdi_op {
    uint64_t key_hash;
    const void *val;
    size_t len;
    bool tombstone;
} srdi_op;

/* System calls the writer makes, replaceable by fault-injection tests.
 * Every byte of the store file goes through pwritev; pwrite writes only
 * the synced-tail sidecar's record (so a test can tell the two apart). */
typedef struct srdi_sys {
    ssize_t (*pwritev)(int fd, const struct iovec *iov, int n, off_t off);
    ssize_t (*pwrite)(int fd, const void *buf, size_t n, off_t off);
    int (*fdatasync)(int fd);
    int (*ftruncate)(int fd, off_t len);
} srdi_sys;
/* Test hook: replace the system calls of every writer (NULL restores). */
void srdi_writer_set_sys(const srdi_sys *sys);

/* Take the lock "<path>.lock" (SRD_EBUSY if held), open path read-write
 * (creating it with mode when create) and lock the file's inode itself
 * (flock on the store fd: SRD_EBUSY if another writer holds it through
 * another name, a symlink or a hard link). *fd_out is the store fd (owned
 * by the writer once srdi_writer_start succeeds; close it yourself on
 * failure before). *lock_created: this call created the lock file. A
 * refused call leaves no lock file it created. A locker whose flock lands
 * on a lock file that was removed meanwhile takes the new one instead. */
srd_err srdi_writer_lock(const char *path, bool create, unsigned mode,
                         int *lock_fd, int *fd_out, bool *lock_created);
/* Give up a lock taken by srdi_writer_lock before srdi_writer_start owns
 * it (the store was refused): removes the lock file if lock_made (while
 * still holding its flock), then closes lfd. */
void srdi_writer_unlock(const char *path, int lfd, bool lock_made);

/* Start a writer on an open, locked store (at path) whose valid tail is
 * tail; bytes past tail are cut. Opens the sidecar "<path>.synced" (the
 * writer runs without one if that fails). old is the sidecar's record if
 * recovery trusted it (NULL: none, every entry was checked). Unless the
 * mode is SRD_SYNC_NEVER, a file not yet durable up to tail is synced
 * (its failure fails the start); the record is then brought up to date.
 * Takes ownership of both fds, also on failure. */
srd_err srdi_writer_start(const char *path, int lock_fd, int fd,
                          uint64_t tail, const srdi_synced *old,
                          srd_sync_mode mode, unsigned interval_ms,
                          srdi_writer **out);
/* Sync (unless SRD_SYNC_NEVER), stop the interval thread, unlock, close. */
srd_err srdi_writer_stop(srdi_writer *w);

/* In a fork() child of the writer's process: close the child's copies of
 * the descriptors and free w, touching neither the file nor the sidecar
 * (they are the parent's; its threads do not exist here). */
void srdi_writer_abandon(srdi_writer *w);

/* Let go of the flock on the store's inode now. A mapping of the file
 * holds its open file description, and with it that flock, until the
 * mapping goes: a writer handing over (its views stay valid) calls this
 * before srdi_writer_stop so the next writer can lock the inode. */
void srdi_writer_unlock_inode(srdi_writer *w);

/* In a fork() child (an atfork handler: async-signal-safe calls only):
 * let go of the parent's flocks, which the child's copies of the two
 * descriptors share, by pointing them at new open file descriptions of the
 * same files (/proc/self/fd). The child can then neither keep srdd out
 * after the parent released the store nor write (SRD_EFORKED). */
void srdi_writer_child_unlock(srdi_writer *w);

uint64_t srdi_writer_tail(const srdi_writer *w);
int srdi_writer_fd(const srdi_writer *w);
/* The identity (st_dev, st_ino) of the writer's file, from the fstat it
 * made when it started or switched to the file (false: that fstat
 * failed). Written only then: a caller that keeps srdi_writer_switch_file
 * out (the engine: st->mu, which a compaction's switch holds) reads it
 * without a system call. */
bool srdi_writer_ident(const srdi_writer *w, uint64_t *dev, uint64_t *ino);
/* Append in the layout of align (format.h; SRDI_ALIGN unless set): the
 * store's own. Set before the first write, or under the writer (a
 * compaction that changes the layout). */
void srdi_writer_set_align(srdi_writer *w, uint32_t align);

/*
 * Append n entries in one write. unit: as one atomic unit, all or
 * nothing, also across a crash (a multi-entry unit is written with its
 * first back pointer poisoned, then fixed; in SRD_SYNC_ALWAYS with an
 * fdatasync in between). Otherwise as n units of one entry each: a crash
 * keeps a prefix of them (srdd's group commit of single puts).
 * placed[i] (n of them) receives where each entry landed. Values must
 * already be checked. Does not sync: call srdi_writer_sync_to(end).
 */
srd_err srdi_writer_append(srdi_writer *w, const srdi_op *ops, size_t n,
                           srdi_entry *placed, bool unit);

/* Append one value entry whose len payload bytes (CRC crc, value rules
 * already checked) are copied from src_fd starting at offset 0: a stream
 * the daemon staged in a temporary file. Same failure rule as append. */
srd_err srdi_writer_append_file(srdi_writer *w, uint64_t key_hash, int src_fd,
                                uint64_t len, uint32_t crc,
                                srdi_entry *placed);

/* Make everything up to end durable per the mode (ALWAYS: fdatasync,
 * shared by concurrent callers, then the sidecar record; other modes:
 * nothing). Thread-safe. */
srd_err srdi_writer_sync_to(srdi_writer *w, uint64_t end);
/* fdatasync now, whatever the mode, then the sidecar record. */
srd_err srdi_writer_sync(srdi_writer *w);

/* Streams: begin writes the pad; write appends raw payload bytes (CRC as
 * they arrive); commit writes the trailer (SRD_EINVAL for an empty or
 * single-0x00 value, which is cut); abort cuts everything. */
typedef struct srdi_wstream srdi_wstream;
srd_err srdi_writer_stream_begin(srdi_writer *w, uint64_t key_hash,
                                 srdi_wstream **out);
srd_err srdi_writer_stream_write(srdi_wstream *s, const void *p, size_t n);
srd_err srdi_writer_stream_commit(srdi_wstream *s, srdi_entry *placed);
void srdi_writer_stream_abort(srdi_wstream *s);

/* Replace the store file: used by compaction after the rename. The writer
 * switches to new_fd (owned) whose tail is new_tail, already durable (the
 * new file was fsynced), and records it in the sidecar. */
void srdi_writer_switch_file(srdi_writer *w, int new_fd, uint64_t new_tail);

/* fsync the directory holding path (after create or rename). */
srd_err srdi_writer_fsync_dir(const char *path);

/* True once an fdatasync failed: all later writes fail with SRD_EFAILED. */
bool srdi_writer_failed(const srdi_writer *w);

#endif
