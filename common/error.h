/* common/error.h: filling sl_error_t records. Shared by every part. */
#ifndef SL_ERROR_H
#define SL_ERROR_H

#include <sluice/error.h>

/* Sets err (which may be NULL) to code and the formatted message, and
 * returns code, so that `return sl_error_set(err, SL_EINVAL, ...)` reads. */
int sl_error_set(sl_error_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts "prefix: " in front of err's message, keeping its code. */
void sl_error_prefix(sl_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clears err (NULL-safe). */
void sl_error_clear(sl_error_t *err);

#endif
