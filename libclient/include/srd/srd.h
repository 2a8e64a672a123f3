/* SPDX-License-Identifier: MIT */
/*
 * srd.h -- the whole public C API of libsrdclient.
 *
 * A store is one append-only file in the SIMD R Drive format. This header is
 * the only API: anything not declared here is internal and may change.
 * Every function returns an srd_err (SRD_OK == 0) and hands results back
 * through out-parameters; errno is never used as a side channel.
 *
 * Thread safety: one srd_store handle may be shared by any number of threads.
 * Reads (get, exists, get_many, iteration) are lock-free against each other
 * and against writers. Writes from many threads are serialized internally.
 */
#ifndef SRD_SRD_H
#define SRD_SRD_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Library version. The top-level CMakeLists.txt reads project() VERSION
 * from these lines, so they are the one place to bump it.
 */
#define SRD_VERSION_MAJOR 0
#define SRD_VERSION_MINOR 1
#define SRD_VERSION_PATCH 0
#define SRD_VERSION_STRING "0.1.0"
/* SRD_VERSION_AT_LEAST(0, 2, 0): compile-time check for a consumer. */
#define SRD_VERSION_AT_LEAST(maj, min, pat)                                   \
    (SRD_VERSION_MAJOR > (maj) ||                                             \
     (SRD_VERSION_MAJOR == (maj) &&                                           \
      (SRD_VERSION_MINOR > (min) ||                                           \
       (SRD_VERSION_MINOR == (min) && SRD_VERSION_PATCH >= (pat)))))

#if defined(__GNUC__)
#define SRD_API __attribute__((visibility("default")))
#else
#define SRD_API
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * The one error table. XX(name, value, message). SRD_OK is 0 and is not in
 * the table. A failed system call is reported the same way everywhere
 * (srdd included): ENOSPC and EDQUOT as SRD_ENOSPC, EACCES and EPERM as
 * SRD_EPERM, ENOENT as SRD_ENOENT, ENOMEM as SRD_ENOMEM, EIO as SRD_EIO,
 * any other errno as (SRD_ESYSERR | errno), which srd_strerror() renders
 * with strerror().
 *
 * Each function below lists the codes it returns. Two groups recur:
 * - "the I/O errors": SRD_ENOSPC, SRD_EIO, SRD_EPERM, SRD_ENOMEM and
 *   SRD_ESYSERR | errno, from the system calls the function makes;
 * - "the write errors" (every write, embedded or client mode):
 *   SRD_EINVAL (NULL handle or out-parameter, a key with NULL ptr and a
 *   non-zero len, a value the value rules refuse), SRD_EREADONLY (a
 *   read-only handle), SRD_EFORKED (the handle was opened by another
 *   process), SRD_EFAILED (an earlier fdatasync failed: reopen),
 *   SRD_ENOMEM and the I/O errors; in client mode also SRD_EUNREACHABLE
 *   (no daemon connected), SRD_ETIMEDOUT (no answer in time), SRD_EPROTO
 *   (an answer that does not decode), SRD_ETOOBIG (larger than the
 *   daemon's --max-message), SRD_EPERM (the daemon refused this user) and
 *   whatever the daemon's own write returned (SRD_ENOSPC, SRD_EIO,
 *   SRD_EFAILED, SRD_ESYSERR | errno).
 * A NULL handle is SRD_EINVAL for every function that returns an srd_err,
 * except srd_close(NULL), which does nothing.
 */
#define SRD_ERRNO_MAP(XX)                                                     \
    XX(EINVAL, 1, "invalid argument")                                         \
    XX(ENOMEM, 2, "out of memory")                                            \
    XX(ENOTFOUND, 3, "key not found")                                         \
    XX(EBUSY, 4, "store is locked by another writer")                         \
    XX(ECORRUPT, 5, "store file is corrupt: no valid entry chain")            \
    XX(ECHECKSUM, 6, "checksum mismatch")                                     \
    XX(EIO, 7, "input/output error")                                          \
    XX(ENOSPC, 8, "no space left on device")                                  \
    XX(ETOOBIG, 9, "value or message too large")                              \
    XX(EREADONLY, 10, "store handle is read-only")                            \
    XX(ENOENT, 11, "store file does not exist")                               \
    XX(EEXIST, 12, "already exists")                                          \
    XX(EFAILED, 13, "writer failed earlier; reopen the store")                \
    XX(ECANCELED, 14, "operation aborted by the caller")                      \
    XX(EPROTO, 15, "protocol error")                                          \
    XX(EVERSION, 16, "protocol version mismatch")                             \
    XX(EPERM, 17, "permission denied")                                        \
    XX(EUNREACHABLE, 18, "store daemon unreachable")                          \
    XX(ETIMEDOUT, 19, "timed out")                                            \
    XX(ESTATE, 20, "operation not valid in this state")                       \
    XX(EFORKED, 21, "store handle belongs to the process that opened it; "   \
                    "open the store again after fork()")

