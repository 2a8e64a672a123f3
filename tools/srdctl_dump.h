/* SPDX-License-Identifier: MIT */
/*
 * srdctl_dump.h -- srdctl export and import: a portable dump of the live
 * entries of a store (format in docs/srdctl.md, DUMP FORMAT), written and
 * read in file order so an import reproduces the order of the entries.
 */
#ifndef SRDCTL_DUMP_H
#define SRDCTL_DUMP_H

#include "srdctl_cli.h"

int dump_export(ctl_ctx *cx);
int dump_import(ctl_ctx *cx);

#endif
