/* SPDX-License-Identifier: MIT */
/*
 * srdctl_keys.c -- put, get, del, exists, meta and ls (see srdctl_keys.h).
 * Input values are streamed into the store in 1 MiB chunks; values that the
 * format cannot hold (empty, the single byte 0x00) are refused before the
 * store is opened, so a refused put never creates or locks anything.
 */
#define _GNU_SOURCE 1

#include "srdctl_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srdctl_keylist.h"
#include "srdctl_out.h"

/* ======================================================================== */
/* put                                                                       */
/* ======================================================================== */

static int keys_refuse_nul(srd_val key)
{
    char kr[CLI_KEY_REPR];
    return cli_usage("put: cannot store key '%s': the value is the single "
                     "byte 0x00, which the format cannot hold",
                     cli_key_repr(key, kr));
}

/* Stream the rest of fd into s, starting with the got bytes in buf.
 * Returns the exit status; s is committed on success, else left for the
 * caller to abort (*s set to NULL once commit consumed it). */
static int keys_stream_rest(srd_stream **s, srd_val key, int fd,
                            const char *what, uint8_t *buf, size_t got)
{
    char kr[CLI_KEY_REPR];
    uint64_t total = 0;
    while (got > 0) {
        srd_err e = srd_stream_write(*s, buf, got);
        if (e != SRD_OK)
            return cli_fail(e, "put: cannot store key '%s' (after %llu bytes)",
                            cli_key_repr(key, kr), (unsigned long long)total);
        total += got;
        int er = cli_read_full(fd, buf, CTL_CHUNK, &got);
        if (er != 0) {
            cli_err("put: cannot read %s (after %llu bytes): %s; nothing was "
                    "stored",
                    what, (unsigned long long)total,
                    srd_strerror(cli_sys(er)));
            return CTL_EXIT_STORE;
        }
    }
    srd_err e = srd_stream_commit(*s);
    *s = NULL; /* commit frees the stream, also on failure */
    if (e == SRD_EINVAL)
        return keys_refuse_nul(key);
    if (e != SRD_OK)
        return cli_fail(e, "put: cannot store key '%s'", cli_key_repr(key, kr));
    return CTL_EXIT_OK;
}

/* put with the value read from fd (a file or stdin), streamed. */
static int keys_put_fd(ctl_ctx *cx, srd_val key, int fd, const char *what)
{
    char kr[CLI_KEY_REPR];
    uint8_t *buf = malloc(CTL_CHUNK);
    if (!buf)
        return cli_fail(SRD_ENOMEM, "put");
    int rc = CTL_EXIT_STORE;
    srd_stream *s = NULL;
    size_t got;
    /* Read the first chunk before opening the store: an empty input is a
     * usage error and must not create or lock anything. */
    int er = cli_read_full(fd, buf, CTL_CHUNK, &got);
    srd_store *st = NULL;
    if (er != 0)
        cli_err("put: cannot read %s: %s", what, srd_strerror(cli_sys(er)));
    else if (got == 0)
        rc = cli_usage("put: No value provided (%s is empty)", what);
    else if (got == 1 && buf[0] == 0) /* the input ended after one 0x00 */
        rc = keys_refuse_nul(key);
    else if (!(st = cli_store(cx)))
        rc = cx->fail;
    if (st) {
        srd_err e = srd_stream_begin(st, key, &s);
        if (e != SRD_OK) {
            s = NULL;
            rc = cli_fail(e, "put: cannot store key '%s'",
                          cli_key_repr(key, kr));
        } else {
            rc = keys_stream_rest(&s, key, fd, what, buf, got);
        }
    }
    if (s)
        srd_stream_abort(s);
    free(buf);
    return rc;
}

/* put --file FILE (not "-"). */
static int keys_put_file(ctl_ctx *cx, srd_val key)
{
    /* An input that cannot be opened is a bad argument (exit 2); a read
     * that fails later is an I/O error (exit 3). */
    int fd = open(cx->file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_usage_e(cli_sys(errno), "put: cannot open '%s'", cx->file);
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        close(fd);
        return cli_usage_e(cli_sys(EISDIR), "put: cannot read '%s'", cx->file);
    }
    size_t wl = strlen(cx->file) + 8;
    char *what = malloc(wl);
    int rc = CTL_EXIT_STORE;
    if (what) {
        snprintf(what, wl, "file '%s'", cx->file);
        rc = keys_put_fd(cx, key, fd, what);
    }
    free(what);
    close(fd);
    return rc;
}

