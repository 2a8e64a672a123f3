/* SPDX-License-Identifier: MIT */
/*
 * srdctl_cmds.c -- the command table, the aliases that keep scripts
 * written for the simd-r-drive CLI working, help output and per-command
 * option parsing with getopt_long (glibc), built from one option table so
 * help and parsing cannot drift apart.
 */
#define _GNU_SOURCE 1

#include "srdctl_cmds.h"

#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "srdctl_admin.h"
#include "srdctl_backup.h"
#include "srdctl_dump.h"
#include "srdctl_keys.h"
#include "srdctl_xfer.h"

/* ======================================================================== */
/* Tables                                                                    */
/* ======================================================================== */

static const ctl_cmd cmds_table[] = {
    {"status", admin_status, "", "show the state of the store",
     "Show the state of the store: path, layout (aligned64, or unpadded as\n"
     "simd-r-drive <= 0.13 wrote), mode (\"direct\": srdctl reads the\n"
     "file itself), file size, committed tail, entries (tombstones included),\n"
     "live keys, live bytes, dead bytes (what compaction can reclaim), torn\n"
     "bytes (past the tail) and srdctl's index memory. Figures only srdd\n"
     "knows (pid, uptime, generation, clients, writes/s, syncs, group sizes,\n"
     "publish drops, last compaction) are shown only when a daemon provides\n"
     "them. --json prints one JSON object. --watch refreshes every SECONDS\n"
     "(default 2) until interrupted or --count refreshes: in place on a\n"
     "terminal, else one report after another (one JSON object per line).",
     0, 0, CMDS_OPT_JSON | CMDS_OPT_WATCH | CMDS_OPT_COUNT | CMDS_OPT_DETAILED,
     0, 0},
    {"get", keys_get, "KEY", "write the value of KEY to stdout",
     "Write the raw bytes of the value of KEY to standard output, with no\n"
     "trailing newline, straight from the zero-copy mapping (or in chunks of\n"
     "SIZE with --buffer-size). Exit 1 if KEY has no value.",
     0, 0, CMDS_OPT_BUFSIZE, 1, 1},
    {"put", keys_put, "KEY [VALUE]",
     "store a value (VALUE, --file FILE, or stdin)",
     "Store a value under KEY, replacing any previous value. The value is\n"
     "VALUE when given, else the bytes of FILE (--file; \"-\" is stdin), else\n"
     "standard input, which is streamed in 1 MiB chunks and never held in\n"
     "memory whole. Standard input must not be a terminal. An empty value\n"
     "and the single byte 0x00 cannot be stored (usage error). Creates the\n"
     "store file if it does not exist (in the layout of --layout). Prints\n"
     "nothing on success.",
     CLI_OPEN_WRITE | CLI_OPEN_CREATE, 0, CMDS_OPT_FILE | CMDS_OPT_LAYOUT, 1,
     2},
    {"del", keys_del, "KEY", "delete KEY",
     "Delete KEY (write a tombstone) and print \"Deleted key 'KEY'\". Exit 1,\n"
     "writing nothing, if KEY has no value.",
     CLI_OPEN_WRITE, 0, 0, 1, 1},
    {"exists", keys_exists, "KEY", "print yes or no",
     "Print \"yes\" and exit 0 if KEY has a value, else print \"no\" and exit 1.",
     0, 0, 0, 1, 1},
    {"meta", keys_meta, "KEY", "show where and how KEY's value is stored",
     "Show the live entry of KEY: payload offset, length, entry end, the\n"
     "trailer's back pointer, key hash, stored checksum and whether the\n"
     "checksum matches the payload. Exit 1 if KEY has no value; a bad\n"
     "checksum is reported, not an error (use verify).",
     0, 0, CMDS_OPT_JSON, 1, 1},
    {"ls", keys_ls, "", "list the live entries",
     "List every live entry, oldest first: key hash (hex), payload offset and\n"
     "length, one entry per line. The store does not hold keys: with --keys\n"
     "FILE (one key per line) a fourth column names the key of each hash it\n"
     "finds there. --json prints one JSON array.",
     0, 0, CMDS_OPT_JSON | CMDS_OPT_KEYS, 0, 0},
    {"verify", admin_verify, "", "check every entry's structure and CRC",
     "Walk the whole entry chain and recompute every checksum. Progress goes\n"
     "to stderr when stderr is a terminal, or always with --progress. Prints\n"
     "a summary; exit 0 when every entry is good, 3 otherwise (the summary\n"
     "names the first bad payload offset). --json prints the whole report as\n"
     "one JSON object (schema in srdctl(1) and docs/srdctl.md).",
     0, 0, CMDS_OPT_PROGRESS | CMDS_OPT_JSON, 0, 0},
    {"compact", admin_compact, "", "rewrite the store with live entries only",
     "Copy the live entries (oldest first) into PATH.compact, sync it and\n"
     "rename it over the store, then print what was reclaimed and how long\n"
     "writers waited. Progress goes to stderr when stderr is a terminal (a\n"
     "bar), or always with --progress (lines). Needs the writer lock.",
     CLI_OPEN_WRITE, 0, CMDS_OPT_PROGRESS, 0, 0},
    {"upgrade", admin_upgrade, "",
     "convert an unpadded store to the 64-byte-aligned layout",
     "Rewrite a store of the unpadded layout (simd-r-drive up to 0.13, the\n"
     "Python bindings simd_r_drive_py 0.4) in today's 64-byte-aligned one, as\n"
     "a compaction does: live entries only, into a new file renamed over the\n"
     "store (a crash leaves the old or the new file whole). Programs that\n"
     "read only the old layout cannot read the result. A store already in\n"
     "the aligned layout is left as it is. Needs the writer: stop srdd first.\n"
     "--progress shows progress on stderr.",
     CLI_OPEN_WRITE, 0, CMDS_OPT_PROGRESS, 0, 0},
    {"sync", admin_sync, "", "flush the store file to stable storage",
     "Flush everything written to the store file to stable storage\n"
     "(fdatasync), for example after writers that ran with sync mode\n"
     "\"never\". Needs the writer lock; prints nothing on success.",
     CLI_OPEN_WRITE, 0, 0, 0, 0},
    {"copy", xfer_copy, "KEY [NEWKEY]", "copy a value to a new key or store",
     "Copy the value of KEY to NEWKEY in the same store, or with --to STORE\n"
     "to KEY (or NEWKEY) in another store file (created if missing). The\n"
     "bytes, key hash and checksum are the same in the copy. An existing\n"
     "value under the target key is replaced. Exit 1 if KEY has no value.\n"
     "In the reference syntax (srdctl STORE copy KEY TARGET), TARGET is\n"
     "the other store, as in the simd-r-drive CLI.",
     CLI_OPEN_WRITE, 0, CMDS_OPT_TO, 1, 2},
    {"move", xfer_move, "KEY [NEWKEY]", "move a value to a new key or store",
     "Like copy, then delete KEY from the source store. The copy is durable\n"
     "before the delete is written: a crash in between leaves the value in\n"
     "both places, never in neither. In the reference syntax (srdctl STORE\n"
     "move KEY TARGET), TARGET is the other store.",
     CLI_OPEN_WRITE, 0, CMDS_OPT_TO, 1, 2},
    {"rename", xfer_rename, "KEY NEWKEY", "give a value a new key",
     "Store the value of KEY under NEWKEY, then delete KEY (a crash in\n"
     "between leaves both). Renaming a key to itself is a usage error.\n"
     "Exit 1 if KEY has no value.",
     CLI_OPEN_WRITE, 0, 0, 2, 2},
    {"export", dump_export, "FILE", "write a portable dump of the live entries",
     "Write every live entry, oldest first, to FILE (\"-\": stdout) in the\n"
     "srd dump format (docs/srdctl.md). The store does not hold keys, so an\n"
     "entry carries its key only when --keys names it; the others carry\n"
     "their key hash only and cannot be imported by this version. FILE is\n"
     "written under a temporary name and renamed when complete; an existing\n"
     "FILE is replaced only with --force. Prints a summary (on stderr\n"
     "when the dump goes to stdout). Progress (value bytes written) goes to\n"
     "stderr when stderr is a terminal, or always with --progress.",
     0, 0, CMDS_OPT_KEYS | CMDS_OPT_FORCE | CMDS_OPT_PROGRESS, 1, 1},
    {"import", dump_import, "FILE", "store the entries of a dump",
     "Check the whole dump FILE (structure, every checksum, every key\n"
     "against its hash), then store its entries in order, each value\n"
     "streamed. Nothing is written when the check fails. Entries without a\n"
     "key are refused (usage error) unless --skip-unkeyed. Creates the store\n"
     "if it does not exist. FILE must be a regular file.",
     CLI_OPEN_WRITE | CLI_OPEN_CREATE, 0, CMDS_OPT_SKIP | CMDS_OPT_LAYOUT, 1,
     1},
    {"backup", backup_run, "[STORE] DEST",
     "copy the store online, consistently, to DEST",
     "Copy the store to DEST while srdd serves it, an embedded writer holds\n"
     "it, or nothing does, like mdb_copy: the copy holds every entry up to\n"
     "the tail a read-only open finds at one instant (every write\n"
     "acknowledged before the backup started, none half-written). The\n"
     "bytes go to a temporary file next to DEST, which is synced, opened\n"
     "once as a writer (checking every entry's CRC and recording its own\n"
     "DEST.synced sidecar), verified, then renamed to DEST. A failure leaves\n"
     "no DEST. An existing DEST is replaced only with --force, never while\n"
     "a writer holds it. STORE is the first argument, --store or $SRD_STORE.\n"
     "Progress goes to stderr on a terminal, or always with --progress.",
     0, CMDS_STORE_ARG, CMDS_OPT_FORCE | CMDS_OPT_PROGRESS, 1, 2},
    {"help", cmds_help, "[COMMAND]", "show help for srdctl or a command",
     "Show the global help, or the help of COMMAND.", 0, CMDS_NOSTORE, 0, 0,
     1},
};

