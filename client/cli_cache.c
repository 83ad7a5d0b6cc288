/* client/cli_cache.c: `sluice cache get|del|stats|ls`: see and clear what
 * is cached. Talks to the cache directly (the same URL the workers use),
 * not through the broker. */
#include "cli.h"

#include "cache.h"
#include "entry.h"
#include "key.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *task; /* --task filter, or NULL */
    bool is_json;     /* --json */
    size_t count;     /* entries seen */
    size_t bytes;     /* their stored size */
    size_t limit;     /* ls: stop after this many */
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

static int
visit_count(const char *key, size_t size, void *ctx)
{
    scan_t *s = ctx;
    if (matches_task(key, s->task)) {
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
                 "keys and sizes\n  --cache URL      redis://host:port/db or "
                 "lmdb://PATH (default:\n                   $SLUICE_CACHE_URL, "
                 "else the embedded cache)\n  --task NAME      stats and ls: "
                 "only this task's entries\n  --limit N        ls: at most N "
                 "keys (default 1000)\n  --json           get and stats: "
                 "JSON\n");
}

static int
run_command(sl_cache_t *cache, const char *cmd, const char *key, scan_t *s)
{
    sl_error_t err = {0};
    if (!strcmp(cmd, "get"))
        return cmd_get(cache, key, s->is_json);
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
        printf("{\"cache\":\"%s\",\"entries\":%zu,\"bytes\":%zu}\n",
               sl_cache_url(cache), s->count, s->bytes);
    else if (visit == visit_count)
        printf("cache    %s\nentries  %zu\nbytes    %zu\n", sl_cache_url(cache),
               s->count, s->bytes);
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
        case 'h': usage(stdout); return SL_EXIT_OK;
        default: usage(stderr); return SL_EXIT_USAGE;
        }
    }
    const char *cmd = optind < argc ? argv[optind] : "";
    bool needs_key = !strcmp(cmd, "get") || !strcmp(cmd, "del");
    bool is_known = needs_key || !strcmp(cmd, "stats") || !strcmp(cmd, "ls");
    if (!is_known || (needs_key && optind + 2 != argc) ||
        (!needs_key && optind + 1 != argc)) {
        fprintf(stderr, "sluice cache: %s\n",
                !is_known ? "give a command: get KEY, del KEY, stats or ls"
                          : "wrong number of arguments");
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
    int code = run_command(cache, cmd, needs_key ? argv[optind + 1] : NULL, &s);
    sl_cache_destroy(&cache);
    return code;
}
