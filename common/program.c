/* common/program.c: the shape of a program task's arguments and the
 * --exec rules that decide which worker may run which program. Pure; any
 * thread. The broker routes with sl_program_rules_match; the worker checks
 * the program it found with sl_program_rule_allows. */
#include "program.h"

#include "caps.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

int
sl_program_output_parse(const char *s)
{
    if (!strcmp(s, "json"))
        return SL_OUTPUT_JSON;
    if (!strcmp(s, "text"))
        return SL_OUTPUT_TEXT;
    if (!strcmp(s, "bytes"))
        return SL_OUTPUT_BYTES;
    return -1;
}

bool
sl_program_is_env_name(const char *s)
{
    if (!s || !(*s == '_' || ((*s | 32) >= 'a' && (*s | 32) <= 'z')))
        return false;
    for (s++; *s; s++)
        if (!(*s == '_' || (*s >= '0' && *s <= '9') ||
              ((*s | 32) >= 'a' && (*s | 32) <= 'z')))
            return false;
    return true;
}

int
sl_program_call_parse(const sl_value_t *args, sl_program_call_t *out,
                      sl_error_t *err)
{
    size_t parts = sl_value_count(args);
    if (sl_value_type(args) != SL_LIST || parts < 4 || parts > 5)
        return sl_error_set(err, SL_EINVAL,
                            "a program call's arguments are [argv, input, "
                            "env, stdout] or [argv, input, env, stdout, "
                            "outputs]");
    out->outputs = parts == 5 ? sl_value_at(args, 4) : NULL;
    for (size_t i = 0; out->outputs && i < sl_value_count(out->outputs); i++) {
        const sl_value_t *o = sl_value_at(out->outputs, i);
        size_t n = 0;
        const char *path =
            sl_value_type(o) == SL_STRING ? sl_value_get_string(o, &n) : NULL;
        if (!path || strlen(path) != n || !sl_program_is_inside(path))
            return sl_error_set(err, SL_EINVAL,
                                "output %zu is not a relative path inside "
                                "the working folder",
                                i + 1);
    }
    if (out->outputs && (sl_value_type(out->outputs) != SL_LIST ||
                         sl_value_count(out->outputs) > SL_OUTPUTS_MAX_COUNT))
        return sl_error_set(err, SL_EINVAL,
                            "outputs must be a list of at most %d paths",
                            SL_OUTPUTS_MAX_COUNT);
    out->argv = sl_value_at(args, 0);
    out->input = sl_value_at(args, 1);
    out->env = sl_value_at(args, 2);
    const sl_value_t *mode = sl_value_at(args, 3);
    if (sl_value_type(out->argv) != SL_LIST || !sl_value_count(out->argv) ||
        sl_value_type(sl_value_at(out->argv, 0)) != SL_STRING)
        return sl_error_set(err, SL_EINVAL,
                            "argv must be a list that starts with the program");
    if (sl_value_count(out->argv) > SL_ARGV_MAX_COUNT)
        return sl_error_set(err, SL_EINVAL, "argv has more than %d elements",
                            SL_ARGV_MAX_COUNT);
    if (sl_value_type(out->input) != SL_LIST)
        return sl_error_set(err, SL_EINVAL, "input must be a list");
    if (sl_value_type(out->env) != SL_MAP)
        return sl_error_set(err, SL_EINVAL, "env must be a map");
    int how = sl_value_type(mode) == SL_STRING
                  ? sl_program_output_parse(sl_value_get_string(mode, NULL))
                  : -1;
    if (how < 0)
        return sl_error_set(err, SL_EINVAL,
                            "stdout must be json, text or bytes");
    out->output = (sl_program_output_t)how;
    return 0;
}

const char *
sl_program_name(const sl_value_t *args)
{
    const sl_value_t *argv = sl_value_at(args, 0);
    const sl_value_t *program = argv ? sl_value_at(argv, 0) : NULL;
    if (sl_value_type(args) != SL_LIST || sl_value_type(argv) != SL_LIST ||
        sl_value_type(program) != SL_STRING)
        return NULL;
    return sl_value_get_string(program, NULL);
}

bool
sl_program_is_inside(const char *path)
{
    if (!*path || *path == '/')
        return false;
    for (const char *p = path;;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (!p[n])
            return true;
        p += n + 1;
    }
}

int
sl_program_check_name(const char *program, sl_error_t *err)
{
    size_t n = strlen(program);
    if (n == 0)
        return sl_error_set(err, SL_EINVAL, "the program is empty");
    if (n > SL_PROGRAM_NAME_MAX_BYTES)
        return sl_error_set(err, SL_EINVAL,
                            "program '%.40s...' is over %d bytes", program,
                            SL_PROGRAM_NAME_MAX_BYTES);
    if (strchr(program, '/') && program[0] != '/')
        return sl_error_set(err, SL_EINVAL,
                            "program '%s' is a relative path: give a bare "
                            "name (looked up in the worker's path) or an "
                            "absolute path",
                            program);
    if (strstr(program, "/../") || strstr(program, "/./") ||
        (n >= 3 && !strcmp(program + n - 3, "/..")) ||
        (n >= 2 && !strcmp(program + n - 2, "/.")))
        return sl_error_set(err, SL_EINVAL,
                            "program '%s' has a '.' or '..' part", program);
    return 0;
}

bool
sl_program_rule_allows(const char *rule, const char *program,
                       const char *resolved)
{
    if (!strcmp(rule, "*"))
        return true; /* every program, by name or by path */
    if (strchr(rule, '/'))
        return resolved && fnmatch(rule, resolved, FNM_PATHNAME) == 0;
    return !strchr(program, '/') && fnmatch(rule, program, 0) == 0;
}

const char *
sl_program_rules_match(char *const *rules, size_t count, const char *path,
                       const char *program)
{
    char full[4096];
    if (sl_program_check_name(program, NULL) < 0)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        if (!strchr(program, '/') && strchr(rules[i], '/')) {
            /* a bare name: could it be found where the rule allows? */
            for (const char *d = path; d && *d;) {
                const char *end = strchr(d, ':');
                size_t len = end ? (size_t)(end - d) : strlen(d);
                int n = snprintf(full, sizeof full, "%.*s/%s", (int)len, d,
                                 program);
                if (len && n > 0 && (size_t)n < sizeof full &&
                    sl_program_rule_allows(rules[i], program, full))
                    return rules[i];
                d = end ? end + 1 : NULL;
            }
        } else if (sl_program_rule_allows(rules[i], program, program)) {
            return rules[i];
        }
    }
    return NULL;
}
