/* common/flow_yaml.c: flow files (YAML, so JSON too) into sl_flow_t: the
 * flow format (tasks, their options, params, cache) read from the
 * document yaml_doc.c loads. Pure; any thread. Names file, line and
 * column in every error. Validation follows parsing, so a file that
 * returns a flow is a flow the broker will accept. */
#include "yaml_doc.h"

#include "caps.h"
#include "duration.h"
#include "program.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
parse_map(parse_t *p, const char *name, const yaml_node_t *n)
{
    if (sl_yaml_want_mapping(p, n, "map") < 0)
        return SL_EINVAL;
    if (n->data.mapping.pairs.top == n->data.mapping.pairs.start)
        return sl_yaml_fail(p, n, "node '%s': map is empty", name);
    sl_flow_last(p->flow)->map_pos = sl_yaml_pos(n);
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = sl_yaml_node(p, pr->key);
        const yaml_node_t *v = sl_yaml_node(p, pr->value);
        const char *var;
        sl_value_t *source = NULL;
        if (sl_yaml_want_string(p, k, "a map variable", &var) < 0)
            return SL_EINVAL;
        if (v->type == YAML_MAPPING_NODE ||
            (v->type == YAML_SCALAR_NODE &&
             (sl_yaml_scalar(v)[0] != '$' || !sl_yaml_is_plain(v))))
            return sl_yaml_fail(p, v,
                                "node '%s': map variable '%s' must be a list "
                                "or a reference like $node",
                                name, var);
        int rc = sl_yaml_value(p, v, 1, &source);
        if (rc == 0 &&
            (rc = sl_flow_add_map(p->flow, name, var, &source, p->err)) < 0)
            sl_error_prefix(p->err, "%s:%u:%u", p->flow->file,
                            sl_yaml_pos(v).line, sl_yaml_pos(v).column);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
parse_cache_mode(parse_t *p, const yaml_node_t *v, sl_node_options_t *o)
{
    const char *s = sl_yaml_scalar(v);
    if (s && !strcmp(s, "inputs"))
        o->cache = SL_CACHE_INPUTS;
    else if (s && !strcmp(s, "key"))
        o->cache = SL_CACHE_KEY;
    else if (s && !strcmp(s, "none"))
        o->cache = SL_CACHE_NONE;
    else
        return sl_yaml_fail(p, v, "cache must be inputs, key or none");
    return 0;
}

/* inputs: [path, folder, glob, $ref ...]. */
static int
parse_inputs(parse_t *p, const char *name, const yaml_node_t *n)
{
    sl_value_t *inputs = NULL;
    if (n->type != YAML_SEQUENCE_NODE)
        return sl_yaml_fail(p, n, "task '%s': inputs must be a list of paths",
                            name);
    int rc = sl_yaml_value(p, n, 1, &inputs);
    if (rc == 0)
        rc = sl_flow_set_inputs(p->flow, name, &inputs, p->err);
    if (rc == 0)
        sl_flow_last(p->flow)->inputs_pos = sl_yaml_pos(n);
    return rc;
}

/* One option of a node; *is_known is false for a key that is no option. */
static int
parse_option(parse_t *p, const char *key, const yaml_node_t *v,
             sl_node_options_t *o, bool *has_mode)
{
    long long i = 0;
    int64_t ms = 0;
    int rc = 0;
    if (!strcmp(key, "cache")) {
        rc = parse_cache_mode(p, v, o);
        *has_mode = true;
    } else if (!strcmp(key, "cache_key")) {
        rc = sl_yaml_want_string(p, v, "cache_key", &o->cache_key);
    } else if (!strcmp(key, "ttl")) {
        rc = sl_yaml_want_duration(p, v, "ttl", true, &o->ttl_ms);
    } else if (!strcmp(key, "refresh")) {
        rc = sl_yaml_want_bool(p, v, "refresh", &o->refresh);
    } else if (!strcmp(key, "validate")) {
        const char *s = sl_yaml_scalar(v);
        if (!s || strcmp(s, "inputs") != 0)
            return sl_yaml_fail(p, v, "validate must be 'inputs'");
        o->validate_inputs = true;
    } else if (!strcmp(key, "retries")) {
        if ((rc = sl_yaml_want_int(p, v, "retries", 0, 100, &i)) == 0)
            o->retries = (uint32_t)i;
    } else if (!strcmp(key, "retry_delay")) {
        if ((rc = sl_yaml_want_duration(p, v, "retry_delay", false, &ms)) == 0)
            o->retry_delay_ms = (uint64_t)ms;
    } else if (!strcmp(key, "timeout")) {
        if ((rc = sl_yaml_want_duration(p, v, "timeout", false, &ms)) == 0 &&
            ms == 0)
            rc = sl_yaml_fail(p, v,
                              "timeout of 0 is refused: leave it out for none");
        o->timeout_ms = (uint64_t)ms;
    } else if (!strcmp(key, "priority")) {
        if ((rc = sl_yaml_want_int(p, v, "priority", -1000000, 1000000, &i)) ==
            0)
            o->priority = (int32_t)i;
    } else {
        return 1;
    }
    return rc;
}

/* A key of a node that is neither an option nor run, args or map: a part
 * of a program, or its inputs. 1 if it is none of those either. */
static int
parse_part(const char *key, const yaml_node_t *v, sl_yaml_program_t *prog,
           const yaml_node_t **inputs)
{
    if (!strcmp(key, "cmd"))
        prog->cmd = v;
    else if (!strcmp(key, "sh"))
        prog->sh = v;
    else if (!strcmp(key, "stdout"))
        prog->stdout_mode = v;
    else if (!strcmp(key, "env"))
        prog->env = v;
    else if (!strcmp(key, "outputs"))
        prog->outputs = v;
    else if (!strcmp(key, "inputs"))
        *inputs = v;
    else
        return strcmp(key, "description") ? 1 : 0;
    return 0;
}

/* The node's call: a task (run, args) or a program (cmd or sh). */
static int
add_call(parse_t *p, const yaml_node_t *kn, const yaml_node_t *body,
         const char *run, const yaml_node_t *args, sl_yaml_program_t *prog)
{
    const char *name = sl_yaml_scalar(kn);
    bool is_program = prog->cmd || prog->sh;
    sl_value_t *argv = NULL;
    int rc;
    int calls = (run != NULL) + (prog->cmd != NULL) + (prog->sh != NULL);
    if (calls == 0)
        return sl_yaml_fail(p, body,
                            "task '%s' has no 'run' (the task to call), 'cmd' "
                            "(a program) or 'sh' (a shell line)",
                            name);
    if (calls > 1)
        return sl_yaml_fail(p, body,
                            "task '%s' has more than one of 'run', 'cmd' and "
                            "'sh'",
                            name);
    const yaml_node_t *only = prog->outputs ? prog->outputs
                              : prog->env   ? prog->env
                                            : prog->stdout_mode;
    if (!is_program && only)
        return sl_yaml_fail(p, only,
                            "task '%s': stdout, env and outputs are for "
                            "programs (cmd or sh)",
                            name);
    if (is_program) {
        prog->args = args;
        rc = sl_yaml_program(p, name, prog, &argv);
        run = SL_PROGRAM_TASK "@1";
    } else if (args && args->type != YAML_SEQUENCE_NODE) {
        rc = sl_yaml_fail(p, args, "task '%s': args must be a list", name);
    } else {
        rc = args ? sl_yaml_value(p, args, 1, &argv) : 0;
    }
    if (rc == 0 && (rc = sl_flow_add(p->flow, name, run, &argv, p->err)) < 0)
        sl_error_prefix(p->err, "%s:%u:%u", p->flow->file, sl_yaml_pos(kn).line,
                        sl_yaml_pos(kn).column);
    return rc;
}

static int
parse_node(parse_t *p, const yaml_node_t *kn, const yaml_node_t *body)
{
    const char *name, *run = NULL;
    const yaml_node_t *args = NULL, *map = NULL, *inputs = NULL;
    sl_yaml_program_t prog = {0};
    sl_node_options_t o = sl_node_options_default();
    bool has_mode = false;
    char what[SL_NAME_MAX_BYTES + 16];
    if (sl_yaml_want_string(p, kn, "a task name", &name) < 0)
        return SL_EINVAL;
    snprintf(what, sizeof what, "task '%.*s'", SL_NAME_MAX_BYTES, name);
    if (sl_yaml_want_mapping(p, body, what) < 0)
        return SL_EINVAL;
    for (yaml_node_pair_t *pr = body->data.mapping.pairs.start;
         pr < body->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = sl_yaml_node(p, pr->key);
        const yaml_node_t *v = sl_yaml_node(p, pr->value);
        const char *key = sl_yaml_scalar(k);
        int rc = 0;
        if (!key)
            return sl_yaml_fail(p, k, "task '%s': keys must be strings", name);
        if (!strcmp(key, "run"))
            rc = sl_yaml_want_string(p, v, "run", &run);
        else if (!strcmp(key, "args"))
            args = v;
        else if (!strcmp(key, "map"))
            map = v;
        else if (parse_part(key, v, &prog, &inputs) == 1 &&
                 (rc = parse_option(p, key, v, &o, &has_mode)) == 1)
            return sl_yaml_fail(p, k,
                                "task '%s': unknown key '%s' (known: run, "
                                "args, map, cmd, sh, stdout, env, inputs, "
                                "outputs, "
                                "cache, cache_key, ttl, refresh, validate, "
                                "retries, retry_delay, timeout, priority, "
                                "description)",
                                name, key);
        if (rc < 0)
            return rc;
    }
    if (o.cache_key && !has_mode)
        o.cache = SL_CACHE_KEY;
    int rc = add_call(p, kn, body, run, args, &prog);
    if (rc < 0)
        return rc;
    sl_node_t *node = sl_flow_last(p->flow);
    node->pos = sl_yaml_pos(kn);
    node->args_pos = args ? sl_yaml_pos(args) : node->pos;
    if (map && (rc = parse_map(p, name, map)) < 0)
        return rc;
    if (inputs && (rc = parse_inputs(p, name, inputs)) < 0)
        return rc;
    return sl_flow_set_options(p->flow, name, &o, p->err);
}

static int
parse_cache(parse_t *p, const yaml_node_t *n)
{
    const char *url = NULL, *ns = NULL;
    int64_t ttl_ms = SL_DEFAULT_TTL_MS;
    if (sl_yaml_want_mapping(p, n, "cache") < 0)
        return SL_EINVAL;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = sl_yaml_node(p, pr->key);
        const yaml_node_t *v = sl_yaml_node(p, pr->value);
        const char *key = sl_yaml_scalar(k) ? sl_yaml_scalar(k) : "";
        int rc;
        if (!strcmp(key, "url"))
            rc = sl_yaml_want_string(p, v, "cache url", &url);
        else if (!strcmp(key, "namespace"))
            rc = sl_yaml_want_string(p, v, "cache namespace", &ns);
        else if (!strcmp(key, "ttl"))
            rc = sl_yaml_want_duration(p, v, "cache ttl", true, &ttl_ms);
        else
            rc = sl_yaml_fail(p, k,
                              "cache: unknown key '%s' (known: url, namespace, "
                              "ttl)",
                              key);
        if (rc < 0)
            return rc;
    }
    if (url && strncmp(url, "redis://", 8) && strncmp(url, "lmdb://", 7))
        return sl_yaml_fail(p, n,
                            "cache url '%s' must start with redis:// or "
                            "lmdb://",
                            url);
    int rc = sl_flow_set_cache(p->flow, url, ns, ttl_ms, p->err);
    if (rc < 0)
        sl_error_prefix(p->err, "%s:%u:%u", p->flow->file, sl_yaml_pos(n).line,
                        sl_yaml_pos(n).column);
    return rc;
}

