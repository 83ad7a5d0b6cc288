/* worker/registry.h: the tasks a worker can run, by name and version.
 * Filled before the executors start, read-only afterwards, so executor
 * threads may read it without locks. */
#ifndef SL_REGISTRY_H
#define SL_REGISTRY_H

#include <sluice/task.h>

#include "error.h"

typedef struct sl_registry sl_registry_t;

sl_registry_t *sl_registry_new(void);
void sl_registry_destroy(sl_registry_t **p);

/* Adds def (copied; its strings must outlive the registry). SL_EEXIST if
 * name@version is there already, SL_EINVAL for a bad name or version 0. */
int sl_registry_add(sl_registry_t *reg, const sl_task_def_t *def,
                    sl_error_t *err);

/* name@version, or with version 0 the highest version of name; NULL if
 * there is none. */
const sl_task_def_t *sl_registry_find(const sl_registry_t *reg,
                                      const char *name, uint32_t version);

size_t sl_registry_count(const sl_registry_t *reg);
const sl_task_def_t *sl_registry_at(const sl_registry_t *reg, size_t i);
/* The i of sl_registry_at for a definition sl_registry_find gave. */
size_t sl_registry_index(const sl_registry_t *reg, const sl_task_def_t *def);

/* Loads a plugin .so and adds its tasks. The library stays loaded for the
 * life of the process. */
int sl_registry_load_plugin(sl_registry_t *reg, const char *path,
                            sl_error_t *err);

/* Adds the built-in tasks (add, mul, sum, concat, echo, sleep_ms, spin_us,
 * fail). */
int sl_builtins_register(sl_registry_t *reg, sl_error_t *err);

/* Adds exec@1, the program task (a worker started with --exec rules). */
int sl_builtins_register_exec(sl_registry_t *reg, sl_error_t *err);

#endif
