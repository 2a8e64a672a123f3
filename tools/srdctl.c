/* SPDX-License-Identifier: MIT */
/*
 * srdctl.c -- administer an srd store file directly (embedded mode).
 * Every command is one row of ctl_cmds[] (name, handler, usage, options,
 * whether it writes); the dispatcher parses options, checks the argument
 * count and opens the store lazily, read-only unless the row writes, so a
 * new command or alias is one handler plus one row. Exit status: 0 ok,
 * 1 not found / false, 2 usage error, 3 store error.
 */
#define _GNU_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "srd/srd.h"

#ifndef SRDCTL_VERSION
#define SRDCTL_VERSION "0.1.0"
#endif

/* ======================================================================== */
/* Types and the command table                                               */
/* ======================================================================== */

enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_FALSE = 1, /* not found, or a "no" answer */
    CTL_EXIT_USAGE = 2,
    CTL_EXIT_STORE = 3, /* corrupt, I/O, locked, bad checksum... */
};

/* ctl_cmd.flags */
#define CTL_WRITES 0x1u  /* opens the store as the writer (takes the lock) */
#define CTL_CREATES 0x2u /* creates a missing store file (writers only) */
#define CTL_NOSTORE 0x4u /* needs no store at all */

/* Options a command may accept besides --help and --store (ctl_cmd.opts). */
#define CTL_OPT_FILE 0x1u
#define CTL_OPT_JSON 0x2u
#define CTL_OPT_PROGRESS 0x4u

/* getopt return values for the long-only options. */
enum { CTL_O_JSON = 0x100, CTL_O_PROGRESS };

/* Size of one chunk read from the input and streamed into the store
 * (DESIGN.md section 6: large values move in chunks of about 1 MiB). */
#define CTL_CHUNK ((size_t)1 << 20)

typedef struct ctl_cmd ctl_cmd;

/* Everything a handler needs; filled by the dispatcher. */
typedef struct ctl_ctx {
    const ctl_cmd *cmd;
    const char *path; /* store path (--store or $SRD_STORE) */
    srd_store *st;    /* opened on first ctl_store() call */
    int argc;         /* positional arguments after the command */
    char **argv;
    const char *file; /* --file */
    bool json;        /* --json */
    bool progress;    /* --progress */
} ctl_ctx;

struct ctl_cmd {
    const char *name;
    int (*run)(ctl_ctx *cx); /* returns the exit status */
    const char *args;        /* positional synopsis, e.g. "KEY [VALUE]" */
    const char *summary;     /* one line for the global --help */
    const char *help;        /* paragraph for "srdctl CMD --help" */
    unsigned flags;          /* CTL_WRITES, CTL_CREATES, CTL_NOSTORE */
    unsigned opts;           /* CTL_OPT_* accepted */
    int min_args, max_args;  /* positional argument count */
};

static int ctl_cmd_put(ctl_ctx *cx);
static int ctl_cmd_get(ctl_ctx *cx);
static int ctl_cmd_del(ctl_ctx *cx);
static int ctl_cmd_exists(ctl_ctx *cx);
static int ctl_cmd_info(ctl_ctx *cx);
static int ctl_cmd_verify(ctl_ctx *cx);
static int ctl_cmd_compact(ctl_ctx *cx);
static int ctl_cmd_help(ctl_ctx *cx);

