/* SPDX-License-Identifier: MIT */
/*
 * multiproc.h -- many processes on one store with no operator step
 * (docs/CLIENT.md, "Starting srdd by itself"): srd_open shares a handle
 * this process has open on the store already, asks an embedded writer in
 * another process to hand its role to an srdd it starts, and an embedded
 * writer listens for such requests and switches itself to client mode.
 */
#ifndef SRD_MULTIPROC_H
#define SRD_MULTIPROC_H

#include "srd/srd.h"

struct srd_store;

/* srd_open after the argument checks (o is valid). */
srd_err srdi_multi_open(const char *path, const srd_options *o,
                        struct srd_store **out);

/* srd_open refused its arguments: srd_open_why() says why (what). */
srd_err srdi_multi_refuse(const char *what);

/* srd_close: drop one reference; the last stops the listener and closes. */
srd_err srdi_multi_close(struct srd_store *st);

#endif
