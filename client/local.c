/* client/local.c: the in-process cluster behind `sluice run --local`. Made
 * and stopped by the CLI's main thread. */
#include "local.h"

#include "broker.h"
#include "cache.h"
#include "worker.h"

#include <sluice/client.h>

#include <czmq.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LOCAL_WORKERS 256
/* How long a start waits for the broker to know its workers. */
#define READY_WAIT_MS 5000

struct sl_local {
    sl_broker_t *broker;   /* owned */
    sl_worker_t **workers; /* worker_count, owned */
    uint32_t worker_count;
    char front[64];  /* inproc endpoint for clients */
    char back[64];   /* inproc endpoint for workers */
    char *cache_url; /* owned */
    char *blob_dir;  /* outputs over 1 MiB: beside the embedded cache,
                        owned; NULL with another cache */
};

/* Waits (up to READY_WAIT_MS) until the broker knows all n workers: a
 * flow submitted before their hellos arrive would say its tasks wait for
 * a worker. */
static void
wait_for_workers(const sl_local_t *l, uint32_t n)
{
    sl_client_t *c = sl_client_new(l->front, NULL);
    int64_t deadline = zclock_mono() + READY_WAIT_MS;
    while (c && zclock_mono() < deadline) {
        sl_value_t *status = NULL;
        size_t known = 0;
        if (sl_client_status(c, NULL, READY_WAIT_MS, &status, NULL) == 0)
            known = sl_value_count(sl_value_lookup(status, "workers"));
        sl_value_destroy(&status);
        if (known >= n)
            break;
        zclock_sleep(2);
    }
    sl_client_destroy(&c);
}

sl_local_t *
sl_local_start(const sl_local_options_t *opt, sl_error_t *err)
{
    sl_local_t *l = calloc(1, sizeof *l);
    uint32_t n = opt->workers ? opt->workers : 2;
    if (n > MAX_LOCAL_WORKERS) {
        sl_error_set(err, SL_EINVAL, "--workers %u: at most %d", n,
                     MAX_LOCAL_WORKERS);
        free(l);
        return NULL;
    }
    if (!l || !(l->workers = calloc(n, sizeof *l->workers)) ||
        !(l->cache_url = opt->cache_url ? strdup(opt->cache_url)
                                        : sl_cache_default_url())) {
        sl_error_set(err, SL_ENOMEM,
                     "out of memory (or no $HOME for the default cache: set "
                     "SLUICE_CACHE_DIR)");
        sl_local_stop(&l);
        return NULL;
    }
    char *embedded = sl_cache_default_url();
    if (embedded && !strncmp(embedded, "lmdb://", 7) &&
        (l->blob_dir = malloc(strlen(embedded) + 8)))
        sprintf(l->blob_dir, "%s/blobs", embedded + 7);
    free(embedded);
    snprintf(l->front, sizeof l->front, "inproc://sluice-clients-%d",
             (int)getpid());
    snprintf(l->back, sizeof l->back, "inproc://sluice-workers-%d",
             (int)getpid());
    static const char *const any[] = {"*"};
    sl_broker_options_t bopt = {l->front, l->back, 2, 100};
    l->broker = sl_broker_new(&bopt, err);
    for (uint32_t i = 0; l->broker && i < n; i++) {
        char id[64];
        snprintf(id, sizeof id, "local-%d-%u", (int)getpid(), i + 1);
        sl_worker_options_t wopt = {
            .endpoint = l->back,
            .id = id,
            .slots = opt->slots ? opt->slots : 2,
            .cache_url = l->cache_url, /* the operator's choice wins */
            .plugins = opt->plugins,
            .plugin_count = opt->plugin_count,
            .blob_dir = l->blob_dir,
            .exec_rules = opt->exec_rule_count ? opt->exec_rules : any,
            .exec_rule_count = opt->exec_rule_count ? opt->exec_rule_count : 1,
            .http_allow = opt->http_allow,
            .http_allow_count = opt->http_allow_count,
        };
        if (!(l->workers[i] = sl_worker_new(&wopt, err)))
            break;
        l->worker_count++;
    }
    if (!l->broker || l->worker_count < n)
        sl_local_stop(&l);
    else
        wait_for_workers(l, n);
    return l;
}

const char *
sl_local_endpoint(const sl_local_t *l)
{
    return l->front;
}

const char *
sl_local_cache_url(const sl_local_t *l)
{
    return l->cache_url;
}

bool
sl_local_serves(const sl_local_t *l, const char *name, uint32_t version)
{
    for (uint32_t i = 0; i < l->worker_count; i++)
        if (sl_worker_serves(l->workers[i], name, version))
            return true;
    return false;
}

void
sl_local_stop(sl_local_t **p)
{
    if (!p || !*p)
        return;
    sl_local_t *l = *p;
    for (uint32_t i = 0; i < l->worker_count; i++)
        sl_worker_destroy(&l->workers[i]);
    sl_broker_destroy(&l->broker);
    free(l->workers);
    free(l->cache_url);
    free(l->blob_dir);
    free(l);
    *p = NULL;
}
