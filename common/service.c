/* common/service.c: shared by the main threads of sluice-broker and
 * sluice-worker. */
#include "service.h"

#include "log.h"

#include <czmq.h>
#include <stdio.h>

int
sl_service_log_level(const char *prog, const char *arg)
{
    int level = sl_log_level_parse(arg);
    if (level < 0) {
        fprintf(stderr, "%s: --log-level '%s': use error, warn, info or "
                "debug\n", prog, arg);
        return -1;
    }
    sl_log_set_level((sl_log_level_t)level);
    return 0;
}

void
sl_service_wait(void)
{
    while (!zsys_interrupted)
        zclock_sleep(200); /* the handler interrupts the sleep */
}
