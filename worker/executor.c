/* worker/executor.c: an executor thread (a CZMQ actor). Owns its cache
 * connections and its lane to the broker (lane.h), and shares nothing with
 * other threads but the read-only registry, the task queue and its cancel
 * board; talks to the worker thread only over its pipe. For each batch of
 * tasks: decode the calls (task_wire.c), look them up in one round trip
 * per cache (exec_cache.c), answer the hits at once, compute the misses
 * one by one, answer them at least every millisecond (on the lane, else
 * through the worker thread) and store them right after (the store's
 * replies are read later). A
 * cache failure never fails a task: it is computed and the answer says the
 * cache failed (or, for a store, the log and /metrics do). */
#include "batch.h"

#include "envelope.h"
#include "key.h"
#include "log.h"
#include "task_wire.h"
#include "wire.h"
#include "trace.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Idle cache connections an executor keeps between batches. A batch
 * that names more URLs opens more: none of its jobs' connections changes
 * under it (cache_pool.c). */
#define KEEP_CACHES 8
/* Input files whose digests an executor remembers. */
#define MEMO_FILES 65536
/* Results of computed tasks wait at most this long for the next flush. */
#define FLUSH_US 1000
/* ...and, while fewer than FLUSH_TASKS are ready, up to FLUSH_MAX_US: a
 * task of about a millisecond (a program) no longer sends a message of
 * its own, each waking the worker's, the broker's and the client's
 * threads (the cluster spawn bench: 50-68 % of the host's spawn rate with
 * one message per task, 75-78 % so); a slow task's result still goes at
 * once. */
#define FLUSH_TASKS  4
#define FLUSH_MAX_US 5000
/* An idle executor reads the replies of its last store after this long
 * (sooner if a batch comes): the answers it just sent go first. */
#define STORE_LAG_MS 1
/* Cache round trips noted after a batch's last answers (its store) wait
 * this long for the next answers to ride with, then go on their own. */
#define STATS_LAG_MS 20
/* Answers sent on the lane are told to the worker thread (the ids it no
 * longer holds, and their stats) once the executor has been idle this
 * long, or once this many have gathered: the worker thread is not woken
 * on the answers' way, nor for every batch. */
#define TELL_LAG_MS    1
#define TELL_MAX_TASKS 1024
/* Room for everything but the values in one message. */
#define MSG_SLACK_BYTES (64u << 10)

/* What the actor is started with. */
typedef struct {
    const sl_executor_config_t *cfg;
    sl_cancel_board_t *board;
    sl_task_queue_t *queue;
    uint32_t index;
} start_t;

uint64_t
sl_batch_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void
sl_batch_note_trip(executor_t *ex, sl_cache_op_t op, uint64_t start_us,
                   uint32_t ok, uint32_t other, uint32_t failed)
{
    sl_exec_cache_stat_t t = {sl_batch_now_us() - start_us, ok, other, failed,
                              (uint8_t)op};
    sl_buf_append(&ex->trips, &t, sizeof t);
}

void
sl_batch_fail(job_t *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->error, sizeof j->error, fmt, ap);
    va_end(ap);
    j->outcome.is_ok = false;
    j->outcome.failure = SL_FAIL_TASK;
    j->outcome.error = j->error;
    j->is_done = true;
}

void
sl_batch_cache_failed(job_t *j, const char *msg)
{
    snprintf(j->cache_error, sizeof j->cache_error, "%s", msg);
    j->outcome.cache = SL_CACHE_OUTCOME_ERROR;
    j->outcome.cache_error = j->cache_error;
}

void
sl_batch_job_fini(executor_t *ex, job_t *j)
{
    if (ex->caches)
        sl_cache_pool_give(ex->caches, &j->slot);
    sl_value_destroy(&j->value);
    sl_buf_fini(&j->entry);
    sl_inputs_fini(&j->inputs);
    sl_outputs_fini(&j->outputs);
    sl_buf_fini(&j->log_out);
    sl_buf_fini(&j->log_err);
    sl_value_destroy(&j->files);
    free(j->program_path);
    sl_task_call_fini(&j->call);
}

