/* common/sign.c: Ed25519 keys, trust sets and entry signatures. The signed
 * bytes are "sluice-entry-1", NUL, the cache key, NUL, then the packed
 * entry before the trailer; the trailer is protobuf fields 11 (signer) and
 * 12 (signature) in a fixed layout, so a reader finds the signed bytes by
 * cutting it off. Key files are text, two lines of hex. Never logs. */
#include "sign.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONTEXT    "sluice-entry-1"
#define PATH_BYTES 4096
#define TRUST_MAX  4096
/* Protobuf tags of CacheEntry.signer (11) and .signature (12), both
 * length-delimited. */
#define TAG_SIGNER    ((11 << 3) | 2)
#define TAG_SIGNATURE ((12 << 3) | 2)

struct sl_trust {
    uint8_t (*keys)[SL_SIGN_PUBLIC_BYTES];
    size_t count;
};

static int
write_file(const char *path, mode_t mode, const char *text, sl_error_t *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    size_t len = strlen(text);
    bool is_ok = fd >= 0 && write(fd, text, len) == (ssize_t)len;
    if (fd >= 0 && close(fd) != 0)
        is_ok = false;
    if (!is_ok)
        return sl_error_set(err, SL_EIO, "keygen: cannot write %s: %s", path,
                            strerror(errno));
    return 0;
}

int
sl_sign_keygen(const char *name, sl_error_t *err)
{
    char key[PATH_BYTES], pub[PATH_BYTES];
    char pk_hex[SL_SIGN_PUBLIC_BYTES * 2 + 1],
        sk_hex[SL_SIGN_SECRET_BYTES * 2 + 1];
    char text[512];
    sl_sign_key_t k;
    if (!*name ||
        snprintf(key, sizeof key, "%s.sign.key", name) >= (int)sizeof key ||
        snprintf(pub, sizeof pub, "%s.sign.pub", name) >= (int)sizeof pub)
        return sl_error_set(err, SL_EINVAL,
                            "keygen: '%s' is not a usable file name", name);
    if (access(key, F_OK) == 0 || access(pub, F_OK) == 0)
        return sl_error_set(err, SL_EEXIST,
                            "keygen: %s or %s already exists: remove it first, "
                            "or pick another name",
                            key, pub);
    if (sodium_init() < 0)
        return sl_error_set(err, SL_EIO, "keygen: libsodium does not start");
    crypto_sign_keypair(k.public_key, k.secret);
    sodium_bin2hex(pk_hex, sizeof pk_hex, k.public_key, sizeof k.public_key);
    sodium_bin2hex(sk_hex, sizeof sk_hex, k.secret, sizeof k.secret);
    snprintf(text, sizeof text,
             "# sluice Ed25519 signing key: keep it secret (sluice keygen "
             "--sign)\npublic-key = \"%s\"\nsecret-key = \"%s\"\n",
             pk_hex, sk_hex);
    int rc = write_file(key, 0600, text, err);
    snprintf(text, sizeof text,
             "# sluice Ed25519 signing public key: trust it with sluice-worker "
             "--trust DIR\npublic-key = \"%s\"\n",
             pk_hex);
    if (rc == 0 && (rc = write_file(pub, 0644, text, err)) < 0)
        unlink(key);
    sodium_memzero(&k, sizeof k);
    sodium_memzero(sk_hex, sizeof sk_hex);
    return rc;
}

/* The hex value of `name = "..."` in path's text into out (size bytes);
 * 0, or SL_ENOTFOUND if the line is missing, SL_EINVAL if it is bad. */
static int
read_hex(const char *path, const char *name, uint8_t *out, size_t size)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int rc = SL_ENOTFOUND;
    size_t len = strlen(name), got = 0;
    while (f && rc == SL_ENOTFOUND && fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, name, len) != 0)
            continue;
        char *open_q = strchr(p + len, '"');
        char *close_q = open_q ? strchr(open_q + 1, '"') : NULL;
        rc = close_q &&
                     sodium_hex2bin(out, size, open_q + 1,
                                    (size_t)(close_q - open_q - 1), NULL, &got,
                                    NULL) == 0 &&
                     got == size
                 ? 0
                 : SL_EINVAL;
    }
    if (f)
        fclose(f);
    sodium_memzero(line, sizeof line);
    return rc;
}

int
sl_sign_key_load(const char *path, sl_sign_key_t *out, sl_error_t *err)
{
    uint8_t derived[SL_SIGN_PUBLIC_BYTES];
    if (sodium_init() < 0)
        return sl_error_set(err, SL_EIO, "libsodium does not start");
    if (access(path, R_OK) != 0)
        return sl_error_set(err, SL_EINVAL,
                            "signing key '%s': cannot read it: %s", path,
                            strerror(errno));
    if (read_hex(path, "secret-key", out->secret, sizeof out->secret) < 0 ||
        read_hex(path, "public-key", out->public_key, sizeof out->public_key) <
            0)
        return sl_error_set(err, SL_EINVAL,
                            "signing key '%s': no secret-key and public-key "
                            "lines of hex (make one with `sluice keygen --sign "
                            "NAME`)",
                            path);
    crypto_sign_ed25519_sk_to_pk(derived, out->secret);
    if (memcmp(derived, out->public_key, sizeof derived) != 0)
        return sl_error_set(err, SL_EINVAL,
                            "signing key '%s': its secret key does not give "
                            "its public key",
                            path);
    return 0;
}

