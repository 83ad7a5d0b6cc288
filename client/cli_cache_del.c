/* client/cli_cache_del.c: `sluice cache del` by filter: the entries of a
 * task (NAME or NAME@VERSION), of a flow file, of a namespace, older than
 * a duration, or any mix of those, with --dry-run printing what would go.
 * Walks the keys with the cache's scan (SCAN in batches on Redis, never
 * KEYS), reads the entries it must look into (version, age, an explicit
 * key's task) in pipelined batches, then deletes. Called by the CLI's main
 * thread; talks to the cache directly. */
#include "cli_cache.h"

#include "duration.h"
#include "entry.h"
#include "flow.h"
#include "key.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Entries read at once when the filter needs their content. */
#define READ_BATCH 256

typedef struct {
    const sl_cache_del_filter_t *f; /* what to delete */
    zlistx_t *keys;                 /* candidates found by the scan */
    size_t prefix_len;              /* of SL_KEY_PREFIX + namespace */
} walk_t;

/* The task an inputs-mode key names (sluice:v1:NS:TASK:HEX64), into
 * task (size bytes); false for any other key (an explicit cache_key). */
static bool
task_of_key(const char *key, char *task, size_t size)
{
    const char *ns_end = strchr(key + strlen(SL_KEY_PREFIX), ':');
    const char *last = strrchr(key, ':');
    if (!ns_end || last <= ns_end || strlen(last + 1) != 2 * SL_DIGEST_BYTES ||
        strspn(last + 1, "0123456789abcdef") != 2 * SL_DIGEST_BYTES)
        return false;
    size_t n = (size_t)(last - ns_end - 1);
    if (n == 0 || n >= size)
        return false;
    memcpy(task, ns_end + 1, n);
    task[n] = '\0';
    return true;
}

static bool
has_task(const sl_cache_del_filter_t *f, const char *task)
{
    for (size_t i = 0; i < f->task_count; i++)
        if (!strcmp(f->tasks[i], task))
            return true;
    return false;
}

static bool
is_exact_key(const sl_cache_del_filter_t *f, const char *key)
{
    for (size_t i = 0; i < f->key_count; i++)
        if (!strcmp(f->keys[i], key))
            return true;
    return false;
}

/* Whether key can match without reading its entry, may match (read it),
 * or cannot (-1, 1, 0: no, read, yes). */
static int
judge_key(const sl_cache_del_filter_t *f, const char *key)
{
    char task[SL_NAME_MAX_BYTES + 1];
    bool needs_content = f->version || f->older_than_ms > 0;
    if (is_exact_key(f, key))
        return needs_content ? 1 : 0;
    if (!f->task_count)
        return f->key_count ? -1 : needs_content ? 1 : 0;
    if (task_of_key(key, task, sizeof task))
        return !has_task(f, task) ? -1 : needs_content ? 1 : 0;
    return 1; /* an explicit key: its entry names its task */
}

/* Whether a read entry matches what judge_key could not tell. */
static bool
judge_entry(const sl_cache_del_filter_t *f, const char *key,
            const sl_entry_t *e)
{
    if (f->task_count && !is_exact_key(f, key) &&
        !(e->task && has_task(f, e->task)))
        return false;
    if (f->version && e->version != f->version)
        return false;
    return !(f->older_than_ms > 0 &&
             e->created_ms > sl_entry_now_ms() - f->older_than_ms);
}

static int
collect(const char *key, size_t size, void *ctx)
{
    walk_t *w = ctx;
    size_t n = strlen(key);
    (void)size;
    if (n > 5 && !strcmp(key + n - 5, ":lock"))
        return 0; /* a lock: it expires on its own */
    if (judge_key(w->f, key) >= 0)
        zlistx_add_end(w->keys, (void *)key);
    return 0;
}

/* Keeps in keys only those whose entries match; reads them in batches.
 * An entry that does not decode cannot say its task, version or age: it
 * is left (`sluice cache del KEY` removes it). */
