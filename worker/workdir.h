/* worker/workdir.h: where program attempts run. Each executor has a
 * working folder of its own under the worker's --work-dir, made at its
 * first program and removed when it stops; it is emptied after every
 * attempt, so each attempt starts in an empty folder that nothing else
 * uses. Beside it, FOLDER.pid holds the process group of the program
 * running in it, so that a worker starting on this machine can kill what
 * a killed worker left, and remove its folders. */
#ifndef SL_WORKDIR_H
#define SL_WORKDIR_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct sl_workdir sl_workdir_t;

/* Makes root (and its parents) if need be, owner-only. 0, or an error
 * naming it. */
int sl_workdir_prepare(const char *root, sl_error_t *err);

/* A new folder root/PID.XXXXXX (mode 0700) and its FOLDER.pid; NULL, with
 * err, if they cannot be made. One executor thread's. */
sl_workdir_t *sl_workdir_new(const char *root, sl_error_t *err);

/* Removes the folder with all in it, and its .pid. NULL-safe. */
void sl_workdir_destroy(sl_workdir_t **p);

/* The folder's path (borrowed). */
const char *sl_workdir_path(const sl_workdir_t *wd);

/* The open FOLDER.pid, which the launch writes the program's process
 * group into (launch.h). */
int sl_workdir_pid_fd(const sl_workdir_t *wd);

/* After an attempt: removes what it left in the folder (symlinks are
 * removed, never followed) and gives the folder back its mode. 0, or an
 * error naming what could not be removed. */
int sl_workdir_clear(sl_workdir_t *wd, sl_error_t *err);

/* Removes the folders under root whose worker process (the PID in the
 * name) is gone: what a killed worker left. A program still running in
 * one (its FOLDER.pid names its process group, whose leader's current
 * folder is that folder) is killed first, with its group. Returns how
 * many folders it removed. */
size_t sl_workdir_sweep(const char *root);

#endif
