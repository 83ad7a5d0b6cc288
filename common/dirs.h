/* common/dirs.h: making folders, as `mkdir -p` does, for caches, journals
 * and key files. Any thread. */
#ifndef SL_DIRS_H
#define SL_DIRS_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

/* Makes each folder of path that is missing (mode 0700): every one above
 * its last component, and the last too unless is_parents_only. 0, or -1
 * with errno set (ENAMETOOLONG past 4 KiB). */
int sl_dirs_make(const char *path, bool is_parents_only);

/* The names in folder path, sorted by their bytes, without "." and "..",
 * as a zlistx of strings the caller destroys; NULL, with errno set, if
 * the folder cannot be read (or memory runs out). */
zlistx_t *sl_dirs_list(const char *path);

/* The folder sluice keeps state in (a broker's journal, the keys of a
 * flow's last runs): $SLUICE_STATE_DIR, else $XDG_STATE_HOME/sluice, else
 * ~/.local/state/sluice, into out (size bytes). Made by its users. */
void sl_dirs_state(char *out, size_t size);

#endif
