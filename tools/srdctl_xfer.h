/* SPDX-License-Identifier: MIT */
/*
 * srdctl_xfer.h -- srdctl commands that move a value under a new key or
 * into another store file: copy, move and rename.
 */
#ifndef SRDCTL_XFER_H
#define SRDCTL_XFER_H

#include "srdctl_cli.h"

int xfer_copy(ctl_ctx *cx);
int xfer_move(ctl_ctx *cx);
int xfer_rename(ctl_ctx *cx);

#endif
