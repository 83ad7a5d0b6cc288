/* tests/unit/test_conformance.c: the C implementation against
 * tests/conformance/vectors.txt, the cases tests/python/test_conformance.py
 * checks too (tests/conformance/make_vectors.py says the format): values
 * decoded and encoded again to the same bytes, their canonical encoding
 * and digest; refused values; input digests; keys; key digests; entries
 * read under their key and encoded again to the same bytes; envelopes
 * unpacked and packed again to the same bytes; lock tokens and the
 * takeover rule (common/lock_token.c); YAML text read by the
 * flow file's dialect (sl_flow_parse_value) to the vector's value, or
 * refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "buf.h"
#include "digest.h"
#include "entry.h"
#include "flow.h"
#include "hist.h"
#include "key.h"
#include "lock_token.h"
#include "wire.h"

#include "proto/sluice.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELDS_MAX 10

/* hex ("-": none) into a new buffer of *size bytes. */
static uint8_t *
unhex(const char *hex, size_t *size)
{
    size_t n = strcmp(hex, "-") ? strlen(hex) / 2 : 0;
    uint8_t *out = malloc(n + 1);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sscanf(hex + 2 * i, "%2hhx", &out[i]), 1);
    *size = n;
    return out;
}

static void
assert_bytes(const void *got, size_t got_size, const char *want_hex,
             const char *what)
{
    size_t size;
    uint8_t *want = unhex(want_hex, &size);
    if (got_size != size || memcmp(got, want, size) != 0)
        fail_msg("%s: %zu bytes differ from the vector's %zu", what, got_size,
                 size);
    free(want);
}

static sl_value_t *
value_of(const char *hex, const char *what)
{
    size_t size;
    uint8_t *data = unhex(hex, &size);
    sl_value_t *v = NULL;
    sl_error_t err = {0};
    if (sl_wire_value_decode(data, size, &v, &err) < 0)
        fail_msg("%s: refused: %s", what, err.msg);
    free(data);
    return v;
}

static void
check_value(char **f)
{
    sl_value_t *v = value_of(f[2], f[1]);
    sl_buf_t wire = {0}, canon = {0};
    uint8_t digest[SL_DIGEST_BYTES];
    assert_int_equal(sl_wire_value_encode(v, &wire, NULL), 0);
    assert_bytes(wire.data, wire.size, f[2], f[1]);
    assert_int_equal(sl_digest_encode(v, &canon), 0);
    assert_bytes(canon.data, canon.size, f[3], f[1]);
    assert_int_equal(sl_digest_value(v, digest), 0);
    assert_bytes(digest, sizeof digest, f[4], f[1]);
    sl_buf_fini(&wire);
    sl_buf_fini(&canon);
    sl_value_destroy(&v);
}

static void
check_bad_value(char **f)
{
    size_t size;
    uint8_t *data = unhex(f[2], &size);
    sl_value_t *v = NULL;
    sl_error_t err = {0};
    if (sl_wire_value_decode(data, size, &v, &err) == 0)
        fail_msg("bad_value %s was taken", f[1]);
    assert_null(v);
    assert_true(err.msg[0] != '\0');
    free(data);
}

static void
check_task(char **f)
{
    sl_value_t *args = value_of(f[4], f[1]);
    sl_value_t *files = strcmp(f[5], "-") ? value_of(f[5], f[1]) : NULL;
    uint8_t digest[SL_DIGEST_BYTES];
    assert_int_equal(sl_digest_task_files(f[2], (uint32_t)atoi(f[3]), args,
                                          files, digest),
                     0);
    assert_bytes(digest, sizeof digest, f[6], f[1]);
    sl_value_destroy(&args);
    sl_value_destroy(&files);
}

