/* worker/executor.c: an executor thread. Owns its cache connections and
 * shares nothing with other threads but the read-only registry; talks to the
 * worker thread only over its actor pipe. For each batch of tasks: one
 * pipelined lookup per cache, hits answered at once, misses computed one by
 * one, stored with their TTL and answered as each finishes. A cache failure
 * never fails a task: it is computed and the result says the cache failed. */
#include "executor.h"

#include "cache_pool.h"
#include "entry.h"
#include "envelope.h"
#include "key.h"
#include "log.h"
#include "caps.h"
#include "task_ctx.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Idle cache connections an executor keeps between batches. A batch
 * that names more URLs opens more: none of its jobs' connections changes
 * under it (cache_pool.c). */
#define KEEP_CACHES 8
/* How long a worker's lock on a key it computes lasts: others wait for the
 * entry that long at most, then compute it themselves. */
#define LOCK_MS 5000

typedef struct {
    const sl_executor_config_t *cfg;  /* borrowed from the worker */
    zsock_t *pipe;                    /* to the worker thread */
    sl_cache_pool_t *caches;          /* connections by URL */
    sl_task_ctx_t ctx;                /* handed to each task */
    bool has_warned_timeout;          /* said once that it cannot enforce */
    bool is_last_send;                /* the next results end the batch */
    bool has_said_idle;               /* they went as "RI": idle said */
    sl_buf_t trips;                   /* sl_exec_cache_stat_t of the cache
                                         round trips since the last "R" */
    sl_cancel_board_t *board;         /* shared with the worker thread */
    bool is_term;                     /* $TERM came during a batch */
} executor_t;

/* What the actor is started with. */
typedef struct {
    const sl_executor_config_t *cfg;
    sl_cancel_board_t *board;
} start_t;

typedef struct {
    Sluice__Task *task;          /* unpacked, owned */
    const sl_task_def_t *def;    /* the code to run, NULL if unknown */
    sl_value_t *args;            /* owned */
    sl_pooled_cache_t *slot;     /* pinned until the batch ends; NULL:
                                    cache: none */
    char key[SL_KEY_MAX_BYTES + 1];
    uint8_t digest[SL_DIGEST_BYTES]; /* input digest */
    Sluice__Result result;       /* what goes back */
    sl_value_t *value;           /* the result value, owned */
    char error[512];             /* result.error storage */
    char cache_error[512];       /* result.cache_error storage */
    bool is_looked_up;           /* its key went to the cache */
    bool is_locked;              /* this worker holds its key's lock */
    bool is_contended;           /* another worker held the lock */
    sl_buf_t entry;              /* encoded entry waiting to be stored */
    bool needs_store;            /* entry goes to the cache at the flush */
    char token[300];             /* the lock's value: task id, attempt, us */
    bool is_done;                /* result is final */
    bool is_cancelled;           /* its run was cancelled */
    uint8_t rejected;            /* SL_REJECT_*: a stored entry refused */
} job_t;

static uint64_t
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Notes a cache round trip that began at start_us, for /metrics (sent
 * with the next results; dropped if memory runs out). */
static void
note_trip(executor_t *ex, sl_cache_op_t op, uint64_t start_us, uint32_t ok,
          uint32_t other, uint32_t failed)
{
    sl_exec_cache_stat_t t = {now_us() - start_us, ok, other, failed,
                              (uint8_t)op};
    sl_buf_append(&ex->trips, &t, sizeof t);
}

static void fail_job(job_t *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The job's answer is this error, a failure of the task. */
static void
fail_job(job_t *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->error, sizeof j->error, fmt, ap);
    va_end(ap);
    j->result.status = SLUICE__RESULT__STATUS__ERROR;
    j->result.failure = SLUICE__RESULT__FAILURE__TASK_ERROR;
    j->result.error = j->error;
    j->is_done = true;
}

static void
cache_failed(job_t *j, const char *msg)
{
    snprintf(j->cache_error, sizeof j->cache_error, "%s", msg);
    j->result.cache = SLUICE__RESULT__CACHE__CACHE_ERROR;
    j->result.cache_error = j->cache_error;
}

