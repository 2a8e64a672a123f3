/* SPDX-License-Identifier: MIT */
/*
 * store_write.c -- the write path of a handle: turns at the writer (the
 * exclusive section of streams and compaction, in-flight appends), the
 * two halves of a write (append, then sync and index update: group
 * commit), puts, deletes, batches, streams and sync. These are the
 * embedded implementations of srd.h's writes: front.c checks the
 * arguments and calls them for a local handle; srdd calls them too.
 */
#include "srd_features.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "format.h"
#include "store_impl.h"

/* ======================================================================== */
/* Writes                                                                   */
/* ======================================================================== */

void srdi_store_begin_exclusive(srd_store *st)
{
    pthread_mutex_lock(&st->mu);
    while (st->busy)
        pthread_cond_wait(&st->cv, &st->mu);
    st->busy = true;
    while (st->inflight > 0)
        pthread_cond_wait(&st->cv, &st->mu);
    pthread_mutex_unlock(&st->mu);
}

void srdi_store_end_exclusive(srd_store *st)
{
    pthread_mutex_lock(&st->mu);
    st->busy = false;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* This process's pid, kept in a page the kernel zeroes in the child of
 * every fork (MADV_WIPEONFORK, whatever made the child: fork, _Fork, a
 * raw clone), so a write asks getpid (a system call) only when the page
 * does not hold the handle's pid: a child reads 0, never its parent's
 * pid. Without the page (madvise refused): getpid every time. Threads
 * share the page and the pid; a vfork child may only exec or exit. The
 * page is made when the library loads, so no write ever makes the
 * mmap: the calls of a workload are the same from its first write on
 * (check_fault_sweep numbers them). */
static _Atomic pid_t *st_pid_page;

__attribute__((constructor)) static void st_pid_setup(void)
{
#ifdef MADV_WIPEONFORK
    size_t len = (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return;
    if (madvise(p, len, MADV_WIPEONFORK) != 0) {
        munmap(p, len);
        return;
    }
    st_pid_page = p;
#endif
}

bool srdi_store_forked(const srd_store *st)
{
    _Atomic pid_t *page = st_pid_page;
    if (page && atomic_load_explicit(page, memory_order_relaxed) == st->pid)
        return false;
    pid_t me = getpid();
    if (page)
        atomic_store_explicit(page, me, memory_order_relaxed);
    return st->pid != me;
}

srd_err srdi_store_writable(const srd_store *st)
{
    if (!st)
        return SRD_EINVAL;
    if (st->w && srdi_store_forked(st))
        return SRD_EFORKED; /* the parent's writer: its writes would be lost */
    return st->w ? SRD_OK : SRD_EREADONLY;
}

/* An append's turn: wait until no stream or compaction owns the writer;
 * on leaving, the append counts as in flight until srdi_store_finish. */
static void st_append_enter(srd_store *st)
{
    pthread_mutex_lock(&st->mu);
    while (st->busy)
        pthread_cond_wait(&st->cv, &st->mu);
}

static void st_append_leave(srd_store *st, bool placed, uint64_t start)
{
    if (placed)
        srdi_store_pend_push(st, start);
    st->inflight++;
    pthread_mutex_unlock(&st->mu);
}

/* Append ops as one unit, or (unit false) as n units of one entry. */
static srd_err st_append_ops(srd_store *st, const srdi_op *ops, size_t n,
                             srdi_entry *placed, bool unit)
{
    st_append_enter(st);
    srd_err rc = srdi_writer_append(st->w, ops, n, placed, unit);
    st_append_leave(st, rc == SRD_OK && n > 0,
                    rc == SRD_OK && n > 0 ? placed[0].start : 0);
    return rc;
}

srd_err srdi_store_append_unit(srd_store *st, const srdi_op *ops, size_t n,
                               srdi_entry *placed)
{
    return st_append_ops(st, ops, n, placed, true);
}

srd_err srdi_store_append_each(srd_store *st, const srdi_op *ops, size_t n,
                               srdi_entry *placed)
{
    return st_append_ops(st, ops, n, placed, false);
}

srd_err srdi_store_append_file(srd_store *st, uint64_t key_hash, int src_fd,
                               uint64_t len, uint32_t crc, srdi_entry *placed)
{
    st_append_enter(st);
    srd_err rc = srdi_writer_append_file(st->w, key_hash, src_fd, len, crc,
                                         placed);
    st_append_leave(st, rc == SRD_OK, rc == SRD_OK ? placed->start : 0);
    return rc;
}

srd_err srdi_store_finish(srd_store *st, const srdi_entry *placed, size_t n,
                          srd_err rc)
{
    if (rc == SRD_OK && n > 0)
        rc = srdi_writer_sync_to(st->w, placed[n - 1].end);
    pthread_mutex_lock(&st->mu);
    if (rc == SRD_OK && n > 0)
        rc = srdi_store_adopt(st, placed, n, placed[n - 1].end);
    if (n > 0) {
        srdi_store_pend_pop(st, placed[0].start);
        srdi_store_shared_cover(st);
    }
    if (--st->inflight == 0)
        pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

/* Append ops as one unit, wait for durability, update the index. */
static srd_err st_write_unit(srd_store *st, const srdi_op *ops, size_t n)
{
    srdi_entry one = {0};
    srdi_entry *placed = n == 1 ? &one : malloc(n * sizeof *placed);
    if (!placed)
        return SRD_ENOMEM;
    srd_err rc = srdi_store_append_unit(st, ops, n, placed);
    rc = srdi_store_finish(st, placed, rc == SRD_OK ? n : 0, rc);
    if (placed != &one)
        free(placed);
    return rc;
}

/* Up to this many keys of a put or delete are hashed on the stack. */
#define ST_SMALL 8

srd_err srdi_store_put(srd_store *st, const srd_val *keys,
                       const srd_val *values, size_t n)
{
    srd_err rc = srdi_store_writable(st);
    if (rc != SRD_OK || n == 0)
        return rc;
    if (n > SIZE_MAX / sizeof(srdi_op))
        return SRD_EINVAL;
    srdi_op small[ST_SMALL];
    srdi_op *ops = n <= ST_SMALL ? small : malloc(n * sizeof *ops);
    if (!ops)
        return SRD_ENOMEM;
    for (size_t i = 0; i < n; i++)
        ops[i] = (srdi_op){srdi_key_of(keys[i]), values[i].ptr,
                           values[i].len, false};
    rc = st_write_unit(st, ops, n);
    if (ops != small)
        free(ops);
    return rc;
}

/* Tombstones for the present, distinct keys among hashes[0..n). */
static srd_err st_delete_hashes(srd_store *st, uint64_t *hashes, size_t n,
                                size_t *deleted)
{
    qsort(hashes, n, sizeof *hashes, srdi_cmp_u64);
    srdi_op *ops = malloc((n ? n : 1) * sizeof *ops);
    if (!ops)
        return SRD_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool there;
        if (i > 0 && hashes[i] == hashes[i - 1])
            continue;
        srd_err rc = srd_exists_hash(st, hashes[i], &there);
        if (rc != SRD_OK) { /* a damaged index slot: say so, write nothing */
            free(ops);
            return rc;
        }
        if (there)
            ops[k++] = (srdi_op){hashes[i], NULL, 0, true};
    }
    srd_err rc = k ? st_write_unit(st, ops, k) : SRD_OK;
    free(ops);
    if (deleted)
        *deleted = rc == SRD_OK ? k : 0;
    return rc;
}

srd_err srdi_store_delete(srd_store *st, const srd_val *keys, size_t n,
                          size_t *deleted)
{
    srd_err rc = srdi_store_writable(st);
    if (deleted)
        *deleted = 0;
    if (rc != SRD_OK || n == 0)
        return rc;
    if (n > SIZE_MAX / sizeof(srdi_op))
        return SRD_EINVAL;
    uint64_t small[ST_SMALL];
    uint64_t *hs = n <= ST_SMALL ? small : malloc(n * sizeof *hs);
    if (!hs)
        return SRD_ENOMEM;
    for (size_t i = 0; i < n; i++)
        hs[i] = srdi_key_of(keys[i]);
    rc = st_delete_hashes(st, hs, n, deleted);
    if (hs != small)
        free(hs);
    return rc;
}

/* ---- streams ------------------------------------------------------------ */

srd_err srdi_store_stream_begin(srd_store *st, uint64_t key_hash,
                                srdi_wstream **out)
{
    srd_err rc = srdi_store_writable(st);
    if (rc != SRD_OK)
        return rc;
    srdi_store_begin_exclusive(st);
    rc = srdi_writer_stream_begin(st->w, key_hash, out);
    if (rc != SRD_OK)
        srdi_store_end_exclusive(st);
    return rc;
}

srd_err srdi_store_stream_commit(srd_store *st, srdi_wstream *ws)
{
    srdi_entry placed;
    srd_err rc = srdi_writer_stream_commit(ws, &placed);
    pthread_mutex_lock(&st->mu);
    if (rc == SRD_OK)
        srdi_store_pend_push(st, placed.start);
    st->busy = false;
    st->inflight++;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    return srdi_store_finish(st, &placed, rc == SRD_OK ? 1 : 0, rc);
}

void srdi_store_stream_abort(srd_store *st, srdi_wstream *ws)
{
    srdi_writer_stream_abort(ws);
    srdi_store_end_exclusive(st);
}

srd_err srdi_store_sync(srd_store *st)
{
    srd_err rc = srdi_store_writable(st);
    return rc == SRD_OK ? srdi_writer_sync(st->w) : rc;
}

/* ======================================================================== */
/* Hand-over (multiproc.c)                                                  */
/* ======================================================================== */

srd_err srdi_store_writer_release(srd_store *st)
{
    if (!st->w || srdi_store_forked(st))
        return SRD_ESTATE;
    srd_err rc = srdi_writer_sync(st->w);
    if (rc != SRD_OK)
        return rc;
    pthread_mutex_lock(&st->mu);
    if (st->shw) {
        st->n_pend = 0; /* exclusive: nothing is in flight */
        srdi_store_shared_cover(st);
        srdi_shxw_close(st->shw, true); /* synced just now */
        st->shw = NULL;
    }
    srdi_writer *w = st->w;
    st->w = NULL;
    pthread_mutex_unlock(&st->mu);
    /* the mapping would keep the inode's flock: views stay valid */
    srdi_writer_unlock_inode(w);
    return srdi_writer_stop(w); /* closes the store and the lock file */
}

void srdi_store_writer_adopt(srd_store *st, srd_store *fresh)
{
    pthread_mutex_lock(&st->mu);
    st->w = fresh->w;
    st->shw = fresh->shw;
    st->entries = fresh->entries;
    st->live_bytes = fresh->live_bytes;
    st->live_span = fresh->live_span;
    st->align = fresh->align;
    st->n_pend = 0;
    srdi_store_publish(st, atomic_exchange(&fresh->snap, NULL));
    pthread_mutex_unlock(&st->mu);
    fresh->w = NULL;
    fresh->shw = NULL;
    srdi_store_close(fresh);
}

void srdi_store_child_unlock(srd_store *st)
{
    srdi_writer_child_unlock(st->w);
}
