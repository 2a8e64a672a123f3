/* SPDX-License-Identifier: MIT */
/*
 * log.c -- srdd's stderr log (see log.h). A line is formatted into a local
 * buffer and written at once, so lines from different threads never mix.
 */
#include "srd_features.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static _Atomic int log_level_now = LOG_LVL_INFO;

static const char *const log_names[] = {"error", "warn", "info", "debug"};

void log_set_level(log_level level)
{
    atomic_store(&log_level_now, (int)level);
}

int log_parse_level(const char *s)
{
    for (int i = 0; i <= LOG_LVL_DEBUG; i++)
        if (s && strcmp(s, log_names[i]) == 0)
            return i;
    return -1;
}

int log_enabled(log_level level)
{
    return (int)level <= atomic_load(&log_level_now);
}

void log_msg(log_level level, const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;

    if (!log_enabled(level))
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ".%03ldZ srdd[%ld] %s: ",
                          ts.tv_nsec / 1000000, (long)getpid(),
                          log_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    n = m < 0 ? n : n + (size_t)m;
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
