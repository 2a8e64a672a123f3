/* SPDX-License-Identifier: MIT */
/*
 * spin.h -- the bounded, adaptive spin of a wait on the request path,
 * shared by the client's wait for a blocking call's reply and srdd's
 * wait for the next request after a pass that had work (PROTOCOL.md,
 * "Spinning before blocking"). On a VM whose idle vCPUs halt, waking one
 * costs tens of microseconds; looking at the socket for a short while
 * first keeps the vCPU busy when the answer is that close.
 *
 * The policy: spin at most bound_us; a spin that saw nothing is a miss;
 * after SRDI_SPIN_MISSES misses in a row the next SRDI_SPIN_SKIP_MIN waits
 * do not spin, a number that doubles with every further miss (up to
 * SRDI_SPIN_SKIP_MAX), then one spin is tried again. A hit resets it.
 * Replies that always take longer than the bound (a durable store's
 * fdatasync) thus cost a spin every SRDI_SPIN_SKIP_MAX waits.
 */
#ifndef SRDI_SPIN_H
#define SRDI_SPIN_H

#include <stdbool.h>
#include <stdint.h>

#define SRDI_SPIN_ENV "SRD_SPIN_US"
#define SRDI_SPIN_DEFAULT_US 50u
#define SRDI_SPIN_MAX_US 10000u
#define SRDI_SPIN_MISSES 2u
#define SRDI_SPIN_SKIP_MIN 16u
#define SRDI_SPIN_SKIP_MAX 1024u

typedef struct srdi_spin {
    unsigned bound_us; /* 0: never spin */
    unsigned misses;   /* in a row */
    unsigned skip;     /* waits left that do not spin */
    uint64_t spins, hits; /* counted for tests and benchmarks */
} srdi_spin;

/* Parse a spin bound in microseconds (decimal, 0..SRDI_SPIN_MAX_US);
 * false on anything else. */
bool srdi_spin_parse(const char *s, unsigned *us);

/* The bound SRD_SPIN_US asks for, or dflt when it is unset. A value that
 * does not parse is reported once on stderr (naming the variable) and
 * dflt is used. */
unsigned srdi_spin_env(unsigned dflt);

void srdi_spin_init(srdi_spin *sp, unsigned bound_us);

/* Whether this wait should spin (counts the skips down). */
bool srdi_spin_want(srdi_spin *sp);

/* Record what the spin this wait made saw. */
void srdi_spin_done(srdi_spin *sp, bool hit);

/* The spin of a wait whose deadline is ms_left milliseconds away (< 0:
 * none): bound_us, but never past the deadline (0 once it passed). */
unsigned srdi_spin_bound_within(unsigned bound_us, int64_t ms_left);

/* Whether a core is free for a spin: the tasks running or runnable
 * (/proc/loadavg's fourth field, this one included) are no more than the
 * CPUs this process may use. A spin on an oversubscribed machine holds a
 * core the peer it waits for (or another process) needs, so it is never
 * worth it there. True when the count cannot be read, or when
 * SRD_SPIN_CORE_CHECK=0 (tests that must see spins on a loaded machine).
 * The count is read at most once a millisecond per process. */
bool srdi_spin_core_free(void);

/* The same decision from a /proc/loadavg text and a CPU count (false when
 * the text does not parse). */
bool srdi_spin_core_free_in(const char *loadavg, unsigned cpus, bool *idle);

/* One breath of a spin loop (a pause instruction; the CPU stays ours). */
void srdi_spin_relax(void);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t srdi_spin_now_ns(void);

#endif
