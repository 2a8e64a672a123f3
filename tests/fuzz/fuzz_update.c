/* SPDX-License-Identifier: MIT */
/*
 * fuzz_update.c -- libFuzzer target: an arbitrary index update message
 * applied by a client against a real store file. A read-only handle opens
 * the store while it ends at T0; srdd then "appends" up to T1; the input
 * is decoded as an update and, when a client would accept it (it starts
 * at the handle's tail and ends inside the file, client.c), adopted with
 * srdi_store_adopt. Every read afterwards must stay inside the file: a
 * lying update may make values wrong, never a wild read. With
 * SRD_FUZZ_WRITE_SEEDS=DIR the target writes the true update (and a few
 * variants) into DIR and exits.
 */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "store_impl.h"
#include "wire.h"

static char up_path[4200];
static uint8_t *up_file; /* the whole store, T1 bytes */
static size_t up_t0, up_t1;

/* The store: keys written before T0, then more after it. */
static void up_make_store(void)
{
    srd_options o;
    srd_options_init(&o);
    o.sync = SRD_SYNC_NEVER;
    srd_store *st = NULL;
    fz_require(srd_open(up_path, &o, &st) == SRD_OK, "seed store");
    static uint8_t big[3000];
    memset(big, 0x5c, sizeof big);
    srd_val k[3] = {{"a", 1}, {"b", 1}, {"big", 3}};
    srd_val v[3] = {{"one", 3}, {"two", 3}, {big, sizeof big}};
    fz_require(srd_put_batch(st, k, v, 3) == SRD_OK, "seed batch");
    uint64_t t0 = 0;
    fz_require(srd_tail(st, &t0) == SRD_OK, "seed tail");
    fz_require(srd_put(st, k[0], (srd_val){"uno", 3}) == SRD_OK &&
                   srd_delete(st, k[1], NULL) == SRD_OK &&
                   srd_put(st, (srd_val){"c", 1}, (srd_val){big, 2000}) ==
                       SRD_OK,
               "seed writes after T0");
    srd_close(st);
    up_file = fz_read_file(up_path, &up_t1);
    fz_require(up_file != NULL, "seed read");
    up_t0 = (size_t)t0;
}

/* The entries appended after T0, as srdd would publish them. */
static size_t up_true_entries(srdi_entry *e, size_t cap)
{
    size_t n = 0;
    for (uint64_t end = up_t1; end > up_t0 && n < cap;) {
        uint64_t hash, prev;
        uint32_t crc;
        srdi_format_get_trailer(up_file + end - SRDI_TRAILER_SIZE, &hash,
                                &prev, &crc);
        bool tomb = end - SRDI_TRAILER_SIZE - prev == 1 && up_file[prev] == 0;
        uint64_t payload = tomb ? prev : prev + srdi_format_pad(prev);
        e[n++] = (srdi_entry){prev, payload,
                              end - SRDI_TRAILER_SIZE - payload, end, hash,
                              crc, tomb};
        end = prev;
    }
    for (size_t i = 0; i < n / 2; i++) { /* file order */
        srdi_entry t = e[i];
        e[i] = e[n - 1 - i];
        e[n - 1 - i] = t;
    }
    return n;
}

static void up_seed(const char *dir, const char *name, srdi_wire_update *up)
{
    size_t len = 0;
    fz_require(srdi_wire_update_size(up, &len) == SRD_OK, "seed size");
    uint8_t *buf = malloc(len);
    fz_require(buf && srdi_wire_update_encode(up, buf, len) == SRD_OK,
               "seed encode");
    char path[4200];
    fz_path(path, sizeof path, dir, name);
    fz_write_file(path, buf, len);
    free(buf);
}

static void up_write_seeds(const char *dir)
{
    srdi_entry e[8];
    size_t n = up_true_entries(e, 8);
    srdi_wire_update up = {0, up_t0, up_t1, n, e, NULL};
    up_seed(dir, "update-true", &up);
    up.n_entries = n - 1; /* the last entry missing */
    up_seed(dir, "update-short", &up);
    up.to_tail = up_t0; /* nothing */
    up.n_entries = 0;
    up_seed(dir, "update-empty", &up);
    up.to_tail = up_t1 + 4096; /* past the end of the file */
    up_seed(dir, "update-past-eof", &up);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_path(up_path, sizeof up_path, fz_scratch_dir(), "store.srd");
    up_make_store();
    const char *dir = getenv("SRD_FUZZ_WRITE_SEEDS");
    if (dir && *dir) {
        up_write_seeds(dir);
        exit(0);
    }
    return 0;
}

/* Every value the handle shows lies inside the file. */
static void up_read_all(srd_store *st)
{
    srd_iter *it = NULL;
    fz_require(srd_iter_open(st, &it) == SRD_OK, "srd_iter_open");
    srd_view v;
    srd_err rc;
    while ((rc = srd_iter_next(it, &v)) == SRD_OK ||
           rc == SRD_ECORRUPT) {
        if (rc != SRD_OK)
            continue;
        fz_require(v.offset + v.len <= up_t1, "a view reaches past the "
                   "end of the file (%llu + %zu > %zu)",
                   (unsigned long long)v.offset, v.len, up_t1);
        srd_view again;
        if (srd_get_hash(st, v.key_hash, &again) == SRD_OK) {
            fz_require(again.offset + again.len <= up_t1, "get past EOF");
            srd_view_release(&again);
        }
        srd_view_release(&v);
    }
    fz_require(rc == SRD_ENOTFOUND, "srd_iter_next: %s", srd_errname(rc));
    srd_iter_close(it);
    srd_verify_report r;
    srd_verify(st, &r, NULL, NULL);
    srd_info info;
    fz_require(srd_get_info(st, &info) == SRD_OK, "srd_get_info");
    fz_require(info.tail <= up_t1, "tail past the end of the file");
    uint64_t added = 0;
    srd_refresh(st, &added);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    srdi_wire_update up;
    char why[SRDI_WIRE_WHY];
    if (srdi_wire_update_decode(data, size, 0, &up, why) != SRD_OK)
        return 0;
    fz_write_file(up_path, up_file, up_t0);
    srd_options o;
    srd_options_init(&o);
    o.flags = SRD_OPEN_READONLY;
    srd_store *st = NULL;
    fz_require(srd_open(up_path, &o, &st) == SRD_OK, "open at T0");
    int fd = open(up_path, O_WRONLY | O_APPEND | O_CLOEXEC);
    fz_require(fd >= 0 && write(fd, up_file + up_t0, up_t1 - up_t0) ==
                              (ssize_t)(up_t1 - up_t0),
               "append T0..T1");
    close(fd);
    /* What client.c's cl_on_update checks before it adopts a group. */
    if (up.from_tail == up_t0 && up.to_tail <= up_t1) {
        pthread_mutex_lock(&st->mu);
        srdi_store_adopt(st, up.entries, up.n_entries, up.to_tail);
        pthread_mutex_unlock(&st->mu);
    }
    up_read_all(st);
    srd_close(st);
    srdi_wire_update_free(&up);
    return 0;
}