static const ctl_cmd ctl_cmds[] = {
    {"put", ctl_cmd_put, "KEY [VALUE]",
     "store a value (VALUE, --file FILE, or stdin)",
     "Store a value under KEY, replacing any previous value. The value is\n"
     "VALUE when given, else the bytes of FILE (--file; \"-\" is stdin), else\n"
     "standard input, which is streamed in 1 MiB chunks and never held in\n"
     "memory whole. Standard input must not be a terminal. An empty value\n"
     "and the single byte 0x00 cannot be stored (usage error). Creates the\n"
     "store file if it does not exist. Prints nothing on success.",
     CTL_WRITES | CTL_CREATES, CTL_OPT_FILE, 1, 2},
    {"get", ctl_cmd_get, "KEY", "write the value of KEY to stdout",
     "Write the raw bytes of the value of KEY to standard output, with no\n"
     "trailing newline. Exit 1 if KEY has no value.",
     0, 0, 1, 1},
    {"del", ctl_cmd_del, "KEY", "delete KEY",
     "Delete KEY (write a tombstone) and print \"Deleted key 'KEY'\". Exit 1,\n"
     "writing nothing, if KEY has no value.",
     CTL_WRITES, 0, 1, 1},
    {"exists", ctl_cmd_exists, "KEY", "print yes or no",
     "Print \"yes\" and exit 0 if KEY has a value, else print \"no\" and exit 1.",
     0, 0, 1, 1},
    {"info", ctl_cmd_info, "", "show size, tail and counts of the store",
     "Show the store path, file size, committed tail, entries (tombstones\n"
     "included), live keys, live bytes, dead bytes (what compaction would\n"
     "reclaim), torn bytes (past the tail) and the index memory. With --json,\n"
     "print one JSON object instead.",
     0, CTL_OPT_JSON, 0, 0},
    {"verify", ctl_cmd_verify, "", "check every entry's structure and CRC",
     "Walk the whole entry chain and recompute every checksum. Progress goes\n"
     "to stderr when stderr is a terminal, or always with --progress. Prints\n"
     "a summary; exit 0 when every entry is good, 3 otherwise (the summary\n"
     "names the first bad payload offset).",
     0, CTL_OPT_PROGRESS, 0, 0},
    {"compact", ctl_cmd_compact, "", "rewrite the store with live entries only",
     "Copy the live entries (oldest first) into PATH.compact, sync it and\n"
     "rename it over the store, then print the bytes reclaimed. Needs the\n"
     "writer lock.",
     CTL_WRITES, 0, 0, 0},
    {"help", ctl_cmd_help, "[COMMAND]", "show help for srdctl or a command",
     "Show the global help, or the help of COMMAND.", CTL_NOSTORE, 0, 0, 1},
};

#define CTL_NCMDS (sizeof ctl_cmds / sizeof ctl_cmds[0])

/* ======================================================================== */
/* Messages                                                                  */
/* ======================================================================== */