static void
prepare(executor_t *ex, job_t *j, zframe_t *frame)
{
    sl_error_t err = {0};
    sluice__result__init(&j->result);
    j->task = (Sluice__Task *)sl_wire_unpack(&sluice__task__descriptor,
                                             zframe_data(frame),
                                             zframe_size(frame));
    if (!j->task)
        return fail_job(j, "task message does not decode");
    Sluice__Task *t = j->task;
    j->result.task_id = t->task_id;
    j->result.attempt = t->attempt;
    j->def = sl_registry_find(ex->cfg->registry, t->name, t->version);
    if (!j->def)
        return fail_job(j, "this worker has no task '%s'", t->name);
    j->result.version = j->def->version;
    if (sl_wire_value_unpack(t->args, &j->args, &err) < 0)
        return fail_job(j, "bad args: %s", err.msg);
    if (sl_value_type(j->args) != SL_LIST)
        return fail_job(j, "args must be a list");
    if (t->cache == SLUICE__FLOW_NODE__CACHE_MODE__NONE) {
        j->result.cache = SLUICE__RESULT__CACHE__SKIPPED;
        return;
    }
    if (sl_digest_task(j->def->name, j->def->version, j->args, j->digest) < 0 ||
        sl_key_build(j->key, sizeof j->key, (sl_cache_mode_t)t->cache,
                     t->cache_namespace, j->def->name, t->cache_key,
                     j->digest) < 0)
        return fail_job(j, "cannot make a cache key for task '%s'", t->name);
    j->result.cache_key = j->key;
    const char *url = ex->cfg->cache_url ? ex->cfg->cache_url
                      : *t->cache_url    ? t->cache_url
                                         : ex->cfg->fallback_url;
    j->slot = ex->caches ? sl_cache_pool_take(ex->caches, url) : NULL;
    if (!j->slot)
        cache_failed(j, "out of memory opening the cache");
    else if (!j->slot->cache)
        cache_failed(j, j->slot->error);
    if (t->refresh)
        j->result.cache = SLUICE__RESULT__CACHE__REFRESHED;
}

/* With trusted keys: whether the entry in bytes may answer j (signed by
 * a trusted key for j's key, not past its signed expiry, of j's task
 * version). A refusal is logged and noted in j->rejected. */
static bool
is_trusted(const executor_t *ex, job_t *j, const sl_buf_t *bytes,
           const sl_entry_t *e)
{
    static const uint8_t reasons[] = {
        [SL_SIGN_UNSIGNED] = SL_REJECT_UNSIGNED,
        [SL_SIGN_UNTRUSTED] = SL_REJECT_UNTRUSTED,
        [SL_SIGN_BAD] = SL_REJECT_BAD};
    static const char *why[] = {
        [SL_REJECT_UNSIGNED] = "is not signed",
        [SL_REJECT_UNTRUSTED] = "is signed by a key not trusted",
        [SL_REJECT_BAD] = "has a signature that does not match (tampered, "
                          "or copied from another key)",
        [SL_REJECT_EXPIRED] = "is past the expiry it was signed with "
                              "(replayed?)",
        [SL_REJECT_VERSION] = "was computed by another version of the task"};
    if (!ex->cfg->trust)
        return true;
    sl_sign_check_t c = sl_sign_verify(ex->cfg->trust, j->key, bytes->data,
                                       bytes->size);
    if (c != SL_SIGN_OK)
        j->rejected = reasons[c];
    else if (e->expires_ms && e->expires_ms <= sl_entry_now_ms())
        j->rejected = SL_REJECT_EXPIRED;
    else if (e->version != j->def->version)
        j->rejected = SL_REJECT_VERSION;
    if (j->rejected)
        sl_log(SL_LOG_WARN, "executor", "key=%s entry refused, treated as a "
               "miss: it %s", j->key, why[j->rejected]);
    return !j->rejected;
}

/* A stored entry refused: logged (the first few per batch would be as
 * many as the batch: one line per key is what an operator needs) and
 * noted in j->rejected for /metrics. */
static void
refuse(job_t *j, uint8_t reason, const char *why)
{
    j->rejected = reason;
    sl_log(SL_LOG_WARN, "executor", "key=%s entry refused, treated as a "
           "miss: %s", j->key, why);
}

/* A stored entry answers the job, unless it is over the cap, does not
 * decode, was made for another key, is not trusted, or (validate: inputs)
 * was computed from other inputs: then it is a miss, logged and counted,
 * and the task computes. */
