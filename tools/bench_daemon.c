/* SPDX-License-Identifier: MIT */
/*
 * bench_daemon.c -- srd-bench's daemon section: srdd on a fresh store and
 * client processes (forked, each with its own srd_open) measuring reads,
 * blocking/pipelined/batched puts, group commit and update visibility,
 * against baselines from the same run: a raw Unix-socket ping-pong and an
 * embedded read-only handle on the same file.
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_daemon.h"
#include "bench_peer.h"
#include "bench_util.h"

#define DKEY_LEN 12 /* "dkey%08zu", keys < 10^8 */
#define DKEY_BUF 24
#define MAX_PROCS 16
#define MAX_REPS_GC 5 /* repetitions of the durable rows, at most */

/* ---- srdd lifecycle ------------------------------------------------------ */

typedef struct daemon_proc {
    pid_t pid;
    char store[PATH_MAX];
} daemon_proc;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Start srdd on d->store and wait until its discovery file exists. */
static void daemon_exec(daemon_proc *d, const char *srdd, const char *sync,
                        const char *spin_us)
{
    char disc[PATH_MAX + 8];
    snprintf(disc, sizeof disc, "%s.srdd", d->store);
    d->pid = fork();
    if (d->pid < 0)
        die("fork: %s", strerror(errno));
    if (d->pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, STDERR_FILENO);
        if (spin_us)
            execl(srdd, srdd, "--store", d->store, "--sync", sync,
                  "--foreground", "--log-level", "error", "--spin-us",
                  spin_us, (char *)NULL);
        else
            execl(srdd, srdd, "--store", d->store, "--sync", sync,
                  "--foreground", "--log-level", "error", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 6000; i++) { /* a large store takes srdd a while */
        if (access(disc, F_OK) == 0)
            return;
        int st;
        if (waitpid(d->pid, &st, WNOHANG) == d->pid)
            die("srdd (%s) exited before serving %s", srdd, d->store);
        sleep_ms(10);
    }
    die("srdd did not serve %s within 60 s", d->store);
}

