/* worker/outputs.c: a program task's output files (outputs.h). Runs on
 * one executor thread. Writes only inside the workspace (paths are
 * checked relative and inside, symlinks never followed) and the blob
 * folder, and always through a temporary file renamed over the target. */
#define _GNU_SOURCE /* O_CLOEXEC */
#include "outputs.h"

#include "caps.h"
#include "dirs.h"
#include "key.h"
#include "program.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
sl_outputs_blob_key(char *out, size_t size, const char *ns,
                    const uint8_t digest[SL_DIGEST_BYTES])
{
    char hex[SL_DIGEST_HEX_BYTES];
    sl_digest_hex(digest, hex);
    snprintf(out, size, SL_KEY_PREFIX "%s:$blob:%s", ns, hex);
}

void
sl_outputs_fini(sl_outputs_t *o)
{
    for (size_t i = 0; i < o->count; i++)
        free(o->files[i].path);
    free(o->files);
    *o = (sl_outputs_t){0};
}

/* ---- gathering ----------------------------------------------------------- */

typedef struct {
    const char *folder; /* the working folder */
    sl_outputs_t *out;  /* gathered so far */
    size_t cap;         /* files allocated */
    sl_error_t *err;    /* the first error */
} gather_t;

static int
add_file(gather_t *g, const char *path, const char *full, mode_t mode)
{
    sl_outputs_t *o = g->out;
    if (o->count == SL_OUTPUT_FILES_MAX_COUNT)
        return sl_error_set(g->err, SL_ETOOBIG, "outputs: more than %d files",
                            SL_OUTPUT_FILES_MAX_COUNT);
    if (o->count == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 8;
        sl_entry_output_t *files = realloc(o->files, cap * sizeof *files);
        if (!files)
            return sl_error_set(g->err, SL_ENOMEM, "out of memory");
        o->files = files;
        g->cap = cap;
    }
    sl_entry_output_t *f = &o->files[o->count];
    *f = (sl_entry_output_t){.path = strdup(path),
                             .mode = mode & 0111 ? 0755 : 0644};
    if (!f->path)
        return sl_error_set(g->err, SL_ENOMEM, "out of memory");
    o->count++;
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return sl_error_set(g->err, SL_EIO, "output '%s': %s", path,
                            strerror(errno));
    int rc = sl_digest_fd(fd, f->digest, &f->size, g->err);
    close(fd);
    return rc;
}

static int gather_path(gather_t *g, const char *path, int depth);

static int
gather_folder(gather_t *g, const char *path, const char *full, int depth)
{
    zlistx_t *names = sl_dirs_list(full);
    if (!names)
        return sl_error_set(g->err, SL_EIO, "output '%s': %s", path,
                            strerror(errno));
    int rc = 0;
    for (char *n = zlistx_first(names); n && rc == 0; n = zlistx_next(names)) {
        char sub[4096];
        if (snprintf(sub, sizeof sub, "%s/%s", path, n) >= (int)sizeof sub)
            rc = sl_error_set(g->err, SL_EINVAL, "output '%s/%s': too long",
                              path, n);
        else
            rc = gather_path(g, sub, depth + 1);
    }
    zlistx_destroy(&names);
    return rc;
}

static int
gather_path(gather_t *g, const char *path, int depth)
{
    char full[4200];
    struct stat st;
    snprintf(full, sizeof full, "%s/%s", g->folder, path);
    if (depth > 64)
        return sl_error_set(g->err, SL_ETOOBIG,
                            "output '%s': folders nest too deep", path);
    if (lstat(full, &st) < 0)
        return sl_error_set(g->err, SL_ENOTFOUND,
                            "output '%s' was not written by the program", path);
    if (S_ISDIR(st.st_mode))
        return gather_folder(g, path, full, depth);
    if (!S_ISREG(st.st_mode))
        return sl_error_set(g->err, SL_EINVAL,
                            "output '%s' is not a file or a folder (a "
                            "symlink?)",
                            path);
    return add_file(g, path, full, st.st_mode);
}

