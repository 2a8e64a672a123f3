/* SPDX-License-Identifier: MIT */
/*
 * srdctl_admin.h -- srdctl commands on a whole store: status (with
 * --watch), verify, compact and sync. Figures only srdd knows are printed
 * only when a daemon provides them.
 */
#ifndef SRDCTL_ADMIN_H
#define SRDCTL_ADMIN_H

#include "srdctl_cli.h"

int admin_status(ctl_ctx *cx);
int admin_verify(ctl_ctx *cx);
int admin_compact(ctl_ctx *cx);
int admin_upgrade(ctl_ctx *cx);
int admin_sync(ctl_ctx *cx);

#endif
