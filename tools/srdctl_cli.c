/* SPDX-License-Identifier: MIT */
/*
 * srdctl_cli.c -- messages, exit statuses, store opening, finding srdd
 * (srd_daemon_open of srd.h) and I/O helpers shared by
 * every srdctl command (see srdctl_cli.h). Errors go to stderr, each
 * naming what failed; stdout carries only results.
 */
#define _GNU_SOURCE 1

#include "srdctl_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>


/* ======================================================================== */
/* Messages                                                                  */
/* ======================================================================== */

static void cli_verr(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));
static void cli_verr(const char *fmt, va_list ap)
{
    fflush(stdout);
    fputs("srdctl: ", stderr);
    vfprintf(stderr, fmt, ap);
}

void cli_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_verr(fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int cli_usage_v(srd_err e, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static int cli_usage_v(srd_err e, const char *fmt, va_list ap)
{
    cli_verr(fmt, ap);
    fprintf(stderr, ": %s\nTry 'srdctl --help'.\n", srd_strerror(e));
    return CTL_EXIT_USAGE;
}

int cli_usage_e(srd_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = cli_usage_v(e, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = cli_usage_v(SRD_EINVAL, fmt, ap);
    va_end(ap);
    return rc;
}

srd_err cli_sys(int errnum)
{
    return (srd_err)(SRD_ESYSERR | errnum);
}

int cli_exit_for(srd_err e)
{
    switch (e) {
    case SRD_OK:
        return CTL_EXIT_OK;
    case SRD_ENOTFOUND:
        return CTL_EXIT_FALSE;
    case SRD_EINVAL:
        return CTL_EXIT_USAGE;
    case SRD_EUNREACHABLE:
        return CTL_EXIT_UNREACHABLE;
    default:
        return CTL_EXIT_STORE;
    }
}

int cli_fail(srd_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_verr(fmt, ap);
    va_end(ap);
    fprintf(stderr, ": %s\n", srd_strerror(e));
    return cli_exit_for(e);
}

const char *cli_key_repr(srd_val key, char buf[CLI_KEY_REPR])
{
    const unsigned char *p = key.ptr;
    size_t o = 0;
    for (size_t i = 0; i < key.len && i < CLI_KEY_SHOWN; i++) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, 5, "\\x%02x", c);
    }
    if (key.len > CLI_KEY_SHOWN) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* ======================================================================== */
/* Stores                                                                    */
/* ======================================================================== */

/* Refuse directories, FIFOs and devices before open(2) can block on or
 * misread them. A missing file is left to srd_open (SRD_ENOENT). */
static bool cli_regular_or_missing(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || S_ISREG(sb.st_mode))
        return true;
    if (S_ISDIR(sb.st_mode))
        cli_err("cannot open store '%s': %s", path,
                srd_strerror(cli_sys(EISDIR)));
    else
        cli_err("cannot open store '%s': not a regular file: %s", path,
                srd_strerror(SRD_EINVAL));
    return false;
}

int cli_open(const char *path, unsigned mode, srd_store **out)
{
    return cli_open_layout(path, mode, SRD_LAYOUT_ALIGNED64, out);
}

int cli_open_layout(const char *path, unsigned mode, srd_layout layout,
                    srd_store **out)
{
    *out = NULL;
    if (!cli_regular_or_missing(path))
        return CTL_EXIT_STORE;
    /* Daemon mode goes here: once libsrdclient's client mode lands,
     * srd_open on a path srdd serves connects to it and SRD_EUNREACHABLE
     * (exit 4) means the daemon is registered but does not answer. */
    srd_options o;
    srd_options_init(&o);
    o.flags = 0;
    if (!(mode & CLI_OPEN_WRITE))
        o.flags |= SRD_OPEN_READONLY;
    else if (mode & CLI_OPEN_CREATE)
        o.flags |= SRD_OPEN_CREATE;
    o.layout = layout;
    if (mode & CLI_OPEN_BULK)
        o.sync = SRD_SYNC_NEVER;
    srd_err e = srd_open(path, &o, out);
    if (e == SRD_OK)
        return CTL_EXIT_OK;
    *out = NULL;
    if (e == SRD_EBUSY) {
        cli_err("cannot open store '%s' for writing: %s (srdd?); read "
                "commands still work",
                path, srd_strerror(e));
        if (*srd_open_why())
            cli_err("%s", srd_open_why());
        return CTL_EXIT_STORE;
    }
    cli_err("cannot open store '%s': %s", path, srd_strerror(e));
    return e == SRD_EUNREACHABLE ? CTL_EXIT_UNREACHABLE : CTL_EXIT_STORE;
}

/* --layout names the layout of a store the command creates: a store
 * that holds entries in another one is refused (srdctl upgrade converts). */
static int cli_check_layout(const ctl_ctx *cx)
{
    srd_info in;
    if (!cx->layout_set || srd_get_info(cx->st, &in) != SRD_OK ||
        in.tail == 0 || in.layout == cx->layout)
        return CTL_EXIT_OK;
    return cli_usage("%s: '%s' is a store in the %s layout; --layout applies "
                     "to a new store only (srdctl upgrade converts)",
                     cx->name, cx->path,
                     in.layout == SRD_LAYOUT_UNPADDED ? "unpadded"
                                                      : "aligned64");
}

srd_store *cli_store_mode(ctl_ctx *cx, unsigned mode)
{
    if (!cx->st) {
        cx->fail = cli_open_layout(cx->path, mode, cx->layout, &cx->st);
        if (cx->st && (cx->fail = cli_check_layout(cx)) != CTL_EXIT_OK) {
            srd_close(cx->st);
            cx->st = NULL;
        }
    }
    return cx->st;
}

srd_store *cli_store(ctl_ctx *cx)
{
    return cli_store_mode(cx, cx->mode);
}

/* ======================================================================== */
/* I/O                                                                       */
/* ======================================================================== */

int cli_write_all(int fd, const void *p, size_t n)
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

int cli_read_full(int fd, void *buf, size_t cap, size_t *got)
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

bool cli_stdin_is_tty(void)
{
    const char *f = getenv("FORCE_NO_TTY");
    if (f && *f && strcmp(f, "0") != 0)
        return false;
    return isatty(STDIN_FILENO) == 1;
}

srd_val cli_val(const char *s)
{
    srd_val v = {s, strlen(s)};
    return v;
}

bool cli_parse_u64(const char *s, uint64_t *out)
{
    if (!*s || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end)
        return false;
    *out = v;
    return true;
}

/* ======================================================================== */
/* Daemon                                                                    */
/* ======================================================================== */

int cli_daemon_find(const char *path, srd_daemon **d)
{
    srd_err e = srd_daemon_open(path, d);
    if (e == SRD_OK)
        return 1;
    /* SRD_ENOTFOUND, or a discovery file we cannot read: as if none */
    if (e != SRD_EUNREACHABLE && e != SRD_ETIMEDOUT && e != SRD_EPROTO)
        return 0;
    cli_err("store '%s' is held by srdd (see %s.srdd) but it does not "
            "answer: %s", path, path, srd_strerror(e));
    return -1;
}
