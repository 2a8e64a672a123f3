/* SPDX-License-Identifier: MIT */
/*
 * srdctl_out.c -- JSON and progress output of srdctl (see srdctl_out.h).
 * JSON goes to stdout on one line per object; progress only to stderr, so
 * stdout stays parseable while a bar runs.
 */
#define _GNU_SOURCE 1

#include "srdctl_out.h"

#include <stdio.h>
#include <unistd.h>

#include "srdctl_cli.h"

/* ======================================================================== */
/* JSON                                                                      */
/* ======================================================================== */

/* Add v (may be NULL after ENOMEM) to o under k; frees v on failure. */
static bool out_json_add(json_object *o, const char *k, json_object *v)
{
    if (!v)
        return false;
    if (json_object_object_add(o, k, v) != 0) {
        json_object_put(v);
        return false;
    }
    return true;
}

bool out_json_u64(json_object *o, const char *k, uint64_t v)
{
    return out_json_add(o, k, json_object_new_uint64(v));
}

bool out_json_str(json_object *o, const char *k, const char *s)
{
    return out_json_add(o, k, json_object_new_string(s));
}

bool out_json_bool(json_object *o, const char *k, bool v)
{
    return out_json_add(o, k, json_object_new_boolean(v));
}

bool out_json_hex(json_object *o, const char *k, uint64_t v, int digits)
{
    char b[24];
    snprintf(b, sizeof b, "0x%0*llx", digits, (unsigned long long)v);
    return out_json_str(o, k, b);
}

bool out_json_double(json_object *o, const char *k, double v)
{
    return out_json_add(o, k, json_object_new_double(v));
}

int out_json_print(json_object *o, bool ok, const char *what)
{
    const char *s = o && ok ? json_object_to_json_string_ext(
                                  o, JSON_C_TO_STRING_PLAIN |
                                         JSON_C_TO_STRING_NOSLASHESCAPE)
                            : NULL;
    if (s)
        printf("%s\n", s);
    else
        cli_err("%s: cannot build JSON: %s", what, srd_strerror(SRD_ENOMEM));
    json_object_put(o);
    return s ? CTL_EXIT_OK : CTL_EXIT_STORE;
}

/* ======================================================================== */
/* Progress                                                                  */
/* ======================================================================== */

#define OUT_BAR 30 /* characters in the terminal bar */

void out_progress_init(out_progress *pg, const char *what, bool force)
{
    pg->what = what;
    pg->tty = isatty(STDERR_FILENO) == 1;
    pg->show = force || pg->tty;
    pg->last_pct = -1;
}

void out_progress_show(out_progress *pg, uint64_t done, uint64_t total)
{
    if (!pg->show)
        return;
    int pct = total ? (int)((done * 100.0) / (double)total) : 100;
    if (pct > 100)
        pct = 100;
    /* A terminal gets every percent; a log file gets every 10 %. */
    if (pg->last_pct >= 0 &&
        (pct == pg->last_pct ||
         (!pg->tty && pct < 100 && pct / 10 == pg->last_pct / 10)))
        return;
    pg->last_pct = pct;
    if (pg->tty) {
        char bar[OUT_BAR + 1];
        int fill = pct * OUT_BAR / 100;
        for (int i = 0; i < OUT_BAR; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[OUT_BAR] = '\0';
        fprintf(stderr, "\r%s: [%s] %3d%% (%llu of %llu bytes)", pg->what,
                bar, pct, (unsigned long long)done, (unsigned long long)total);
    } else {
        fprintf(stderr, "%s: %3d%% (%llu of %llu bytes)\n", pg->what, pct,
                (unsigned long long)done, (unsigned long long)total);
    }
    fflush(stderr);
}

void out_progress_end(out_progress *pg, bool complete, uint64_t total)
{
    if (!pg->show)
        return;
    if (complete)
        out_progress_show(pg, total, total);
    if (pg->tty && pg->last_pct >= 0)
        fputc('\n', stderr);
}

int out_progress_cb(void *ctx, uint64_t done, uint64_t total)
{
    out_progress_show(ctx, done, total);
    return 0;
}