static int
parse_params(parse_t *p, const yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE) /* names checked one by one below */
        return sl_yaml_fail(p, n, "params must be a mapping");
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = sl_yaml_node(p, pr->key);
        const char *name;
        sl_value_t *v = NULL;
        if (sl_yaml_want_string(p, k, "a parameter name", &name) < 0)
            return SL_EINVAL;
        if (sl_value_lookup(p->flow->params, name))
            return sl_yaml_fail(p, k, "parameter '%s' is declared twice", name);
        int rc = sl_yaml_value(p, sl_yaml_node(p, pr->value), 1, &v);
        if (rc == 0 && (rc = sl_flow_set_param(p->flow, name, &v, p->err)) < 0)
            sl_error_prefix(p->err, "%s:%u:%u", p->flow->file,
                            sl_yaml_pos(k).line, sl_yaml_pos(k).column);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
parse_tasks(parse_t *p, const yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE) /* names checked by sl_flow_add */
        return sl_yaml_fail(p, n, "tasks must be a mapping");
    if (n->data.mapping.pairs.top == n->data.mapping.pairs.start)
        return sl_yaml_fail(p, n, "tasks is empty");
    if (n->data.mapping.pairs.top - n->data.mapping.pairs.start >
        SL_FLOW_MAX_NODES)
        return sl_yaml_fail(p, n, "more than %d tasks", SL_FLOW_MAX_NODES);
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top; pr++) {
        int rc =
            parse_node(p, sl_yaml_node(p, pr->key), sl_yaml_node(p, pr->value));
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
parse_root(parse_t *p, const yaml_node_t *root)
{
    const yaml_node_t *tasks = NULL;
    const char *name = NULL;
    if (!root)
        return sl_error_set(p->err, SL_EINVAL, "%s: the file is empty",
                            p->flow->file);
    if (sl_yaml_want_mapping(p, root, "a flow file") < 0)
        return SL_EINVAL;
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
         pr < root->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = sl_yaml_node(p, pr->key);
        const yaml_node_t *v = sl_yaml_node(p, pr->value);
        const char *key = sl_yaml_scalar(k) ? sl_yaml_scalar(k) : "";
        int rc = 0;
        if (!strcmp(key, "flow"))
            rc = sl_yaml_want_string(p, v, "flow", &name);
        else if (!strcmp(key, "cache"))
            rc = parse_cache(p, v);
        else if (!strcmp(key, "params"))
            rc = parse_params(p, v);
        else if (!strcmp(key, "tasks"))
            tasks = v;
        else if (strcmp(key, "description") != 0)
            rc = sl_yaml_fail(p, k,
                              "unknown key '%s' (known: flow, description, "
                              "cache, params, tasks)",
                              key);
        if (rc < 0)
            return rc;
    }
    if (!name)
        return sl_yaml_fail(p, root, "the file has no 'flow: NAME'");
    free(p->flow->name);
    if (!(p->flow->name = strdup(name)))
        return sl_error_set(p->err, SL_ENOMEM, "out of memory");
    if (!tasks)
        return sl_yaml_fail(p, root, "the file has no 'tasks:'");
    return parse_tasks(p, tasks); /* after params: refs are checked later */
}

