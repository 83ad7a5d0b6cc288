/* worker/exec_program.c: the program side of an executor's batch
 * (batch.h): a program task's program found and checked against the
 * worker's --exec rules, its file digested into the key, then run
 * (launch.c) in the executor's working folder (workdir.h: empty at each
 * start, emptied after) with an explicit environment, and its standard
 * output read as its result. Runs on one executor thread. Never runs a
 * program the rules do not allow. */
#include "batch.h"

#include "flow.h"
#include "dirs.h"
#include "launch.h"
#include "log.h"
#include "workdir.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- finding and checking the program ---------------------------------- */

static bool
is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           access(path, X_OK) == 0;
}

/* The file a bare name stands for: the first in path that is an
 * executable file; NULL if none (owned). An absolute path as it is. */
static char *
find_program(const char *program, const char *path)
{
    char full[4096];
    if (strchr(program, '/'))
        return strdup(program);
    for (const char *d = path; d && *d;) {
        const char *end = strchr(d, ':');
        size_t len = end ? (size_t)(end - d) : strlen(d);
        int n = snprintf(full, sizeof full, "%.*s/%s", (int)len, d, program);
        if (len && n > 0 && (size_t)n < sizeof full && is_executable_file(full))
            return strdup(full);
        d = end ? end + 1 : NULL;
    }
    return NULL;
}

/* The rules, as one string for an error message. */
static void
rules_text(const sl_program_options_t *o, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < o->rule_count && n + 1 < size; i++) {
        int w = snprintf(out + n, size - n, "%s%s", i ? ", " : "", o->rules[i]);
        n = w > 0 ? n + (size_t)w : n;
    }
    if (n >= size && size > 4)
        strcpy(out + size - 4, "...");
}

static const char *
allowing_rule(const sl_program_options_t *o, const char *program,
              const char *resolved)
{
    for (size_t i = 0; i < o->rule_count; i++)
        if (sl_program_rule_allows(o->rules[i], program, resolved))
            return o->rules[i];
    return NULL;
}

void
sl_batch_prepare_program(executor_t *ex, job_t *j, sl_value_t *files)
{
    const sl_program_options_t *o = ex->cfg->programs;
    sl_error_t err = {0};
    char rules[300];
    if (sl_program_call_parse(j->call.args, &j->program, &err) < 0)
        return sl_batch_fail(j, "program task: %s", err.msg);
    const char *program = sl_program_name(j->call.args);
    if (sl_program_check_name(program, &err) < 0)
        return sl_batch_fail(j, "%s", err.msg);
    j->program_path = find_program(program, o->path);
    rules_text(o, rules, sizeof rules);
    if (!allowing_rule(o, program, j->program_path))
        return sl_batch_fail(j,
                             "program '%s'%s%s%s is not allowed by this "
                             "worker's --exec rules (%s)",
                             program, j->program_path ? " (" : "",
                             j->program_path ? j->program_path : "",
                             j->program_path ? ")" : "",
                             o->rule_count ? rules : "none");
    if (!j->program_path || !is_executable_file(j->program_path))
        return sl_batch_fail(j, "program '%s' is not an executable file%s%s",
                             program, strchr(program, '/') ? "" : " in ",
                             strchr(program, '/') ? "" : o->path);
    uint8_t digest[SL_DIGEST_BYTES];
    if (sl_digest_memo_file(ex->memo, j->program_path, digest, &err) < 0)
        return sl_batch_fail(j, "program '%s': %s", program, err.msg);
    sl_value_t *pair = sl_value_new_list();
    sl_value_t *name = sl_value_new_string("$program");
    sl_value_t *bytes = sl_value_new_bytes(digest, sizeof digest);
    if (!pair || !name || !bytes || sl_value_push(pair, &name) < 0 ||
        sl_value_push(pair, &bytes) < 0 || sl_value_push(files, &pair) < 0)
        sl_batch_fail(j, "out of memory");
    sl_value_destroy(&pair);
    sl_value_destroy(&name);
    sl_value_destroy(&bytes);
}

/* ---- its argument vector and environment -------------------------------- */

/* A scalar as a program sees it: text. NULL (with why) for anything
 * else. */
static char *
as_text(const sl_value_t *v, const char *what, size_t i, char *why, size_t size)
{
    char num[64];
    size_t n = 0;
    const char *s;
    switch (sl_value_type(v)) {
    case SL_STRING:
        s = sl_value_get_string(v, &n);
        if (strlen(s) == n)
            return strdup(s);
        snprintf(why, size, "%s %zu holds a NUL byte", what, i);
        return NULL;
    case SL_INT:
        snprintf(num, sizeof num, "%" PRId64, sl_value_get_int(v));
        return strdup(num);
    case SL_DOUBLE:
        snprintf(num, sizeof num, "%.17g", sl_value_get_double(v));
        return strdup(num);
    case SL_BOOL: return strdup(sl_value_get_bool(v) ? "true" : "false");
    default:
        snprintf(why, size,
                 "%s %zu is not text or a number (a list, map, null or "
                 "bytes)",
                 what, i);
        return NULL;
    }
}