static void
take_hit(const executor_t *ex, job_t *j, const sl_buf_t *bytes)
{
    static const uint8_t reasons[] = {
        [SL_ENTRY_CORRUPT] = SL_REJECT_CORRUPT,
        [SL_ENTRY_OTHER_KEY] = SL_REJECT_OTHER_KEY,
        [SL_ENTRY_TOO_LARGE] = SL_REJECT_TOO_LARGE};
    sl_entry_t e = {0};
    sl_error_t err = {0};
    sl_entry_verdict_t v = sl_entry_read(bytes->data, bytes->size, j->key, &e,
                                         &err);
    if (v != SL_ENTRY_OK)
        return refuse(j, reasons[v], err.msg);
    bool is_other_input = j->task->validate_inputs &&
                          (!e.has_input_digest ||
                           memcmp(e.input_digest, j->digest, SL_DIGEST_BYTES));
    if (!is_trusted(ex, j, bytes, &e)) {
        /* logged; computed, and stored afresh */
    } else if (is_other_input) {
        sl_log(SL_LOG_INFO, "executor", "key=%s entry is for other inputs, "
               "treated as a miss", j->key);
    } else {
        j->value = e.value;
        e.value = NULL;
        j->result.cache = SLUICE__RESULT__CACHE__HIT;
        j->is_done = true;
    }
    sl_entry_fini(&e);
}

/* A lookup's answer for j: a hit to check, a miss, or a stored value over
 * the read cap (a miss, counted). */
static void
take_answer(const executor_t *ex, job_t *j, int rc, const sl_buf_t *bytes)
{
    char why[128];
    if (rc == 0)
        take_hit(ex, j, bytes);
    else if (rc == SL_ETOOBIG) {
        snprintf(why, sizeof why, "the stored value is over the read cap of "
                 "%u bytes", SL_CACHE_READ_MAX_BYTES);
        refuse(j, SL_REJECT_TOO_LARGE, why);
    }
}

static bool
wants_lookup(const job_t *j)
{
    return !j->is_done && !j->is_looked_up && j->slot && j->slot->cache &&
           !j->task->refresh;
}

/* The value of the lock this attempt takes on j's key. */
static void
make_token(const executor_t *ex, job_t *j)
{
    snprintf(j->token, sizeof j->token, "%llx:%u:%s",
             (unsigned long long)j->task->task_id, j->task->attempt,
             ex->cfg->worker_id);
}

/* Batches this small look their keys up and take their locks in one round
 * trip (a hit's lock is released after its result is sent); bigger ones
 * spend a round trip on locking the misses only, not every key. */
#define PROBE_MAX 8

/* Looks the keys of which[0..count) up and takes their locks (count <=
 * PROBE_MAX). */
static void
probe_keys(executor_t *ex, job_t **which, size_t count)
{
    sl_cache_probe_t probes[PROBE_MAX] = {{0}};
    sl_error_t err = {0};
    uint64_t start = now_us();
    uint32_t hits = 0;
    for (size_t i = 0; i < count; i++) {
        make_token(ex, which[i]);
        probes[i].key = which[i]->key;
        probes[i].token = which[i]->token;
    }
    bool is_failed = sl_cache_probe_batch(which[0]->slot->cache, probes, count,
                                          LOCK_MS, &err) < 0;
    for (size_t i = 0; is_failed && i < count; i++)
        cache_failed(which[i], err.msg);
    for (size_t i = 0; i < count; i++)
        hits += !is_failed && probes[i].rc == 0;
    note_trip(ex, SL_CACHE_OP_GET, start, hits,
              is_failed ? 0 : (uint32_t)count - hits,
              is_failed ? (uint32_t)count : 0);
    for (size_t i = 0; i < count; i++) {
        job_t *j = which[i];
        if (!is_failed)
            take_answer(ex, j, probes[i].rc, &probes[i].value);
        j->is_locked = probes[i].is_locked;
        j->is_contended = probes[i].rc == SL_ENOTFOUND && !j->is_locked;
        if (!j->is_done && !j->is_locked && !j->is_contended)
            j->token[0] = '\0'; /* a refused entry: lock_misses tries */
        sl_buf_fini(&probes[i].value);
    }
}

