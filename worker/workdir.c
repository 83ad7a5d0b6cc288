/* worker/workdir.c: executors' working folders (workdir.h). An executor
 * thread owns its sl_workdir_t; the worker sweeps as it starts. Only ever
 * removes what is under root and named as a worker's folder. Emptying a
 * folder costs a directory read when the program left nothing: no
 * mkdir and rmdir per attempt (on ext4 they took a quarter of a trivial
 * program task's time). */
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp */
#include "workdir.h"

#include "dirs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sl_workdir {
    char path[4096]; /* root/PID.XXXXXX */
    int pid_fd;      /* path.pid, open for writing */
};

int
sl_workdir_prepare(const char *root, sl_error_t *err)
{
    if (root[0] != '/')
        return sl_error_set(err, SL_EINVAL,
                            "--work-dir '%s' must be an absolute path", root);
    if (sl_dirs_make(root, false) < 0 || access(root, W_OK | X_OK) < 0)
        return sl_error_set(err, SL_EIO, "--work-dir %s: %s", root,
                            strerror(errno));
    return 0;
}

sl_workdir_t *
sl_workdir_new(const char *root, sl_error_t *err)
{
    sl_workdir_t *wd = calloc(1, sizeof *wd);
    char pid_path[4200];
    if (!wd) {
        sl_error_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    wd->pid_fd = -1;
    int n = snprintf(wd->path, sizeof wd->path, "%s/%ld.XXXXXX", root,
                     (long)getpid());
    if (n < 0 || (size_t)n >= sizeof wd->path || !mkdtemp(wd->path)) {
        sl_error_set(err, SL_EIO, "cannot make a working folder in %s: %s",
                     root, strerror(errno));
        free(wd);
        return NULL;
    }
    snprintf(pid_path, sizeof pid_path, "%s.pid", wd->path);
    wd->pid_fd = open(pid_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (wd->pid_fd < 0) {
        sl_error_set(err, SL_EIO, "cannot make %s: %s", pid_path,
                     strerror(errno));
        sl_workdir_destroy(&wd);
    }
    return wd;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    if (ftw->level == 0)
        return 0; /* the folder itself: the caller decides */
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* Removes everything in folder, never following a symlink. */
static void
remove_contents(const char *folder)
{
    chmod(folder, 0700); /* a program may have taken its rights away */
    nftw(folder, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
sl_workdir_destroy(sl_workdir_t **p)
{
    if (!p || !*p)
        return;
    sl_workdir_t *wd = *p;
    char pid_path[4200];
    remove_contents(wd->path);
    rmdir(wd->path);
    snprintf(pid_path, sizeof pid_path, "%s.pid", wd->path);
    if (wd->pid_fd >= 0) {
        close(wd->pid_fd);
        unlink(pid_path);
    }
    free(wd);
    *p = NULL;
}

const char *
sl_workdir_path(const sl_workdir_t *wd)
{
    return wd->path;
}

int
sl_workdir_pid_fd(const sl_workdir_t *wd)
{
    return wd->pid_fd;
}

/* Whether folder holds nothing. */
static bool
is_empty(const char *folder)
{
    DIR *d = opendir(folder);
    struct dirent *e;
    bool is_empty = d != NULL;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            is_empty = false;
            break;
        }
    if (d)
        closedir(d);
    return is_empty;
}

int
sl_workdir_clear(sl_workdir_t *wd, sl_error_t *err)
{
    struct stat st;
    bool is_intact = stat(wd->path, &st) == 0 && S_ISDIR(st.st_mode) &&
                     (st.st_mode & 07777) == 0700;
    if (is_intact && is_empty(wd->path))
        return 0;
    remove_contents(wd->path);
    if (mkdir(wd->path, 0700) < 0 && errno != EEXIST)
        return sl_error_set(err, SL_EIO, "working folder %s: %s", wd->path,
                            strerror(errno));
    if (!is_empty(wd->path))
        return sl_error_set(err, SL_EIO,
                            "working folder %s: cannot remove what the last "
                            "program left in it",
                            wd->path);
    return 0;
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
    bool is_read = f && fscanf(f, "%ld", &pgid) == 1 && pgid > 1;
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "/proc/%ld/cwd", pgid);
    ssize_t n = is_read ? readlink(path, cwd, sizeof cwd - 1) : -1;
    if (n > 0) {
        cwd[n] = '\0';
        if (!strcmp(cwd, folder))
            kill((pid_t)-pgid, SIGKILL);
    }
}

size_t
sl_workdir_sweep(const char *root)
{
    DIR *d = opendir(root);
    size_t removed = 0;
    char path[4096], pid_path[4200];
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        char *end = NULL;
        long pid = strtol(e->d_name, &end, 10);
        size_t len = strlen(e->d_name);
        if (pid <= 0 || !end || *end != '.' || pid == (long)getpid())
            continue; /* not a worker's folder, or ours */
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* its worker lives (or is another user's) */
        if (snprintf(path, sizeof path, "%s/%s", root, e->d_name) >=
            (int)sizeof path)
            continue;
        if (len > 4 && !strcmp(e->d_name + len - 4, ".pid")) {
            path[strlen(path) - 4] = '\0';
            if (access(path, F_OK) < 0) /* its folder is gone already */
                unlink(strcat(path, ".pid"));
            continue;
        }
        kill_left(path);
        remove_contents(path);
        rmdir(path);
        snprintf(pid_path, sizeof pid_path, "%s.pid", path);
        unlink(pid_path);
        removed++;
    }
    closedir(d);
    return removed;
}
