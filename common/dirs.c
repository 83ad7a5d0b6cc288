/* common/dirs.c: mkdir -p (dirs.h). Any thread; no state. */
#include "dirs.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static int
make_one(const char *path)
{
    return mkdir(path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

zlistx_t *
sl_dirs_list(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return NULL;
    zlistx_t *names = zlistx_new();
    if (names) {
        zlistx_set_destructor(names, (zlistx_destructor_fn *)zstr_free);
        zlistx_set_comparator(names, (zlistx_comparator_fn *)strcmp);
    }
    for (struct dirent *e; names && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            !zlistx_add_end(names, strdup(e->d_name)))
            zlistx_destroy(&names);
    closedir(d);
    if (names)
        zlistx_sort(names);
    else
        errno = ENOMEM;
    return names;
}

void
sl_dirs_state(char *out, size_t size)
{
    const char *dir = getenv("SLUICE_STATE_DIR");
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (dir && *dir)
        snprintf(out, size, "%s", dir);
    else if (xdg && *xdg)
        snprintf(out, size, "%s/sluice", xdg);
    else
        snprintf(out, size, "%s/.local/state/sluice", home ? home : ".");
}

int
sl_dirs_make(const char *path, bool is_parents_only)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (make_one(buf) < 0)
            return -1;
        *p = '/';
    }
    return is_parents_only ? 0 : make_one(buf);
}