static void
check_key(char **f)
{
    char key[SL_KEY_MAX_BYTES + 1];
    size_t size;
    uint8_t *digest = unhex(f[6], &size);
    bool is_inputs = !strcmp(f[2], "inputs");
    assert_int_equal(sl_key_build(key, sizeof key,
                                  is_inputs ? SL_CACHE_INPUTS : SL_CACHE_KEY,
                                  f[3], f[4], f[5], digest),
                     0);
    assert_string_equal(key, f[7]);
    free(digest);
}

static void
check_key_digest(char **f)
{
    uint8_t digest[SL_DIGEST_BYTES];
    sl_entry_key_digest(f[1], digest);
    assert_bytes(digest, sizeof digest, f[2], f[1]);
}

static void
check_entry(char **f)
{
    size_t size;
    uint8_t *data = unhex(f[3], &size);
    sl_entry_t e = {0}, other = {0};
    sl_error_t err = {0};
    if (sl_entry_read(data, size, f[2], &e, &err) != SL_ENTRY_OK)
        fail_msg("entry %s refused: %s", f[1], err.msg);
    sl_buf_t wire = {0}, again = {0};
    assert_int_equal(sl_wire_value_encode(e.value, &wire, NULL), 0);
    assert_bytes(wire.data, wire.size, f[4], f[1]);
    assert_int_equal(sl_entry_encode(&e, &again, NULL), 0);
    assert_bytes(again.data, again.size, f[3], f[1]);
    assert_int_equal(sl_entry_read(data, size, "sluice:v1:default:other",
                                   &other, &err),
                     SL_ENTRY_OTHER_KEY);
    sl_buf_fini(&wire);
    sl_buf_fini(&again);
    sl_entry_fini(&e);
    free(data);
}

static void
check_envelope(char **f)
{
    size_t size;
    uint8_t *data = unhex(f[2], &size);
    Sluice__Envelope *env = sluice__envelope__unpack(NULL, size, data);
    if (!env)
        fail_msg("envelope %s does not unpack", f[1]);
    assert_int_equal(env->version, 1);
    assert_int_not_equal(env->body_case, SLUICE__ENVELOPE__BODY__NOT_SET);
    size_t packed_size = sluice__envelope__get_packed_size(env);
    uint8_t *packed = malloc(packed_size + 1);
    sluice__envelope__pack(env, packed);
    assert_bytes(packed, packed_size, f[2], f[1]);
    free(packed);
    sluice__envelope__free_unpacked(env, NULL);
    free(data);
}

static void
check_lock_token(char **f)
{
    char token[300];
    uint64_t task_id = strtoull(f[2], NULL, 10);
    uint32_t attempt = (uint32_t)strtoul(f[3], NULL, 10);
    assert_true(sl_lock_token(token, sizeof token, task_id, attempt, f[4]) <
                (int)sizeof token);
    if (strcmp(token, f[5]) != 0)
        fail_msg("lock_token %s: '%s', not '%s'", f[1], token, f[5]);
}

static void
check_lock_takeover(char **f)
{
    size_t size;
    uint8_t *held = unhex(f[2], &size);
    bool is_earlier =
        sl_lock_token_is_earlier((const char *)held, size,
                                 strtoull(f[3], NULL, 10),
                                 (uint32_t)strtoul(f[4], NULL, 10));
    if (is_earlier != !strcmp(f[5], "yes"))
        fail_msg("lock_takeover %s: %s", f[1], is_earlier ? "yes" : "no");
    free(held);
}

/* The vector's text, NUL-terminated. */
static char *
text_of(const char *hex)
{
    size_t size;
    char *text = (char *)unhex(hex, &size);
    text[size] = '\0';
    return text;
}

static void
check_yaml(char **f)
{
    char *text = text_of(f[2]);
    sl_value_t *v = NULL;
    sl_error_t err = {0};
    sl_buf_t wire = {0};
    if (sl_flow_parse_value(text, &v, &err) < 0)
        fail_msg("yaml %s refused: %s", f[1], err.msg);
    assert_int_equal(sl_wire_value_encode(v, &wire, NULL), 0);
    assert_bytes(wire.data, wire.size, f[3], f[1]);
    sl_buf_fini(&wire);
    sl_value_destroy(&v);
    free(text);
}

