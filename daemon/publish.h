/* SPDX-License-Identifier: MIT */
/*
 * publish.h -- the PUB socket that announces every append group as one
 * srd.v1.IndexUpdate. Sending never blocks the writer: NNG drops messages
 * for slow subscribers on its own, and a send that fails here is counted
 * as a drop. Subscribers must converge without these messages anyway.
 */
#ifndef SRDD_PUBLISH_H
#define SRDD_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

#include "listen.h"
#include "srd/srd.h"
#include "wire.h"

typedef struct publisher publisher;

/* Listen on url; ipc socket files get mode (e.g. 0600). why: 256 bytes. */
srd_err publish_open(const char *url, unsigned mode, publisher **out,
                     char *why);
/* Encode and send up (never blocks); nothing at all while no subscriber
 * is connected (listen_guard_has_peers). */
void publish_send(publisher *p, const srdi_wire_update *up);
/* Updates that could not be sent. */
uint64_t publish_drops(const publisher *p);

/* The publish listener's guard (main probes it). */
listen_guard *publish_guard(publisher *p);
/* Close the socket; false when NNG did not finish in time (see
 * listen_close: nothing is freed then). NULL does nothing (true). */
bool publish_close(publisher *p);

#endif