int keys_put(ctl_ctx *cx)
{
    char kr[CLI_KEY_REPR];
    srd_val key = cli_val(cx->argv[0]);
    if (cx->argc == 2 && cx->file)
        return cli_usage("put: give either VALUE or --file, not both");
    if (cx->argc == 2) {
        srd_val val = cli_val(cx->argv[1]);
        if (val.len == 0)
            return cli_usage("put: the value for key '%s' is empty (the "
                             "format cannot store an empty value)",
                             cli_key_repr(key, kr));
        srd_store *st = cli_store(cx);
        if (!st)
            return cx->fail;
        srd_err e = srd_put(st, key, val);
        if (e != SRD_OK)
            return cli_fail(e, "put: cannot store key '%s'",
                            cli_key_repr(key, kr));
        return CTL_EXIT_OK;
    }
    if (cx->file && strcmp(cx->file, "-") != 0)
        return keys_put_file(cx, key);
    if (!cx->file && cli_stdin_is_tty())
        return cli_usage("put: No value provided (give VALUE, --file FILE "
                         "or pipe the value into stdin)");
    return keys_put_fd(cx, key, STDIN_FILENO, "stdin");
}

/* ======================================================================== */
/* get, del, exists                                                          */
/* ======================================================================== */

/* KEY (argv[0]) and the store of cx; NULL after an error (cx->fail). */
static srd_store *keys_store_key(ctl_ctx *cx, srd_val *key)
{
    *key = cli_val(cx->argv[0]);
    return cli_store(cx);
}

/* Report a failed lookup of key: "not found" (exit 1) or the error. */
static int keys_lookup_failed(const ctl_ctx *cx, srd_val key, srd_err e)
{
    char kr[CLI_KEY_REPR];
    if (e != SRD_ENOTFOUND)
        return cli_fail(e, "%s: cannot read key '%s'", cx->name,
                        cli_key_repr(key, kr));
    cli_err("key '%s' not found", cli_key_repr(key, kr));
    return CTL_EXIT_FALSE;
}

/* Write v to stdout in writes of at most chunk bytes; 0 or an errno. */
static int keys_write_out(const srd_view *v, size_t chunk)
{
    for (size_t o = 0; o < v->len; o += chunk) {
        size_t n = v->len - o < chunk ? v->len - o : chunk;
        int we = cli_write_all(STDOUT_FILENO, v->data + o, n);
        if (we != 0)
            return we;
    }
    return 0;
}

int keys_get(ctl_ctx *cx)
{
    srd_val key;
    srd_store *st = keys_store_key(cx, &key);
    if (!st)
        return cx->fail;
    srd_view v;
    srd_err e = srd_get(st, key, &v);
    if (e != SRD_OK)
        return keys_lookup_failed(cx, key, e);
    /* Straight from the mapping to fd 1: no copy through stdio. */
    int we = keys_write_out(&v, cx->bufsize ? cx->bufsize : v.len);
    srd_view_release(&v);
    if (we != 0)
        return cli_fail(cli_sys(we), "%s: cannot write to stdout", cx->name);
    return CTL_EXIT_OK;
}

int keys_del(ctl_ctx *cx)
{
    char kr[CLI_KEY_REPR];
    srd_val key;
    srd_store *st = keys_store_key(cx, &key);
    if (!st)
        return cx->fail;
    bool existed = false;
    srd_err e = srd_delete(st, key, &existed);
    if (e != SRD_OK)
        return cli_fail(e, "%s: cannot delete key '%s'", cx->name,
                        cli_key_repr(key, kr));
    if (!existed) {
        cli_err("%s: key '%s' not found (nothing written): %s", cx->name,
                cli_key_repr(key, kr), srd_strerror(SRD_ENOTFOUND));
        return CTL_EXIT_FALSE;
    }
    printf("Deleted key '%s'\n", cli_key_repr(key, kr));
    return CTL_EXIT_OK;
}

int keys_exists(ctl_ctx *cx)
{
    srd_val key;
    srd_store *st = keys_store_key(cx, &key);
    if (!st)
        return cx->fail;
    bool ex = false;
    srd_err e = srd_exists(st, key, &ex);
    if (e != SRD_OK)
        return keys_lookup_failed(cx, key, e);
    puts(ex ? "yes" : "no");
    return ex ? CTL_EXIT_OK : CTL_EXIT_FALSE;
}

