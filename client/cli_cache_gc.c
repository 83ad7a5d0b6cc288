/* client/cli_cache_gc.c: `sluice cache gc --blob-dir DIR`: removes the
 * blobs of a blob folder that no entry of the cache names any more (their
 * entries expired or were deleted), so that large outputs go with their
 * entries as small ones do (those expire in the cache with them). Mark
 * and sweep: the cache's entries are read (SCAN in batches on Redis), the
 * digests of their outputs kept, then the folder walked. A blob younger
 * than the grace (an hour unless --older-than says) is kept: its entry
 * may be being stored right now (a worker writes the blob first). Called
 * by the CLI's main thread. */
#include "cli_cache.h"

#include "dirs.h"
#include "entry.h"
#include "key.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_BATCH 256

static int
collect(const char *key, size_t size, void *ctx)
{
    size_t n = strlen(key);
    (void)size;
    if ((n > 5 && !strcmp(key + n - 5, ":lock")) || strstr(key, ":$blob:"))
        return 0;
    zlistx_add_end(ctx, (void *)key);
    return 0;
}

/* Marks the digests of every blob-folder output the entries of keys name. */
static int
mark(sl_cache_t *cache, zlistx_t *keys, zhashx_t *live, sl_error_t *err)
{
    const char *batch[READ_BATCH];
    sl_buf_t outs[READ_BATCH] = {{0}};
    int rcs[READ_BATCH];
    const char *key = zlistx_first(keys);
    while (key) {
        size_t n = 0;
        for (; key && n < READ_BATCH; key = zlistx_next(keys))
            batch[n++] = key;
        if (sl_cache_get_batch(cache, batch, n, outs, rcs, err) < 0)
            return SL_ECACHE;
        for (size_t i = 0; i < n; i++) {
            sl_entry_t e = {0};
            if (rcs[i] == 0 && sl_entry_read(outs[i].data, outs[i].size,
                                             batch[i], &e, NULL) == SL_ENTRY_OK)
                for (size_t k = 0; k < e.output_count; k++) {
                    char hex[SL_DIGEST_HEX_BYTES];
                    sl_digest_hex(e.outputs[k].digest, hex);
                    if (e.outputs[k].is_in_blob_dir)
                        zhashx_update(live, hex, (void *)1);
                }
            sl_entry_fini(&e);
            sl_buf_fini(&outs[i]);
        }
    }
    return 0;
}

/* Removes (or lists) the blobs of dir not in live and older than grace. */
static void
sweep(const char *dir, zhashx_t *live, int64_t grace_ms, bool is_dry_run,
      size_t *removed, uint64_t *bytes, size_t *kept)
{
    zlistx_t *subs = sl_dirs_list(dir);
    int64_t old_ms = sl_entry_now_ms() - grace_ms;
    for (char *s = subs ? zlistx_first(subs) : NULL; s; s = zlistx_next(subs)) {
        char sub[4200], path[4400];
        snprintf(sub, sizeof sub, "%s/%s", dir, s);
        zlistx_t *names = strlen(s) == 2 ? sl_dirs_list(sub) : NULL;
        for (char *n = names ? zlistx_first(names) : NULL; n;
             n = zlistx_next(names)) {
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", sub, n);
            bool is_blob = strlen(n) == 2 * SL_DIGEST_BYTES &&
                           !strncmp(n, s, 2) && lstat(path, &st) == 0 &&
                           S_ISREG(st.st_mode);
            if (!is_blob)
                continue; /* not ours: never touched */
            int64_t mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 +
                               st.st_mtim.tv_nsec / 1000000;
            if (zhashx_lookup(live, n) || mtime_ms > old_ms) {
                (*kept)++;
                continue;
            }
            if (is_dry_run)
                printf("%s\n", path);
            if (is_dry_run || unlink(path) == 0) {
                (*removed)++;
                *bytes += (uint64_t)st.st_size;
            }
        }
        zlistx_destroy(&names);
    }
    zlistx_destroy(&subs);
}

int
sl_cache_gc(sl_cache_t *cache, const char *blob_dir, int64_t grace_ms,
            bool is_dry_run)
{
    sl_error_t err = {0};
    zlistx_t *keys = zlistx_new();
    zhashx_t *live = zhashx_new();
    size_t removed = 0, kept = 0;
    uint64_t bytes = 0;
    int code = SL_EXIT_OK;
    struct stat st;
    if (stat(blob_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "sluice cache gc: --blob-dir %s: %s\n", blob_dir,
                strerror(errno ? errno : ENOTDIR));
        code = SL_EXIT_USAGE;
        goto out;
    }
    zlistx_set_duplicator(keys, (zlistx_duplicator_fn *)strdup);
    zlistx_set_destructor(keys, (zlistx_destructor_fn *)zstr_free);
    if (sl_cache_scan(cache, SL_KEY_PREFIX, collect, keys, &err) < 0 ||
        mark(cache, keys, live, &err) < 0) {
        /* never sweep on a partial mark: that would remove live blobs */
        fprintf(stderr, "sluice cache gc: %s (nothing removed)\n", err.msg);
        code = SL_EXIT_CONNECT;
        goto out;
    }
    sweep(blob_dir, live, grace_ms, is_dry_run, &removed, &bytes, &kept);
    fprintf(stderr,
            "%s %zu blobs (%llu bytes) no entry names; kept %zu (named, or "
            "younger than %lld ms)\n",
            is_dry_run ? "would remove" : "removed", removed,
            (unsigned long long)bytes, kept, (long long)grace_ms);
out:
    zlistx_destroy(&keys);
    zhashx_destroy(&live);
    return code;
}