typedef enum srd_err {
    SRD_OK = 0,
#define SRD_ERR_ENUM_(name, val, msg) SRD_##name = (val),
    SRD_ERRNO_MAP(SRD_ERR_ENUM_)
#undef SRD_ERR_ENUM_
    SRD_ESYSERR = 0x10000000 /* OR-ed with an errno value */
} srd_err;

/* A human-readable message for any srd_err; never NULL ("Unknown error #n"
 * for codes outside the table). The string is static; do not free it. */
SRD_API const char *srd_strerror(srd_err err);

/* The symbolic name ("SRD_ENOTFOUND", "SRD_ESYSERR"...); never NULL. */
SRD_API const char *srd_errname(srd_err err);

/* ------------------------------------------------------------------------ */
/* Opening and closing                                                       */
/* ------------------------------------------------------------------------ */

/* An open store. Opaque; one srd_open() pairs with one srd_close(). */
typedef struct srd_store srd_store;

/* Durability of acknowledged writes (DESIGN.md section 4). */
typedef enum srd_sync_mode {
    SRD_SYNC_ALWAYS = 0,   /* fdatasync before a write returns (group commit) */
    SRD_SYNC_INTERVAL = 1, /* a background thread syncs every sync_interval_ms */
    SRD_SYNC_NEVER = 2     /* leave it to the OS; survives a process crash only */
} srd_sync_mode;

/* srd_options.flags */
#define SRD_OPEN_CREATE 0x1u   /* create the file if it does not exist */
#define SRD_OPEN_READONLY 0x2u /* no writer: no lock taken, writes fail */
#define SRD_OPEN_REPAIR 0x4u   /* open even when no valid chain exists: the
                                  unreadable bytes are saved to
                                  "<path>.cut-<offset>" and then cut off */
#define SRD_OPEN_EMBEDDED 0x8u /* never connect to srdd: be the writer
                                  (SRD_EBUSY when srdd or anyone else,
                                  another handle of this process
                                  included, holds the store); no sharing, no
                                  hand-over, no srdd started */
#define SRD_OPEN_CLIENT 0x10u  /* never be the writer: write through srdd
                                  (SRD_EUNREACHABLE when none serves it) */
#define SRD_OPEN_GROUP 0x20u   /* a store this open creates is readable by
                                  the file's group (0640); without it,
                                  by its owner only (0600) */

/* On-disk layouts (docs/FORMAT.md section 10). Opening finds a store's
 * layout from its entries; srd_options.layout only chooses it for a new
 * or empty store. Views of an unpadded store are not 64-byte aligned. */
typedef enum srd_layout {
    SRD_LAYOUT_ALIGNED64 = 0, /* payloads at multiples of 64: simd-r-drive
                                 0.15 and later; the default */
    SRD_LAYOUT_UNPADDED = 1   /* no pad: simd-r-drive 0.1-0.13, the Python
                                 bindings simd_r_drive_py 0.4 */
} srd_layout;

typedef struct srd_options {
    unsigned flags;               /* SRD_OPEN_* */
    srd_sync_mode sync;           /* default SRD_SYNC_ALWAYS */
    unsigned sync_interval_ms;    /* for SRD_SYNC_INTERVAL; default 100 */
    srd_layout layout;            /* for a new or empty store; default
                                     SRD_LAYOUT_ALIGNED64 */
} srd_options;

/* Fill *opts with the defaults: SRD_OPEN_CREATE, SRD_SYNC_ALWAYS, 100 ms. */
SRD_API void srd_options_init(srd_options *opts);

