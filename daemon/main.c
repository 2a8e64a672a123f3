/* SPDX-License-Identifier: MIT */
/*
 * main.c -- srdd: the writer daemon of one srd store. Opens the store as
 * the embedded writer (taking its lock), starts the modules in dependency
 * order (dedupe, streams, publisher, group commit, server), announces
 * itself in "<store>.srdd" and serves until SIGTERM or SIGINT; then stops
 * them in reverse order (also after --idle-exit SECONDS without a
 * client). Exit status: 0 clean, 1 failure, 2 usage,
 * 3 store locked by another writer.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compactor.h"
#include "dedupe.h"
#include "discovery.h"
#include "generation.h"
#include "group.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "options.h"
#include "pathwatch.h"
#include "publish.h"
#include "server.h"
#include "stats.h"
#include "store_impl.h"
#include "streams.h"

#define MAIN_EXIT_FAIL 1
#define MAIN_EXIT_USAGE 2
#define MAIN_EXIT_LOCKED 3
#define MAIN_MAX_CLIENTS 65536u
#define MAIN_MAX_STREAMS 1024u
#define MAIN_DRAIN_MS 2000u
#define MAIN_PROBE_EVERY_MS 500    /* how often the listeners are probed */
#define MAIN_PROBE_TIMEOUT_MS 1000 /* silence that counts as "stopped" */
#define MAIN_IDLE_GRACE_MS 200 /* --idle-exit: for a client connecting */

/* Everything srdd runs; torn down in reverse order by main_teardown. */
typedef struct srdd {
    srdd_options o;
    char *abs;          /* absolute store path */
    char *listen;       /* the URLs actually used */
    char *publish;
    srd_store *st;
    srdd_counters ctr;
    dedupe *dd;
    streams *ss;
    publisher *pub;
    generation *gen;
    pathwatch *pw;
    group *grp;
    compactor *cmp;
    server *srv;
    int announced;      /* "<store>.srdd" written */
    bool nng_stuck;     /* an NNG socket did not close: end with _exit */
} srdd;

/* ======================================================================== */
/* Start                                                                    */
/* ======================================================================== */

static int main_urls(srdd *d)
{
    char why[512];
    d->abs = discovery_abspath(d->o.store);
    if (!d->abs) {
        log_error("cannot resolve the directory of %s: %s", d->o.store,
                  strerror(errno));
        return MAIN_EXIT_FAIL;
    }
    int bad = 0;
    if (d->o.listen)
        d->listen = strdup(d->o.listen);
    else
        bad |= discovery_default_request_url(d->abs, &d->listen, why);
    if (!bad && d->o.publish)
        d->publish = strdup(d->o.publish);
    else if (!bad)
        bad |= discovery_default_url(d->abs, ".pub", &d->publish, why);
    if (bad || !d->listen || !d->publish) {
        log_error("%s", bad ? why : "out of memory");
        return MAIN_EXIT_USAGE;
    }
    return 0;
}

static int main_open_store(srdd *d)
{
    srd_options so;
    srd_options_init(&so);
    so.flags = SRD_OPEN_CREATE | (d->o.group_read ? SRD_OPEN_GROUP : 0);
#ifdef SRD_OPEN_EMBEDDED
    so.flags |= SRD_OPEN_EMBEDDED; /* srdd is the writer, never a client */
#endif
    so.sync = d->o.sync;
    so.sync_interval_ms = d->o.sync_ms;
    srd_err rc = srdi_store_open(d->abs, &so, NULL, &d->st);
    if (rc == SRD_EBUSY) {
        log_error("store is locked by another writer: %s (another srdd or an "
                  "embedded writer holds %s.lock, or the file itself under "
                  "another name: a symlink or hard link)", d->abs, d->abs);
        return MAIN_EXIT_LOCKED;
    }
    if (rc != SRD_OK) {
        log_error("cannot open the store %s: %s", d->abs, srd_strerror(rc));
        return MAIN_EXIT_FAIL;
    }
    /* srdd serves no reads: its lookups use the shared index file, and
     * no private table is kept while there is one (store_shared.c) */
    srdi_store_shared_only(d->st);
    return 0;
}

/* A "<store>.compact" left by a compaction that a crash interrupted is
 * never used: the store file is complete without it (the rename is the
 * commit point). Remove it now that we hold the writer lock. */
static void main_clean_stale(const srdd *d)
{
    char name[PATH_MAX + 16];
    snprintf(name, sizeof name, "%s.compact", d->abs);
    if (unlink(name) == 0)
        log_warn("removed %s left by an interrupted compaction (the store "
                 "itself is complete)", name);
}

