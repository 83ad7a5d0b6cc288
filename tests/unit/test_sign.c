/* tests/unit/test_sign.c: Ed25519 signing keys, trust sets and signed
 * cache entries (common/sign.c), with real entries from common/entry.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "scratch.h"

#include "entry.h"
#include "sign.h"
#include "value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char dir[64];   /* scratch folder */
    char trust[96]; /* dir/trust: a and b trusted, c not */
    sl_sign_key_t a, b, c;
} fixture_t;

static void
make_key(fixture_t *f, const char *name, sl_sign_key_t *out, bool is_trusted)
{
    char base[160], path[200], cmd[512];
    sl_error_t err = {0};
    snprintf(base, sizeof base, "%s/%s", f->dir, name);
    assert_int_equal(sl_sign_keygen(base, &err), 0);
    snprintf(path, sizeof path, "%s.sign.key", base);
    assert_int_equal(sl_sign_key_load(path, out, &err), 0);
    if (is_trusted) {
        snprintf(cmd, sizeof cmd, "cp %s.sign.pub %s/", base, f->trust);
        assert_int_equal(system(cmd), 0);
    }
}

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    sl_test_scratch_new(f->dir, sizeof f->dir, "sign");
    snprintf(f->trust, sizeof f->trust, "%s/trust", f->dir);
    assert_int_equal(mkdir(f->trust, 0700), 0);
    make_key(f, "a", &f->a, true);
    make_key(f, "b", &f->b, true);
    make_key(f, "c", &f->c, false);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    sl_test_scratch_remove(f->dir);
    free(f);
    return 0;
}

/* A packed entry of value 42 for task "add" version v. */
static void
entry_bytes(sl_buf_t *out, uint32_t v)
{
    sl_entry_t e = {.value = sl_value_new_int(42),
                    .task = "add",
                    .version = v,
                    .created_ms = 1000,
                    .expires_ms = 2000,
                    .producer = "w1"};
    assert_int_equal(sl_entry_encode(&e, out, NULL), 0);
    sl_value_destroy(&e.value);
}

static void
test_sign_keygen_files(void **state)
{
    fixture_t *f = *state;
    char base[160], path[200];
    sl_error_t err = {0};
    struct stat st;
    snprintf(base, sizeof base, "%s/a", f->dir);
    snprintf(path, sizeof path, "%s.sign.key", base);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(sl_sign_keygen(base, &err), SL_EEXIST); /* no overwrite */
    assert_non_null(strstr(err.msg, "already exists"));
    sl_sign_key_t again;
    assert_int_equal(sl_sign_key_load(path, &again, &err), 0);
    assert_memory_equal(again.public_key, f->a.public_key,
                        SL_SIGN_PUBLIC_BYTES);
}