static int
by_path(const void *a, const void *b)
{
    return strcmp(((const sl_entry_output_t *)a)->path,
                  ((const sl_entry_output_t *)b)->path);
}

int
sl_outputs_collect(const sl_value_t *declared, const char *folder,
                   sl_outputs_t *out, sl_error_t *err)
{
    gather_t g = {folder, out, 0, err};
    *out = (sl_outputs_t){0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sl_value_count(declared); i++) {
        const char *path = sl_value_get_string(sl_value_at(declared, i), NULL);
        rc = path && sl_program_is_inside(path) ? gather_path(&g, path, 0)
                                                : sl_error_set(err, SL_EINVAL,
                                                               "output %zu is "
                                                               "not a relative "
                                                               "path inside "
                                                               "the folder",
                                                               i + 1);
    }
    if (rc < 0) {
        sl_outputs_fini(out);
        return rc;
    }
    qsort(out->files, out->count, sizeof *out->files, by_path);
    size_t kept = 0; /* a file named twice (itself and its folder): once */
    for (size_t i = 0; i < out->count; i++) {
        if (kept && !strcmp(out->files[kept - 1].path, out->files[i].path)) {
            free(out->files[i].path);
            continue;
        }
        out->files[kept++] = out->files[i];
    }
    out->count = kept;
    return 0;
}

/* ---- writing files ------------------------------------------------------- */

