/* worker/plugin.c: loading task plugins (.so files exporting
 * sluice_plugin()). Called before the executors start. A loaded library is
 * never unloaded: its tasks may run until the process ends. */
#include "registry.h"

#include <dlfcn.h>

int
sl_registry_load_plugin(sl_registry_t *reg, const char *path, sl_error_t *err)
{
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return sl_error_set(err, SL_ENOTFOUND, "plugin %s: %s", path,
                            dlerror());
    const sl_plugin_t *(*entry)(void);
    *(void **)&entry = dlsym(lib, "sluice_plugin");
    if (!entry)
        return sl_error_set(err, SL_EINVAL,
                            "plugin %s: no sluice_plugin() (use SL_PLUGIN from "
                            "<sluice/task.h>)",
                            path);
    const sl_plugin_t *plugin = entry();
    if (!plugin || plugin->abi != SL_TASK_ABI)
        return sl_error_set(err, SL_EINVAL,
                            "plugin %s: task ABI %u, this worker takes %d",
                            path, plugin ? plugin->abi : 0, SL_TASK_ABI);
    for (size_t i = 0; i < plugin->count; i++) {
        int rc = sl_registry_add(reg, &plugin->tasks[i], err);
        if (rc < 0) {
            sl_error_prefix(err, "plugin %s", path);
            return rc;
        }
    }
    return 0;
}