#define CMDS_N (sizeof cmds_table / sizeof cmds_table[0])

/* The simd-r-drive CLI's command names, with the same arguments. */
static const struct {
    const char *alias, *name;
} cmds_aliases[] = {
    {"read", "get"},     {"write", "put"},        {"delete", "del"},
    {"info", "status"},  {"metadata", "meta"},
};

#define CMDS_NALIASES (sizeof cmds_aliases / sizeof cmds_aliases[0])

/* One command option: getopt spelling plus help. */
typedef struct cmds_opt {
    unsigned bit;     /* CMDS_OPT_* */
    const char *name; /* long name */
    int has_arg;      /* no_argument, required_argument, optional_argument */
    char short_name;  /* 0: long only */
    const char *arg;  /* argument name in help */
    const char *help;
} cmds_opt;

static const cmds_opt cmds_opts[] = {
    {CMDS_OPT_FILE, "file", required_argument, 'f', "FILE",
     "read the value from FILE (\"-\": stdin)"},
    {CMDS_OPT_JSON, "json", no_argument, 0, NULL, "print JSON"},
    {CMDS_OPT_PROGRESS, "progress", no_argument, 0, NULL,
     "print progress on stderr even when it is not a terminal"},
    {CMDS_OPT_WATCH, "watch", optional_argument, 'w', "[SECONDS]",
     "refresh every SECONDS (default 2) until interrupted"},
    {CMDS_OPT_COUNT, "count", required_argument, 'n', "N",
     "with --watch: stop after N reports"},
    {CMDS_OPT_BUFSIZE, "buffer-size", required_argument, 'b', "SIZE",
     "write in chunks of SIZE bytes (suffix K, M, G; default: whole value)"},
    {CMDS_OPT_TO, "to", required_argument, 't', "STORE",
     "the other store file (created if missing)"},
    {CMDS_OPT_KEYS, "keys", required_argument, 'k', "FILE",
     "keys to name, one per line (\"-\": stdin)"},
    {CMDS_OPT_FORCE, "force", no_argument, 0, NULL, "replace the output file (FILE, DEST) if it exists"},
    {CMDS_OPT_SKIP, "skip-unkeyed", no_argument, 0, NULL,
     "skip the entries the dump holds without their key"},
    {CMDS_OPT_DETAILED, "detailed", no_argument, 0, NULL,
     "accepted for the simd-r-drive CLI (info --detailed); no effect"},
    {CMDS_OPT_LAYOUT, "layout", required_argument, 0, "LAYOUT",
     "layout of a store this creates: aligned64 (default) or unpadded"},
};

