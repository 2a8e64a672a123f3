/* SPDX-License-Identifier: MIT */
/*
 * notify.h -- tell the service manager (systemd, Type=notify) that srdd
 * serves or stops. No-ops outside systemd (no $NOTIFY_SOCKET) and in a
 * build without libsystemd.
 */
#ifndef SRDD_NOTIFY_H
#define SRDD_NOTIFY_H

/* READY=1 with the store path as STATUS=; call once srdd serves. */
void notify_ready(const char *store);

/* STOPPING=1; call when a stop signal arrives. */
void notify_stopping(void);

#endif