/* Loads text's first document into *doc, with its tagged plain scalars
 * in *tagged; errors start with where (a file, or the value itself). 0,
 * or an error code with err set; on error nothing needs freeing. */
static int
load_document(const char *text, size_t size, const char *where,
              yaml_document_t *doc, sl_yaml_tagged_t *tagged, sl_error_t *err)
{
    yaml_parser_t parser;
    int rc = sl_yaml_prescan(text, size, where, tagged, err);
    if (rc < 0) {
        sl_yaml_tagged_free(tagged);
        return rc;
    }
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
    rc = 0;
    if (!yaml_parser_load(&parser, doc)) {
        rc = sl_error_set(err, SL_EINVAL, "%s:%zu:%zu: %s%s%s", where,
                          parser.problem_mark.line + 1,
                          parser.problem_mark.column + 1,
                          parser.problem ? parser.problem : "bad YAML",
                          parser.context ? " " : "",
                          parser.context ? parser.context : "");
        sl_yaml_tagged_free(tagged);
    }
    yaml_parser_delete(&parser);
    return rc;
}

sl_flow_t *
sl_flow_parse(const char *text, size_t size, const char *file, sl_error_t *err)
{
    yaml_document_t doc;
    sl_yaml_tagged_t tagged = {0};
    sl_flow_t *flow = sl_flow_new("");
    if (!flow || sl_flow_set_file(flow, file) < 0) {
        sl_flow_destroy(&flow);
        sl_error_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    if (size > SL_FLOW_MAX_BYTES) {
        sl_error_set(err, SL_ETOOBIG, "%s: %zu bytes, over the cap of %u", file,
                     size, SL_FLOW_MAX_BYTES);
        sl_flow_destroy(&flow);
        return NULL;
    }
    int rc = load_document(text, size, file, &doc, &tagged, err);
    if (rc == 0) {
        parse_t p = {&doc, &tagged, flow, err, SL_YAML_VISIT_BUDGET};
        rc = parse_root(&p, yaml_document_get_root_node(&doc));
        yaml_document_delete(&doc);
        sl_yaml_tagged_free(&tagged);
    }
    if (rc == 0)
        rc = sl_flow_validate(flow, err);
    if (rc < 0)
        sl_flow_destroy(&flow);
    return flow;
}

sl_flow_t *
sl_flow_load(const char *path, sl_error_t *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        sl_error_set(err, SL_ENOTFOUND, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(SL_FLOW_MAX_BYTES + 1);
    size_t size = text ? fread(text, 1, SL_FLOW_MAX_BYTES + 1, fp) : 0;
    bool is_error = ferror(fp);
    fclose(fp);
    sl_flow_t *flow = NULL;
    if (!text)
        sl_error_set(err, SL_ENOMEM, "out of memory");
    else if (is_error)
        sl_error_set(err, SL_EIO, "%s: read error", path);
    else
        flow = sl_flow_parse(text, size, path, err);
    free(text);
    return flow;
}

/* text (one YAML document) as a value; errors start with where. */
static int
parse_value(const char *text, size_t size, const char *where, sl_value_t **out,
            sl_error_t *err)
{
    yaml_document_t doc;
    sl_yaml_tagged_t tagged = {0};
    sl_flow_t *named = sl_flow_new("");
    int rc = named ? sl_flow_set_file(named, where) : SL_ENOMEM;
    *out = NULL;
    if (rc < 0) {
        sl_flow_destroy(&named);
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    }
    rc = load_document(text, size, where, &doc, &tagged, err);
    if (rc == 0) {
        parse_t p = {&doc, &tagged, named, err, SL_YAML_VISIT_BUDGET};
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        rc = root ? sl_yaml_value(&p, root, 1, out)
                  : ((*out = sl_value_new_null()) ? 0 : SL_ENOMEM);
        yaml_document_delete(&doc);
        sl_yaml_tagged_free(&tagged);
    }
    sl_flow_destroy(&named);
    return rc;
}

int
sl_flow_parse_value(const char *text, sl_value_t **out, sl_error_t *err)
{
    char where[80];
    int shown = (int)strcspn(text, "\n");
    snprintf(where, sizeof where, "value '%.*s%s'", shown > 60 ? 60 : shown,
             text, text[shown] || shown > 60 ? "..." : "");
    return parse_value(text, strlen(text), where, out, err);
}

int
sl_yaml_load_value(const char *path, sl_value_t **out, sl_error_t *err)
{
    FILE *fp = fopen(path, "rb");
    *out = NULL;
    if (!fp)
        return sl_error_set(err, SL_ENOTFOUND, "%s: %s", path, strerror(errno));
    char *text = malloc(SL_FLOW_MAX_BYTES + 1);
    size_t size = text ? fread(text, 1, SL_FLOW_MAX_BYTES + 1, fp) : 0;
    bool is_error = ferror(fp);
    fclose(fp);
    int rc = !text      ? sl_error_set(err, SL_ENOMEM, "out of memory")
             : is_error ? sl_error_set(err, SL_EIO, "%s: read error", path)
             : size > SL_FLOW_MAX_BYTES
                 ? sl_error_set(err, SL_ETOOBIG, "%s: over the cap of %u bytes",
                                path, SL_FLOW_MAX_BYTES)
                 : parse_value(text, size, path, out, err);
    free(text);
    return rc;
}