#define CMDS_NOPTS (sizeof cmds_opts / sizeof cmds_opts[0])

/* getopt value of a long-only option: CMDS_LONG + its index. */
#define CMDS_LONG 0x100

/* ======================================================================== */
/* Lookup and help                                                           */
/* ======================================================================== */

static const ctl_cmd *cmds_by_name(const char *name)
{
    for (size_t i = 0; i < CMDS_N; i++)
        if (strcmp(cmds_table[i].name, name) == 0)
            return &cmds_table[i];
    return NULL;
}

const ctl_cmd *cmds_find(const char *name)
{
    const ctl_cmd *c = cmds_by_name(name);
    for (size_t i = 0; !c && i < CMDS_NALIASES; i++)
        if (strcmp(cmds_aliases[i].alias, name) == 0)
            c = cmds_by_name(cmds_aliases[i].name);
    return c;
}

void cmds_print_global_help(FILE *f)
{
    fprintf(f,
            "Usage: srdctl [--store PATH] COMMAND [ARGS...]\n"
            "       srdctl STORE COMMAND [ARGS...]   (simd-r-drive CLI syntax)\n"
            "       srdctl help COMMAND | srdctl COMMAND --help\n"
            "       srdctl --help | --version\n"
            "\n"
            "Administer an srd store.\n"
            "\n"
            "Daemon mode: when srdd serves the store (PATH.srdd names it and it\n"
            "holds the lock), write commands go through srdd and are group-\n"
            "committed with every other client's; status adds srdd's figures\n"
            "and compact runs online in srdd. Otherwise srdctl works on the\n"
            "file directly (mode \"direct\") and write commands need the\n"
            "writer lock. Read commands always read the file in place.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < CMDS_N; i++) {
        char syn[64];
        snprintf(syn, sizeof syn, "%s %s", cmds_table[i].name,
                 cmds_table[i].args);
        fprintf(f, "  %-20s %s\n", syn, cmds_table[i].summary);
    }
    fputs("\nAliases (the simd-r-drive CLI's names):\n ", f);
    for (size_t i = 0; i < CMDS_NALIASES; i++)
        fprintf(f, " %s=%s", cmds_aliases[i].alias, cmds_aliases[i].name);
    fprintf(f,
            "\n\n"
            "Options:\n"
            "  -s, --store PATH     the store file (default: $SRD_STORE)\n"
            "  -h, --help           show this help\n"
            "  -V, --version        show the version\n"
            "\n"
            "Exit status: 0 ok, 1 not found or false, 2 usage error,\n"
            "3 store error (corrupt, bad checksum, I/O, locked),\n"
            "4 store daemon unreachable.\n");
}

