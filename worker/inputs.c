/* worker/inputs.c: a task's inputs expanded into files and digested, and
 * the memo that spares reading unchanged files again. Runs on one executor
 * thread; the memo is that thread's own. Reads files, never writes. */
#define _GNU_SOURCE /* O_CLOEXEC, st_mtim */
#include "inputs.h"

#include "caps.h"
#include "dirs.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A folder input is walked at most this deep. */
#define WALK_MAX_DEPTH 64

typedef struct {
    dev_t dev; /* which file it was */
    ino_t ino;
    off_t size; /* and how it looked when read */
    struct timespec mtime;
    struct timespec ctime;
    uint8_t digest[SL_DIGEST_BYTES];
} memo_entry_t;

struct sl_digest_memo {
    zhashx_t *by_path; /* path -> memo_entry_t, owned */
    size_t max_files;  /* cap: the table is emptied past it */
    sl_digest_memo_stats_t stats;
};

static void
free_entry(void **item)
{
    free(*item);
    *item = NULL;
}

sl_digest_memo_t *
sl_digest_memo_new(size_t max_files)
{
    sl_digest_memo_t *m = calloc(1, sizeof *m);
    if (!m || !(m->by_path = zhashx_new())) {
        free(m);
        return NULL;
    }
    zhashx_set_destructor(m->by_path, free_entry);
    m->max_files = max_files ? max_files : 1;
    return m;
}

void
sl_digest_memo_destroy(sl_digest_memo_t **p)
{
    if (!p || !*p)
        return;
    zhashx_destroy(&(*p)->by_path);
    free(*p);
    *p = NULL;
}

const sl_digest_memo_stats_t *
sl_digest_memo_stats(const sl_digest_memo_t *m)
{
    return &m->stats;
}

static bool
same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Whether st may still change without its mtime showing it: a write in
 * the same clock tick as the one it shows. (A changed ctime, from touch
 * or chmod, only makes the memo read the file again.) */
static bool
is_racy(const struct stat *st)
{
    return st->st_mtim.tv_sec >= time(NULL) - 1;
}

int
sl_digest_memo_file(sl_digest_memo_t *m, const char *path,
                    uint8_t digest[SL_DIGEST_BYTES], sl_error_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return sl_error_set(err, errno == ENOENT ? SL_ENOTFOUND : SL_EIO,
                            "input %s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sl_error_set(err, SL_EINVAL, "input %s: not a regular file",
                            path);
    }
    memo_entry_t *e = m ? zhashx_lookup(m->by_path, path) : NULL;
    if (e && e->dev == st.st_dev && e->ino == st.st_ino &&
        e->size == st.st_size && same_time(e->mtime, st.st_mtim) &&
        same_time(e->ctime, st.st_ctim)) {
        memcpy(digest, e->digest, SL_DIGEST_BYTES);
        m->stats.memo_hits++;
        close(fd);
        return 0;
    }
    uint64_t bytes = 0;
    int rc = sl_digest_fd(fd, digest, &bytes, err);
    close(fd);
    if (rc < 0) {
        sl_error_prefix(err, "input %s", path);
        return rc;
    }
    if (!m)
        return 0;
    m->stats.files_read++;
    m->stats.bytes_read += bytes;
    if (is_racy(&st) || (off_t)bytes != st.st_size) {
        zhashx_delete(m->by_path, path); /* read again next time */
        return 0;
    }
    if (zhashx_size(m->by_path) >= m->max_files)
        zhashx_purge(m->by_path);
    if (!(e = malloc(sizeof *e)))
        return 0; /* not remembered: read again next time */
    *e = (memo_entry_t){st.st_dev,  st.st_ino,  st.st_size,
                        st.st_mtim, st.st_ctim, {0}};
    memcpy(e->digest, digest, SL_DIGEST_BYTES);
    zhashx_update(m->by_path, path, e);
    return 0;
}

/* ---- expanding inputs --------------------------------------------------- */

typedef struct {
    const char *workspace;  /* relative names resolve here */
    sl_digest_memo_t *memo; /* digests */
    sl_inputs_t *out;       /* files gathered so far */
    size_t cap;             /* files allocated */
    sl_error_t *err;        /* the first error */
} walk_t;

