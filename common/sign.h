/* common/sign.h: signed cache entries (Ed25519, libsodium). A worker signs
 * each entry it writes with its own key; a reader accepts only entries
 * signed by a key it trusts. The signature covers the cache key and the
 * whole packed entry (value, task, version, expiry), and is appended to it
 * as two protobuf fields (CacheEntry.signer, .signature), so a reader that
 * does not check still decodes the entry. Read-only after loading: one
 * key or trust set may be shared by every executor thread. */
#ifndef SL_SIGN_H
#define SL_SIGN_H

#include "buf.h"
#include "error.h"

#include <stddef.h>
#include <stdint.h>

#define SL_SIGN_PUBLIC_BYTES 32
#define SL_SIGN_SECRET_BYTES 64
#define SL_SIGN_BYTES        64
/* What signing appends: signer (tag, length, 32 bytes), signature (tag,
 * length, 64 bytes). */
#define SL_SIGN_TRAILER_BYTES (2 + SL_SIGN_PUBLIC_BYTES + 2 + SL_SIGN_BYTES)

typedef struct sl_sign_key {
    uint8_t secret[SL_SIGN_SECRET_BYTES];
    uint8_t public_key[SL_SIGN_PUBLIC_BYTES];
} sl_sign_key_t;

typedef struct sl_trust sl_trust_t;

/* What a reader makes of an entry. */
typedef enum {
    SL_SIGN_OK,        /* signed by a trusted key, for this cache key */
    SL_SIGN_UNSIGNED,  /* no signature */
    SL_SIGN_UNTRUSTED, /* signed by a key not trusted */
    SL_SIGN_BAD        /* the signature does not match: tampered, or
                          copied from another key */
} sl_sign_check_t;

/* Writes NAME.sign.key (both keys, mode 0600) and NAME.sign.pub. Fails,
 * naming the file, if either exists or cannot be written. */
int sl_sign_keygen(const char *name, sl_error_t *err);

/* Reads a .sign.key file; checks its secret key gives its public key. */
int sl_sign_key_load(const char *path, sl_sign_key_t *out, sl_error_t *err);

/* The same, on the heap: NULL with err set on failure. */
sl_sign_key_t *sl_sign_key_new(const char *path, sl_error_t *err);

/* Wipes and frees the key. NULL-safe; sets *p to NULL. */
void sl_sign_key_destroy(sl_sign_key_t **p);

/* Every *.pub in dir (signing public keys). NULL, with err naming the
 * file or folder, if one does not parse or dir cannot be read; an empty
 * folder is an error too (it would refuse every entry). */
sl_trust_t *sl_trust_load(const char *dir, sl_error_t *err);
void sl_trust_destroy(sl_trust_t **p);
size_t sl_trust_count(const sl_trust_t *t);

/* Appends to entry (a packed CacheEntry) the signer and the signature of
 * it for cache key. Returns 0 or SL_ENOMEM (entry unchanged). */
int sl_sign_entry(const sl_sign_key_t *k, const char *key, sl_buf_t *entry);

/* Checks the entry stored under key. */
sl_sign_check_t sl_sign_verify(const sl_trust_t *t, const char *key,
                               const void *data, size_t size);

/* "ok", "unsigned", "untrusted", "bad_signature". */
const char *sl_sign_check_name(sl_sign_check_t c);

#endif
