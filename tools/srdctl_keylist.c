/* SPDX-License-Identifier: MIT */
/*
 * srdctl_keylist.c -- load a user's key list and find keys by hash (see
 * srdctl_keylist.h). The file is read whole; the index is a sorted array
 * searched with bsearch, so a list of millions of keys costs 24 bytes each.
 */
#define _GNU_SOURCE 1

#include "srdctl_keylist.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srdctl_cli.h"

/* Read all of fd into a malloc'd buffer (*len set); 0 or an errno. */
static int keylist_slurp(int fd, char **out, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    if (!b)
        return ENOMEM;
    for (;;) {
        if (n == cap) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return ENOMEM;
            }
            b = nb;
            cap *= 2;
        }
        size_t got;
        int er = cli_read_full(fd, b + n, cap - n, &got);
        if (er != 0) {
            free(b);
            return er;
        }
        n += got;
        if (n < cap)
            break;
    }
    *out = b;
    *len = n;
    return 0;
}

static int keylist_cmp(const void *a, const void *b)
{
    const keylist_ent *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off; /* later line last */
}

/* Split buf[0, len) into kl->ent, sorted and with one entry per hash. */
static bool keylist_index(keylist *kl, size_t len)
{
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += kl->buf[i] == '\n';
    kl->ent = malloc((lines + 1) * sizeof *kl->ent);
    if (!kl->ent)
        return false;
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && kl->buf[i] != '\n')
            continue;
        if (i == len && start == len)
            break; /* nothing after the last LF */
        kl->ent[n].off = start;
        kl->ent[n].len = i - start;
        kl->ent[n].hash = srd_key_hash(kl->buf + start, i - start);
        n++;
        start = i + 1;
    }
    qsort(kl->ent, n, sizeof *kl->ent, keylist_cmp);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w > 0 && kl->ent[w - 1].hash == kl->ent[i].hash)
            w--; /* same hash: the later line replaces the earlier */
        kl->ent[w++] = kl->ent[i];
    }
    kl->n = w;
    return true;
}

int keylist_load(keylist *kl, const char *path, const char *cmd)
{
    memset(kl, 0, sizeof *kl);
    bool std = strcmp(path, "-") == 0;
    int fd = std ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_usage_e(cli_sys(errno), "%s: cannot open key list '%s'",
                           cmd, path);
    struct stat sb;
    int er = fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode) ? EISDIR : 0;
    size_t len = 0;
    if (er == 0)
        er = keylist_slurp(fd, &kl->buf, &len);
    if (!std)
        close(fd);
    if (er == EISDIR)
        return cli_usage_e(cli_sys(er), "%s: cannot read key list '%s'", cmd,
                           path);
    if (er == 0 && !keylist_index(kl, len))
        er = ENOMEM;
    if (er != 0) {
        keylist_free(kl);
        return cli_fail(cli_sys(er), "%s: cannot read key list '%s'", cmd,
                        path);
    }
    return CTL_EXIT_OK;
}

static int keylist_cmp_hash(const void *k, const void *e)
{
    uint64_t h = *(const uint64_t *)k;
    const keylist_ent *x = e;
    return h < x->hash ? -1 : h > x->hash;
}

bool keylist_find(const keylist *kl, uint64_t hash, srd_val *key)
{
    if (!kl || kl->n == 0)
        return false;
    const keylist_ent *e =
        bsearch(&hash, kl->ent, kl->n, sizeof *kl->ent, keylist_cmp_hash);
    if (!e)
        return false;
    key->ptr = kl->buf + e->off;
    key->len = e->len;
    return true;
}

void keylist_free(keylist *kl)
{
    free(kl->buf);
    free(kl->ent);
    memset(kl, 0, sizeof *kl);
}
