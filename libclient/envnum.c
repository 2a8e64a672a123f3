/* SPDX-License-Identifier: MIT */
/*
 * envnum.c -- unsigned numbers from the environment (see envnum.h).
 */
#include "srd_features.h"

#include <errno.h>
#include <stdlib.h>

#include "envnum.h"

unsigned srdi_env_uint(const char *name, unsigned dflt, unsigned min,
                       unsigned max)
{
    const char *s = getenv(name);
    if (!s || *s < '0' || *s > '9') /* strtoul would take "-1", " 1" */
        return dflt;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return dflt;
    return (unsigned)v;
}
