/* SPDX-License-Identifier: MIT */
/*
 * srdctl_admin.c -- status (and status --watch), verify, compact and sync
 * (see srdctl_admin.h). status reads a read-only handle and refreshes it
 * before every report, so it follows a store another process writes or
 * compacts. It prints only figures it has: the daemon's are left out in
 * direct mode rather than shown as zeros.
 */
#define _GNU_SOURCE 1

#include "srdctl_admin.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "srdctl_out.h"

/* ======================================================================== */
/* Daemon figures (hook)                                                     */
/* ======================================================================== */

/*
 * What only srdd knows, from its figures (srd_daemon_stats_get). In direct
 * mode have stays false and none of it is printed.
 */
typedef struct admin_daemon {
    bool have;                 /* false: no daemon figures at all */
    uint64_t pid;
    uint64_t uptime_s;
    uint64_t generation;       /* bumped by every compaction */
    uint64_t clients;          /* connected clients */
    uint64_t tail;             /* the daemon's committed tail */
    uint64_t requests;         /* messages received */
    uint64_t groups;           /* append groups */
    double writes_per_s;       /* over the daemon's last interval */
    uint64_t syncs;            /* fdatasync calls since start */
    double group_avg;          /* writes per group commit, mean */
    uint64_t group_max;        /* writes per group commit, largest */
    uint64_t publish_drops;    /* updates pub/sub dropped */
    bool compacting;           /* a compaction runs now */
    double compact_done;       /* its progress, 0 to 1 */
    int64_t last_compact_unix; /* end of the last compaction; 0: never */
    uint64_t last_compact_reclaimed;
    uint64_t last_compact_pause_us;
} admin_daemon;