/* Makes the folders above path (under base). */
static int
make_parents(const char *base, const char *path)
{
    char full[4200];
    int n = snprintf(full, sizeof full, "%s/%s", base, path);
    if (n < 0 || (size_t)n >= sizeof full)
        return -1;
    for (char *p = full + strlen(base) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(full, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

/* Writes what read_fd reads (or data[0..size) when read_fd < 0) into
 * dest through a temporary file renamed over it, with mode. */
static int
write_file(const char *dest, int read_fd, const void *data, size_t size,
           uint32_t mode, sl_error_t *err)
{
    char tmp[4300], chunk[65536];
    snprintf(tmp, sizeof tmp, "%s.sluice-%ld.tmp", dest, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return sl_error_set(err, SL_EIO, "%s: %s", tmp, strerror(errno));
    bool is_ok = true;
    for (size_t done = 0; is_ok && read_fd < 0 && done < size;) {
        ssize_t w = write(fd, (const char *)data + done, size - done);
        is_ok = w > 0;
        done += w > 0 ? (size_t)w : 0;
    }
    for (ssize_t r; is_ok && read_fd >= 0 &&
                    (r = read(read_fd, chunk, sizeof chunk)) != 0;) {
        is_ok = r > 0 && write(fd, chunk, (size_t)r) == r;
    }
    is_ok = is_ok && fchmod(fd, mode) == 0;
    is_ok = close(fd) == 0 && is_ok;
    if (!is_ok || rename(tmp, dest) < 0) {
        int e = errno;
        unlink(tmp);
        return sl_error_set(err, SL_EIO, "%s: %s", dest, strerror(e));
    }
    return 0;
}

int
sl_outputs_deliver(const sl_outputs_t *o, const char *folder,
                   const char *workspace, sl_error_t *err)
{
    char from[4200], to[4200];
    for (size_t i = 0; i < o->count; i++) {
        const sl_entry_output_t *f = &o->files[i];
        snprintf(from, sizeof from, "%s/%s", folder, f->path);
        snprintf(to, sizeof to, "%s/%s", workspace, f->path);
        int fd = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        int rc = fd < 0 || make_parents(workspace, f->path) < 0
                     ? sl_error_set(err, SL_EIO, "output '%s': %s", f->path,
                                    strerror(errno))
                     : write_file(to, fd, NULL, 0, f->mode, err);
        if (fd >= 0)
            close(fd);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- blobs --------------------------------------------------------------- */

static void
blob_path(char *out, size_t size, const char *dir,
          const uint8_t digest[SL_DIGEST_BYTES])
{
    char hex[SL_DIGEST_HEX_BYTES];
    sl_digest_hex(digest, hex);
    snprintf(out, size, "%s/%.2s/%s", dir, hex, hex);
}

/* Reads path (at most max bytes) into b. */
static int
read_all(const char *path, size_t max, sl_buf_t *b, sl_error_t *err)
{
    char chunk[65536];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return sl_error_set(err, SL_EIO, "%s: %s", path, strerror(errno));
    int rc = 0;
    for (ssize_t r; rc == 0 && (r = read(fd, chunk, sizeof chunk)) != 0;)
        rc = r < 0 || b->size + (size_t)r > max ||
                     sl_buf_append(b, chunk, (size_t)r) < 0
                 ? sl_error_set(err, SL_EIO, "%s: cannot read it", path)
                 : 0;
    close(fd);
    return rc;
}

/* A large output into the blob folder (once per content). */
static int
store_in_dir(const sl_entry_output_t *f, const char *folder,
             const char *blob_dir, sl_error_t *err)
{
    char dest[4200], from[4200], hex[SL_DIGEST_HEX_BYTES], sub[4200];
    struct stat st;
    blob_path(dest, sizeof dest, blob_dir, f->digest);
    if (stat(dest, &st) == 0 && (uint64_t)st.st_size == f->size)
        return 0; /* that content is stored already */
    sl_digest_hex(f->digest, hex);
    snprintf(sub, sizeof sub, "%s/%.2s", blob_dir, hex);
    if (mkdir(sub, 0755) < 0 && errno != EEXIST)
        return sl_error_set(err, SL_EIO, "--blob-dir %s: %s", sub,
                            strerror(errno));
    snprintf(from, sizeof from, "%s/%s", folder, f->path);
    int fd = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return sl_error_set(err, SL_EIO, "output '%s': %s", f->path,
                            strerror(errno));
    int rc = write_file(dest, fd, NULL, 0, 0644, err);
    close(fd);
    return rc;
}

int
sl_outputs_store(sl_outputs_t *o, const char *folder,
                 const sl_blob_store_t *store, int64_t ttl_ms, sl_error_t *err)
{
    sl_cache_item_t *items = calloc(o->count + 1, sizeof *items);
    sl_buf_t *datas = calloc(o->count + 1, sizeof *datas);
    char(*keys)[SL_KEY_MAX_BYTES + 1] = calloc(o->count + 1, sizeof *keys);
    size_t n = 0;
    int rc = items && datas && keys ? 0 : SL_ENOMEM;
    for (size_t i = 0; rc == 0 && i < o->count; i++) {
        sl_entry_output_t *f = &o->files[i];
        char from[4200];
        if (f->size > SL_BLOB_INLINE_MAX_BYTES) {
            f->is_in_blob_dir = true;
            rc = store->blob_dir
                     ? store_in_dir(f, folder, store->blob_dir, err)
                     : sl_error_set(err, SL_ETOOBIG,
                                    "output '%s' is %llu bytes, over the "
                                    "%u a cache holds, and the worker has no "
                                    "--blob-dir",
                                    f->path, (unsigned long long)f->size,
                                    SL_BLOB_INLINE_MAX_BYTES);
            continue;
        }
        snprintf(from, sizeof from, "%s/%s", folder, f->path);
        sl_outputs_blob_key(keys[n], sizeof keys[n], store->ns, f->digest);
        rc = read_all(from, SL_BLOB_INLINE_MAX_BYTES, &datas[n], err);
        items[n] = (sl_cache_item_t){keys[n], datas[n].data, datas[n].size,
                                     ttl_ms, NULL};
        n += rc == 0;
    }
    if (rc == SL_ENOMEM)
        sl_error_set(err, SL_ENOMEM, "out of memory");
    if (rc == 0 && n && sl_cache_set_batch(store->cache, items, n, err) < 0)
        rc = SL_ECACHE;
    for (size_t i = 0; datas && i < o->count; i++)
        sl_buf_fini(&datas[i]);
    free(items);
    free(datas);
    free(keys);
    return rc;
}

/* Whether workspace/path holds content digest already. */
static bool
is_there(const char *dest, const sl_entry_output_t *f, sl_digest_memo_t *memo)
{
    struct stat st;
    uint8_t have[SL_DIGEST_BYTES];
    return lstat(dest, &st) == 0 && S_ISREG(st.st_mode) &&
           (uint64_t)st.st_size == f->size &&
           sl_digest_memo_file(memo, dest, have, NULL) == 0 &&
           !memcmp(have, f->digest, SL_DIGEST_BYTES);
}

/* Whether the file at path has content digest. */
static bool
has_digest(const char *path, const uint8_t digest[SL_DIGEST_BYTES])
{
    uint8_t have[SL_DIGEST_BYTES];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bool is_same = fd >= 0 && sl_digest_fd(fd, have, NULL, NULL) == 0 &&
                   !memcmp(have, digest, SL_DIGEST_BYTES);
    if (fd >= 0)
        close(fd);
    return is_same;
}

/* One output of a hit, from its blob into dest. */
static int
restore_one(const sl_entry_output_t *f, const sl_blob_store_t *store,
            const char *dest, sl_error_t *err)
{
    uint8_t have[SL_DIGEST_BYTES];
    if (f->is_in_blob_dir) {
        char from[4200];
        if (!store->blob_dir)
            return sl_error_set(err, SL_ENOTFOUND,
                                "output '%s' is in a blob folder, and this "
                                "worker has no --blob-dir",
                                f->path);
        blob_path(from, sizeof from, store->blob_dir, f->digest);
        if (!has_digest(from, f->digest))
            return sl_error_set(err, SL_ENOTFOUND,
                                "output '%s': its blob %s is gone or changed",
                                f->path, from);
        int fd = open(from, O_RDONLY | O_CLOEXEC);
        int rc =
            fd < 0 ? sl_error_set(err, SL_EIO, "%s: %s", from, strerror(errno))
                   : write_file(dest, fd, NULL, 0, f->mode, err);
        if (fd >= 0)
            close(fd);
        return rc;
    }
    char key[SL_KEY_MAX_BYTES + 1];
    sl_buf_t blob = {0};
    sl_outputs_blob_key(key, sizeof key, store->ns, f->digest);
    int rc = sl_cache_get(store->cache, key, &blob, err);
    if (rc == 0 && (sl_digest_bytes(blob.data, blob.size, have) < 0 ||
                    memcmp(have, f->digest, SL_DIGEST_BYTES)))
        rc = sl_error_set(err, SL_EINVAL,
                          "output '%s': its blob does not match its digest",
                          f->path);
    else if (rc == SL_ENOTFOUND)
        sl_error_set(err, rc, "output '%s': its blob has expired", f->path);
    if (rc == 0)
        rc = write_file(dest, -1, blob.data, blob.size, f->mode, err);
    sl_buf_fini(&blob);
    return rc;
}

int
sl_outputs_restore(const sl_entry_t *e, const sl_blob_store_t *store,
                   const char *workspace, sl_digest_memo_t *memo,
                   sl_error_t *err)
{
    char dest[4200];
    for (size_t i = 0; i < e->output_count; i++) {
        const sl_entry_output_t *f = &e->outputs[i];
        snprintf(dest, sizeof dest, "%s/%s", workspace, f->path);
        if (is_there(dest, f, memo))
            continue;
        int rc = make_parents(workspace, f->path) < 0
                     ? sl_error_set(err, SL_EIO, "output '%s': %s", f->path,
                                    strerror(errno))
                     : restore_one(f, store, dest, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}