/*
 * Open the store file at path. opts may be NULL for the defaults.
 *
 * Mode (docs/CLIENT.md): with SRD_OPEN_READONLY the handle only reads (no
 * lock, no daemon; srd_refresh() brings it up to date). Otherwise srd_open
 * tries to take the writer lock "<path>.lock": if it gets it, no daemon
 * runs and this process is the writer (embedded mode). If the lock is held
 * (or cannot be opened for writing) and srdd's discovery file
 * "<path>.srdd" exists, the handle connects to srdd (client mode): reads
 * stay local (read-only mapping, index kept current by a background
 * thread), writes travel to the daemon. If the lock is held and there is
 * no discovery file, another process is the embedded writer: it is asked
 * to hand over, starts srdd for the store (detached, its own session,
 * "<path>.srdd.log" beside the store, stopping SRD_AUTOSTART_IDLE = 10 s
 * after its last client left) and becomes its client, and this open
 * becomes one too (docs/CLIENT.md, "Starting srdd by itself"). A second
 * writing open of the same store in one process (none of SRD_OPEN_EMBEDDED,
 * _READONLY, _CLIENT, and SRD_AUTOSTART not 0) returns the handle open
 * already, with one more reference (each srd_close drops one; not across
 * fork()); the options of the first open apply to it.
 * SRD_OPEN_EMBEDDED forces embedded mode with none of this (SRD_EBUSY when
 * another process holds the store; such a writer does not hand over),
 * as does SRD_AUTOSTART=0 in the environment; srd_open_why() says why an
 * open was refused. SRD_OPEN_CLIENT forces client
 * mode; they exclude each other and SRD_OPEN_READONLY. In client mode
 * opts->sync is ignored (the daemon's --sync applies) and the store file
 * must exist or be created by the daemon; a daemon running as anyone but
 * root, this user or the store's owner is refused (SRD_EPERM). A handle
 * belongs to the process that opened it: after fork() the child's writes
 * through it fail with SRD_EFORKED (open the store again there).
 *
 * Opening recovers the last valid tail in time linear in the file size: the
 * entry chain must walk back to offset 0 and the tail entry's CRC must
 * match. A writer cuts bytes past the valid tail (a torn write); a reader
 * ignores them. A non-empty file with no valid chain is refused with
 * SRD_ECORRUPT and left untouched unless SRD_OPEN_REPAIR is given.
 *
 * Errors: SRD_EINVAL (NULL path/out, unknown flag, conflicting mode flags
 * or sync mode), SRD_ENOENT (missing file without SRD_OPEN_CREATE),
 * SRD_EBUSY (another writer holds the store and did not hand over: an
 * opt-out, another user, srdd could not start; srd_open_why() says which),
 * SRD_ECORRUPT,
 * SRD_EPERM (no permission for the file or its lock), SRD_ENOMEM and the
 * other I/O errors (a read that fails while recovering the tail is
 * SRD_EIO or SRD_ESYSERR | errno, never taken for a torn write); client
 * mode also SRD_EUNREACHABLE (no
 * daemon answers), SRD_EVERSION (the daemon speaks another protocol),
 * SRD_ESTATE (the daemon writes a different file than path names),
 * SRD_EPERM (the daemon refused this user).
 * On success *out owns the handle; release it with srd_close().
 */
SRD_API srd_err srd_open(const char *path, const srd_options *opts,
                         srd_store **out);

/* Why the last srd_open of the calling thread failed to get the store from
 * another process (a sentence naming the cause, such as the opt-out or
 * srdd's log) or refused its arguments (SRD_EINVAL), or "" when it gave no
 * reason. Valid until the thread's next srd_open. */
SRD_API const char *srd_open_why(void);

/*
 * Close the handle: a writer syncs (except in SRD_SYNC_NEVER) and releases
 * its lock; a client first waits for its asynchronous writes (as
 * srd_flush) and returns their first error. Every view obtained from the
 * handle becomes invalid. All other calls on the handle must have
 * returned. srd_close(NULL) does nothing. The handle is freed whatever
 * the result. Errors: the final sync's I/O errors and SRD_EFAILED
 * (embedded writer); in client mode the first error of an asynchronous
 * write not yet collected by srd_flush. A handle that srd_open shared
 * (a second open of the store in this process) is only released by this
 * call while other references remain (SRD_OK; views stay valid until the
 * last close).
 */
SRD_API srd_err srd_close(srd_store *st);

/* ------------------------------------------------------------------------ */
/* Values                                                                    */
/* ------------------------------------------------------------------------ */

/* A caller-owned byte range (keys and values passed in). */
typedef struct srd_val {
    const void *ptr;
    size_t len;
} srd_val;

/*
 * A zero-copy view of a stored value, pointing into the read-only mapping
 * of the store file. data is 64-byte aligned. The bytes are borrowed: never
 * write or free them. They stay valid and unchanged until srd_view_release()
 * or srd_close(), across later writes and compactions (DESIGN.md
 * invariant 6). _map is internal.
 */
typedef struct srd_view {
    const uint8_t *data;
    size_t len;
    uint64_t key_hash; /* XXH3-64 of the key */
    uint64_t offset;   /* file offset of the payload */
    void *_map;        /* internal: keeps the mapping alive */
} srd_view;

/* Release a view (idempotent: the view is zeroed). NULL does nothing. */
SRD_API void srd_view_release(srd_view *view);

