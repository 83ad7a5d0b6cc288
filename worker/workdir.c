/* worker/workdir.c: attempt folders (workdir.h). Called by executor
 * threads (make, remove) and by the worker as it starts (prepare, sweep).
 * Only ever removes what is under root and named as an attempt folder. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "workdir.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
sl_workdir_prepare(const char *root, sl_error_t *err)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s", root);
    if (n <= 0 || (size_t)n >= sizeof path || root[0] != '/')
        return sl_error_set(err, SL_EINVAL,
                            "--work-dir '%s' must be an absolute path", root);
    for (char *p = path + 1;; p++) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
            return sl_error_set(err, SL_EIO, "--work-dir %s: %s", path,
                                strerror(errno));
        if (!slash)
            break;
        *slash = '/';
        p = slash;
    }
    if (access(root, W_OK | X_OK) < 0)
        return sl_error_set(err, SL_EIO, "--work-dir %s: %s", root,
                            strerror(errno));
    return 0;
}

int
sl_workdir_make(const char *root, uint64_t task_id, uint32_t attempt, char *out,
                size_t size, sl_error_t *err)
{
    int n = snprintf(out, size, "%s/%ld.%llx.%u", root, (long)getpid(),
                     (unsigned long long)task_id, attempt);
    if (n < 0 || (size_t)n >= size)
        return sl_error_set(err, SL_EINVAL, "working folder path too long");
    if (mkdir(out, 0700) < 0 && errno == EEXIST) /* left by a lost try */
        sl_workdir_remove(out);
    if (mkdir(out, 0700) < 0 && errno != EEXIST)
        return sl_error_set(err, SL_EIO, "cannot make working folder %s: %s",
                            out, strerror(errno));
    return 0;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void
sl_workdir_remove(const char *folder)
{
    nftw(folder, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
sl_workdir_forget(const char *folder)
{
    char path[4200];
    snprintf(path, sizeof path, "%s.pid", folder);
    unlink(path);
}

/* Kills the process group noted in folder.pid if its leader still runs in
 * folder: a program a killed worker left. The folder check keeps a reused
 * process id from being killed. */
static void
kill_left(const char *folder)
{
    char path[4200], cwd[4096];
    long pgid = 0;
    snprintf(path, sizeof path, "%s.pid", folder);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    bool is_read = fscanf(f, "%ld", &pgid) == 1 && pgid > 1;
    fclose(f);
    snprintf(path, sizeof path, "/proc/%ld/cwd", pgid);
    ssize_t n = is_read ? readlink(path, cwd, sizeof cwd - 1) : -1;
    if (n > 0) {
        cwd[n] = '\0';
        if (!strcmp(cwd, folder))
            kill((pid_t)-pgid, SIGKILL);
    }
    sl_workdir_forget(folder);
}

size_t
sl_workdir_sweep(const char *root)
{
    DIR *d = opendir(root);
    size_t removed = 0;
    char path[4096];
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        char *end = NULL;
        long pid = strtol(e->d_name, &end, 10);
        if (pid <= 0 || !end || *end != '.' || pid == (long)getpid())
            continue; /* not an attempt folder, or ours */
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* its worker lives (or is another user's) */
        size_t len = strlen(e->d_name);
        if (len > 4 && !strcmp(e->d_name + len - 4, ".pid"))
            continue; /* its folder's, handled with it */
        if (snprintf(path, sizeof path, "%s/%s", root, e->d_name) >=
            (int)sizeof path)
            continue;
        kill_left(path);
        sl_workdir_remove(path);
        removed++;
    }
    closedir(d);
    return removed;
}