/* A job from a decoded Task (its own from now on: made a call here, at
 * the edge), then prepared. */
static void
prepare(executor_t *ex, job_t *j, Sluice__Task *task)
{
    sl_error_t err = {0};
    j->outcome = (sl_outcome_t){.error = "", .cache_error = ""};
    if (sl_task_call_take(task, &j->call, &err) < 0)
        return sl_batch_fail(j, "%s", err.msg);
    sl_batch_prepare(ex, j);
}

/* The files j's key covers: a program's own file, then its inputs,
 * resolved and digested (a program's inputs are resolved with no cache
 * too: its working folder links them). NULL when j is answered already
 * (a program it may not run, an input missing). */
static sl_value_t *
gather_files(executor_t *ex, job_t *j)
{
    sl_value_t *files = sl_value_new_list();
    sl_error_t err = {0};
    if (!files) {
        sl_batch_fail(j, "out of memory");
        return NULL;
    }
    if (j->is_program)
        sl_batch_prepare_program(ex, j, files);
    if (!j->is_done && j->call.inputs &&
        (sl_inputs_resolve(j->call.inputs, ex->cfg->programs->workspace,
                           ex->memo, &j->inputs, &err) < 0 ||
         sl_inputs_add_to(&j->inputs, files) < 0))
        sl_batch_fail(j, "%s", err.code ? err.msg : "out of memory");
    if (j->is_done)
        sl_value_destroy(&files);
    return files;
}

/* Whether def computes, here, in under SL_BATCH_LOCK_MIN_US on average
 * (never before it was measured). */
static bool
is_cheap(const executor_t *ex, const sl_task_def_t *def)
{
    uint32_t cost = ex->cost_us
                        ? ex->cost_us[sl_registry_index(ex->cfg->registry, def)]
                        : 0;
    return cost > 0 && cost < SL_BATCH_LOCK_MIN_US;
}

void
sl_batch_note_cost(executor_t *ex, const sl_task_def_t *def,
                   uint64_t duration_us)
{
    if (!ex->cost_us)
        return;
    uint32_t *cost = &ex->cost_us[sl_registry_index(ex->cfg->registry, def)];
    uint64_t d = duration_us ? duration_us : 1; /* 0: not measured */
    if (d > UINT32_MAX)
        d = UINT32_MAX;
    *cost = *cost ? (uint32_t)((*cost * 7ull + d) / 8) : (uint32_t)d;
}

void
sl_batch_prepare(executor_t *ex, job_t *j)
{
    const sl_task_call_t *t = &j->call;
    j->outcome = (sl_outcome_t){.error = "", .cache_error = ""};
    j->def = sl_registry_find(ex->cfg->registry, t->name, t->version);
    if (!j->def)
        return sl_batch_fail(j, "this worker has no task '%s'", t->name);
    j->is_program = !strcmp(j->def->name, SL_PROGRAM_TASK);
    bool is_cached = t->cache != SL_CACHE_NONE;
    bool reads_files = j->is_program || (is_cached && t->inputs);
    sl_value_t *files = reads_files ? gather_files(ex, j) : NULL;
    if (j->is_done)
        return;
    if (!is_cached) {
        sl_value_destroy(&files);
        j->outcome.cache = SL_CACHE_OUTCOME_SKIPPED;
        return;
    }
    int rc = sl_digest_task_files(j->def->name, j->def->version, t->args, files,
                                  j->digest);
    j->files = files; /* named in the entry, for `cache explain` */
    if (rc < 0 ||
        sl_key_build(j->key, sizeof j->key, t->cache, t->cache_namespace,
                     j->def->name, t->cache_key, j->digest) < 0) {
        j->key[0] = '\0';
        return sl_batch_fail(j, "cannot make a cache key for task '%s'",
                             t->name);
    }
    j->is_lock_free = !j->is_program && is_cheap(ex, j->def);
    const char *url = ex->cfg->cache_url ? ex->cfg->cache_url
                      : *t->cache_url    ? t->cache_url
                                         : ex->cfg->fallback_url;
    j->slot = ex->caches ? sl_cache_pool_take(ex->caches, url) : NULL;
    if (!j->slot)
        sl_batch_cache_failed(j, "out of memory opening the cache");
    else if (!j->slot->cache)
        sl_batch_cache_failed(j, j->slot->error);
    if (t->refresh)
        j->outcome.cache = SL_CACHE_OUTCOME_REFRESHED;
}

