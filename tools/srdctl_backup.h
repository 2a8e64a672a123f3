/* SPDX-License-Identifier: MIT */
/*
 * srdctl_backup.h -- the backup command: an online, consistent copy of a
 * store with its own synced-tail sidecar (srdctl_backup.c).
 */
#ifndef SRDCTL_BACKUP_H
#define SRDCTL_BACKUP_H

#include "srdctl_cli.h"

/* srdctl backup [STORE] DEST */
int backup_run(ctl_ctx *cx);

#endif