/* XXH3-64 (seed 0) of a key: the key hash the format stores. */
SRD_API uint64_t srd_key_hash(const void *key, size_t len);

/* CRC-32/IEEE (the checksum the format stores), chainable: start from 0
 * and pass the previous result, crc = srd_crc32(crc, data, len). The
 * library's own implementation (isa-l when built with it). data may be
 * NULL only if len is 0. Thread-safe, never fails. */
SRD_API uint32_t srd_crc32(uint32_t crc, const void *data, size_t len);

/* ------------------------------------------------------------------------ */
/* Writes                                                                    */
/* ------------------------------------------------------------------------ */
/*
 * Value rules (the format's limits): an empty value and the exact one-byte
 * value 0x00 cannot be stored (SRD_EINVAL); two or more zero bytes are an
 * ordinary value. Keys may be empty. key.ptr may be NULL only if len is 0.
 * Two keys with the same 64-bit hash are the same key.
 *
 * A write returns after the entry is in the file at the configured
 * durability and visible to every reader of this handle. On any error the
 * file is exactly as before the call. After an fdatasync failure the handle
 * refuses further writes with SRD_EFAILED (the data that sync covered is
 * treated as lost; see docs/ARCHITECTURE.md).
 *
 * Errors of every function in this section: the write errors (see
 * "Errors" above), and the ones listed with the function.
 */

/* Store value under key, replacing any previous value. */
SRD_API srd_err srd_put(srd_store *st, srd_val key, srd_val value);

/* Store n pairs atomically: all or nothing, also across a crash. Any
 * invalid value rejects the whole batch with SRD_EINVAL (nothing written),
 * as do NULL keys or values with n > 0. Later pairs win over earlier ones
 * with the same key. Client mode: SRD_ETOOBIG when the batch does not fit
 * one message. */
SRD_API srd_err srd_put_batch(srd_store *st, const srd_val *keys,
                              const srd_val *values, size_t n);

/* Delete key: writes a tombstone. Deleting an absent key writes nothing
 * and returns SRD_OK. *existed (may be NULL) tells which it was. */
SRD_API srd_err srd_delete(srd_store *st, srd_val key, bool *existed);

/* Delete n keys atomically (one group of tombstones; absent keys are
 * skipped). *deleted (may be NULL) receives how many were present. */
SRD_API srd_err srd_delete_batch(srd_store *st, const srd_val *keys, size_t n,
                                 size_t *deleted);

/*
 * Pull stream: the value is read from read_fn until it reports 0 bytes.
 * read_fn fills buf with up to cap bytes and sets *n; returning non-zero
 * aborts the write (srd_put_stream then returns SRD_ECANCELED, or that
 * code if it is an srd_err). The CRC is computed as bytes arrive; value
 * size is limited only by disk. Other writers of this handle wait until
 * the stream ends. If the call fails, nothing of the value remains.
 * Errors: the write errors; SRD_EINVAL for a NULL read_fn, SRD_ECANCELED
 * (or read_fn's srd_err) when read_fn aborts, SRD_EINVAL for a value the
 * value rules refuse (known once it has ended).
 */
typedef int (*srd_read_fn)(void *ctx, void *buf, size_t cap, size_t *n);
SRD_API srd_err srd_put_stream(srd_store *st, srd_val key, srd_read_fn read_fn,
                               void *ctx);

/* Push stream: begin, write chunks, then commit or abort. The handle's
 * other writers wait until commit/abort. Exactly one of commit/abort must
 * be called; both free the stream. A failed write leaves the stream
 * aborted: call srd_stream_abort() to free it. Errors: the write errors
 * (srd_stream_begin: also SRD_EINVAL for NULL out; srd_stream_write: for
 * NULL data with len > 0; srd_stream_commit: for a value the value rules
 * refuse). A stream must be used by one thread at a time. */
typedef struct srd_stream srd_stream;
SRD_API srd_err srd_stream_begin(srd_store *st, srd_val key, srd_stream **out);
SRD_API srd_err srd_stream_write(srd_stream *s, const void *data, size_t len);
SRD_API srd_err srd_stream_commit(srd_stream *s);
SRD_API void srd_stream_abort(srd_stream *s);

/*
 * Client mode: while the daemon is unreachable (or does not answer within
 * SRD_TIMEOUT_MS, default 5000 ms) every write fails with SRD_EUNREACHABLE
 * (no daemon connected) or SRD_ETIMEDOUT (connected, no answer) and works
 * again once the daemon is back, without reopening. A write that failed
 * that way may or may not have been applied; retrying it is safe for puts
 * and deletes. Streams send their bytes in chunks of about 1 MiB and do
 * not hold up other writers; a stream is lost if the daemon restarts
 * while it is open. A put whose message would exceed the daemon's
 * --max-message is sent as a stream; a batch that does not fit one
 * message fails with SRD_ETOOBIG.
 */