/* Start srdd on a new store (spin_us: its --spin-us; NULL: the default). */
static void daemon_start_spin(daemon_proc *d, const char *srdd,
                              const char *name, const char *sync,
                              const char *spin_us)
{
    wpath(d->store, name);
    int fd = open(d->store, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        die("create %s: %s", d->store, strerror(errno));
    close(fd);
    daemon_exec(d, srdd, sync, spin_us);
}

static void daemon_start(daemon_proc *d, const char *srdd, const char *name,
                         const char *sync)
{
    daemon_start_spin(d, srdd, name, sync, NULL);
}

static void daemon_stop(daemon_proc *d)
{
    int st;
    kill(d->pid, SIGTERM);
    waitpid(d->pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        progress("daemon: srdd exited with status %d", st);
    remove_files("d-");
}

static srd_store *client_open(const char *path)
{
    srd_options o;
    srd_options_init(&o);
    o.flags = SRD_OPEN_CLIENT;
    srd_store *st = NULL;
    SRD_CHECK(srd_open(path, &o, &st));
    return st;
}

/* ---- child processes ----------------------------------------------------- */

/* Results travel back from children through a shared anonymous mapping. */
typedef struct shared {
    atomic_int ready;
    atomic_int go;
    double result[MAX_PROCS];
    uint64_t acked_ns[4096];   /* visibility: when the writer got its ack */
    uint64_t seen_ns[4096];    /* when the reader saw it */
} shared;

static shared *shared_new(void)
{
    shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    memset(sh, 0, sizeof *sh);
    return sh;
}

typedef void (*child_fn)(shared *sh, int id, const void *arg);

/* Fork n children running fn; they start together once all are ready. */
static void run_children(shared *sh, int n, child_fn fn, const void *arg)
{
    pid_t pids[MAX_PROCS];
    atomic_store(&sh->ready, 0);
    atomic_store(&sh->go, 0);
    fflush(NULL);
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            die("fork: %s", strerror(errno));
        if (pids[i] == 0) {
            fn(sh, i, arg);
            _exit(0);
        }
    }
    while (atomic_load(&sh->ready) < n)
        sleep_ms(1);
    atomic_store(&sh->go, 1);
    for (int i = 0; i < n; i++) {
        int st;
        waitpid(pids[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("a benchmark client process failed (status %d)", st);
    }
}

static void child_wait_go(shared *sh)
{
    atomic_fetch_add(&sh->ready, 1);
    while (!atomic_load(&sh->go))
        ;
}

static void dkey(char *buf, size_t i)
{
    snprintf(buf, DKEY_BUF, "dkey%08zu", i % 100000000u);
}

/* ---- put latency and throughput from one client -------------------------- */

typedef struct put_arg {
    const char *path;
    size_t n;
    size_t vlen;
    int mode;   /* 0 blocking (latencies), 1 pipelined, 2 batched */
    pid_t srdd; /* blocking: whose context switches to count too */
    bool no_spin; /* the client does not spin (SRD_SPIN_US=0) */
} put_arg;

static void put_blocking(srd_store *st, shared *sh, const put_arg *a,
                         const uint8_t *val)
{
    double *t = xmalloc(a->n * sizeof *t);
    char k[DKEY_BUF];
    uint64_t c0 = peer_ctxsw(getpid()), s0 = peer_ctxsw(a->srdd);
    double u0 = peer_cpu_us(getpid()), v0 = peer_cpu_us(a->srdd);
    for (size_t i = 0; i < a->n; i++) {
        dkey(k, i);
        uint64_t t0 = now_ns();
        SRD_CHECK(srd_put(st, (srd_val){k, DKEY_LEN}, (srd_val){val, a->vlen}));
        t[i] = (double)(now_ns() - t0) / 1e3;
    }
    uint64_t c1 = peer_ctxsw(getpid()), s1 = peer_ctxsw(a->srdd);
    sh->result[4] = (peer_cpu_us(getpid()) - u0) / (double)a->n;
    sh->result[5] = (peer_cpu_us(a->srdd) - v0) / (double)a->n;
    qsort_doubles(t, a->n);
    sh->result[0] = t[a->n / 2];
    sh->result[1] = t[a->n * 99 / 100];
    sh->result[2] = (double)(c1 - c0) / (double)a->n;
    sh->result[3] = (double)(s1 - s0) / (double)a->n;
    free(t);
}

static void put_done(void *ctx, srd_err rc)
{
    if (rc != SRD_OK)
        die_srd("srd_put_async completion", rc, __LINE__);
    (void)ctx;
}

/* The n keys of a throughput run, made before its clock starts. */
static char (*put_keys(size_t n))[DKEY_BUF]
{
    char (*keys)[DKEY_BUF] = xmalloc(n * sizeof *keys);
    for (size_t i = 0; i < n; i++)
        dkey(keys[i], i);
    return keys;
}

static void put_pipelined(srd_store *st, shared *sh, const put_arg *a,
                          const uint8_t *val)
{
    char (*keys)[DKEY_BUF] = put_keys(a->n);
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < a->n; i++)
        SRD_CHECK(srd_put_async(st, (srd_val){keys[i], DKEY_LEN},
                                (srd_val){val, a->vlen}, put_done, NULL));
    SRD_CHECK(srd_flush(st));
    sh->result[0] = (double)a->n / ((double)(now_ns() - t0) / 1e9);
    free(keys);
}

#define DBATCH 1000

static void put_batched(srd_store *st, shared *sh, const put_arg *a,
                        const uint8_t *val)
{
    char (*keys)[DKEY_BUF] = put_keys(a->n);
    srd_val k[DBATCH], v[DBATCH];
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < a->n; i += DBATCH) {
        size_t m = a->n - i < DBATCH ? a->n - i : DBATCH;
        for (size_t j = 0; j < m; j++) {
            k[j] = (srd_val){keys[i + j], DKEY_LEN};
            v[j] = (srd_val){val, a->vlen};
        }
        SRD_CHECK(srd_put_batch(st, k, v, m));
    }
    sh->result[0] = (double)a->n / ((double)(now_ns() - t0) / 1e9);
    free(keys);
}

static void put_child(shared *sh, int id, const void *arg)
{
    const put_arg *a = arg;
    (void)id;
    uint8_t val[256];
    fill_random(val, sizeof val, SEED);
    val[0] |= 1;
    if (a->no_spin)
        setenv("SRD_SPIN_US", "0", 1);
    srd_store *st = client_open(a->path);
    child_wait_go(sh);
    if (a->mode == 0)
        put_blocking(st, sh, a, val);
    else if (a->mode == 1)
        put_pipelined(st, sh, a, val);
    else
        put_batched(st, sh, a, val);
    SRD_CHECK(srd_close(st));
}

/* ---- group commit: concurrent blocking writers in `always` mode --------- */

typedef struct gc_arg {
    const char *path;
    double seconds;
} gc_arg;

static void gc_child(shared *sh, int id, const void *arg)
{
    const gc_arg *a = arg;
    srd_store *st = client_open(a->path);
    char k[32];
    uint8_t val[100];
    fill_random(val, sizeof val, SEED + (uint64_t)id);
    val[0] |= 1;
    child_wait_go(sh);
    uint64_t t0 = now_ns(), end = t0 + (uint64_t)(a->seconds * 1e9);
    size_t n = 0;
    while (now_ns() < end) {
        snprintf(k, sizeof k, "gc%d_%zu", id, n++);
        SRD_CHECK(srd_put(st, (srd_val){k, strlen(k)}, (srd_val){val, 100}));
    }
    sh->result[id] = (double)n / ((double)(now_ns() - t0) / 1e9);
    SRD_CHECK(srd_close(st));
}

static double gc_rate(shared *sh, const char *path, int writers, double secs)
{
    gc_arg a = {path, secs};
    run_children(sh, writers, gc_child, &a);
    double sum = 0;
    for (int i = 0; i < writers; i++)
        sum += sh->result[i];
    return sum;
}

/* ---- reads from client processes vs an embedded read-only handle -------- */

typedef struct read_arg {
    const char *path;
    size_t keys;
    size_t gets;
    bool embedded;
} read_arg;

static void read_child(shared *sh, int id, const void *arg)
{
    const read_arg *a = arg;
    srd_store *st;
    if (a->embedded) {
        srd_options o;
        srd_options_init(&o);
        o.flags = SRD_OPEN_READONLY;
        SRD_CHECK(srd_open(a->path, &o, &st));
    } else {
        st = client_open(a->path);
    }
    size_t *order = xmalloc(a->gets * sizeof *order);
    uint64_t s = SEED + (uint64_t)id;
    for (size_t i = 0; i < a->gets; i++)
        order[i] = rng_next(&s) % a->keys;
    char k[DKEY_BUF];
    child_wait_go(sh);
    uint64_t t0 = now_ns(), acc = 0;
    for (size_t i = 0; i < a->gets; i++) {
        srd_view v;
        dkey(k, order[i]);
        SRD_CHECK(srd_get(st, (srd_val){k, DKEY_LEN}, &v));
        acc += v.data[0];
        srd_view_release(&v);
    }
    sh->result[id] = (double)(now_ns() - t0) / (double)a->gets;
    g_sink += acc;
    free(order);
    SRD_CHECK(srd_close(st));
}

static double read_ns(shared *sh, const read_arg *a, int procs)
{
    run_children(sh, procs, read_child, a);
    double sum = 0;
    for (int i = 0; i < procs; i++)
        sum += sh->result[i];
    return sum / procs;
}

/* ---- visibility: ack in process A -> seen in process B ------------------- */

typedef struct vis_arg {
    const char *path;
    size_t n;
} vis_arg;

static void vis_child(shared *sh, int id, const void *arg)
{
    const vis_arg *a = arg;
    srd_store *st = client_open(a->path);
    char k[32];
    child_wait_go(sh);
    for (size_t i = 0; i < a->n; i++) {
        snprintf(k, sizeof k, "vis%zu", i);
        srd_val key = {k, strlen(k)};
        if (id == 0) {
            sleep_ms(1);
            SRD_CHECK(srd_put(st, key, (srd_val){"x", 1}));
            sh->acked_ns[i] = now_ns();
        } else {
            bool there = false;
            uint64_t give_up = now_ns() + 5000000000ull;
            while (!there && now_ns() < give_up)
                SRD_CHECK(srd_exists(st, key, &there));
            if (!there)
                die("visibility: vis%zu never became visible", i);
            sh->seen_ns[i] = now_ns();
        }
    }
    SRD_CHECK(srd_close(st));
}

static void visibility(shared *sh, const char *path, size_t n, double *med,
                       double *p99)
{
    vis_arg a = {path, n};
    run_children(sh, 2, vis_child, &a);
    double *d = xmalloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) {
        double us = ((double)sh->seen_ns[i] - (double)sh->acked_ns[i]) / 1e3;
        d[i] = us > 0 ? us : 0; /* seen before the writer got its ack */
    }
    qsort_doubles(d, n);
    *med = d[n / 2];
    *p99 = d[n * 99 / 100];
    free(d);
}

