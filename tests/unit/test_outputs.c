/* tests/unit/test_outputs.c: a program task's output files
 * (worker/outputs.c) with real files and a real (LMDB) cache: gathered
 * from a working folder, delivered into a workspace, stored as blobs (in
 * the cache, or in a blob folder past the cache's cap), restored on a
 * hit; a missing output, a symlink, a blob that is gone or was changed,
 * and a large output with no blob folder each say what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "flow.h"
#include "outputs.h"
#include "scratch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char dir[256];          /* scratch */
    char folder[300];       /* the working folder */
    char workspace[300];    /* where outputs are delivered */
    char blobs[300];        /* a blob folder */
    sl_cache_t *cache;      /* LMDB in the scratch folder */
    sl_digest_memo_t *memo; /* for restores */
} world_t;

static int
setup(void **state)
{
    world_t *w = calloc(1, sizeof *w);
    char url[400];
    sl_error_t err = {0};
    sl_test_scratch_new(w->dir, sizeof w->dir, "outputs");
    snprintf(w->folder, sizeof w->folder, "%s/work", w->dir);
    snprintf(w->workspace, sizeof w->workspace, "%s/ws", w->dir);
    snprintf(w->blobs, sizeof w->blobs, "%s/blobs", w->dir);
    assert_int_equal(mkdir(w->folder, 0700), 0);
    assert_int_equal(mkdir(w->workspace, 0700), 0);
    assert_int_equal(mkdir(w->blobs, 0700), 0);
    snprintf(url, sizeof url, "lmdb://%s/cache", w->dir);
    w->cache = sl_cache_new(url, &err);
    if (!w->cache)
        fail_msg("%s", err.msg);
    w->memo = sl_digest_memo_new(100);
    *state = w;
    return 0;
}

static int
teardown(void **state)
{
    world_t *w = *state;
    sl_cache_destroy(&w->cache);
    sl_digest_memo_destroy(&w->memo);
    sl_test_scratch_remove(w->dir);
    free(w);
    return 0;
}

static void
put(const char *dir, const char *name, const char *text, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, size, f), size);
    fclose(f);
}

static char *
slurp(const char *dir, const char *name, size_t *size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = malloc(4 << 20);
    *size = fread(buf, 1, 4 << 20, f);
    fclose(f);
    return buf;
}

static sl_value_t *
paths(const char *yaml)
{
    sl_value_t *v = NULL;
    assert_int_equal(sl_flow_parse_value(yaml, &v, NULL), 0);
    return v;
}

/* The entry a store would record: o's files, borrowed. */
static sl_entry_t
entry_of(const sl_outputs_t *o)
{
    return (sl_entry_t){.outputs = o->files, .output_count = o->count};
}

