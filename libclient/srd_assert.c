/* SPDX-License-Identifier: MIT */
/*
 * srd_assert.c -- what a failed SRD_ASSERT does (srd_assert.h): one line
 * naming the check and where it is, then abort() for a core dump.
 */
#include "srd_features.h"

#include <stdio.h>
#include <stdlib.h>

#include "srd_assert.h"

void srdi_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "srd: invariant violated: %s (%s:%d)\n", expr, file,
            line);
    fflush(stderr);
    abort();
}