static void
check_bad_yaml(char **f)
{
    char *text = text_of(f[2]);
    sl_value_t *v = NULL;
    sl_error_t err = {0};
    if (sl_flow_parse_value(text, &v, &err) == 0)
        fail_msg("bad_yaml %s was taken", f[1]);
    assert_null(v);
    /* names where: "value 'TEXT':LINE:COLUMN: ..." */
    assert_true(strncmp(err.msg, "value '", 7) == 0);
    free(text);
}

/* A histogram of the samples goes on the wire as the vector has it, and
 * comes back from it as the same histogram. */
static void
check_hist(char **f)
{
    sl_hist_t *h = sl_hist_new(), *back = sl_hist_new();
    sl_buf_t wire = {0}, again = {0};
    sl_error_t err = {0};
    for (char *p = f[2]; *p && *p != '-';) {
        char *end;
        sl_hist_add(h, strtoull(p, &end, 10));
        p = *end == ',' ? end + 1 : end;
    }
    sl_value_t *v = sl_hist_to_value(h), *w = NULL;
    assert_int_equal(sl_wire_value_encode(v, &wire, NULL), 0);
    assert_bytes(wire.data, wire.size, f[3], f[1]);
    assert_int_equal(sl_wire_value_decode(wire.data, wire.size, &w, NULL), 0);
    if (sl_hist_merge_value(back, w, &err) < 0)
        fail_msg("hist %s: %s", f[1], err.msg);
    sl_value_t *x = sl_hist_to_value(back);
    assert_int_equal(sl_wire_value_encode(x, &again, NULL), 0);
    assert_bytes(again.data, again.size, f[3], f[1]);
    sl_value_destroy(&v);
    sl_value_destroy(&w);
    sl_value_destroy(&x);
    sl_buf_fini(&wire);
    sl_buf_fini(&again);
    sl_hist_destroy(&h);
    sl_hist_destroy(&back);
}

static const struct {
    const char *kind;
    size_t fields;
    void (*check)(char **f);
} kinds[] = {
    {"hist", 4, check_hist},
    {"value", 5, check_value},
    {"bad_value", 3, check_bad_value},
    {"task", 7, check_task},
    {"key", 8, check_key},
    {"key_digest", 3, check_key_digest},
    {"entry", 5, check_entry},
    {"envelope", 3, check_envelope},
    {"lock_token", 6, check_lock_token},
    {"lock_takeover", 6, check_lock_takeover},
    {"yaml", 4, check_yaml},
    {"bad_yaml", 3, check_bad_yaml},
};

static void
test_every_vector(void **state)
{
    (void)state;
    FILE *in = fopen(SLUICE_CONFORMANCE_VECTORS, "r");
    assert_non_null(in);
    char *line = NULL;
    size_t cap = 0, checked[sizeof kinds / sizeof kinds[0]] = {0};
    while (getline(&line, &cap, in) > 0) {
        char *f[FIELDS_MAX], *save = NULL;
        size_t n = 0;
        if (line[0] == '#')
            continue;
        for (char *t = strtok_r(line, " \n", &save); t && n < FIELDS_MAX;
             t = strtok_r(NULL, " \n", &save))
            f[n++] = t;
        if (n == 0)
            continue;
        size_t k = 0;
        while (k < sizeof kinds / sizeof kinds[0] &&
               strcmp(kinds[k].kind, f[0]))
            k++;
        if (k == sizeof kinds / sizeof kinds[0] || n != kinds[k].fields)
            fail_msg("vectors.txt: a line of kind '%s' with %zu fields", f[0],
                     n);
        kinds[k].check(f);
        checked[k]++;
    }
    free(line);
    fclose(in);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (!checked[k])
            fail_msg("vectors.txt has no '%s' vector", kinds[k].kind);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_vector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