/* Runs j's task, in this thread or (--isolate) in a child; a value is
 * encoded for the store, a failure says why and how. */
static void
compute(executor_t *ex, job_t *j)
{
    static const sl_failure_t kinds[] = {[SL_ISOLATE_ERROR] = SL_FAIL_TASK,
                                         [SL_ISOLATE_TIMEOUT] = SL_FAIL_TIMEOUT,
                                         [SL_ISOLATE_CRASH] = SL_FAIL_CRASH,
                                         [SL_ISOLATE_CANCELLED] =
                                             SL_FAIL_CANCELLED};
    const sl_task_call_t *t = &j->call;
    char why[512];
    uint64_t start = sl_batch_now_us();
    sl_isolate_outcome_t outcome = SL_ISOLATE_OK;
    ex->ctx.task_id = t->task_id;
    ex->ctx.attempt = t->attempt;
    atomic_store(&ex->board->running, t->task_id);
    if (j->is_program) {
        sl_batch_run_program(ex, j);
        atomic_store(&ex->board->running, 0);
        ex->ctx.task_id = 0;
        j->is_done = true;
        if (j->outcome.is_ok)
            sl_batch_encode_entry(ex, j, j->outcome.duration_us);
        return;
    }
    if (ex->cfg->is_isolated) {
        outcome = sl_isolate_run(j->def, &ex->ctx, t->args, &ex->cfg->limits,
                                 t->timeout_ms, &j->value, why, sizeof why);
    } else {
        if (t->timeout_ms && !ex->has_warned_timeout) {
            sl_log(SL_LOG_WARN, "executor",
                   "task=%s has a timeout, which only a worker started with "
                   "--isolate enforces",
                   j->def->name);
            ex->has_warned_timeout = true;
        }
        ex->ctx.has_failed = false;
        ex->ctx.error[0] = '\0';
        int rc = j->def->fn(&ex->ctx, t->args, &j->value);
        if (sl_task_is_cancelled(&ex->ctx)) {
            outcome = SL_ISOLATE_CANCELLED; /* its value is not wanted */
            snprintf(why, sizeof why, "cancelled while it ran");
        } else if (rc != 0 || ex->ctx.has_failed || !j->value) {
            outcome = SL_ISOLATE_ERROR;
            snprintf(why, sizeof why, "%s",
                     ex->ctx.has_failed ? ex->ctx.error
                     : rc != 0          ? "the task failed and gave no reason"
                                        : "the task returned no value");
        }
    }
    atomic_store(&ex->board->running, 0);
    ex->ctx.task_id = 0;
    uint64_t duration_us = sl_batch_now_us() - start;
    j->outcome.duration_us = duration_us;
    sl_batch_note_cost(ex, j->def, duration_us);
    if (outcome != SL_ISOLATE_OK) {
        sl_value_destroy(&j->value);
        sl_batch_fail(j, "%s", why);
        j->outcome.failure = kinds[outcome];
        return;
    }
    j->outcome.is_ok = true;
    j->is_done = true;
    sl_batch_plan_entry(ex, j, duration_us);
}

/* ---- answers ------------------------------------------------------------ */

/* Notes jobs[0..n) answered: their ids and sl_exec_result_stat_t, for
 * the next "R". false: out of memory (nothing noted). */
