/* SPDX-License-Identifier: MIT */
/*
 * streams.c -- staging of chunked uploads (see streams.h). The table is a
 * list under one mutex; a chunk is written outside the mutex with the
 * stream marked busy, so the reaper and StreamEnd leave it alone until
 * the write is done.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "errno_map.h"
#include "format.h"
#include "log.h"
#include "stats.h"
#include "streams.h"
#include "wire.h"

typedef struct stream {
    uint64_t id, cid;
    uint32_t owner;    /* the connection's pipe id */
    bool gone;         /* its connection closed while a chunk was written */
    stream_staged st;
    uint64_t last_ms;  /* last chunk (or begin) */
    bool busy;         /* a chunk is being written */
    struct stream *next;
} stream;

struct streams {
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* wakes the reaper to stop */
    stream *list;
    size_t open, max_open;
    unsigned idle_ms;
    bool stopping;
    char *dir;           /* where staging files go */
    pthread_t reaper;
    uint64_t rng;        /* xorshift64* state, never 0 (under mu) */
};

static srd_err streams_syserr(char *why, const char *what)
{
    int e = errno ? errno : EIO;
    snprintf(why, SRDI_WIRE_WHY, "%s: %s", what, strerror(e));
    return srdi_errno(e);
}

/* Unlink s from the list (caller holds mu). */
static void streams_unlink(streams *ss, stream *s)
{
    for (stream **p = &ss->list; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            ss->open--;
            return;
        }
    }
}

static void streams_drop(stream *s)
{
    streams_staged_close(&s->st);
    free(s);
}

/* Drop streams idle for too long; returns how many. */
static size_t streams_reap(streams *ss, uint64_t now)
{
    size_t n = 0;
    pthread_mutex_lock(&ss->mu);
    stream **p = &ss->list;
    while (*p) {
        stream *s = *p;
        if (!s->busy && s->last_ms + ss->idle_ms <= now) {
            *p = s->next;
            ss->open--;
            log_warn("stream %016" PRIx64 " of client %016" PRIx64
                     " idle for %u ms: dropped (%" PRIu64 " bytes staged)",
                     s->id, s->cid, ss->idle_ms, s->st.len);
            streams_drop(s);
            n++;
        } else {
            p = &s->next;
        }
    }
    pthread_mutex_unlock(&ss->mu);
    return n;
}

static void *streams_reaper(void *arg)
{
    streams *ss = arg;
    unsigned tick = ss->idle_ms / 4;
    tick = tick < 10 ? 10 : tick > 1000 ? 1000 : tick;
    pthread_mutex_lock(&ss->mu);
    while (!ss->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(tick % 1000) * 1000000L;
        ts.tv_sec += tick / 1000 + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&ss->cv, &ss->mu, &ts);
        if (ss->stopping)
            break;
        pthread_mutex_unlock(&ss->mu);
        streams_reap(ss, stats_now_ms());
        pthread_mutex_lock(&ss->mu);
    }
    pthread_mutex_unlock(&ss->mu);
    return NULL;
}

/* A non-zero seed for the fallback id generator: getrandom, or when even
 * that fails, the clock, the pid and where the table lives (ASLR). */
static uint64_t streams_seed(const streams *ss)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
               ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)ss;
    }
    return seed ? seed : 0x9E3779B97F4A7C15ull;
}

/* xorshift64*: Marsaglia's xorshift64 step, its output scrambled by an
 * odd multiplier. Never returns 0 while the state is non-zero. */
static uint64_t streams_xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

srd_err streams_create(const char *store_abs, unsigned idle_ms,
                       size_t max_open, streams **out)
{
    streams *ss = calloc(1, sizeof *ss);
    char *tmp = strdup(store_abs);
    if (!ss || !tmp || !(ss->dir = strdup(dirname(tmp)))) {
        free(tmp);
        free(ss);
        return SRD_ENOMEM;
    }
    free(tmp);
    ss->idle_ms = idle_ms;
    ss->max_open = max_open;
    ss->rng = streams_seed(ss);
    pthread_mutex_init(&ss->mu, NULL);
    pthread_cond_init(&ss->cv, NULL);
    int e = pthread_create(&ss->reaper, NULL, streams_reaper, ss);
    if (e) {
        pthread_cond_destroy(&ss->cv);
        pthread_mutex_destroy(&ss->mu);
        free(ss->dir);
        free(ss);
        return srdi_errno(e);
    }
    *out = ss;
    return SRD_OK;
}

