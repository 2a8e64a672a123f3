/* SPDX-License-Identifier: MIT */
/*
 * notify.c -- readiness and stop notification to systemd through
 * libsystemd's sd_notify (see notify.h). libsystemd, not a hand-written
 * datagram sender: it handles abstract sockets, credentials and the
 * protocol's future changes, and every Debian system already has it.
 */
#include "srd_features.h"

#include "log.h"
#include "notify.h"

#ifdef SRDD_HAVE_SYSTEMD
#include <string.h>
#include <systemd/sd-daemon.h>

void notify_ready(const char *store)
{
    int r = sd_notifyf(0, "READY=1\nSTATUS=serving %s", store);
    if (r < 0)
        log_warn("sd_notify READY=1 failed: %s", strerror(-r));
}

void notify_stopping(void)
{
    int r = sd_notify(0, "STOPPING=1");
    if (r < 0)
        log_warn("sd_notify STOPPING=1 failed: %s", strerror(-r));
}
#else
void notify_ready(const char *store) { (void)store; }
void notify_stopping(void) {}
#endif