/* Looks the keys of which[0..count) up, without locks. */
static void
get_keys(executor_t *ex, job_t **which, size_t count)
{
    uint64_t start = now_us();
    uint32_t hits = 0;
    const char **keys = calloc(count, sizeof *keys);
    sl_buf_t *outs = calloc(count, sizeof *outs);
    int *rcs = calloc(count, sizeof *rcs);
    sl_error_t err = {0};
    for (size_t i = 0; keys && i < count; i++)
        keys[i] = which[i]->key;
    if (!keys || !outs || !rcs)
        sl_error_set(&err, SL_ENOMEM, "out of memory");
    if (err.code || sl_cache_get_batch(which[0]->slot->cache, keys, count,
                                       outs, rcs, &err) < 0)
        for (size_t i = 0; i < count; i++)
            cache_failed(which[i], err.msg);
    for (size_t i = 0; outs && i < count; i++) {
        hits += !err.code && rcs[i] == 0;
        if (!err.code)
            take_answer(ex, which[i], rcs[i], &outs[i]);
        sl_buf_fini(&outs[i]);
    }
    note_trip(ex, SL_CACHE_OP_GET, start, hits,
              err.code ? 0 : (uint32_t)count - hits,
              err.code ? (uint32_t)count : 0);
    free(keys);
    free(outs);
    free(rcs);
}

/* One pipelined lookup per cache for the jobs that want one. */
static void
lookup(executor_t *ex, job_t *jobs, size_t n)
{
    job_t **which = calloc(n + 1, sizeof *which);
    for (size_t first = 0; which && first < n; first++) {
        if (!wants_lookup(&jobs[first]))
            continue;
        size_t count = 0;
        for (size_t i = first; i < n; i++)
            if (jobs[i].slot == jobs[first].slot && wants_lookup(&jobs[i]))
                which[count++] = &jobs[i];
        for (size_t i = 0; i < count; i++)
            which[i]->is_looked_up = true;
        if (count <= PROBE_MAX)
            probe_keys(ex, which, count);
        else
            get_keys(ex, which, count);
    }
    free(which);
}

static void
fill_arg_digests(sl_entry_t *e, const sl_value_t *args)
{
    e->arg_count = sl_value_count(args);
    e->arg_digests = calloc(e->arg_count + 1, SL_DIGEST_BYTES);
    if (!e->arg_digests) {
        e->arg_count = 0;
        return;
    }
    for (size_t i = 0; i < e->arg_count; i++)
        sl_digest_value(sl_value_at(args, i), e->arg_digests[i]);
}

/* Encodes a computed value into j->entry for the next flush to store with
 * the task's TTL; or says in result.cache why it will not be stored. */
static void
encode_entry(executor_t *ex, job_t *j, uint64_t duration_us)
{
    const Sluice__Task *t = j->task;
    if (!j->slot || !j->slot->cache)
        return; /* none, or already a cache error */
    if (t->ttl_ms == 0 || t->ttl_ms < SL_TTL_FOREVER)
        return cache_failed(j, "the task has no valid TTL: not stored");
    sl_entry_t e = {.value = j->value,
                    .task = (char *)j->def->name,
                    .version = j->def->version,
                    .has_input_digest = true,
                    .created_ms = sl_entry_now_ms(),
                    .duration_us = duration_us,
                    .producer = (char *)ex->cfg->worker_id};
    memcpy(e.input_digest, j->digest, SL_DIGEST_BYTES);
    sl_entry_key_digest(j->key, e.key_digest);
    e.expires_ms = t->ttl_ms == SL_TTL_FOREVER ? 0 : e.created_ms + t->ttl_ms;
    fill_arg_digests(&e, j->args);
    sl_error_t err = {0};
    int rc = sl_entry_encode(&e, &j->entry, &err);
    free(e.arg_digests);
    if (rc == 0 && ex->cfg->sign_key &&
        sl_sign_entry(ex->cfg->sign_key, j->key, &j->entry) < 0)
        rc = sl_error_set(&err, SL_ENOMEM, "out of memory signing the "
                          "entry");
    if (rc < 0) {
        cache_failed(j, err.msg);
    } else if (j->entry.size > SL_CACHE_VALUE_MAX_BYTES) {
        j->result.cache = SLUICE__RESULT__CACHE__TOO_LARGE;
        snprintf(j->cache_error, sizeof j->cache_error, "entry of %zu bytes "
                 "is over the cache cap of %u: not stored", j->entry.size,
                 SL_CACHE_VALUE_MAX_BYTES);
        j->result.cache_error = j->cache_error;
    } else {
        j->needs_store = true;
    }
}

