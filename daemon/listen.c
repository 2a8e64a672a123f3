/* SPDX-License-Identifier: MIT */
/*
 * listen.c -- endpoint setup and teardown for the NNG PUB socket of index
 * updates (see listen.h). A stale ipc socket file left by a killed daemon is
 * removed first: the caller holds the store's writer lock, so no live
 * srdd can own it. A guard remembers how a listener was made, so that
 * one NNG stopped serving can be replaced by a fresh one (probe.h).
 */
#include "srd_features.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "discovery.h"
#include "listen.h"
#include "log.h"
#include "nngfix.h"
#include "probe.h"

/* Probe pipes remembered until NNG reports them gone (one per probe;
 * a probe's pipe normally leaves long before the next probe). */
#define LISTEN_PROBE_PIPES 4

struct listen_guard {
    nng_socket sock;
    char *url;
    unsigned mode;
    size_t recvmax;
    uint16_t peer_proto;
    _Atomic unsigned own_pipes; /* pipes from this process that reached
                                 * the socket: the probes' */
    _Atomic uint32_t probe_pipes[LISTEN_PROBE_PIPES]; /* ids; 0: free */
    pthread_mutex_t mu;    /* the fields below */
    nng_listener l;
    bool stopped;          /* listen_guard_stop ran: no more restarts */
    pthread_mutex_t peers_mu; /* peers, n_peers, peers_cap */
    uint32_t *peers;       /* ids of the pipes that reached the socket and
                            * have not left */
    size_t n_peers, peers_cap;
    bool unlisted;         /* a pipe could not be listed (no memory) */
    _Atomic bool any_peer; /* n_peers > 0 or unlisted */
};

static int listen_open(nng_socket s, const char *url, unsigned mode,
                       size_t recvmax, nng_listener *out, char *why)
{
    nng_listener l = {0};
    const char *path = discovery_ipc_path(url);
    struct stat sb;
    if (path && lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
        unlink(path);
    int rv = nng_listener_create(&l, s, url);
    if (rv == 0 && path)
        rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, (int)mode);
    if (rv == 0 && recvmax)
        rv = nng_listener_set_size(l, NNG_OPT_RECVMAXSZ, recvmax);
    if (rv == 0)
        rv = nng_listener_start(l, 0);
    if (rv == 0 && path && chmod(path, mode) != 0)
        rv = NNG_EPERM;
    if (rv != 0)
        snprintf(why, 256, "cannot listen on %s: %s", url, nng_strerror(rv));
    *out = l;
    return rv;
}

/* Swap slot values from -> to in probe_pipes; false when none held from. */
static bool listen_probe_swap(listen_guard *g, uint32_t from, uint32_t to)
{
    for (unsigned i = 0; i < LISTEN_PROBE_PIPES; i++) {
        uint32_t want = from;
        if (atomic_compare_exchange_strong(&g->probe_pipes[i], &want, to))
            return true;
    }
    return false;
}

/* A pipe reached the socket (join) or left it. Only a pipe listed can
 * leave the list, so a departure NNG reports without its arrival (a pipe
 * closed while joining) never hides a peer; a pipe that cannot be listed
 * (no memory) makes any_peer true for good. */
static void listen_peer(listen_guard *g, uint32_t id, bool join)
{
    pthread_mutex_lock(&g->peers_mu);
    if (join && g->n_peers == g->peers_cap && !g->unlisted) {
        size_t cap = g->peers_cap ? 2 * g->peers_cap : 16;
        uint32_t *p = realloc(g->peers, cap * sizeof *p);
        if (p) {
            g->peers = p;
            g->peers_cap = cap;
        }
        g->unlisted = !p;
    }
    if (join && g->n_peers < g->peers_cap)
        g->peers[g->n_peers++] = id;
    for (size_t i = 0; !join && i < g->n_peers; i++) {
        if (g->peers[i] == id) {
            g->peers[i] = g->peers[--g->n_peers];
            break;
        }
    }
    atomic_store(&g->any_peer, g->unlisted || g->n_peers > 0);
    pthread_mutex_unlock(&g->peers_mu);
}

/* NNG: a pipe joined or left the socket. Pipes this process dialled are
 * the probes' (counted, so a probe can tell its own pipe). */
static void listen_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    listen_guard *g = arg;
    uint32_t id = (uint32_t)nng_pipe_id(p);
    listen_peer(g, id, ev == NNG_PIPE_EV_ADD_POST);
    if (ev == NNG_PIPE_EV_REM_POST) {
        listen_probe_swap(g, id, 0);
        return;
    }
    uint64_t pid = 0;
    if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_PID, &pid) == 0 &&
        pid == (uint64_t)getpid() && listen_probe_swap(g, 0, id))
        atomic_fetch_add(&g->own_pipes, 1);
}

