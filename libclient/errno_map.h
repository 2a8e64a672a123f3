/* SPDX-License-Identifier: MIT */
/*
 * errno_map.h -- the one translation of an errno value into an srd_err,
 * used by every part of libsrdclient and srdd that reports an OS failure
 * (implemented in errors.c next to srd_strerror). Internal.
 */
#ifndef SRD_ERRNO_MAP_H
#define SRD_ERRNO_MAP_H

#include "srd/srd.h"

/*
 * The srd_err for a failed system call's errno e:
 *   ENOSPC, EDQUOT -> SRD_ENOSPC     EACCES, EPERM -> SRD_EPERM
 *   ENOENT         -> SRD_ENOENT     ENOMEM        -> SRD_ENOMEM
 *   EIO, and 0     -> SRD_EIO (a call that failed without saying why)
 *   anything else  -> SRD_ESYSERR | e
 * Callers with a better code for one errno in their context (EWOULDBLOCK
 * from flock is SRD_EBUSY) test for it before calling this. Never SRD_OK:
 * the table is srdi_errno_map (errors.c); this inline wrapper only makes
 * that visible to the static analysers at every call site.
 */
srd_err srdi_errno_map(int e);

static inline srd_err srdi_errno(int e)
{
    srd_err rc = srdi_errno_map(e);
    return rc != SRD_OK ? rc : SRD_EIO;
}

#endif
