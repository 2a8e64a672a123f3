/* SPDX-License-Identifier: MIT */
/*
 * discovery.h -- how clients find srdd: the default addresses derived from
 * the store path and the "<store>.srdd" file (pid, listen, publish, store)
 * that exists exactly while a daemon serves the store.
 */
#ifndef SRDD_DISCOVERY_H
#define SRDD_DISCOVERY_H

#include <stddef.h>

/* Unix socket paths hold at most this many bytes (sun_path minus NUL). */
#define DISCOVERY_IPC_MAX 107

/* The absolute form of path (its directory resolved with realpath; the
 * file itself need not exist). malloc'd; NULL with errno on failure. */
char *discovery_abspath(const char *path);

/* "ipc://<abs><suffix>" (malloc'd) in *url; -1 with a message in why
 * (512 bytes) when the socket path would exceed DISCOVERY_IPC_MAX. */
int discovery_default_url(const char *abs, const char *suffix, char **url,
                          char *why);

/* "unix://<abs>.sock" (malloc'd), srdd's default request address; -1
 * with a message in why (512 bytes) when the path is too long. */
int discovery_default_request_url(const char *abs, char **url, char *why);

/* The file system path of an ipc:// or unix:// URL, or NULL for other
 * transports. */
const char *discovery_ipc_path(const char *url);

/* Write "<abs>.srdd" atomically (temporary file, fsync, rename; mode 0644).
 * 0 or -1 with errno. */
int discovery_write(const char *abs, const char *listen, const char *publish);

/* Write "<abs><suffix>" atomically with text (same way as above).
 * 0 or -1 with errno. */
int discovery_put(const char *abs, const char *suffix, const char *text);

/* Remove "<abs>.srdd" if it still names this process. */
void discovery_remove(const char *abs);

#endif
