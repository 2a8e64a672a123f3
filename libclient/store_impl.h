/* SPDX-License-Identifier: MIT */
/*
 * store_impl.h -- the srd_store handle, shared by the store_*.c files
 * (store_open.c: open/close; store_read.c: reads and iteration;
 * store_write.c: writes; store_snap.c: snaps, index updates, reload;
 * store_shared.c: the shared index file) and compact.c (compaction).
 *
 * Readers load `snap` (an {index, map} pair published atomically) inside
 * an EBR section; everything a reader needs is reachable from it, so a
 * compaction that swaps both at once is never seen half-done. Writers take
 * turns under `mu`: an append runs under mu, its sync outside it (group
 * commit), and its index update under mu again; `inflight` counts appends
 * between those two steps. A stream or a compaction takes the writer
 * exclusively (`busy`) once inflight is 0.
 */
#ifndef SRD_STORE_IMPL_H
#define SRD_STORE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "ebr.h"
#include "index.h"
#include "map.h"
#include "shindex.h"
#include "writer.h"

/* With shx (reader handles), idx is only an overlay for entries the shared
 * index does not cover yet; a lookup takes the newer of the two, and a loc
 * from shx is checked against the store before use (store_read.c). */
typedef struct st_snap {
    srdi_index *idx;
    srdi_map *map;   /* one reference held by the snap */
    bool own_index;  /* free idx with the snap */
    srdi_shx *shx;   /* shared index (one reference), or NULL */
    int shx_fd;      /* with shx: the snap's own dup of the store fd */
    uint64_t over_max; /* with shx: highest entry end in idx (under mu) */
    /* With shx: what each entry of idx changed in the live-key count, by
     * entry end (under mu). The shared count includes an entry once the
     * writer's covered tail passes its end, so the entries past it are
     * the ones idx adds; moves with idx (own_index). */
    struct st_delta *deltas;
    size_t n_deltas, cap_deltas;
    bool checked;    /* writer: idx came from the shared index file, so a
                        loc is used only once its entry's trailer agrees */
    bool wshared;    /* writer (srdd): shx is a read mapping of the file
                        st->shw writes, the only table; idx is an empty
                        overlay (store_shared.c, "One table in srdd") */
} st_snap;

typedef struct st_delta {
    uint64_t end;
    int64_t d;
} st_delta;

/* A client handle's way to catch up from the shared index (client.c);
 * wait: may block for the handle's locks and a round trip to srdd. */
typedef srd_err (*srdi_follow_fn)(struct srd_store *st, bool wait);

struct srd_store {
    char *path;
    unsigned flags;
    int ro_fd;                /* read-only handles: the store fd */
    srdi_writer *w;           /* NULL for read-only handles */
    _Atomic(st_snap *) snap;  /* what readers use */
    pthread_mutex_t mu;       /* writer turns, index updates, stats */
    pthread_cond_t cv;        /* busy/inflight changes */
    bool busy;                /* a stream or compaction owns the writer */
    bool compacting;          /* srd_compact_ex running (under mu) */
    pid_t pid;                /* the process that opened the handle: a
                               * forked child's writes get SRD_EFORKED */
    unsigned inflight;        /* appended, index not yet updated */
    srdi_ebr_list *retired;   /* old snaps waiting for readers (under mu) */
    uint64_t entries;         /* chain entries (under mu) */
    uint64_t live_bytes;      /* payload bytes of live values (under mu) */
    uint64_t live_span;       /* file bytes of live entries, pads and
                                 trailers included (under mu) */
    struct srdi_client *client; /* client mode (client.c): writes go to
                                   srdd; ro_fd is the store fd (set under
                                   mu) */
    /* The write-op table front.c sends srd.h's writes through (front.h);
     * NULL: the local one. The engine never calls through it. */
    _Atomic(const struct srdi_front *) front;
    srdi_shxw *shw;           /* writer: the shared index file (under mu),
                                 NULL when there is none */
    uint64_t *pend;           /* writer: starts of appended units whose
                                 index update is to come, ascending */
    size_t n_pend, cap_pend;
    uint32_t align;           /* the file's layout (format.h): 64 or 1 */
    bool sync_never;          /* opened with SRD_SYNC_NEVER (close does not
                                 sync) */
    bool ro_behind;           /* read-only: a refresh failed part way; the
                                 index misses entries of [ro_walked,
                                 committed) (under mu) */
    uint64_t ro_walked;       /* read-only, when ro_behind: where the next
                                 refresh walks from (under mu) */
    srd_sync_mode sync_mode;  /* as opened (a writer taken back after a
                                 failed hand-over, an srdd started) */
    unsigned sync_ms;
    pthread_rwlock_t gate;    /* write calls hold it shared; a switch from
                                 embedded to client writes (multiproc.c)
                                 holds it exclusive, so every write sees
                                 one mode from start to end */
    bool registered;          /* in the registry (shared in this process) */
    bool follow_live;         /* follow_start replaced a snap readers had
                                 (a hand-over): follow_abort keeps it */
    struct srdi_handover *ho; /* embedded writer: the hand-over listener */
    /* Client mode without subscription: the handle learns srdd's writes
     * from the shared index; reads call it (store_read.c) when the index
     * was replaced, or to raise the committed tail. NULL otherwise. */
    _Atomic(srdi_follow_fn) follow;
    uint64_t counted;         /* client handles: st->entries counts every
                                 entry below this tail (under mu) */
    bool shared_only;         /* writer (srdd): keep no private table while
                                 the shared index file is kept (under mu) */
    uint64_t switches;        /* files switched to since open: compaction,
                                 reload (under mu; srdi_file_state) */
};

