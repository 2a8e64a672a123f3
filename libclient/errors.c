/* SPDX-License-Identifier: MIT */
/*
 * errors.c -- srd_strerror and srd_errname, generated from SRD_ERRNO_MAP so
 * that every code has exactly one message and one name, and srdi_errno,
 * the one errno -> srd_err translation (errno_map.h).
 */
#include "srd_features.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "errno_map.h"
#include "srd/srd.h"

const char *srd_strerror(srd_err err)
{
    static __thread char buf[128];

    switch (err) {
    case SRD_OK:
        return "success";
#define SRD_ERR_MSG_(name, val, msg) \
    case SRD_##name:                 \
        return msg;
        SRD_ERRNO_MAP(SRD_ERR_MSG_)
#undef SRD_ERR_MSG_
    default:
        break;
    }
    if ((unsigned)err & SRD_ESYSERR) {
        int e = (int)((unsigned)err & ~(unsigned)SRD_ESYSERR);
        snprintf(buf, sizeof buf, "system error: %s", strerror(e));
        return buf;
    }
    snprintf(buf, sizeof buf, "Unknown error #%d", (int)err);
    return buf;
}

const char *srd_errname(srd_err err)
{
    switch (err) {
    case SRD_OK:
        return "SRD_OK";
#define SRD_ERR_NAME_(name, val, msg) \
    case SRD_##name:                  \
        return "SRD_" #name;
        SRD_ERRNO_MAP(SRD_ERR_NAME_)
#undef SRD_ERR_NAME_
    default:
        break;
    }
    if ((unsigned)err & SRD_ESYSERR)
        return "SRD_ESYSERR";
    return "SRD_EUNKNOWN";
}

srd_err srdi_errno_map(int e)
{
    switch (e) {
    case ENOSPC:
    case EDQUOT:
        return SRD_ENOSPC;
    case EACCES:
    case EPERM:
        return SRD_EPERM;
    case ENOENT:
        return SRD_ENOENT;
    case ENOMEM:
        return SRD_ENOMEM;
    case 0:
    case EIO:
        return SRD_EIO;
    default:
        return (srd_err)(SRD_ESYSERR | e);
    }
}
