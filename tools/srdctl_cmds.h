/* SPDX-License-Identifier: MIT */
/*
 * srdctl_cmds.h -- the command table of srdctl: one row per command (name,
 * handler, synopsis, help, store mode, options, argument count), the
 * simd-r-drive CLI's names as aliases, help output and per-command option
 * parsing (getopt_long). A new command is one handler plus one row.
 */
#ifndef SRDCTL_CMDS_H
#define SRDCTL_CMDS_H

#include <stdio.h>

#include "srdctl_cli.h"

/* ctl_cmd.opts: options a command accepts besides --help and --store. */
#define CMDS_OPT_FILE 0x001u
#define CMDS_OPT_JSON 0x002u
#define CMDS_OPT_PROGRESS 0x004u
#define CMDS_OPT_WATCH 0x008u
#define CMDS_OPT_COUNT 0x010u
#define CMDS_OPT_BUFSIZE 0x020u
#define CMDS_OPT_TO 0x040u
#define CMDS_OPT_KEYS 0x080u
#define CMDS_OPT_FORCE 0x100u
#define CMDS_OPT_SKIP 0x200u
#define CMDS_OPT_DETAILED 0x400u
#define CMDS_OPT_LAYOUT 0x800u

/* ctl_cmd.flags */
#define CMDS_NOSTORE 0x1u /* needs no store at all (help) */
#define CMDS_STORE_ARG 0x2u /* with max_args arguments and no --store, the
                               first one is the store (backup STORE DEST) */

struct ctl_cmd {
    const char *name;
    int (*run)(ctl_ctx *cx); /* returns the exit status */
    const char *args;        /* positional synopsis, e.g. "KEY [VALUE]" */
    const char *summary;     /* one line for the global help */
    const char *help;        /* paragraph for "srdctl help CMD" */
    unsigned mode;           /* CLI_OPEN_* the store is opened with */
    unsigned flags;          /* CMDS_* */
    unsigned opts;           /* CMDS_OPT_* accepted */
    int min_args, max_args;  /* positional argument count */
};

/* The command called name, or the command an alias of the simd-r-drive
 * CLI stands for ("read" -> get). NULL if there is none. */
const ctl_cmd *cmds_find(const char *name);

/* The global help (command list, options, exit statuses). */
void cmds_print_global_help(FILE *f);

/* The help of one command, as invoked by the name the user typed. */
void cmds_print_help(FILE *f, const ctl_cmd *c, const char *name);

/* Parse the options and arguments of cx->cmd (argv[0] is the command name)
 * into cx. Returns -1 to go on, or an exit status (help shown, usage
 * error). */
int cmds_parse(ctl_ctx *cx, int argc, char **argv);

/* The "help [COMMAND]" command. */
int cmds_help(ctl_ctx *cx);

#endif
