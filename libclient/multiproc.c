/* SPDX-License-Identifier: MIT */
/*
 * multiproc.c -- srd_open and srd_close for many processes on one store
 * (see multiproc.h). The opener's side: share this process's handle
 * (registry.c); else open as before; when the store is locked by an
 * embedded writer, ask it to hand over (handover.c) and open as a client
 * of the srdd it started, retrying within a deadline through the races
 * (two askers, a writer closing, an srdd dying). The writer's side: the
 * listener calls mp_switch, which under the handle's gate and exclusive
 * section releases the writer, starts srdd (autostart.c) and attaches as
 * its client; if that fails it takes the writer back.
 */
#include "srd_features.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "autostart.h"
#include "client.h"
#include "envnum.h"
#include "front.h"
#include "handover.h"
#include "multiproc.h"
#include "registry.h"
#include "store_impl.h"

/* No listener answering for this long: the holder does not hand over. */
#define MP_REFUSED_MS 2000u
#define MP_RETRY_NS 10000000L

static _Thread_local char mp_why[SRDI_HANDOVER_WHY + 200];

const char *srd_open_why(void) { return mp_why; }

static void mp_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mp_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(mp_why, sizeof mp_why, fmt, ap);
    va_end(ap);
}

static uint64_t mp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ======================================================================== */
/* The writer's side: hand over                                             */
/* ======================================================================== */

/* Connect the released writer's handle to srdd and send its writes
 * there from now on (under the exclusive section and the gate). */
static srd_err mp_attach(srd_store *st)
{
    srd_err rc = srdi_client_open(st);
    if (rc == SRD_OK)
        srdi_front_become_client(st, st->client);
    return rc;
}

/* The hand-over failed after the writer was released: open the store
 * embedded again and move that writer into st; when srdd holds the store
 * after all, attach to it. */
static srd_err mp_take_back(srd_store *st, srd_err failed, char *why,
                            size_t cap)
{
    srd_options o;
    srd_options_init(&o);
    o.flags = (st->flags & ~(unsigned)SRD_OPEN_CREATE) | SRD_OPEN_EMBEDDED;
    o.sync = st->sync_mode;
    o.sync_interval_ms = st->sync_ms;
    srd_store *fresh = NULL;
    srd_err rc = srdi_front_open(st->path, &o, &fresh);
    if (rc == SRD_OK) {
        srdi_store_writer_adopt(st, fresh);
        return failed; /* still the embedded writer; the asker is told */
    }
    if (rc == SRD_EBUSY && mp_attach(st) == SRD_OK)
        return SRD_OK; /* srdd came up late: its client after all */
    size_t n = strlen(why);
    snprintf(why + n, cap - n, "; this handle could not take the writer "
             "back (%s): its writes fail until it is reopened",
             srd_strerror(rc));
    return failed;
}

static srd_err mp_switch_locked(srd_store *st, char *why, size_t cap)
{
    char bin[PATH_MAX];
    srd_err rc = srdi_autostart_find(bin, sizeof bin, why, cap);
    if (rc != SRD_OK)
        return rc; /* nothing changed: still the writer */
    if (st->client || !st->w)
        return SRD_OK; /* handed over already */
    rc = srdi_store_writer_release(st);
    if (rc != SRD_OK && st->w) {
        snprintf(why, cap, "the writer could not sync before handing "
                 "over: %s", srd_strerror(rc));
        return rc;
    }
    srdi_autostart_conf conf;
    srdi_autostart_conf_init(&conf, st->sync_mode, st->sync_ms);
    dev_t dev;
    ino_t ino;
    if (srdi_registry_lock_id(st->path, &dev, &ino))
        snprintf(conf.taker, sizeof conf.taker, "%llx:%llx",
                 (unsigned long long)dev, (unsigned long long)ino);
    rc = srdi_autostart_spawn(st->path, &conf, why, cap);
    if (rc == SRD_OK) {
        rc = mp_attach(st);
        if (rc != SRD_OK)
            snprintf(why, cap, "srdd started but the writer could not "
                     "become its client: %s", srd_strerror(rc));
    }
    return rc == SRD_OK ? SRD_OK : mp_take_back(st, rc, why, cap);
}

/* The listener's callback: no write runs meanwhile (gate), no stream or
 * compaction (exclusive section). */
static srd_err mp_switch(void *ctx, char *why, size_t cap)
{
    srd_store *st = ctx;
    pthread_rwlock_wrlock(&st->gate);
    srdi_store_begin_exclusive(st);
    srd_err rc = mp_switch_locked(st, why, cap);
    /* Neither writer nor client any more: the role is gone, and a listener
     * without the lock would look like a hand-over forever. */
    if (rc != SRD_OK && !st->w && !st->client)
        rc = SRD_OK;
    srdi_store_end_exclusive(st);
    pthread_rwlock_unlock(&st->gate);
    return rc;
}

/* A new embedded writer: listen for hand-over requests. Holding the lock,
 * it also removes a discovery file left by a killed srdd, which would
 * send openers to a daemon that is not there. */