/* The layout (format.h align) of the chain of fd ending at tail, from its
 * entries (recovery.h's vote): for handles that learn the tail elsewhere
 * (client mode). */
srd_err srdi_store_layout_of(int fd, uint64_t tail, uint32_t *align);
/* st->align read under st->mu (a compaction or a reload may change it). */
uint32_t srdi_store_align(srd_store *st);

/* Resolve a live loc against map into payload offset and length; false
 * when it points outside the committed bytes (a corrupt file). */
bool srdi_store_resolve(const srdi_map *m, uint64_t loc, uint64_t *payload,
                        uint64_t *len);

/* Embedded writer, under the exclusive section and the gate: make every
 * write durable, hand the shared index over clean and stop the writer,
 * releasing the lock (views and mappings stay valid). On failure the writer is kept and nothing changed. */
srd_err srdi_store_writer_release(srd_store *st);
/* The reverse after a hand-over failed: move the writer, shared index
 * writer and snap of fresh (an embedded handle just opened on the same
 * path) into st, whose readers keep their views; fresh is freed. */
void srdi_store_writer_adopt(srd_store *st, srd_store *fresh);
/* In a fork() child: the inherited writer's locks let go (atfork;
 * srdi_writer_child_unlock). */
void srdi_store_child_unlock(srd_store *st);
/* Take / release the writer exclusively (waits for in-flight appends). */
void srdi_store_begin_exclusive(srd_store *st);

/* Whether this process is not the one that opened st (a fork() child). */
bool srdi_store_forked(const srd_store *st);
void srdi_store_end_exclusive(srd_store *st);

/* Apply entries appended by this process or found in the file to the
 * index and stats (caller holds mu). */
srd_err srdi_store_apply(srd_store *st, st_snap *sn, const srdi_entry *e,
                         size_t n);

/* Publish a new snap and retire the old one (caller holds mu). */
void srdi_store_publish(srd_store *st, st_snap *next);

/* Entries e[0..n) lie below tail, which the writer has committed: make the
 * mapping cover tail, raise its committed tail to it (never lower) and
 * apply them (caller holds mu). n may be 0. */
srd_err srdi_store_adopt(srd_store *st, const srdi_entry *e, size_t n,
                         uint64_t tail);

/* A handle without writer whose index holds every entry below base (a
 * committed entry end): walk the file from tail down to base and adopt
 * those entries (caller holds mu). *added (may be NULL) counts them.
 * SRD_ECORRUPT when the chain from tail does not reach base. */
srd_err srdi_store_catch_up(srd_store *st, uint64_t base, uint64_t tail,
                            uint64_t *added);

/* A handle without writer whose file was replaced (compaction): open the
 * file now at st->path and reload index and mapping from it, up to tail
 * (UINT64_MAX: its recovered valid tail); caller holds mu. */