static int
read_and_judge(sl_cache_t *cache, const sl_cache_del_filter_t *f,
               zlistx_t *keys, sl_error_t *err)
{
    const char *batch[READ_BATCH];
    void *handles[READ_BATCH];
    sl_buf_t outs[READ_BATCH] = {{0}};
    int rcs[READ_BATCH];
    void *h = zlistx_first(keys) ? zlistx_cursor(keys) : NULL;
    while (h) {
        size_t n = 0;
        for (; h && n < READ_BATCH;
             h = zlistx_next(keys) ? zlistx_cursor(keys) : NULL) {
            const char *key = zlistx_handle_item(h);
            if (judge_key(f, key) == 0)
                continue; /* matches on its key alone */
            handles[n] = h;
            batch[n++] = key;
        }
        if (n && sl_cache_get_batch(cache, batch, n, outs, rcs, err) < 0)
            return SL_ECACHE;
        for (size_t i = 0; i < n; i++) {
            sl_entry_t e = {0};
            bool is_match = rcs[i] == 0 &&
                            sl_entry_read(outs[i].data, outs[i].size, batch[i],
                                          &e, NULL) == SL_ENTRY_OK &&
                            judge_entry(f, batch[i], &e);
            sl_entry_fini(&e);
            sl_buf_fini(&outs[i]);
            if (!is_match)
                zlistx_delete(keys, handles[i]);
        }
    }
    return 0;
}

int
sl_cache_del_filtered(sl_cache_t *cache, const sl_cache_del_filter_t *f,
                      sl_cache_del_report_t *out, sl_error_t *err)
{
    char prefix[SL_KEY_MAX_BYTES + 1];
    walk_t w = {f, zlistx_new(), 0};
    zlistx_set_duplicator(w.keys, (zlistx_duplicator_fn *)strdup);
    zlistx_set_destructor(w.keys, (zlistx_destructor_fn *)zstr_free);
    snprintf(prefix, sizeof prefix, "%s%s%s", SL_KEY_PREFIX, f->ns ? f->ns : "",
             f->ns ? ":" : "");
    *out = (sl_cache_del_report_t){0};
    int rc = sl_cache_scan(cache, prefix, collect, &w, err);
    if (rc == 0)
        rc = read_and_judge(cache, f, w.keys, err);
    for (const char *key = rc == 0 ? zlistx_first(w.keys) : NULL; key;
         key = zlistx_next(w.keys)) {
        if (f->is_dry_run) {
            printf("%s\n", key);
            out->count++;
            continue;
        }
        int del = sl_cache_del(cache, key, err);
        if (del == SL_ECACHE) {
            rc = del;
            break;
        }
        out->count += del == 0; /* expired meanwhile: not counted */
    }
    zlistx_destroy(&w.keys);
    return rc;
}

/* Adds name to list (its *count entries, room for one more) unless it is
 * there already. */
static int
add_name(char **list, size_t *count, const char *name)
{
    for (size_t i = 0; i < *count; i++)
        if (!strcmp(list[i], name))
            return 0;
    if (!(list[*count] = strdup(name)))
        return SL_ENOMEM;
    (*count)++;
    return 0;
}

int
sl_cache_del_flow(const char *file, sl_cache_del_flow_t *out, sl_error_t *err)
{
    sl_flow_t *flow = sl_flow_load(file, err);
    if (!flow)
        return SL_EINVAL;
    out->tasks = calloc(flow->node_count + 1, sizeof *out->tasks);
    out->keys = calloc(flow->node_count + 1, sizeof *out->keys);
    out->ns = strdup(flow->cache_namespace);
    int rc = out->tasks && out->keys && out->ns ? 0 : SL_ENOMEM;
    for (size_t i = 0; rc == 0 && i < flow->node_count; i++) {
        const sl_node_t *n = &flow->nodes[i];
        char key[SL_KEY_MAX_BYTES + 1];
        rc = add_name(out->tasks, &out->task_count, n->task);
        if (rc == 0 && n->opt.cache == SL_CACHE_KEY &&
            sl_key_build(key, sizeof key, SL_CACHE_KEY, flow->cache_namespace,
                         n->task, n->opt.cache_key, NULL) == 0)
            rc = add_name(out->keys, &out->key_count, key);
    }
    sl_flow_destroy(&flow);
    if (rc < 0)
        sl_error_set(err, SL_ENOMEM, "out of memory");
    return rc;
}

void
sl_cache_del_flow_fini(sl_cache_del_flow_t *f)
{
    for (size_t i = 0; f->tasks && i < f->task_count; i++)
        free(f->tasks[i]);
    for (size_t i = 0; f->keys && i < f->key_count; i++)
        free(f->keys[i]);
    free(f->tasks);
    free(f->keys);
    free(f->ns);
    memset(f, 0, sizeof *f);
}