/* ---- the section --------------------------------------------------------- */

/* Load the keys from a client process (NNG cannot be used in a process
 * that forks later, so the parent never opens a client handle). */
typedef struct load_arg {
    const char *path;
    size_t keys;
} load_arg;

static void load_child(shared *sh, int id, const void *arg)
{
    const load_arg *a = arg;
    (void)id;
    srd_store *st = client_open(a->path);
    child_wait_go(sh);
    uint8_t val[100];
    fill_random(val, sizeof val, SEED);
    val[0] |= 1;
    char (*kb)[DKEY_BUF] = xmalloc(DBATCH * sizeof *kb);
    srd_val k[DBATCH], v[DBATCH];
    for (size_t i = 0; i < a->keys; i += DBATCH) {
        size_t m = a->keys - i < DBATCH ? a->keys - i : DBATCH;
        for (size_t j = 0; j < m; j++) {
            dkey(kb[j], i + j);
            k[j] = (srd_val){kb[j], DKEY_LEN};
            v[j] = (srd_val){val, 100};
        }
        SRD_CHECK(srd_put_batch(st, k, v, m));
    }
    srd_info info;
    SRD_CHECK(srd_get_info(st, &info));
    sh->result[0] = (double)info.index_bytes / (double)a->keys;
    free(kb);
    SRD_CHECK(srd_close(st));
}

