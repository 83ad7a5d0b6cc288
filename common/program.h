/* common/program.h: program tasks, as broker, worker and flow parser all
 * see them. A program task is a call of the task exec@1 whose arguments
 * are [argv, input, env, stdout] (docs/TASKS.md). A worker runs programs
 * only under its --exec rules; the broker routes by the same rules. Pure;
 * any thread. */
#ifndef SL_PROGRAM_H
#define SL_PROGRAM_H

#include "error.h"
#include "value.h"

#include <stdbool.h>
#include <stddef.h>

#define SL_PROGRAM_TASK    "exec"
#define SL_PROGRAM_VERSION 1
/* What `sh:` lines run under. */
#define SL_PROGRAM_SHELL "/bin/sh"
/* Where a worker looks bare program names up unless told otherwise. */
#define SL_PROGRAM_PATH "/usr/local/bin:/usr/bin:/bin"
/* A program's name or path is at most this many bytes. */
#define SL_PROGRAM_NAME_MAX_BYTES 255
/* Queue keys of program tasks: this prefix, then the program as written. */
#define SL_PROGRAM_QUEUE_PREFIX "exec:"

typedef enum {
    SL_OUTPUT_JSON, /* standard output parsed as one JSON value */
    SL_OUTPUT_TEXT, /* a string (UTF-8, trailing newline kept) */
    SL_OUTPUT_BYTES /* bytes, as they came */
} sl_program_output_t;

/* "json", "text" or "bytes"; -1 for anything else. */
int sl_program_output_parse(const char *s);

/* Whether s is an environment variable name: a letter or _, then
 * letters, digits and _. */
bool sl_program_is_env_name(const char *s);

/* The parts of exec@1's arguments, borrowed from args; 0, or SL_EINVAL
 * with err saying which part is wrong. argv is a non-empty list, input a
 * list, env a map, stdout one of the modes, and outputs (a fifth element,
 * when the node declares any) a list of relative paths. */
typedef struct sl_program_call {
    const sl_value_t *argv;     /* LIST: program, then its arguments */
    const sl_value_t *input;    /* LIST: JSON on its standard input */
    const sl_value_t *env;      /* MAP: NAME -> value */
    sl_program_output_t output; /* how its standard output is read */
    const sl_value_t *outputs;  /* LIST of paths it writes; NULL: none */
} sl_program_call_t;

/* Whether path is relative and stays inside its folder: no leading '/',
 * no "." or ".." part, no empty part. */
bool sl_program_is_inside(const char *path);
int sl_program_call_parse(const sl_value_t *args, sl_program_call_t *out,
                          sl_error_t *err);

/* The program of exec@1's arguments (argv[0], borrowed), or NULL when
 * the arguments are not a program call. */
const char *sl_program_name(const sl_value_t *args);

/* Whether program is a bare name ("wc": looked up in the worker's path)
 * or an absolute path; anything else (relative, "..") is refused, with
 * err saying why. */
int sl_program_check_name(const char *program, sl_error_t *err);

/* Whether rule allows program. "*" allows every program; a rule with a
 * '/' is a glob on the program's absolute path (resolved: where a bare
 * name was found; '*' does not cross a '/'); any other is a glob on a
 * bare name as written. */
bool sl_program_rule_allows(const char *rule, const char *program,
                            const char *resolved);

/* The first of rules[0..count) that may allow program on a worker that
 * looks bare names up in path (':'-separated), or NULL: what the broker
 * routes by. The worker checks again with the file it finds. */
const char *sl_program_rules_match(char *const *rules, size_t count,
                                   const char *path, const char *program);

#endif