static bool
note_answered(executor_t *ex, job_t **jobs, size_t n)
{
    if (sl_buf_reserve(&ex->answered, n * sizeof(uint64_t)) < 0 ||
        sl_buf_reserve(&ex->answered_stats, n * sizeof(sl_exec_result_stat_t)) <
            0)
        return false;
    for (size_t i = 0; i < n; i++) {
        const sl_outcome_t *o = &jobs[i]->outcome;
        sl_exec_result_stat_t st =
            {jobs[i]->def,
             o->duration_us,
             (uint8_t)(o->is_ok ? SLUICE__RESULT__STATUS__OK
                                : SLUICE__RESULT__STATUS__ERROR),
             (uint8_t)o->failure,
             (uint8_t)o->cache,
             jobs[i]->rejected};
        sl_buf_append(&ex->answered, &jobs[i]->call.task_id, sizeof(uint64_t));
        sl_buf_append(&ex->answered_stats, &st, sizeof st);
    }
    return true;
}

/* "R" to the worker thread: *frame (answers to forward; NULL: none, they
 * went on the lane), the ids answered since the last "R" and their stats,
 * and the cache round trips noted since. */
static void
tell_worker(executor_t *ex, zframe_t **frame)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, "R");
    if (frame && *frame)
        zmsg_append(msg, frame);
    else
        zmsg_addmem(msg, NULL, 0);
    zmsg_addmem(msg, ex->answered.data, ex->answered.size);
    zmsg_addmem(msg, ex->answered_stats.data, ex->answered_stats.size);
    zmsg_addmem(msg, ex->trips.data, ex->trips.size);
    ex->answered.size = ex->answered_stats.size = ex->trips.size = 0;
    zmsg_send(&msg, ex->pipe);
}

/* ctx->progress: a Progress envelope of the running task, through the
 * worker thread (never on a lane: a lane carries answers only). */
static void
send_progress(sl_task_ctx_t *ctx, const sl_value_t *value)
{
    executor_t *ex = ctx->owner;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    Sluice__Progress p = SLUICE__PROGRESS__INIT;
    if (getpid() != ex->pid || sl_wire_value_view(value, &p.value, NULL) < 0)
        return;
    p.task_id = ctx->task_id;
    p.attempt = ctx->attempt;
    env.version = SL_PROTOCOL_VERSION;
    env.body_case = SLUICE__ENVELOPE__BODY_PROGRESS;
    env.progress = &p;
    size_t size = sluice__envelope__get_packed_size(&env);
    zframe_t *frame = size <= SL_MSG_MAX_BYTES ? zframe_new(NULL, size) : NULL;
    if (frame) {
        sluice__envelope__pack(&env, zframe_data(frame));
        tell_worker(ex, &frame);
    }
    zframe_destroy(&frame);
    free(p.value);
}

/* The Result of j into r; its value a view to free after sending. A value
 * too big for any message becomes an error that says so (the broker would
 * drop the connection otherwise). Returns the value's packed size. */
static size_t
wire_result(job_t *j, Sluice__Result *r)
{
    sl_error_t err = {0};
    Sluice__Value *view = NULL;
    if (j->value && sl_wire_value_view(j->value, &view, &err) < 0) {
        sl_value_destroy(&j->value);
        sl_batch_fail(j, "result: %s", err.msg);
    }
    size_t size = view ? sluice__value__get_packed_size(view) : 0;
    if (size > SL_MSG_MAX_BYTES - MSG_SLACK_BYTES) {
        free(view);
        view = NULL;
        sl_value_destroy(&j->value);
        sl_batch_fail(j, "result of %zu bytes is over the message cap of %u",
                      size, SL_MSG_MAX_BYTES);
        size = 0;
    }
    sl_task_answer_t a = {j->call.task_id, j->call.attempt, &j->outcome, j->key,
                          j->def ? j->def->version : 0};
    sl_task_answer_wire(&a, r);
    r->value = view;
    r->stdout_tail =
        (ProtobufCBinaryData){j->log_out.size, (uint8_t *)j->log_out.data};
    r->stderr_tail =
        (ProtobufCBinaryData){j->log_err.size, (uint8_t *)j->log_err.data};
    return size;
}

