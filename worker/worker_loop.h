/* worker/worker_loop.h: a worker's state and the worker thread's, shared
 * by the files that make up the worker: worker.c (the object and the
 * thread's loop), link.c (the connection to the broker: hellos,
 * heartbeats, CURVE, reconnecting) and hand.c (the tasks in hand and the
 * executors that run them). Everything in loop_t belongs to the worker
 * thread; nothing else includes this header. */
#ifndef SL_WORKER_LOOP_H
#define SL_WORKER_LOOP_H

#include "worker.h"

#include "curve.h"
#include "executor.h"
#include "http.h"
#include "http_request.h"
#include "registry.h"
#include "sign.h"
#include "task_queue.h"
#include "worker_metrics.h"

#include "proto/sluice.pb-c.h"

#include <czmq.h>
#include <stdatomic.h>

struct sl_worker {
    char *id;                      /* routing id and producer name, owned */
    char *endpoint;                /* broker worker socket, owned */
    char *cache_url;               /* --cache, owned, may be NULL */
    char *fallback_url;            /* owned */
    char *key_file;                /* CURVE key pair, owned, may be NULL */
    char *broker_key_file;         /* the broker's public key, owned, or NULL */
    char *http;                    /* "[HOST:]PORT" of /metrics..., or NULL */
    sl_sign_key_t *sign_key;       /* signs entries written, owned, or NULL */
    sl_trust_t *trust;             /* keys whose entries are hits, or NULL */
    uint32_t slots;                /* executor count */
    uint32_t heartbeat_ms;         /* heartbeat interval */
    uint32_t liveness;             /* silent heartbeats before greeting again */
    char incarnation[17];          /* random, new for each sl_worker_t */
    atomic_bool is_lane_taken;     /* the broker's last TaskBatch said it
                                      takes answers on lanes (lane.h) */
    sl_registry_t *registry;       /* read-only once the actor runs */
    sl_executor_config_t exec_cfg; /* shared, read-only, by executors */
    sl_program_options_t programs; /* how programs run; its strings are
                                      the owned copies below */
    char **exec_rules;             /* --exec rules, owned */
    char **http_allow;             /* --http-allow rules, owned */
    sl_http_rules_t http_rules;    /* them, for the http tasks */
    char **exec_env;               /* --exec-env names, owned */
    char *exec_path;               /* owned */
    char *workspace;               /* absolute, owned */
    char *work_dir;                /* absolute, owned */
    char *blob_dir;                /* absolute, owned, or NULL */
    zactor_t *actor;               /* the worker thread */
};

typedef struct loop {
    sl_worker_t *w;            /* configuration, read-only here */
    zsock_t *pipe;             /* to the owner of the sl_worker_t */
    zsock_t *dealer;           /* to the broker */
    sl_curve_watch_t *watch;   /* its handshakes; NULL over inproc:// */
    bool is_curve;             /* the DEALER has keys */
    int64_t redial_at_ms;      /* refused: when to try again; 0 if not */
    uint64_t handshakes;       /* connections made so far (the watch's) */
    int64_t redial_ms;         /* the wait before that, doubling */
    zactor_t **execs;          /* slots executors */
    sl_cancel_board_t *boards; /* per executor: what it computes, and what
                                  to stop (the one state shared with it) */
    sl_task_queue_t *queue;    /* tasks no executor has taken, owned;
                                  shared with the executors */
    zpoller_t *poller;         /* pipe, dealer and executors */
    uint64_t *held;            /* ids of the tasks in hand (queued or run) */
    size_t held_count;
    size_t held_cap;
    int64_t last_broker_ms; /* when the broker last said anything */
    int64_t greeted_ms;     /* when we last greeted a silent broker */
    int64_t next_beat_ms;   /* when the next heartbeat is due */
    bool is_draining;       /* stopping: asked for no more tasks */
    sl_wmetrics_t *metrics; /* for /metrics */
    sl_http_t *http;        /* /metrics, /healthz, /readyz; or NULL */
    char http_at[300];      /* its address, with the port bound */
} loop_t;

/* ---- link.c: the broker connection ---- */

/* Makes the DEALER to the broker (a CURVE client, watched, when keys are
 * given) and connects it. 0, or an error code with err. */
int sl_link_open(loop_t *l, sl_error_t *err);
void sl_link_close(loop_t *l);
/* Hello: what this worker serves, with how many slots. */
void sl_link_send_ready(loop_t *l);
/* Goodbye, with why. */
void sl_link_send_disconnect(loop_t *l, const char *reason);
/* What we hold, and whether we drain. */
void sl_link_send_heartbeat(loop_t *l);
/* News from the CURVE watch: a new connection says hello; a refused key
 * is logged and dialled again later. */
void sl_link_on_watch(loop_t *l);
/* Closes the connection and dials again (saying hello). */
void sl_link_redial(loop_t *l);
/* Heartbeat time: greet a silent broker, send our heartbeat, say DRAINED
 * to the owner once draining and idle. */
void sl_link_on_beat(loop_t *l);
/* The broker has said nothing for its liveness. */
bool sl_link_is_silent(const loop_t *l);
/* Connected: not waiting to redial, and the broker not silent. */
bool sl_link_is_connected(const loop_t *l);

/* ---- hand.c: tasks in hand ---- */

/* Puts a batch of tasks from the broker into the queue, and wakes idle
 * executors to take them. */
void sl_hand_take(loop_t *l, Sluice__TaskBatch *batch);
/* The broker cancelled these tasks' runs: stop them (see hand.c). */
void sl_hand_cancel(loop_t *l, const Sluice__CancelTasks *c);
/* A message from executor i: what it answered (the results to forward,
 * unless they went on its lane) and its stats. */
void sl_hand_on_executor(loop_t *l, uint32_t i);
/* Task ids in hand, as the heartbeat lists them. */
void sl_hand_hold(loop_t *l, uint64_t id);
void sl_hand_unhold(loop_t *l, uint64_t id);
/* No task queued, running, or answered and not yet forwarded. */
bool sl_hand_is_idle(const loop_t *l);

#endif
