/* common/digest.c: canonical encoding and BLAKE2b-256 digests (libsodium).
 * Pure; any thread. Never changes a value.
 *
 * Canonical form, one tag byte then a payload, integers big-endian:
 *   null 'N' | false 'F' | true 'T' | int 'I' + 8 bytes two's complement
 *   double 'D' + 8 bytes IEEE-754 (-0.0 written as 0.0, every NaN as
 *   0x7ff8000000000000) | string 'S' + u64 size + bytes | bytes 'B' + same
 *   list 'L' + u64 count + items | map 'M' + u64 count + (key as 'S', value)
 *   with keys sorted by their bytes (shorter first on a common prefix). */
#include "digest.h"

#include "error.h"

#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int encode(const sl_value_t *v, sl_buf_t *out, size_t depth);

static int
put_tagged(sl_buf_t *out, char tag, uint64_t n)
{
    int rc = sl_buf_putc(out, tag);
    return rc < 0 ? rc : sl_buf_put_u64(out, n);
}

static int
put_string(sl_buf_t *out, char tag, const char *s, size_t size)
{
    int rc = put_tagged(out, tag, size);
    return rc < 0 ? rc : sl_buf_append(out, s, size);
}

static uint64_t
double_bits(double d)
{
    uint64_t bits;
    if (d == 0.0)
        d = 0.0; /* -0.0 == 0.0: one number, one form */
    if (isnan(d))
        return UINT64_C(0x7ff8000000000000);
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

typedef struct {
    const char *key; /* borrowed from the map */
    size_t index;    /* the item's position in the map */
} map_slot_t;

static int
compare_slots(const void *pa, const void *pb)
{
    const char *a = ((const map_slot_t *)pa)->key;
    const char *b = ((const map_slot_t *)pb)->key;
    size_t la = strlen(a), lb = strlen(b);
    int c = memcmp(a, b, la < lb ? la : lb);
    if (c)
        return c;
    return la < lb ? -1 : la > lb;
}

static int
encode_map(const sl_value_t *v, sl_buf_t *out, size_t depth)
{
    size_t n = sl_value_count(v);
    map_slot_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order)
        return SL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        order[i] = (map_slot_t){sl_value_key_at(v, i), i};
    qsort(order, n, sizeof *order, compare_slots);
    int rc = put_tagged(out, 'M', n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = put_string(out, 'S', order[i].key, strlen(order[i].key));
        if (rc == 0)
            rc = encode(sl_value_at(v, order[i].index), out, depth + 1);
    }
    free(order);
    return rc;
}

static int
encode(const sl_value_t *v, sl_buf_t *out, size_t depth)
{
    size_t size;
    const char *s;
    if (depth > SL_VALUE_MAX_DEPTH)
        return SL_EINVAL;
    switch (sl_value_type(v)) {
    case SL_NULL: return sl_buf_putc(out, 'N');
    case SL_BOOL: return sl_buf_putc(out, sl_value_get_bool(v) ? 'T' : 'F');
    case SL_INT: return put_tagged(out, 'I', (uint64_t)sl_value_get_int(v));
    case SL_DOUBLE:
        return put_tagged(out, 'D', double_bits(sl_value_get_double(v)));
    case SL_STRING:
        s = sl_value_get_string(v, &size);
        return put_string(out, 'S', s, size);
    case SL_BYTES:
        s = sl_value_get_bytes(v, &size);
        return put_string(out, 'B', s, size);
    case SL_LIST: break;
    case SL_MAP: return encode_map(v, out, depth);
    }
    int rc = put_tagged(out, 'L', sl_value_count(v));
    for (size_t i = 0; rc == 0 && i < sl_value_count(v); i++)
        rc = encode(sl_value_at(v, i), out, depth + 1);
    return rc;
}

int
sl_digest_encode(const sl_value_t *v, sl_buf_t *out)
{
    return encode(v, out, 1);
}

static int
hash(const void *data, size_t size, uint8_t digest[SL_DIGEST_BYTES])
{
    return crypto_generichash(digest, SL_DIGEST_BYTES, data, size, NULL, 0) == 0
               ? 0
               : SL_ENOMEM;
}

int
sl_digest_bytes(const void *data, size_t size, uint8_t digest[SL_DIGEST_BYTES])
{
    return hash(data, size, digest);
}

int
sl_digest_value(const sl_value_t *v, uint8_t digest[SL_DIGEST_BYTES])
{
    sl_buf_t b = {0};
    int rc = sl_digest_encode(v, &b);
    if (rc == 0)
        rc = hash(b.data, b.size, digest);
    sl_buf_fini(&b);
    return rc;
}

int
sl_digest_task(const char *task, uint32_t version, const sl_value_t *args,
               uint8_t digest[SL_DIGEST_BYTES])
{
    return sl_digest_task_files(task, version, args, NULL, digest);
}

/* [task, version, args] and files (if any), hashed with key (NULL: none). */
static int
digest_call(const char *task, uint32_t version, const sl_value_t *args,
            const sl_value_t *files, const uint8_t *key,
            uint8_t digest[SL_DIGEST_BYTES])
{
    static const char domain[] = "sluice-task-v1";
    sl_buf_t b = {0};
    int rc = sl_buf_append(&b, domain, sizeof domain - 1);
    if (rc == 0)
        rc = put_tagged(&b, 'L', 3);
    if (rc == 0)
        rc = put_string(&b, 'S', task, strlen(task));
    if (rc == 0)
        rc = put_tagged(&b, 'I', version);
    if (rc == 0)
        rc = encode(args, &b, 2);
    if (rc == 0 && files && sl_value_count(files) > 0)
        rc = encode(files, &b, 1);
    if (rc == 0 &&
        crypto_generichash(digest, SL_DIGEST_BYTES, (const uint8_t *)b.data,
                           b.size, key, key ? SL_DIGEST_BYTES : 0) != 0)
        rc = SL_ENOMEM;
    sl_buf_fini(&b);
    return rc;
}

int
sl_digest_task_files(const char *task, uint32_t version, const sl_value_t *args,
                     const sl_value_t *files, uint8_t digest[SL_DIGEST_BYTES])
{
    return digest_call(task, version, args, files, NULL, digest);
}

int
sl_digest_task_keyed(const char *task, uint32_t version, const sl_value_t *args,
                     const sl_value_t *files,
                     const uint8_t key[SL_DIGEST_BYTES],
                     uint8_t digest[SL_DIGEST_BYTES])
{
    return digest_call(task, version, args, files, key, digest);
}

int
sl_digest_fd(int fd, uint8_t digest[SL_DIGEST_BYTES], uint64_t *size,
             sl_error_t *err)
{
    crypto_generichash_state st;
    char chunk[1 << 16];
    uint64_t total = 0;
    crypto_generichash_init(&st, NULL, 0, SL_DIGEST_BYTES);
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sl_error_set(err, SL_EIO, "read: %s", strerror(errno));
        if (n == 0)
            break;
        crypto_generichash_update(&st, (const unsigned char *)chunk,
                                  (unsigned long long)n);
        total += (uint64_t)n;
    }
    crypto_generichash_final(&st, digest, SL_DIGEST_BYTES);
    if (size)
        *size = total;
    return 0;
}

void
sl_digest_hex(const uint8_t digest[SL_DIGEST_BYTES],
              char hex[SL_DIGEST_HEX_BYTES])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < SL_DIGEST_BYTES; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[2 * SL_DIGEST_BYTES] = '\0';
}
