/* broker/broker.h: sl_broker_t, the broker: takes flows from clients on one
 * ROUTER socket, hands their tasks to workers on another, streams progress
 * back. sluice-broker's main.c, `sluice run --local` and the tests all
 * start this same object. */
#ifndef SL_BROKER_H
#define SL_BROKER_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

#define SL_BROKER_FRONTEND "tcp://*:5555"
#define SL_BROKER_BACKEND  "tcp://*:5556"

typedef struct sl_broker sl_broker_t;

typedef struct sl_broker_options {
    const char *frontend;       /* clients connect here (SL_BROKER_FRONTEND) */
    const char *backend;        /* workers connect here (SL_BROKER_BACKEND) */
    uint32_t prefetch;          /* tasks a worker may hold beyond its slots */
    uint32_t finished_runs;     /* finished runs kept for status (100) */
    uint32_t heartbeat_ms;      /* heartbeat interval both ways (1000) */
    uint32_t liveness;          /* missed heartbeats before a worker is
                                   dead and its tasks are requeued (3) */
    const char *journal;        /* journal file; NULL: runs are not kept
                                   across a restart */
    const char *key_file;       /* the broker's CURVE key pair (.key);
                                   NULL: in the clear */
    const char *allow_clients;  /* folders of the .pub keys allowed on each */
    const char *allow_workers;  /* socket; both required with key_file */
    const char *allow_programs; /* folder of the .pub keys of the clients
                                   that may submit program tasks; NULL:
                                   every allowed client may */
    const char *http;           /* "[HOST:]PORT" of /metrics, /healthz and
                                   /readyz; NULL: none */
} sl_broker_options_t;

/* Binds both sockets and starts the broker thread. NULL, with err saying
 * which endpoint failed, if a socket cannot bind; nothing is left running. */
sl_broker_t *sl_broker_new(const sl_broker_options_t *opt, sl_error_t *err);

/* New submits are refused from now on ("the broker is stopping") and the
 * journal is synced; runs in progress go on. */
void sl_broker_stop_accepting(sl_broker_t *b);

/* Stops the broker thread and frees everything. NULL-safe; sets *p NULL. */
void sl_broker_destroy(sl_broker_t **p);

#endif
