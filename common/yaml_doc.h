/* common/yaml_doc.h: reading a loaded YAML document (libyaml) into sluice
 * values, for the flow parser: positions, typed scalars, bounded
 * collections, and errors that name file, line and column. Shared by
 * yaml_doc.c and flow_yaml.c only. */
#ifndef SL_YAML_DOC_H
#define SL_YAML_DOC_H

#include "flow.h"

#include <yaml.h>

/* Nodes a document may be read through (aliases count each time). */
#define SL_YAML_VISIT_BUDGET (4u * SL_VALUE_MAX_NODES)

/* What libyaml's document drops and its event stream tells: the plain
 * scalars written with a tag of their own ("!!str 10" or "! 10", both the
 * string "10"; the loader tags them as it tags a bare 10), by the byte
 * offset where each starts, ascending. */
typedef struct {
    size_t *starts;
    size_t count, cap;
} sl_yaml_tagged_t;

typedef struct {
    yaml_document_t *doc;           /* the loaded document */
    const sl_yaml_tagged_t *tagged; /* its tagged plain scalars */
    sl_flow_t *flow;    /* being filled (names the file in errors) */
    sl_error_t *err;    /* the first error */
    size_t visits_left; /* nodes that may still be visited */
} parse_t;

/* Where node n starts (1-based). */
sl_pos_t sl_yaml_pos(const yaml_node_t *n);

/* Sets p->err to "FILE:LINE:COL: message" at n; returns SL_EINVAL. */
int sl_yaml_fail(parse_t *p, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The node of p's document with this index. */
yaml_node_t *sl_yaml_node(parse_t *p, int index);

/* A scalar node's text, or NULL for a collection. */
const char *sl_yaml_scalar(const yaml_node_t *n);

/* Whether a scalar was written without quotes (so 1 is an int). */
bool sl_yaml_is_plain(const yaml_node_t *n);

/* The types of YAML 1.2's core schema (docs/FLOWS.md, "The YAML
 * dialect"). */
typedef enum {
    SL_YAML_NULL,
    SL_YAML_BOOL,
    SL_YAML_INT,
    SL_YAML_FLOAT,
    SL_YAML_STR
} sl_yaml_type_t;

/* A scalar's type: plain and untagged, by the core schema's patterns;
 * quoted or tagged !!str or !, a string; tagged !!null, !!bool, !!int or
 * !!float, that type. SL_EINVAL with p->err set for any other tag, or a
 * text its tag's type does not take. */
int sl_yaml_type(parse_t *p, const yaml_node_t *n, sl_yaml_type_t *out);

/* n as a value at depth (1 at the top): scalars typed as YAML 1.2's core
 * schema, collections within the depth and visit caps. 0, or an error
 * code with p->err set; *out is NULL on error. */
int sl_yaml_value(parse_t *p, const yaml_node_t *n, size_t depth,
                  sl_value_t **out);

/* Typed options: each says "WHAT must be ..." at n when n is not one. */
int sl_yaml_want_string(parse_t *p, const yaml_node_t *n, const char *what,
                        const char **out);
int sl_yaml_want_bool(parse_t *p, const yaml_node_t *n, const char *what,
                      bool *out);
int sl_yaml_want_int(parse_t *p, const yaml_node_t *n, const char *what,
                     long long min, long long max, long long *out);
/* A duration; is_ttl: "forever" allowed and zero refused. */
int sl_yaml_want_duration(parse_t *p, const yaml_node_t *n, const char *what,
                          bool is_ttl, int64_t *ms);
/* A mapping whose keys are all strings and all different. */
int sl_yaml_want_mapping(parse_t *p, const yaml_node_t *n, const char *what);

/* The parts of a program node (flow_program.c); NULL: not given. */
typedef struct sl_yaml_program {
    const yaml_node_t *cmd;         /* [program, argument, ...] */
    const yaml_node_t *sh;          /* a shell line */
    const yaml_node_t *args;        /* what goes to its standard input */
    const yaml_node_t *stdout_mode; /* json, text or bytes */
    const yaml_node_t *env;         /* {NAME: value} */
    const yaml_node_t *outputs;     /* [path, ...] it writes */
} sl_yaml_program_t;

/* The arguments of exec@1 for a program node (cmd or sh set). 0, or an
 * error code with p->err set. */
int sl_yaml_program(parse_t *p, const char *name, const sl_yaml_program_t *prog,
                    sl_value_t **out);

/* Walks the text's event stream: stops at the first collection nested
 * deeper than the flow allows, and notes the tagged plain scalars in
 * *tagged (empty first; sl_yaml_tagged_free after). 0, SL_EINVAL naming
 * where, SL_ENOMEM, or 1 if the text is not YAML (the loader then says
 * why). */
int sl_yaml_prescan(const char *text, size_t size, const char *file,
                    sl_yaml_tagged_t *tagged, sl_error_t *err);
void sl_yaml_tagged_free(sl_yaml_tagged_t *tagged);

#endif
