/* common/buf.h: a growable byte buffer, for encoders and printers. */
#ifndef SL_BUF_H
#define SL_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct sl_buf {
    char *data;  /* always NUL-terminated when not NULL */
    size_t size; /* bytes used, without the NUL */
    size_t cap;  /* bytes allocated */
} sl_buf_t;

/* Frees what b holds and zeroes it; safe on a zeroed buffer. */
void sl_buf_fini(sl_buf_t *b);

/* Makes room for extra more bytes (and the NUL). Returns 0 or SL_ENOMEM. */
int sl_buf_reserve(sl_buf_t *b, size_t extra);

/* Appends; on SL_ENOMEM the buffer is unchanged. */
int sl_buf_append(sl_buf_t *b, const void *data, size_t size);
int sl_buf_putc(sl_buf_t *b, char c);
int sl_buf_printf(sl_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends v as 8 bytes, big-endian. */
int sl_buf_put_u64(sl_buf_t *b, uint64_t v);

/* Takes the bytes out of b (the caller frees them) and zeroes b. An empty
 * buffer gives an empty string, not NULL, unless memory runs out. */
char *sl_buf_steal(sl_buf_t *b);

#endif