sl_sign_key_t *
sl_sign_key_new(const char *path, sl_error_t *err)
{
    sl_sign_key_t *k = calloc(1, sizeof *k);
    if (!k)
        sl_error_set(err, SL_ENOMEM, "out of memory");
    else if (sl_sign_key_load(path, k, err) < 0)
        sl_sign_key_destroy(&k);
    return k;
}

void
sl_sign_key_destroy(sl_sign_key_t **p)
{
    if (!p || !*p)
        return;
    sodium_memzero(*p, sizeof **p);
    free(*p);
    *p = NULL;
}

static bool
is_pub(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".pub") == 0 && name[0] != '.';
}

sl_trust_t *
sl_trust_load(const char *dir, sl_error_t *err)
{
    char path[PATH_BYTES];
    DIR *d = opendir(dir);
    sl_trust_t *t = calloc(1, sizeof *t);
    if (t)
        t->keys = calloc(TRUST_MAX, sizeof *t->keys);
    if (!d || !t || !t->keys) {
        sl_error_set(err, d ? SL_ENOMEM : SL_EINVAL, "trusted keys '%s': %s",
                     dir, d ? "out of memory" : strerror(errno));
        goto fail;
    }
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if (!is_pub(e->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (t->count == TRUST_MAX) {
            sl_error_set(err, SL_EINVAL, "trusted keys '%s': more than %d", dir,
                         TRUST_MAX);
            goto fail;
        }
        if (read_hex(path, "public-key", t->keys[t->count],
                     SL_SIGN_PUBLIC_BYTES) < 0) {
            sl_error_set(err, SL_EINVAL,
                         "trusted key '%s': no public-key line of 64 hex "
                         "digits (a .sign.pub from `sluice keygen --sign`)",
                         path);
            goto fail;
        }
        t->count++;
    }
    closedir(d);
    if (t->count == 0) {
        sl_error_set(err, SL_EINVAL,
                     "trusted keys '%s': no *.pub file: every entry would be "
                     "refused",
                     dir);
        sl_trust_destroy(&t);
    }
    return t;
fail:
    if (d)
        closedir(d);
    sl_trust_destroy(&t);
    return NULL;
}

void
sl_trust_destroy(sl_trust_t **p)
{
    if (!p || !*p)
        return;
    free((*p)->keys);
    free(*p);
    *p = NULL;
}

size_t
sl_trust_count(const sl_trust_t *t)
{
    return t ? t->count : 0;
}

/* The signed message for key and the entry's first size bytes. */
static int
message(sl_buf_t *m, const char *key, const void *entry, size_t size)
{
    if (sl_buf_append(m, CONTEXT, sizeof CONTEXT) < 0 || /* with its NUL */
        sl_buf_append(m, key, strlen(key) + 1) < 0 ||
        sl_buf_append(m, entry, size) < 0)
        return SL_ENOMEM;
    return 0;
}

int
sl_sign_entry(const sl_sign_key_t *k, const char *key, sl_buf_t *entry)
{
    sl_buf_t m = {0};
    uint8_t trailer[SL_SIGN_TRAILER_BYTES];
    uint8_t *p = trailer;
    if (message(&m, key, entry->data, entry->size) < 0) {
        sl_buf_fini(&m);
        return SL_ENOMEM;
    }
    *p++ = TAG_SIGNER;
    *p++ = SL_SIGN_PUBLIC_BYTES;
    memcpy(p, k->public_key, SL_SIGN_PUBLIC_BYTES);
    p += SL_SIGN_PUBLIC_BYTES;
    *p++ = TAG_SIGNATURE;
    *p++ = SL_SIGN_BYTES;
    crypto_sign_detached(p, NULL, (const uint8_t *)m.data, m.size, k->secret);
    sl_buf_fini(&m);
    return sl_buf_append(entry, trailer, sizeof trailer);
}

sl_sign_check_t
sl_sign_verify(const sl_trust_t *t, const char *key, const void *data,
               size_t size)
{
    if (size < SL_SIGN_TRAILER_BYTES)
        return SL_SIGN_UNSIGNED;
    const uint8_t *tail = (const uint8_t *)data + size - SL_SIGN_TRAILER_BYTES;
    if (tail[0] != TAG_SIGNER || tail[1] != SL_SIGN_PUBLIC_BYTES ||
        tail[2 + SL_SIGN_PUBLIC_BYTES] != TAG_SIGNATURE ||
        tail[3 + SL_SIGN_PUBLIC_BYTES] != SL_SIGN_BYTES)
        return SL_SIGN_UNSIGNED;
    const uint8_t *signer = tail + 2;
    const uint8_t *sig = tail + 4 + SL_SIGN_PUBLIC_BYTES;
    bool is_trusted = false;
    for (size_t i = 0; t && i < t->count && !is_trusted; i++)
        is_trusted = !memcmp(t->keys[i], signer, SL_SIGN_PUBLIC_BYTES);
    if (!is_trusted)
        return SL_SIGN_UNTRUSTED;
    sl_buf_t m = {0};
    sl_sign_check_t rc = SL_SIGN_BAD;
    if (message(&m, key, data, size - SL_SIGN_TRAILER_BYTES) == 0 &&
        crypto_sign_verify_detached(sig, (const uint8_t *)m.data, m.size,
                                    signer) == 0)
        rc = SL_SIGN_OK;
    sl_buf_fini(&m);
    return rc;
}

const char *
sl_sign_check_name(sl_sign_check_t c)
{
    static const char *names[] = {"ok", "unsigned", "untrusted",
                                  "bad_signature"};
    return c <= SL_SIGN_BAD ? names[c] : "?";
}
