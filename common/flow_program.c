/* common/flow_program.c: a program node of a flow file (`cmd:` or `sh:`,
 * with `stdout:` and `env:`) read into a call of the task exec@1, whose
 * arguments docs/TASKS.md gives: [argv, input, env, stdout]. Pure; any
 * thread. Shared by flow_yaml.c only. Every error names file, line and
 * column. */
#include "yaml_doc.h"

#include "caps.h"
#include "program.h"

#include <string.h>

/* A string value holding the scalar's text as written: a program's
 * arguments are text, so `5` stays "5" and `yes` stays "yes". */
static int
scalar_text(parse_t *p, const yaml_node_t *n, const char *what,
            sl_value_t **out)
{
    const char *s = sl_yaml_scalar(n);
    if (!s)
        return sl_yaml_fail(p, n, "%s must be text or a reference like $x",
                            what);
    *out = sl_value_new_string(s);
    return *out ? 0 : sl_error_set(p->err, SL_ENOMEM, "out of memory");
}

static int
push(parse_t *p, sl_value_t *list, sl_value_t **item)
{
    if (!*item || sl_value_push(list, item) < 0) {
        sl_value_destroy(item);
        return sl_error_set(p->err, SL_ENOMEM, "out of memory");
    }
    return 0;
}

/* cmd: [prog, arg, ...] into argv. */
static int
read_cmd(parse_t *p, const char *name, const yaml_node_t *n, sl_value_t *argv)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return sl_yaml_fail(p, n,
                            "task '%s': cmd must be a list: [program, "
                            "argument, ...]",
                            name);
    size_t count =
        (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count == 0)
        return sl_yaml_fail(p, n, "task '%s': cmd is empty", name);
    if (count > SL_ARGV_MAX_COUNT)
        return sl_yaml_fail(p, n, "task '%s': cmd has more than %d elements",
                            name, SL_ARGV_MAX_COUNT);
    for (size_t i = 0; i < count; i++) {
        const yaml_node_t *e = sl_yaml_node(p, n->data.sequence.items.start[i]);
        sl_value_t *s = NULL;
        int rc = scalar_text(p, e, "each element of cmd", &s);
        sl_error_t why = {0};
        if (rc == 0 && i == 0 && sl_yaml_scalar(e)[0] != '$' &&
            sl_program_check_name(sl_yaml_scalar(e), &why) < 0)
            rc = sl_yaml_fail(p, e, "task '%s': %s", name, why.msg);
        if (rc == 0)
            rc = push(p, argv, &s);
        sl_value_destroy(&s);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* sh: "line" into argv: /bin/sh -c line sh, then the args as $1, $2 ...
 * References are never pasted into the line: they reach it as positional
 * parameters, so a value cannot become shell syntax. */
static int
read_sh(parse_t *p, const char *name, const yaml_node_t *n,
        const sl_value_t *args, sl_value_t *argv)
{
    const char *line = sl_yaml_scalar(n);
    if (!line || !*line)
        return sl_yaml_fail(p, n, "task '%s': sh must be a shell line", name);
    const char *head[] = {SL_PROGRAM_SHELL, "-c", line, "sh"};
    for (size_t i = 0; i < 4; i++) {
        sl_value_t *s = sl_value_new_string(head[i]);
        if (push(p, argv, &s) < 0)
            return SL_ENOMEM;
    }
    for (size_t i = 0; args && i < sl_value_count(args); i++) {
        sl_value_t *a = sl_value_copy(sl_value_at(args, i));
        if (push(p, argv, &a) < 0)
            return SL_ENOMEM;
    }
    return 0;
}

/* env: {NAME: value} into a map of strings (or references). */
static int
read_env(parse_t *p, const char *name, const yaml_node_t *n, sl_value_t *env)
{
    if (sl_yaml_want_mapping(p, n, "env") < 0)
        return SL_EINVAL;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = sl_yaml_node(p, pr->key);
        const char *var = sl_yaml_scalar(k);
        if (!sl_program_is_env_name(var))
            return sl_yaml_fail(p, k,
                                "task '%s': env name '%s' is not a variable "
                                "name (letters, digits and _)",
                                name, var);
        sl_value_t *s = NULL;
        int rc = scalar_text(p, sl_yaml_node(p, pr->value), "an env value", &s);
        if (rc == 0 && sl_value_put(env, var, &s) < 0)
            rc = sl_error_set(p->err, SL_ENOMEM, "out of memory");
        sl_value_destroy(&s);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* outputs: [path, ...]: relative paths inside the working folder (or
 * references to them). */
static int
read_outputs(parse_t *p, const char *name, const yaml_node_t *n,
             sl_value_t **out)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return sl_yaml_fail(p, n, "task '%s': outputs must be a list of paths",
                            name);
    size_t count =
        (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count > SL_OUTPUTS_MAX_COUNT)
        return sl_yaml_fail(p, n, "task '%s': more than %d outputs", name,
                            SL_OUTPUTS_MAX_COUNT);
    if (!(*out = sl_value_new_list()))
        return sl_error_set(p->err, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const yaml_node_t *e = sl_yaml_node(p, n->data.sequence.items.start[i]);
        sl_value_t *s = NULL;
        int rc = scalar_text(p, e, "each output", &s);
        if (rc == 0 && sl_yaml_scalar(e)[0] != '$' &&
            !sl_program_is_inside(sl_yaml_scalar(e)))
            rc = sl_yaml_fail(p, e,
                              "task '%s': output '%s' is not a relative path "
                              "inside the working folder",
                              name, sl_yaml_scalar(e));
        if (rc == 0)
            rc = push(p, *out, &s);
        sl_value_destroy(&s);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
sl_yaml_program(parse_t *p, const char *name, const sl_yaml_program_t *prog,
                sl_value_t **out)
{
    sl_value_t *call = sl_value_new_list(), *argv = sl_value_new_list();
    sl_value_t *input = NULL, *env = sl_value_new_map(), *mode = NULL;
    sl_value_t *outputs = NULL;
    const char *how =
        prog->stdout_mode ? sl_yaml_scalar(prog->stdout_mode) : "json";
    int rc = call && argv && env ? 0 : SL_ENOMEM;
    *out = NULL;
    if (rc == 0 && prog->args)
        rc = prog->args->type == YAML_SEQUENCE_NODE
                 ? sl_yaml_value(p, prog->args, 1, &input)
                 : sl_yaml_fail(p, prog->args, "task '%s': args must be a list",
                                name);
    if (rc == 0 && !input && !(input = sl_value_new_list()))
        rc = SL_ENOMEM;
    if (rc == 0 && sl_program_output_parse(how ? how : "") < 0)
        rc =
            sl_yaml_fail(p, prog->stdout_mode,
                         "task '%s': stdout must be json, text or bytes", name);
    if (rc == 0)
        rc = prog->cmd ? read_cmd(p, name, prog->cmd, argv)
                       : read_sh(p, name, prog->sh, input, argv);
    if (rc == 0 && prog->env)
        rc = read_env(p, name, prog->env, env);
    if (rc == 0 && prog->outputs)
        rc = read_outputs(p, name, prog->outputs, &outputs);
    if (rc == 0 && !(mode = sl_value_new_string(how)))
        rc = SL_ENOMEM;
    if (rc == 0 &&
        (sl_value_push(call, &argv) < 0 || sl_value_push(call, &input) < 0 ||
         sl_value_push(call, &env) < 0 || sl_value_push(call, &mode) < 0 ||
         (outputs && sl_value_push(call, &outputs) < 0)))
        rc = SL_ENOMEM;
    if (rc == SL_ENOMEM)
        sl_error_set(p->err, SL_ENOMEM, "out of memory");
    sl_value_destroy(&argv);
    sl_value_destroy(&input);
    sl_value_destroy(&env);
    sl_value_destroy(&mode);
    sl_value_destroy(&outputs);
    if (rc == 0)
        *out = call;
    else
        sl_value_destroy(&call);
    return rc;
}