static void
compute(executor_t *ex, job_t *j)
{
    static const Sluice__Result__Failure kinds[] = {
        [SL_ISOLATE_ERROR] = SLUICE__RESULT__FAILURE__TASK_ERROR,
        [SL_ISOLATE_TIMEOUT] = SLUICE__RESULT__FAILURE__TIMEOUT,
        [SL_ISOLATE_CRASH] = SLUICE__RESULT__FAILURE__CRASH,
        [SL_ISOLATE_CANCELLED] = SLUICE__RESULT__FAILURE__CANCELLED};
    char why[512];
    uint64_t start = now_us();
    sl_isolate_outcome_t outcome = SL_ISOLATE_OK;
    ex->ctx.task_id = j->task->task_id;
    atomic_store(&ex->board->running, j->task->task_id);
    if (ex->cfg->is_isolated) {
        outcome = sl_isolate_run(j->def, &ex->ctx, j->args, &ex->cfg->limits,
                                 j->task->timeout_ms, &j->value, why,
                                 sizeof why);
    } else {
        if (j->task->timeout_ms && !ex->has_warned_timeout) {
            sl_log(SL_LOG_WARN, "executor", "task=%s has a timeout, which "
                   "only a worker started with --isolate enforces",
                   j->def->name);
            ex->has_warned_timeout = true;
        }
        ex->ctx.has_failed = false;
        ex->ctx.error[0] = '\0';
        int rc = j->def->fn(&ex->ctx, j->args, &j->value);
        if (sl_task_is_cancelled(&ex->ctx)) {
            outcome = SL_ISOLATE_CANCELLED; /* its value is not wanted */
            snprintf(why, sizeof why, "cancelled while it ran");
        } else if (rc != 0 || ex->ctx.has_failed || !j->value) {
            outcome = SL_ISOLATE_ERROR;
            snprintf(why, sizeof why, "%s", ex->ctx.has_failed ? ex->ctx.error
                     : rc != 0 ? "the task failed and gave no reason"
                               : "the task returned no value");
        }
    }
    atomic_store(&ex->board->running, 0);
    ex->ctx.task_id = 0;
    uint64_t duration_us = now_us() - start;
    j->result.duration_us = duration_us;
    if (outcome != SL_ISOLATE_OK) {
        sl_value_destroy(&j->value);
        fail_job(j, "%s", why);
        j->result.failure = kinds[outcome];
        return;
    }
    j->is_done = true;
    encode_entry(ex, j, duration_us);
}

/* Appends the frames of sl_exec_result_stat_t for jobs[0..n) and of the
 * cache round trips noted since the last results. */
static void
add_stats(executor_t *ex, zmsg_t *msg, job_t **jobs, size_t n)
{
    zframe_t *f = zframe_new(NULL, n * sizeof(sl_exec_result_stat_t));
    for (size_t i = 0; f && i < n; i++) {
        const Sluice__Result *r = &jobs[i]->result;
        sl_exec_result_stat_t st = {jobs[i]->def, r->duration_us,
                                    (uint8_t)r->status, (uint8_t)r->failure,
                                    (uint8_t)r->cache, jobs[i]->rejected};
        memcpy(zframe_data(f) + i * sizeof st, &st, sizeof st);
    }
    zmsg_append(msg, &f);
    zmsg_addmem(msg, ex->trips.data, ex->trips.size);
    ex->trips.size = 0;
}

/* Room for everything but the values in one message. */
#define MSG_SLACK_BYTES (64u << 10)

/* Sends the results of jobs[0..n) as one envelope, or one each when they
 * do not fit in one message. A value too big for any message becomes an
 * error that says so (the broker would drop the connection otherwise). */
