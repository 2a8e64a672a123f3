/* SPDX-License-Identifier: MIT */
/*
 * srdctl_out.h -- output helpers of srdctl: JSON objects built with json-c
 * (key hashes and checksums as hex strings, since JSON numbers above 2^53
 * lose precision in many readers) and progress on stderr (a bar rewritten
 * in place on a terminal, a line every 10 % otherwise).
 */
#ifndef SRDCTL_OUT_H
#define SRDCTL_OUT_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

/* Add a member to o; false on ENOMEM (o is unchanged then). */
bool out_json_u64(json_object *o, const char *k, uint64_t v);
bool out_json_str(json_object *o, const char *k, const char *s);
bool out_json_bool(json_object *o, const char *k, bool v);
bool out_json_hex(json_object *o, const char *k, uint64_t v, int digits);
bool out_json_double(json_object *o, const char *k, double v);

/* Print o on one line of stdout and release it. ok is the result of the
 * member additions; on false (or o NULL) reports ENOMEM for what and
 * returns CTL_EXIT_STORE, else CTL_EXIT_OK. */
int out_json_print(json_object *o, bool ok, const char *what);

/* Progress of a long operation, shown on stderr. */
typedef struct out_progress {
    const char *what; /* "verify" */
    bool show;        /* anything is printed at all */
    bool tty;         /* stderr is a terminal: one line rewritten */
    int last_pct;     /* last percentage shown, -1 before the first */
} out_progress;

/* Set up pg: shown when stderr is a terminal or when force is true. */
void out_progress_init(out_progress *pg, const char *what, bool force);
void out_progress_show(out_progress *pg, uint64_t done, uint64_t total);
/* Show 100 % when complete, and end the terminal line. */
void out_progress_end(out_progress *pg, bool complete, uint64_t total);

/* A srd_progress_fn over an out_progress (never cancels). */
int out_progress_cb(void *ctx, uint64_t done, uint64_t total);

#endif
