/* broker/loop.h: the broker loop's state and the calls between the files
 * that handle it: broker.c (the actor, its sockets and timers), backend.c
 * (workers: hello, heartbeats, results, dispatch), frontend.c (clients:
 * submit, watch, cancel, and the news each run owes its followers) and
 * status.c (status replies and /metrics gauges). Everything here runs on
 * the one loop thread; nothing else includes this header. */
#ifndef SL_LOOP_H
#define SL_LOOP_H

#include "auth.h"
#include "broker.h"
#include "broker_metrics.h"
#include "envelope.h"
#include "http.h"
#include "run.h"
#include "runbook.h"
#include "scheduler.h"
#include "syncer.h"

#include <czmq.h>

/* Bad messages a peer may cause to be logged per heartbeat; the rest are
 * only counted (sluice_broker_bad_messages_total). */
#define SL_BAD_LOGS_PER_BEAT 5

typedef struct loop {
    const sl_broker_options_t *opt;   /* read-only */
    zsock_t *pipe;                    /* to the owner */
    zsock_t *front;                   /* ROUTER for clients */
    zsock_t *back;                    /* ROUTER for workers */
    zpoller_t *poller;                /* pipe, front, back, ... */
    sl_sched_t *sched;                /* queues and workers */
    sl_runbook_t *runbook;            /* every run, and the journal */
    zlistx_t *touched;                /* runs changed in this step, borrowed */
    bool is_stopping;                 /* SIGTERM: no new runs */
    int64_t started_ms;               /* monotonic time the loop started */
    sl_syncer_t *syncer;              /* syncs the journal off this thread */
    zlistx_t *unconfirmed;            /* runs whose Accepted waits for a
                                         sync, oldest first, borrowed */
    size_t syncing;                   /* of which the sync in flight covers */
    sl_auth_t *auth;                  /* CURVE keys and allow-lists; NULL in
                                         the clear */
    char peer_key[SL_CURVE_KEY_TEXT]; /* the CURVE key of the message just
                                       received ("" in the clear) */
    sl_bmetrics_t *metrics;           /* counters for /metrics and status */
    sl_http_t *http;                  /* /metrics, /healthz, /readyz; NULL
                                         without --http */
    char http_at[300];                /* its address, with the port bound */
    uint32_t bad_logged;              /* bad messages logged this heartbeat */
    uint64_t bad_total;               /* bad messages since the start */
    bool is_trim_due;                 /* runs finished since memory was last
                                         given back */
} loop_t;

/* ---- broker.c: sockets ---- */

/* Receives [identity, payload] from a ROUTER and decodes the payload
 * (checking the sender's key with CURVE). NULL, after answering or
 * logging (rate-limited), for anything else. */
Sluice__Envelope *sl_loop_receive(loop_t *l, zsock_t *sock,
                                  zframe_t **identity);

/* Sends env to a peer; a failure is logged at debug and its code returned
 * (SL_EIO: the peer is gone, SL_ETIMEDOUT: its queue is full). */
int sl_loop_send(loop_t *l, zsock_t *sock, zframe_t *to, Sluice__Envelope *env);

/* Sends an Error message saying reason. */
void sl_loop_send_error(loop_t *l, zsock_t *sock, zframe_t *to,
                        const char *reason, Sluice__Error__Code code);

/* A bad message from a peer: logged while this heartbeat's allowance
 * lasts, counted always. */
void sl_loop_bad(loop_t *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* run changed in this loop step: its news goes out at the next flush. */
void sl_loop_touch(loop_t *l, sl_run_t *run);

/* ---- backend.c: workers ---- */

/* A message on the worker socket. */
void sl_backend_on_message(loop_t *l);
/* Sends each worker as many queued jobs as its credit allows. */
void sl_backend_dispatch(loop_t *l);
/* Every heartbeat: silent workers are dead, the others are greeted;
 * runs whose tasks no worker serves give up after their wait. */
void sl_backend_tick(loop_t *l);
/* The allow-lists changed: workers whose key was revoked are dropped. */
void sl_backend_drop_revoked(loop_t *l);
/* Tells the workers that hold jobs (appended by sl_run_cancel) to stop
 * them. */
void sl_backend_cancel_held(loop_t *l, zlistx_t *held);

/* ---- frontend.c: clients ---- */

/* A message on the client socket. */
void sl_frontend_on_message(loop_t *l);
/* Sends what each touched run owes its followers: Accepted once synced,
 * events, the result once finished. */
void sl_frontend_flush(loop_t *l);
/* A sync of the journal ended: the runs it covered are accepted. */
void sl_frontend_on_synced(loop_t *l);
/* Starts a sync of the journal when a run has waited for one long
 * enough, or on a tick for whatever was written since the last. */
void sl_frontend_start_sync(loop_t *l, bool is_tick);
/* When the oldest unconfirmed run wants a sync (monotonic ms); -1: none. */
int64_t sl_frontend_sync_due(loop_t *l);

/* ---- status.c ---- */

/* Answers a StatusRequest. */
void sl_status_reply(loop_t *l, zframe_t *client,
                     const Sluice__StatusRequest *req);
/* Renders /metrics. */
int sl_status_metrics(void *ctx, sl_buf_t *out);

#endif
