/* SPDX-License-Identifier: MIT */
/*
 * options.h -- srdd's command line. options_parse fills an srdd_options
 * from argv and checks every value; anything it cannot use is reported on
 * stderr with the option's name (exit status 2 in main).
 */
#ifndef SRDD_OPTIONS_H
#define SRDD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srd/srd.h"

#define OPTIONS_MAX_UIDS 64

typedef struct srdd_options {
    const char *store;        /* --store (required) */
    const char *listen;       /* --listen; NULL: derived from the store */
    const char *publish;      /* --publish; NULL: derived from the store */
    srd_sync_mode sync;       /* --sync */
    unsigned sync_ms;         /* --sync interval:MS */
    size_t max_message;       /* --max-message */
    unsigned n_uids;          /* --allow-uid (repeatable); 0: anyone */
    uint32_t uids[OPTIONS_MAX_UIDS];
    unsigned socket_mode;     /* --socket-mode (octal), default 0600 */
    bool foreground;          /* --foreground */
    bool group_read;          /* --group-read: a new store is 0640 */
    int log_level;            /* --log-level */
    unsigned stream_idle_ms;  /* --stream-idle-ms, default 60000 */
    unsigned contexts;        /* --contexts, default 64 */
    double auto_ratio;        /* --auto-compact; 0: off */
    uint64_t auto_min_dead;   /* --auto-compact-min-dead, default 1 MiB */
    unsigned idle_exit_s;     /* --idle-exit: stop after this many seconds
                                 with no client connected; 0: never */
    unsigned spin_us;         /* --spin-us, default SRD_SPIN_US or 50:
                                 the request loop's spin before blocking */
} srdd_options;

/* 0: ok; 1: --help or --version was printed (exit 0); -1: bad usage
 * (already reported on stderr). */
int options_parse(int argc, char **argv, srdd_options *o);

#endif
