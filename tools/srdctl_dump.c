/* SPDX-License-Identifier: MIT */
/*
 * srdctl_dump.c -- export and import of the srd dump format (specified in
 * docs/srdctl.md, DUMP FORMAT). Every record header and value carries a
 * CRC-32 and an end record counts the entries, so import checks the whole
 * dump before it writes anything. A record carries its key only when the
 * user named it (--keys); otherwise only the key hash the store keeps.
 * Import stores small values in large batches (srd_put_batch) with no sync
 * per write and syncs once at the end; large values are streamed.
 */
#define _GNU_SOURCE 1

#include "srdctl_dump.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srdctl_keylist.h"
#include "srdctl_out.h"

/* ======================================================================== */
/* Format                                                                    */
/* ======================================================================== */

static const uint8_t dump_magic[8] = {'S', 'R', 'D', 'D', 'U', 'M', 'P', 0};
#define DUMP_VERSION 1u
#define DUMP_HEAD_SIZE 16 /* magic, u32 version, u32 reserved */
#define DUMP_REC_SIZE 32  /* record header, see dump_rec */
#define DUMP_ENTRY 'E'
#define DUMP_END 'Z'
#define DUMP_HAS_KEY 0x01u
#define DUMP_MAX_KEY ((uint32_t)1 << 20) /* refuse longer keys on import */

/* One record header. In the end record key_hash holds the number of
 * entry records and value_len the sum of their value lengths. */
typedef struct dump_rec {
    uint8_t type;       /* DUMP_ENTRY or DUMP_END */
    uint8_t flags;      /* DUMP_HAS_KEY */
    uint32_t key_len;   /* key bytes after the header (0 without a key) */
    uint64_t key_hash;  /* XXH3-64 of the key, as the store keeps it */
    uint64_t value_len; /* value bytes after the key */
    uint32_t value_crc; /* CRC-32/IEEE of the value (the store's checksum) */
} dump_rec;

static void dump_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t dump_get(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* CRC-32/IEEE: the library's own (isa-l when built with it, about 30x
 * zlib's speed; the value is the same). */
static uint32_t dump_crc(uint32_t crc, const void *p, size_t n)
{
    return srd_crc32(crc, p, n);
}

static void dump_rec_encode(const dump_rec *r, uint8_t b[DUMP_REC_SIZE])
{
    memset(b, 0, DUMP_REC_SIZE);
    b[0] = r->type;
    b[1] = r->flags;
    dump_le(b + 4, r->key_len, 4);
    dump_le(b + 8, r->key_hash, 8);
    dump_le(b + 16, r->value_len, 8);
    dump_le(b + 24, r->value_crc, 4);
    dump_le(b + 28, dump_crc(0, b, 28), 4);
}

/* Decode and check one header; NULL, or what is wrong with it. */
static const char *dump_rec_decode(const uint8_t b[DUMP_REC_SIZE], dump_rec *r)
{
    if (dump_get(b + 28, 4) != dump_crc(0, b, 28))
        return "record header checksum mismatch";
    r->type = b[0];
    r->flags = b[1];
    r->key_len = (uint32_t)dump_get(b + 4, 4);
    r->key_hash = dump_get(b + 8, 8);
    r->value_len = dump_get(b + 16, 8);
    r->value_crc = (uint32_t)dump_get(b + 24, 4);
    if (dump_get(b + 2, 2) != 0 || (r->type != DUMP_ENTRY && r->type != DUMP_END))
        return "unknown record type";
    if (r->type == DUMP_END)
        return r->flags || r->key_len || r->value_crc ? "bad end record" : NULL;
    if (r->flags & ~DUMP_HAS_KEY)
        return "unknown record flags";
    if (!(r->flags & DUMP_HAS_KEY) && r->key_len != 0)
        return "key bytes in a record without a key";
    if (r->key_len > DUMP_MAX_KEY)
        return "key longer than 1 MiB";
    if (r->value_len == 0)
        return "empty value";
    return NULL;
}

/* ======================================================================== */
/* export                                                                    */
/* ======================================================================== */

/* An export in progress. */
typedef struct dump_out {
    FILE *f;
    const char *name; /* FILE as given, for messages */
    char *tmp;        /* temporary file renamed to name at the end */
    uint64_t entries, keyed, bytes;
} dump_out;

/* Open the output: stdout for "-", else a temporary file next to name. */
static int dump_out_open(ctl_ctx *cx, dump_out *o)
{
    if (strcmp(o->name, "-") == 0) {
        if (isatty(STDOUT_FILENO) == 1)
            return cli_usage("export: standard output is a terminal (give "
                             "FILE, or redirect the dump)");
        o->f = stdout;
        return CTL_EXIT_OK;
    }
    struct stat sb;
    if (stat(o->name, &sb) == 0 && !cx->force)
        return cli_usage_e(SRD_EEXIST, "export: '%s' exists (use --force to "
                                       "replace it)", o->name);
    if (asprintf(&o->tmp, "%s.XXXXXX", o->name) < 0) {
        o->tmp = NULL;
        return cli_fail(SRD_ENOMEM, "export");
    }
    int fd = mkostemp(o->tmp, O_CLOEXEC);
    if (fd < 0) {
        free(o->tmp);
        o->tmp = NULL;
        return cli_usage_e(cli_sys(errno), "export: cannot create a file "
                                           "next to '%s'", o->name);
    }
    mode_t um = umask(0); /* mkstemp makes 0600; a dump is an ordinary file */
    umask(um);
    fchmod(fd, 0666 & ~um);
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        close(fd);
        return cli_fail(SRD_ENOMEM, "export");
    }
    return CTL_EXIT_OK;
}