/* Sends the answers of jobs[0..n) as one envelope, or one each when they
 * do not fit in one message. */
static void
send_results(executor_t *ex, job_t **jobs, size_t n)
{
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    Sluice__ResultBatch batch = SLUICE__RESULT_BATCH__INIT;
    Sluice__Result *items = calloc(n + 1, sizeof *items);
    Sluice__Result **results = calloc(n + 1, sizeof *results);
    size_t total = 0;
    if (!items || !results || n == 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        total += wire_result(jobs[i], &items[i]);
        results[i] = &items[i];
    }
    if (n > 1 && total > SL_MSG_MAX_BYTES - MSG_SLACK_BYTES) {
        for (size_t i = 0; i < n; i++) { /* one message each */
            free(items[i].value);
            items[i].value = NULL;
            send_results(ex, &jobs[i], 1);
        }
        goto out;
    }
    batch.n_results = n;
    batch.results = results;
    zsock_t *lane = sl_lane_is_taken(&ex->cfg->lane) ? ex->lane : NULL;
    batch.incarnation = lane ? (char *)ex->cfg->lane.incarnation : "";
    env.body_case = SLUICE__ENVELOPE__BODY_RESULTS;
    env.results = &batch;
    env.version = SL_PROTOCOL_VERSION;
    zframe_t *frame = zframe_new(NULL, sluice__envelope__get_packed_size(&env));
    sluice__envelope__pack(&env, zframe_data(frame));
    SL_TRACE("executor.send");
    bool is_noted = note_answered(ex, jobs, n);
    if (is_noted && sl_lane_send(lane, &frame)) {
        if (ex->answered.size >= TELL_MAX_TASKS * sizeof(uint64_t))
            tell_worker(ex, NULL);
    } else {           /* no lane up: the worker thread forwards them */
        if (!is_noted) /* without memory for the ids: the frame alone */
            sl_log(SL_LOG_WARN, "executor",
                   "out of memory: %zu answers stay held until the worker "
                   "stops",
                   n);
        tell_worker(ex, &frame);
    }
    zframe_destroy(&frame);
out:
    for (size_t i = 0; items && i < n; i++)
        free(items[i].value);
    free(items);
    free(results);
}

/* Sends the answers of jobs[0..n), then encodes the entries left for
 * after them (sl_batch_plan_entry) and sends their store, whose replies
 * are read by the next use of its cache (the next lookup goes behind it,
 * in the same round trip), the next flush, or once idle: an answer does
 * not wait for the store (docs/CACHING.md), nor does the next batch. The
 * answer goes first: on two cores, waking Redis before the worker thread
 * cost the answer more than the store's round trip (docs/PERFORMANCE.md). */
static void
flush(executor_t *ex, job_t **jobs, size_t n)
{
    sl_batch_store_wait(ex); /* the last flush's */
    send_results(ex, jobs, n);
    sl_batch_encode_due(ex, jobs, n);
    sl_batch_store_send(ex, jobs, n);
}

/* Whether a message comes on the pipe within ms. */
static bool
is_coming(zsock_t *pipe, int ms)
{
    zmq_pollitem_t item = {zsock_resolve(pipe), 0, ZMQ_POLLIN, 0};
    return zmq_poll(&item, 1, ms) != 0;
}

/* ---- cancels ---------------------------------------------------------- */

/* Reads what the worker thread sent during the batch: "C" marks the jobs
 * of jobs[0..n) it names cancelled; "$TERM" ends the actor after the
 * batch. Never blocks. */
