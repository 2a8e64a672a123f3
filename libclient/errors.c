/* SPDX-License-Identifier: MIT */
/*
 * errors.c -- srd_strerror and srd_errname, generated from SRD_ERRNO_MAP so
 * that every code has exactly one message and one name.
 */
#include "srd_features.h"

#include <stdio.h>
#include <string.h>

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