/* The absolute path of name. */
static int
path_of(const walk_t *w, const char *name, char *out, size_t size)
{
    int n = name[0] == '/' ? snprintf(out, size, "%s", name)
                           : snprintf(out, size, "%s/%s", w->workspace, name);
    return n < 0 || (size_t)n >= size
               ? sl_error_set(w->err, SL_EINVAL, "input '%s': path too long",
                              name)
               : 0;
}

static int
add_file(walk_t *w, const char *name, const char *path)
{
    sl_inputs_t *in = w->out;
    if (in->count == SL_INPUT_FILES_MAX_COUNT)
        return sl_error_set(w->err, SL_ETOOBIG,
                            "inputs: more than %d files (at '%s')",
                            SL_INPUT_FILES_MAX_COUNT, name);
    if (in->count == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        sl_input_file_t *files = realloc(in->files, cap * sizeof *files);
        if (!files)
            return sl_error_set(w->err, SL_ENOMEM, "out of memory");
        in->files = files;
        w->cap = cap;
    }
    sl_input_file_t *f = &in->files[in->count];
    *f = (sl_input_file_t){strdup(name), strdup(path), {0}};
    if (!f->name || !f->path) {
        free(f->name);
        free(f->path);
        return sl_error_set(w->err, SL_ENOMEM, "out of memory");
    }
    in->count++;
    return sl_digest_memo_file(w->memo, path, f->digest, w->err);
}

static int walk_folder(walk_t *w, const char *name, const char *path,
                       int depth);

/* One path: a file, or a folder walked. at_top: named by the task (a
 * symlink to a folder is followed), else found in a walk (not). */