static int main_start_modules(srdd *d)
{
    char why[256] = "";
    srd_err rc = dedupe_create(MAIN_MAX_CLIENTS, &d->dd);
    if (rc == SRD_OK)
        rc = streams_create(d->abs, d->o.stream_idle_ms, MAIN_MAX_STREAMS,
                            &d->ss);
    if (rc == SRD_OK)
        rc = publish_open(d->publish, d->o.socket_mode, &d->pub, why);
    if (rc == SRD_OK)
        rc = generation_open(d->st, d->abs, &d->gen);
    if (rc == SRD_OK)
        rc = pathwatch_create(d->st, d->abs, &d->pw);
    if (rc == SRD_OK) {
        group_conf gc = {d->st, d->pub, d->dd, d->ss, &d->ctr, d->o.sync,
                         d->gen, d->pw};
        rc = group_create(&gc, &d->grp);
    }
    if (rc == SRD_OK) {
        compactor_conf cc = {d->st, d->grp, &d->ctr, d->o.auto_ratio,
                             d->o.auto_min_dead};
        rc = compactor_start(&cc, &d->cmp);
    }
    if (rc == SRD_OK) {
        server_conf sc = {d->listen, d->publish, d->abs, d->o.max_message,
                          d->o.uids, d->o.n_uids, d->o.socket_mode,
                          d->o.contexts, d->st, d->grp, d->ss, d->dd,
                          d->pub, &d->ctr, d->cmp, d->o.spin_us};
        rc = server_start(&sc, &d->srv, why);
    }
    if (rc != SRD_OK) {
        log_error("cannot start serving: %s", why[0] ? why : srd_strerror(rc));
        return MAIN_EXIT_FAIL;
    }
    return 0;
}

static int main_announce(srdd *d)
{
    if (discovery_write(d->abs, d->listen, d->publish) != 0) {
        log_error("cannot write %s.srdd: %s", d->abs, strerror(errno));
        return MAIN_EXIT_FAIL;
    }
    d->announced = 1;
    static const char *const modes[] = {"always", "interval", "never"};
    log_info("serving %s (pid %ld): listen %s, publish %s, sync %s, "
             "max message %zu bytes%s%s", d->abs, (long)getpid(),
             d->listen, d->publish, modes[d->o.sync], d->o.max_message,
             d->o.n_uids ? ", writers restricted by uid" : "",
             d->o.auto_ratio > 0 ? ", auto-compaction on" : "");
    return 0;
}

/* ======================================================================== */
/* Stop                                                                     */
/* ======================================================================== */

static void main_unlink_socket(const char *url)
{
    const char *path = url ? discovery_ipc_path(url) : NULL;
    struct stat sb;
    if (path && lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
        unlink(path);
}

/* Stop whatever runs, in reverse order of start. Returns the exit status
 * (status, or MAIN_EXIT_FAIL when closing the store fails). */
static int main_teardown(srdd *d, int status)
{
    if (d->srv)
        server_stop_accepting(d->srv);
    compactor_stop(d->cmp);     /* cancels a copy, answers its request */
    group_destroy(d->grp);      /* the loop commits no more groups */
    generation_close(d->gen);
    pathwatch_destroy(d->pw);
    server_close(d->srv, MAIN_DRAIN_MS);
    d->nng_stuck |= !publish_close(d->pub);
    streams_destroy(d->ss);     /* unfinished uploads are dropped */
    dedupe_destroy(d->dd);
    if (d->announced)
        discovery_remove(d->abs);
    if (d->srv || d->pub) {     /* only sockets this process created */
        main_unlink_socket(d->listen);
        main_unlink_socket(d->publish);
    }
    if (d->st) {
        srd_err rc = srdi_store_sync(d->st);
        srd_err rc2 = srdi_store_close(d->st);
        if (rc != SRD_OK || rc2 != SRD_OK) {
            log_error("closing the store failed: %s",
                      srd_strerror(rc != SRD_OK ? rc : rc2));
            status = status ? status : MAIN_EXIT_FAIL;
        }
    }
    free(d->abs);
    free(d->listen);
    free(d->publish);
    return status;
}

/* ======================================================================== */
/* Process                                                                  */
/* ======================================================================== */

/* Without --foreground: fork; the parent waits until the child is serving
 * (or failed) and exits with the child's status. Returns the pipe the
 * child reports on. */
static int main_daemonize(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        log_error("pipe: %s", strerror(errno));
        exit(MAIN_EXIT_FAIL);
    }
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork: %s", strerror(errno));
        exit(MAIN_EXIT_FAIL);
    }
    if (pid > 0) {
        unsigned char st = MAIN_EXIT_FAIL;
        close(p[1]);
        ssize_t n;
        while ((n = read(p[0], &st, 1)) < 0 && errno == EINTR)
            ;
        _exit(n == 1 ? st : MAIN_EXIT_FAIL);
    }
    close(p[0]);
    setsid();
    int nul = open("/dev/null", O_RDWR);
    if (nul >= 0) {
        dup2(nul, STDIN_FILENO);
        dup2(nul, STDOUT_FILENO);
        if (nul > STDERR_FILENO)
            close(nul);
    }
    return p[1];
}

