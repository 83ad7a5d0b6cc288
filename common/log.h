/* common/log.h: one-line logs: time, level, subsystem, then key=value ids.
 * The library logs nothing until a program installs a level (main.c does). */
#ifndef SL_LOG_H
#define SL_LOG_H

typedef enum {
    SL_LOG_ERROR = 0,
    SL_LOG_WARN = 1,
    SL_LOG_INFO = 2,
    SL_LOG_DEBUG = 3,
    SL_LOG_OFF = 99
} sl_log_level_t;

/* Sets the highest level written to stderr; SL_LOG_OFF (the default)
 * silences everything. Call once, before threads start. */
void sl_log_set_level(sl_log_level_t level);

/* Parses "error", "warn", "info", "debug" or "off"; returns -1 if unknown. */
int sl_log_level_parse(const char *name);

/* Writes one line if level is enabled. Thread-safe: one write(2) a line. */
void sl_log(sl_log_level_t level, const char *subsystem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
