/* SPDX-License-Identifier: MIT */
/*
 * srd_features.h -- feature-test macros for srdd. Included first by every
 * daemon .c file so that all of them see the same libc API (O_TMPFILE,
 * pthread extensions).
 */
#ifndef SRDD_FEATURES_H
#define SRDD_FEATURES_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#endif
