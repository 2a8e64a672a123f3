/* SPDX-License-Identifier: MIT */
/*
 * srdctl_cli.h -- what every srdctl command shares: the run context, exit
 * statuses, messages (errors on stderr, always prefixed "srdctl: "), opening
 * a store (read-only unless the command writes; a writer-held store is
 * refused for writing with a clear message) and small I/O helpers.
 */
#ifndef SRDCTL_CLI_H
#define SRDCTL_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srd/srd.h"

/* Exit statuses (documented in docs/srdctl.md, EXIT STATUS). */
enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_FALSE = 1,       /* key not found, or a "no" answer */
    CTL_EXIT_USAGE = 2,       /* bad command line or a value srd cannot hold */
    CTL_EXIT_STORE = 3,       /* corrupt, I/O, locked, bad checksum... */
    CTL_EXIT_UNREACHABLE = 4, /* srdd serves the store but cannot be reached */
};

/* Size of one chunk moved between a file and the store (DESIGN.md
 * section 6: large values move in chunks of about 1 MiB). */
#define CTL_CHUNK ((size_t)1 << 20)

typedef struct ctl_cmd ctl_cmd;

/* Everything a command handler needs; filled by main and cmds_parse. */
typedef struct ctl_ctx {
    const ctl_cmd *cmd;
    const char *name;  /* what the user typed: a command or an alias */
    const char *path;  /* store path (--store, positional, $SRD_STORE) */
    bool compat;       /* reference syntax: "srdctl STORE COMMAND ..." */
    unsigned mode;     /* cli_open() mode the command needs by default */
    srd_store *st;     /* opened by cli_store(), closed by main */
    int fail;          /* exit status of a failed cli_store() */
    int argc;          /* positional arguments after the command */
    char **argv;
    /* Command options (see cmds_opts[] in srdctl_cmds.c). */
    const char *file;  /* --file */
    const char *to;    /* --to */
    const char *keys;  /* --keys */
    bool json;         /* --json */
    bool progress;     /* --progress */
    bool force;        /* --force */
    bool skip_unkeyed; /* --skip-unkeyed */
    bool layout_set;   /* --layout given */
    srd_layout layout; /* --layout: of a store the command creates */
    bool watch;        /* --watch */
    double interval;   /* --watch SECONDS (default 2) */
    long count;        /* --count N (0: unlimited) */
    size_t bufsize;    /* --buffer-size (0: not given) */
} ctl_ctx;

/* ---- Messages ---------------------------------------------------------- */

/* "srdctl: <message>\n" on stderr (stdout is flushed first). */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A usage error: "srdctl: <message>: <srd_strerror(e)>" and a hint on
 * stderr; returns CTL_EXIT_USAGE. cli_usage() uses SRD_EINVAL. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_usage_e(srd_err e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* (SRD_ESYSERR | errnum) as an srd_err, for srdctl's own files (a key
 * list, an import or export file, stdout): their messages name the OS
 * error itself ("No such file or directory"), where the library's
 * translation would say "store file does not exist". The exit status is
 * the same either way (CTL_EXIT_STORE). Store errors come from the
 * library, translated there. */
srd_err cli_sys(int errnum);

/* The exit status for an srd error returned by a data operation. */
int cli_exit_for(srd_err e);

/* Report "<what>: <srd_strerror(e)>" and return cli_exit_for(e). */
int cli_fail(srd_err e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * A printable rendering of key bytes for messages: printable ASCII as is,
 * everything else (and backslash, quote) as \xHH; cut after CLI_KEY_SHOWN
 * bytes with "...". buf must hold CLI_KEY_REPR bytes.
 */
#define CLI_KEY_SHOWN 96
#define CLI_KEY_REPR (CLI_KEY_SHOWN * 4 + 4)
const char *cli_key_repr(srd_val key, char buf[CLI_KEY_REPR]);

/* ---- Stores ------------------------------------------------------------ */

/* cli_open() modes */
#define CLI_OPEN_WRITE 0x1u  /* as the writer (takes the lock) */
#define CLI_OPEN_CREATE 0x2u /* create a missing file (writers only) */
#define CLI_OPEN_BULK 0x4u   /* embedded writer without a sync per write
                                (SRD_SYNC_NEVER): the caller srd_syncs */

/* Open the store at path. On failure prints why, naming path, and returns
 * the exit status; CTL_EXIT_OK with *out set on success. */
int cli_open(const char *path, unsigned mode, srd_store **out);
/* The same, creating a new store in layout. */
int cli_open_layout(const char *path, unsigned mode, srd_layout layout,
                    srd_store **out);

/* The store of cx, opened on first use with the mode of cx->cmd (read-only
 * unless the command writes). NULL after an error: return cx->fail. */
srd_store *cli_store(ctl_ctx *cx);

/* The same with an explicit mode, for commands whose mode depends on their
 * arguments (copy within a store writes, copy --to does not). */
srd_store *cli_store_mode(ctl_ctx *cx, unsigned mode);

/* ---- Daemon (srdd) ------------------------------------------------------ */

/* Find the srdd serving path (srd_daemon_open): 1 connected (*d set, close
 * it with srd_daemon_close); 0 none serves it (no "<path>.srdd", or one
 * left by a dead daemon: the writer lock is free); -1 a daemon holds the
 * store but does not answer, or it could not be asked (reported; return
 * CTL_EXIT_UNREACHABLE). */
int cli_daemon_find(const char *path, srd_daemon **d);

/* ---- I/O --------------------------------------------------------------- */

/* write(2) all of p, retrying short writes and EINTR; 0 or an errno. */
int cli_write_all(int fd, const void *p, size_t n);

/* Read until cap bytes or end of input; *got set. 0 or an errno. */
int cli_read_full(int fd, void *buf, size_t cap, size_t *got);

/* Whether stdin counts as a terminal (FORCE_NO_TTY=1 says it does not). */
bool cli_stdin_is_tty(void);

/* srd_val over a C string. */
srd_val cli_val(const char *s);

/* Parse a non-negative decimal count ("12"); false if s is not one. */
bool cli_parse_u64(const char *s, uint64_t *out);

#endif
