/* client/run_keys.c: the keys of a flow's last runs (run_keys.h). The
 * files are JSON, written through a temporary file renamed over. */
#include "run_keys.h"

#include "digest.h"
#include "dirs.h"
#include "flow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sl_run_keys {
    char path[4200];   /* keys/<digest>.json in the state folder */
    char file[4096];   /* the flow file, as given */
    sl_value_t *nodes; /* NODE -> {"INDEX": KEY}, owned */
    size_t count;      /* keys noted */
};

/* The path of the keys of the flow in file (is_previous: the run before). */
static void
path_of(const char *file, bool is_previous, char *out, size_t size)
{
    char state[4096], hex[SL_DIGEST_HEX_BYTES];
    uint8_t d[SL_DIGEST_BYTES];
    char *real = realpath(file, NULL);
    const char *name = real ? real : file;
    sl_digest_bytes(name, strlen(name), d);
    sl_digest_hex(d, hex);
    free(real);
    sl_dirs_state(state, sizeof state);
    snprintf(out, size, "%s/keys/%.32s%s.json", state, hex,
             is_previous ? ".prev" : "");
}

sl_run_keys_t *
sl_run_keys_new(const char *file)
{
    sl_run_keys_t *k = calloc(1, sizeof *k);
    if (!k || !(k->nodes = sl_value_new_map())) {
        free(k);
        return NULL;
    }
    snprintf(k->file, sizeof k->file, "%s", file);
    path_of(file, false, k->path, sizeof k->path);
    return k;
}

void
sl_run_keys_destroy(sl_run_keys_t **p)
{
    if (!p || !*p)
        return;
    sl_value_destroy(&(*p)->nodes);
    free(*p);
    *p = NULL;
}

void
sl_run_keys_note(sl_run_keys_t *k, const sl_event_t *e)
{
    char index[16];
    if (!k || (e->kind != SL_EVENT_DONE && e->kind != SL_EVENT_CACHED) ||
        !e->cache_key || !*e->cache_key)
        return;
    sl_value_t *node = (sl_value_t *)sl_value_lookup(k->nodes, e->node);
    if (!node) {
        sl_value_t *fresh = sl_value_new_map();
        if (!fresh || sl_value_put(k->nodes, e->node, &fresh) < 0) {
            sl_value_destroy(&fresh);
            return;
        }
        node = (sl_value_t *)sl_value_lookup(k->nodes, e->node);
    }
    snprintf(index, sizeof index, "%u", e->index);
    k->count += sl_value_put_string(node, index, e->cache_key) == 0;
}

int
sl_run_keys_save(sl_run_keys_t *k, const char *run_id, sl_error_t *err)
{
    char prev[4200], tmp[4300];
    if (!k->count)
        return 0;
    sl_value_t *doc = sl_value_new_map();
    int rc = doc && sl_value_put_string(doc, "flow", k->file) == 0 &&
                     sl_value_put_string(doc, "run_id", run_id) == 0 &&
                     sl_value_put(doc, "nodes", &k->nodes) == 0
                 ? 0
                 : SL_ENOMEM;
    char *json = rc == 0 ? sl_value_to_json(doc) : NULL;
    sl_value_destroy(&doc);
    k->nodes = sl_value_new_map(); /* moved into the document */
    if (!json)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    path_of(k->file, true, prev, sizeof prev);
    snprintf(tmp, sizeof tmp, "%s.tmp", k->path);
    FILE *f = sl_dirs_make(k->path, true) == 0 ? fopen(tmp, "w") : NULL;
    bool is_ok = f && fputs(json, f) >= 0;
    is_ok = f && fclose(f) == 0 && is_ok;
    free(json);
    if (!is_ok)
        return sl_error_set(err, SL_EIO, "%s: %s", tmp, strerror(errno));
    rename(k->path, prev); /* the last run is the previous now */
    if (rename(tmp, k->path) < 0)
        return sl_error_set(err, SL_EIO, "%s: %s", k->path, strerror(errno));
    return 0;
}

int
sl_run_keys_load(const char *file, bool is_previous, sl_value_t **out,
                 sl_error_t *err)
{
    char path[4200];
    *out = NULL;
    path_of(file, is_previous, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return sl_error_set(err, SL_ENOTFOUND, "no %s of %s is recorded (%s)",
                            is_previous ? "run before the last" : "run", file,
                            path);
    char *text = malloc(SL_FLOW_MAX_BYTES + 1);
    size_t n = text ? fread(text, 1, SL_FLOW_MAX_BYTES, f) : 0;
    fclose(f);
    if (!text)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    text[n] = '\0';
    int rc = sl_flow_parse_value(text, out, err);
    free(text);
    if (rc == 0 && sl_value_type(sl_value_lookup(*out, "nodes")) != SL_MAP) {
        sl_value_destroy(out);
        rc = sl_error_set(err, SL_EINVAL, "%s: not a record of keys", path);
    }
    return rc;
}
