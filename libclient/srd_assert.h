/* SPDX-License-Identifier: MIT */
/*
 * srd_assert.h -- runtime checks of the numbered invariants of
 * docs/DESIGN.md §3 (and of the code's own invariants), never of input:
 * bad arguments, messages and files stay error returns.
 *
 *   SRD_ASSERT(x)        Debug builds (NDEBUG not defined): when x is
 *                        false, print "srd: invariant violated: x
 *                        (file:line)" on stderr and abort(). Release:
 *                        nothing, x is not evaluated.
 *   SRD_ASSERT_ALWAYS(x) the same in every build, for the cheap subset
 *                        (a compare or two per write, none per read):
 *                        going on after one of these fails would damage
 *                        a store.
 */
#ifndef SRD_ASSERT_H
#define SRD_ASSERT_H

/* Report the failed check and abort (srd_assert.c). */
_Noreturn void srdi_assert_fail(const char *expr, const char *file, int line);

#define SRD_ASSERT_ALWAYS(x) \
    ((x) ? (void)0 : srdi_assert_fail(#x, __FILE__, __LINE__))

#ifdef NDEBUG
#define SRD_ASSERT(x) ((void)0)
#else
#define SRD_ASSERT(x) SRD_ASSERT_ALWAYS(x)
#endif

#endif