/* The name a command is an alias for, or NULL. */
static const char *cmds_alias_of(const char *name)
{
    for (size_t i = 0; i < CMDS_NALIASES; i++)
        if (strcmp(cmds_aliases[i].alias, name) == 0)
            return cmds_aliases[i].name;
    return NULL;
}

void cmds_print_help(FILE *f, const ctl_cmd *c, const char *name)
{
    fprintf(f, "Usage: srdctl [--store PATH] %s%s%s", name, *c->args ? " " : "",
            c->args);
    for (size_t i = 0; i < CMDS_NOPTS; i++)
        if (c->opts & cmds_opts[i].bit)
            fprintf(f, " [--%s%s%s]", cmds_opts[i].name,
                    cmds_opts[i].arg ? " " : "",
                    cmds_opts[i].arg ? cmds_opts[i].arg : "");
    fputc('\n', f);
    const char *target = cmds_alias_of(name);
    if (target)
        fprintf(f, "\n'%s' is the simd-r-drive CLI's name for '%s'.\n", name,
                target);
    fprintf(f, "\n%s\n\nOptions:\n", c->help);
    for (size_t i = 0; i < CMDS_NOPTS; i++) {
        const cmds_opt *o = &cmds_opts[i];
        if (!(c->opts & o->bit))
            continue;
        char lhs[40];
        snprintf(lhs, sizeof lhs, "%c%c%s--%s%s%s", o->short_name ? '-' : ' ',
                 o->short_name ? o->short_name : ' ',
                 o->short_name ? ", " : "  ", o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
        fprintf(f, "  %-24s %s\n", lhs, o->help);
    }
    if (!(c->flags & CMDS_NOSTORE))
        fputs("  -s, --store PATH         the store file (default: $SRD_STORE)\n",
              f);
    fputs("  -h, --help               show this help\n", f);
}

int cmds_help(ctl_ctx *cx)
{
    if (cx->argc == 0) {
        cmds_print_global_help(stdout);
        return CTL_EXIT_OK;
    }
    const ctl_cmd *c = cmds_find(cx->argv[0]);
    if (!c)
        return cli_usage("help: unknown command '%s'", cx->argv[0]);
    cmds_print_help(stdout, c, cx->argv[0]);
    return CTL_EXIT_OK;
}

/* ======================================================================== */
/* Option values                                                             */
/* ======================================================================== */

/*
 * A size as the simd-r-drive CLI takes it for read --buffer-size: digits
 * and an optional unit K/KB, M/MB, G/GB (any case, powers of 1024), spaces
 * around it ignored. Zero and sizes over 1 GiB are refused.
 */
static bool cmds_parse_size(const char *s, size_t *out)
{
    while (isspace((unsigned char)*s))
        s++;
    char num[32];
    size_t n = 0;
    while (n < sizeof num - 1 && isdigit((unsigned char)s[n])) {
        num[n] = s[n];
        n++;
    }
    num[n] = '\0';
    const char *unit = s + n;
    size_t ulen = strlen(unit);
    while (ulen > 0 && isspace((unsigned char)unit[ulen - 1]))
        ulen--;
    static const struct {
        const char *u;
        unsigned shift;
    } units[] = {{"", 0},   {"k", 10},  {"kb", 10}, {"m", 20},
                 {"mb", 20}, {"g", 30}, {"gb", 30}};
    uint64_t v;
    if (!cli_parse_u64(num, &v))
        return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strlen(units[i].u) != ulen || strncasecmp(unit, units[i].u, ulen) != 0)
            continue;
        if (v == 0 || v > ((uint64_t)1 << 30) >> units[i].shift)
            return false;
        *out = (size_t)(v << units[i].shift);
        return true;
    }
    return false;
}