int listen_guarded(nng_socket s, const char *url, unsigned mode,
                   size_t recvmax, uint16_t peer_proto, listen_guard **out,
                   char *why)
{
    listen_guard *g = calloc(1, sizeof *g);
    if (g)
        g->url = strdup(url);
    if (!g || !g->url) {
        free(g);
        snprintf(why, 256, "out of memory");
        return NNG_ENOMEM;
    }
    g->sock = s;
    g->mode = mode;
    g->recvmax = recvmax;
    g->peer_proto = peer_proto;
    pthread_mutex_init(&g->mu, NULL);
    pthread_mutex_init(&g->peers_mu, NULL);
    int rv = nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, listen_pipe_event, g);
    if (rv == 0)
        rv = nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, listen_pipe_event, g);
    if (rv != 0)
        snprintf(why, 256, "cannot watch the pipes of %s: %s", url,
                 nng_strerror(rv));
    else
        rv = listen_open(s, url, mode, recvmax, &g->l, why);
    if (rv != 0) {
        nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, NULL, NULL);
        nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, NULL, NULL);
        listen_guard_free(g);
        return rv;
    }
    *out = g;
    return 0;
}

/* Replace the listener (g->mu held). Closing the old one also drops the
 * connections it accepted: those stuck in it, which is the point, and
 * healthy older ones, whose clients reconnect by themselves (a request in
 * flight on one fails, SRD_EUNREACHABLE in the client, and may be
 * retried). Listening again first removes the socket file. */
static listen_health listen_restart(listen_guard *g, const char *stage)
{
    char why[256] = "";
    nng_listener_close(g->l);
    int rv = listen_open(g->sock, g->url, g->mode, g->recvmax, &g->l, why);
    if (rv != 0) {
        log_error("%s stopped accepting connections and could not be "
                  "restarted: %s", g->url, why);
        return LISTEN_BROKEN;
    }
    log_warn("%s stopped accepting connections (%s); listening again",
             g->url, stage);
    return LISTEN_RESTARTED;
}

/* Connect as a peer and wait until the connection reaches the socket
 * (not only the transport: see probe.h). NULL when it did, else what
 * failed. *fd: the probe's connection, or -1. */
static const char *listen_stuck(listen_guard *g, const char *path,
                                unsigned timeout_ms, int *fd)
{
    unsigned before = atomic_load(&g->own_pipes);
    *fd = -1;
    probe_result r = probe_sp_ipc(path, g->peer_proto, timeout_ms, fd);
    if (r == PROBE_REFUSED)
        return "its socket file is gone or refuses connections";
    if (r == PROBE_ERROR)
        return NULL; /* this process could not probe: no verdict */
    if (r == PROBE_SILENT)
        return "no handshake within the probe's time";
    for (unsigned waited = 0; waited <= timeout_ms; waited++) {
        if (atomic_load(&g->own_pipes) != before)
            return NULL;
        nng_msleep(1);
    }
    return "handshake done, the connection never reached the socket: "
           "NNG 1.5.2 after a peer left mid-handshake, nanomsg/nng#1518";
}

listen_health listen_guard_check(listen_guard *g, unsigned timeout_ms)
{
    const char *path = discovery_ipc_path(g->url);
    if (!path)
        return LISTEN_HEALTHY; /* only ipc:// is probed */
    pthread_mutex_lock(&g->mu);
    listen_health h = LISTEN_HEALTHY;
    int fd = -1;
    const char *stage = g->stopped ? NULL
                                   : listen_stuck(g, path, timeout_ms, &fd);
    if (stage)
        h = listen_restart(g, stage);
    if (fd >= 0)
        close(fd); /* only now: see probe_sp_ipc */
    pthread_mutex_unlock(&g->mu);
    return h;
}

void listen_guard_stop(listen_guard *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    if (!g->stopped)
        nng_listener_close(g->l);
    g->stopped = true;
    pthread_mutex_unlock(&g->mu);
}

void listen_guard_free(listen_guard *g)
{
    if (!g)
        return;
    pthread_mutex_destroy(&g->mu);
    pthread_mutex_destroy(&g->peers_mu);
    free(g->peers);
    free(g->url);
    free(g);
}

bool listen_guard_has_peers(listen_guard *g)
{
    return atomic_load(&g->any_peer);
}

bool listen_close(nng_socket s, unsigned timeout_ms)
{
    return srdi_nng_close_bounded(&s, 1, timeout_ms);
}
