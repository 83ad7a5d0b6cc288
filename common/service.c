/* common/service.c: shared by the main threads of sluice-broker,
 * sluice-worker and the sluice CLI. */
#include "service.h"

#include "log.h"

#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int
sl_service_log_level(const char *prog, const char *arg)
{
    int level = sl_log_level_parse(arg);
    if (level < 0) {
        fprintf(stderr,
                "%s: --log-level '%s': use error, warn, info or debug\n", prog,
                arg);
        return -1;
    }
    sl_log_set_level((sl_log_level_t)level);
    return 0;
}

int
sl_service_number(const char *prog, const char *flag, const char *text,
                  uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    /* strtoull takes leading white space and signs; the first byte must
     * be a digit (which also refuses an empty text) */
    if (*text < '0' || *text > '9' || *end || errno || v < min || v > max) {
        fprintf(stderr, "%s: %s '%s': give a whole number from %llu to %llu\n",
                prog, flag, text, (unsigned long long)min,
                (unsigned long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

int
sl_service_number32(const char *prog, const char *flag, const char *text,
                    uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (sl_service_number(prog, flag, text, min, max, &v) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static void
stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

void
sl_service_init(void)
{
    sigset_t set;
    stop_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    zsys_handler_set(NULL);
    zsys_init();
}

int
sl_service_wait(void)
{
    sigset_t set;
    int sig = 0;
    stop_signals(&set);
    while (sigwait(&set, &sig) != 0)
        ;
    return sig;
}

int
sl_service_wait_for(int timeout_ms)
{
    sigset_t set;
    struct timespec ts = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
    stop_signals(&set);
    int sig = sigtimedwait(&set, NULL, &ts);
    return sig > 0 ? sig : 0;
}