/* A --watch interval in seconds: 0.1 to 86400. */
static bool cmds_parse_seconds(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0.1 && v <= 86400))
        return false;
    *out = v;
    return true;
}

/* Store the value of option o (argument arg) in cx. Returns -1 to go on
 * or a usage error's exit status. */
static int cmds_set(ctl_ctx *cx, const cmds_opt *o, const char *arg)
{
    uint64_t n;
    switch (o->bit) {
    case CMDS_OPT_FILE:
        cx->file = arg;
        return -1;
    case CMDS_OPT_TO:
        cx->to = arg;
        return -1;
    case CMDS_OPT_KEYS:
        cx->keys = arg;
        return -1;
    case CMDS_OPT_JSON:
        cx->json = true;
        return -1;
    case CMDS_OPT_PROGRESS:
        cx->progress = true;
        return -1;
    case CMDS_OPT_FORCE:
        cx->force = true;
        return -1;
    case CMDS_OPT_SKIP:
        cx->skip_unkeyed = true;
        return -1;
    case CMDS_OPT_DETAILED:
        return -1;
    case CMDS_OPT_LAYOUT:
        cx->layout_set = true;
        if (strcmp(arg, "aligned64") == 0)
            cx->layout = SRD_LAYOUT_ALIGNED64;
        else if (strcmp(arg, "unpadded") == 0)
            cx->layout = SRD_LAYOUT_UNPADDED;
        else
            return cli_usage("%s: bad --layout '%s' (aligned64 or unpadded)",
                             cx->name, arg);
        return -1;
    case CMDS_OPT_WATCH:
        cx->watch = true;
        if (arg && !cmds_parse_seconds(arg, &cx->interval))
            return cli_usage("%s: bad --watch interval '%s' (seconds, 0.1 "
                             "to 86400)",
                             cx->name, arg);
        return -1;
    case CMDS_OPT_COUNT:
        if (!cli_parse_u64(arg, &n) || n == 0 || n > 1000000000)
            return cli_usage("%s: bad --count '%s' (a number from 1)",
                             cx->name, arg);
        cx->count = (long)n;
        return -1;
    case CMDS_OPT_BUFSIZE:
        if (!cmds_parse_size(arg, &cx->bufsize))
            return cli_usage("%s: bad buffer size '%s' (a number from 1, "
                             "with K, M or G, up to 1G)",
                             cx->name, arg);
        return -1;
    default:
        return cli_usage("%s: unhandled option '--%s'", cx->name, o->name);
    }
}

