/* SPDX-License-Identifier: MIT */
/*
 * front.h -- the write-op table of a handle (front.c). srd.h's writes
 * check their arguments once, in front.c, then go through the handle's
 * table: the local one (the embedded writer: the engine's srdi_store_*
 * functions; read-only handles get SRD_EREADONLY from them) or the remote
 * one (client mode: client.c's srdi_client_* functions). The table a
 * handle uses is chosen at open and changes at most once, from local to
 * remote (srdi_front_become_client).
 */
#ifndef SRD_FRONT_H
#define SRD_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srd/srd.h"

struct srdi_client;

/* Every op gets checked arguments and a handle the op's side may write
 * through (writable said SRD_OK). */
typedef struct srdi_front {
    bool remote; /* srdd writes: bytes past the tail are its appends */
    srd_err (*writable)(const srd_store *st);
    /* keys[i] -> values[i], i < n, as one unit; n >= 1 */
    srd_err (*put)(srd_store *st, const srd_val *keys, const srd_val *values,
                   size_t n);
    /* n >= 1; *deleted gets the tombstones written */
    srd_err (*del)(srd_store *st, const srd_val *keys, size_t n,
                   size_t *deleted);
    srd_err (*stream_begin)(srd_store *st, srd_val key, void **impl);
    srd_err (*stream_write)(void *impl, const void *data, size_t len);
    /* commit (abort false) or drop the value; ends impl */
    srd_err (*stream_end)(srd_store *st, void *impl, bool abort);
    srd_err (*sync)(srd_store *st);
    srd_err (*refresh)(srd_store *st, uint64_t *added);
    srd_err (*put_async)(srd_store *st, srd_val key, srd_val value,
                         srd_done_fn done, void *ctx);
    srd_err (*flush)(srd_store *st);
    srd_err (*compact)(srd_store *st, srd_layout layout,
                       srd_progress_fn progress, void *ctx,
                       srd_compact_report *report);
    srd_err (*close)(srd_store *st);
} srdi_front;

/*
 * Hand the writes of a live handle over to srdd: from now on st is a
 * client of c (connected to the srdd that serves st's path; c's index
 * follows that srdd) and every write goes through the remote table.
 * The caller holds st's exclusive section (srdi_store_begin_exclusive:
 * no append in flight, no stream, no compaction) and has released st's
 * writer (st->w is NULL, srdd holds the store's lock). No write call may
 * be between its table load and its end meanwhile (one that loaded the
 * local table would find no writer): the caller keeps them out, e.g. with
 * a lock every srd.h write takes shared around its call into the table.
 * For autostart (a writer handing its role to an srdd it started).
 */
void srdi_front_become_client(srd_store *st, struct srdi_client *c);

/* srd_open after its checks, without multiproc.c's sharing and hand-over
 * (o valid), and srd_close of one handle whatever its references. */
srd_err srdi_front_open(const char *path, const srd_options *o,
                        srd_store **out);
srd_err srdi_front_close(srd_store *st);

#endif
