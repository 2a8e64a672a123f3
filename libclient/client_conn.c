/* SPDX-License-Identifier: MIT */
/*
 * client_conn.c -- client mode's way to srdd: whether to use client mode,
 * finding srdd through "<path>.srdd", whom to trust at the other end, and
 * the SUB socket with the pipe events that make the next request
 * handshake first (client.c, invariant 4). The request connection is
 * client_req.c's.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "client_impl.h"
#include "envnum.h"
#include "errno_map.h"
#include "nngfix.h"
#include "store_impl.h"

/* "<path><suffix>" into buf; false when it does not fit. */
static bool cl_sibling(const char *path, const char *suffix, char *buf,
                       size_t cap)
{
    int n = snprintf(buf, cap, "%s%s", path, suffix);
    return n > 0 && (size_t)n < cap;
}

bool srdi_client_flags_ok(unsigned flags)
{
    if (!(flags & SRD_OPEN_CLIENT))
        return true;
    return !(flags & (SRD_OPEN_EMBEDDED | SRD_OPEN_READONLY));
}

bool srdi_client_wanted(const char *path, unsigned flags, srd_err lock_rc)
{
    if (flags & SRD_OPEN_CLIENT)
        return true;
    if (flags & (SRD_OPEN_EMBEDDED | SRD_OPEN_READONLY))
        return false;
    /* Held, or not ours to take (no write permission, read-only fs). */
    bool denied = lock_rc == SRD_EPERM ||
                  lock_rc == (srd_err)(SRD_ESYSERR | EROFS);
    if (lock_rc != SRD_EBUSY && !denied)
        return false;
    char name[4096];
    return cl_sibling(path, ".srdd", name, sizeof name) &&
           access(name, F_OK) == 0;
}

bool srdi_cl_writer_alive(const char *path)
{
    char name[4096];
    if (!cl_sibling(path, ".lock", name, sizeof name))
        return false;
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) /* another user's lock file is 0600: cannot tell, try */
        return errno == EACCES;
    bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd); /* also drops the shared lock if we got it */
    return held;
}

/* Copy "<key>=<value>" into out when line starts with key=. */
static void cl_disc_field(const char *line, const char *key, char *out)
{
    size_t k = strlen(key);
    if (strncmp(line, key, k) != 0 || line[k] != '=')
        return;
    const char *v = line + k + 1;
    size_t n = strcspn(v, "\r\n");
    if (n >= CL_URL_MAX)
        return; /* too long to be ours: treated as missing */
    memcpy(out, v, n);
    out[n] = '\0';
}

/* Read srdd's discovery file "<path>.srdd". */
srd_err srdi_cl_discover(const char *path, cl_disc *d)
{
    char name[4096], line[CL_URL_MAX + 32];
    memset(d, 0, sizeof *d);
    if (!cl_sibling(path, ".srdd", name, sizeof name))
        return SRD_EINVAL;
    if (!srdi_cl_writer_alive(path))
        return SRD_EUNREACHABLE;
    FILE *f = fopen(name, "re");
    if (!f)
        return errno == ENOENT ? SRD_EUNREACHABLE : srdi_errno(errno);
    while (fgets(line, sizeof line, f)) {
        cl_disc_field(line, "listen", d->listen);
        cl_disc_field(line, "publish", d->publish);
    }
    fclose(f);
    return d->listen[0] && d->publish[0] ? SRD_OK : SRD_EPROTO;
}

/* Whether the process at the other end may be srdd for our store: it
 * runs as root, as us, or as the store file's owner. Anyone else may
 * have planted the discovery file and socket (a shared folder while srdd
 * is down) to acknowledge writes it never stores. */
bool srdi_cl_peer_trusted(srdi_client *c, uint64_t uid, const char *url)
{
    if (uid == 0 || uid == (uint64_t)geteuid() || uid == c->owner_uid)
        return true;
    atomic_store(&c->untrusted, uid + 1);
    if (c->log_errors)
        fprintf(stderr, "srd client: refused the daemon at %s: it runs as "
                        "uid %llu, the store belongs to uid %llu\n",
                url, (unsigned long long)uid,
                (unsigned long long)c->owner_uid);
    return false;
}

/* The SUB pipe's peer (no credentials: not ipc://, trusted). */
static bool cl_pipe_trusted(srdi_client *c, nng_pipe p)
{
    uint64_t uid;
    if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid) != 0)
        return true;
    return srdi_cl_peer_trusted(c, uid, c->sub_url);
}

/* ADD_PRE runs before a pipe starts carrying messages, so anything that
 * arrives over it finds the epoch bumped (invariant 4); an untrusted
 * peer's pipe is closed there, before it carries anything. */
static void cl_pipe_ev(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    srdi_client *c = arg;
    if (ev == NNG_PIPE_EV_ADD_PRE && !cl_pipe_trusted(c, p)) {
        nng_pipe_close(p);
    } else if (ev == NNG_PIPE_EV_ADD_PRE) {
        atomic_fetch_add(&c->epoch, 1);
    } else if (ev == NNG_PIPE_EV_ADD_POST) {
        atomic_fetch_add(&c->sub_pipes, 1);
    } else if (ev == NNG_PIPE_EV_REM_POST) {
        atomic_fetch_sub(&c->sub_pipes, 1);
    }
}

/* Watch the pipes of s (cl_pipe_ev). */
static int cl_watch(srdi_client *c, nng_socket s)
{
    int rv = nng_pipe_notify(s, NNG_PIPE_EV_ADD_PRE, cl_pipe_ev, c);
    if (rv == 0)
        rv = nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, cl_pipe_ev, c);
    if (rv == 0)
        rv = nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, cl_pipe_ev, c);
    return rv;
}

