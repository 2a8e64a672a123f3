/* SPDX-License-Identifier: MIT */
/*
 * autostart.h -- start srdd for a store by itself (docs/CLIENT.md,
 * "Starting srdd by itself"): whether the behaviour is on, which srdd
 * binary to run, and running it detached with --idle-exit, its log beside
 * the store, until it serves (or failed, or a deadline passed).
 */
#ifndef SRD_AUTOSTART_H
#define SRD_AUTOSTART_H

#include <stdbool.h>
#include <stddef.h>

#include "srd/srd.h"

/* Default seconds an auto-started srdd waits without a client before it
 * stops (SRD_AUTOSTART_IDLE overrides). */
#define SRDI_AUTOSTART_IDLE_S 10u
/* Default deadline for srdd to serve, and for a hand-over (ms;
 * SRD_AUTOSTART_TIMEOUT_MS overrides). */
#define SRDI_AUTOSTART_TIMEOUT_MS 30000u

/* Whether srd_open may share, hand over and start srdd: not with
 * SRD_OPEN_EMBEDDED, SRD_OPEN_READONLY or SRD_OPEN_CLIENT, nor with the
 * environment variable SRD_AUTOSTART=0. */
bool srdi_autostart_enabled(unsigned flags);

/* The srdd to run, into out (cap bytes): $SRD_SRDD if set (it must be
 * executable), else the install prefix's sbin/srdd, else "srdd" on PATH,
 * else the build tree's. SRD_ENOENT (with why filled) when none is. */
srd_err srdi_autostart_find(char *out, size_t cap, char *why, size_t why_cap);

/* How srdd is to run. */
typedef struct srdi_autostart_conf {
    srd_sync_mode sync;  /* passed as --sync */
    unsigned sync_ms;    /* for SRD_SYNC_INTERVAL */
    unsigned idle_s;     /* --idle-exit */
    unsigned timeout_ms; /* how long to wait until it serves */
    char taker[64];      /* SRDI_HANDOVER_TAKER's value for it, or "" */
} srdi_autostart_conf;

/* Fill conf from the environment (idle, timeout) and the given sync;
 * taker empty. */
void srdi_autostart_conf_init(srdi_autostart_conf *conf, srd_sync_mode sync,
                              unsigned sync_ms);

/* Run srdd for the store at path (absolute or relative to the working
 * directory) as a daemon of its own session, stdin and stdout on
 * /dev/null, stderr appended to "<path>.srdd.log", and wait until it
 * serves (its own readiness report: srdd's parent exits 0 once the
 * discovery file is written). SRD_OK: serving. SRD_EBUSY: srdd found the
 * store locked; SRD_ETIMEDOUT: no report within conf->timeout_ms (srdd may
 * still come up); SRD_EUNREACHABLE: srdd exited with an error (its
 * log says why); SRD_ENOENT: no srdd binary. why gets a sentence for the user. */
srd_err srdi_autostart_spawn(const char *path, const srdi_autostart_conf *conf,
                             char *why, size_t why_cap);

#endif
