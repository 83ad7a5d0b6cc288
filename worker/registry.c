/* worker/registry.c: the task table. Built by the thread that makes the
 * worker, then only read, by any executor thread. */
#include "registry.h"

#include "flow.h"

#include <stdlib.h>
#include <string.h>

struct sl_registry {
    sl_task_def_t *defs; /* count definitions, owned array */
    size_t count;        /* in use */
    size_t cap;          /* allocated */
};

sl_registry_t *
sl_registry_new(void)
{
    return calloc(1, sizeof(sl_registry_t));
}

void
sl_registry_destroy(sl_registry_t **p)
{
    if (p && *p) {
        free((*p)->defs);
        free(*p);
        *p = NULL;
    }
}

int
sl_registry_add(sl_registry_t *reg, const sl_task_def_t *def, sl_error_t *err)
{
    if (!def->name || !sl_flow_is_name(def->name, true) || def->version == 0 ||
        !def->fn)
        return sl_error_set(err, SL_EINVAL,
                            "task '%s@%u': needs a name, a version >= 1 and a "
                            "function",
                            def->name ? def->name : "", def->version);
    for (size_t i = 0; i < reg->count; i++)
        if (!strcmp(reg->defs[i].name, def->name) &&
            reg->defs[i].version == def->version)
            return sl_error_set(err, SL_EEXIST,
                                "task %s@%u is registered twice", def->name,
                                def->version);
    if (reg->count == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 16;
        sl_task_def_t *defs = realloc(reg->defs, cap * sizeof *defs);
        if (!defs)
            return sl_error_set(err, SL_ENOMEM, "out of memory");
        reg->defs = defs;
        reg->cap = cap;
    }
    reg->defs[reg->count++] = *def;
    return 0;
}

const sl_task_def_t *
sl_registry_find(const sl_registry_t *reg, const char *name, uint32_t version)
{
    const sl_task_def_t *best = NULL;
    for (size_t i = 0; i < reg->count; i++) {
        const sl_task_def_t *d = &reg->defs[i];
        if (strcmp(d->name, name) != 0)
            continue;
        if (d->version == version)
            return d;
        if (version == 0 && (!best || d->version > best->version))
            best = d;
    }
    return best;
}

size_t
sl_registry_count(const sl_registry_t *reg)
{
    return reg->count;
}

const sl_task_def_t *
sl_registry_at(const sl_registry_t *reg, size_t i)
{
    return i < reg->count ? &reg->defs[i] : NULL;
}

size_t
sl_registry_index(const sl_registry_t *reg, const sl_task_def_t *def)
{
    return (size_t)(def - reg->defs);
}
