/* client/cli_cache.c: `sluice cache get|del|stats|ls`: see and clear what
 * is cached. Talks to the cache directly (the same URL the workers use),
 * not through the broker. `del` by filter is cli_cache_del.c's. */
#include "cli_cache.h"

#include "duration.h"
#include "entry.h"
#include "key.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *task;          /* --task filter, or NULL */
    bool is_json;              /* --json */
    size_t count;              /* entries seen */
    size_t bytes;              /* their stored size */
    size_t blobs;              /* output files stored in the cache */
    size_t blob_bytes;         /* their size */
    size_t limit;              /* ls: stop after this many */
    sl_cache_del_filter_t del; /* del by filter */
    const char *flow_file;     /* del --flow FILE, explain --flow FILE */
    const char *other_key;     /* explain KEY OTHER */
    const char *blob_dir;      /* gc --blob-dir DIR */
} scan_t;

static bool
matches_task(const char *key, const char *task)
{
    /* sluice:v1:<namespace>:<task>:<digest> */
    if (!task)
        return true;
    const char *p = key + strlen(SL_KEY_PREFIX);
    const char *ns_end = strchr(p, ':');
    size_t n = strlen(task);
    return ns_end && !strncmp(ns_end + 1, task, n) && ns_end[1 + n] == ':';
}

/* Whether key is a blob's (sluice:v1:NS:$blob:HEX): an output file. */
static bool
is_blob(const char *key)
{
    const char *ns_end = strchr(key + strlen(SL_KEY_PREFIX), ':');
    return ns_end && !strncmp(ns_end + 1, "$blob:", 6);
}

static int
visit_count(const char *key, size_t size, void *ctx)
{
    scan_t *s = ctx;
    if (is_blob(key)) {
        s->blobs += !s->task;
        s->blob_bytes += s->task ? 0 : size;
    } else if (matches_task(key, s->task)) {
        s->count++;
        s->bytes += size;
    }
    return 0;
}

static int
visit_print(const char *key, size_t size, void *ctx)
{
    scan_t *s = ctx;
    if (!matches_task(key, s->task))
        return 0;
    printf("%s\t%zu\n", key, size);
    return ++s->count >= s->limit;
}

static sl_value_t *
entry_value(const char *key, const sl_entry_t *e)
{
    sl_value_t *m = sl_value_new_map(), *v = sl_value_copy(e->value);
    char hex[SL_DIGEST_HEX_BYTES];
    sl_digest_hex(e->input_digest, hex);
    sl_value_put_string(m, "key", key);
    sl_value_put_string(m, "task", e->task);
    sl_value_put_int(m, "version", e->version);
    sl_value_put_string(m, "input_digest", e->has_input_digest ? hex : "");
    sl_value_put_int(m, "created_ms", e->created_ms);
    sl_value_put_int(m, "expires_ms", e->expires_ms);
    sl_value_put_int(m, "duration_us", (int64_t)e->duration_us);
    sl_value_put_string(m, "producer", e->producer);
    sl_value_put(m, "value", &v);
    return m;
}

static int
cmd_get(sl_cache_t *cache, const char *key, bool is_json)
{
    sl_buf_t bytes = {0};
    sl_error_t err = {0};
    sl_entry_t e = {0};
    int rc = sl_cache_get(cache, key, &bytes, &err);
    if (rc == 0 &&
        sl_entry_read(bytes.data, bytes.size, key, &e, &err) != SL_ENTRY_OK)
        rc = SL_EINVAL; /* a worker would take it for a miss */
    sl_buf_fini(&bytes);
    if (rc < 0) {
        fprintf(stderr, "sluice cache get: %s\n", err.msg);
        return rc == SL_ECACHE ? SL_EXIT_CONNECT : SL_EXIT_FAILED;
    }
    sl_value_t *v = entry_value(key, &e);
    if (is_json) {
        sl_cli_print_json(stdout, v);
    } else {
        char *value = sl_value_to_json(e.value);
        printf("key       %s\ntask      %s@%u\ncreated   %lld ms\nexpires   "
               "%s%lld\ncompute   %llu us\nproducer  %s\nvalue     %s\n",
               key, e.task, e.version, (long long)e.created_ms,
               e.expires_ms ? "" : "never ", (long long)e.expires_ms,
               (unsigned long long)e.duration_us, e.producer, value);
        free(value);
    }
    sl_value_destroy(&v);
    sl_entry_fini(&e);
    return SL_EXIT_OK;
}

