/* SPDX-License-Identifier: MIT */
/*
 * spin.c -- the spin policy of a wait on the request path (see spin.h).
 */
#include "srd_features.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spin.h"

bool srdi_spin_parse(const char *s, unsigned *us)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > SRDI_SPIN_MAX_US)
        return false;
    *us = (unsigned)v;
    return true;
}

unsigned srdi_spin_env(unsigned dflt)
{
    static _Atomic int warned;
    const char *s = getenv(SRDI_SPIN_ENV);
    unsigned us;
    if (!s)
        return dflt;
    if (srdi_spin_parse(s, &us))
        return us;
    if (!warned++)
        fprintf(stderr,
                "srd: %s=%s: expected microseconds in 0..%u; using %u\n",
                SRDI_SPIN_ENV, s, SRDI_SPIN_MAX_US, dflt);
    return dflt;
}

void srdi_spin_init(srdi_spin *sp, unsigned bound_us)
{
    *sp = (srdi_spin){.bound_us = bound_us};
}

bool srdi_spin_want(srdi_spin *sp)
{
    if (!sp->bound_us)
        return false;
    if (sp->skip) {
        sp->skip--;
        return false;
    }
    return true;
}

void srdi_spin_done(srdi_spin *sp, bool hit)
{
    sp->spins++;
    if (hit) {
        sp->hits++;
        sp->misses = 0;
        return;
    }
    if (sp->misses < SRDI_SPIN_MISSES + 16)
        sp->misses++;
    if (sp->misses < SRDI_SPIN_MISSES)
        return;
    unsigned shift = sp->misses - SRDI_SPIN_MISSES;
    sp->skip = shift >= 7 ? SRDI_SPIN_SKIP_MAX : SRDI_SPIN_SKIP_MIN << shift;
    if (sp->skip > SRDI_SPIN_SKIP_MAX)
        sp->skip = SRDI_SPIN_SKIP_MAX;
}

unsigned srdi_spin_bound_within(unsigned bound_us, int64_t ms_left)
{
    if (ms_left < 0 || (uint64_t)ms_left >= (bound_us + 999u) / 1000u)
        return bound_us; /* no deadline, or none within the bound */
    return (unsigned)ms_left * 1000u;
}

bool srdi_spin_core_free_in(const char *loadavg, unsigned cpus, bool *idle)
{
    /* "0.98 1.58 3.31 1/85 32089": the fourth field is running/total */
    const char *p = loadavg;
    for (int field = 0; field < 3 && p; field++) {
        p = strchr(p, ' ');
        p = p ? p + 1 : NULL;
    }
    if (!p || *p < '0' || *p > '9')
        return false;
    char *end;
    unsigned long running = strtoul(p, &end, 10);
    if (*end != '/')
        return false;
    *idle = running <= cpus;
    return true;
}

/* The CPUs this process may run on (at least 1). */
static unsigned spin_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

/* A core-free answer stays good this long: /proc/loadavg's running count
 * is an instant's, and reading it costs about 1.3 us (measured: pread of
 * the file in a loop), a tenth of a spinning round trip when taken on
 * every wait of both sides. */
#define SPIN_CORE_TTL_NS 1000000u

static bool spin_core_read(int f)
{
    static _Atomic unsigned cpus;
    unsigned n = atomic_load_explicit(&cpus, memory_order_relaxed);
    if (n == 0) {
        n = spin_cpus();
        atomic_store_explicit(&cpus, n, memory_order_relaxed);
    }
    char buf[128];
    ssize_t k = pread(f, buf, sizeof buf - 1, 0);
    if (k <= 0)
        return true;
    buf[k] = 0;
    bool idle = true;
    return !srdi_spin_core_free_in(buf, n, &idle) || idle;
}

bool srdi_spin_core_free(void)
{
    /* -2: not opened yet; -1: no check (unreadable, or turned off) */
    static _Atomic int fd = -2;
    static _Atomic uint64_t checked_ns; /* when was_free was read */
    static _Atomic bool was_free;
    int f = atomic_load_explicit(&fd, memory_order_acquire);
    if (f == -2) {
        const char *env = getenv("SRD_SPIN_CORE_CHECK");
        int nf = env && strcmp(env, "0") == 0
                     ? -1
                     : open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
        int expect = -2;
        if (!atomic_compare_exchange_strong(&fd, &expect, nf < 0 ? -1 : nf) &&
            nf >= 0)
            close(nf); /* another thread opened it first */
        f = atomic_load_explicit(&fd, memory_order_acquire);
    }
    if (f < 0)
        return true;
    uint64_t now = srdi_spin_now_ns();
    uint64_t t = atomic_load_explicit(&checked_ns, memory_order_acquire);
    if (t != 0 && now - t < SPIN_CORE_TTL_NS)
        return atomic_load_explicit(&was_free, memory_order_relaxed);
    bool free_now = spin_core_read(f);
    atomic_store_explicit(&was_free, free_now, memory_order_relaxed);
    atomic_store_explicit(&checked_ns, now, memory_order_release);
    return free_now;
}

uint64_t srdi_spin_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Not sched_yield: with the kernel's EEVDF scheduler a yield moves the
 * caller's deadline back by a whole slice, so on a loaded machine a
 * spinner that yields waits for other processes' slices (milliseconds);
 * measured: p99 of a blocking put 1.7-2.8 ms against 0.1-1.1 ms without
 * the spin, and pipelined / batched puts slower (PERFORMANCE.md). */
void srdi_spin_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
