/* SPDX-License-Identifier: MIT */
/*
 * testutil.c -- helpers shared by the Check suites (see testutil.h).
 */
#define _GNU_SOURCE 1
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/srdtest.XXXXXX",
             base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    ck_assert_msg(d != NULL, "mkdtemp: %s", strerror(errno));
    return strdup(d);
}

void tu_fixture_begin(char **dir, char **store)
{
    *dir = tu_tmpdir();
    *store = tu_join(*dir, "store.srd");
}

void tu_fixture_end(char **dir, char **store)
{
    tu_rmtree(*dir);
    free(*dir);
    free(*store);
    *dir = *store = NULL;
}

static int tu_rm_one(const char *p, const struct stat *sb, int flag,
                     struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

void tu_rmtree(const char *path)
{
    if (path)
        nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return NULL;
    }
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (buf && got != (size_t)st.st_size) {
        free(buf);
        return NULL;
    }
    *len = got;
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return close(fd);
}

long long tu_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

int tu_copy_file(const char *from, const char *to)
{
    size_t n;
    uint8_t *b = tu_read_file(from, &n);
    if (!b)
        return -1;
    int rc = tu_write_file(to, b, n);
    free(b);
    return rc;
}

/* Growable capture buffer for tu_run. */
typedef struct tu_buf {
    char *p;
    size_t n, cap;
} tu_buf;

static void tu_buf_add(tu_buf *b, const char *d, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        ck_assert_ptr_nonnull(b->p);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = 0;
}

int tu_run(char *const argv[], char *const env_extra[], const void *in,
           size_t in_len, char **out, size_t *out_len, char **err)
{
    int pin[2], pout[2], perr[2];
    ck_assert(pipe2(pin, O_CLOEXEC) == 0 && pipe2(pout, O_CLOEXEC) == 0 &&
              pipe2(perr, O_CLOEXEC) == 0);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        for (size_t i = 0; env_extra && env_extra[i]; i++)
            putenv(env_extra[i]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    signal(SIGPIPE, SIG_IGN);
    tu_buf bo = {0}, be = {0};
    tu_buf_add(&bo, "", 0);
    tu_buf_add(&be, "", 0);
    const uint8_t *ip = in;
    size_t isent = 0;
    if (!in || in_len == 0) {
        close(pin[1]);
        pin[1] = -1;
    }
    int open_outs = 2;
    while (open_outs > 0 || pin[1] >= 0) {
        struct pollfd pf[3] = {{pout[0], POLLIN, 0},
                               {perr[0], POLLIN, 0},
                               {pin[1], POLLOUT, 0}};
        if (poll(pf, 3, -1) < 0 && errno != EINTR)
            break;
        char tmp[65536];
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd >= 0 && (pf[i].revents & (POLLIN | POLLHUP))) {
                ssize_t r = read(pf[i].fd, tmp, sizeof tmp);
                if (r > 0) {
                    tu_buf_add(i == 0 ? &bo : &be, tmp, (size_t)r);
                } else {
                    close(pf[i].fd);
                    if (i == 0)
                        pout[0] = -1;
                    else
                        perr[0] = -1;
                    open_outs--;
                }
            }
        }
        if (pin[1] >= 0 && (pf[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write(pin[1], ip + isent, in_len - isent);
            if (w > 0)
                isent += (size_t)w;
            if (w <= 0 || isent == in_len) {
                close(pin[1]);
                pin[1] = -1;
            }
        }
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (out) {
        *out = bo.p;
        if (out_len)
            *out_len = bo.n;
    } else {
        free(bo.p);
    }
    if (err)
        *err = be.p;
    else
        free(be.p);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

srd_val tu_s(const char *s)
{
    srd_val v = {s, s ? strlen(s) : 0};
    return v;
}

/* ---- Store images, parsed without srd code ---- */

void tu_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void tu_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t tu_get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

uint32_t tu_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

long tu_chain(const uint8_t *img, uint64_t end, tu_entry **out)
{
    size_t cap = 16, n = 0;
    tu_entry *v = malloc(cap * sizeof *v);
    ck_assert_ptr_nonnull(v);
    while (end > 0) {
        if (end < 21)
            goto broken;
        const uint8_t *t = img + end - 20;
        tu_entry e = {0};
        e.end = end;
        e.key_hash = tu_get_le64(t);
        e.start = tu_get_le64(t + 8);
        e.crc = tu_get_le32(t + 16);
        if (e.start >= end - 20)
            goto broken;
        uint64_t total = end - 20 - e.start;
        uint64_t pad = (64 - e.start % 64) & 63;
        if (total == 1 && img[e.start] == 0) {
            e.tombstone = 1;
            e.payload = e.start;
            e.len = 1;
        } else {
            if (total <= pad)
                goto broken;
            for (uint64_t i = 0; i < pad; i++)
                if (img[e.start + i] != 0)
                    goto broken;
            e.payload = e.start + pad;
            e.len = total - pad;
        }
        if (n == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof *v);
            ck_assert_ptr_nonnull(v);
        }
        v[n++] = e;
        end = e.start;
    }
    for (size_t i = 0; i < n / 2; i++) {
        tu_entry tmp = v[i];
        v[i] = v[n - 1 - i];
        v[n - 1 - i] = tmp;
    }
    *out = v;
    return (long)n;
broken:
    free(v);
    *out = NULL;
    return -1;
}

srd_err tu_open(const char *path, unsigned flags, srd_store **out)
{
    srd_options o;
    srd_options_init(&o);
    o.flags = flags;
    o.sync = SRD_SYNC_NEVER;
    return srd_open(path, &o, out);
}

uint64_t tu_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void tu_fill_random(uint64_t *state, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        uint64_t r = tu_rand(state);
        size_t k = len < 8 ? len : 8;
        memcpy(p, &r, k);
        p += k;
        len -= k;
    }
}

int tu_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

char *tu_stderr_of(void (*fn)(void *ctx), void *ctx)
{
    fflush(stderr);
    FILE *cap = tmpfile();
    ck_assert_ptr_nonnull(cap);
    int saved = dup(STDERR_FILENO);
    ck_assert_int_ge(saved, 0);
    dup2(fileno(cap), STDERR_FILENO);
    fn(ctx);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t len = lseek(fileno(cap), 0, SEEK_END);
    ck_assert_int_ge(len, 0);
    char *text = calloc(1, (size_t)len + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(pread(fileno(cap), text, (size_t)len, 0), len);
    fclose(cap);
    return text;
}