static void load_keys(shared *sh, const char *path, size_t keys)
{
    load_arg a = {path, keys};
    run_children(sh, 1, load_child, &a);
    row_add("daemon", "B/key", -1, sh->result[0], NAN,
            "client index memory per key, %zu keys", keys);
}

static void bench_reads(shared *sh, const char *path, const bench_daemon_cfg *c)
{
    read_arg emb = {path, c->keys, c->gets, true};
    double base = read_ns(sh, &emb, 1);
    for (int procs = 1; procs <= 4; procs *= 2) {
        read_arg cl = {path, c->keys, c->gets, false};
        double ns = read_ns(sh, &cl, procs);
        row *r = row_add("daemon", "ns/get", -1, ns, base,
                         "random get, %d client process%s vs embedded", procs,
                         procs > 1 ? "es" : "");
        row_target(r, ns <= base * 1.1, "as fast as embedded");
    }
}

/* Blocking puts of one client against the raw floor and Redis SET of the
 * same run (issue 15's targets), then pipelined and batched throughput. */
static void bench_puts(shared *sh, const daemon_proc *d,
                       const bench_daemon_cfg *c, double *med_on,
                       double cpu_on[2])
{
    peer_rtt pp, redis;
    peer_pingpong(c->rtts, &pp);
    put_arg a = {d->store, c->rtts, 100, 0, d->pid, false};
    run_children(sh, 1, put_child, &a);
    double med = sh->result[0];
    row *r = row_add("daemon", "us", -1, med, pp.med_us,
                     "blocking put median vs Unix ping-pong");
    row_target(r, med <= 1.5 * pp.med_us, "<= 1.5x raw socket");
    row_add("daemon", "us", -1, sh->result[1], pp.p99_us,
            "blocking put p99 vs Unix ping-pong p99");
    if (peer_redis_rtt(c->rtts, false, &redis)) {
        r = row_add("daemon", "us", -1, med, redis.med_us,
                    "blocking put median, never, vs Redis SET");
        row_target(r, med <= redis.med_us, ">= 1.0x Redis");
    }
    r = row_add("daemon", "cs", -1, sh->result[2], NAN,
                "context switches per blocking put, client");
    row_target(r, sh->result[2] <= 3, "<= 3");
    r = row_add("daemon", "cs", -1, sh->result[3], NAN,
                "context switches per blocking put, srdd");
    row_target(r, sh->result[3] <= 3, "<= 3");
    cpu_on[0] = sh->result[4];
    cpu_on[1] = sh->result[5];
    *med_on = med;
    a = (put_arg){d->store, c->puts, 100, 1, d->pid, false};
    run_children(sh, 1, put_child, &a);
    r = row_add("daemon", "puts/s", 1, sh->result[0], NAN,
                "pipelined put_async 100 B, sync never");
    row_target(r, sh->result[0] >= 2e6, ">= 2M/s");
    a.mode = 2;
    run_children(sh, 1, put_child, &a);
    r = row_add("daemon", "puts/s", 1, sh->result[0], NAN,
                "batched puts (1000) 100 B, sync never");
    row_target(r, sh->result[0] >= 2e6, ">= 2M/s");
}

