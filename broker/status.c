/* broker/status.c: what the broker says about itself: the StatusReply
 * (workers, queues, runs newest first, counters) and the gauges /metrics
 * shows. Runs on the broker loop thread; reads, never changes, the loop's
 * state. */
#include "loop.h"

#include "procmem.h"
#include "run_wire.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    Sluice__QueueStatus *items; /* storage, cap allocated */
    Sluice__QueueStatus **ptrs;
    size_t count; /* filled */
    size_t cap;   /* allocated */
} queues_t;

static void
add_queue(const char *key, size_t depth, size_t workers, sl_job_t *oldest,
          void *ctx)
{
    queues_t *q = ctx;
    (void)oldest;
    if (q->count == q->cap || (depth == 0 && workers == 0))
        return;
    Sluice__QueueStatus *s = &q->items[q->count];
    sluice__queue_status__init(s);
    s->task = (char *)key;
    s->depth = (uint32_t)depth;
    s->workers = (uint32_t)workers;
    q->ptrs[q->count++] = s;
}

/* The name of the task whose queue key is key ("add@1"): its bare key
 * ("add"), which the worker's keys hold too, so TaskRef.name is a name
 * as in Ready, never name@version. */
static char *
bare_name(const sl_bworker_t *w, char *key, size_t len)
{
    for (size_t j = 0; j < w->key_count; j++)
        if (strlen(w->keys[j]) == len && !strncmp(w->keys[j], key, len))
            return w->keys[j];
    return key; /* cannot happen: every task is keyed both ways */
}

static void
fill_worker(sl_bworker_t *w, Sluice__WorkerStatus *ws, Sluice__TaskRef *refs,
            Sluice__TaskRef **ptrs)
{
    sluice__worker_status__init(ws);
    ws->worker_id = w->id;
    ws->hostname = w->hostname;
    ws->pid = w->pid;
    ws->slots = w->slots;
    ws->in_flight = w->in_flight;
    ws->draining = w->is_draining;
    ws->done = w->done;
    ws->cache_errors = w->cache_errors;
    ws->last_seen_ms = (uint64_t)(zclock_mono() - w->last_seen_ms);
    ws->exec_rules = w->exec_rules;
    ws->n_exec_rules = w->exec_rule_count;
    for (size_t k = 0; k < w->key_count; k++) {
        char *at = strchr(w->keys[k], '@');
        if (!at)
            continue; /* every task is listed both ways: once per version */
        Sluice__TaskRef *r = &refs[ws->n_tasks];
        sluice__task_ref__init(r);
        r->name = bare_name(w, w->keys[k], (size_t)(at - w->keys[k]));
        r->version = (uint32_t)strtoul(at + 1, NULL, 10);
        ptrs[ws->n_tasks++] = r;
    }
    ws->tasks = ptrs;
}

/* The broker's counters and queue in its status. */
static void
fill_counts(loop_t *l, Sluice__BrokerStatus *bs)
{
    sl_bmetrics_totals_t t;
    sl_sched_counts_t c;
    sl_bmetrics_totals(l->metrics, &t);
    sl_sched_counts(l->sched, &c);
    bs->tasks_dispatched = t.dispatched;
    bs->tasks_completed = t.completed;
    bs->tasks_cached = t.cached;
    bs->tasks_shared = t.shared;
    bs->tasks_failed = t.failed;
    bs->tasks_retried = t.retried;
    bs->workers_lost = t.workers_lost;
    bs->tasks_queued = c.queued;
    bs->tasks_delayed = c.delayed;
    bs->tasks_in_flight = c.held;
    bs->http = l->http_at;
}

static void
fill_broker(loop_t *l, Sluice__BrokerStatus *bs)
{
    bs->pid = (uint32_t)getpid();
    sl_procmem_read(&bs->rss_bytes, &bs->peak_rss_bytes);
    bs->uptime_ms = (uint64_t)(zclock_mono() - l->started_ms);
    if (l->auth) {
        sl_auth_counts_t counts = sl_auth_counts(l->auth);
        bs->curve = true;
        bs->refused_clients = counts.refused_clients;
        bs->refused_workers = counts.refused_workers;
        bs->refused_messages = counts.refused_messages;
        bs->revoked_keys = counts.revoked;
    }
    fill_counts(l, bs);
}

/* Newest first; a tie (same millisecond) by id, so the order is stable. */
static int
newest_first(const void *a, const void *b)
{
    const Sluice__RunStatus *x = *(Sluice__RunStatus *const *)a;
    const Sluice__RunStatus *y = *(Sluice__RunStatus *const *)b;
    if (x->submitted_ms != y->submitted_ms)
        return x->submitted_ms > y->submitted_ms ? -1 : 1;
    return strcmp(x->run_id, y->run_id);
}

/* The storage of one reply, sized for what the broker holds now. */
typedef struct {
    Sluice__WorkerStatus *ws;
    Sluice__WorkerStatus **wptrs;
    Sluice__TaskRef *refs;
    Sluice__TaskRef **rptrs;
    Sluice__RunStatus *rs;
    Sluice__RunStatus **rsptrs;
    queues_t q;
} reply_store_t;