static void
send_results(executor_t *ex, job_t **jobs, size_t n)
{
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    Sluice__ResultBatch batch = SLUICE__RESULT_BATCH__INIT;
    Sluice__Result **results = calloc(n + 1, sizeof *results);
    size_t total = 0;
    if (!results || n == 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        sl_error_t err = {0};
        results[i] = &jobs[i]->result;
        if (jobs[i]->value &&
            sl_wire_value_view(jobs[i]->value, &results[i]->value, &err) < 0) {
            sl_value_destroy(&jobs[i]->value);
            fail_job(jobs[i], "result: %s", err.msg);
        }
        size_t size = results[i]->value
                          ? sluice__value__get_packed_size(results[i]->value)
                          : 0;
        if (size > SL_MSG_MAX_BYTES - MSG_SLACK_BYTES) {
            free(results[i]->value);
            results[i]->value = NULL;
            sl_value_destroy(&jobs[i]->value);
            char why[128];
            snprintf(why, sizeof why, "result of %zu bytes is over the "
                     "message cap of %u", size, SL_MSG_MAX_BYTES);
            fail_job(jobs[i], "%s", why);
            size = 0;
        }
        total += size;
    }
    if (n > 1 && total > SL_MSG_MAX_BYTES - MSG_SLACK_BYTES) {
        bool is_last = ex->is_last_send;
        for (size_t i = 0; i < n; i++) { /* one message each */
            free(results[i]->value);
            results[i]->value = NULL;
            ex->is_last_send = is_last && i == n - 1;
            send_results(ex, &jobs[i], 1);
        }
        goto out;
    }
    batch.n_results = n;
    batch.results = results;
    env.body_case = SLUICE__ENVELOPE__BODY_RESULTS;
    env.results = &batch;
    env.version = SL_PROTOCOL_VERSION;
    zframe_t *frame = zframe_new(NULL, sluice__envelope__get_packed_size(&env));
    sluice__envelope__pack(&env, zframe_data(frame));
    zframe_t *ids = zframe_new(NULL, n * sizeof(uint64_t));
    for (size_t i = 0; i < n; i++)
        memcpy(zframe_data(ids) + i * sizeof(uint64_t),
               &jobs[i]->result.task_id, sizeof(uint64_t));
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, ex->is_last_send ? "RI" : "R"); /* RI: and now idle */
    ex->has_said_idle = ex->is_last_send;
    zmsg_append(msg, &frame);
    zmsg_append(msg, &ids);
    add_stats(ex, msg, jobs, n);
    zmsg_send(&msg, ex->pipe);
    for (size_t i = 0; i < n; i++) {
        free(results[i]->value);
        results[i]->value = NULL;
    }
out:
    free(results);
}

static void
pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Whether the lock on j's key is held by an earlier attempt of the same
 * task (a worker that died holding it): then it is ours to take. */
static bool
is_stale_attempt(sl_cache_t *cache, const job_t *j)
{
    char lock[SL_KEY_MAX_BYTES + 8];
    unsigned long long id = 0;
    unsigned attempt = 0;
    sl_buf_t held = {0};
    snprintf(lock, sizeof lock, "%s:lock", j->key);
    bool is_stale = sl_cache_get(cache, lock, &held, NULL) == 0 &&
                    sscanf(held.data, "%llx:%u:", &id, &attempt) == 2 &&
                    id == j->task->task_id && attempt < j->task->attempt;
    sl_buf_fini(&held);
    if (is_stale)
        sl_cache_set(cache, lock, j->token, strlen(j->token), LOCK_MS, NULL);
    return is_stale;
}

/* Before computing a miss: take the key's lock, or wait while another
 * worker (behind another broker) computes it. True if the entry arrived
 * meanwhile (j is answered); false to compute (holding the lock, or not if
 * the cache fails or the holder took too long). */
static bool
wait_for_peer(const executor_t *ex, job_t *j)
{
    sl_cache_t *cache = j->slot ? j->slot->cache : NULL;
    if (!cache || j->task->refresh || !j->key[0] ||
        j->result.cache == SLUICE__RESULT__CACHE__CACHE_ERROR)
        return false;
    make_token(ex, j);
    int64_t deadline = sl_entry_now_ms() + LOCK_MS;
    for (int delay = 10;; delay = delay < 200 ? delay * 2 : 200) {
        int rc = sl_cache_lock(cache, j->key, j->token, LOCK_MS, NULL);
        bool is_ours = rc == 0 || (rc == SL_EEXIST && is_stale_attempt(cache, j));
        sl_buf_t entry = {0};
        if (rc != 0 && rc != SL_EEXIST)
            return false; /* the cache failed: compute without it */
        if (!is_ours)
            pause_ms(delay);
        int got = sl_cache_get(cache, j->key, &entry, NULL);
        if (got == 0 || got == SL_ETOOBIG)
            take_answer(ex, j, got, &entry); /* stored by the holder */
        sl_buf_fini(&entry);
        if (j->is_done) {
            if (is_ours)
                sl_cache_unlock(cache, j->key, j->token, NULL);
            return true;
        }
        if (is_ours) {
            j->is_locked = true;
            return false;
        }
        if (sl_entry_now_ms() > deadline)
            return false;
    }
}

