/* SPDX-License-Identifier: MIT */
/*
 * envnum.h -- unsigned numbers from the environment: the client's and
 * srd_open's settings (SRD_TIMEOUT_MS, SRD_AUTOSTART_IDLE, ...).
 */
#ifndef SRD_ENVNUM_H
#define SRD_ENVNUM_H

/* The decimal number in environment variable name, or dflt when it is
 * unset, empty, not digits only (a sign, a space or a suffix included)
 * or outside [min, max]. */
unsigned srdi_env_uint(const char *name, unsigned dflt, unsigned min,
                       unsigned max);

#endif
