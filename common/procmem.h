/* common/procmem.h: this process's memory as the kernel counts it, for
 * `sluice status` and `sluice bench` (Linux: /proc/self/status). */
#ifndef SL_PROCMEM_H
#define SL_PROCMEM_H

#include <stdint.h>

/* Resident memory now and its peak since the process started, in bytes.
 * Returns 0, or SL_EIO (both set to 0) where /proc cannot be read. */
int sl_procmem_read(uint64_t *rss_bytes, uint64_t *peak_rss_bytes);

#endif
