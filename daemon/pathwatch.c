/* SPDX-License-Identifier: MIT */
/*
 * pathwatch.c -- the store path check of srdd (see pathwatch.h). A
 * compaction renames a new file over the path and then switches the
 * writer to it while it owns the writer exclusively (`busy`): the check
 * waits for that to end, so the path and the writer's file are compared
 * only when they agree in a healthy srdd.
 *
 * The whole check is an fstat of the writer's file and a stat of the
 * path. A group needs one system call (pathwatch_group): a stat of the
 * path, compared with the identity the writer recorded when it opened or
 * switched to its file (no fstat: that identity cannot change while the
 * group holds off compaction) and with its tail (the size stat gives is
 * that file's when the identities agree); any other answer gets the whole
 * check. The stat runs after every request of the group was read and
 * before any is appended: a removal, replacement or cut finished before
 * any of those requests was sent is seen, and the appends never fill the
 * gap a cut left (pathwatch.h). inotify could not replace the stat: it
 * reports nothing when a parent directory is renamed or replaced, a
 * symlink on the way is changed or a mount hides the directory.
 */
#include "srd_features.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "pathwatch.h"
#include "store_impl.h"
#include "wire.h"

struct pathwatch {
    srd_store *st;
    char *path;
    _Atomic bool lost;
    pthread_mutex_t mu;         /* why, the first verdict's log line */
    char why[SRDI_WIRE_WHY];
};

srd_err pathwatch_create(srd_store *st, const char *path, pathwatch **out)
{
    pathwatch *w = calloc(1, sizeof *w);
    if (w)
        w->path = strdup(path);
    if (!w || !w->path) {
        free(w);
        return SRD_ENOMEM;
    }
    w->st = st;
    pthread_mutex_init(&w->mu, NULL);
    *out = w;
    return SRD_OK;
}

void pathwatch_destroy(pathwatch *w)
{
    if (!w)
        return;
    pthread_mutex_destroy(&w->mu);
    free(w->path);
    free(w);
}

/* Added to what pw_wrong found. The why goes to clients in SRDI_WIRE_WHY
 * bytes, so it does not name the path (of any length, the client knows
 * it): the log line does. */
#define PW_VERDICT "; srdd acknowledges no more writes: restart it"

/* The tail, and the writer's file once no compaction is between rename
 * and switch: fresh, an fstat of it into have (returns its errno or 0);
 * else the identity the writer recorded for it (st_dev and st_ino of
 * have only; ENOENT when it has none). */
static int pw_writer(pathwatch *w, bool fresh, struct stat *have,
                     uint64_t *tail)
{
    srd_store *st = w->st;
    uint64_t dev, ino;
    int fe = 0;
    pthread_mutex_lock(&st->mu);
    while (st->busy) /* a compaction may be between rename and switch */
        pthread_cond_wait(&st->cv, &st->mu);
    if (fresh)
        fe = fstat(srdi_writer_fd(st->w), have) == 0 ? 0 : errno;
    else if (srdi_writer_ident(st->w, &dev, &ino)) {
        have->st_dev = (dev_t)dev;
        have->st_ino = (ino_t)ino;
    } else
        fe = ENOENT;
    *tail = srdi_writer_tail(st->w);
    pthread_mutex_unlock(&st->mu);
    return fe;
}

static bool pw_same(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* What is wrong (into why), or false when nothing is: fe and se are the
 * errors of fstat (have: the writer's file) and stat (named: the path;
 * NULL when not looked at), tail the writer's. */
static bool pw_judge(int fe, const struct stat *have, int se,
                     const struct stat *named, uint64_t tail, char *why,
                     size_t cap)
{
    if (fe)
        snprintf(why, cap, "cannot stat the store file srdd writes: %s",
                 strerror(fe));
    else if (se)
        snprintf(why, cap, "the store path is gone (%s): it was removed "
                 "or moved away under srdd", strerror(se));
    else if (named && !pw_same(named, have))
        snprintf(why, cap, "the store path names another file now "
                 "(replaced under srdd)");
    else if ((uint64_t)have->st_size < tail)
        snprintf(why, cap, "the store file was cut to %" PRIu64 " bytes "
                 "by someone else (srdd wrote %" PRIu64 ")",
                 (uint64_t)have->st_size, tail);
    else
        return false;
    return true;
}

/* The whole check: fstat of the writer's file, stat of the path. */
static bool pw_wrong(pathwatch *w, char *why, size_t cap)
{
    struct stat have, named;
    uint64_t tail;
    int fe = pw_writer(w, true, &have, &tail);
    int se = stat(w->path, &named) == 0 ? 0 : errno;
    return pw_judge(fe, &have, se, &named, tail, why, cap);
}

/* A group's check: the path names the file the writer recorded (one
 * stat), which reaches the tail; any other answer gets the whole check,
 * which has the last word. */
static bool pw_wrong_named(pathwatch *w, char *why, size_t cap)
{
    struct stat have, named;
    uint64_t tail;
    if (pw_writer(w, false, &have, &tail) != 0 ||
        stat(w->path, &named) != 0 || !pw_same(&named, &have))
        return pw_wrong(w, why, cap);
    return pw_judge(0, &named, 0, NULL, tail, why, cap);
}

static void pw_why(pathwatch *w, char *why)
{
    if (why) {
        pthread_mutex_lock(&w->mu);
        memcpy(why, w->why, SRDI_WIRE_WHY);
        pthread_mutex_unlock(&w->mu);
    }
}

bool pathwatch_failed(pathwatch *w, char *why)
{
    if (!atomic_load(&w->lost))
        return false;
    pw_why(w, why);
    return true;
}

/* Fail for good with what (logged the first time); false. */
static bool pw_lose(pathwatch *w, const char *what, char *why)
{
    pthread_mutex_lock(&w->mu);
    if (!atomic_load(&w->lost)) {
        snprintf(w->why, sizeof w->why, "%s" PW_VERDICT, what);
        log_error("%s (store %s)", w->why, w->path);
        atomic_store(&w->lost, true);
    }
    pthread_mutex_unlock(&w->mu);
    pw_why(w, why);
    return false;
}

/* Room for what pw_judge says, with PW_VERDICT after it. */
#define PW_WHAT (SRDI_WIRE_WHY + 1 - sizeof PW_VERDICT)

bool pathwatch_ok(pathwatch *w, char *why)
{
    char what[PW_WHAT];
    if (pathwatch_failed(w, why))
        return false;
    return !pw_wrong(w, what, sizeof what) || pw_lose(w, what, why);
}

bool pathwatch_group(pathwatch *w, char *why)
{
    char what[PW_WHAT];
    if (pathwatch_failed(w, why))
        return false;
    return !pw_wrong_named(w, what, sizeof what) || pw_lose(w, what, why);
}