static void
take_cancels(executor_t *ex, job_t *jobs, size_t n)
{
    while (zsock_events(ex->pipe) & ZMQ_POLLIN) {
        zmsg_t *msg = zmsg_recv(ex->pipe);
        char *command = msg ? zmsg_popstr(msg) : NULL;
        zframe_t *ids = msg ? zmsg_pop(msg) : NULL;
        ex->is_term |= !command || !strcmp(command, "$TERM");
        for (size_t k = 0; command && !strcmp(command, "C") && ids &&
                           k < zframe_size(ids) / sizeof(uint64_t);
             k++) {
            uint64_t id;
            memcpy(&id, zframe_data(ids) + k * sizeof id, sizeof id);
            for (size_t i = 0; i < n; i++)
                if (jobs[i].call.task_id == id)
                    jobs[i].is_cancelled = true;
        }
        zframe_destroy(&ids);
        free(command);
        zmsg_destroy(&msg);
        if (ex->is_term)
            return;
    }
}

/* A job whose run was cancelled before it was computed: answered at once,
 * as cancelled, nothing stored. */
static void
cancel_job(job_t *j)
{
    sl_batch_fail(j, "cancelled before it ran");
    j->outcome.failure = SL_FAIL_CANCELLED;
}

/* ---- a batch --------------------------------------------------------------
 */

/* Computes the jobs not answered by their lookup, answering every
 * FLUSH_US once FLUSH_TASKS are ready, and at least every FLUSH_MAX_US; a
 * cancel stops those not started. */
static void
compute_misses(executor_t *ex, job_t *jobs, job_t **ready, size_t n)
{
    size_t ready_count = 0;
    uint64_t flush_at = sl_batch_now_us() + FLUSH_US;
    sl_batch_lock_misses(ex, jobs, n);
    for (size_t i = 0; i < n; i++) {
        job_t *j = &jobs[i];
        if (j->is_done)
            continue;
        take_cancels(ex, jobs, n);
        if (ex->is_term)
            break; /* stopping: the broker gives the rest to others */
        if (j->is_program || j->is_contended)
            sl_batch_store_wait(ex); /* they use the cache themselves */
        if (j->is_cancelled)
            cancel_job(j);
        else if (!(j->is_contended && sl_batch_wait_for_peer(ex, j)))
            compute(ex, j);
        ready[ready_count++] = j;
        uint64_t now = sl_batch_now_us();
        if (now >= flush_at && (ready_count >= FLUSH_TASKS ||
                                now >= flush_at + FLUSH_MAX_US - FLUSH_US)) {
            flush(ex, ready, ready_count);
            ready_count = 0;
            flush_at = sl_batch_now_us() + FLUSH_US;
        }
    }
    flush(ex, ready, ready_count);
}

/* The tasks[0..n) taken from the queue, freed with their jobs. */
static void
run_batch(executor_t *ex, Sluice__Task **tasks, size_t n)
{
    job_t *jobs = calloc(n + 1, sizeof *jobs);
    job_t **ready = calloc(n + 1, sizeof *ready);
    size_t i = 0, ready_count = 0;
    if (!jobs || !ready) { /* out of memory */
        for (i = 0; i < n; i++)
            sluice__task__free_unpacked(tasks[i], NULL);
        goto out;
    }
    for (i = 0; i < n; i++)
        prepare(ex, &jobs[i], tasks[i]);
    sl_batch_lookup(ex, jobs, n); /* behind the last batch's store */
    sl_batch_store_wait(ex);      /* whose replies it read first */
    for (i = 0; i < n; i++)
        if (jobs[i].is_done)
            ready[ready_count++] = &jobs[i];
    send_results(ex, ready, ready_count); /* hits and bad tasks at once */
    if (ready_count < n)
        compute_misses(ex, jobs, ready, n);
    ready_count = 0; /* hits that took a lock in their probe release it */
    for (i = 0; i < n; i++)
        if (jobs[i].is_locked)
            ready[ready_count++] = &jobs[i];
    if (ready_count) {
        sl_batch_store_wait(ex);
        sl_batch_store_send(ex, ready, ready_count);
    }
    for (i = 0; i < n; i++)
        sl_batch_job_fini(ex, &jobs[i]);
out:
    free(jobs);
    free(ready);
}

/* Batch after batch from the queue, until it is empty (then this
 * executor is idle: the next put wakes it with "T") or $TERM came: it is
 * looked for between batches too, so that a stopping worker waits for one
 * batch at most, not the whole queue (whose answers would fill the pipe
 * the stopping worker thread no longer reads). */