/* ======================================================================== */
/* meta                                                                      */
/* ======================================================================== */

static int keys_meta_json(srd_val key, const srd_entry_meta *m)
{
    char kr[CLI_KEY_REPR];
    json_object *o = json_object_new_object();
    bool ok = o && out_json_str(o, "key", cli_key_repr(key, kr)) &&
              out_json_hex(o, "key_hash", m->key_hash, 16) &&
              out_json_u64(o, "offset", m->payload_offset) &&
              out_json_u64(o, "length", m->len) &&
              out_json_u64(o, "entry_end", m->entry_end) &&
              out_json_u64(o, "prev_offset", m->prev_offset) &&
              out_json_hex(o, "checksum", m->checksum, 8) &&
              out_json_bool(o, "checksum_valid", m->checksum_valid);
    return out_json_print(o, ok, "meta");
}

int keys_meta(ctl_ctx *cx)
{
    char kr[CLI_KEY_REPR];
    srd_val key;
    srd_store *st = keys_store_key(cx, &key);
    if (!st)
        return cx->fail;
    srd_entry_meta m;
    srd_err e = srd_meta(st, key, &m);
    if (e != SRD_OK)
        return keys_lookup_failed(cx, key, e);
    if (cx->json)
        return keys_meta_json(key, &m);
    printf("key:            %s\n"
           "key hash:       0x%016llx\n"
           "offset:         %llu\n"
           "length:         %llu\n"
           "entry end:      %llu\n"
           "prev offset:    %llu\n"
           "checksum:       0x%08x\n"
           "checksum valid: %s\n",
           cli_key_repr(key, kr), (unsigned long long)m.key_hash,
           (unsigned long long)m.payload_offset, (unsigned long long)m.len,
           (unsigned long long)m.entry_end, (unsigned long long)m.prev_offset,
           (unsigned)m.checksum, m.checksum_valid ? "yes" : "NO");
    return CTL_EXIT_OK;
}

/* ======================================================================== */
/* ls                                                                        */
/* ======================================================================== */

/* One line (or JSON array element) for entry v. */
static void keys_ls_one(const ctl_ctx *cx, const srd_view *v, const keylist *kl,
                        bool first)
{
    char kr[CLI_KEY_REPR];
    srd_val key;
    bool named = keylist_find(kl, v->key_hash, &key);
    if (!cx->json) {
        printf("0x%016llx %llu %zu%s%s\n", (unsigned long long)v->key_hash,
               (unsigned long long)v->offset, v->len, named ? " " : "",
               named ? cli_key_repr(key, kr) : "");
        return;
    }
    /* Streamed by hand so a store of millions of entries needs no tree;
     * only the key needs escaping, which json-c does. */
    printf("%s\n{\"key_hash\":\"0x%016llx\",\"offset\":%llu,\"length\":%zu",
           first ? "" : ",", (unsigned long long)v->key_hash,
           (unsigned long long)v->offset, v->len);
    if (named) {
        json_object *s = json_object_new_string(cli_key_repr(key, kr));
        printf(",\"key\":%s",
               s ? json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN)
                 : "null");
        json_object_put(s);
    }
    putchar('}');
}

/* Walk the live entries of st, oldest first, printing each. */
static int keys_ls_walk(ctl_ctx *cx, srd_store *st, const keylist *kl)
{
    srd_iter *it = NULL;
    srd_err e = srd_iter_open(st, &it);
    if (e != SRD_OK)
        return cli_fail(e, "ls: cannot list entries");
    if (cx->json)
        putchar('[');
    srd_view v;
    bool first = true;
    while ((e = srd_iter_next(it, &v)) == SRD_OK) {
        keys_ls_one(cx, &v, kl, first);
        first = false;
        srd_view_release(&v);
    }
    srd_iter_close(it);
    if (e != SRD_ENOTFOUND)
        return cli_fail(e, "ls: cannot list entries");
    if (cx->json)
        fputs(first ? "]\n" : "\n]\n", stdout);
    return CTL_EXIT_OK;
}

int keys_ls(ctl_ctx *cx)
{
    keylist kl = {0};
    int rc = cx->keys ? keylist_load(&kl, cx->keys, "ls") : CTL_EXIT_OK;
    if (rc != CTL_EXIT_OK)
        return rc;
    srd_store *st = cli_store(cx);
    rc = st ? keys_ls_walk(cx, st, &kl) : cx->fail;
    keylist_free(&kl);
    return rc;
}
