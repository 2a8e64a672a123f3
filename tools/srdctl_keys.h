/* SPDX-License-Identifier: MIT */
/*
 * srdctl_keys.h -- srdctl commands on single keys and the key listing:
 * put, get, del, exists, meta and ls. Values stream in and out in chunks;
 * get writes straight from the zero-copy view.
 */
#ifndef SRDCTL_KEYS_H
#define SRDCTL_KEYS_H

#include "srdctl_cli.h"

int keys_put(ctl_ctx *cx);
int keys_get(ctl_ctx *cx);
int keys_del(ctl_ctx *cx);
int keys_exists(ctl_ctx *cx);
int keys_meta(ctl_ctx *cx);
int keys_ls(ctl_ctx *cx);

#endif