/* ======================================================================== */
/* Parsing                                                                   */
/* ======================================================================== */

/* The text of the option getopt just refused: "-x" for a short option
 * (which may sit inside a cluster such as "-jx"), else the argument. */
static const char *cmds_bad_opt(char **argv, int ind)
{
    static char one[3];
    const char *a = argv[ind - 1];
    if (strncmp(a, "--", 2) == 0)
        return a;
    if (optopt > 0x20 && optopt < 0x7f) {
        one[0] = '-';
        one[1] = (char)optopt;
        return one;
    }
    return a;
}

/* getopt's long and short tables for command c. */
static void cmds_getopt_tables(const ctl_cmd *c, struct option *lo,
                               char *so)
{
    int n = 0;
    strcpy(so, ":h");
    lo[n++] = (struct option){"help", no_argument, NULL, 'h'};
    if (!(c->flags & CMDS_NOSTORE)) {
        lo[n++] = (struct option){"store", required_argument, NULL, 's'};
        strcat(so, "s:");
    }
    for (size_t i = 0; i < CMDS_NOPTS; i++) {
        const cmds_opt *o = &cmds_opts[i];
        if (!(c->opts & o->bit))
            continue;
        int val = o->short_name ? o->short_name : CMDS_LONG + (int)i;
        lo[n++] = (struct option){o->name, o->has_arg, NULL, val};
        if (o->short_name) {
            size_t l = strlen(so);
            so[l++] = o->short_name;
            if (o->has_arg != no_argument)
                so[l++] = ':';
            if (o->has_arg == optional_argument)
                so[l++] = ':';
            so[l] = '\0';
        }
    }
    lo[n] = (struct option){NULL, 0, NULL, 0};
}

/* The cmds_opts row getopt returned val for. */
static const cmds_opt *cmds_opt_for(int val)
{
    if (val >= CMDS_LONG)
        return &cmds_opts[val - CMDS_LONG];
    for (size_t i = 0; i < CMDS_NOPTS; i++)
        if (cmds_opts[i].short_name == val)
            return &cmds_opts[i];
    return NULL;
}

/* --watch takes its interval attached (--watch=5, -w5) or as the next
 * word when that is a number ("--watch 5"): status has no positional
 * arguments, so the two cannot be confused. */
static const char *cmds_watch_arg(int argc, char **argv)
{
    double ignored;
    if (optarg || optind >= argc || !cmds_parse_seconds(argv[optind], &ignored))
        return optarg;
    return argv[optind++];
}

int cmds_parse(ctl_ctx *cx, int argc, char **argv)
{
    const ctl_cmd *c = cx->cmd;
    struct option lo[CMDS_NOPTS + 3];
    char so[3 * CMDS_NOPTS + 8];
    cmds_getopt_tables(c, lo, so);
    cx->interval = 2.0;

    optind = 0; /* full re-initialisation of glibc's getopt */
    opterr = 0;
    int v, rc;
    while ((v = getopt_long(argc, argv, so, lo, NULL)) != -1) {
        const cmds_opt *o = cmds_opt_for(v);
        if (v == 'h') {
            cmds_print_help(stdout, c, cx->name);
            return CTL_EXIT_OK;
        } else if (v == 's') {
            cx->path = optarg;
        } else if (v == ':') {
            return cli_usage("%s: option '%s' needs an argument", cx->name,
                             argv[optind - 1]);
        } else if (!o || v == '?') {
            return cli_usage("%s: unknown option '%s'", cx->name,
                             cmds_bad_opt(argv, optind));
        } else {
            const char *arg = o->bit == CMDS_OPT_WATCH
                                  ? cmds_watch_arg(argc, argv)
                                  : optarg;
            if ((rc = cmds_set(cx, o, arg)) >= 0)
                return rc;
        }
    }
    cx->argc = argc - optind;
    cx->argv = argv + optind;
    if (cx->argc < c->min_args || cx->argc > c->max_args)
        return cli_usage("%s: expected %s%s, got %d argument%s", cx->name,
                         *c->args ? "arguments " : "no arguments", c->args,
                         cx->argc, cx->argc == 1 ? "" : "s");
    if (cx->count && !cx->watch)
        return cli_usage("%s: --count needs --watch", cx->name);
    return -1;
}