static void
test_outputs_are_gathered_delivered_and_restored(void **state)
{
    world_t *w = *state;
    sl_outputs_t o = {0};
    sl_error_t err = {0};
    size_t size = 0;
    char sub[400];
    snprintf(sub, sizeof sub, "%s/plots", w->folder);
    assert_int_equal(mkdir(sub, 0700), 0);
    put(w->folder, "report.txt", "words: 106\n", 11);
    put(w->folder, "plots/a.svg", "<svg/>", 6);
    put(w->folder, "scratch.tmp", "not an output", 13);
    sl_value_t *declared = paths("[report.txt, plots]");
    if (sl_outputs_collect(declared, w->folder, &o, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(o.count, 2);
    assert_string_equal(o.files[0].path, "plots/a.svg");
    assert_string_equal(o.files[1].path, "report.txt");
    assert_int_equal(sl_outputs_deliver(&o, w->folder, w->workspace, &err), 0);
    char *got = slurp(w->workspace, "plots/a.svg", &size);
    assert_non_null(got);
    assert_memory_equal(got, "<svg/>", 6);
    free(got);
    sl_blob_store_t store = {w->cache, "ns", w->blobs};
    assert_int_equal(sl_outputs_store(&o, w->folder, &store, 60000, &err), 0);
    /* the files are gone from the workspace; a hit puts them back */
    char path[512];
    snprintf(path, sizeof path, "%s/report.txt", w->workspace);
    unlink(path);
    put(w->workspace, "plots/a.svg", "stale", 5);
    sl_entry_t e = entry_of(&o);
    if (sl_outputs_restore(&e, &store, w->workspace, w->memo, &err) < 0)
        fail_msg("%s", err.msg);
    got = slurp(w->workspace, "report.txt", &size);
    assert_int_equal(size, 11);
    assert_memory_equal(got, "words: 106\n", 11);
    free(got);
    got = slurp(w->workspace, "plots/a.svg", &size);
    assert_memory_equal(got, "<svg/>", 6);
    free(got);
    sl_outputs_fini(&o);
    sl_value_destroy(&declared);
}

static void
test_a_missing_output_or_a_symlink_is_an_error(void **state)
{
    world_t *w = *state;
    sl_outputs_t o = {0};
    sl_error_t err = {0};
    sl_value_t *declared = paths("[nothing.txt]");
    assert_int_equal(sl_outputs_collect(declared, w->folder, &o, &err),
                     SL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "output 'nothing.txt' was not written"));
    sl_value_destroy(&declared);
    char link[400];
    snprintf(link, sizeof link, "%s/link", w->folder);
    assert_int_equal(symlink("/etc/passwd", link), 0);
    declared = paths("[link]");
    assert_int_equal(sl_outputs_collect(declared, w->folder, &o, &err),
                     SL_EINVAL);
    assert_non_null(strstr(err.msg, "not a file or a folder"));
    assert_int_equal(o.count, 0);
    sl_value_destroy(&declared);
}

static void
test_a_large_output_needs_a_blob_folder(void **state)
{
    world_t *w = *state;
    sl_outputs_t o = {0};
    sl_error_t err = {0};
    size_t big = (1u << 20) + 10, size = 0;
    char *data = malloc(big);
    memset(data, 'b', big);
    put(w->folder, "big.bin", data, big);
    sl_value_t *declared = paths("[big.bin]");
    assert_int_equal(sl_outputs_collect(declared, w->folder, &o, &err), 0);
    sl_blob_store_t none = {w->cache, "ns", NULL};
    assert_int_equal(sl_outputs_store(&o, w->folder, &none, 60000, &err),
                     SL_ETOOBIG);
    assert_non_null(strstr(err.msg, "has no --blob-dir"));
    sl_blob_store_t store = {w->cache, "ns", w->blobs};
    assert_int_equal(sl_outputs_store(&o, w->folder, &store, 60000, &err), 0);
    assert_true(o.files[0].is_in_blob_dir);
    sl_entry_t e = entry_of(&o);
    assert_int_equal(sl_outputs_restore(&e, &store, w->workspace, w->memo,
                                        &err),
                     0);
    char *got = slurp(w->workspace, "big.bin", &size);
    assert_int_equal(size, big);
    assert_memory_equal(got, data, big);
    free(got);
    /* the blob changed in its folder: the hit cannot be served */
    char hex[SL_DIGEST_HEX_BYTES], blob[512], path[512];
    sl_digest_hex(o.files[0].digest, hex);
    snprintf(blob, sizeof blob, "%.2s/%s", hex, hex);
    put(w->blobs, blob, "tampered", 8);
    snprintf(path, sizeof path, "%s/big.bin", w->workspace);
    unlink(path);
    assert_true(sl_outputs_restore(&e, &store, w->workspace, w->memo, &err) <
                0);
    assert_non_null(strstr(err.msg, "gone or changed"));
    free(data);
    sl_outputs_fini(&o);
    sl_value_destroy(&declared);
}

static void
test_an_expired_blob_makes_the_hit_a_miss(void **state)
{
    world_t *w = *state;
    sl_outputs_t o = {0};
    sl_error_t err = {0};
    char key[SL_KEY_MAX_BYTES + 1], path[512];
    put(w->folder, "r.txt", "r", 1);
    sl_value_t *declared = paths("[r.txt]");
    assert_int_equal(sl_outputs_collect(declared, w->folder, &o, &err), 0);
    sl_blob_store_t store = {w->cache, "ns", NULL};
    assert_int_equal(sl_outputs_store(&o, w->folder, &store, 60000, &err), 0);
    sl_outputs_blob_key(key, sizeof key, "ns", o.files[0].digest);
    assert_non_null(strstr(key, "sluice:v1:ns:$blob:"));
    assert_int_equal(sl_cache_del(w->cache, key, NULL), 0);
    snprintf(path, sizeof path, "%s/r.txt", w->workspace);
    unlink(path);
    sl_entry_t e = entry_of(&o);
    assert_int_equal(sl_outputs_restore(&e, &store, w->workspace, w->memo,
                                        &err),
                     SL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "its blob has expired"));
    sl_outputs_fini(&o);
    sl_value_destroy(&declared);
}

int
main(void)
{
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_outputs_are_gathered_delivered_and_restored),
        TEST(test_a_missing_output_or_a_symlink_is_an_error),
        TEST(test_a_large_output_needs_a_blob_folder),
        TEST(test_an_expired_blob_makes_the_hit_a_miss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