static bool
wants_lock(const job_t *j)
{
    return !j->is_done && j->slot && j->slot->cache && !j->task->refresh &&
           j->key[0] && j->result.cache != SLUICE__RESULT__CACHE__CACHE_ERROR;
}

/* Before computing the misses: one pipelined lock per cache for all of
 * them. A key another worker holds is waited for job by job. */
static void
lock_misses(executor_t *ex, job_t *jobs, size_t n)
{
    const char **keys = calloc(n + 1, sizeof *keys);
    const char **tokens = calloc(n + 1, sizeof *tokens);
    job_t **which = calloc(n + 1, sizeof *which);
    int *rcs = calloc(n + 1, sizeof *rcs);
    for (size_t first = 0; keys && tokens && which && rcs && first < n;
         first++) {
        if (!wants_lock(&jobs[first]) || jobs[first].token[0])
            continue;
        sl_pooled_cache_t *slot = jobs[first].slot;
        size_t count = 0;
        for (size_t i = first; i < n; i++) {
            job_t *j = &jobs[i];
            if (j->slot != slot || !wants_lock(j) || j->token[0])
                continue;
            make_token(ex, j);
            which[count] = j;
            tokens[count] = j->token;
            keys[count++] = j->key;
        }
        uint64_t start = now_us();
        uint32_t taken = 0, held = 0;
        if (sl_cache_lock_batch(slot->cache, keys, tokens, count, LOCK_MS,
                                rcs, NULL) < 0) {
            note_trip(ex, SL_CACHE_OP_LOCK, start, 0, 0, (uint32_t)count);
            continue; /* the cache failed: compute without locks */
        }
        for (size_t i = 0; i < count; i++) {
            which[i]->is_locked = rcs[i] == 0;
            which[i]->is_contended = rcs[i] == SL_EEXIST;
            taken += rcs[i] == 0;
            held += rcs[i] == SL_EEXIST;
        }
        note_trip(ex, SL_CACHE_OP_LOCK, start, taken, held,
                  (uint32_t)count - taken - held);
    }
    free(keys);
    free(tokens);
    free(which);
    free(rcs);
}

/* Stores the computed entries of jobs[0..n) and releases their locks, in
 * one pipelined round trip per cache. */
static void
store(executor_t *ex, job_t **jobs, size_t n)
{
    sl_cache_item_t *items = calloc(n + 1, sizeof *items);
    job_t **which = calloc(n + 1, sizeof *which);
    for (size_t first = 0; items && which && first < n; first++) {
        job_t *head = jobs[first];
        if (!head->needs_store && !head->is_locked)
            continue;
        size_t count = 0;
        for (size_t i = first; i < n; i++) {
            job_t *j = jobs[i];
            if (j->slot != head->slot || (!j->needs_store && !j->is_locked))
                continue;
            items[count] = (sl_cache_item_t){
                j->key, j->needs_store ? j->entry.data : NULL, j->entry.size,
                j->task->ttl_ms, j->is_locked ? j->token : NULL};
            j->needs_store = j->is_locked = false;
            which[count++] = j;
        }
        sl_error_t err = {0};
        uint64_t start = now_us();
        bool is_failed = sl_cache_set_batch(head->slot->cache, items, count,
                                            &err) < 0;
        uint32_t stored = 0;
        for (size_t i = 0; i < count; i++)
            stored += items[i].data != NULL;
        note_trip(ex, SL_CACHE_OP_SET, start, is_failed ? 0 : stored,
                  is_failed ? 0 : (uint32_t)count - stored,
                  is_failed ? (uint32_t)count : 0);
        for (size_t i = 0; is_failed && i < count; i++)
            if (which[i]->result.cache != SLUICE__RESULT__CACHE__HIT)
                cache_failed(which[i], err.msg);
    }
    free(items);
    free(which);
}

/* Stores, then sends the results of jobs[0..n) together. */
static void
flush(executor_t *ex, job_t **jobs, size_t n)
{
    store(ex, jobs, n);
    send_results(ex, jobs, n);
}