void streams_destroy(streams *ss)
{
    if (!ss)
        return;
    pthread_mutex_lock(&ss->mu);
    ss->stopping = true;
    pthread_cond_broadcast(&ss->cv);
    pthread_mutex_unlock(&ss->mu);
    pthread_join(ss->reaper, NULL);
    while (ss->list) {
        stream *s = ss->list;
        ss->list = s->next;
        streams_drop(s);
    }
    pthread_cond_destroy(&ss->cv);
    pthread_mutex_destroy(&ss->mu);
    free(ss->dir);
    free(ss);
}

/* An unnamed file in dir: O_TMPFILE, or a named one unlinked at once on
 * file systems without it. -1 with errno. */
static int streams_tmpfile(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR &&
                    errno != EINVAL))
        return fd;
    size_t n = strlen(dir) + sizeof "/.srdd-stream-XXXXXX";
    char *name = malloc(n);
    if (!name)
        return -1;
    snprintf(name, n, "%s/.srdd-stream-XXXXXX", dir);
    fd = mkostemp(name, O_CLOEXEC);
    if (fd >= 0)
        unlink(name);
    free(name);
    return fd;
}

static stream *streams_find(streams *ss, uint64_t id)
{
    for (stream *s = ss->list; s; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

/* A fresh non-zero id not in use (caller holds mu): from getrandom, or
 * from the table's xorshift64* generator (seeded from getrandom) when
 * getrandom fails, e.g. interrupted by a signal. */
static uint64_t streams_new_id(streams *ss)
{
    uint64_t id = 0;
    while (id == 0 || streams_find(ss, id)) {
        if (getrandom(&id, sizeof id, 0) != sizeof id)
            id = streams_xorshift(&ss->rng);
    }
    return id;
}

unsigned streams_reclaim_ms(const streams *ss)
{
    unsigned ms = ss->idle_ms / 8;
    return ms < 5000 ? ms : 5000;
}

/* Streams of owner (caller holds mu). */
static size_t streams_of(const streams *ss, uint32_t owner)
{
    size_t n = 0;
    for (const stream *s = ss->list; s; s = s->next)
        n += s->owner == owner;
    return n;
}

/* In a full table, drop the stream idle longest if it has been idle for
 * streams_reclaim_ms (caller holds mu); false when none has. */
static bool streams_reclaim(streams *ss, uint64_t now)
{
    stream *old = NULL;
    for (stream *s = ss->list; s; s = s->next)
        if (!s->busy && (!old || s->last_ms < old->last_ms))
            old = s;
    if (!old || old->last_ms + streams_reclaim_ms(ss) > now)
        return false;
    log_warn("stream %016" PRIx64 " of client %016" PRIx64 " idle for %"
             PRIu64 " ms: dropped to make room for a new one",
             old->id, old->cid, now - old->last_ms);
    streams_unlink(ss, old);
    streams_drop(old);
    return true;
}

/* Whether owner may open one more (caller holds mu). */
static srd_err streams_room(streams *ss, uint32_t owner, uint64_t now,
                            char *why)
{
    if (streams_of(ss, owner) >= STREAMS_PER_OWNER) {
        snprintf(why, SRDI_WIRE_WHY, "this connection has %u open streams, "
                 "the most one may have", STREAMS_PER_OWNER);
        return SRD_EBUSY;
    }
    if (ss->open >= ss->max_open && !streams_reclaim(ss, now)) {
        snprintf(why, SRDI_WIRE_WHY, "too many open streams (%zu), none "
                 "idle for %u ms", ss->max_open, streams_reclaim_ms(ss));
        return SRD_EBUSY;
    }
    return SRD_OK;
}

srd_err streams_begin(streams *ss, uint64_t cid, uint32_t owner,
                      uint64_t key_hash, uint64_t *id, char *why)
{
    stream *s = calloc(1, sizeof *s);
    if (!s)
        return SRD_ENOMEM;
    s->st.fd = streams_tmpfile(ss->dir);
    if (s->st.fd < 0) {
        free(s);
        return streams_syserr(why, "cannot create a staging file next to "
                                   "the store");
    }
    s->cid = cid;
    s->owner = owner;
    s->st.key_hash = key_hash;
    s->last_ms = stats_now_ms();
    pthread_mutex_lock(&ss->mu);
    srd_err rc = streams_room(ss, owner, s->last_ms, why);
    if (rc == SRD_OK) {
        s->id = *id = streams_new_id(ss);
        s->next = ss->list;
        ss->list = s;
        ss->open++;
    }
    pthread_mutex_unlock(&ss->mu);
    if (rc != SRD_OK)
        streams_drop(s);
    return rc;
}

void streams_drop_owner(streams *ss, uint32_t owner)
{
    pthread_mutex_lock(&ss->mu);
    stream **p = &ss->list;
    while (*p) {
        stream *s = *p;
        if (s->owner != owner) {
            p = &s->next;
        } else if (s->busy) {
            s->gone = true;
            p = &s->next;
        } else {
            *p = s->next;
            ss->open--;
            streams_drop(s);
        }
    }
    pthread_mutex_unlock(&ss->mu);
}

/* Find stream id of cid and check it is idle (caller holds mu). */
static srd_err streams_get(streams *ss, uint64_t cid, uint64_t id,
                           stream **out, char *why)
{
    stream *s = streams_find(ss, id);
    if (!s || s->cid != cid) {
        snprintf(why, SRDI_WIRE_WHY,
                 "unknown stream %016" PRIx64 " (never begun, ended, "
                 "dropped after idling, or another client's)", id);
        return SRD_ENOTFOUND;
    }
    if (s->busy) {
        snprintf(why, SRDI_WIRE_WHY,
                 "stream %016" PRIx64 " is busy with another chunk: send "
                 "chunks one after another", id);
        return SRD_ESTATE;
    }
    *out = s;
    return SRD_OK;
}

static int streams_write_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

srd_err streams_chunk(streams *ss, uint64_t cid, uint64_t id, const void *p,
                      size_t n, char *why)
{
    stream *s;
    pthread_mutex_lock(&ss->mu);
    srd_err rc = streams_get(ss, cid, id, &s, why);
    if (rc == SRD_OK)
        s->busy = true;
    pthread_mutex_unlock(&ss->mu);
    if (rc != SRD_OK)
        return rc;
    errno = 0;
    int wr = streams_write_all(s->st.fd, p, n, s->st.len);
    if (wr != 0)
        rc = streams_syserr(why, "cannot stage the chunk; stream dropped");
    pthread_mutex_lock(&ss->mu);
    s->busy = false;
    if (rc == SRD_OK && s->gone)
        rc = SRD_EUNREACHABLE; /* its connection closed meanwhile */
    if (rc == SRD_OK) {
        if (s->st.len == 0 && n > 0)
            s->st.first = *(const uint8_t *)p;
        s->st.crc = srdi_crc32(s->st.crc, p, n);
        s->st.len += n;
        s->last_ms = stats_now_ms();
    } else {
        streams_unlink(ss, s);
    }
    pthread_mutex_unlock(&ss->mu);
    if (rc != SRD_OK)
        streams_drop(s);
    return rc;
}

srd_err streams_take(streams *ss, uint64_t cid, uint64_t id,
                     stream_staged *out, char *why)
{
    stream *s;
    pthread_mutex_lock(&ss->mu);
    srd_err rc = streams_get(ss, cid, id, &s, why);
    if (rc == SRD_OK)
        streams_unlink(ss, s);
    pthread_mutex_unlock(&ss->mu);
    if (rc != SRD_OK)
        return rc;
    *out = s->st;
    free(s);
    return SRD_OK;
}

void streams_staged_close(stream_staged *s)
{
    if (s && s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

size_t streams_count(streams *ss)
{
    pthread_mutex_lock(&ss->mu);
    size_t n = ss->open;
    pthread_mutex_unlock(&ss->mu);
    return n;
}