/* ---- pipelined writes ---------------------------------------------------- */

/* Completion of an asynchronous write: rc is SRD_OK or the write's error. */
typedef void (*srd_done_fn)(void *ctx, srd_err rc);

/*
 * Start srd_put(st, key, value) without waiting for it; several may be in
 * flight from one thread. key and value are copied before the call
 * returns, so the caller may reuse its buffers at once.
 *
 * done(ctx, rc) is called exactly once if (and only if) this function
 * returns SRD_OK: in client mode from an internal thread once the daemon
 * answered (the value is then visible to this handle's readers, as after
 * srd_put), in embedded mode on the calling thread before this function
 * returns (the write is performed synchronously). done must be short and
 * must not call write functions, srd_flush or srd_close on the handle.
 *
 * At most 32 requests of a handle are in flight; while they are, further
 * calls queue the copied put and return at once, and queued puts leave
 * together as one batch when a request completes (each done then gets
 * the batch's result). More than 64 MiB queued makes a call wait for
 * room. Errors (returned; done is then never called):
 * SRD_EINVAL (NULL st or done, bad key, empty or single-0x00 value),
 * SRD_EREADONLY, SRD_EFORKED, SRD_ETOOBIG (the value does not fit one
 * message; use srd_put), SRD_ENOMEM, SRD_EUNREACHABLE; in embedded mode
 * the write errors of srd_put (done is not called then). The rc given to
 * done is one of the write errors. Thread-safe.
 */
SRD_API srd_err srd_put_async(srd_store *st, srd_val key, srd_val value,
                              srd_done_fn done, void *ctx);

/*
 * Wait until every asynchronous write of the handle started before this
 * call has completed (its done callback returned). Returns SRD_OK, or the
 * first error any asynchronous write reported since the previous
 * srd_flush (that error is then cleared). SRD_EINVAL for NULL st.
 * Thread-safe; must not be called from a done callback.
 */
SRD_API srd_err srd_flush(srd_store *st);

/* ------------------------------------------------------------------------ */
/* Reads (lock-free; never block on writers)                                 */
/* ------------------------------------------------------------------------ */

/*
 * Errors of every read in this section: SRD_EINVAL (NULL handle or
 * out-parameter, a key with NULL ptr and a non-zero len) and SRD_ECORRUPT
 * (the index points outside the mapped file: the file was damaged under
 * the handle), plus those listed with each function. Reads never return
 * the write errors and never block on writers.
 */

/* Look key up. On SRD_OK *view is a zero-copy view (release it with
 * srd_view_release). SRD_ENOTFOUND when absent (view zeroed). */
SRD_API srd_err srd_get(srd_store *st, srd_val key, srd_view *view);

/* Same, by key hash (SRD_ENOTFOUND when absent). */
SRD_API srd_err srd_get_hash(srd_store *st, uint64_t key_hash, srd_view *view);

/* Copy the value into buf. *len receives the value's full length even when
 * cap is too small, in which case SRD_ETOOBIG is returned and buf is left
 * untouched (call again with a bigger buffer). SRD_ENOTFOUND when absent;
 * SRD_EINVAL for a NULL len, or a NULL buf with cap > 0. */
SRD_API srd_err srd_get_copy(srd_store *st, srd_val key, void *buf, size_t cap,
                             size_t *len);

/* Look up n keys at once, overlapping their memory misses. views[i] is a
 * view or zeroed (data == NULL) when keys[i] is absent. Returns SRD_OK even
 * when some keys are absent; *found (may be NULL) counts the present ones.
 * Release each present view. SRD_EINVAL for NULL keys/views with n > 0
 * (nothing is looked up); after any other error no view is left to
 * release. */
SRD_API srd_err srd_get_many(srd_store *st, const srd_val *keys, size_t n,
                             srd_view *views, size_t *found);

/* Same, by hashes (SRD_EINVAL for NULL hashes/views with n > 0). */
SRD_API srd_err srd_get_many_hash(srd_store *st, const uint64_t *hashes,
                                  size_t n, srd_view *views, size_t *found);

/* *exists is whether key has a live value (never SRD_ENOTFOUND). */
SRD_API srd_err srd_exists(srd_store *st, srd_val key, bool *exists);
SRD_API srd_err srd_exists_hash(srd_store *st, uint64_t key_hash, bool *exists);