static void mp_listen(srd_store *st)
{
    dev_t dev;
    ino_t ino;
    char disc[PATH_MAX + 8];
    if (snprintf(disc, sizeof disc, "%s.srdd", st->path) < (int)sizeof disc)
        unlink(disc);
    if (srdi_registry_lock_id(st->path, &dev, &ino))
        (void)srdi_handover_listen(dev, ino, mp_switch, st, &st->ho);
}

/* ======================================================================== */
/* The opener's side                                                        */
/* ======================================================================== */

static void mp_pause(void)
{
    const struct timespec t = {0, MP_RETRY_NS};
    nanosleep(&t, NULL);
}

/* One request; SRD_OK when it is worth opening again now, SRD_EAGAIN-like
 * SRD_ECANCELED to retry later, anything else final (mp_why set). */
static srd_err mp_ask_once(const char *path, unsigned left_ms,
                           uint64_t *refused_since)
{
    dev_t dev;
    ino_t ino;
    if (!srdi_registry_lock_id(path, &dev, &ino))
        return SRD_OK; /* no lock file: open again */
    srd_err ans = SRD_OK;
    char why[SRDI_HANDOVER_WHY];
    srd_err t = srdi_handover_ask(dev, ino, left_ms, &ans, why, sizeof why);
    if (t == SRD_OK && ans == SRD_OK)
        return SRD_OK;
    if (t == SRD_OK) {
        mp_say("%s is held by an embedded writer that could not hand over "
               "to srdd: %s (%s)", path, why[0] ? why : "no reason given",
               srd_strerror(ans));
        return SRD_EBUSY;
    }
    if (t == SRD_EPERM) {
        mp_say("%s is held by a process of another user: it is not asked "
               "to hand over", path);
        return SRD_EBUSY;
    }
    if (t != SRD_EUNREACHABLE) {
        *refused_since = 0;
        return SRD_ECANCELED;
    }
    uint64_t now = mp_now_ms();
    if (!*refused_since)
        *refused_since = now;
    if (now - *refused_since < MP_REFUSED_MS)
        return SRD_ECANCELED;
    mp_say("%s is locked by a writer that does not hand over (opened with "
           "SRD_OPEN_EMBEDDED or SRD_AUTOSTART=0, an older srd, or an srdd "
           "still starting)", path);
    return SRD_EBUSY;
}

/* The store is locked and srdd does not serve it: ask, open, repeat. */
static srd_err mp_open_asking(const char *path, const srd_options *o,
                              srd_err rc, srd_store **out)
{
    unsigned timeout = srdi_env_uint("SRD_AUTOSTART_TIMEOUT_MS",
                                     SRDI_AUTOSTART_TIMEOUT_MS, 1, 3600000);
    uint64_t end = mp_now_ms() + timeout, refused_since = 0;
    srd_err first = rc;
    for (;;) {
        uint64_t now = mp_now_ms();
        if (now >= end) {
            mp_say("%s: no hand-over within %u ms (SRD_AUTOSTART_TIMEOUT_MS)",
                   path, timeout);
            return first;
        }
        srd_err a = mp_ask_once(path, (unsigned)(end - now), &refused_since);
        if (a != SRD_OK && a != SRD_ECANCELED)
            return a == SRD_EBUSY ? first : a;
        if (a == SRD_ECANCELED)
            mp_pause();
        rc = srdi_front_open(path, o, out);
        if (rc != SRD_EBUSY && rc != SRD_EUNREACHABLE)
            return rc;
    }
}

static void mp_say_opt_out(const char *path, unsigned flags)
{
    mp_say("%s is locked by another writer and srd_open does not hand "
           "over here (%s)", path,
           (flags & SRD_OPEN_EMBEDDED)
               ? "SRD_OPEN_EMBEDDED; in Python autostart=False"
               : "SRD_AUTOSTART=0");
}

srd_err srdi_multi_refuse(const char *what)
{
    mp_say("srd_open: %s", what);
    return SRD_EINVAL;
}

srd_err srdi_multi_open(const char *path, const srd_options *o,
                        srd_store **out)
{
    mp_why[0] = 0;
    if (!srdi_autostart_enabled(o->flags)) {
        srd_err rc = srdi_front_open(path, o, out);
        if (rc == SRD_EBUSY && !(o->flags & SRD_OPEN_CLIENT))
            mp_say_opt_out(path, o->flags);
        return rc;
    }
    srdi_registry_lock();
    srd_store *st = srdi_registry_share(path);
    srd_err rc = SRD_OK;
    if (!st) {
        rc = srdi_front_open(path, o, &st);
        if (rc == SRD_EBUSY || rc == SRD_EUNREACHABLE)
            rc = mp_open_asking(path, o, rc, &st);
        if (rc == SRD_OK) {
            st->registered = srdi_registry_add(st, path);
            if (st->w)
                mp_listen(st);
        }
    }
    srdi_registry_unlock();
    *out = rc == SRD_OK ? st : NULL;
    return rc;
}

srd_err srdi_multi_close(srd_store *st)
{
    if (st->registered) {
        srdi_registry_lock();
        bool last = srdi_registry_release(st);
        srdi_registry_unlock();
        if (!last)
            return SRD_OK;
    }
    srdi_handover_stop(st->ho);
    st->ho = NULL;
    return srdi_front_close(st);
}