typedef struct {
    char **items; /* NULL-terminated, owned */
    size_t count;
    size_t cap;
} strv_t;

static int
strv_add(strv_t *v, char *s)
{
    if (!s)
        return SL_ENOMEM;
    if (v->count + 2 > v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 16;
        char **items = realloc(v->items, cap * sizeof *items);
        if (!items) {
            free(s);
            return SL_ENOMEM;
        }
        v->items = items;
        v->cap = cap;
    }
    v->items[v->count++] = s;
    v->items[v->count] = NULL;
    return 0;
}

static void
strv_fini(strv_t *v)
{
    for (size_t i = 0; i < v->count; i++)
        free(v->items[i]);
    free(v->items);
    *v = (strv_t){0};
}

static char *
pair(const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s=%s", name, value);
    return s;
}

/* Names a task's env may not set: what the worker sets, and what changes
 * how every program loads. */
static bool
is_reserved(const char *name)
{
    return !strncmp(name, "LD_", 3) || !strncmp(name, "SLUICE_", 7) ||
           !strcmp(name, "PATH") || !strcmp(name, "HOME") ||
           !strcmp(name, "TMPDIR");
}

/* The environment: PATH, HOME, TMPDIR and SLUICE_*, then what the worker
 * lets through (--exec-env), then the task's env. No locale: a program
 * runs in the POSIX locale on every machine, so the same call gives the
 * same output wherever its key is computed (a node sets LANG if it wants
 * another). */
static int
make_env(const executor_t *ex, const job_t *j, const char *folder, strv_t *env,
         char *why, size_t size)
{
    const sl_program_options_t *o = ex->cfg->programs;
    char num[32];
    int rc = strv_add(env, pair("PATH", o->path));
    if (rc == 0)
        rc = strv_add(env, pair("HOME", folder));
    if (rc == 0)
        rc = strv_add(env, pair("TMPDIR", folder));
    if (rc == 0)
        rc = strv_add(env, pair("SLUICE_WORKSPACE", o->workspace));
    snprintf(num, sizeof num, "%llx", (unsigned long long)j->call.task_id);
    if (rc == 0)
        rc = strv_add(env, pair("SLUICE_TASK_ID", num));
    snprintf(num, sizeof num, "%u", j->call.attempt);
    if (rc == 0)
        rc = strv_add(env, pair("SLUICE_ATTEMPT", num));
    for (size_t i = 0; rc == 0 && i < o->env_pass_count; i++) {
        const char *value = getenv(o->env_pass[i]);
        if (value)
            rc = strv_add(env, pair(o->env_pass[i], value));
    }
    for (size_t i = 0; rc == 0 && i < sl_value_count(j->program.env); i++) {
        const char *name = sl_value_key_at(j->program.env, i);
        if (!sl_program_is_env_name(name) || is_reserved(name)) {
            snprintf(why, size, "env name '%s' may not be set by a task", name);
            return SL_EINVAL;
        }
        char *value = as_text(sl_value_at(j->program.env, i), "env value",
                              i + 1, why, size);
        if (!value)
            return SL_EINVAL;
        rc = strv_add(env, pair(name, value));
        free(value);
    }
    if (rc < 0)
        snprintf(why, size, "out of memory");
    return rc;
}

static int
make_argv(const job_t *j, strv_t *argv, char *why, size_t size)
{
    for (size_t i = 0; i < sl_value_count(j->program.argv); i++) {
        char *s = as_text(sl_value_at(j->program.argv, i), "cmd element", i + 1,
                          why, size);
        if (!s)
            return SL_EINVAL;
        if (strv_add(argv, s) < 0) {
            snprintf(why, size, "out of memory");
            return SL_ENOMEM;
        }
    }
    return 0;
}

/* ---- its working folder ------------------------------------------------- */

/* Links each input the task named (relative to the workspace) into the
 * working folder at the same relative path, so that the program finds
 * what it declared where it named it. */
