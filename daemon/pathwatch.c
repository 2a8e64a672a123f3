/* SPDX-License-Identifier: MIT */
/*
 * pathwatch.c -- the store path check of srdd (see pathwatch.h). A
 * compaction renames a new file over the path and then switches the
 * writer to it while it owns the writer exclusively (`busy`): the check
 * waits for that to end, so the path and the writer's file are compared
 * only when they agree in a healthy srdd.
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

/* What is wrong with the path (into why), or false when nothing is. */
static bool pw_wrong(pathwatch *w, char *why, size_t cap)
{
    srd_store *st = w->st;
    struct stat have, named;
    pthread_mutex_lock(&st->mu);
    while (st->busy) /* a compaction may be between rename and switch */
        pthread_cond_wait(&st->cv, &st->mu);
    int fe = fstat(srdi_writer_fd(st->w), &have) == 0 ? 0 : errno;
    uint64_t tail = srdi_writer_tail(st->w);
    pthread_mutex_unlock(&st->mu);
    int se = stat(w->path, &named) == 0 ? 0 : errno;
    if (fe)
        snprintf(why, cap, "cannot stat the store file srdd writes: %s",
                 strerror(fe));
    else if (se)
        snprintf(why, cap, "the store path is gone (%s): it was removed "
                 "or moved away under srdd", strerror(se));
    else if (named.st_dev != have.st_dev || named.st_ino != have.st_ino)
        snprintf(why, cap, "the store path names another file now "
                 "(replaced under srdd)");
    else if ((uint64_t)have.st_size < tail)
        snprintf(why, cap, "the store file was cut to %" PRIu64 " bytes "
                 "by someone else (srdd wrote %" PRIu64 ")",
                 (uint64_t)have.st_size, tail);
    else
        return false;
    return true;
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

bool pathwatch_ok(pathwatch *w, char *why)
{
    if (!atomic_load(&w->lost)) {
        char what[SRDI_WIRE_WHY + 1 - sizeof PW_VERDICT];
        if (!pw_wrong(w, what, sizeof what))
            return true;
        pthread_mutex_lock(&w->mu);
        if (!atomic_load(&w->lost)) {
            snprintf(w->why, sizeof w->why, "%s" PW_VERDICT, what);
            log_error("%s (store %s)", w->why, w->path);
            atomic_store(&w->lost, true);
        }
        pthread_mutex_unlock(&w->mu);
    }
    pw_why(w, why);
    return false;
}
