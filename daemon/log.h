/* SPDX-License-Identifier: MIT */
/*
 * log.h -- srdd's log: one line per event on stderr, with a UTC timestamp
 * (milliseconds), the level and the message. Thread-safe: each line is
 * written with one write(2).
 */
#ifndef SRDD_LOG_H
#define SRDD_LOG_H

typedef enum log_level {
    LOG_LVL_ERROR = 0,
    LOG_LVL_WARN,
    LOG_LVL_INFO,
    LOG_LVL_DEBUG
} log_level;

/* Lines above level are dropped (default LOG_LVL_INFO). */
void log_set_level(log_level level);
/* Parse "error", "warn", "info" or "debug"; -1 when unknown. */
int log_parse_level(const char *s);
/* Whether a line at level would be written. */
int log_enabled(log_level level);

void log_msg(log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                              \
    do {                                            \
        if (log_enabled(LOG_LVL_DEBUG))             \
            log_msg(LOG_LVL_DEBUG, __VA_ARGS__);    \
    } while (0)

#endif