static void
usage(FILE *out)
{
    fprintf(out, "usage: sluice cache COMMAND [options]\n  get KEY          "
                 "show an entry\n  del KEY          delete an entry\n  stats   "
                 "         count entries and bytes\n  ls               list "
                 "keys and sizes\n  del --task NAME[@V] | --flow FILE | "
                 "--namespace NS | --older-than D\n                   delete "
                 "what these pick (all given must match;\n                   "
                 "Redis: SCAN in batches, never KEYS)\n  --dry-run        del: "
                 "print the keys, delete nothing\n  explain KEY [OTHER]  "
                 "each part of KEY's entry (against OTHER's)\n  explain --flow "
                 "FILE NODE[INDEX]\n                   the node's key in its "
                 "last run against the run before\n  gc --blob-dir DIR  "
                 "remove the blobs in DIR no entry names\n                   "
                 "(older than --older-than, default 1h)\n  --cache URL      "
                 "redis://host:port/db or "
                 "lmdb://PATH (default:\n                   $SLUICE_CACHE_URL, "
                 "else the embedded cache)\n  --task NAME      stats and ls: "
                 "only this task's entries\n  --limit N        ls: at most N "
                 "keys (default 1000)\n  --json           get and stats: "
                 "JSON\n");
}

/* del by filter: says how many went (or would). */
static int
cmd_del_filtered(sl_cache_t *cache, scan_t *s)
{
    sl_error_t err = {0};
    sl_cache_del_flow_t flow = {0};
    sl_cache_del_report_t report;
    char *task = s->task ? strdup(s->task) : NULL;
    char *at = task ? strchr(task, '@') : NULL;
    int code = SL_EXIT_OK;
    if (at) {
        char *end = NULL;
        long v = strtol(at + 1, &end, 10);
        if (v < 1 || v > 1000000000 || *end) {
            fprintf(stderr,
                    "sluice cache del: --task %s: write NAME or "
                    "NAME@VERSION\n",
                    s->task);
            free(task);
            return SL_EXIT_USAGE;
        }
        *at = '\0';
        s->del.version = (uint32_t)v;
    }
    if (task) {
        s->del.tasks = &task;
        s->del.task_count = 1;
    }
    if (s->flow_file) {
        if (sl_cache_del_flow(s->flow_file, &flow, &err) < 0) {
            fprintf(stderr, "sluice cache del: %s\n", err.msg);
            free(task);
            sl_cache_del_flow_fini(&flow);
            return SL_EXIT_USAGE;
        }
        s->del.ns = flow.ns;
        s->del.tasks = flow.tasks;
        s->del.task_count = flow.task_count;
        s->del.keys = flow.keys;
        s->del.key_count = flow.key_count;
    }
    if (sl_cache_del_filtered(cache, &s->del, &report, &err) < 0) {
        fprintf(stderr, "sluice cache del: %s (%zu deleted before)\n", err.msg,
                report.count);
        code = SL_EXIT_CONNECT;
    } else {
        fprintf(stderr, "%s %zu entries\n",
                s->del.is_dry_run ? "would delete" : "deleted", report.count);
    }
    free(task);
    sl_cache_del_flow_fini(&flow);
    return code;
}

static int
run_command(sl_cache_t *cache, const char *cmd, const char *key, scan_t *s)
{
    sl_error_t err = {0};
    if (!strcmp(cmd, "get"))
        return cmd_get(cache, key, s->is_json);
    if (!strcmp(cmd, "explain"))
        return sl_cache_explain(cache, s->flow_file, key, s->other_key);
    if (!strcmp(cmd, "gc"))
        return sl_cache_gc(cache, s->blob_dir,
                           s->del.older_than_ms ? s->del.older_than_ms
                                                : 3600 * 1000,
                           s->del.is_dry_run);
    if (!strcmp(cmd, "del") && key && s->del.is_dry_run) {
        s->del.keys = (char *const *)&key; /* del KEY --dry-run: say so */
        s->del.key_count = 1;
        return cmd_del_filtered(cache, s);
    }
    if (!strcmp(cmd, "del") && !key)
        return cmd_del_filtered(cache, s);
    if (!strcmp(cmd, "del")) {
        int rc = sl_cache_del(cache, key, &err);
        if (rc == SL_ENOTFOUND)
            fprintf(stderr, "sluice cache del: no entry '%s'\n", key);
        else if (rc < 0)
            fprintf(stderr, "sluice cache del: %s\n", err.msg);
        return rc == 0           ? SL_EXIT_OK
               : rc == SL_ECACHE ? SL_EXIT_CONNECT
                                 : SL_EXIT_FAILED;
    }
    sl_cache_visit_fn visit = !strcmp(cmd, "ls") ? visit_print : visit_count;
    if (sl_cache_scan(cache, SL_KEY_PREFIX, visit, s, &err) < 0) {
        fprintf(stderr, "sluice cache %s: %s\n", cmd, err.msg);
        return SL_EXIT_CONNECT;
    }
    if (visit == visit_count && s->is_json)
        printf("{\"cache\":\"%s\",\"entries\":%zu,\"bytes\":%zu,"
               "\"blobs\":%zu,\"blob_bytes\":%zu}\n",
               sl_cache_url(cache), s->count, s->bytes, s->blobs,
               s->blob_bytes);
    else if (visit == visit_count)
        printf("cache       %s\nentries     %zu\nbytes       %zu\nblobs       "
               "%zu\nblob bytes  %zu\n",
               sl_cache_url(cache), s->count, s->bytes, s->blobs,
               s->blob_bytes);
    return SL_EXIT_OK;
}