/* Bad key files and trust folders are errors that name the file. */
static void
test_sign_bad_files(void **state)
{
    fixture_t *f = *state;
    char path[200], cmd[600];
    sl_error_t err = {0};
    sl_sign_key_t k;
    snprintf(path, sizeof path, "%s/missing.sign.key", f->dir);
    assert_int_equal(sl_sign_key_load(path, &k, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, path));
    snprintf(path, sizeof path, "%s/a.sign.pub", f->dir); /* no secret */
    assert_int_equal(sl_sign_key_load(path, &k, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "no secret-key"));
    /* a secret key of b with the public key of a */
    snprintf(cmd, sizeof cmd,
             "(grep public %s/a.sign.pub; grep secret %s/b.sign.key) > "
             "%s/mixed.sign.key",
             f->dir, f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/mixed.sign.key", f->dir);
    assert_int_equal(sl_sign_key_load(path, &k, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "does not give its public key"));
    /* trust folders: missing, empty, holding junk */
    snprintf(path, sizeof path, "%s/nope", f->dir);
    assert_null(sl_trust_load(path, &err));
    assert_non_null(strstr(err.msg, path));
    snprintf(path, sizeof path, "%s/empty", f->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_null(sl_trust_load(path, &err));
    assert_non_null(strstr(err.msg, "no *.pub file"));
    snprintf(cmd, sizeof cmd, "echo 'public-key = \"abc\"' > %s/bad.pub", path);
    assert_int_equal(system(cmd), 0);
    assert_null(sl_trust_load(path, &err));
    assert_non_null(strstr(err.msg, "bad.pub"));
}

/* Signed by a trusted key for this cache key: ok; and the signed entry
 * still decodes as an entry. */
static void
test_sign_entry_verifies(void **state)
{
    fixture_t *f = *state;
    sl_error_t err = {0};
    sl_trust_t *t = sl_trust_load(f->trust, &err);
    assert_non_null(t);
    assert_int_equal(sl_trust_count(t), 2);
    sl_buf_t b = {0};
    entry_bytes(&b, 1);
    size_t unsigned_size = b.size;
    assert_int_equal(sl_sign_verify(t, "k1", b.data, b.size), SL_SIGN_UNSIGNED);
    assert_int_equal(sl_sign_entry(&f->a, "k1", &b), 0);
    assert_int_equal(b.size, unsigned_size + SL_SIGN_TRAILER_BYTES);
    assert_int_equal(sl_sign_verify(t, "k1", b.data, b.size), SL_SIGN_OK);
    sl_entry_t e = {0};
    assert_int_equal(sl_entry_decode(b.data, b.size, &e, &err), 0);
    assert_int_equal(sl_value_get_int(e.value), 42);
    assert_int_equal(e.expires_ms, 2000);
    sl_entry_fini(&e);
    sl_buf_fini(&b);
    sl_trust_destroy(&t);
    assert_null(t);
}

/* Tampered anywhere, replayed under another key, or signed by a key not
 * trusted: refused, each for its reason. */
static void
test_sign_refuses_tampered_replayed_untrusted(void **state)
{
    fixture_t *f = *state;
    sl_trust_t *t = sl_trust_load(f->trust, NULL);
    sl_buf_t b = {0};
    entry_bytes(&b, 1);
    assert_int_equal(sl_sign_entry(&f->b, "k1", &b), 0);
    for (size_t i = 0; i < b.size; i++) { /* every byte, one at a time */
        b.data[i] ^= 0x01;
        sl_sign_check_t c = sl_sign_verify(t, "k1", b.data, b.size);
        assert_int_not_equal(c, SL_SIGN_OK);
        b.data[i] ^= 0x01;
    }
    assert_int_equal(sl_sign_verify(t, "k1", b.data, b.size), SL_SIGN_OK);
    assert_int_equal(sl_sign_verify(t, "k2", b.data, b.size), SL_SIGN_BAD);
    assert_int_equal(sl_sign_verify(t, "k1", b.data, b.size - 1),
                     SL_SIGN_UNSIGNED);
    assert_int_equal(sl_sign_verify(t, "k1", b.data, 3), SL_SIGN_UNSIGNED);
    sl_buf_fini(&b);
    entry_bytes(&b, 1);
    assert_int_equal(sl_sign_entry(&f->c, "k1", &b), 0);
    assert_int_equal(sl_sign_verify(t, "k1", b.data, b.size),
                     SL_SIGN_UNTRUSTED);
    assert_int_equal(sl_sign_verify(NULL, "k1", b.data, b.size),
                     SL_SIGN_UNTRUSTED);
    assert_string_equal(sl_sign_check_name(SL_SIGN_BAD), "bad_signature");
    sl_buf_fini(&b);
    sl_trust_destroy(&t);
}

/* The version and expiry are inside the signed bytes: an entry of
 * version 1 cannot be made to say version 2 without breaking it. */
static void
test_sign_covers_version_and_expiry(void **state)
{
    fixture_t *f = *state;
    sl_trust_t *t = sl_trust_load(f->trust, NULL);
    sl_buf_t v1 = {0}, v2 = {0};
    entry_bytes(&v1, 1);
    entry_bytes(&v2, 2);
    assert_int_equal(v1.size, v2.size);
    assert_int_equal(sl_sign_entry(&f->a, "k", &v1), 0);
    /* v2's body with v1's trailer */
    assert_int_equal(sl_buf_append(&v2, v1.data + v2.size,
                                   SL_SIGN_TRAILER_BYTES),
                     0);
    assert_int_equal(sl_sign_verify(t, "k", v1.data, v1.size), SL_SIGN_OK);
    assert_int_equal(sl_sign_verify(t, "k", v2.data, v2.size), SL_SIGN_BAD);
    sl_buf_fini(&v1);
    sl_buf_fini(&v2);
    sl_trust_destroy(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sign_keygen_files, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sign_bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_entry_verifies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_sign_refuses_tampered_replayed_untrusted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_covers_version_and_expiry,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
