/* SPDX-License-Identifier: MIT */
/*
 * handover.h -- the writer role handed over on request (docs/CLIENT.md,
 * "Starting srdd by itself"). An embedded writer listens on an
 * abstract-namespace Unix socket named from its store's identity (device,
 * inode): nothing on disk to clean up, gone with the process. A process
 * that finds the store locked asks there; the writer runs its hand-over
 * (start srdd, become its client) and answers with the result. Peers are
 * checked with SO_PEERCRED both ways: same uid or root.
 */
#ifndef SRD_HANDOVER_H
#define SRD_HANDOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "srd/srd.h"

typedef struct srdi_handover srdi_handover;

/* Runs on the listener's thread for one request; its result is the
 * answer, with a sentence in why (cap bytes) when it failed. SRD_OK ends
 * the listener (the role is gone). */
typedef srd_err (*srdi_handover_fn)(void *ctx, char *why, size_t cap);

/* The longest sentence an answer carries. */
#define SRDI_HANDOVER_WHY 400

/* Install the fork() handler (once). registry.c calls it before it
 * installs its own, so that fork() takes the registry's mutex before this
 * module's: the order srd_open takes them in. */
void srdi_handover_atfork_init(void);

/* Listen for the store whose lock file is (dev, ino) on a thread of its
 * own. SRD_EEXIST when
 * another live socket has the name (another handle listens). */
srd_err srdi_handover_listen(dev_t dev, ino_t ino, srdi_handover_fn fn,
                             void *ctx, srdi_handover **out);

/* Stop listening and join the thread (waits for a hand-over running on
 * it). In a fork() child it only frees the child's copy. NULL: nothing. */
void srdi_handover_stop(srdi_handover *h);

/* The environment variable autostart.c gives the srdd it starts:
 * "<dev>:<ino>" of the lock file it is to take over. */
#define SRDI_HANDOVER_TAKER "SRD_HANDOVER_TAKER"

/* Whether an open that just took the lock of (dev, ino) took it in the
 * middle of a hand-over: a writer in another process released it for the
 * srdd it is starting, whose listener still exists. False in that srdd
 * (SRDI_HANDOVER_TAKER names this lock file) and in the process handing
 * over (taking its writer back). Costs one connect(2). */
bool srdi_handover_in_progress(dev_t dev, ino_t ino);

/* Ask the writer of the lock file (dev, ino) to hand over and wait up to
 * timeout_ms. SRD_OK: it answered, *answer is its result and why (cap
 * bytes, at least 1) its sentence ("" on success). SRD_EUNREACHABLE: nobody
 * listens. SRD_ECANCELED: it closed the connection unanswered (it handed
 * over for someone else, closed, or died). SRD_ETIMEDOUT: no answer in
 * time. SRD_EPERM: the listener runs as another user (not root). */
srd_err srdi_handover_ask(dev_t dev, ino_t ino, unsigned timeout_ms,
                          srd_err *answer, char *why, size_t cap);

#endif