srd_err srdi_store_reload(srd_store *st, uint64_t tail, uint64_t *added);

/*
 * The two halves of a write, for callers that group many writes under one
 * sync (srdd's group commit): append_unit appends ops atomically and
 * counts the write in flight; finish makes it durable (one fdatasync
 * covers every unit appended before it), raises the committed tail,
 * updates the index and ends the in-flight count. finish must be called
 * exactly once per append_unit, with n = 0 when append_unit failed, and
 * returns the first error of the two.
 */
srd_err srdi_store_append_unit(srd_store *st, const srdi_op *ops, size_t n,
                               srdi_entry *placed);
/* Like append_unit for n entries that are units of one entry each, in
 * one write (srdi_writer_append, not as a unit); one finish for all n. */
srd_err srdi_store_append_each(srd_store *st, const srdi_op *ops, size_t n,
                               srdi_entry *placed);
/* Like append_unit for one value staged in a file (srdi_writer_append_file). */
srd_err srdi_store_append_file(srd_store *st, uint64_t key_hash, int src_fd,
                               uint64_t len, uint32_t crc, srdi_entry *placed);
srd_err srdi_store_finish(srd_store *st, const srdi_entry *placed, size_t n,
                          srd_err rc);

/* The live entries of sn's index positioned below `below`, sorted by file
 * position (oldest first); of a checked table, SRD_ECORRUPT when a loc
 * does not name an entry of its key (st_find's check). With updates excluded (mu held) this is the
 * exact live set; run concurrently with the updater (inside an EBR
 * section) it is the live set at tail `below` minus keys changed since
 * (whose newer entries lie at or past below). *items is malloc'd. */
typedef struct srdi_live_item {
    uint64_t pos, hash, loc;
} srdi_live_item;
srd_err srdi_store_live_sorted(const st_snap *sn, uint64_t below,
                               srdi_live_item **items, size_t *n);

/* A handle without writer: {shared index + overlay, map} for fd at tail
 * when a usable shared index matches the file, else srdi_store_load. */
srd_err srdi_store_load_reader(srd_store *st, int fd, uint64_t tail,
                               uint64_t entries, st_snap **out);

/* Writer open: take over the shared index file the last writer left when
 * it matches the store (replaying what it lacks), else as below. */
void srdi_store_shared_open(srd_store *st);

/* Writer: write a new shared index file from the private table of the
 * current snap and publish it (after open and compaction; caller holds mu
 * or is alone). On failure the store carries on without one. */
void srdi_store_shared_rebuild(srd_store *st);

/* Build {index, map} for fd whose valid tail is tail (recovery walk). */
/* entries: expected entry count (0: unknown), sizes the index. */
srd_err srdi_store_load(srd_store *st, int fd, uint64_t tail,
                        uint64_t entries, st_snap **out);
void srdi_store_snap_free(void *p);

/* ---- between the store_*.c files ------------------------------------- */

/* The value rule for keys: a NULL pointer only with length 0. */
static inline bool srdi_val_ok(srd_val v)
{
    return v.ptr != NULL || v.len == 0;
}

static inline uint64_t srdi_key_of(srd_val k)
{
    return srd_key_hash(k.ptr, k.len);
}

/* qsort comparator of uint64_t. */
static inline int srdi_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Resolve a live loc whose entry must end at or below committed
 * (store_snap.c). */
bool srdi_store_resolve_below(const srdi_map *m, uint64_t loc,
                              uint64_t committed, uint64_t *payload,
                              uint64_t *len);

/* The loc of entry e and its payload length, in st's layout (entries
 * from srdd carry the 64-byte layout's payload). */
uint64_t srdi_store_entry_loc(const srd_store *st, const srdi_entry *e,
                              uint64_t *vlen);

/* Apply the entries of fd's chain in (base, tail] to sn, newest first
 * (store_snap.c; caller holds mu or is alone). */
srd_err srdi_store_load_walk(srd_store *st, st_snap *sn, int fd,
                             uint64_t base, uint64_t tail);

/* store_shared.c: the shared index is used unless SRD_SHARED_INDEX=0. */
bool srdi_store_shared_enabled(void);