/* Everything known about the live entry of key (reads its trailer). */
typedef struct srd_entry_meta {
    uint64_t key_hash;
    uint64_t payload_offset; /* file offset of the first payload byte */
    uint64_t len;            /* payload length */
    uint64_t entry_end;      /* file offset just past the trailer */
    uint64_t prev_offset;    /* the trailer's back pointer */
    uint32_t checksum;       /* stored CRC-32/IEEE */
    bool checksum_valid;     /* recomputed CRC equals the stored one */
} srd_entry_meta;
/* SRD_ENOTFOUND when absent; SRD_ECORRUPT when the trailer cannot be
 * read. A bad CRC is reported in meta, not as an error. */
SRD_API srd_err srd_meta(srd_store *st, srd_val key, srd_entry_meta *meta);

/* A read stream over one value, for copying large values out in chunks.
 * open: SRD_ENOTFOUND when absent, SRD_ENOMEM. read: SRD_EINVAL for NULL
 * rs or n, or a NULL buf with cap > 0. The stream holds a view: close it
 * before srd_close(). One thread at a time per stream. */
typedef struct srd_read_stream srd_read_stream;
SRD_API srd_err srd_read_stream_open(srd_store *st, srd_val key,
                                     srd_read_stream **out);
/* Copies up to cap bytes into buf; *n == 0 at the end of the value. */
SRD_API srd_err srd_read_stream_read(srd_read_stream *rs, void *buf,
                                     size_t cap, size_t *n);
SRD_API void srd_read_stream_close(srd_read_stream *rs);

/* Iterate over live entries in file order (oldest first), over a snapshot
 * taken by srd_iter_open. srd_iter_next returns SRD_ENOTFOUND at the end.
 * Each view must be released. open: SRD_ENOMEM. One thread at a time per
 * iterator; close it before srd_close(). */
typedef struct srd_iter srd_iter;
SRD_API srd_err srd_iter_open(srd_store *st, srd_iter **out);
SRD_API srd_err srd_iter_next(srd_iter *it, srd_view *view);
SRD_API void srd_iter_close(srd_iter *it);

/* ------------------------------------------------------------------------ */
/* Store state and maintenance                                               */
/* ------------------------------------------------------------------------ */

typedef struct srd_info {
    uint64_t live_keys;    /* keys with a live value (deleted keys excluded) */
    uint64_t entries;      /* entries in the chain, tombstones included */
    uint64_t tail;         /* committed tail: end of the last valid entry */
    uint64_t file_size;    /* bytes in the file (may exceed tail if torn) */
    uint64_t live_bytes;   /* payload bytes of live values */
    uint64_t dead_bytes;   /* tail minus the bytes of live entries (pads
                              included): what compaction can reclaim, give
                              or take alignment */
    uint64_t index_bytes;  /* memory used by the in-process index */
    bool readonly;         /* the handle cannot write */
    bool daemon;           /* client mode: writes go through srdd */
    srd_layout layout;     /* the file's on-disk layout */
} srd_info;
/* Errors: SRD_EINVAL (NULL st or info); file_size comes from fstat, whose
 * failure leaves it at the tail. */
SRD_API srd_err srd_get_info(srd_store *st, srd_info *info);

/* Convenience accessors over srd_get_info (SRD_EINVAL for NULL). */
SRD_API srd_err srd_count(srd_store *st, uint64_t *live_keys);
SRD_API srd_err srd_tail(srd_store *st, uint64_t *tail);

/* Re-read entries appended by another process since open (read-only
 * handles; a writer handle is always current). In client mode, ask the
 * daemon for its committed tail and catch up with it now (the background
 * thread does the same on its own within about a second; SRD_OK without
 * asking when the daemon is unreachable). *added may be NULL.
 * Errors: SRD_EINVAL (NULL st), SRD_ECORRUPT (the appended bytes or a
 * replaced file do not form a valid chain), SRD_ENOMEM, the I/O errors;
 * client mode also SRD_ETIMEDOUT, SRD_EPROTO. */
SRD_API srd_err srd_refresh(srd_store *st, uint64_t *added);

/* Walk the whole chain and check every entry's structure and CRC; on a
 * read-only handle, also every byte of the file past the tail (where an
 * open stopped at damage, or a torn write waits for the next writer).
 * progress (may be NULL) is called with (bytes checked, tail) now and then;
 * returning non-zero stops the walk (SRD_ECANCELED). */
