/* common/buf.c: a growable byte buffer. Owned by one thread at a time. */
#include "buf.h"

#include <sluice/error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sl_buf_fini(sl_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->size = b->cap = 0;
}

int
sl_buf_reserve(sl_buf_t *b, size_t extra)
{
    if (b->size + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->size + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return SL_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int
sl_buf_append(sl_buf_t *b, const void *data, size_t size)
{
    if (sl_buf_reserve(b, size) < 0)
        return SL_ENOMEM;
    if (size)
        memcpy(b->data + b->size, data, size);
    b->size += size;
    b->data[b->size] = '\0';
    return 0;
}

int
sl_buf_putc(sl_buf_t *b, char c)
{
    return sl_buf_append(b, &c, 1);
}

int
sl_buf_printf(sl_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sl_buf_reserve(b, (size_t)n) < 0)
        return SL_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->size, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->size += (size_t)n;
    return 0;
}

int
sl_buf_put_u64(sl_buf_t *b, uint64_t v)
{
    unsigned char be[8];
    for (int i = 7; i >= 0; i--) {
        be[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
    return sl_buf_append(b, be, sizeof be);
}

char *
sl_buf_steal(sl_buf_t *b)
{
    if (!b->data && sl_buf_reserve(b, 0) < 0)
        return NULL;
    b->data[b->size] = '\0';
    char *p = b->data;
    b->data = NULL;
    b->size = b->cap = 0;
    return p;
}