/* Writer: mirror an index update into the shared index file (dropped,
 * readers falling back to their own, when that fails). */
void srdi_store_shared_mirror(srd_store *st, uint64_t hash, uint64_t loc);
/* Writer: stop keeping the shared index file after a failed update
 * (readers fall back to their own; a writer whose only table it was
 * copies its slots first). */
void srdi_store_shared_give_up(srd_store *st);
/* Prefetch what srdi_store_shared_mirror of hash will touch. */
void srdi_store_shared_prefetch(const srd_store *st, uint64_t hash);

/* Writer, under mu: a unit appended at start waits for its index update /
 * got it; the shared index's covered tail is the oldest one waiting
 * (shindex.c invariant 2), recorded by shared_cover. */
void srdi_store_pend_push(srd_store *st, uint64_t start);
void srdi_store_pend_pop(srd_store *st, uint64_t start);
void srdi_store_shared_cover(srd_store *st);

/* srdd's writer: from now on the shared index file is its only table
 * whenever it keeps one (after open, growth and compaction); without one
 * (never written, given up) a private table as before. Takes mu. */
void srdi_store_shared_only(srd_store *st);
/* Writer, under mu: whether its snap's table is the shared index file. */
bool srdi_store_wshared(const srd_store *st);
/* Writer, under mu: make the shared index file st->shw the snap's only
 * table (st->shared_only asked for it; the private table is retired).
 * Failures keep the private table. */
void srdi_store_wshared_enter(srd_store *st);
/* Writer, under mu, shared-table snap: after st->shw grew into a new
 * file, publish a snap that reads the new one (before any reply). */
srd_err srdi_store_wshared_follow(srd_store *st);
/* Writer, under mu, shared-table snap: copy the file's slots into the
 * snap's overlay and make it the private table (checked, as a table taken
 * from the file is), before the file is given up. SRD_ENOMEM leaves the
 * snap as it was. */
srd_err srdi_store_wshared_private(srd_store *st);

/* Reader side, under mu: follow a replaced shared index, drop an overlay
 * it caught up with (failures keep the current snap). True when a new
 * snap was published. */
bool srdi_store_shared_follow(srd_store *st);
/* Writer: whether it keeps a shared index file now (mu if free, else
 * whether it is enabled at all; never blocks). */
bool srdi_store_shared_kept(srd_store *st);
/* srdi_store_follow_raise with mu held. */
srd_err srdi_store_shared_raise(srd_store *st);

/* Read-only open through the shared index without walking the store;
 * SRD_ECORRUPT on any doubt (the caller runs the whole recovery). */
srd_err srdi_store_open_ro_shared(srd_store *st, int fd, st_snap **out);

/* Writer open from the shared index file (tail search from its covered
 * tail, take-over of the file). *ran: the recovery ran and rec holds its
 * result; otherwise the whole recovery is to run. */
struct srdi_openrec;
srd_err srdi_store_open_writer_shared(srd_store *st, int fd, unsigned flags,
                                      struct srdi_openrec *rec, st_snap **sn,
                                      bool *ran);

/* ---- the engine's entry points (front.c and srdd call them) ---------- */

/*
 * A handle whose writer is another process (client mode: client.c says
 * what srdd wrote), store_follow.c. Each takes st->mu itself; the caller
 * never holds it. Every tail given must lie inside the file mapped
 * (SRD_ECORRUPT otherwise: never trust a tail past its end).
 * follow_start: open st's path read-only, check it is the file (dev, ino)
 * (SRD_ESTATE when it stays another), map and index it up to tail (a
 * snap readers had is retired through EBR, not dropped: a writer handing
 * over); follow_abort undoes it (on a handle that had readers it keeps
 * the snap: nothing to read is ever taken away). follow_is: whether the file mapped is (dev,
 * ino). follow_adopt: entries e[0..n) below tail are committed (count:
 * add them to the entry total). follow_walk: walk the file from base
 * (every entry below it indexed) to tail. follow_reload: the file was
 * replaced: load the one at st's path up to tail.
 */
srd_err srdi_store_follow_start(srd_store *st, uint64_t dev, uint64_t ino,
                                uint64_t tail);
