/* common/error.c: error codes and error records. Pure; any thread. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
sl_strerror(int rc)
{
    switch (rc) {
    case SL_OK: return "ok";
    case SL_ENOMEM: return "out of memory";
    case SL_EINVAL: return "invalid input";
    case SL_ENOTFOUND: return "not found";
    case SL_EIO: return "i/o error";
    case SL_ETIMEDOUT: return "timed out";
    case SL_EPROTO: return "protocol error";
    case SL_ETOOBIG: return "too big";
    case SL_ECACHE: return "cache error";
    case SL_ETASK: return "task failed";
    case SL_EEXIST: return "already exists";
    case SL_EREJECTED: return "rejected";
    case SL_ESTATE: return "illegal state change";
    default: return "unknown error";
    }
}

int
sl_error_set(sl_error_t *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void
sl_error_prefix(sl_error_t *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[256];
    char old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
}

void
sl_error_clear(sl_error_t *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}
