/* worker/workdir.h: the working folders of program attempts, one each,
 * under the worker's --work-dir: made before the program starts, removed
 * after it, and those a killed worker left swept when a worker starts. */
#ifndef SL_WORKDIR_H
#define SL_WORKDIR_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

/* Makes root (and its parents) if need be, owner-only. 0, or an error
 * naming it. */
int sl_workdir_prepare(const char *root, sl_error_t *err);

/* Makes the folder of one attempt, root/PID.TASK.ATTEMPT, into out
 * (size bytes). 0, or an error naming it. */
int sl_workdir_make(const char *root, uint64_t task_id, uint32_t attempt,
                    char *out, size_t size, sl_error_t *err);

/* Removes folder and all in it; a symlink in it is removed, never
 * followed. */
void sl_workdir_remove(const char *folder);

/* Removes FOLDER.pid, where the launch noted its program's process group. */
void sl_workdir_forget(const char *folder);

/* Removes the attempt folders under root whose worker process (the PID
 * in its name) is gone: what a killed worker left. A program still
 * running in one (its FOLDER.pid names its group, whose leader's current
 * folder is that folder) is killed first, with its group. Returns how many
 * folders it removed. */
size_t sl_workdir_sweep(const char *root);

#endif
