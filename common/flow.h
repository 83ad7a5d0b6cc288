/* common/flow.h: the flow model shared by the parser, the client and the
 * broker. Public calls are in <sluice/flow.h>; this adds the fields the
 * broker reads and the reference rules. */
#ifndef SL_FLOW_H
#define SL_FLOW_H

#include <sluice/flow.h>

#include "error.h"
#include "value.h"

#include <czmq.h>

#define SL_DEFAULT_NAMESPACE      "default"
#define SL_DEFAULT_TTL_MS         (7LL * 24 * 3600 * 1000) /* 7 days */
#define SL_DEFAULT_RETRY_DELAY_MS 1000

typedef struct sl_pos {
    uint32_t line;   /* 1-based; 0: unknown */
    uint32_t column; /* 1-based */
} sl_pos_t;

typedef struct sl_node {
    char *name;               /* unique in the flow, owned */
    char *task;               /* task name, owned */
    uint32_t version;         /* 0: whatever version a worker has */
    sl_value_t *args;         /* LIST template, owned */
    char **map_vars;          /* map_count variable names, owned */
    sl_value_t **map_sources; /* map_count sources, owned */
    size_t map_count;         /* 0: not mapped */
    sl_node_options_t opt;    /* opt.cache_key owned */
    sl_pos_t pos;             /* where the node starts */
    sl_pos_t args_pos;        /* where its args start */
    sl_pos_t map_pos;         /* where its map starts */
    sl_value_t *inputs;       /* LIST template of the paths, folders and
                                 globs it reads, owned; NULL: none */
    sl_pos_t inputs_pos;      /* where its inputs start */
} sl_node_t;

struct sl_flow {
    char *name;            /* owned */
    char *file;            /* file it came from, or "<flow>" */
    char *cache_url;       /* owned, NULL: the workers' */
    char *cache_namespace; /* owned, never NULL */
    int64_t ttl_ms;        /* default TTL: >0, or -1 forever */
    sl_value_t *params;    /* MAP of defaults, owned */
    sl_node_t *nodes;      /* node_count nodes */
    size_t node_count;     /* nodes in use */
    size_t node_cap;       /* nodes allocated */
    zhashx_t *by_name;     /* node name -> index + 1, owned */
};

typedef enum {
    SL_REF_NONE, /* a literal */
    SL_REF_NAME, /* "$name": a node, or a map variable of the node */
    SL_REF_PARAM /* "$params.NAME" */
} sl_ref_kind_t;

/* What a template value refers to; *name (borrowed) is the node, variable
 * or parameter name. "$$x" is a literal: see sl_flow_literal. */
sl_ref_kind_t sl_flow_ref(const sl_value_t *v, const char **name);

/* The node called name, or NULL. */
const sl_node_t *sl_flow_find(const sl_flow_t *flow, const char *name);
ptrdiff_t sl_flow_index(const sl_flow_t *flow, const char *name);

/* Whether node has a map variable called name. */
bool sl_flow_is_map_var(const sl_node_t *node, const char *name);

/* Calls visit for each node index that node depends on (references in args
 * and map sources), once per reference. */
typedef void (*sl_flow_dep_fn)(size_t dep, void *ctx);
void sl_flow_deps(const sl_flow_t *flow, size_t node, sl_flow_dep_fn visit,
                  void *ctx);

/* A copy of template with references resolved by resolve (which returns a
 * new value, or NULL to fail) and "$$x" turned into "$x". NULL on failure.*/
typedef sl_value_t *(*sl_flow_resolve_fn)(sl_ref_kind_t kind, const char *name,
                                          void *ctx);
sl_value_t *sl_flow_instantiate(const sl_value_t *tmpl,
                                sl_flow_resolve_fn resolve, void *ctx);

/* Whether s is a name: a letter or _, then letters, digits, _ and - (and .
 * when allow_dots), at most SL_NAME_MAX_BYTES. */
bool sl_flow_is_name(const char *s, bool allow_dots);

/* Sets the flow's file name (copied), used in error messages. */
int sl_flow_set_file(sl_flow_t *flow, const char *file);

/* The node most recently added, for the parser to fill in positions. */
sl_node_t *sl_flow_last(sl_flow_t *flow);

/* Parses text as one YAML value ("10", "1.5", "true", "[1, 2]", "a b"),
 * with the same rules as values in flow files. */
int sl_flow_parse_value(const char *text, sl_value_t **out, sl_error_t *err);

/* A YAML file (one document, the flow files' dialect) as a value, for
 * `sluice load`'s scenarios; errors say "FILE:LINE:COL: ...". */
int sl_yaml_load_value(const char *path, sl_value_t **out, sl_error_t *err);

/* Formats "file:line:col: " for pos into buf. */
const char *sl_flow_where(const sl_flow_t *flow, sl_pos_t pos, char *buf,
                          size_t size);

#endif