static int
link_inputs(const executor_t *ex, const job_t *j, const char *folder)
{
    char link[4096], target[4096];
    for (size_t i = 0; i < j->inputs.root_count; i++) {
        char name[4096];
        const char *root = j->inputs.roots[i];
        while (!strncmp(root, "./", 2))
            root += 2; /* "./a.txt" links as "a.txt" */
        snprintf(name, sizeof name, "%s", root);
        for (size_t n = strlen(name); n > 1 && name[n - 1] == '/';)
            name[--n] = '\0'; /* "data/" links as "data" */
        if (!sl_program_is_inside(name))
            continue; /* absolute: the program reads it where it is */
        int a = snprintf(link, sizeof link, "%s/%s", folder, name);
        int b = snprintf(target, sizeof target, "%s/%s",
                         ex->cfg->programs->workspace, name);
        if (a < 0 || b < 0 || (size_t)a >= sizeof link ||
            (size_t)b >= sizeof target || sl_dirs_make(link, true) < 0 ||
            (symlink(target, link) < 0 && errno != EEXIST))
            return -1;
    }
    return 0;
}

/* ---- reading its output ------------------------------------------------- */

/* An int if text is one decimal integer in int64's range (an optional
 * '-', digits, no leading zero, then only white space), else NULL: what
 * the JSON parser would make of it, without the parser. */
static sl_value_t *
plain_int(const char *text)
{
    const char *digits = text + (*text == '-');
    size_t n = strspn(digits, "0123456789");
    if (n == 0 || n > 18 || (n > 1 && digits[0] == '0') ||
        digits[n + strspn(digits + n, " \t\r\n")] != '\0')
        return NULL;
    return sl_value_new_int(strtoll(text, NULL, 10));
}

/* Standard output as the node asked: JSON, text or bytes. */
static sl_value_t *
read_output(const job_t *j, const sl_buf_t *out, char *why, size_t size)
{
    sl_value_t *v = NULL;
    sl_error_t err = {0};
    const char *text = out->data ? out->data : "";
    switch (j->program.output) {
    case SL_OUTPUT_BYTES: return sl_value_new_bytes(text, out->size);
    case SL_OUTPUT_TEXT:
        if (sl_value_is_utf8(text, out->size))
            return sl_value_new_string_len(text, out->size);
        snprintf(why, size,
                 "its output is not UTF-8 text (stdout: bytes takes any "
                 "output)");
        return NULL;
    case SL_OUTPUT_JSON: break;
    }
    size_t start = strspn(text, " \t\r\n");
    if (start == out->size) {
        snprintf(why, size,
                 "it printed nothing, and stdout: json wants one JSON value "
                 "(stdout: text or bytes takes any output)");
        return NULL;
    }
    if ((v = plain_int(text + start)))
        return v; /* most programs that print a number: no parser */
    if (strlen(text) != out->size ||
        sl_flow_parse_value(text + start, &v, &err) < 0) {
        snprintf(why, size,
                 "its output is not JSON (%s); stdout: text or bytes takes "
                 "any output",
                 strlen(text) != out->size ? "a NUL byte" : err.msg);
        return NULL;
    }
    return v;
}

/* ---- running it --------------------------------------------------------- */

/* The failure for how the program ended, with the tail of its standard
 * error. */
static void
fail_ended(job_t *j, const sl_launch_result_t *r, uint64_t timeout_ms,
           size_t max_stdout)
{
    char tail[SL_STDERR_TAIL_BYTES + 64];
    const char *program = sl_program_name(j->call.args);
    sl_launch_err_line(r, tail, sizeof tail);
    const char *sep = *tail ? ": " : "";
    switch (r->end) {
    case SL_LAUNCH_EXITED:
        sl_batch_fail(j, "program '%s' exited with status %d%s%s", program,
                      r->status, sep, tail);
        break;
    case SL_LAUNCH_SIGNALLED:
        sl_batch_fail(j, "program '%s' was killed by signal %d (%s)%s%s",
                      program, r->status, strsignal(r->status), sep, tail);
        j->outcome.failure = SL_FAIL_CRASH;
        break;
    case SL_LAUNCH_TIMEOUT:
        sl_batch_fail(j,
                      "timeout: program '%s' still running after %llu ms, "
                      "its process group killed%s%s",
                      program, (unsigned long long)timeout_ms, sep, tail);
        j->outcome.failure = SL_FAIL_TIMEOUT;
        break;
    case SL_LAUNCH_CANCELLED:
        sl_batch_fail(j,
                      "cancelled: program '%s' and its process group "
                      "killed",
                      program);
        j->outcome.failure = SL_FAIL_CANCELLED;
        break;
    case SL_LAUNCH_TOO_MUCH:
        sl_batch_fail(j,
                      "program '%s' wrote more than %zu bytes to standard "
                      "output (the worker's --max-stdout): killed, nothing "
                      "kept",
                      program, max_stdout);
        break;
    case SL_LAUNCH_NOT_STARTED:
        sl_batch_fail(j, "program '%s': %s", program, r->error);
        break;
    }
}