static bool dump_put(dump_out *o, const void *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, o->f) == n;
}

/* Write one entry record for view v (key known or not). */
static bool dump_out_entry(dump_out *o, const srd_view *v, const keylist *kl)
{
    srd_val key = {NULL, 0};
    bool named = keylist_find(kl, v->key_hash, &key);
    dump_rec r = {DUMP_ENTRY, named ? DUMP_HAS_KEY : 0, (uint32_t)key.len,
                  v->key_hash, v->len, dump_crc(0, v->data, v->len)};
    uint8_t b[DUMP_REC_SIZE];
    dump_rec_encode(&r, b);
    o->entries++;
    o->keyed += named;
    o->bytes += v->len;
    return dump_put(o, b, sizeof b) && dump_put(o, key.ptr, key.len) &&
           dump_put(o, v->data, v->len);
}

/* Write every live entry of st, then the end record. */
static int dump_out_entries(ctl_ctx *cx, dump_out *o, srd_store *st,
                            const keylist *kl)
{
    uint8_t b[DUMP_REC_SIZE > DUMP_HEAD_SIZE ? DUMP_REC_SIZE : DUMP_HEAD_SIZE];
    memset(b, 0, sizeof b);
    memcpy(b, dump_magic, sizeof dump_magic);
    dump_le(b + 8, DUMP_VERSION, 4);
    bool ok = dump_put(o, b, DUMP_HEAD_SIZE);
    srd_iter *it = NULL;
    srd_err e = srd_iter_open(st, &it);
    if (e != SRD_OK)
        return cli_fail(e, "%s: cannot list entries", cx->name);
    srd_info in;
    uint64_t total = srd_get_info(st, &in) == SRD_OK ? in.live_bytes : 0;
    out_progress pg;
    out_progress_init(&pg, "export", cx->progress);
    srd_view v;
    while (ok && (e = srd_iter_next(it, &v)) == SRD_OK) {
        ok = dump_out_entry(o, &v, kl);
        srd_view_release(&v);
        out_progress_show(&pg, o->bytes, total);
    }
    srd_iter_close(it);
    out_progress_end(&pg, ok && e == SRD_ENOTFOUND, o->bytes);
    if (ok && e != SRD_ENOTFOUND)
        return cli_fail(e, "%s: cannot list entries", cx->name);
    dump_rec end = {DUMP_END, 0, 0, o->entries, o->bytes, 0};
    dump_rec_encode(&end, b);
    ok = ok && dump_put(o, b, DUMP_REC_SIZE) && fflush(o->f) == 0;
    if (ok && o->tmp)
        ok = fsync(fileno(o->f)) == 0;
    if (!ok)
        return cli_fail(cli_sys(errno ? errno : EIO), "%s: cannot write '%s'",
                        cx->name, o->name);
    return CTL_EXIT_OK;
}