/* Blocking puts with both sides' spin off (srdd --spin-us 0, the client
 * SRD_SPIN_US=0) against the default of the same run (med_on, cpu_on:
 * bench_puts), and the CPU time per put of each side either way. */
static void bench_spin(shared *sh, const bench_daemon_cfg *c, double med_on,
                       const double cpu_on[2])
{
    daemon_proc d;
    daemon_start_spin(&d, c->srdd, "d-nospin.srd", "never", "0");
    put_arg a = {d.store, c->rtts, 100, 0, d.pid, true};
    run_children(sh, 1, put_child, &a);
    daemon_stop(&d);
    row_add("daemon", "us", -1, med_on, sh->result[0],
            "blocking put median, spin (default) vs spin off");
    row_add("daemon", "us", -1, cpu_on[0], sh->result[4],
            "CPU per blocking put, client, spin vs off");
    row_add("daemon", "us", -1, cpu_on[1], sh->result[5],
            "CPU per blocking put, srdd, spin vs off");
}

/* One repetition of the durable rows, srd and Redis back to back so a
 * slow stretch of the disk weighs on both: the blocking put medians
 * (us), 1, 4 and 16 writers' rates and Redis's with 16; NAN where Redis
 * is missing. */
enum { GC_PUT, GC_REDIS_PUT, GC_W1, GC_W4, GC_W16, GC_REDIS16, GC_FIGURES };

static void gc_repeat(shared *sh, const bench_daemon_cfg *c,
                      const daemon_proc *d, double *out)
{
    size_t n = c->rtts / 4 + 1;
    put_arg a = {d->store, n, 100, 0, d->pid, false};
    run_children(sh, 1, put_child, &a);
    out[GC_PUT] = sh->result[0];
    peer_rtt redis;
    out[GC_REDIS_PUT] = peer_redis_rtt(n, true, &redis) ? redis.med_us : NAN;
    out[GC_W1] = gc_rate(sh, d->store, 1, c->seconds);
    out[GC_W4] = gc_rate(sh, d->store, 4, c->seconds);
    out[GC_W16] = gc_rate(sh, d->store, 16, c->seconds);
    out[GC_REDIS16] = peer_redis_writers(16, c->seconds);
}

/* Durable puts: one writer's latency and 1/4/16 writers' rates, against
 * Redis with appendfsync always in the same run: medians of c->reps
 * repetitions, srd and Redis alternating (the disk's speed drifts by
 * tens of percent within a minute here: PERFORMANCE.md, "Stop 23"). */
static void bench_group_commit(shared *sh, const bench_daemon_cfg *c)
{
    daemon_proc d;
    unsigned reps = c->reps < 1 ? 1 : c->reps > MAX_REPS_GC ? MAX_REPS_GC
                                                             : c->reps;
    double by[GC_FIGURES][MAX_REPS_GC], med[GC_FIGURES];
    daemon_start(&d, c->srdd, "d-always.srd", "always");
    for (unsigned i = 0; i < reps; i++) {
        double one[GC_FIGURES];
        gc_repeat(sh, c, &d, one);
        for (int f = 0; f < GC_FIGURES; f++)
            by[f][i] = one[f];
    }
    daemon_stop(&d);
    for (int f = 0; f < GC_FIGURES; f++)
        med[f] = median(by[f], reps);
    if (!isnan(med[GC_REDIS_PUT])) {
        row *r = row_add("daemon", "us", -1, med[GC_PUT], med[GC_REDIS_PUT],
                         "blocking put median, always, vs Redis always");
        row_target(r, med[GC_PUT] <= med[GC_REDIS_PUT], ">= 1.0x Redis");
    }
    row_add("daemon", "puts/s", 1, med[GC_W1], NAN,
            "sync always, 1 writer process");
    row_add("daemon", "puts/s", 1, med[GC_W4], med[GC_W1],
            "sync always, 4 writers vs 1 writer");
    row *r = row_add("daemon", "puts/s", 1, med[GC_W16], med[GC_W1],
                     "sync always, 16 writers vs 1 writer");
    row_target(r, med[GC_W16] >= 6 * med[GC_W1], ">= 6x 1 writer");
    if (!isnan(med[GC_REDIS16])) {
        r = row_add("daemon", "puts/s", 1, med[GC_W16], med[GC_REDIS16],
                    "sync always, 16 writers vs Redis always");
        row_target(r, med[GC_W16] >= med[GC_REDIS16], ">= 1.0x Redis");
    }
}