/* The files the program wrote (its outputs), delivered into the
 * workspace and, if its result is to be cached, stored as blobs. A file
 * it did not write fails the task; one that cannot be stored only keeps
 * its entry out of the cache, saying why. */
static int
take_outputs(executor_t *ex, job_t *j, const char *folder)
{
    const sl_program_options_t *o = ex->cfg->programs;
    sl_error_t err = {0};
    const char *program = sl_program_name(j->call.args);
    if (sl_outputs_collect(j->program.outputs, folder, &j->outputs, &err) < 0 ||
        sl_outputs_deliver(&j->outputs, folder, o->workspace, &err) < 0) {
        sl_batch_fail(j, "program '%s': %s", program, err.msg);
        return SL_EINVAL;
    }
    bool is_cached = j->slot && j->slot->cache && j->key[0] &&
                     j->outcome.cache != SL_CACHE_OUTCOME_ERROR;
    sl_blob_store_t store = {is_cached ? j->slot->cache : NULL,
                             j->call.cache_namespace, o->blob_dir};
    if (is_cached && sl_outputs_store(&j->outputs, folder, &store,
                                      j->call.ttl_ms, &err) < 0) {
        char why[600];
        snprintf(why, sizeof why, "%s: not cached", err.msg);
        sl_batch_cache_failed(j, why);
        j->is_unstorable = true;
    }
    return 0;
}

/* A failed attempt keeps the end of what it wrote, for `sluice logs`. */
static void
keep_logs(job_t *j, const sl_launch_result_t *r)
{
    size_t skip =
        r->out.size > SL_LOG_TAIL_BYTES ? r->out.size - SL_LOG_TAIL_BYTES : 0;
    sl_buf_append(&j->log_out, r->out.data ? r->out.data + skip : "",
                  r->out.size - skip);
    sl_buf_append(&j->log_err, r->err_tail, r->err_tail_size);
}

/* Runs the program in folder; j's outcome says how it went. */
static void
run_in(executor_t *ex, job_t *j, const char *folder)
{
    const sl_program_options_t *o = ex->cfg->programs;
    strv_t argv = {0}, env = {0};
    char why[400] = "";
    char *input = NULL;
    sl_launch_result_t r = {0};
    if (make_argv(j, &argv, why, sizeof why) < 0 ||
        make_env(ex, j, folder, &env, why, sizeof why) < 0 ||
        link_inputs(ex, j, folder) < 0 ||
        !(input = sl_value_to_json(j->program.input))) {
        sl_batch_fail(j, "program '%s': %s", sl_program_name(j->call.args),
                      *why ? why : "cannot link its inputs into its folder");
        goto out;
    }
    size_t input_size = strlen(input);
    input[input_size++] = '\n'; /* the NUL: one line of JSON */
    sl_launch_t s = {j->program_path,
                     argv.items,
                     env.items,
                     folder,
                     input,
                     input_size,
                     j->call.timeout_ms,
                     o->max_stdout_bytes,
                     ex->cfg->is_isolated ? &ex->cfg->limits : NULL,
                     &ex->ctx,
                     sl_workdir_pid_fd(ex->workdir)};
    sl_launch_run(&s, &r);
    if (r.end != SL_LAUNCH_EXITED || r.status != 0) {
        fail_ended(j, &r, j->call.timeout_ms, o->max_stdout_bytes);
        keep_logs(j, &r);
        goto out;
    }
    j->value = read_output(j, &r.out, why, sizeof why);
    if (!j->value) {
        sl_batch_fail(j, "program '%s': %s", sl_program_name(j->call.args),
                      *why ? why : "out of memory");
        goto out;
    }
    if (j->program.outputs && take_outputs(ex, j, folder) < 0) {
        sl_value_destroy(&j->value);
        goto out;
    }
    j->outcome.is_ok = true;
out:
    sl_launch_result_fini(&r);
    free(input);
    strv_fini(&argv);
    strv_fini(&env);
}

void
sl_batch_run_program(executor_t *ex, job_t *j)
{
    sl_error_t err = {0};
    uint64_t start = sl_batch_now_us();
    if (!ex->workdir &&
        !(ex->workdir = sl_workdir_new(ex->cfg->programs->work_dir, &err))) {
        sl_batch_fail(j, "program task: %s", err.msg);
        return;
    }
    run_in(ex, j, sl_workdir_path(ex->workdir));
    if (sl_workdir_clear(ex->workdir, &err) < 0) {
        sl_log(SL_LOG_WARN, "executor", "%s: a new folder for the next",
               err.msg);
        sl_workdir_destroy(&ex->workdir); /* the next program makes one */
    }
    j->outcome.duration_us = sl_batch_now_us() - start;
}