/* "srdctl: <message>\n" on stderr. */
static void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ctl_err(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("srdctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* A usage error: "srdctl: <message>: <srd_strerror(e)>", a hint, and exit
 * status 2. ctl_usage_err() uses SRD_EINVAL ("invalid argument"). */
static int ctl_usage_verr(srd_err e, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static int ctl_usage_verr(srd_err e, const char *fmt, va_list ap)
{
    fflush(stdout);
    fputs("srdctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, ": %s\nTry 'srdctl --help'.\n", srd_strerror(e));
    return CTL_EXIT_USAGE;
}

static int ctl_usage_err_e(srd_err e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int ctl_usage_err_e(srd_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = ctl_usage_verr(e, fmt, ap);
    va_end(ap);
    return rc;
}

static int ctl_usage_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int ctl_usage_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = ctl_usage_verr(SRD_EINVAL, fmt, ap);
    va_end(ap);
    return rc;
}

/*
 * A printable rendering of key bytes for messages: printable ASCII as is,
 * everything else (and backslash, quote) as \xHH; cut after CTL_KEY_SHOWN
 * bytes with "...". buf must hold CTL_KEY_REPR bytes.
 */
#define CTL_KEY_SHOWN 96
#define CTL_KEY_REPR (CTL_KEY_SHOWN * 4 + 4)
static const char *ctl_key_repr(srd_val key, char buf[CTL_KEY_REPR])
{
    const unsigned char *p = key.ptr;
    size_t o = 0;
    for (size_t i = 0; i < key.len && i < CTL_KEY_SHOWN; i++) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, 5, "\\x%02x", c);
    }
    if (key.len > CTL_KEY_SHOWN) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* The exit status for an srd error returned by a data operation. */
static int ctl_exit_for(srd_err e)
{
    switch (e) {
    case SRD_OK:
        return CTL_EXIT_OK;
    case SRD_ENOTFOUND:
        return CTL_EXIT_FALSE;
    case SRD_EINVAL:
        return CTL_EXIT_USAGE;
    default:
        return CTL_EXIT_STORE;
    }
}

/* ======================================================================== */
/* Help                                                                      */
/* ======================================================================== */

static void ctl_print_global_help(FILE *f)
{
    fprintf(f,
            "Usage: srdctl [--store PATH] COMMAND [ARGS...]\n"
            "       srdctl COMMAND --help\n"
            "       srdctl --help | --version\n"
            "\n"
            "Administer an srd store file directly (embedded mode).\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < CTL_NCMDS; i++) {
        char syn[64];
        snprintf(syn, sizeof syn, "%s %s", ctl_cmds[i].name, ctl_cmds[i].args);
        fprintf(f, "  %-20s %s\n", syn, ctl_cmds[i].summary);
    }
    fprintf(f,
            "\n"
            "Options:\n"
            "  -s, --store PATH     the store file (default: $SRD_STORE)\n"
            "  -h, --help           show this help\n"
            "  -V, --version        show the version\n"
            "\n"
            "Exit status: 0 ok, 1 not found or false, 2 usage error,\n"
            "3 store error (corrupt, bad checksum, I/O, locked).\n");
}

static void ctl_print_cmd_help(FILE *f, const ctl_cmd *c)
{
    fprintf(f, "Usage: srdctl [--store PATH] %s%s%s", c->name,
            *c->args ? " " : "", c->args);
    if (c->opts & CTL_OPT_FILE)
        fputs(" [--file FILE]", f);
    if (c->opts & CTL_OPT_JSON)
        fputs(" [--json]", f);
    if (c->opts & CTL_OPT_PROGRESS)
        fputs(" [--progress]", f);
    fprintf(f, "\n\n%s\n\nOptions:\n", c->help);
    if (c->opts & CTL_OPT_FILE)
        fputs("  -f, --file FILE      read the value from FILE (\"-\": stdin)\n", f);
    if (c->opts & CTL_OPT_JSON)
        fputs("      --json           print JSON\n", f);
    if (c->opts & CTL_OPT_PROGRESS)
        fputs("      --progress       print progress on stderr\n", f);
    if (!(c->flags & CTL_NOSTORE))
        fputs("  -s, --store PATH     the store file (default: $SRD_STORE)\n", f);
    fputs("  -h, --help           show this help\n", f);
}

static const ctl_cmd *ctl_find_cmd(const char *name)
{
    for (size_t i = 0; i < CTL_NCMDS; i++)
        if (strcmp(ctl_cmds[i].name, name) == 0)
            return &ctl_cmds[i];
    return NULL;
}

static int ctl_cmd_help(ctl_ctx *cx)
{
    if (cx->argc == 0) {
        ctl_print_global_help(stdout);
        return CTL_EXIT_OK;
    }
    const ctl_cmd *c = ctl_find_cmd(cx->argv[0]);
    if (!c)
        return ctl_usage_err("help: unknown command '%s'", cx->argv[0]);
    ctl_print_cmd_help(stdout, c);
    return CTL_EXIT_OK;
}

/* ======================================================================== */
/* Store and I/O helpers                                                     */
/* ======================================================================== */

/* The store of cx, opened on first use: as the writer when the command
 * writes, else read-only (no lock: a store held by srdd can be read).
 * NULL after printing an error (exit CTL_EXIT_STORE). */
static srd_store *ctl_store(ctl_ctx *cx)
{
    if (cx->st)
        return cx->st;
    /* Refuse directories, FIFOs and devices before open(2) can block on or
     * misread them. A missing file is left to srd_open (SRD_ENOENT). */
    struct stat sb;
    if (stat(cx->path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        if (S_ISDIR(sb.st_mode))
            ctl_err("cannot open store '%s': %s", cx->path,
                    srd_strerror(SRD_ESYSERR | EISDIR));
        else
            ctl_err("cannot open store '%s': not a regular file: %s",
                    cx->path, srd_strerror(SRD_EINVAL));
        return NULL;
    }
    srd_options o;
    srd_options_init(&o);
    o.flags = 0;
    if (!(cx->cmd->flags & CTL_WRITES))
        o.flags |= SRD_OPEN_READONLY;
    if (cx->cmd->flags & CTL_CREATES)
        o.flags |= SRD_OPEN_CREATE;
    srd_err e = srd_open(cx->path, &o, &cx->st);
    if (e == SRD_EBUSY) {
        ctl_err("cannot open store '%s' for writing: %s (srdd?)", cx->path,
                srd_strerror(e));
        cx->st = NULL;
        return NULL;
    }
    if (e != SRD_OK) {
        ctl_err("cannot open store '%s': %s", cx->path, srd_strerror(e));
        cx->st = NULL;
        return NULL;
    }
    return cx->st;
}

/* write(2) all of p, retrying short writes and EINTR; 0 or an errno. */
static int ctl_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read until cap bytes or end of input; *got set. 0 or an errno. */
static int ctl_read_full(int fd, void *buf, size_t cap, size_t *got)
{
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, (char *)buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            *got = n;
            return errno;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *got = n;
    return 0;
}

/* Whether stdin counts as a terminal (FORCE_NO_TTY=1 says it does not). */
static bool ctl_stdin_is_tty(void)
{
    const char *f = getenv("FORCE_NO_TTY");
    if (f && *f && strcmp(f, "0") != 0)
        return false;
    return isatty(STDIN_FILENO) == 1;
}

static srd_val ctl_arg_val(const char *s)
{
    srd_val v = {s, strlen(s)};
    return v;
}

/* ======================================================================== */
/* Commands                                                                  */
/* ======================================================================== */

/* put with the value read from fd (a file or stdin), streamed. */
static int ctl_put_stream(ctl_ctx *cx, srd_val key, int fd, const char *what)
{
    char kr[CTL_KEY_REPR];
    uint8_t *buf = malloc(CTL_CHUNK);
    if (!buf) {
        ctl_err("put: %s", srd_strerror(SRD_ENOMEM));
        return CTL_EXIT_STORE;
    }
    int rc = CTL_EXIT_STORE;
    srd_stream *s = NULL;
    size_t got;
    /* Read the first chunk before opening the store: an empty input is a
     * usage error and must not create or lock anything. */
    int er = ctl_read_full(fd, buf, CTL_CHUNK, &got);
    if (er != 0) {
        ctl_err("put: cannot read %s: %s", what,
                srd_strerror((srd_err)(SRD_ESYSERR | er)));
        goto out;
    }
    if (got == 0) {
        rc = ctl_usage_err("put: No value provided (%s is empty)", what);
        goto out;
    }
    /* got < CTL_CHUNK means the input ended: a lone 0x00 is refused here,
     * before a missing store would be created. */
    if (got == 1 && buf[0] == 0) {
        rc = ctl_usage_err("put: cannot store key '%s': the value is the "
                           "single byte 0x00, which the format cannot hold",
                           ctl_key_repr(key, kr));
        goto out;
    }
    srd_store *st = ctl_store(cx);
    if (!st)
        goto out;
    srd_err e = srd_stream_begin(st, key, &s);
    if (e != SRD_OK) {
        s = NULL;
        ctl_err("put: cannot store key '%s': %s", ctl_key_repr(key, kr),
                srd_strerror(e));
        rc = ctl_exit_for(e);
        goto out;
    }
    uint64_t total = 0;
    while (got > 0) {
        e = srd_stream_write(s, buf, got);
        if (e != SRD_OK) {
            ctl_err("put: cannot store key '%s' (after %llu bytes): %s",
                    ctl_key_repr(key, kr), (unsigned long long)total,
                    srd_strerror(e));
            rc = ctl_exit_for(e);
            goto out;
        }
        total += got;
        er = ctl_read_full(fd, buf, CTL_CHUNK, &got);
        if (er != 0) {
            ctl_err("put: cannot read %s (after %llu bytes): %s; nothing "
                    "was stored",
                    what, (unsigned long long)total,
                    srd_strerror((srd_err)(SRD_ESYSERR | er)));
            goto out;
        }
    }
    e = srd_stream_commit(s);
    s = NULL; /* commit frees the stream, also on failure */
    if (e != SRD_OK) {
        if (e == SRD_EINVAL)
            rc = ctl_usage_err("put: cannot store key '%s': the value is the "
                               "single byte 0x00, which the format cannot hold",
                               ctl_key_repr(key, kr));
        else {
            ctl_err("put: cannot store key '%s': %s", ctl_key_repr(key, kr),
                    srd_strerror(e));
            rc = ctl_exit_for(e);
        }
        goto out;
    }
    rc = CTL_EXIT_OK;
out:
    if (s)
        srd_stream_abort(s);
    free(buf);
    return rc;
}

static int ctl_cmd_put(ctl_ctx *cx)
{
    char kr[CTL_KEY_REPR];
    srd_val key = ctl_arg_val(cx->argv[0]);
    if (cx->argc == 2 && cx->file)
        return ctl_usage_err("put: give either VALUE or --file, not both");
    if (cx->argc == 2) {
        srd_val val = ctl_arg_val(cx->argv[1]);
        if (val.len == 0)
            return ctl_usage_err("put: the value for key '%s' is empty (the "
                                 "format cannot store an empty value)",
                                 ctl_key_repr(key, kr));
        srd_store *st = ctl_store(cx);
        if (!st)
            return CTL_EXIT_STORE;
        srd_err e = srd_put(st, key, val);
        if (e != SRD_OK) {
            ctl_err("put: cannot store key '%s': %s", ctl_key_repr(key, kr),
                    srd_strerror(e));
            return ctl_exit_for(e);
        }
        return CTL_EXIT_OK;
    }
    if (cx->file && strcmp(cx->file, "-") != 0) {
        /* An input that cannot be opened is a bad argument (exit 2); a
         * read that fails later is an I/O error (exit 3). */
        int fd = open(cx->file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return ctl_usage_err_e((srd_err)(SRD_ESYSERR | errno),
                                   "put: cannot open '%s'", cx->file);
        struct stat sb;
        if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            close(fd);
            return ctl_usage_err_e((srd_err)(SRD_ESYSERR | EISDIR),
                                   "put: cannot read '%s'", cx->file);
        }
        char what[4200];
        snprintf(what, sizeof what, "file '%s'", cx->file);
        int rc = ctl_put_stream(cx, key, fd, what);
        close(fd);
        return rc;
    }
    if (!cx->file && ctl_stdin_is_tty())
        return ctl_usage_err("put: No value provided (give VALUE, --file FILE "
                             "or pipe the value into stdin)");
    return ctl_put_stream(cx, key, STDIN_FILENO, "stdin");
}

static int ctl_cmd_get(ctl_ctx *cx)
{
    char kr[CTL_KEY_REPR];
    srd_val key = ctl_arg_val(cx->argv[0]);
    srd_store *st = ctl_store(cx);
    if (!st)
        return CTL_EXIT_STORE;
    srd_view v;
    srd_err e = srd_get(st, key, &v);
    if (e == SRD_ENOTFOUND) {
        ctl_err("key '%s' not found", ctl_key_repr(key, kr));
        return CTL_EXIT_FALSE;
    }
    if (e != SRD_OK) {
        ctl_err("get: cannot read key '%s': %s", ctl_key_repr(key, kr),
                srd_strerror(e));
        return CTL_EXIT_STORE;
    }
    /* Straight from the mapping to fd 1: no copy through stdio. */
    int we = ctl_write_all(STDOUT_FILENO, v.data, v.len);
    srd_view_release(&v);
    if (we != 0) {
        ctl_err("get: cannot write to stdout: %s",
                srd_strerror((srd_err)(SRD_ESYSERR | we)));
        return CTL_EXIT_STORE;
    }
    return CTL_EXIT_OK;
}

static int ctl_cmd_del(ctl_ctx *cx)
{
    char kr[CTL_KEY_REPR];
    srd_val key = ctl_arg_val(cx->argv[0]);
    srd_store *st = ctl_store(cx);
    if (!st)
        return CTL_EXIT_STORE;
    bool existed = false;
    srd_err e = srd_delete(st, key, &existed);
    if (e != SRD_OK) {
        ctl_err("del: cannot delete key '%s': %s", ctl_key_repr(key, kr),
                srd_strerror(e));
        return ctl_exit_for(e);
    }
    if (!existed) {
        ctl_err("del: key '%s' not found (nothing written): %s",
                ctl_key_repr(key, kr), srd_strerror(SRD_ENOTFOUND));
        return CTL_EXIT_FALSE;
    }
    printf("Deleted key '%s'\n", ctl_key_repr(key, kr));
    return CTL_EXIT_OK;
}

static int ctl_cmd_exists(ctl_ctx *cx)
{
    char kr[CTL_KEY_REPR];
    srd_val key = ctl_arg_val(cx->argv[0]);
    srd_store *st = ctl_store(cx);
    if (!st)
        return CTL_EXIT_STORE;
    bool ex = false;
    srd_err e = srd_exists(st, key, &ex);
    if (e != SRD_OK) {
        ctl_err("exists: cannot look up key '%s': %s", ctl_key_repr(key, kr),
                srd_strerror(e));
        return CTL_EXIT_STORE;
    }
    puts(ex ? "yes" : "no");
    return ex ? CTL_EXIT_OK : CTL_EXIT_FALSE;
}

/* Add a uint64 member to a JSON object; false on ENOMEM. */
static bool ctl_json_u64(json_object *o, const char *k, uint64_t v)
{
    json_object *n = json_object_new_uint64(v);
    if (!n)
        return false;
    if (json_object_object_add(o, k, n) != 0) {
        json_object_put(n);
        return false;
    }
    return true;
}

static int ctl_cmd_info(ctl_ctx *cx)
{
    srd_store *st = ctl_store(cx);
    if (!st)
        return CTL_EXIT_STORE;
    srd_info in;
    srd_err e = srd_get_info(st, &in);
    if (e != SRD_OK) {
        ctl_err("info: %s", srd_strerror(e));
        return CTL_EXIT_STORE;
    }
    uint64_t torn = in.file_size > in.tail ? in.file_size - in.tail : 0;
    if (!cx->json) {
        printf("path:         %s\n"
               "file size:    %llu\n"
               "tail:         %llu\n"
               "entries:      %llu\n"
               "live keys:    %llu\n"
               "live bytes:   %llu\n"
               "dead bytes:   %llu\n"
               "torn bytes:   %llu\n"
               "index bytes:  %llu\n",
               cx->path, (unsigned long long)in.file_size,
               (unsigned long long)in.tail, (unsigned long long)in.entries,
               (unsigned long long)in.live_keys,
               (unsigned long long)in.live_bytes,
               (unsigned long long)in.dead_bytes, (unsigned long long)torn,
               (unsigned long long)in.index_bytes);
        return CTL_EXIT_OK;
    }
    json_object *o = json_object_new_object();
    json_object *p = o ? json_object_new_string(cx->path) : NULL;
    bool ok = p && json_object_object_add(o, "path", p) == 0;
    if (!ok)
        json_object_put(p);
    ok = ok && ctl_json_u64(o, "file_size", in.file_size) &&
         ctl_json_u64(o, "tail", in.tail) &&
         ctl_json_u64(o, "entries", in.entries) &&
         ctl_json_u64(o, "live_keys", in.live_keys) &&
         ctl_json_u64(o, "live_bytes", in.live_bytes) &&
         ctl_json_u64(o, "dead_bytes", in.dead_bytes) &&
         ctl_json_u64(o, "torn_bytes", torn) &&
         ctl_json_u64(o, "index_bytes", in.index_bytes);
    const char *s = ok ? json_object_to_json_string_ext(
                             o, JSON_C_TO_STRING_PLAIN |
                                    JSON_C_TO_STRING_NOSLASHESCAPE)
                       : NULL;
    if (!s) {
        json_object_put(o);
        ctl_err("info: cannot build JSON: %s", srd_strerror(SRD_ENOMEM));
        return CTL_EXIT_STORE;
    }
    printf("%s\n", s);
    json_object_put(o);
    return CTL_EXIT_OK;
}

/* State of the verify progress display. */
typedef struct ctl_progress {
    bool tty;     /* stderr is a terminal: one line rewritten with \r */
    int last_pct; /* last percentage shown, -1 before the first */
} ctl_progress;

static void ctl_progress_show(ctl_progress *pg, uint64_t done, uint64_t total)
{
    int pct = total ? (int)((done * 100.0) / (double)total) : 100;
    if (pct > 100)
        pct = 100;
    /* A terminal gets every percent; a log file gets every 10 %. */
    if (pg->last_pct >= 0 && (pct == pg->last_pct ||
                              (!pg->tty && pct < 100 && pct / 10 ==
                                                            pg->last_pct / 10)))
        return;
    pg->last_pct = pct;
    fprintf(stderr, "%sverify: %3d%% (%llu of %llu bytes)%s", pg->tty ? "\r" : "",
            pct, (unsigned long long)done, (unsigned long long)total,
            pg->tty ? "" : "\n");
    fflush(stderr);
}

static int ctl_progress_cb(void *ctx, uint64_t done, uint64_t total)
{
    ctl_progress_show(ctx, done, total);
    return 0;
}

static int ctl_cmd_verify(ctl_ctx *cx)
{
    srd_store *st = ctl_store(cx);
    if (!st)
        return CTL_EXIT_STORE;
    srd_info in;
    srd_err e = srd_get_info(st, &in);
    if (e != SRD_OK) {
        ctl_err("verify: %s", srd_strerror(e));
        return CTL_EXIT_STORE;
    }
    ctl_progress pg = {isatty(STDERR_FILENO) == 1, -1};
    bool show = cx->progress || pg.tty;
    srd_verify_report r;
    memset(&r, 0, sizeof r);
    e = srd_verify(st, &r, show ? ctl_progress_cb : NULL, &pg);
    if (show) {
        if (e == SRD_OK || e == SRD_ECHECKSUM)
            ctl_progress_show(&pg, in.tail, in.tail);
        if (pg.tty && pg.last_pct >= 0)
            fputc('\n', stderr);
    }
    printf("store:        %s\n"
           "entries:      %llu\n"
           "bytes:        %llu\n"
           "bad entries:  %llu\n",
           cx->path, (unsigned long long)r.entries,
           (unsigned long long)r.bytes, (unsigned long long)r.bad_entries);
    if (in.file_size > in.tail)
        printf("torn bytes:   %llu (past the tail, not part of the store)\n",
               (unsigned long long)(in.file_size - in.tail));
    if (e == SRD_OK) {
        printf("result:       OK\n");
        return CTL_EXIT_OK;
    }
    if (e == SRD_ECHECKSUM) {
        printf("result:       BAD (first bad entry at payload offset %llu)\n",
               (unsigned long long)r.first_bad_offset);
        ctl_err("verify: %s: %llu bad entr%s, the first at payload offset %llu",
                srd_strerror(e), (unsigned long long)r.bad_entries,
                r.bad_entries == 1 ? "y" : "ies",
                (unsigned long long)r.first_bad_offset);
        return CTL_EXIT_STORE;
    }
    printf("result:       FAILED (%s)\n", srd_strerror(e));
    ctl_err("verify: %s", srd_strerror(e));
    return CTL_EXIT_STORE;
}

static int ctl_cmd_compact(ctl_ctx *cx)
{
    srd_store *st = ctl_store(cx);
    if (!st)
        return CTL_EXIT_STORE;
    srd_info before, after;
    srd_err e = srd_get_info(st, &before);
    uint64_t reclaimed = 0;
    if (e == SRD_OK)
        e = srd_compact(st, &reclaimed);
    if (e == SRD_OK)
        e = srd_get_info(st, &after);
    if (e != SRD_OK) {
        ctl_err("compact: %s", srd_strerror(e));
        return CTL_EXIT_STORE;
    }
    printf("Compacted '%s': reclaimed %llu bytes (%llu -> %llu bytes)\n",
           cx->path, (unsigned long long)reclaimed,
           (unsigned long long)before.file_size,
           (unsigned long long)after.file_size);
    return CTL_EXIT_OK;
}

/* ======================================================================== */
/* Option parsing and dispatch                                               */
/* ======================================================================== */

/* The text of the option getopt just refused: "-x" for a short option
 * (which may sit inside a cluster such as "-jx"), else the argument. */
static const char *ctl_bad_opt(char **argv, int ind)
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

/* Parse the command's options (argv[0] is the command name) into cx.
 * Returns -1 to go on, or an exit status (help shown, usage error). */
static int ctl_parse_cmd(ctl_ctx *cx, int argc, char **argv)
{
    const ctl_cmd *c = cx->cmd;
    struct option lo[8];
    char so[16] = ":h";
    int n = 0;
    lo[n++] = (struct option){"help", no_argument, NULL, 'h'};
    if (!(c->flags & CTL_NOSTORE)) {
        lo[n++] = (struct option){"store", required_argument, NULL, 's'};
        strcat(so, "s:");
    }
    if (c->opts & CTL_OPT_FILE) {
        lo[n++] = (struct option){"file", required_argument, NULL, 'f'};
        strcat(so, "f:");
    }
    if (c->opts & CTL_OPT_JSON)
        lo[n++] = (struct option){"json", no_argument, NULL, CTL_O_JSON};
    if (c->opts & CTL_OPT_PROGRESS)
        lo[n++] = (struct option){"progress", no_argument, NULL,
                                  CTL_O_PROGRESS};
    lo[n] = (struct option){NULL, 0, NULL, 0};

    optind = 0; /* full re-initialisation of glibc's getopt */
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, so, lo, NULL)) != -1) {
        switch (o) {
        case 'h':
            ctl_print_cmd_help(stdout, c);
            return CTL_EXIT_OK;
        case 's':
            cx->path = optarg;
            break;
        case 'f':
            cx->file = optarg;
            break;
        case CTL_O_JSON:
            cx->json = true;
            break;
        case CTL_O_PROGRESS:
            cx->progress = true;
            break;
        case ':':
            return ctl_usage_err("%s: option '%s' needs an argument", c->name,
                                 argv[optind - 1]);
        default:
            return ctl_usage_err("%s: unknown option '%s'", c->name,
                                 ctl_bad_opt(argv, optind));
        }
    }
    cx->argc = argc - optind;
    cx->argv = argv + optind;
    if (cx->argc < c->min_args || cx->argc > c->max_args)
        return ctl_usage_err("%s: expected %s%s, got %d argument%s", c->name,
                             *c->args ? "arguments " : "no arguments",
                             c->args, cx->argc, cx->argc == 1 ? "" : "s");
    return -1;
}

/* Write out stdout and report a failure to do so (full disk, closed pipe). */
static int ctl_finish_stdout(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int er = errno ? errno : EIO;
        ctl_err("cannot write to stdout: %s",
                srd_strerror((srd_err)(SRD_ESYSERR | er)));
        return rc == CTL_EXIT_OK ? CTL_EXIT_STORE : rc;
    }
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option glo[] = {
        {"store", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    ctl_ctx cx;
    memset(&cx, 0, sizeof cx);
    opterr = 0;
    int o;
    /* "+": stop at the command name; its options are parsed per command. */
    while ((o = getopt_long(argc, argv, "+:s:hV", glo, NULL)) != -1) {
        switch (o) {
        case 's':
            cx.path = optarg;
            break;
        case 'h':
            ctl_print_global_help(stdout);
            return ctl_finish_stdout(CTL_EXIT_OK);
        case 'V':
            printf("srdctl (srd) %s\n", SRDCTL_VERSION);
            return ctl_finish_stdout(CTL_EXIT_OK);
        case ':':
            return ctl_usage_err("option '%s' needs an argument",
                                 argv[optind - 1]);
        default:
            return ctl_usage_err("unknown option '%s'", ctl_bad_opt(argv, optind));
        }
    }
    if (optind >= argc)
        return ctl_usage_err("no command given");
    cx.cmd = ctl_find_cmd(argv[optind]);
    if (!cx.cmd)
        return ctl_usage_err("unknown command '%s'", argv[optind]);

    int rc = ctl_parse_cmd(&cx, argc - optind, argv + optind);
    if (rc >= 0)
        return ctl_finish_stdout(rc);
    if (!(cx.cmd->flags & CTL_NOSTORE)) {
        if (!cx.path) {
            const char *env = getenv("SRD_STORE");
            if (env && *env)
                cx.path = env;
        }
        if (!cx.path)
            return ctl_usage_err("%s: no store given (use --store PATH or set "
                                 "SRD_STORE)",
                                 cx.cmd->name);
        if (!*cx.path)
            return ctl_usage_err("%s: the store path is empty", cx.cmd->name);
    }

    rc = cx.cmd->run(&cx);
    rc = ctl_finish_stdout(rc);
    if (cx.st) {
        srd_err e = srd_close(cx.st);
        if (e != SRD_OK) {
            ctl_err("cannot close store '%s': %s", cx.path, srd_strerror(e));
            if (rc == CTL_EXIT_OK)
                rc = CTL_EXIT_STORE;
        }
    }
    return rc;
}
