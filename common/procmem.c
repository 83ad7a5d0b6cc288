/* common/procmem.c: reads VmRSS and VmHWM from /proc/self/status. Any
 * thread may call it. */
#include "procmem.h"

#include "error.h"

#include <stdio.h>
#include <string.h>

int
sl_procmem_read(uint64_t *rss_bytes, uint64_t *peak_rss_bytes)
{
    *rss_bytes = *peak_rss_bytes = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return SL_EIO;
    char line[256];
    unsigned long long kib;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "VmRSS: %llu kB", &kib) == 1)
            *rss_bytes = (uint64_t)kib * 1024;
        else if (sscanf(line, "VmHWM: %llu kB", &kib) == 1)
            *peak_rss_bytes = (uint64_t)kib * 1024;
    }
    fclose(f);
    return *rss_bytes ? 0 : SL_EIO;
}