typedef struct srd_verify_report {
    uint64_t entries;          /* entries checked */
    uint64_t bad_entries;      /* entries whose CRC does not match */
    uint64_t first_bad_offset; /* lowest payload offset of a bad entry */
    uint64_t bytes;            /* bytes covered (== tail) */
    uint64_t past_tail_bytes;  /* bytes of the file past the tail */
    uint64_t past_tail_entries; /* whole entries with a good CRC among them
                                   that no chain from the tail reaches */
    uint64_t break_offset;     /* when those bytes are not a torn write: the
                                  tail, where the chain breaks; else 0 */
} srd_verify_report;
typedef int (*srd_progress_fn)(void *ctx, uint64_t done, uint64_t total);
/* SRD_OK when every entry is good (bytes past the tail that are only a
 * torn write are counted in past_tail_bytes, not an error), SRD_ECHECKSUM
 * when report->bad_entries is non-zero (an entry past the tail whose
 * trailer chains to it but whose CRC fails counts too), SRD_ECORRUPT when
 * the chain itself is broken: entries past the tail are cut off by
 * damage at report->break_offset. Also SRD_ECANCELED when progress
 * stopped it, SRD_EINVAL for NULL st or report, SRD_ENOMEM and the I/O
 * errors of reading the file. Any handle, any mode. */
SRD_API srd_err srd_verify(srd_store *st, srd_verify_report *report,
                           srd_progress_fn progress, void *ctx);

/* Flush everything written so far to stable storage (any sync mode; in
 * client mode the daemon syncs). Errors: the write errors; a failed
 * fdatasync also fails the handle (SRD_EFAILED afterwards). */
SRD_API srd_err srd_sync(srd_store *st);

/*
 * Online compaction (writer handle): copy the entries live now, in file
 * order, into "<path>.compact" created exclusively (a stale one from a
 * crash is deleted, never reused) while other threads go on reading and
 * writing; then take the writer, copy what was appended meanwhile, fsync,
 * rename over the store, switch to the new file and fsync the directory.
 * Writers wait only for that last step and, at the start, for appends
 * already in flight to finish (report->pause_us counts both); readers
 * never wait. Views taken before stay valid (they keep the old mapping alive);
 * read-only handles of other processes switch at their next srd_refresh.
 * A crash at any point leaves the old or the new store, complete.
 * progress (may be NULL) gets (live bytes copied, live bytes to copy) now
 * and then; returning non-zero cancels (SRD_ECANCELED, store unchanged).
 * In client mode srdd compacts (the same way, on its store), report is
 * srdd's, and progress gets srdd's figures as srd_daemon_compact reports
 * them (polled every 100 ms over a connection of its own, on this
 * thread; its return value is ignored: srdd's compaction cannot be
 * cancelled; if that connection cannot be made, progress is not called).
 * Errors: SRD_EINVAL (NULL st), SRD_EREADONLY (read-only handle),
 * SRD_EFORKED, SRD_ESTATE (a compaction is already running), SRD_ECANCELED (progress stopped it), SRD_ENOMEM
 * and the I/O errors, a full disk at any write or sync of the new file
 * included (SRD_ENOSPC; the store is unchanged, except that a failure of
 * the final directory fsync comes after the switch); in client mode also
 * SRD_EUNREACHABLE, SRD_ETIMEDOUT (after an hour), SRD_EPROTO and the
 * errors of srdd's compaction.
 */
typedef struct srd_compact_report {
    uint64_t old_size;          /* tail before (at the switch) */
    uint64_t new_size;          /* tail after */
    uint64_t reclaimed;         /* old_size - new_size */
    uint64_t copied_entries;    /* live entries copied in the first pass */
    uint64_t caught_up_entries; /* entries appended during the copy */
    uint64_t pause_us;          /* how long writers waited, in all */
    uint64_t total_us;          /* the whole compaction */
} srd_compact_report;
SRD_API srd_err srd_compact_ex(srd_store *st, srd_progress_fn progress,
                               void *ctx, srd_compact_report *report);
/* srd_compact_ex writing the new file in `layout`: SRD_LAYOUT_ALIGNED64
 * converts an unpadded store (srdctl upgrade), atomically like any
 * compaction. srd_compact_ex keeps the store's layout. In client mode
 * only the store's own layout (SRD_ESTATE otherwise: stop srdd first).
 * Errors: those of srd_compact_ex, and SRD_EINVAL for an unknown layout. */
SRD_API srd_err srd_compact_to(srd_store *st, srd_layout layout,
                               srd_progress_fn progress, void *ctx,
                               srd_compact_report *report);
/* srd_compact_ex without progress; *reclaimed (may be NULL) receives the
 * bytes saved. */
SRD_API srd_err srd_compact(srd_store *st, uint64_t *reclaimed);