void srdi_store_follow_abort(srd_store *st);
bool srdi_store_follow_is(srd_store *st, uint64_t dev, uint64_t ino);
srd_err srdi_store_follow_adopt(srd_store *st, const srdi_entry *e, size_t n,
                                uint64_t tail, bool count);
srd_err srdi_store_follow_walk(srd_store *st, uint64_t base, uint64_t tail);
srd_err srdi_store_follow_reload(srd_store *st, uint64_t tail);
/* A client handle following the shared index instead of srdd's updates:
 * take the tail the index covers (checked as its claims are at open:
 * the entry ending there is the one it recorded; past the committed tail
 * every entry chains down to it with a good CRC; never past the file's
 * end) as committed, counting the entries below it, after following a
 * replaced index file (growth). SRD_OK (also when nothing was new),
 * SRD_ESTATE: the store file was replaced (compaction: reload);
 * SRD_ENOENT: no usable shared index any more (abandoned); SRD_ECORRUPT
 * when the index's claim fails its checks. wait false: SRD_OK at once
 * when the handle's mutex is held. */
srd_err srdi_store_follow_raise(srd_store *st, bool wait);
/* Whether the handle reads through a shared index file. */
bool srdi_store_follow_shared(srd_store *st);
/* The entries the handle has indexed (its total, under mu). */
uint64_t srdi_store_entries(srd_store *st);

/* What a handle's current file is, read together under mu (where a
 * compaction cannot switch the file): how many times the handle switched
 * to a new file (compaction, a reload), the committed tail and the file's
 * identity (dev and ino 0 when fstat fails). */
typedef struct srdi_file_state {
    uint64_t switches;
    uint64_t tail, dev, ino;
} srdi_file_state;
void srdi_store_file_state(srd_store *st, srdi_file_state *out);

/*
 * srd_open without client mode: the options (NULL: defaults) are checked,
 * the files opened and the store recovered. divert (may be NULL) is asked
 * after the attempt at the files (lock_rc: what taking the writer lock
 * returned): when it returns true it took the handle over (front.c:
 * client mode) and *rc is its result; the open then ends there.
 */
typedef bool (*srdi_open_divert_fn)(srd_store *st, unsigned flags,
                                    srd_err lock_rc, srd_err *rc);
srd_err srdi_store_open(const char *path, const srd_options *opts,
                        srdi_open_divert_fn divert, srd_store **out);
/* srd_close of the engine's part: stop the writer, free everything (a
 * client must have been closed first). */
srd_err srdi_store_close(srd_store *st);

/* The embedded writes. Arguments are checked by the caller (front.c: the
 * value rule); each first checks the handle: SRD_EFORKED in a fork()
 * child of the writer, SRD_EREADONLY without writer. */
srd_err srdi_store_writable(const srd_store *st);
/* keys[i] -> values[i] for i < n, as one atomic unit (n = 0: nothing). */
srd_err srdi_store_put(srd_store *st, const srd_val *keys,
                       const srd_val *values, size_t n);
/* Tombstones for the present, distinct keys among keys[0..n); *deleted
 * (may be NULL) counts them. */
srd_err srdi_store_delete(srd_store *st, const srd_val *keys, size_t n,
                          size_t *deleted);
/* A stream owns the writer (exclusive section) from begin to commit or
 * abort. */
srd_err srdi_store_stream_begin(srd_store *st, uint64_t key_hash,
                                srdi_wstream **out);
srd_err srdi_store_stream_commit(srd_store *st, srdi_wstream *ws);
void srdi_store_stream_abort(srd_store *st, srdi_wstream *ws);
srd_err srdi_store_sync(srd_store *st);
/* A handle without writer catches up with the file (SRD_OK at once for
 * the writer). */
srd_err srdi_store_refresh(srd_store *st, uint64_t *added);
/* Online compaction of the writer's store (compact.c), into layout /
 * keeping the current one. */
srd_err srdi_store_compact_to(srd_store *st, srd_layout layout,
                              srd_progress_fn progress, void *ctx,
                              srd_compact_report *report);
srd_err srdi_store_compact_ex(srd_store *st, srd_progress_fn progress,
                              void *ctx, srd_compact_report *report);

#endif