void bench_daemon(const bench_daemon_cfg *c)
{
    if (access(c->srdd, X_OK) != 0) {
        progress("daemon: srdd not found at %s (use --srdd): skipped", c->srdd);
        return;
    }
    /* The readers pick keys modulo the count, so load at least one; every
     * step below sees the same count. */
    bench_daemon_cfg at_least_one = *c;
    if (at_least_one.keys == 0)
        at_least_one.keys = 1;
    c = &at_least_one;
    shared *sh = shared_new();
    daemon_proc d;
    progress("daemon: srdd --sync never, %zu keys loaded by a client", c->keys);
    daemon_start(&d, c->srdd, "d-never.srd", "never");
    load_keys(sh, d.store, c->keys);
    progress("daemon: random gets in 1, 2, 4 client processes");
    bench_reads(sh, d.store, c);
    progress("daemon: puts: blocking, pipelined, batched");
    double med_on, cpu_on[2];
    bench_puts(sh, &d, c, &med_on, cpu_on);
    progress("daemon: visibility of a write in another process");
    double med, p99;
    visibility(sh, d.store, c->visibility, &med, &p99);
    row_add("daemon", "us", -1, med, NAN, "ack -> visible in another process, median");
    row *r = row_add("daemon", "us", -1, p99, NAN,
                     "ack -> visible in another process, p99");
    row_target(r, p99 <= 50, "<= 50 us");
    daemon_stop(&d);
    progress("daemon: blocking puts with the spin off");
    bench_spin(sh, c, med_on, cpu_on);
    progress("daemon: group commit, sync always, 1/4/16 writers");
    bench_group_commit(sh, c);
    munmap(sh, sizeof *sh);
}

/* ---- open of an existing store in client mode ---------------------------- */

typedef struct open_arg {
    const char *path;
    srd_val key;
    unsigned reps;
} open_arg;

/* result[0]: median ms of open + get + close; result[1]: index bytes. */
static void open_child(shared *sh, int id, const void *arg)
{
    const open_arg *a = arg;
    double ms[32];
    unsigned reps = a->reps < 31 ? a->reps : 31;
    (void)id;
    child_wait_go(sh);
    for (unsigned i = 0; i <= reps; i++) { /* the first one warms */
        srd_view v;
        srd_info info;
        uint64_t t0 = now_ns();
        srd_store *st = client_open(a->path);
        SRD_CHECK(srd_get(st, a->key, &v));
        srd_view_release(&v);
        ms[i] = (double)(now_ns() - t0) / 1e6;
        SRD_CHECK(srd_get_info(st, &info));
        sh->result[1] = (double)info.index_bytes;
        SRD_CHECK(srd_close(st));
    }
    sh->result[0] = median(ms + 1, reps);
}

bool bench_daemon_open(const char *srdd, const char *path, srd_val key,
                       unsigned reps, double *ms, double *index_bytes)
{
    if (access(srdd, X_OK) != 0) {
        progress("open: no srdd at %s: client open skipped", srdd);
        return false;
    }
    daemon_proc d = {.pid = -1};
    snprintf(d.store, sizeof d.store, "%s", path);
    daemon_exec(&d, srdd, "never", NULL);
    shared *sh = shared_new();
    open_arg a = {path, key, reps};
    run_children(sh, 1, open_child, &a);
    *ms = sh->result[0];
    *index_bytes = sh->result[1];
    munmap(sh, sizeof *sh);
    int st;
    kill(d.pid, SIGTERM);
    waitpid(d.pid, &st, 0);
    return true;
}
