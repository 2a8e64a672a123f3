/* SPDX-License-Identifier: MIT */
/*
 * store_follow.c -- the engine's side of a handle whose writer is another
 * process (client mode: srdd writes, client.c tells what it wrote): load
 * the file that writer names, adopt the entries it reports, walk or
 * reload the file up to a tail it reports. Each function takes the
 * handle's mutex itself: the updates flow one way, from the caller into
 * the handle's index, and the caller never holds the handle's lock.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errno_map.h"
#include "store_impl.h"

/* Caller holds mu. */
static bool fl_same_file(const srd_store *st, uint64_t dev, uint64_t ino)
{
    struct stat sb;
    return st->ro_fd >= 0 && fstat(st->ro_fd, &sb) == 0 &&
           (uint64_t)sb.st_dev == dev && (uint64_t)sb.st_ino == ino;
}

/* Caller holds mu. */
static bool fl_holds(const srd_store *st, uint64_t tail)
{
    struct stat sb;
    return st->ro_fd >= 0 && fstat(st->ro_fd, &sb) == 0 &&
           (uint64_t)sb.st_size >= tail;
}

/* Open the store read-only and make sure it is the file (dev, ino) (a
 * compaction may have replaced it between the writer's word and our
 * open); caller holds mu. */
static srd_err fl_open_file(srd_store *st, uint64_t dev, uint64_t ino)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (st->ro_fd >= 0)
            close(st->ro_fd);
        st->ro_fd = open(st->path, O_RDONLY | O_CLOEXEC);
        if (st->ro_fd < 0)
            return srdi_errno(errno);
        if (fl_same_file(st, dev, ino))
            return SRD_OK;
    }
    return SRD_ESTATE;
}

srd_err srdi_store_follow_start(srd_store *st, uint64_t dev, uint64_t ino,
                                uint64_t tail)
{
    pthread_mutex_lock(&st->mu);
    st_snap *sn = NULL;
    srd_err rc = fl_open_file(st, dev, ino);
    if (rc == SRD_OK && !fl_holds(st, tail))
        rc = SRD_ECORRUPT;
    if (rc == SRD_OK) /* the store's layout, from its entries */
        rc = srdi_store_layout_of(st->ro_fd, tail, &st->align);
    if (rc == SRD_OK)
        rc = srdi_store_load_reader(st, st->ro_fd, tail, 0, &sn);
    /* A writer handing over (multiproc.c) has readers in its snap: the
     * new one is published and the old one retired, never dropped. */
    if (rc == SRD_OK && atomic_load(&st->snap))
        st->follow_live = true;
    if (rc == SRD_OK) {
        srdi_store_publish(st, sn);
        st->counted = tail;
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

void srdi_store_follow_abort(srd_store *st)
{
    pthread_mutex_lock(&st->mu);
    if (!st->follow_live) { /* a new handle: nobody reads it yet */
        if (st->ro_fd >= 0)
            close(st->ro_fd);
        st->ro_fd = -1;
        srdi_store_snap_free(atomic_exchange(&st->snap, NULL));
    }
    pthread_mutex_unlock(&st->mu);
}

bool srdi_store_follow_is(srd_store *st, uint64_t dev, uint64_t ino)
{
    pthread_mutex_lock(&st->mu);
    bool same = fl_same_file(st, dev, ino);
    pthread_mutex_unlock(&st->mu);
    return same;
}

/* Whether the shared index that st reads through holds every entry that
 * ends at or below tail (caller holds mu): srdd stores an entry's slot
 * before its covered tail passes it (shindex.c, invariant 2), and
 * srdi_store_apply gives such entries no slot of their own. */
static bool fl_covered(srd_store *st, uint64_t tail)
{
    st_snap *sn = atomic_load(&st->snap);
    return sn->shx && srdi_shx_covered(sn->shx) >= tail;
}

srd_err srdi_store_follow_adopt(srd_store *st, const srdi_entry *e, size_t n,
                                uint64_t tail, bool count)
{
    pthread_mutex_lock(&st->mu);
    srd_err rc = fl_holds(st, tail) ? SRD_OK : SRD_ECORRUPT;
    uint64_t entries = st->entries;
    /* the committed tail first (srdi_store_adopt's order), then the
     * entries the shared index does not cover yet, if any: a reply's
     * entries usually are by the time it arrives (srdd stores the slots
     * before it replies), so reading them costs nothing per entry */
    if (rc == SRD_OK)
        rc = srdi_store_adopt(st, NULL, 0, tail);
    if (rc == SRD_OK && n > 0 && !fl_covered(st, tail))
        rc = srdi_store_apply(st, atomic_load(&st->snap), e, n);
    if (count && rc == SRD_OK) { /* below st->counted: counted already */
        for (size_t i = 0; i < n; i++)
            entries += e[i].end > st->counted;
        if (tail > st->counted)
            st->counted = tail;
    }
    st->entries = entries;
    pthread_mutex_unlock(&st->mu);
    return rc;
}

srd_err srdi_store_follow_walk(srd_store *st, uint64_t base, uint64_t tail)
{
    pthread_mutex_lock(&st->mu);
    /* what the shared index vouched for is counted and indexed already */
    uint64_t from = base > st->counted ? base : st->counted;
    srd_err rc = fl_holds(st, tail) ? srdi_store_catch_up(st, from, tail,
                                                          NULL)
                                    : SRD_ECORRUPT;
    if (rc == SRD_OK && tail > st->counted)
        st->counted = tail;
    pthread_mutex_unlock(&st->mu);
    return rc;
}

srd_err srdi_store_follow_reload(srd_store *st, uint64_t tail)
{
    pthread_mutex_lock(&st->mu);
    srd_err rc = srdi_store_reload(st, tail, NULL);
    if (rc == SRD_OK) /* tail may be UINT64_MAX: the one recovery found */
        st->counted = atomic_load(&atomic_load(&st->snap)->map->committed);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

srd_err srdi_store_follow_raise(srd_store *st, bool wait)
{
    if (!wait && pthread_mutex_trylock(&st->mu) != 0)
        return SRD_OK; /* a read never waits for the updater */
    if (wait)
        pthread_mutex_lock(&st->mu);
    srd_err rc = srdi_store_shared_raise(st);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

bool srdi_store_follow_shared(srd_store *st)
{
    pthread_mutex_lock(&st->mu);
    bool shared = atomic_load(&st->snap)->shx != NULL;
    pthread_mutex_unlock(&st->mu);
    return shared;
}

uint64_t srdi_store_entries(srd_store *st)
{
    pthread_mutex_lock(&st->mu);
    uint64_t n = st->entries;
    pthread_mutex_unlock(&st->mu);
    return n;
}
