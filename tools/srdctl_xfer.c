/* SPDX-License-Identifier: MIT */
/*
 * srdctl_xfer.c -- copy, move and rename (see srdctl_xfer.h). The value is
 * written from the source's zero-copy view: bytes, key hash and checksum
 * are the same in the copy. A move writes the copy before the delete, so a
 * crash in between leaves the value twice, never nowhere (the API has no
 * batch mixing puts and deletes to make it one atomic write).
 */
#define _GNU_SOURCE 1

#include "srdctl_xfer.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* What a transfer does, for its messages. */
typedef struct xfer_op {
    const char *done; /* "Copied", "Moved", "Renamed" */
    bool remove;      /* delete the source key afterwards */
} xfer_op;

static const xfer_op xfer_copy_op = {"Copied", false};
static const xfer_op xfer_move_op = {"Moved", true};
static const xfer_op xfer_rename_op = {"Renamed", true};

/* Look key up in st; -1 with *v set, or the exit status after a message. */
static int xfer_get(const ctl_ctx *cx, srd_store *st, srd_val key, srd_view *v)
{
    char kr[CLI_KEY_REPR];
    srd_err e = srd_get(st, key, v);
    if (e == SRD_ENOTFOUND) {
        cli_err("%s: key '%s' not found", cx->name, cli_key_repr(key, kr));
        return CTL_EXIT_FALSE;
    }
    if (e != SRD_OK)
        return cli_fail(e, "%s: cannot read key '%s'", cx->name,
                        cli_key_repr(key, kr));
    return -1;
}

/* Write v under key into dst, then delete key from src if op says so. */
static int xfer_write(const ctl_ctx *cx, const xfer_op *op, srd_store *dst,
                      srd_val newkey, const srd_view *v, srd_store *src,
                      srd_val key)
{
    char kr[CLI_KEY_REPR];
    srd_val val = {v->data, v->len};
    srd_err e = srd_put(dst, newkey, val);
    if (e != SRD_OK)
        return cli_fail(e, "%s: cannot store key '%s'", cx->name,
                        cli_key_repr(newkey, kr));
    if (op->remove && (e = srd_delete(src, key, NULL)) != SRD_OK)
        return cli_fail(e, "%s: copied, but cannot delete key '%s'", cx->name,
                        cli_key_repr(key, kr));
    return CTL_EXIT_OK;
}

/* ======================================================================== */
/* Within one store                                                          */
/* ======================================================================== */

static int xfer_within(ctl_ctx *cx, const xfer_op *op, srd_val key,
                       srd_val newkey)
{
    char kr[CLI_KEY_REPR], nr[CLI_KEY_REPR];
    /* Two keys with one hash are one key to the store: moving one onto
     * the other would put and then delete the same entry. */
    if (srd_key_hash(key.ptr, key.len) == srd_key_hash(newkey.ptr, newkey.len))
        return cli_usage("%s: '%s' and '%s' are the same key%s", cx->name,
                         cli_key_repr(key, kr), cli_key_repr(newkey, nr),
                         key.len == newkey.len &&
                                 memcmp(key.ptr, newkey.ptr, key.len) == 0
                             ? ""
                             : " (equal key hashes)");
    srd_store *st = cli_store_mode(cx, CLI_OPEN_WRITE);
    if (!st)
        return cx->fail;
    srd_view v;
    int rc = xfer_get(cx, st, key, &v);
    if (rc >= 0)
        return rc;
    rc = xfer_write(cx, op, st, newkey, &v, st, key);
    srd_view_release(&v);
    if (rc == CTL_EXIT_OK)
        printf("%s key '%s' to '%s'\n", op->done, cli_key_repr(key, kr),
               cli_key_repr(newkey, nr));
    return rc;
}

/* ======================================================================== */
/* To another store                                                          */
/* ======================================================================== */

/* Whether a and b name the same existing file. */
static bool xfer_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int xfer_across(ctl_ctx *cx, const xfer_op *op, srd_val key,
                       srd_val newkey, const char *to)
{
    char kr[CLI_KEY_REPR], nr[CLI_KEY_REPR];
    if (xfer_same_file(cx->path, to))
        return cli_usage("%s: '%s' is the source store itself (cannot copy "
                         "an entry to the same store; give NEWKEY instead)",
                         cx->name, to);
    srd_store *src = cli_store_mode(cx, op->remove ? CLI_OPEN_WRITE : 0);
    if (!src)
        return cx->fail;
    srd_view v;
    int rc = xfer_get(cx, src, key, &v); /* before the target is created */
    if (rc >= 0)
        return rc;
    srd_store *dst = NULL;
    rc = cli_open(to, CLI_OPEN_WRITE | CLI_OPEN_CREATE, &dst);
    if (rc == CTL_EXIT_OK)
        rc = xfer_write(cx, op, dst, newkey, &v, src, key);
    srd_view_release(&v);
    srd_err e = srd_close(dst);
    if (e != SRD_OK && rc == CTL_EXIT_OK)
        rc = cli_fail(e, "%s: cannot close store '%s'", cx->name, to);
    if (rc != CTL_EXIT_OK)
        return rc;
    printf("%s key '%s' to store '%s'", op->done, cli_key_repr(key, kr), to);
    if (newkey.len != key.len || memcmp(newkey.ptr, key.ptr, key.len) != 0)
        printf(" as '%s'", cli_key_repr(newkey, nr));
    putchar('\n');
    return rc;
}

/* ======================================================================== */
/* Commands                                                                  */
/* ======================================================================== */

/* copy and move: KEY NEWKEY, KEY [NEWKEY] --to STORE, or in the reference
 * syntax (srdctl STORE copy KEY TARGET) KEY TARGET. */
static int xfer_run(ctl_ctx *cx, const xfer_op *op)
{
    srd_val key = cli_val(cx->argv[0]);
    const char *to = cx->to;
    const char *newkey = cx->argc == 2 ? cx->argv[1] : NULL;
    if (cx->compat && !to && newkey) {
        to = newkey;
        newkey = NULL;
    }
    if (to && !*to)
        return cli_usage("%s: the target store path is empty", cx->name);
    if (!to && !newkey)
        return cli_usage("%s: give NEWKEY, or --to STORE", cx->name);
    srd_val nk = newkey ? cli_val(newkey) : key;
    return to ? xfer_across(cx, op, key, nk, to) : xfer_within(cx, op, key, nk);
}

int xfer_copy(ctl_ctx *cx)
{
    return xfer_run(cx, &xfer_copy_op);
}

int xfer_move(ctl_ctx *cx)
{
    return xfer_run(cx, &xfer_move_op);
}

int xfer_rename(ctl_ctx *cx)
{
    return xfer_within(cx, &xfer_rename_op, cli_val(cx->argv[0]),
                       cli_val(cx->argv[1]));
}
