/* SPDX-License-Identifier: MIT */
/*
 * synced.c -- encode, decode and read the synced-tail sidecar (see
 * synced.h). Layout, little-endian, 128 bytes:
 *    0 magic "SRDSYNCD"     8 u32 version (1)    12 u32 record size (128)
 *   16 u64 st_dev          24 u64 st_ino         32 u64 synced tail
 *   40 trailer (20) of the entry ending at the synced tail
 *   60 u32 zero            64 u64 written tail
 *   72 trailer (20) of the entry ending at the written tail
 *   92 boot id (16) of the written tail
 *  108 16 zero bytes      124 u32 CRC-32/IEEE of bytes 0..123
 */
#include "srd_features.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "synced.h"

static const char sy_magic[8] = {'S', 'R', 'D', 'S', 'Y', 'N', 'C', 'D'};

static void sy_put32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, 4);
}

static void sy_put64(uint8_t *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, 8);
}

static uint32_t sy_get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return le32toh(v);
}

static uint64_t sy_get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return le64toh(v);
}

char *srdi_synced_path(const char *store)
{
    size_t n = strlen(store) + sizeof SRDI_SYNCED_SUFFIX;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s", store, SRDI_SYNCED_SUFFIX);
    return p;
}

#define SY_CRC_AT (SRDI_SYNCED_SIZE - 4)

void srdi_synced_encode(uint8_t out[SRDI_SYNCED_SIZE], const srdi_synced *s)
{
    memset(out, 0, SRDI_SYNCED_SIZE);
    memcpy(out, sy_magic, sizeof sy_magic);
    sy_put32(out + 8, SRDI_SYNCED_VERSION);
    sy_put32(out + 12, SRDI_SYNCED_SIZE);
    sy_put64(out + 16, s->dev);
    sy_put64(out + 24, s->ino);
    sy_put64(out + 32, s->synced);
    memcpy(out + 40, s->synced_trailer, SRDI_TRAILER_SIZE);
    sy_put64(out + 64, s->written);
    memcpy(out + 72, s->written_trailer, SRDI_TRAILER_SIZE);
    memcpy(out + 92, s->boot, SRDI_BOOT_ID_SIZE);
    sy_put32(out + SY_CRC_AT, srdi_crc32(0, out, SY_CRC_AT));
}

bool srdi_synced_decode(const uint8_t *in, size_t len, srdi_synced *s)
{
    if (len < SRDI_SYNCED_SIZE || memcmp(in, sy_magic, sizeof sy_magic) != 0 ||
        sy_get32(in + 8) != SRDI_SYNCED_VERSION ||
        sy_get32(in + 12) != SRDI_SYNCED_SIZE ||
        sy_get32(in + SY_CRC_AT) != srdi_crc32(0, in, SY_CRC_AT))
        return false;
    s->dev = sy_get64(in + 16);
    s->ino = sy_get64(in + 24);
    s->synced = sy_get64(in + 32);
    memcpy(s->synced_trailer, in + 40, SRDI_TRAILER_SIZE);
    s->written = sy_get64(in + 64);
    memcpy(s->written_trailer, in + 72, SRDI_TRAILER_SIZE);
    memcpy(s->boot, in + 92, SRDI_BOOT_ID_SIZE);
    return true;
}

bool srdi_synced_read(const char *store, srdi_synced *s)
{
    char *path = srdi_synced_path(store);
    if (!path)
        return false;
    /* O_NONBLOCK: a FIFO planted there must not hang the open */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    free(path);
    if (fd < 0)
        return false;
    uint8_t buf[SRDI_SYNCED_SIZE];
    size_t got = srdi_pread_full(fd, buf, sizeof buf, 0, NULL);
    close(fd);
    return srdi_synced_decode(buf, got, s);
}

bool srdi_synced_applies(const srdi_synced *s, const struct stat *sb)
{
    return s->dev == (uint64_t)sb->st_dev && s->ino == (uint64_t)sb->st_ino &&
           s->synced <= (uint64_t)sb->st_size;
}

bool srdi_synced_boot_id(uint8_t out[SRDI_BOOT_ID_SIZE])
{
    memset(out, 0, SRDI_BOOT_ID_SIZE);
    char text[64];
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
    bool ok = f && fgets(text, sizeof text, f);
    if (f)
        fclose(f);
    /* 36 characters: 32 hex digits and 4 dashes */
    const size_t digits = 2 * (size_t)SRDI_BOOT_ID_SIZE;
    size_t n = 0;
    for (const char *c = text; ok && *c && *c != '\n'; c++) {
        if (*c == '-')
            continue;
        int v = *c >= '0' && *c <= '9'   ? *c - '0'
                : *c >= 'a' && *c <= 'f' ? *c - 'a' + 10
                : *c >= 'A' && *c <= 'F' ? *c - 'A' + 10
                                         : -1;
        if (v < 0 || n == digits) {
            ok = false;
            break;
        }
        out[n / 2] = (uint8_t)(out[n / 2] << 4 | v);
        n++;
    }
    static const uint8_t zero[SRDI_BOOT_ID_SIZE];
    ok = ok && n == digits &&
         memcmp(out, zero, SRDI_BOOT_ID_SIZE) != 0;
    if (!ok)
        memset(out, 0, SRDI_BOOT_ID_SIZE);
    return ok;
}

bool srdi_synced_this_boot(const srdi_synced *s)
{
    uint8_t now[SRDI_BOOT_ID_SIZE];
    return srdi_synced_boot_id(now) &&
           memcmp(now, s->boot, SRDI_BOOT_ID_SIZE) == 0;
}

int srdi_synced_open(const char *store, mode_t mode)
{
    char *path = srdi_synced_path(store);
    if (!path) {
        errno = ENOMEM;
        return -1;
    }
    /* O_NONBLOCK: a FIFO planted there must not hang the open */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
                  mode);
    int e = errno;
    free(path);
    if (fd < 0) {
        errno = e;
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}