/* Close the output; on success move the temporary file into place. */
static int dump_out_close(dump_out *o, int rc)
{
    if (!o->tmp)
        return rc; /* stdout: main flushes and checks it */
    if (fclose(o->f) != 0 && rc == CTL_EXIT_OK)
        rc = cli_fail(cli_sys(errno), "export: cannot write '%s'", o->name);
    if (rc == CTL_EXIT_OK && rename(o->tmp, o->name) != 0)
        rc = cli_fail(cli_sys(errno), "export: cannot rename '%s' to '%s'",
                      o->tmp, o->name);
    if (rc != CTL_EXIT_OK)
        unlink(o->tmp);
    free(o->tmp);
    return rc;
}

int dump_export(ctl_ctx *cx)
{
    dump_out o = {NULL, cx->argv[0], NULL, 0, 0, 0};
    if (!*o.name)
        return cli_usage("export: the dump file name is empty");
    struct stat a, b;
    if (stat(cx->path, &a) == 0 && stat(o.name, &b) == 0 &&
        a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return cli_usage("export: '%s' is the store itself", o.name);
    keylist kl = {0};
    int rc = cx->keys ? keylist_load(&kl, cx->keys, "export") : CTL_EXIT_OK;
    srd_store *st = rc == CTL_EXIT_OK ? cli_store(cx) : NULL;
    if (rc == CTL_EXIT_OK && !st)
        rc = cx->fail;
    if (st && (rc = dump_out_open(cx, &o)) == CTL_EXIT_OK)
        rc = dump_out_close(&o, dump_out_entries(cx, &o, st, &kl));
    keylist_free(&kl);
    if (rc != CTL_EXIT_OK)
        return rc;
    /* The summary goes to stdout, unless the dump itself does. */
    FILE *f = o.tmp ? stdout : stderr;
    fflush(stdout);
    fprintf(f,
            "%sExported %llu entries (%llu value bytes) to '%s': %llu with "
            "their key, %llu by key hash only%s\n",
            o.tmp ? "" : "srdctl: ", (unsigned long long)o.entries,
            (unsigned long long)o.bytes, o.name, (unsigned long long)o.keyed,
            (unsigned long long)(o.entries - o.keyed),
            o.entries > o.keyed ? " (import cannot store these; name them "
                                  "with --keys)"
                                : "");
    return CTL_EXIT_OK;
}

/* ======================================================================== */
/* Reading a dump                                                            */
/* ======================================================================== */

/* What to do with the entries of a dump as they are read (NULL: check
 * only). begin says whether the value goes anywhere; chunk receives it in
 * order; end learns whether it was complete and its checksum matched. Each
 * returns -1 to go on or an exit status after printing why. */
typedef struct dump_visit {
    int (*begin)(void *ctx, const dump_rec *r, srd_val key, bool *take);
    int (*chunk)(void *ctx, const uint8_t *p, size_t n);
    int (*end)(void *ctx, bool good);
    void *ctx;
} dump_visit;

/* A dump being read. */
typedef struct dump_in {
    FILE *f;
    const char *name;
    uint64_t off;   /* bytes consumed */
    uint64_t size;  /* of the dump file (for progress) */
    uint8_t *buf;   /* CTL_CHUNK bytes */
    uint64_t entries, keyed, bytes;
} dump_in;

/* Report a bad dump (exit CTL_EXIT_STORE). */
static int dump_bad(const dump_in *in, const char *why)
{
    cli_err("import: '%s' is not a valid srd dump: %s (at byte %llu)",
            in->name, why, (unsigned long long)in->off);
    return CTL_EXIT_STORE;
}

/* Read exactly n bytes; -1, or an exit status after a message. */
static int dump_read(dump_in *in, void *p, size_t n)
{
    size_t got = fread(p, 1, n, in->f);
    if (got == n) {
        in->off += n;
        return -1;
    }
    if (ferror(in->f))
        return cli_fail(cli_sys(errno ? errno : EIO), "import: cannot read "
                        "'%s'", in->name);
    in->off += got;
    return dump_bad(in, "truncated");
}

/* Read r's value in chunks, check it and hand it to vi if take. */
static int dump_value(dump_in *in, const dump_rec *r, const dump_visit *vi,
                      bool take)
{
    uint32_t crc = 0;
    int rc = -1;
    uint64_t left = r->value_len;
    bool nul = r->value_len == 1;
    while (rc < 0 && left > 0) {
        size_t n = left < CTL_CHUNK ? (size_t)left : CTL_CHUNK;
        rc = dump_read(in, in->buf, n);
        if (rc >= 0)
            break;
        crc = dump_crc(crc, in->buf, n);
        nul = nul && in->buf[0] == 0;
        left -= n;
        if (take)
            rc = vi->chunk(vi->ctx, in->buf, n);
    }
    bool good = rc < 0 && crc == r->value_crc && !nul;
    if (take) {
        int erc = vi->end(vi->ctx, good);
        rc = rc >= 0 ? rc : erc;
    }
    if (rc < 0 && crc != r->value_crc)
        rc = dump_bad(in, "value checksum mismatch");
    if (rc < 0 && nul)
        rc = dump_bad(in, "the value is the single byte 0x00");
    return rc;
}

/* One entry record after its header: key, then value. */
static int dump_entry(dump_in *in, const dump_rec *r, const dump_visit *vi)
{
    uint8_t *key = malloc(r->key_len ? r->key_len : 1);
    if (!key)
        return cli_fail(SRD_ENOMEM, "import");
    int rc = dump_read(in, key, r->key_len);
    srd_val k = {key, r->key_len};
    bool has = r->flags & DUMP_HAS_KEY;
    if (rc < 0 && has && srd_key_hash(key, r->key_len) != r->key_hash)
        rc = dump_bad(in, "key does not match its key hash");
    bool take = false;
    if (rc < 0 && vi)
        rc = vi->begin(vi->ctx, r, k, &take);
    if (rc < 0)
        rc = dump_value(in, r, vi, take);
    free(key);
    in->entries++;
    in->keyed += has;
    in->bytes += r->value_len;
    return rc;
}

/* Walk the whole dump from its start; CTL_EXIT_OK when it is valid. */
static int dump_walk(dump_in *in, const dump_visit *vi)
{
    uint8_t b[DUMP_REC_SIZE];
    in->off = in->entries = in->keyed = in->bytes = 0;
    if (fseeko(in->f, 0, SEEK_SET) != 0)
        return cli_fail(cli_sys(errno), "import: cannot read '%s'", in->name);
    int rc = dump_read(in, b, DUMP_HEAD_SIZE);
    if (rc >= 0)
        return rc;
    if (memcmp(b, dump_magic, sizeof dump_magic) != 0)
        return dump_bad(in, "no SRDDUMP signature");
    if (dump_get(b + 8, 4) != DUMP_VERSION || dump_get(b + 12, 4) != 0)
        return dump_bad(in, "unsupported format version");
    dump_rec r;
    for (;;) {
        uint64_t at = in->off;
        if ((rc = dump_read(in, b, DUMP_REC_SIZE)) >= 0)
            return rc;
        const char *why = dump_rec_decode(b, &r);
        if (why) {
            in->off = at;
            return dump_bad(in, why);
        }
        if (r.type == DUMP_END)
            break;
        if ((rc = dump_entry(in, &r, vi)) >= 0)
            return rc;
    }
    if (r.key_hash != in->entries || r.value_len != in->bytes)
        return dump_bad(in, "entry count does not match the end record");
    if (fgetc(in->f) != EOF)
        return dump_bad(in, "bytes after the end record");
    return CTL_EXIT_OK;
}

/* ======================================================================== */
/* import                                                                    */
/* ======================================================================== */

/* Values up to DUMP_SMALL bytes are stored in batches of up to
 * DUMP_BATCH_PAIRS pairs and DUMP_BATCH_BYTES bytes of keys and values
 * (one srd_put_batch, one append; through srdd, one request or a few);
 * larger ones are streamed in CTL_CHUNK pieces. */
#define DUMP_SMALL ((uint64_t)64 << 10)
#define DUMP_BATCH_PAIRS 65536
#define DUMP_BATCH_BYTES ((size_t)32 << 20)

/* The import visitor: store each keyed value, in file order. */
typedef struct dump_load {
    ctl_ctx *cx;
    srd_store *st;
    dump_in *in;        /* for progress */
    out_progress pg;
    srd_stream *s;      /* the large value being streamed, or NULL */
    srd_val key;        /* of the value being read */
    uint64_t len;       /* of the value being read */
    bool batched;       /* the value being read goes into the batch */
    uint8_t *arena;     /* keys and values of the batch */
    size_t used;        /* bytes of arena holding complete pairs */
    size_t got;         /* value bytes of the pending pair so far */
    srd_val *keys, *vals;
    size_t n;           /* pairs in the batch */
    uint64_t stored, skipped, bytes;
} dump_load;

/* Store the batch (one srd_put_batch); -1, or an exit status. */
static int dump_flush(dump_load *l)
{
    char kr[CLI_KEY_REPR];
    if (l->n == 0)
        return -1;
    srd_err e = srd_put_batch(l->st, l->keys, l->vals, l->n);
    if (e != SRD_OK)
        return cli_fail(e, "import: cannot store a batch of %zu entries "
                        "(the first with key '%s')",
                        l->n, cli_key_repr(l->keys[0], kr));
    for (size_t i = 0; i < l->n; i++)
        l->bytes += l->vals[i].len;
    l->stored += l->n;
    l->n = l->used = 0;
    out_progress_show(&l->pg, l->in->off, l->in->size);
    return -1;
}

/* A small value: its key goes into the arena now, its bytes as they come. */
static int dump_batch_begin(dump_load *l, srd_val key, uint64_t len)
{
    if (l->n == DUMP_BATCH_PAIRS ||
        DUMP_BATCH_BYTES - l->used < key.len + len) {
        int rc = dump_flush(l);
        if (rc >= 0)
            return rc;
    }
    memcpy(l->arena + l->used, key.ptr, key.len);
    l->keys[l->n] = (srd_val){l->arena + l->used, key.len};
    l->got = 0;
    l->batched = true;
    return -1;
}

static int dump_stream_begin(dump_load *l, srd_val key)
{
    char kr[CLI_KEY_REPR];
    int rc = dump_flush(l); /* keep file order */
    if (rc >= 0)
        return rc;
    srd_err e = srd_stream_begin(l->st, key, &l->s);
    if (e != SRD_OK) {
        l->s = NULL;
        return cli_fail(e, "import: cannot store key '%s'",
                        cli_key_repr(key, kr));
    }
    return -1;
}

static int dump_load_begin(void *ctx, const dump_rec *r, srd_val key,
                           bool *take)
{
    dump_load *l = ctx;
    *take = r->flags & DUMP_HAS_KEY;
    if (!*take) {
        l->skipped++;
        return -1;
    }
    l->key = key;
    l->len = r->value_len;
    l->batched = false;
    return r->value_len <= DUMP_SMALL ? dump_batch_begin(l, key, r->value_len)
                                      : dump_stream_begin(l, key);
}

static int dump_load_chunk(void *ctx, const uint8_t *p, size_t n)
{
    dump_load *l = ctx;
    char kr[CLI_KEY_REPR];
    if (l->batched) {
        memcpy(l->arena + l->used + l->key.len + l->got, p, n);
        l->got += n;
        return -1;
    }
    srd_err e = srd_stream_write(l->s, p, n);
    if (e != SRD_OK)
        return cli_fail(e, "import: cannot store key '%s'",
                        cli_key_repr(l->key, kr));
    return -1;
}

static int dump_load_end(void *ctx, bool good)
{
    dump_load *l = ctx;
    char kr[CLI_KEY_REPR];
    if (l->batched) { /* a bad value (the dump changed): left out */
        if (good) {
            l->vals[l->n++] = (srd_val){l->arena + l->used + l->key.len,
                                        l->got};
            l->used += l->key.len + l->got;
        }
        return -1;
    }
    srd_stream *s = l->s;
    l->s = NULL;
    if (!good) { /* the dump changed since the check: store nothing */
        srd_stream_abort(s);
        return -1;
    }
    srd_err e = srd_stream_commit(s);
    if (e != SRD_OK)
        return cli_fail(e, "import: cannot store key '%s'",
                        cli_key_repr(l->key, kr));
    l->stored++;
    l->bytes += l->len;
    return -1;
}

/* The batch buffers; -1, or an exit status. */
static int dump_load_init(dump_load *l)
{
    l->arena = malloc(DUMP_BATCH_BYTES);
    l->keys = malloc(DUMP_BATCH_PAIRS * sizeof *l->keys);
    l->vals = malloc(DUMP_BATCH_PAIRS * sizeof *l->vals);
    if (!l->arena || !l->keys || !l->vals)
        return cli_fail(SRD_ENOMEM, "import");
    out_progress_init(&l->pg, "import", false); /* a bar on a terminal */
    return -1;
}

static void dump_load_free(dump_load *l)
{
    if (l->s)
        srd_stream_abort(l->s);
    free(l->arena);
    free(l->keys);
    free(l->vals);
}

/* Store every entry of the (checked) dump, then sync once. */
static int dump_load_all(dump_load *l)
{
    dump_visit vi = {dump_load_begin, dump_load_chunk, dump_load_end, l};
    int rc = dump_load_init(l);
    if (rc < 0)
        rc = dump_walk(l->in, &vi);
    if (rc == CTL_EXIT_OK && (rc = dump_flush(l)) < 0) {
        srd_err e = srd_sync(l->st);
        rc = e == SRD_OK ? CTL_EXIT_OK
                         : cli_fail(e, "import: cannot sync '%s'", l->cx->path);
    }
    out_progress_end(&l->pg, rc == CTL_EXIT_OK, l->in->size);
    return rc;
}

/* Open the dump: a regular file, since import reads it twice. */
static int dump_in_open(dump_in *in)
{
    int fd = open(in->name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_usage_e(cli_sys(errno), "import: cannot open '%s'",
                           in->name);
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return cli_usage("import: '%s' is not a regular file (import reads "
                         "the dump twice: save it to a file first)",
                         in->name);
    }
    in->size = (uint64_t)sb.st_size;
    in->f = fdopen(fd, "rb");
    in->buf = malloc(CTL_CHUNK);
    if (!in->f || !in->buf) {
        if (!in->f)
            close(fd);
        return cli_fail(SRD_ENOMEM, "import");
    }
    return CTL_EXIT_OK;
}

/* Check the dump, then store it into the store of cx. */
static int dump_import_from(ctl_ctx *cx, dump_in *in)
{
    int rc = dump_walk(in, NULL);
    if (rc != CTL_EXIT_OK)
        return rc;
    uint64_t unkeyed = in->entries - in->keyed;
    if (unkeyed > 0 && !cx->skip_unkeyed)
        return cli_usage("import: %llu of the %llu entries of '%s' carry only "
                         "a key hash, which srdctl cannot store (the API has "
                         "no put by hash); --skip-unkeyed imports the others",
                         (unsigned long long)unkeyed,
                         (unsigned long long)in->entries, in->name);
    dump_load l = {0};
    l.cx = cx;
    l.in = in;
    l.st = cli_store_mode(cx, cx->mode | CLI_OPEN_BULK);
    if (!l.st)
        return cx->fail;
    rc = dump_load_all(&l);
    dump_load_free(&l);
    if (rc != CTL_EXIT_OK)
        return rc;
    printf("Imported %llu entries (%llu value bytes) into '%s'",
           (unsigned long long)l.stored, (unsigned long long)l.bytes,
           cx->path);
    if (l.skipped)
        printf("; skipped %llu without a key", (unsigned long long)l.skipped);
    putchar('\n');
    return CTL_EXIT_OK;
}

int dump_import(ctl_ctx *cx)
{
    dump_in in = {NULL, cx->argv[0], 0, 0, NULL, 0, 0, 0};
    int rc = dump_in_open(&in);
    if (rc == CTL_EXIT_OK)
        rc = dump_import_from(cx, &in);
    if (in.f)
        fclose(in.f);
    free(in.buf);
    return rc;
}
