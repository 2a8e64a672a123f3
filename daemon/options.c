/* SPDX-License-Identifier: MIT */
/*
 * options.c -- parse and check srdd's command line (see options.h and
 * docs/OPERATIONS.md). Numbers are parsed strictly: trailing junk, signs
 * and overflow are usage errors, never silently truncated.
 */
#include "srd_features.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"
#include "spin.h"
#include "wire.h"

static const char options_usage[] =
    "usage: srdd --store PATH [--listen URL] [--publish URL]\n"
    "            [--sync always|interval:MS|never] [--max-message BYTES]\n"
    "            [--allow-uid UID]... [--socket-mode MODE] [--group-read]\n"
    "            [--foreground]\n"
    "            [--log-level error|warn|info|debug]\n"
    "            [--stream-idle-ms MS] [--contexts N]\n"
    "            [--auto-compact RATIO] [--auto-compact-min-dead BYTES]\n"
    "            [--idle-exit SECONDS] [--spin-us US]\n"
    "Serves the srd store PATH to local processes (docs/OPERATIONS.md).\n";

enum {
    OPT_STORE = 1000, OPT_LISTEN, OPT_PUBLISH, OPT_SYNC, OPT_MAXMSG,
    OPT_UID, OPT_MODE, OPT_FG, OPT_LOG, OPT_IDLE, OPT_CTX, OPT_AUTO,
    OPT_AUTO_MIN, OPT_GROUP, OPT_IDLE_EXIT, OPT_SPIN, OPT_HELP, OPT_VERSION
};

static const struct option options_long[] = {
    {"store", required_argument, NULL, OPT_STORE},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"publish", required_argument, NULL, OPT_PUBLISH},
    {"sync", required_argument, NULL, OPT_SYNC},
    {"max-message", required_argument, NULL, OPT_MAXMSG},
    {"allow-uid", required_argument, NULL, OPT_UID},
    {"socket-mode", required_argument, NULL, OPT_MODE},
    {"foreground", no_argument, NULL, OPT_FG},
    {"group-read", no_argument, NULL, OPT_GROUP},
    {"log-level", required_argument, NULL, OPT_LOG},
    {"stream-idle-ms", required_argument, NULL, OPT_IDLE},
    {"contexts", required_argument, NULL, OPT_CTX},
    {"auto-compact", required_argument, NULL, OPT_AUTO},
    {"auto-compact-min-dead", required_argument, NULL, OPT_AUTO_MIN},
    {"idle-exit", required_argument, NULL, OPT_IDLE_EXIT},
    {"spin-us", required_argument, NULL, OPT_SPIN},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0}};

static int options_bad(const char *opt, const char *val, const char *why)
{
    fprintf(stderr, "srdd: --%s %s: %s\n%s", opt, val, why, options_usage);
    return -1;
}

