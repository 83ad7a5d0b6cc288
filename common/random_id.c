/* common/random_id.c: random hex ids (random_id.h). */
#include "random_id.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

void
sl_random_id(char *out, size_t bytes)
{
    static const char digits[] = "0123456789ABCDEF";
    unsigned char raw[32];
    if (bytes > sizeof raw)
        bytes = sizeof raw;
    if (sodium_init() < 0) { /* once; thread-safe, and cheap after */
        fputs("sluice: no random source (libsodium cannot start)\n", stderr);
        abort();
    }
    randombytes_buf(raw, bytes);
    for (size_t i = 0; i < bytes; i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 15];
    }
    out[2 * bytes] = '\0';
}
