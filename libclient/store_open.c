/* SPDX-License-Identifier: MIT */
/*
 * store_open.c -- opening and closing a handle: the options, the files
 * and the lock, the hook by which front.c diverts an open to client mode
 * (srdd holds the store), an open from the shared index file or the
 * whole recovery, and the writer's start; close syncs and records what
 * the next open trusts.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errno_map.h"
#include "format.h"
#include "handover.h"
#include "openrec.h"
#include "store_impl.h"

#define ST_KNOWN_FLAGS                                                      \
    (SRD_OPEN_CREATE | SRD_OPEN_READONLY | SRD_OPEN_REPAIR |                \
     SRD_OPEN_EMBEDDED | SRD_OPEN_CLIENT | SRD_OPEN_GROUP)

/* ======================================================================== */
/* Open and close                                                           */
/* ======================================================================== */

void srd_options_init(srd_options *opts)
{
    if (!opts)
        return;
    opts->flags = SRD_OPEN_CREATE;
    opts->sync = SRD_SYNC_ALWAYS;
    opts->sync_interval_ms = 100;
    opts->layout = SRD_LAYOUT_ALIGNED64;
}

/* *made: the lock file is this open's (removed again if it fails). */
static srd_err st_open_files(srd_store *st, const srd_options *o, int *lfd,
                             int *fd, bool *made)
{
    if (!(o->flags & SRD_OPEN_READONLY)) {
        srd_err rc = srdi_writer_lock(st->path, o->flags & SRD_OPEN_CREATE,
                                      o->flags & SRD_OPEN_GROUP ? 0640 : 0600,
                                      lfd, fd, made);
        struct stat lb;
        if (rc == SRD_OK && fstat(*lfd, &lb) == 0 &&
            srdi_handover_in_progress(lb.st_dev, lb.st_ino)) {
            /* between a writer's release and its srdd's lock: not ours */
            close(*fd);
            srdi_writer_unlock(st->path, *lfd, *made);
            *fd = *lfd = -1;
            *made = false;
            rc = SRD_EBUSY;
        }
        if (rc == SRD_OK) {
            /* We hold the lock: any compaction file is a crashed one. */
            char tmp[4096];
            snprintf(tmp, sizeof tmp, "%s.compact", st->path);
            unlink(tmp);
        }
        return rc;
    }
    /* O_NONBLOCK: opening a FIFO must not hang; regular files ignore it. */
    *fd = open(st->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (*fd < 0)
        return srdi_errno(errno);
    struct stat sb;
    srd_err rc = SRD_OK;
    if (fstat(*fd, &sb) != 0)
        rc = srdi_errno(errno);
    else if (S_ISDIR(sb.st_mode))
        rc = srdi_errno(EISDIR);
    else if (!S_ISREG(sb.st_mode))
        rc = SRD_EINVAL;
    if (rc != SRD_OK) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

/* A switch must not wait behind a stream of writes: prefer the writer. */
static void st_gate_init(srd_store *st)
{
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&st->gate, &a);
    pthread_rwlockattr_destroy(&a);
}

srd_err srdi_store_open(const char *path, const srd_options *opts,
                        srdi_open_divert_fn divert, srd_store **out)
{
    srd_options o;
    if (out)
        *out = NULL;
    if (!path || !*path || !out)
        return SRD_EINVAL;
    if (opts)
        o = *opts;
    else
        srd_options_init(&o);
    if ((o.flags & ~ST_KNOWN_FLAGS) || (unsigned)o.sync > SRD_SYNC_NEVER ||
        (unsigned)o.layout > SRD_LAYOUT_UNPADDED)
        return SRD_EINVAL;
    srd_store *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        return SRD_ENOMEM;
    }
    st->flags = o.flags;
    st->sync_never = o.sync == SRD_SYNC_NEVER;
    st->sync_mode = o.sync;
    st->sync_ms = o.sync_interval_ms;
    st->ro_fd = -1;
    st->pid = getpid();
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    st_gate_init(st);
    int lfd = -1, fd = -1;
    bool lock_made = false;
    srdi_openrec rec = {0};
    st_snap *sn = NULL;
    srd_err rc = (o.flags & SRD_OPEN_CLIENT)
                     ? SRD_EBUSY
                     : st_open_files(st, &o, &lfd, &fd, &lock_made);
    /* ---- client mode: srdd holds the store (front.c, client.c) ---- */
    if (divert && divert(st, o.flags, rc, &rc)) {
        if (rc != SRD_OK) {
            srdi_store_close(st);
            return rc;
        }
        *out = st;
        return SRD_OK;
    }
    bool fast = rc == SRD_OK && (o.flags & SRD_OPEN_READONLY) &&
                srdi_store_open_ro_shared(st, fd, &sn) == SRD_OK;
    bool ran = false;
    if (rc == SRD_OK && !(o.flags & SRD_OPEN_READONLY) &&
        srdi_store_shared_enabled())
        rc = srdi_store_open_writer_shared(st, fd, o.flags, &rec, &sn, &ran);
    fast = fast || sn != NULL;
    if (rc == SRD_OK && !fast && !ran)
        rc = srdi_openrec_run(st->path, fd, o.flags,
                              srdi_format_align(o.layout), &rec);
    if (!fast)
        st->align = rec.align;
    if (rc == SRD_OK && !fast)
        rc = (o.flags & SRD_OPEN_READONLY)
                 ? srdi_store_load_reader(st, fd, rec.tail, rec.entries, &sn)
                 : srdi_store_load(st, fd, rec.tail, rec.entries, &sn);
    if (rc == SRD_OK) {
        atomic_init(&st->snap, sn);
        if (o.flags & SRD_OPEN_READONLY) {
            st->ro_fd = fd;
        } else {
            rc = srdi_writer_start(st->path, lfd, fd, rec.tail,
                                   rec.trusted ? &rec.rec : NULL, o.sync,
                                   o.sync_interval_ms, &st->w);
            lfd = fd = -1; /* owned by the writer now, also on failure */
            if (rc == SRD_OK) {
                srdi_writer_set_align(st->w, st->align);
                if (st->shw)
                    srdi_store_shared_cover(st); /* taken over at open */
                else
                    srdi_store_shared_open(st);
            }
        }
    }
    if (rc != SRD_OK) {
        if (fd >= 0)
            close(fd);
        srdi_writer_unlock(st->path, lfd, lock_made); /* a refused path */
        st->ro_fd = -1;
        srdi_store_close(st);
        return rc;
    }
    *out = st;
    return SRD_OK;
}

srd_err srdi_store_close(srd_store *st)
{
    if (!st)
        return SRD_OK;
    srd_err rc = SRD_OK;
    if (st->w && srdi_store_forked(st))
        srdi_writer_abandon(st->w); /* the parent's to sync and record */
    else if (st->w)
        rc = srdi_writer_stop(st->w);
    if (st->shw && srdi_store_forked(st)) {
        srdi_shxw_forget(st->shw); /* the parent's file: leave it as it is */
    } else if (st->shw) {
        st->n_pend = 0; /* nothing is in flight any more */
        srdi_store_shared_cover(st);
        /* clean vouches for the store too: only after a syncing close */
        srdi_shxw_close(st->shw, rc == SRD_OK && !st->sync_never);
    }
    free(st->pend);
    if (st->ro_fd >= 0)
        close(st->ro_fd);
    srdi_ebr_drain(&st->retired);
    srdi_store_snap_free(atomic_load(&st->snap));
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    pthread_rwlock_destroy(&st->gate);
    free(st->path);
    free(st);
    return rc;
}

const char *srd_path(const srd_store *st)
{
    return st ? st->path : NULL;
}