/* Strict unsigned parse of s in base into [lo, hi]. */
static int options_num(const char *s, int base, unsigned long long lo,
                       unsigned long long hi, unsigned long long *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int options_sync(const char *v, srdd_options *o)
{
    unsigned long long ms;
    if (strcmp(v, "always") == 0) {
        o->sync = SRD_SYNC_ALWAYS;
    } else if (strcmp(v, "never") == 0) {
        o->sync = SRD_SYNC_NEVER;
    } else if (strncmp(v, "interval:", 9) == 0 &&
               options_num(v + 9, 10, 1, 3600000, &ms) == 0) {
        o->sync = SRD_SYNC_INTERVAL;
        o->sync_ms = (unsigned)ms;
    } else {
        return options_bad("sync", v,
                           "expected always, never or interval:MS "
                           "(1..3600000)");
    }
    return 0;
}

/* --auto-compact RATIO: a number strictly between 0 and 1. */
static int options_ratio(const char *v, srdd_options *o)
{
    char *end;
    errno = 0;
    double r = v && *v && *v != ' ' ? strtod(v, &end) : -1;
    if (!v || !*v || *v == ' ' || errno || *end || !(r > 0 && r < 1))
        return options_bad("auto-compact", v ? v : "",
                           "expected a share of the file strictly between "
                           "0 and 1, such as 0.5");
    o->auto_ratio = r;
    return 0;
}

/* One option with its value; 0 ok, -1 bad. */
static int options_one(int c, const char *v, srdd_options *o)
{
    unsigned long long n;
    switch (c) {
    case OPT_STORE: o->store = v; return 0;
    case OPT_LISTEN: o->listen = v; return 0;
    case OPT_PUBLISH: o->publish = v; return 0;
    case OPT_FG: o->foreground = true; return 0;
    case OPT_GROUP: o->group_read = true; return 0;
    case OPT_SYNC: return options_sync(v, o);
    case OPT_MAXMSG:
        if (options_num(v, 10, 1024, (1ull << 31), &n))
            return options_bad("max-message", v,
                               "expected a byte count in 1024..2147483648");
        o->max_message = (size_t)n;
        return 0;
    case OPT_UID:
        if (o->n_uids == OPTIONS_MAX_UIDS ||
            options_num(v, 10, 0, UINT32_MAX - 1, &n))
            return options_bad("allow-uid", v,
                               "expected a numeric uid (at most 64 of them)");
        o->uids[o->n_uids++] = (uint32_t)n;
        return 0;
    case OPT_MODE:
        if (options_num(v, 8, 0, 0777, &n))
            return options_bad("socket-mode", v,
                               "expected an octal mode such as 0600");
        o->socket_mode = (unsigned)n;
        return 0;
    case OPT_LOG:
        o->log_level = log_parse_level(v);
        return o->log_level < 0
                   ? options_bad("log-level", v,
                                 "expected error, warn, info or debug")
                   : 0;
    case OPT_IDLE:
        if (options_num(v, 10, 10, 86400000, &n))
            return options_bad("stream-idle-ms", v,
                               "expected milliseconds in 10..86400000");
        o->stream_idle_ms = (unsigned)n;
        return 0;
    case OPT_AUTO: return options_ratio(v, o);
    case OPT_IDLE_EXIT:
        if (options_num(v, 10, 1, 604800, &n))
            return options_bad("idle-exit", v,
                               "expected seconds in 1..604800");
        o->idle_exit_s = (unsigned)n;
        return 0;
    case OPT_SPIN:
        if (!srdi_spin_parse(v, &o->spin_us))
            return options_bad("spin-us", v,
                               "expected microseconds in 0..10000 "
                               "(0: never spin)");
        return 0;
    case OPT_AUTO_MIN:
        if (options_num(v, 10, 0, UINT64_MAX, &n))
            return options_bad("auto-compact-min-dead", v,
                               "expected a byte count");
        o->auto_min_dead = n;
        return 0;
    default: /* OPT_CTX */
        if (options_num(v, 10, 1, 1024, &n))
            return options_bad("contexts", v, "expected 1..1024");
        o->contexts = (unsigned)n;
        return 0;
    }
}

static void options_defaults(srdd_options *o)
{
    memset(o, 0, sizeof *o);
    o->sync = SRD_SYNC_ALWAYS;
    o->sync_ms = 100;
    o->max_message = SRDI_WIRE_MAX_DEFAULT;
    o->socket_mode = 0600;
    o->log_level = LOG_LVL_INFO;
    o->stream_idle_ms = 60000;
    o->contexts = 64;
    o->auto_min_dead = 1u << 20;
    o->spin_us = srdi_spin_env(SRDI_SPIN_DEFAULT_US);
}

int options_parse(int argc, char **argv, srdd_options *o)
{
    int c;
    options_defaults(o);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", options_long, NULL)) != -1) {
        if (c == OPT_HELP || c == OPT_VERSION) {
            fputs(c == OPT_HELP ? options_usage : "srdd 0.1.0 (protocol 1)\n",
                  stdout);
            return 1;
        }
        if (c == '?' || c == ':') {
            fprintf(stderr, "srdd: unknown option or missing value: %s\n%s",
                    argv[optind - 1], options_usage);
            return -1;
        }
        if (options_one(c, optarg, o) != 0)
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "srdd: unexpected argument: %s\n%s", argv[optind],
                options_usage);
        return -1;
    }
    if (!o->store || !*o->store) {
        fprintf(stderr, "srdd: --store PATH is required\n%s", options_usage);
        return -1;
    }
    return 0;
}