/* Results of computed tasks wait at most this long for the next flush. */
#define FLUSH_US 1000

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
                           k < zframe_size(ids) / sizeof(uint64_t); k++) {
            uint64_t id;
            memcpy(&id, zframe_data(ids) + k * sizeof id, sizeof id);
            for (size_t i = 0; i < n; i++)
                if (jobs[i].task && jobs[i].task->task_id == id)
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
    fail_job(j, "cancelled before it ran");
    j->result.failure = SLUICE__RESULT__FAILURE__CANCELLED;
}

static void
run_batch(executor_t *ex, zmsg_t *msg)
{
    size_t n = zmsg_size(msg);
    job_t *jobs = calloc(n + 1, sizeof *jobs);
    job_t **ready = calloc(n + 1, sizeof *ready);
    size_t i = 0, ready_count = 0;
    if (!jobs || !ready)
        goto out;
    for (zframe_t *f = zmsg_first(msg); f; f = zmsg_next(msg))
        prepare(ex, &jobs[i++], f);
    lookup(ex, jobs, n);
    for (i = 0; i < n; i++)
        if (jobs[i].is_done)
            ready[ready_count++] = &jobs[i];
    ex->is_last_send = ready_count == n; /* all answered: the batch ends */
    send_results(ex, ready, ready_count); /* hits and bad tasks at once */
    ex->is_last_send = false;
    if (ready_count == n)
        goto unlock;
    lock_misses(ex, jobs, n);
    ready_count = 0;
    uint64_t flush_at = now_us() + FLUSH_US;
    for (i = 0; i < n; i++) {
        job_t *j = &jobs[i];
        if (j->is_done)
            continue;
        take_cancels(ex, jobs, n);
        if (ex->is_term)
            break; /* stopping: the broker gives the rest to others */
        if (j->is_cancelled)
            cancel_job(j);
        else if (!(j->is_contended && wait_for_peer(ex, j)))
            compute(ex, j);
        ready[ready_count++] = j;
        if (now_us() >= flush_at) {
            flush(ex, ready, ready_count);
            ready_count = 0;
            flush_at = now_us() + FLUSH_US;
        }
    }
    ex->is_last_send = true;
    flush(ex, ready, ready_count);
    ex->is_last_send = false;
unlock:
    ready_count = 0; /* hits that took a lock in their probe release it */
    for (i = 0; i < n; i++)
        if (jobs[i].is_locked)
            ready[ready_count++] = &jobs[i];
    store(ex, ready, ready_count);
    for (i = 0; i < n; i++) {
        if (ex->caches)
            sl_cache_pool_give(ex->caches, &jobs[i].slot);
        sl_value_destroy(&jobs[i].args);
        sl_value_destroy(&jobs[i].value);
        sl_buf_fini(&jobs[i].entry);
        if (jobs[i].task)
            sluice__task__free_unpacked(jobs[i].task, NULL);
    }
out:
    free(jobs);
    free(ready);
}

static void
executor_actor(zsock_t *pipe, void *args)
{
    start_t *start = args;
    executor_t ex = {.cfg = start->cfg, .pipe = pipe, .board = start->board};
    free(start);
    ex.ctx.worker_id = ex.cfg->worker_id;
    ex.ctx.board = ex.board;
    ex.caches = sl_cache_pool_new(KEEP_CACHES); /* NULL: tasks run uncached */
    zsock_signal(pipe, 0);
    for (;;) {
        zmsg_t *msg = zmsg_recv(pipe);
        if (!msg)
            break;
        char *command = zmsg_popstr(msg);
        bool is_term = !command || strcmp(command, "$TERM") == 0;
        if (!is_term && strcmp(command, "T") == 0) {
            ex.has_said_idle = false;
            run_batch(&ex, msg);
            if (!ex.has_said_idle)
                zstr_send(pipe, "I");
        } /* a "C" between batches names tasks answered already */
        free(command);
        zmsg_destroy(&msg);
        if (is_term || ex.is_term)
            break;
    }
    sl_cache_pool_destroy(&ex.caches);
    sl_buf_fini(&ex.trips);
}

zactor_t *
sl_executor_new(const sl_executor_config_t *cfg, sl_cancel_board_t *board)
{
    start_t *start = malloc(sizeof *start);
    if (!start)
        return NULL;
    *start = (start_t){cfg, board};
    zactor_t *actor = zactor_new(executor_actor, start);
    if (!actor)
        free(start); /* the actor never ran */
    return actor;
}
