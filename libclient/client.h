/* SPDX-License-Identifier: MIT */
/*
 * client.h -- client mode of a store handle: srdd owns the writer, this
 * process maps the file read-only, keeps its index current from srdd's
 * index updates (PUB/SUB, with a file walk for anything missed) and sends
 * its writes to srdd over its request socket (docs/CLIENT.md,
 * docs/PROTOCOL.md).
 */
#ifndef SRD_CLIENT_H
#define SRD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srd/srd.h"

typedef struct srdi_client srdi_client;
struct srd_store;

/* False for conflicting mode flags (CLIENT with EMBEDDED or READONLY). */
bool srdi_client_flags_ok(unsigned flags);

/* Whether srd_open should use client mode, given its flags and what the
 * attempt to take the writer lock returned (lock_rc): always with
 * SRD_OPEN_CLIENT; never with SRD_OPEN_EMBEDDED or SRD_OPEN_READONLY;
 * otherwise when the lock is held or not ours to take (SRD_EBUSY, no
 * permission, read-only file system) and "<path>.srdd" exists. */
bool srdi_client_wanted(const char *path, unsigned flags, srd_err lock_rc);

/* Connect st (path set, nothing else open) to the srdd serving its path:
 * opens st->ro_fd, loads st->snap up to the daemon's committed tail and
 * starts the subscriber thread; sets st->client. On failure nothing is
 * left open. SRD_EUNREACHABLE when no daemon serves the path. */
srd_err srdi_client_open(struct srd_store *st);

/* Wait for asynchronous writes, stop the thread, close the sockets. Returns
 * the first asynchronous error not yet reported. NULL does nothing. */
srd_err srdi_client_close(srdi_client *c);

/* The write API of srd.h, sent to srdd. Arguments were checked by the
 * front (front.c: the value rule is checked there, once). */
srd_err srdi_client_put(srdi_client *c, srd_val key, srd_val value);
srd_err srdi_client_put_batch(srdi_client *c, const srd_val *keys,
                              const srd_val *values, size_t n);
srd_err srdi_client_delete(srdi_client *c, srd_val key, bool *existed);
srd_err srdi_client_delete_batch(srdi_client *c, const srd_val *keys,
                                 size_t n, size_t *deleted);
srd_err srdi_client_sync(srdi_client *c);
/* srd_put_async in client mode (arguments checked by the caller): sent at
 * once while fewer than 32 calls are in flight, else queued to leave
 * batched with others. */
srd_err srdi_client_put_async(srdi_client *c, srd_val key, srd_val value,
                              srd_done_fn done, void *ctx);
/* Wait for the asynchronous writes in flight; their first error. */
srd_err srdi_client_flush(srdi_client *c);
/* Ask srdd to compact the store online; *report (may be NULL) gets its
 * report. */
srd_err srdi_client_compact(srdi_client *c, srd_compact_report *report);
/* The same, with progress (may be NULL) reported from srdd's figures,
 * polled over an srd_daemon connection to the srdd serving path
 * (client_admin.c); without one, no progress. */
srd_err srdi_client_compact_ex(srdi_client *c, const char *path,
                               srd_progress_fn progress, void *ctx,
                               srd_compact_report *report);
/* Ask srdd for its tail and catch up with it now. */
srd_err srdi_client_refresh(srdi_client *c, uint64_t *added);

/* A stream staged by srdd; chunks of about 1 MiB go out as they fill.
 * end commits (abort false) or drops the value and frees cs. */
typedef struct srdi_cstream srdi_cstream;
srd_err srdi_client_stream_begin(srdi_client *c, srd_val key,
                                 srdi_cstream **out);
srd_err srdi_client_stream_write(srdi_cstream *cs, const void *p,
                                 size_t len);
srd_err srdi_client_stream_end(srdi_cstream *cs, bool abort);

#endif
