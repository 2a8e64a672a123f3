/* SPDX-License-Identifier: MIT */
/*
 * srdctl.c -- entry point of srdctl, the srd administration tool: global
 * options, the two command-line forms ("srdctl [--store PATH] COMMAND ..."
 * and the simd-r-drive CLI's "srdctl STORE COMMAND ..."), dispatch through
 * the command table (srdctl_cmds.c) and the final flush and close, whose
 * failures also count. Exit statuses are listed in srdctl_cli.h.
 */
#define _GNU_SOURCE 1

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srdctl_cli.h"
#include "srdctl_cmds.h"

/* The project version; tools/CMakeLists.txt passes it. Other builds of
 * these sources (the fuzz target) may not. */
#ifndef SRDCTL_VERSION
#define SRDCTL_VERSION "unknown"
#endif

/* Write out stdout and report a failure to do so (full disk, closed pipe). */
static int ctl_finish_stdout(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int er = errno ? errno : EIO;
        cli_err("cannot write to stdout: %s", srd_strerror(cli_sys(er)));
        return rc == CTL_EXIT_OK ? CTL_EXIT_STORE : rc;
    }
    return rc;
}

/*
 * Find the command at argv[*ind]. The reference syntax puts the store
 * first ("srdctl data.bin read key"): a first word that is no command,
 * followed by one that is, is the store path. A store file named like a
 * command needs --store (or "./get"). Returns -1 to go on, or an exit
 * status.
 */
static int ctl_find_command(ctl_ctx *cx, int argc, char **argv, int *ind)
{
    if (*ind >= argc)
        return cli_usage("no command given");
    cx->cmd = cmds_find(argv[*ind]);
    if (!cx->cmd && *ind + 1 < argc && cmds_find(argv[*ind + 1])) {
        if (cx->path)
            return cli_usage("the store is given twice ('%s' and '%s')",
                             cx->path, argv[*ind]);
        cx->path = argv[(*ind)++];
        cx->compat = true;
        cx->cmd = cmds_find(argv[*ind]);
    }
    if (!cx->cmd)
        return cli_usage("unknown command '%s'", argv[*ind]);
    cx->name = argv[*ind];
    cx->mode = cx->cmd->mode;
    return -1;
}

/* The store path from $SRD_STORE when none was given; -1 or a usage
 * error's exit status. */
static int ctl_resolve_store(ctl_ctx *cx)
{
    if (cx->cmd->flags & CMDS_NOSTORE)
        return -1;
    if ((cx->cmd->flags & CMDS_STORE_ARG) && cx->argc == cx->cmd->max_args) {
        if (cx->path)
            return cli_usage("%s: the store is given twice ('%s' and '%s')",
                             cx->name, cx->path, cx->argv[0]);
        cx->path = cx->argv[0];
        cx->argv++;
        cx->argc--;
    }
    if (!cx->path) {
        const char *env = getenv("SRD_STORE");
        if (env && *env)
            cx->path = env;
    }
    if (!cx->path)
        return cli_usage("%s: no store given (use --store PATH or set "
                         "SRD_STORE)",
                         cx->name);
    if (!*cx->path)
        return cli_usage("%s: the store path is empty", cx->name);
    return -1;
}

/* Global options before the command; -1 to go on, or an exit status. */
static int ctl_global_opts(ctl_ctx *cx, int argc, char **argv)
{
    static const struct option glo[] = {
        {"store", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int o;
    /* "+": stop at the first word; commands parse their own options. */
    while ((o = getopt_long(argc, argv, "+:s:hV", glo, NULL)) != -1) {
        switch (o) {
        case 's':
            cx->path = optarg;
            break;
        case 'h':
            cmds_print_global_help(stdout);
            return CTL_EXIT_OK;
        case 'V':
            printf("srdctl (srd) %s\n", SRDCTL_VERSION);
            return CTL_EXIT_OK;
        case ':':
            return cli_usage("option '%s' needs an argument", argv[optind - 1]);
        default:
            if (strncmp(argv[optind - 1], "--", 2) == 0 || optopt == 0)
                return cli_usage("unknown option '%s'", argv[optind - 1]);
            return cli_usage("unknown option '-%c'", optopt);
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    ctl_ctx cx;
    memset(&cx, 0, sizeof cx);
    int rc = ctl_global_opts(&cx, argc, argv);
    int ind = optind;
    if (rc < 0)
        rc = ctl_find_command(&cx, argc, argv, &ind);
    if (rc < 0)
        rc = cmds_parse(&cx, argc - ind, argv + ind);
    if (rc < 0)
        rc = ctl_resolve_store(&cx);
    if (rc < 0)
        rc = cx.cmd->run(&cx);
    rc = ctl_finish_stdout(rc);
    srd_err e = srd_close(cx.st);
    if (e != SRD_OK) {
        cli_err("cannot close store '%s': %s", cx.path, srd_strerror(e));
        if (rc == CTL_EXIT_OK)
            rc = CTL_EXIT_STORE;
    }
    return rc;
}
