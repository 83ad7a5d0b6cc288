/* client/cli_cache_explain.c: `sluice cache explain`: each part of a
 * key (task, version, each argument, each file it covers, the files it
 * wrote), from the entry stored under it; given two keys, or a node of a
 * flow file (its key in the last run against the run before, as `sluice
 * run` recorded them: run_keys.h), which parts differ. Called by the CLI's
 * main thread; reads the cache directly. */
#include "cli_cache.h"

#include "entry.h"
#include "program.h"
#include "run_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first 16 hex digits of a digest: enough to tell two apart. */
static const char *
short_hex(const uint8_t d[SL_DIGEST_BYTES], char out[17])
{
    char hex[SL_DIGEST_HEX_BYTES];
    sl_digest_hex(d, hex);
    snprintf(out, 17, "%s", hex);
    return out;
}

/* Reads the entry under key; false, saying why, if there is none. */
static bool
read_entry(sl_cache_t *cache, const char *key, sl_entry_t *e)
{
    sl_buf_t b = {0};
    sl_error_t err = {0};
    int rc = sl_cache_get(cache, key, &b, &err);
    bool is_ok =
        rc == 0 && sl_entry_read(b.data, b.size, key, e, &err) == SL_ENTRY_OK;
    if (!is_ok)
        printf("  %s: %s\n", key,
               rc == SL_ENOTFOUND ? "no entry (expired, deleted, or never "
                                    "stored)"
                                  : err.msg);
    sl_buf_fini(&b);
    return is_ok;
}

static const char *
arg_name(const sl_entry_t *e, size_t i, char *buf, size_t size)
{
    static const char *parts[] = {"argv", "input", "env", "stdout", "outputs"};
    if (e->task && !strcmp(e->task, SL_PROGRAM_TASK) && i < 5)
        return parts[i];
    snprintf(buf, size, "arg %zu", i + 1);
    return buf;
}

/* One part: its value now, and (with was) what it was. */
static void
part(const char *name, const char *now, const char *was)
{
    if (!was)
        printf("  %-24s %s\n", name, now ? now : "-");
    else if (!now)
        printf("  %-24s %-20s REMOVED (was %s)\n", name, "-", was);
    else if (!*was)
        printf("  %-24s %-20s ADDED\n", name, now);
    else
        printf("  %-24s %-20s %s\n", name, now,
               strcmp(now, was) ? "CHANGED" : "same");
}

static const sl_entry_file_t *
find_file(const sl_entry_t *e, const char *name)
{
    for (size_t i = 0; e && i < e->file_count; i++)
        if (!strcmp(e->files[i].name, name))
            return &e->files[i];
    return NULL;
}

/* The parts of e; with old, each against old's. */
static void
explain(const sl_entry_t *e, const sl_entry_t *old)
{
    char now[128], was[128], h1[17], h2[17], name[300];
    snprintf(now, sizeof now, "%s@%u", e->task, e->version);
    snprintf(was, sizeof was, "%s@%u", old ? old->task : "",
             old ? old->version : 0);
    part("task", now, old ? was : NULL);
    size_t args = e->arg_count;
    if (old && old->arg_count > args)
        args = old->arg_count;
    for (size_t i = 0; i < args; i++) {
        bool has_now = i < e->arg_count, has_was = old && i < old->arg_count;
        part(arg_name(e, i, name, sizeof name),
             has_now ? short_hex(e->arg_digests[i], h1) : NULL,
             !old      ? NULL
             : has_was ? short_hex(old->arg_digests[i], h2)
                       : "");
    }
    for (size_t i = 0; i < e->file_count; i++) {
        const sl_entry_file_t *f = &e->files[i], *g = find_file(old, f->name);
        snprintf(name, sizeof name, "file %s", f->name);
        part(name, short_hex(f->digest, h1),
             !old ? NULL
             : g  ? short_hex(g->digest, h2)
                  : "");
    }
    for (size_t i = 0; old && i < old->file_count; i++)
        if (!find_file(e, old->files[i].name)) {
            snprintf(name, sizeof name, "file %s", old->files[i].name);
            part(name, NULL, short_hex(old->files[i].digest, h2));
        }
    for (size_t i = 0; i < e->output_count; i++) {
        snprintf(name, sizeof name, "output %s", e->outputs[i].path);
        snprintf(now, sizeof now, "%s, %llu bytes",
                 short_hex(e->outputs[i].digest, h1),
                 (unsigned long long)e->outputs[i].size);
        part(name, now, NULL);
    }
    printf("  %-24s at %lld (unix ms), %llu us to compute, by %s\n", "stored",
           (long long)e->created_ms, (unsigned long long)e->duration_us,
           e->producer ? e->producer : "?");
}

/* Explains key (and, if other, what differs from other's entry). */
static int
explain_keys(sl_cache_t *cache, const char *key, const char *other)
{
    sl_entry_t e = {0}, o = {0};
    printf("key %s\n", key);
    if (other)
        printf("against %s\n", other);
    if (other && !strcmp(key, other)) {
        printf("  the same key: the same task, version, arguments and "
               "files\n");
        other = NULL;
    }
    bool has_e = read_entry(cache, key, &e);
    bool has_o = other && read_entry(cache, other, &o);
    if (has_e)
        explain(&e, has_o ? &o : NULL);
    sl_entry_fini(&e);
    sl_entry_fini(&o);
    return has_e ? SL_EXIT_OK : SL_EXIT_FAILED;
}

/* The key node[index] had in a recorded run, or NULL. */
static const char *
recorded_key(const sl_value_t *run, const char *node, const char *index)
{
    const sl_value_t *n = sl_value_lookup(sl_value_lookup(run, "nodes"), node);
    return sl_value_get_string(sl_value_lookup(n, index), NULL);
}

int
sl_cache_explain(sl_cache_t *cache, const char *flow_file, const char *a,
                 const char *b)
{
    if (!flow_file)
        return explain_keys(cache, a, b);
    char node[256], index[16] = "0";
    sl_error_t err = {0};
    sl_value_t *last = NULL, *before = NULL;
    const char *open = strchr(a, '[');
    snprintf(node, sizeof node, "%.*s", open ? (int)(open - a) : (int)strlen(a),
             a);
    if (open)
        snprintf(index, sizeof index, "%.*s", (int)strcspn(open + 1, "]"),
                 open + 1);
    if (sl_run_keys_load(flow_file, false, &last, &err) < 0) {
        fprintf(stderr, "sluice cache explain: %s\n", err.msg);
        return SL_EXIT_FAILED;
    }
    sl_run_keys_load(flow_file, true, &before, NULL);
    const char *now = recorded_key(last, node, index);
    const char *was = before ? recorded_key(before, node, index) : NULL;
    int code = SL_EXIT_FAILED;
    if (!now)
        fprintf(stderr,
                "sluice cache explain: the last run of %s (%s) has no key "
                "for %s[%s] (no such node or element, or cache: none)\n",
                flow_file, sl_cli_str(last, "run_id"), node, index);
    else {
        printf("%s[%s] of %s: run %s%s%s\n", node, index, flow_file,
               sl_cli_str(last, "run_id"), was ? " against run " : "",
               was ? sl_cli_str(before, "run_id") : "");
        if (!was)
            printf("  (no run before the last has a key for it)\n");
        code = explain_keys(cache, now, was);
    }
    sl_value_destroy(&last);
    sl_value_destroy(&before);
    return code;
}
