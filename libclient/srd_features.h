/* SPDX-License-Identifier: MIT */
/*
 * srd_features.h -- feature-test macros for libsrdclient. Included first by
 * every .c file of the library so that all of them see the same libc API.
 */
#ifndef SRD_FEATURES_H
#define SRD_FEATURES_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#endif
