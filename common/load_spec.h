/* common/load_spec.h: a load test's scenario (docs/LOAD.md): the
 * requests, weighted, with templates filled per request; the arrival
 * schedule; connections and timeouts. Read from the value `sluice load`
 * sends each worker (a scenario file's YAML, or its flags); checked whole
 * before anything is sent, with errors that name the field. Pure; once
 * read, any thread. */
#ifndef SL_LOAD_SPEC_H
#define SL_LOAD_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrival.h"
#include "buf.h"
#include "value.h"

#define SL_LOAD_MAX_REQUESTS        1000
#define SL_LOAD_MAX_VARS            64
#define SL_LOAD_MAX_HEADERS         64
#define SL_LOAD_MAX_STAGES          64
#define SL_LOAD_MAX_CONNECTIONS     100000
#define SL_LOAD_MAX_WEIGHT          1000000
#define SL_LOAD_DEFAULT_CONNECTIONS 64
#define SL_LOAD_DEFAULT_TIMEOUT_MS  10000

/* A piece of a template: literal text, or what a {{name}} stands for. */
enum { SL_LOAD_LITERAL = -1, SL_LOAD_SEQ = -2, SL_LOAD_WORKER = -3 };
typedef struct {
    const char *text; /* literal: into the template's text */
    size_t size;
    int var; /* SL_LOAD_*, or an index into the spec's vars */
} sl_load_part_t;

/* A string with {{seq}}, {{worker}} and {{VAR}} in it. */
typedef struct {
    char *text; /* as written, owned */
    sl_load_part_t *parts;
    size_t count;
} sl_load_tpl_t;

typedef struct {
    char *name;   /* owned: as given, else METHOD and URL */
    char *method; /* owned: GET unless given */
    sl_load_tpl_t url;
    char *origin; /* owned: scheme://host[:port], literal in every URL */
    sl_load_tpl_t *headers; /* "Name: value" each */
    size_t header_count;
    sl_load_tpl_t body; /* text NULL: no body */
    uint32_t weight;
    bool is_literal; /* nothing in it to fill: every request the same */
} sl_load_request_t;

/* A variable: an integer in [lo, hi], or one of a list's items. */
typedef struct {
    char *name;
    char **items; /* NULL: a range */
    size_t item_count;
    int64_t lo, hi;
} sl_load_var_t;

typedef struct {
    sl_load_request_t *requests;
    size_t request_count;
    uint64_t weight_total;
    sl_load_var_t *vars;
    size_t var_count;
    sl_arrival_t schedule;
    uint32_t connections; /* in all, over every share */
    uint64_t timeout_ms;  /* of one request */
    bool is_insecure;     /* TLS certificates not checked */
} sl_load_spec_t;

/* Reads v (docs/LOAD.md, "Scenario files") into *s; where names v in
 * errors (a file). SL_EINVAL naming the field and what is wrong; *s is
 * empty on error. */
int sl_load_spec_read(sl_load_spec_t *s, const sl_value_t *v, const char *where,
                      sl_error_t *err);

void sl_load_spec_fini(sl_load_spec_t *s);

/* The request sent as number k (from 0): picked by weight, the same k
 * always the same one. */
const sl_load_request_t *sl_load_pick(const sl_load_spec_t *s, uint64_t k);

/* Appends t filled for request k of share worker to out (NUL-ended).
 * 0 or SL_ENOMEM. */
int sl_load_fill(const sl_load_spec_t *s, const sl_load_tpl_t *t, uint64_t k,
                 uint32_t worker, sl_buf_t *out);

/* The origins (scheme://host[:port]) the scenario sends to, each once, in
 * order of first use: what it names, for the workers' --http-allow. */
size_t sl_load_origins(const sl_load_spec_t *s, const char **out, size_t max);

#endif