static int
add_path(walk_t *w, const char *name, const char *path, int depth, bool at_top)
{
    struct stat st;
    if ((at_top ? stat(path, &st) : lstat(path, &st)) < 0)
        return sl_error_set(w->err, errno == ENOENT ? SL_ENOTFOUND : SL_EIO,
                            "input '%s' %s (looked for %s)", name,
                            errno == ENOENT ? "does not exist"
                                            : strerror(errno),
                            path);
    if (!at_top && S_ISLNK(st.st_mode) && stat(path, &st) == 0 &&
        S_ISDIR(st.st_mode))
        return 0; /* a symlinked folder inside a folder: not followed */
    if (S_ISDIR(st.st_mode))
        return walk_folder(w, name, path, depth + 1);
    if (!S_ISREG(st.st_mode))
        return sl_error_set(w->err, SL_EINVAL,
                            "input '%s' is neither a file nor a folder", name);
    return add_file(w, name, path);
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
walk_folder(walk_t *w, const char *name, const char *path, int depth)
{
    if (depth > WALK_MAX_DEPTH)
        return sl_error_set(w->err, SL_ETOOBIG,
                            "input '%s': folders nest deeper than %d", name,
                            WALK_MAX_DEPTH);
    zlistx_t *entries = sl_dirs_list(path);
    if (!entries)
        return sl_error_set(w->err, SL_EIO, "input '%s': %s", name,
                            strerror(errno));
    int rc = 0;
    for (char *e = zlistx_first(entries); e && rc == 0;
         e = zlistx_next(entries)) {
        char sub_name[4096], sub_path[4096];
        if (snprintf(sub_name, sizeof sub_name, "%s/%s", name, e) >=
                (int)sizeof sub_name ||
            snprintf(sub_path, sizeof sub_path, "%s/%s", path, e) >=
                (int)sizeof sub_path)
            rc = sl_error_set(w->err, SL_EINVAL, "input '%s/%s': path too long",
                              name, e);
        else
            rc = add_path(w, sub_name, sub_path, depth, false);
    }
    zlistx_destroy(&entries);
    return rc;
}

static bool
is_pattern(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static int
add_root(walk_t *w, const char *name)
{
    sl_inputs_t *in = w->out;
    char **roots = realloc(in->roots, (in->root_count + 1) * sizeof *roots);
    if (!roots)
        return sl_error_set(w->err, SL_ENOMEM, "out of memory");
    in->roots = roots;
    if (!(roots[in->root_count] = strdup(name)))
        return sl_error_set(w->err, SL_ENOMEM, "out of memory");
    in->root_count++;
    return 0;
}

/* A glob: every match, a file or a folder, in name order. */
static int
add_glob(walk_t *w, const char *pattern)
{
    char path[4096];
    glob_t g;
    int rc = path_of(w, pattern, path, sizeof path);
    if (rc < 0)
        return rc;
    int how = glob(path, GLOB_NOSORT, NULL, &g);
    if (how == GLOB_NOMATCH)
        return 0;
    if (how != 0)
        return sl_error_set(w->err, SL_EIO, "input '%s': glob failed", pattern);
    qsort(g.gl_pathv, g.gl_pathc, sizeof *g.gl_pathv, by_name);
    size_t skip = pattern[0] == '/' ? 0 : strlen(w->workspace) + 1;
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
        const char *name = g.gl_pathv[i] + skip;
        rc = add_root(w, name);
        if (rc == 0)
            rc = add_path(w, name, g.gl_pathv[i], 0, true);
    }
    globfree(&g);
    return rc;
}

static int
add_input(walk_t *w, const sl_value_t *v, bool may_nest)
{
    if (may_nest && sl_value_type(v) == SL_LIST) {
        for (size_t i = 0; i < sl_value_count(v); i++) {
            int rc = add_input(w, sl_value_at(v, i), false);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    size_t size = 0;
    const char *name =
        sl_value_type(v) == SL_STRING ? sl_value_get_string(v, &size) : NULL;
    char path[4096];
    if (!name || !size || strlen(name) != size)
        return sl_error_set(w->err, SL_EINVAL,
                            "inputs must be paths (non-empty strings)");
    if (is_pattern(name))
        return add_glob(w, name);
    int rc = path_of(w, name, path, sizeof path);
    if (rc == 0)
        rc = add_root(w, name);
    return rc < 0 ? rc : add_path(w, name, path, 0, true);
}

static int
by_file_name(const void *a, const void *b)
{
    return strcmp(((const sl_input_file_t *)a)->name,
                  ((const sl_input_file_t *)b)->name);
}

int
sl_inputs_resolve(const sl_value_t *inputs, const char *workspace,
                  sl_digest_memo_t *memo, sl_inputs_t *out, sl_error_t *err)
{
    walk_t w = {workspace, memo, out, 0, err};
    *out = (sl_inputs_t){0};
    int rc = sl_value_type(inputs) == SL_LIST
                 ? add_input(&w, inputs, true)
                 : sl_error_set(err, SL_EINVAL, "inputs must be a list");
    if (rc < 0) {
        sl_inputs_fini(out);
        return rc;
    }
    qsort(out->files, out->count, sizeof *out->files, by_file_name);
    size_t kept = 0; /* named twice (a file and its folder): once */
    for (size_t i = 0; i < out->count; i++) {
        if (kept && !strcmp(out->files[kept - 1].name, out->files[i].name)) {
            free(out->files[i].name);
            free(out->files[i].path);
            continue;
        }
        out->files[kept++] = out->files[i];
    }
    out->count = kept;
    return 0;
}

void
sl_inputs_fini(sl_inputs_t *in)
{
    for (size_t i = 0; i < in->count; i++) {
        free(in->files[i].name);
        free(in->files[i].path);
    }
    for (size_t i = 0; i < in->root_count; i++)
        free(in->roots[i]);
    free(in->files);
    free(in->roots);
    *in = (sl_inputs_t){0};
}

int
sl_inputs_add_to(const sl_inputs_t *in, sl_value_t *files)
{
    for (size_t i = 0; i < in->count; i++) {
        sl_value_t *pair = sl_value_new_list();
        sl_value_t *name = sl_value_new_string(in->files[i].name);
        sl_value_t *digest =
            sl_value_new_bytes(in->files[i].digest, SL_DIGEST_BYTES);
        int rc = pair && name && digest ? 0 : SL_ENOMEM;
        if (rc == 0 && (sl_value_push(pair, &name) < 0 ||
                        sl_value_push(pair, &digest) < 0 ||
                        sl_value_push(files, &pair) < 0))
            rc = SL_ENOMEM;
        sl_value_destroy(&pair);
        sl_value_destroy(&name);
        sl_value_destroy(&digest);
        if (rc < 0)
            return rc;
    }
    return 0;
}