static void main_report(int *ready_fd, int status)
{
    if (*ready_fd < 0)
        return;
    unsigned char st = (unsigned char)status;
    ssize_t w = write(*ready_fd, &st, 1);
    (void)w;
    close(*ready_fd);
    *ready_fd = -1;
}

/* Probe the publish listener; one NNG stopped serving is replaced
 * (probe.h). The request socket is srdd's own (netloop.h). */
static void main_check_listeners(srdd *d)
{
    listen_guard_check(publish_guard(d->pub), MAIN_PROBE_TIMEOUT_MS);
}

/* Every client connection costs a descriptor, and each listener NNG
 * leaves stuck leaks one or two (probe.h): take the hard limit. */
static void main_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            log_warn("cannot raise the descriptor limit: %s", strerror(errno));
    }
}

static uint64_t main_peers(srdd *d)
{
    return server_clients(d->srv);
}

/* --idle-exit: true once no client has been connected for that long.
 * *since is when a client was last seen (or srdd started). The discovery
 * file goes first, so no new client comes; one that read it just before
 * gets MAIN_IDLE_GRACE_MS to connect, and then srdd serves on. */
static bool main_idle_over(srdd *d, uint64_t *since)
{
    if (!d->o.idle_exit_s)
        return false;
    uint64_t now = stats_now_ms();
    if (main_peers(d) > 0) {
        *since = now;
        return false;
    }
    if (now - *since < (uint64_t)d->o.idle_exit_s * 1000u)
        return false;
    discovery_remove(d->abs);
    d->announced = 0;
    const struct timespec grace = {0, MAIN_IDLE_GRACE_MS * 1000000L};
    nanosleep(&grace, NULL);
    if (main_peers(d) > 0 && main_announce(d) == 0) {
        *since = stats_now_ms();
        return false;
    }
    log_info("no client for %u s (--idle-exit): finishing queued writes "
             "and stopping", d->o.idle_exit_s);
    notify_stopping();
    return true;
}

/* Wait for SIGTERM or SIGINT (blocked in every thread), checking the
 * listeners every MAIN_PROBE_EVERY_MS meanwhile, or until --idle-exit. */
static void main_wait(srdd *d, const sigset_t *set)
{
    const struct timespec every = {MAIN_PROBE_EVERY_MS / 1000,
                                   (MAIN_PROBE_EVERY_MS % 1000) * 1000000L};
    uint64_t seen = stats_now_ms();
    for (;;) {
        int sig = sigtimedwait(set, NULL, &every);
        if (sig < 0) {
            if (errno == EAGAIN) {
                main_check_listeners(d);
                pathwatch_ok(d->pw, NULL); /* logs a lost store once */
            }
            if (main_idle_over(d, &seen))
                return;
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("%s received: finishing queued writes and stopping",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT");
            notify_stopping();
            return;
        }
        log_info("signal %d ignored", sig);
    }
}

int main(int argc, char **argv)
{
    static srdd d;
    int r = options_parse(argc, argv, &d.o);
    if (r != 0)
        return r > 0 ? 0 : MAIN_EXIT_USAGE;
    log_set_level((log_level)d.o.log_level);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread starts */
    signal(SIGPIPE, SIG_IGN);
    /* A file size limit (RLIMIT_FSIZE) must fail the write (EFBIG, an
     * error reply), not kill srdd with every client's connection. */
    signal(SIGXFSZ, SIG_IGN);
    main_raise_fd_limit();

    int ready_fd = d.o.foreground ? -1 : main_daemonize();
    d.ctr.start_ms = stats_now_ms();
    int status = main_urls(&d);
    if (!status)
        status = main_open_store(&d);
    if (!status) {
        main_clean_stale(&d);
        status = main_start_modules(&d);
    }
    if (!status)
        status = main_announce(&d);
    main_report(&ready_fd, status);
    if (!status) {
        notify_ready(d.abs);
        main_wait(&d, &set);
    }
    status = main_teardown(&d, status);
    if (status == 0)
        log_info("stopped cleanly");
    if (d.nng_stuck)
        _exit(status); /* an NNG thread is stuck: do not run exit handlers */
    return status;
}