/* Stop watching the pipes of s (before closing it). */
static void cl_unwatch(nng_socket s)
{
    nng_pipe_notify(s, NNG_PIPE_EV_ADD_PRE, NULL, NULL);
    nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, NULL, NULL);
    nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, NULL, NULL);
}

/* SUB socket options: fast redial, bounded messages. */
static int cl_sock_opts(nng_socket s)
{
    int rv = nng_socket_set_ms(s, NNG_OPT_RECONNMINT, 20);
    if (rv == 0)
        rv = nng_socket_set_ms(s, NNG_OPT_RECONNMAXT, 500);
    if (rv == 0)
        rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ,
                                 (size_t)SRDI_WIRE_MAX_DEFAULT);
    return rv;
}

static int cl_open_sub(srdi_client *c, const char *url, int flags)
{
    int rv = nng_sub0_open(&c->sub);
    if (rv != 0)
        return rv;
    rv = cl_sock_opts(c->sub);
    if (rv == 0)
        rv = nng_socket_set(c->sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);
    if (rv == 0)
        rv = nng_socket_set_ms(c->sub, NNG_OPT_RECVTIMEO, c->tick);
    if (rv == 0)
        rv = cl_watch(c, c->sub);
    /* SRD_SUB_RECVBUF: tiny values make updates get lost (tests). */
    unsigned buf = srdi_env_uint("SRD_SUB_RECVBUF", 0, 1, 8192);
    if (rv == 0 && buf > 0)
        rv = nng_socket_set_int(c->sub, NNG_OPT_RECVBUF, (int)buf);
    /* SRD_SUB_DISABLE=1: never subscribe, as if every update were lost
     * (tests the poll that must make the handle converge anyway). */
    if (rv != 0 || srdi_env_uint("SRD_SUB_DISABLE", 0, 0, 1) == 1)
        return rv;
    return nng_dial(c->sub, url, &c->sub_dialer, flags);
}

srd_err srdi_cl_connect(srdi_client *c, const cl_disc *d)
{
    /* The SUB socket waits for srdi_cl_subscribe: a handle that reads
     * through the shared index has no use for it (client.c). */
    snprintf(c->sub_url, sizeof c->sub_url, "%s", d->publish);
    return srdi_cl_req_open(c, d->listen);
}

srd_err srdi_cl_subscribe(srdi_client *c, bool wait)
{
    /* wait: dial now (srdd serves, or the open fails); otherwise the
     * dialer keeps trying in the background */
    int rv = cl_open_sub(c, c->sub_url, wait ? 0 : NNG_FLAG_NONBLOCK);
    if (rv != 0 && nng_socket_id(c->sub) > 0) {
        cl_unwatch(c->sub);
        srdi_nng_close_bounded(&c->sub, 1, CL_CLOSE_MS);
        c->sub = (nng_socket)NNG_SOCKET_INITIALIZER;
    }
    if (rv == NNG_EPERM)
        return SRD_EPERM;
    if (rv != 0)
        return rv == NNG_ENOMEM ? SRD_ENOMEM : SRD_EUNREACHABLE;
    atomic_store(&c->subscribed, true);
    return SRD_OK;
}

/* Close the SUB socket, giving up after CL_CLOSE_MS (nngfix.h, item 1,
 * says why nng_close can hang). Returns false when it gave up: the caller
 * then leaks what NNG may still reference. */
static bool cl_close_sockets(srdi_client *c)
{
    if (nng_socket_id(c->sub) <= 0)
        return true;
    bool done = srdi_nng_close_bounded(&c->sub, 1, CL_CLOSE_MS);
    if (!done && c->log_errors)
        fprintf(stderr, "srd client: nng_close did not return within %u ms "
                        "(NNG bug); leaking the sockets\n", CL_CLOSE_MS);
    return done;
}

/* srdi_nng_redial_stuck's peer_alive: srdd holds the writer lock. */
static bool cl_srdd_alive(void *ctx)
{
    const srdi_client *c = ctx;
    return srdi_cl_writer_alive(c->st->path);
}

/* One socket of srdi_cl_redial_stuck (nngfix.h says why). */
static void cl_redial_one(srdi_client *c, nng_socket s, nng_dialer *d,
                          const char *url, int pipes, uint64_t *down_since,
                          uint64_t now)
{
    srdi_nng_redial r = {s, d, url, down_since};
    if (srdi_nng_redial_stuck(&r, pipes, now, CL_REDIAL_MS, cl_srdd_alive,
                              c) &&
        c->log_errors)
        fprintf(stderr, "srd client: no connection to %s for %u ms while "
                        "srdd runs: dialling afresh\n", url, CL_REDIAL_MS);
}

/* NNG 1.5.2's dialer can stop redialling for good (nngfix.h, item 2):
 * give the SUB socket a fresh dialer after CL_REDIAL_MS without a pipe
 * while srdd runs. */
void srdi_cl_redial_stuck(srdi_client *c, uint64_t now)
{
    cl_redial_one(c, c->sub, &c->sub_dialer, c->sub_url,
                  atomic_load(&c->sub_pipes), &c->sub_down_ms, now);
}

bool srdi_cl_disconnect(srdi_client *c)
{
    if (nng_socket_id(c->sub) > 0)
        cl_unwatch(c->sub);
    return cl_close_sockets(c);
}
