/* SPDX-License-Identifier: MIT */
/*
 * ebr.h -- epoch-based reclamation for the lock-free index.
 *
 * Readers bracket every lock-free access with srdi_ebr_enter/leave (two
 * stores to a thread-local record; no shared write). The single updater
 * retires memory it unlinked; it is freed once no reader that might still
 * hold it remains inside a critical section. Sections must not nest.
 */
#ifndef SRD_EBR_H
#define SRD_EBR_H

#include <stdint.h>

typedef struct srdi_ebr_rec srdi_ebr_rec;

/* Enter a read-side section; returns the thread's record for leave. */
srdi_ebr_rec *srdi_ebr_enter(void);
void srdi_ebr_leave(srdi_ebr_rec *r);

/* A list of retired objects waiting for readers to move on. Owned by one
 * updater at a time (the caller serializes). */
typedef struct srdi_ebr_list srdi_ebr_list;
typedef void (*srdi_ebr_free_fn)(void *p);

/* Queue p for freeing by fn once safe. On ENOMEM the caller's object is
 * freed after a synchronous wait for readers (never leaked, never early). */
void srdi_ebr_retire(srdi_ebr_list **list, void *p, srdi_ebr_free_fn fn);
/* Free what is safe now. */
void srdi_ebr_collect(srdi_ebr_list **list);
/* Wait until every reader left, then free everything (used by close). */
void srdi_ebr_drain(srdi_ebr_list **list);

#endif