/* ------------------------------------------------------------------------ */
/* A running srdd (administration)                                           */
/* ------------------------------------------------------------------------ */
/*
 * What an administration tool needs of the srdd serving a store, without
 * opening the store (no handle, no lock taken, no mapping): its figures
 * and an online compaction with progress. The connection is a plain
 * request socket of its own (docs/PROTOCOL.md: Stats and Compact);
 * it carries no data, so the daemon's user is not checked as srd_open
 * checks it. One srd_daemon must be used by one thread at a time;
 * different ones are independent.
 */
typedef struct srd_daemon srd_daemon;

/* srdd's figures (its Stats reply), as srdctl status shows them. */
typedef struct srd_daemon_stats {
    uint64_t pid;                  /* srdd's process id */
    uint64_t uptime_ms;            /* since it started */
    uint64_t generation;           /* bumped by every compaction */
    uint64_t committed_tail;       /* the store's committed tail */
    uint64_t file_size;            /* bytes in the store file */
    uint64_t live_keys;
    uint64_t dead_bytes;           /* what compaction could reclaim */
    uint64_t clients;              /* connected clients */
    uint64_t requests;             /* messages received */
    uint64_t writes;               /* mutation requests applied */
    uint64_t groups;               /* group commits */
    uint64_t group_max;            /* most requests in one group */
    uint64_t syncs;                /* fdatasync calls */
    uint64_t publish_drops;        /* index updates pub/sub dropped */
    bool compacting;               /* a compaction runs now */
    uint64_t compact_done;         /* its live bytes copied so far */
    uint64_t compact_total;        /* of this many */
    uint64_t compactions;          /* finished since srdd started */
    uint64_t last_compact_unix_ms; /* end of the last one; 0: none yet */
    srd_compact_report last_compact; /* its report (zero when none) */
} srd_daemon_stats;

/*
 * Find and connect to the srdd serving the store at path: its discovery
 * file "<path>.srdd" names the socket, and srdd holds the writer lock
 * "<path>.lock" while it runs. The store file itself is not opened.
 * Waits at most 5 s for srdd's first answer.
 * Errors: SRD_EINVAL (NULL path or out, a path too long for its sibling
 * files), SRD_ENOTFOUND (no srdd serves path: no discovery file, or one
 * left by a daemon that died, the lock being free), SRD_EUNREACHABLE
 * (srdd holds the store but does not answer), SRD_ENOMEM, the I/O errors
 * of reading the discovery file. On SRD_OK *out owns the connection;
 * release it with srd_daemon_close().
 */
SRD_API srd_err srd_daemon_open(const char *path, srd_daemon **out);

/*
 * srdd's figures now (waits at most 5 s). Errors: SRD_EINVAL (NULL d or
 * out), SRD_ETIMEDOUT, SRD_EUNREACHABLE (srdd went away), SRD_EPROTO (a
 * reply that does not decode), SRD_ENOMEM, and srdd's own refusal.
 */
SRD_API srd_err srd_daemon_stats_get(srd_daemon *d, srd_daemon_stats *out);

/*
 * Have srdd compact the store online (as srd_compact_ex, run by srdd on
 * its store) and wait for it, however long it takes. progress (may be
 * NULL) is called on this thread with (live bytes copied, live bytes to
 * copy) as srdd reports them in its figures, polled every 100 ms over a
 * second connection; its return value is ignored, because the protocol
 * cannot cancel srdd's compaction. report (may be NULL) gets srdd's
 * report, *generation (may be NULL) the generation of the new file.
 * Errors: SRD_EINVAL (NULL d), SRD_ESTATE (srdd is already compacting),
 * SRD_EUNREACHABLE, SRD_EPROTO, SRD_ENOMEM, and the errors of srdd's
 * compaction (SRD_ENOSPC and the other I/O errors: the store is
 * unchanged); srd_daemon_message() then says more.
 */
SRD_API srd_err srd_daemon_compact(srd_daemon *d, srd_progress_fn progress,
                                   void *ctx, srd_compact_report *report,
                                   uint64_t *generation);

/* The message srdd sent with its last refusal on d ("" if none); owned by
 * d, valid until the next call on d. Never NULL. */
SRD_API const char *srd_daemon_message(const srd_daemon *d);

/* Close the connection; NULL does nothing. Never blocks more than 3 s
 * (NNG 1.5.2's nng_close can hang: libclient/nngfix.h). */
SRD_API void srd_daemon_close(srd_daemon *d);

/* The path the handle was opened with (owned by the handle). */
SRD_API const char *srd_path(const srd_store *st);

#ifdef __cplusplus
}
#endif
#endif /* SRD_SRD_H */