int
sl_cli_cache(int argc, char **argv)
{
    static const struct option longs[] =
        {{"cache", required_argument, NULL, 'c'},
         {"task", required_argument, NULL, 't'},
         {"limit", required_argument, NULL, 'n'},
         {"json", no_argument, NULL, 'j'},
         {"flow", required_argument, NULL, 'f'},
         {"namespace", required_argument, NULL, 'N'},
         {"older-than", required_argument, NULL, 'o'},
         {"dry-run", no_argument, NULL, 'd'},
         {"blob-dir", required_argument, NULL, 'B'},
         {"help", no_argument, NULL, 'h'},
         {NULL, 0, NULL, 0}};
    scan_t s = {.limit = 1000};
    uint64_t limit;
    const char *given = NULL, *url = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'c': given = optarg; break;
        case 't': s.task = optarg; break;
        case 'n':
            if (sl_cli_count("cache", "--limit", optarg, 1, 100000000, &limit) <
                0)
                return SL_EXIT_USAGE;
            s.limit = (size_t)limit;
            break;
        case 'j': s.is_json = true; break;
        case 'f': s.flow_file = optarg; break;
        case 'N': s.del.ns = optarg; break;
        case 'd': s.del.is_dry_run = true; break;
        case 'B': s.blob_dir = optarg; break;
        case 'o':
            if (sl_duration_parse(optarg, &s.del.older_than_ms) < 0 ||
                s.del.older_than_ms <= 0) {
                fprintf(stderr,
                        "sluice cache del: --older-than %s: give a "
                        "duration (30s, 10m, 1h, 7d)\n",
                        optarg);
                return SL_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return SL_EXIT_OK;
        default: usage(stderr); return SL_EXIT_USAGE;
        }
    }
    const char *cmd = optind < argc ? argv[optind] : "";
    bool is_filtered = s.task || s.flow_file || s.del.ns || s.del.older_than_ms;
    bool is_del_by_filter = !strcmp(cmd, "del") && is_filtered;
    bool needs_key =
        !strcmp(cmd, "get") || (!strcmp(cmd, "del") && !is_filtered);
    bool is_explain = !strcmp(cmd, "explain");
    bool is_gc = !strcmp(cmd, "gc");
    if (is_gc && (!s.blob_dir || optind + 1 != argc)) {
        fprintf(stderr, "sluice cache gc: give --blob-dir DIR (the workers' "
                        "--blob-dir)\n");
        return SL_EXIT_USAGE;
    }
    bool is_known = needs_key || is_del_by_filter || is_explain || is_gc ||
                    !strcmp(cmd, "stats") || !strcmp(cmd, "ls");
    int args = argc - optind - 1; /* after the command */
    if (is_explain && (args < 1 || args > (s.flow_file ? 1 : 2))) {
        fprintf(stderr, "sluice cache explain: give KEY [OTHER_KEY], or "
                        "--flow FILE NODE[INDEX]\n");
        return SL_EXIT_USAGE;
    }
    if (is_explain && args == 2)
        s.other_key = argv[optind + 2];
    if (!is_explain && (!is_known || (needs_key && optind + 2 != argc) ||
                        (!needs_key && optind + 1 != argc))) {
        fprintf(stderr, "sluice cache: %s\n",
                !is_known ? "give a command: get KEY, del KEY, del with a "
                            "filter, stats or ls"
                : !strcmp(cmd, "del") && optind + 1 == argc
                    ? "del: give a KEY, or a filter (--task, --flow, "
                      "--namespace, --older-than): nothing is deleted "
                      "without one"
                    : "wrong number of arguments");
        return SL_EXIT_USAGE;
    }
    if (((s.del.is_dry_run && !is_gc) || (s.flow_file && !is_explain) ||
         s.del.ns || (s.del.older_than_ms && !is_gc) ||
         (s.blob_dir && !is_gc)) &&
        strcmp(cmd, "del") != 0) {
        fprintf(stderr,
                "sluice cache %s: --flow, --namespace, --older-than and "
                "--dry-run are for del (--flow for explain too, "
                "--blob-dir, --older-than and --dry-run for gc)\n",
                cmd);
        return SL_EXIT_USAGE;
    }
    sl_error_t err = {0};
    if (sl_cache_cli_url(given, &url, &err) < 0) {
        fprintf(stderr, "sluice cache: %s\n", err.msg);
        return SL_EXIT_USAGE;
    }
    char *fallback = url ? NULL : sl_cache_default_url();
    sl_cache_t *cache = sl_cache_new(url ? url : fallback, &err);
    free(fallback);
    if (!cache) {
        fprintf(stderr, "sluice cache: %s\n", err.msg);
        return SL_EXIT_CONNECT;
    }
    int code =
        run_command(cache, cmd,
                    needs_key || is_explain ? argv[optind + 1] : NULL, &s);
    sl_cache_destroy(&cache);
    return code;
}