static void
run_queued(executor_t *ex)
{
    void *taken[SL_TASK_QUEUE_TAKE_MAX];
    Sluice__Task *tasks[SL_TASK_QUEUE_TAKE_MAX];
    for (;;) {
        take_cancels(ex, NULL, 0); /* a $TERM between batches */
        size_t n =
            ex->is_term ? 0 : sl_task_queue_take(ex->queue, ex->index, taken);
        if (n == 0)
            return;
        SL_TRACE("executor.recv");
        for (size_t i = 0; i < n; i++)
            tasks[i] = taken[i];
        run_batch(ex, tasks, n);
    }
}

static void
executor_actor(zsock_t *pipe, void *args)
{
    start_t *start = args;
    executor_t ex = {.cfg = start->cfg,
                     .pipe = pipe,
                     .board = start->board,
                     .queue = start->queue,
                     .index = start->index};
    free(start);
    ex.ctx.worker_id = ex.cfg->worker_id;
    ex.ctx.board = ex.board;
    ex.ctx.http_rules = ex.cfg->http_rules;
    ex.ctx.progress = send_progress;
    ex.ctx.owner = &ex;
    ex.pid = getpid();
    ex.caches = sl_cache_pool_new(KEEP_CACHES); /* NULL: tasks run uncached */
    ex.cost_us = calloc(sl_registry_count(ex.cfg->registry) + 1,
                        sizeof *ex.cost_us);  /* NULL: every task locks */
    ex.memo = sl_digest_memo_new(MEMO_FILES); /* NULL: inputs read each time */
    sl_error_t err = {0};
    ex.lane = sl_lane_open(&ex.cfg->lane, &err);
    if (!ex.lane && ex.cfg->lane.endpoint)
        sl_log(SL_LOG_WARN, "executor",
               "worker=%s no lane of its own (%s): answers go by the worker "
               "thread",
               ex.cfg->worker_id, err.msg);
    zsock_signal(pipe, 0);
    for (;;) {
        /* the round trips noted after the last answers (their store) ride
         * with the next ones, or go on their own if none come soon */
        if (ex.stores.size && !is_coming(pipe, STORE_LAG_MS))
            sl_batch_store_wait(&ex);
        if (ex.answered.size && !is_coming(pipe, TELL_LAG_MS))
            tell_worker(&ex, NULL);
        if (ex.trips.size && !is_coming(pipe, STATS_LAG_MS))
            tell_worker(&ex, NULL);
        zmsg_t *msg = zmsg_recv(pipe);
        if (!msg)
            break;
        char *command = zmsg_popstr(msg);
        bool is_term = !command || strcmp(command, "$TERM") == 0;
        if (!is_term && strcmp(command, "T") == 0)
            run_queued(&ex);
        /* a "C" between batches names tasks answered already */
        free(command);
        zmsg_destroy(&msg);
        if (is_term || ex.is_term)
            break;
    }
    sl_batch_store_wait(&ex);
    sl_cache_pool_destroy(&ex.caches);
    sl_digest_memo_destroy(&ex.memo);
    sl_workdir_destroy(&ex.workdir);
    zsock_destroy(&ex.lane); /* lingers to deliver what it was given */
    sl_buf_fini(&ex.trips);
    sl_buf_fini(&ex.stores);
    sl_buf_fini(&ex.answered);
    sl_buf_fini(&ex.answered_stats);
    free(ex.cost_us);
}

zactor_t *
sl_executor_new(const sl_executor_config_t *cfg, sl_cancel_board_t *board,
                sl_task_queue_t *queue, uint32_t index)
{
    start_t *start = malloc(sizeof *start);
    if (!start)
        return NULL;
    *start = (start_t){cfg, board, queue, index};
    zactor_t *actor = zactor_new(executor_actor, start);
    if (!actor)
        free(start); /* the actor never ran */
    return actor;
}
