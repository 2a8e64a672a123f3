/* SPDX-License-Identifier: MIT */
/*
 * fuzz_shindex.c -- libFuzzer target: an arbitrary shared index file
 * ("<store>.idx", libclient/shindex.c) beside a good store. The first
 * input byte picks how the file is made: 0 the rest as is; 1 the rest
 * with the store's identity patched in and the header checksum resealed
 * (so the slots and the mutable header are reached); 2 the good file with
 * the rest XORed in at an offset, resealed; 3 the good file cut short; 4
 * as 2, made a clean file of another boot (a writer checks its slots
 * against their sum). A read-only handle must open, and every read must
 * give the key's own value or an error (or not-found: a forged file can
 * hide a key, never show another's value); iteration must show only right
 * values; so must a writer that takes the file over (it reads no slot of
 * a file of this boot), and in mode 4 it must see everything (it rebuilt
 * the file or found it whole); a writer open that walks the store
 * (SRD_OPEN_REPAIR) must rebuild it so that a reader sees everything.
 */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "fuzz_util.h"
#include "shindex.h"
#include "srd/srd.h"

#define FS_KEYS 64
#define FS_CHECKED 72 /* header bytes under the checksum (shindex.c) */
#define FS_BOOT 56    /* the boot id (shindex.c) */
#define FS_CLEAN 152  /* the clean flag (shindex.c) */
#define FS_MODES 5

static char fs_store[4200], fs_idx[4208];
static uint8_t *fs_good;  /* the index file a writer left */
static size_t fs_good_len;
static uint8_t *fs_image; /* the store file */
static size_t fs_image_len;

static srd_store *fs_open(unsigned flags)
{
    srd_options o;
    srd_options_init(&o);
    o.flags = flags;
    o.sync = SRD_SYNC_NEVER;
    srd_store *st = NULL;
    srd_err rc = srd_open(fs_store, &o, &st);
    fz_require(rc == SRD_OK, "open (flags %u): %s", flags, srd_errname(rc));
    return st;
}

static size_t fs_value(char *buf, size_t cap, int i)
{
    int n = snprintf(buf, cap, "value of key %d ", i);
    size_t fill = (size_t)(i * 5) % 120;
    memset(buf + n, 'a' + i % 26, fill);
    return (size_t)n + fill;
}

static void fs_key(char *buf, size_t cap, int i)
{
    snprintf(buf, cap, "k%d", i);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_path(fs_store, sizeof fs_store, fz_scratch_dir(), "store.srd");
    snprintf(fs_idx, sizeof fs_idx, "%s.idx", fs_store);
    srd_store *st = fs_open(SRD_OPEN_CREATE);
    char k[32], v[256];
    for (int i = 0; i < FS_KEYS; i++) {
        fs_key(k, sizeof k, i);
        size_t n = fs_value(v, sizeof v, i);
        fz_require(srd_put(st, (srd_val){k, strlen(k)}, (srd_val){v, n}) ==
                       SRD_OK, "put");
    }
    fz_require(srd_close(st) == SRD_OK, "close");
    fs_good = fz_read_file(fs_idx, &fs_good_len);
    fs_image = fz_read_file(fs_store, &fs_image_len);
    fz_require(fs_good && fs_image, "no index file after a writer");
    return 0;
}

static void fs_reseal(uint8_t *b, size_t n)
{
    if (n < FS_CHECKED + 8)
        return;
    uint64_t c = srdi_hash(b, FS_CHECKED);
    memcpy(b + FS_CHECKED, &c, 8);
}

/* The index file this input stands for (malloc'd). */
static uint8_t *fs_make(const uint8_t *data, size_t size, size_t *len)
{
    uint8_t mode = size ? data[0] % FS_MODES : 0;
    const uint8_t *rest = size ? data + 1 : data;
    size_t n = size ? size - 1 : 0;
    uint8_t *b = NULL;
    if (mode <= 1) {
        b = malloc(n ? n : 1);
        memcpy(b, rest, n);
        *len = n;
        if (mode == 1 && n >= FS_CHECKED + 8) {
            memcpy(b + 24, fs_good + 24, 16); /* st_dev, st_ino */
            fs_reseal(b, n);
        }
        return b;
    }
    b = malloc(fs_good_len);
    memcpy(b, fs_good, fs_good_len);
    *len = fs_good_len;
    size_t at = n >= 2 ? (size_t)(rest[0] | rest[1] << 8) * 8 : 0;
    if (mode == 2 || mode == 4) {
        for (size_t i = 2; i < n && at + i - 2 < fs_good_len; i++)
            b[at + i - 2] ^= rest[i];
        if (mode == 4) { /* durable, written in another boot */
            uint64_t one = 1;
            b[FS_BOOT] ^= 0x5a;
            memcpy(b + FS_CLEAN, &one, sizeof one);
        }
        fs_reseal(b, fs_good_len);
    } else {
        *len = at * 2 < fs_good_len ? at * 2 : fs_good_len / 2;
    }
    return b;
}

/* Every read through st: the key's own value, an error, or absent. */
static void fs_check_reads(srd_store *st, bool all_there)
{
    char k[32], v[256];
    for (int i = 0; i < FS_KEYS + 8; i++) {
        fs_key(k, sizeof k, i);
        size_t n = fs_value(v, sizeof v, i);
        srd_view view;
        srd_err rc = srd_get(st, (srd_val){k, strlen(k)}, &view);
        if (rc == SRD_OK) {
            fz_require(i < FS_KEYS, "absent key %d has a value", i);
            fz_require(view.len == n && memcmp(view.data, v, n) == 0,
                       "key %d shows a wrong value", i);
            srd_view_release(&view);
        } else {
            fz_require(!all_there || i >= FS_KEYS, "key %d: %s", i,
                       srd_errname(rc));
        }
    }
    srd_iter *it;
    if (srd_iter_open(st, &it) != SRD_OK) {
        fz_require(!all_there, "iteration failed on a rebuilt index");
        return;
    }
    srd_view view;
    while (srd_iter_next(it, &view) == SRD_OK) {
        bool known = false;
        for (int i = 0; i < FS_KEYS && !known; i++) {
            fs_key(k, sizeof k, i);
            if (srd_key_hash(k, strlen(k)) != view.key_hash)
                continue;
            size_t n = fs_value(v, sizeof v, i);
            fz_require(view.len == n && memcmp(view.data, v, n) == 0,
                       "iteration shows key %d with a wrong value", i);
            known = true;
        }
        fz_require(known, "iteration shows a key never written");
        srd_view_release(&view);
    }
    srd_iter_close(it);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_write_file(fs_store, fs_image, fs_image_len);
    size_t len;
    uint8_t *b = fs_make(data, size, &len);
    fz_write_file(fs_idx, b, len);
    free(b);
    srd_store *st = fs_open(SRD_OPEN_READONLY);
    fs_check_reads(st, false);
    srd_close(st);
    st = fs_open(SRD_OPEN_CREATE); /* takes it over, or rebuilds it */
    fs_check_reads(st, size && data[0] % FS_MODES == 4);
    srd_close(st);
    st = fs_open(SRD_OPEN_READONLY);
    fs_check_reads(st, false);
    srd_close(st);
    st = fs_open(SRD_OPEN_REPAIR); /* walks the store: rebuilds the file */
    srd_close(st);
    st = fs_open(SRD_OPEN_READONLY);
    srd_info info;
    fz_require(srd_get_info(st, &info) == SRD_OK, "info");
    fz_require(info.index_bytes < 16384, "reader did not use the rebuilt index");
    fs_check_reads(st, true);
    srd_close(st);
    return 0;
}