static double admin_ratio(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

static void admin_daemon_fill(const srd_daemon_stats *s, admin_daemon *d)
{
    static uint64_t prev_writes, prev_ms; /* --watch: rate since the last */
    d->have = true;
    d->pid = s->pid;
    d->uptime_s = s->uptime_ms / 1000u;
    d->generation = s->generation;
    d->clients = s->clients;
    d->tail = s->committed_tail;
    d->requests = s->requests;
    d->groups = s->groups;
    bool again = prev_ms && s->uptime_ms > prev_ms && s->writes >= prev_writes;
    d->writes_per_s =
        again ? admin_ratio(s->writes - prev_writes, s->uptime_ms - prev_ms) *
                    1e3
              : admin_ratio(s->writes, s->uptime_ms) * 1e3;
    prev_writes = s->writes;
    prev_ms = s->uptime_ms;
    d->syncs = s->syncs;
    d->group_avg = admin_ratio(s->writes, s->groups);
    d->group_max = s->group_max;
    d->publish_drops = s->publish_drops;
    d->compacting = s->compacting;
    d->compact_done = admin_ratio(s->compact_done, s->compact_total);
    if (s->last_compact_unix_ms) {
        d->last_compact_unix = (int64_t)(s->last_compact_unix_ms / 1000u);
        d->last_compact_reclaimed = s->last_compact.reclaimed;
        d->last_compact_pause_us = s->last_compact.pause_us;
    }
}

/* 0 (d->have says whether a daemon answered) or an exit status. */
static int admin_daemon_stats(const ctl_ctx *cx, admin_daemon *d)
{
    memset(d, 0, sizeof *d); /* direct mode: no daemon */
    srd_daemon *dm = NULL;
    int found = cli_daemon_find(cx->path, &dm);
    if (found <= 0)
        return found < 0 ? CTL_EXIT_UNREACHABLE : CTL_EXIT_OK;
    srd_daemon_stats s;
    srd_err e = srd_daemon_stats_get(dm, &s);
    if (e == SRD_OK)
        admin_daemon_fill(&s, d);
    srd_daemon_close(dm);
    if (e != SRD_OK)
        return cli_fail(e, "status: srdd serving '%s'", cx->path);
    return CTL_EXIT_OK;
}

static void admin_daemon_text(const admin_daemon *d)
{
    if (!d->have)
        return;
    printf("daemon pid:     %llu\n"
           "uptime:         %llu s\n"
           "generation:     %llu\n"
           "daemon tail:    %llu\n"
           "clients:        %llu\n"
           "requests:       %llu\n"
           "groups:         %llu\n"
           "writes/s:       %.1f\n"
           "syncs:          %llu\n"
           "group size:     %.1f mean, %llu max\n"
           "publish drops:  %llu\n",
           (unsigned long long)d->pid, (unsigned long long)d->uptime_s,
           (unsigned long long)d->generation, (unsigned long long)d->tail,
           (unsigned long long)d->clients, (unsigned long long)d->requests,
           (unsigned long long)d->groups, d->writes_per_s,
           (unsigned long long)d->syncs, d->group_avg,
           (unsigned long long)d->group_max,
           (unsigned long long)d->publish_drops);
    if (d->compacting)
        printf("compaction:     running, %.0f%%\n", d->compact_done * 100);
    if (d->last_compact_unix)
        printf("last compaction: %lld (unix time), reclaimed %llu bytes, "
               "writers paused %.3f ms\n",
               (long long)d->last_compact_unix,
               (unsigned long long)d->last_compact_reclaimed,
               (double)d->last_compact_pause_us / 1e3);
}

/* The "daemon" member: null in direct mode. */
static bool admin_daemon_json(json_object *o, const admin_daemon *d)
{
    if (!d->have)
        return json_object_object_add(o, "daemon", NULL) == 0;
    json_object *j = json_object_new_object();
    bool ok = j && out_json_u64(j, "pid", d->pid) &&
              out_json_u64(j, "uptime_s", d->uptime_s) &&
              out_json_u64(j, "generation", d->generation) &&
              out_json_u64(j, "clients", d->clients) &&
              out_json_u64(j, "tail", d->tail) &&
              out_json_u64(j, "requests", d->requests) &&
              out_json_u64(j, "groups", d->groups) &&
              out_json_double(j, "writes_per_s", d->writes_per_s) &&
              out_json_u64(j, "syncs", d->syncs) &&
              out_json_double(j, "group_avg", d->group_avg) &&
              out_json_u64(j, "group_max", d->group_max) &&
              out_json_u64(j, "publish_drops", d->publish_drops) &&
              out_json_bool(j, "compacting", d->compacting) &&
              out_json_double(j, "compact_done", d->compact_done) &&
              out_json_u64(j, "last_compact_unix",
                           (uint64_t)d->last_compact_unix) &&
              out_json_u64(j, "last_compact_reclaimed",
                           d->last_compact_reclaimed) &&
              out_json_u64(j, "last_compact_pause_us",
                           d->last_compact_pause_us);
    if (ok && json_object_object_add(o, "daemon", j) == 0)
        return true;
    json_object_put(j);
    return false;
}

/* ======================================================================== */
/* status                                                                    */
/* ======================================================================== */

static uint64_t admin_torn(const srd_info *in)
{
    return in->file_size > in->tail ? in->file_size - in->tail : 0;
}

/* The layout's name (docs/FORMAT.md section 10). */
static const char *admin_layout(srd_layout l)
{
    return l == SRD_LAYOUT_UNPADDED ? "unpadded" : "aligned64";
}

static void admin_status_text(const ctl_ctx *cx, const srd_info *in,
                              const admin_daemon *d)
{
    printf("path:         %s\n"
           "layout:       %s\n"
           "mode:         %s\n"
           "file size:    %llu\n"
           "tail:         %llu\n"
           "entries:      %llu\n"
           "live keys:    %llu\n"
           "live bytes:   %llu\n"
           "dead bytes:   %llu\n"
           "torn bytes:   %llu\n"
           "index bytes:  %llu\n",
           cx->path,
           in->layout == SRD_LAYOUT_UNPADDED
               ? "unpadded (simd-r-drive <= 0.13, simd_r_drive_py 0.4)"
               : "aligned64",
           d->have ? "daemon" : "direct", (unsigned long long)in->file_size, (unsigned long long)in->tail,
           (unsigned long long)in->entries, (unsigned long long)in->live_keys,
           (unsigned long long)in->live_bytes,
           (unsigned long long)in->dead_bytes,
           (unsigned long long)admin_torn(in),
           (unsigned long long)in->index_bytes);
    admin_daemon_text(d);
}

static int admin_status_json(const ctl_ctx *cx, const srd_info *in,
                             const admin_daemon *d)
{
    json_object *o = json_object_new_object();
    bool ok = o && out_json_str(o, "path", cx->path) &&
              out_json_str(o, "layout", admin_layout(in->layout)) &&
              out_json_str(o, "mode", d->have ? "daemon" : "direct") &&
              out_json_u64(o, "file_size", in->file_size) &&
              out_json_u64(o, "tail", in->tail) &&
              out_json_u64(o, "entries", in->entries) &&
              out_json_u64(o, "live_keys", in->live_keys) &&
              out_json_u64(o, "live_bytes", in->live_bytes) &&
              out_json_u64(o, "dead_bytes", in->dead_bytes) &&
              out_json_u64(o, "torn_bytes", admin_torn(in)) &&
              out_json_u64(o, "index_bytes", in->index_bytes) &&
              admin_daemon_json(o, d);
    return out_json_print(o, ok, cx->name);
}

/* One report, after catching up with what other processes appended (or
 * reloading a file a compaction replaced). */
static int admin_status_once(ctl_ctx *cx, srd_store *st)
{
    srd_info in;
    srd_err e = srd_refresh(st, NULL);
    if (e == SRD_OK)
        e = srd_get_info(st, &in);
    if (e != SRD_OK)
        return cli_fail(e, "%s: cannot read store '%s'", cx->name, cx->path);
    admin_daemon d;
    int rc = admin_daemon_stats(cx, &d);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (cx->json)
        return admin_status_json(cx, &in, &d);
    admin_status_text(cx, &in, &d);
    return CTL_EXIT_OK;
}

static volatile sig_atomic_t admin_stop;

static void admin_on_signal(int sig)
{
    (void)sig;
    admin_stop = 1;
}

/* SIGINT and SIGTERM end --watch cleanly (exit 0) and cut its sleep short
 * (no SA_RESTART). */
static void admin_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = admin_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void admin_sleep(double seconds)
{
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    if (!admin_stop)
        nanosleep(&ts, NULL); /* EINTR from a signal ends it early */
}

static int admin_watch(ctl_ctx *cx, srd_store *st)
{
    bool tty = isatty(STDOUT_FILENO) == 1;
    admin_catch_signals();
    for (long n = 0; !admin_stop && (!cx->count || n < cx->count); n++) {
        if (n > 0)
            admin_sleep(cx->interval);
        if (admin_stop)
            break;
        if (tty) /* redraw in place, as watch(1) does */
            printf("\033[H\033[2JEvery %.1fs: srdctl status (Ctrl-C to "
                   "stop)\n\n",
                   cx->interval);
        else if (n > 0 && !cx->json)
            putchar('\n');
        int rc = admin_status_once(cx, st);
        if (rc != CTL_EXIT_OK)
            return rc;
        if (fflush(stdout) != 0)
            return cli_fail(cli_sys(errno ? errno : EIO),
                            "%s: cannot write to stdout", cx->name);
    }
    return CTL_EXIT_OK;
}

int admin_status(ctl_ctx *cx)
{
    srd_store *st = cli_store(cx);
    if (!st)
        return cx->fail;
    return cx->watch ? admin_watch(cx, st) : admin_status_once(cx, st);
}

/* ======================================================================== */
/* verify                                                                    */
/* ======================================================================== */

static void admin_verify_summary(const ctl_ctx *cx, const srd_verify_report *r,
                                 const srd_info *in)
{
    printf("store:        %s\n"
           "entries:      %llu\n"
           "bytes:        %llu\n"
           "bad entries:  %llu\n",
           cx->path, (unsigned long long)r->entries,
           (unsigned long long)r->bytes, (unsigned long long)r->bad_entries);
    if (r->break_offset)
        printf("cut off:      %llu bytes past the tail, %llu intact entries "
               "among them, unreachable through damage at offset %llu\n",
               (unsigned long long)r->past_tail_bytes,
               (unsigned long long)r->past_tail_entries,
               (unsigned long long)r->break_offset);
    else if (in->file_size > in->tail)
        printf("torn bytes:   %llu (past the tail, not part of the store)\n",
               (unsigned long long)admin_torn(in));
}

/* "result" of verify --json for the outcome e. */
static const char *admin_verify_result(srd_err e, const srd_verify_report *r)
{
    if (e == SRD_OK)
        return "ok";
    if (e == SRD_ECHECKSUM)
        return "bad_checksum";
    return e == SRD_ECORRUPT && r->break_offset ? "broken_chain" : "failed";
}

/* k: v, or null when have is false (an offset with nothing to name). */
static bool admin_json_offset(json_object *o, const char *k, bool have,
                              uint64_t v)
{
    if (have)
        return out_json_u64(o, k, v);
    return json_object_object_add(o, k, NULL) == 0;
}

/* verify --json: one object with every field of the report (schema in
 * docs/srdctl.md); the exit status is the text form's. */
static int admin_verify_json(const ctl_ctx *cx, srd_err e,
                             const srd_verify_report *r, const srd_info *in)
{
    json_object *o = json_object_new_object();
    bool ok = o && out_json_str(o, "store", cx->path) &&
              out_json_str(o, "result", admin_verify_result(e, r)) &&
              (e == SRD_OK ? json_object_object_add(o, "error", NULL) == 0
                           : out_json_str(o, "error", srd_strerror(e))) &&
              out_json_u64(o, "entries", r->entries) &&
              out_json_u64(o, "bytes", r->bytes) &&
              out_json_u64(o, "bad_entries", r->bad_entries) &&
              admin_json_offset(o, "first_bad_offset", r->bad_entries > 0,
                                r->first_bad_offset) &&
              out_json_u64(o, "tail", in->tail) &&
              out_json_u64(o, "file_size", in->file_size) &&
              out_json_u64(o, "torn_bytes",
                           r->break_offset ? 0 : admin_torn(in)) &&
              out_json_u64(o, "past_tail_bytes", r->past_tail_bytes) &&
              out_json_u64(o, "past_tail_entries", r->past_tail_entries) &&
              admin_json_offset(o, "break_offset", r->break_offset != 0,
                                r->break_offset);
    int rc = out_json_print(o, ok, cx->name);
    return rc != CTL_EXIT_OK || e == SRD_OK ? rc : cli_exit_for(e);
}

int admin_verify(ctl_ctx *cx)
{
    srd_store *st = cli_store(cx);
    if (!st)
        return cx->fail;
    srd_info in;
    srd_err e = srd_get_info(st, &in);
    if (e != SRD_OK)
        return cli_fail(e, "verify");
    out_progress pg;
    out_progress_init(&pg, "verify", cx->progress);
    srd_verify_report r;
    memset(&r, 0, sizeof r);
    e = srd_verify(st, &r, pg.show ? out_progress_cb : NULL, &pg);
    out_progress_end(&pg, e == SRD_OK || e == SRD_ECHECKSUM, in.tail);
    if (cx->json)
        return admin_verify_json(cx, e, &r, &in);
    admin_verify_summary(cx, &r, &in);
    if (e == SRD_OK) {
        printf("result:       OK\n");
        return CTL_EXIT_OK;
    }
    if (e == SRD_ECHECKSUM) {
        printf("result:       BAD (first bad entry at payload offset %llu)\n",
               (unsigned long long)r.first_bad_offset);
        cli_err("verify: %s: %llu bad entr%s, the first at payload offset %llu",
                srd_strerror(e), (unsigned long long)r.bad_entries,
                r.bad_entries == 1 ? "y" : "ies",
                (unsigned long long)r.first_bad_offset);
        return CTL_EXIT_STORE;
    }
    if (e == SRD_ECORRUPT && r.break_offset) {
        printf("result:       BAD (the chain breaks at offset %llu)\n",
               (unsigned long long)r.break_offset);
        cli_err("verify: %s: the chain breaks at offset %llu: %llu bytes "
                "past it (%llu intact entries) are unreachable",
                srd_strerror(e), (unsigned long long)r.break_offset,
                (unsigned long long)r.past_tail_bytes,
                (unsigned long long)r.past_tail_entries);
        return CTL_EXIT_STORE;
    }
    printf("result:       FAILED (%s)\n", srd_strerror(e));
    return cli_fail(e, "verify");
}

/* ======================================================================== */
/* compact, sync                                                             */
/* ======================================================================== */

/* The report line; before/after: file sizes and entry counts. */
static void admin_compact_print(const ctl_ctx *cx, const srd_compact_report *rep,
                                const uint64_t before[2],
                                const uint64_t after[2], uint64_t live_keys)
{
    printf("Compacted '%s': reclaimed %llu bytes (%llu -> %llu bytes), "
           "%llu -> %llu entries, %llu live keys; writers paused %.3f ms "
           "of %.3f ms\n",
           cx->path, (unsigned long long)rep->reclaimed,
           (unsigned long long)before[0], (unsigned long long)after[0],
           (unsigned long long)before[1], (unsigned long long)after[1],
           (unsigned long long)live_keys, (double)rep->pause_us / 1e3,
           (double)rep->total_us / 1e3);
}

/* out_progress_cb that also keeps the last total seen. */
typedef struct admin_pg {
    out_progress pg;
    uint64_t total; /* 1 until srdd reported one */
} admin_pg;

static int admin_pg_cb(void *ctx, uint64_t done, uint64_t total)
{
    admin_pg *a = ctx;
    a->total = total;
    return out_progress_cb(&a->pg, done, total);
}

static int admin_compact_daemon(ctl_ctx *cx, srd_daemon *dm)
{
    srd_daemon_stats before, after;
    srd_err e = srd_daemon_stats_get(dm, &before);
    if (e != SRD_OK)
        return cli_fail(e, "compact: srdd serving '%s'", cx->path);
    admin_pg a = {.total = 1};
    out_progress_init(&a.pg, "compact", cx->progress);
    srd_compact_report rep;
    uint64_t generation = 0;
    e = srd_daemon_compact(dm, a.pg.show ? admin_pg_cb : NULL, &a, &rep,
                           &generation);
    out_progress_end(&a.pg, e == SRD_OK, a.total);
    if (e != SRD_OK && *srd_daemon_message(dm))
        cli_err("compact: srdd serving '%s': %s", cx->path,
                srd_daemon_message(dm));
    if (e == SRD_OK)
        e = srd_daemon_stats_get(dm, &after);
    if (e != SRD_OK)
        return cli_fail(e, "compact: srdd serving '%s'", cx->path);
    uint64_t b[2] = {before.file_size, before.live_keys};
    uint64_t n[2] = {after.file_size, after.live_keys};
    admin_compact_print(cx, &rep, b, n, n[1]);
    printf("srdd generation %llu; %llu entries copied, %llu caught up\n",
           (unsigned long long)generation,
           (unsigned long long)rep.copied_entries,
           (unsigned long long)rep.caught_up_entries);
    return CTL_EXIT_OK;
}

/* The store of cx (opened with the command's mode) and its state. */
static int admin_writer_info(ctl_ctx *cx, srd_store **st, srd_info *in)
{
    memset(in, 0, sizeof *in);
    *st = cli_store(cx);
    if (!*st)
        return cx->fail != CTL_EXIT_OK ? cx->fail : CTL_EXIT_STORE;
    srd_err e = srd_get_info(*st, in);
    return e == SRD_OK ? CTL_EXIT_OK : cli_fail(e, "%s", cx->name);
}

/* Compact st into layout with progress on stderr; *after: the new state. */
static srd_err admin_compact_run(ctl_ctx *cx, srd_store *st, srd_layout layout,
                                 const srd_info *before,
                                 srd_compact_report *rep, srd_info *after)
{
    out_progress pg;
    out_progress_init(&pg, cx->name, cx->progress);
    srd_err e = srd_compact_to(st, layout, pg.show ? out_progress_cb : NULL,
                               &pg, rep);
    out_progress_end(&pg, e == SRD_OK, before->live_bytes);
    return e == SRD_OK ? srd_get_info(st, after) : e;
}

int admin_compact(ctl_ctx *cx)
{
    srd_daemon *dm = NULL;
    int found = cli_daemon_find(cx->path, &dm);
    if (found < 0)
        return CTL_EXIT_UNREACHABLE;
    if (found > 0) {
        int rc = admin_compact_daemon(cx, dm);
        srd_daemon_close(dm);
        return rc;
    }
    srd_store *st;
    srd_info before, after;
    int rc = admin_writer_info(cx, &st, &before);
    if (rc != CTL_EXIT_OK)
        return rc;
    srd_compact_report rep;
    srd_err e = admin_compact_run(cx, st, before.layout, &before, &rep, &after);
    if (e != SRD_OK)
        return cli_fail(e, "compact: store '%s'", cx->path);
    uint64_t b[2] = {before.file_size, before.entries};
    uint64_t a[2] = {after.file_size, after.entries};
    admin_compact_print(cx, &rep, b, a, after.live_keys);
    return CTL_EXIT_OK;
}

int admin_sync(ctl_ctx *cx)
{
    srd_store *st = cli_store(cx);
    if (!st)
        return cx->fail;
    srd_err e = srd_sync(st);
    if (e != SRD_OK)
        return cli_fail(e, "sync: store '%s'", cx->path);
    return CTL_EXIT_OK;
}

/* ======================================================================== */
/* upgrade                                                                   */
/* ======================================================================== */

int admin_upgrade(ctl_ctx *cx)
{
    srd_store *st;
    srd_info before, after;
    int rc = admin_writer_info(cx, &st, &before);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (before.layout == SRD_LAYOUT_ALIGNED64) {
        printf("'%s' is in the aligned64 layout already: nothing to do\n",
               cx->path);
        return CTL_EXIT_OK;
    }
    if (before.daemon)
        return cli_fail(SRD_ESTATE, "upgrade: srdd serves '%s' (its "
                        "compaction keeps the layout): stop srdd first",
                        cx->path);
    srd_compact_report rep;
    srd_err e = admin_compact_run(cx, st, SRD_LAYOUT_ALIGNED64, &before, &rep,
                                  &after);
    if (e != SRD_OK)
        return cli_fail(e, "upgrade: store '%s' (it is as before)", cx->path);
    printf("Upgraded '%s' from the %s to the %s layout: %llu -> %llu bytes, "
           "%llu live keys\n",
           cx->path, admin_layout(before.layout), admin_layout(after.layout),
           (unsigned long long)before.file_size,
           (unsigned long long)after.file_size,
           (unsigned long long)after.live_keys);
    return CTL_EXIT_OK;
}
