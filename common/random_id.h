/* common/random_id.h: random ids in hex (run ids, worker incarnations,
 * endpoint names) from the system's random source, through libsodium: one
 * getrandom(2) per id, where libuuid made several system calls and reseeded
 * random(3) each time (a broker makes one per run). */
#ifndef SL_RANDOM_ID_H
#define SL_RANDOM_ID_H

#include <stddef.h>

/* Writes 2 * bytes uppercase hex digits and a NUL into out, whose size must
 * be more than 2 * bytes; bytes is at most 32 (more is taken as 32). */
void sl_random_id(char *out, size_t bytes);

#endif