static bool
store_alloc(loop_t *l, reply_store_t *st)
{
    zlistx_t *workers = sl_sched_workers(l->sched);
    size_t nw = zlistx_size(workers), nr = sl_runbook_count(l->runbook);
    size_t keys = 0;
    sl_sched_counts_t c;
    sl_sched_counts(l->sched, &c);
    for (sl_bworker_t *w = zlistx_first(workers); w; w = zlistx_next(workers))
        keys += w->key_count;
    st->ws = calloc(nw + 1, sizeof *st->ws);
    st->wptrs = calloc(nw + 1, sizeof *st->wptrs);
    st->refs = calloc(keys + 1, sizeof *st->refs);
    st->rptrs = calloc(keys + 1, sizeof *st->rptrs);
    st->rs = calloc(nr + 1, sizeof *st->rs);
    st->rsptrs = calloc(nr + 1, sizeof *st->rsptrs);
    st->q.cap = c.queues;
    st->q.items = calloc(c.queues + 1, sizeof *st->q.items);
    st->q.ptrs = calloc(c.queues + 1, sizeof *st->q.ptrs);
    return st->ws && st->wptrs && st->refs && st->rptrs && st->rs &&
           st->rsptrs && st->q.items && st->q.ptrs;
}

static void
store_free(reply_store_t *st)
{
    free(st->ws);
    free(st->wptrs);
    free(st->refs);
    free(st->rptrs);
    free(st->rs);
    free(st->rsptrs);
    free(st->q.items);
    free(st->q.ptrs);
}

void
sl_status_reply(loop_t *l, zframe_t *client, const Sluice__StatusRequest *req)
{
    reply_store_t st = {0};
    Sluice__StatusReply reply = SLUICE__STATUS_REPLY__INIT;
    Sluice__BrokerStatus bs = SLUICE__BROKER_STATUS__INIT;
    if (!store_alloc(l, &st)) {
        sl_loop_send_error(l, l->front, client, "broker out of memory",
                           SLUICE__ERROR__CODE__GENERIC);
        goto out;
    }
    zlistx_t *workers = sl_sched_workers(l->sched);
    size_t used = 0;
    for (sl_bworker_t *w = zlistx_first(workers); w; w = zlistx_next(workers)) {
        fill_worker(w, &st.ws[reply.n_workers], st.refs + used,
                    st.rptrs + used);
        used += st.ws[reply.n_workers].n_tasks;
        st.wptrs[reply.n_workers] = &st.ws[reply.n_workers];
        reply.n_workers++;
    }
    reply.workers = st.wptrs;
    sl_sched_each_queue(l->sched, add_queue, &st.q);
    reply.queues = st.q.ptrs;
    reply.n_queues = st.q.count;
    for (sl_run_t *run = sl_runbook_first(l->runbook); run;
         run = sl_runbook_next(l->runbook)) {
        if (*req->run_id ? strcmp(req->run_id, sl_run_id(run)) != 0
                         : sl_run_is_unlisted(run))
            continue;
        sl_run_wire_status(run, &st.rs[reply.n_runs]);
        st.rsptrs[reply.n_runs] = &st.rs[reply.n_runs];
        reply.n_runs++;
    }
    qsort(st.rsptrs, reply.n_runs, sizeof *st.rsptrs, newest_first);
    reply.runs = st.rsptrs;
    fill_broker(l, &bs);
    reply.broker = &bs;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_STATUS;
    env.status = &reply;
    sl_loop_send(l, l->front, client, &env);
out:
    store_free(&st);
}

/* ---- /metrics ----------------------------------------------------------- */

static void
read_gauges(loop_t *l, sl_bmetrics_gauges_t *g)
{
    sl_sched_counts_t c;
    sl_sched_counts(l->sched, &c);
    *g = (sl_bmetrics_gauges_t){.queued = c.queued,
                                .delayed = c.delayed,
                                .in_flight = c.held};
    zlistx_t *workers = sl_sched_workers(l->sched);
    for (sl_bworker_t *w = zlistx_first(workers); w; w = zlistx_next(workers)) {
        g->workers++;
        g->draining += w->is_draining;
        g->slots += w->slots;
    }
    for (sl_run_t *run = sl_runbook_first(l->runbook); run;
         run = sl_runbook_next(l->runbook)) {
        sl_run_state_t state = sl_run_state(run);
        g->runs_running += state == SL_RUN_RUNNING;
        g->runs_done += state == SL_RUN_DONE;
        g->runs_failed += state == SL_RUN_FAILED;
        g->runs_cancelled += state == SL_RUN_CANCELLED;
    }
    if (l->auth) {
        g->is_curve = true;
        g->auth = sl_auth_counts(l->auth);
    }
    g->bad_messages = l->bad_total;
}

int
sl_status_metrics(void *ctx, sl_buf_t *out)
{
    loop_t *l = ctx;
    sl_bmetrics_gauges_t g;
    read_gauges(l, &g);
    return sl_bmetrics_render(l->metrics, &g, out);
}
