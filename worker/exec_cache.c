/* worker/exec_cache.c: the cache side of an executor's batch (batch.h):
 * pipelined lookups (and, for small batches, the misses' locks in the
 * same round trip), every hit checked before it answers (entry.h, and the
 * signature with --trust), the locks of the misses, waiting while a worker
 * behind another broker computes a key, entries encoded and stored in one
 * round trip per cache. Runs on one executor thread. A cache failure
 * never fails a task: the job computes and its outcome says so. */
#include "batch.h"

#include "entry.h"
#include "key.h"
#include "lock_token.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* With trusted keys: whether the entry in bytes may answer j (signed by
 * a trusted key for j's key, not past its signed expiry, of j's task
 * version). A refusal is logged and noted in j->rejected. */
static bool
is_trusted(const executor_t *ex, job_t *j, const sl_buf_t *bytes,
           const sl_entry_t *e)
{
    static const uint8_t reasons[] = {[SL_SIGN_UNSIGNED] = SL_REJECT_UNSIGNED,
                                      [SL_SIGN_UNTRUSTED] = SL_REJECT_UNTRUSTED,
                                      [SL_SIGN_BAD] = SL_REJECT_BAD};
    static const char *why[] = {[SL_REJECT_UNSIGNED] = "is not signed",
                                [SL_REJECT_UNTRUSTED] = "is signed by a key "
                                                        "not trusted",
                                [SL_REJECT_BAD] = "has a signature that does "
                                                  "not match (tampered, or "
                                                  "copied from another key)",
                                [SL_REJECT_EXPIRED] = "is past the expiry it "
                                                      "was signed with "
                                                      "(replayed?)",
                                [SL_REJECT_VERSION] = "was computed by another "
                                                      "version of the task"};
    if (!ex->cfg->trust)
        return true;
    sl_sign_check_t c =
        sl_sign_verify(ex->cfg->trust, j->key, bytes->data, bytes->size);
    if (c != SL_SIGN_OK)
        j->rejected = reasons[c];
    else if (e->expires_ms && e->expires_ms <= sl_entry_now_ms())
        j->rejected = SL_REJECT_EXPIRED;
    else if (e->version != j->def->version)
        j->rejected = SL_REJECT_VERSION;
    if (j->rejected)
        sl_log(SL_LOG_WARN, "executor",
               "key=%s entry refused, treated as a miss: it %s", j->key,
               why[j->rejected]);
    return !j->rejected;
}

/* A stored entry refused: logged (the first few per batch would be as
 * many as the batch: one line per key is what an operator needs) and
 * noted in j->rejected for /metrics. */
static void
refuse(job_t *j, uint8_t reason, const char *why)
{
    j->rejected = reason;
    sl_log(SL_LOG_WARN, "executor",
           "key=%s entry refused, treated as a miss: %s", j->key, why);
}

/* A hit of a program task that wrote files: they are put back into the
 * workspace from their blobs; if one cannot be, the hit cannot be served
 * (a miss, counted as outputs_gone). */
static bool
has_outputs_back(const executor_t *ex, job_t *j, const sl_entry_t *e)
{
    sl_error_t err = {0};
    if (!e->output_count)
        return true;
    sl_blob_store_t store = {j->slot->cache, j->call.cache_namespace,
                             ex->cfg->programs->blob_dir};
    if (sl_outputs_restore(e, &store, ex->cfg->programs->workspace, ex->memo,
                           &err) == 0)
        return true;
    refuse(j, SL_REJECT_OUTPUTS, err.msg);
    return false;
}

/* A stored entry answers the job, unless it is over the cap, does not
 * decode, was made for another key, is not trusted, or (validate: inputs)
 * was computed from other inputs: then it is a miss, logged and counted,
 * and the task computes. */
static void
take_hit(const executor_t *ex, job_t *j, const sl_buf_t *bytes)
{
    static const uint8_t reasons[] = {[SL_ENTRY_CORRUPT] = SL_REJECT_CORRUPT,
                                      [SL_ENTRY_OTHER_KEY] =
                                          SL_REJECT_OTHER_KEY,
                                      [SL_ENTRY_TOO_LARGE] =
                                          SL_REJECT_TOO_LARGE};
    sl_entry_t e = {0};
    sl_error_t err = {0};
    sl_entry_verdict_t v =
        sl_entry_read(bytes->data, bytes->size, j->key, &e, &err);
    if (v != SL_ENTRY_OK)
        return refuse(j, reasons[v], err.msg);
    bool is_other_input = j->call.validate_inputs &&
                          (!e.has_input_digest ||
                           memcmp(e.input_digest, j->digest, SL_DIGEST_BYTES));
    if (!is_trusted(ex, j, bytes, &e)) {
        /* logged; computed, and stored afresh */
    } else if (is_other_input) {
        sl_log(SL_LOG_INFO, "executor",
               "key=%s entry is for other inputs, treated as a miss", j->key);
    } else if (!has_outputs_back(ex, j, &e)) {
        /* logged and counted: computed, and stored afresh */
    } else {
        j->value = e.value;
        e.value = NULL;
        j->outcome.is_ok = true;
        j->outcome.cache = SL_CACHE_OUTCOME_HIT;
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
        snprintf(why, sizeof why,
                 "the stored value is over the read cap of %u bytes",
                 SL_CACHE_READ_MAX_BYTES);
        refuse(j, SL_REJECT_TOO_LARGE, why);
    }
}

static bool
wants_lookup(const job_t *j)
{
    return !j->is_done && !j->is_looked_up && j->slot && j->slot->cache &&
           !j->call.refresh;
}

/* The value of the lock this attempt takes on j's key. */
static void
make_token(const executor_t *ex, job_t *j)
{
    sl_lock_token(j->token, sizeof j->token, j->call.task_id, j->call.attempt,
                  ex->cfg->worker_id);
}

/* Batches this small look their keys up and take their locks in one round
 * trip (a hit's lock is released after its result is sent), and so do
 * bigger ones while the last lookup mostly missed (a fan-out computing):
 * one round trip per batch, not two. After mostly hits, a big batch spends
 * a round trip on locking the misses only, not every key. */
#define PROBE_MAX 8

/* Looks the keys of which[0..count) up and takes their locks. */
static void
probe_keys(executor_t *ex, job_t **which, size_t count)
{
    sl_cache_probe_t *probes = calloc(count, sizeof *probes);
    sl_error_t err = {0};
    uint64_t start = sl_batch_now_us();
    uint32_t hits = 0;
    if (!probes) {
        for (size_t i = 0; i < count; i++)
            sl_batch_cache_failed(which[i], "out of memory");
        return;
    }
    for (size_t i = 0; i < count; i++) {
        probes[i].key = which[i]->key;
        if (which[i]->is_lock_free)
            continue; /* looked up only */
        make_token(ex, which[i]);
        probes[i].token = which[i]->token;
    }
    bool is_failed = sl_cache_probe_batch(which[0]->slot->cache, probes, count,
                                          SL_BATCH_LOCK_MS, &err) < 0;
    for (size_t i = 0; is_failed && i < count; i++)
        sl_batch_cache_failed(which[i], err.msg);
    for (size_t i = 0; i < count; i++)
        hits += !is_failed && probes[i].rc == 0;
    sl_batch_note_trip(ex, SL_CACHE_OP_GET, start, hits,
                       is_failed ? 0 : (uint32_t)count - hits,
                       is_failed ? (uint32_t)count : 0);
    for (size_t i = 0; i < count; i++) {
        job_t *j = which[i];
        if (!is_failed)
            take_answer(ex, j, probes[i].rc, &probes[i].value);
        j->is_locked = probes[i].is_locked;
        j->is_contended =
            probes[i].rc == SL_ENOTFOUND && !j->is_locked && !j->is_lock_free;
        if (!j->is_done && !j->is_locked && !j->is_contended)
            j->token[0] = '\0'; /* a refused entry: lock_misses tries */
        sl_buf_fini(&probes[i].value);
    }
    ex->is_missing = !is_failed && hits * 2 < count;
    free(probes);
}

/* Looks the keys of which[0..count) up, without locks. */
static void
get_keys(executor_t *ex, job_t **which, size_t count)
{
    uint64_t start = sl_batch_now_us();
    uint32_t hits = 0;
    const char **keys = calloc(count, sizeof *keys);
    sl_buf_t *outs = calloc(count, sizeof *outs);
    int *rcs = calloc(count, sizeof *rcs);
    sl_error_t err = {0};
    for (size_t i = 0; keys && i < count; i++)
        keys[i] = which[i]->key;
    if (!keys || !outs || !rcs)
        sl_error_set(&err, SL_ENOMEM, "out of memory");
    if (err.code || sl_cache_get_batch(which[0]->slot->cache, keys, count, outs,
                                       rcs, &err) < 0)
        for (size_t i = 0; i < count; i++)
            sl_batch_cache_failed(which[i], err.msg);
    for (size_t i = 0; outs && i < count; i++) {
        hits += !err.code && rcs[i] == 0;
        if (!err.code)
            take_answer(ex, which[i], rcs[i], &outs[i]);
        sl_buf_fini(&outs[i]);
    }
    sl_batch_note_trip(ex, SL_CACHE_OP_GET, start, hits,
                       err.code ? 0 : (uint32_t)count - hits,
                       err.code ? (uint32_t)count : 0);
    ex->is_missing = !err.code && hits * 2 < count;
    free(keys);
    free(outs);
    free(rcs);
}

void
sl_batch_lookup(executor_t *ex, job_t *jobs, size_t n)
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
        if (count <= PROBE_MAX || ex->is_missing)
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

/* The files j's key covers, borrowed from j->files (freed: e.files only). */
static void
fill_files(sl_entry_t *e, const job_t *j)
{
    size_t n = sl_value_count(j->files);
    e->files = n ? calloc(n, sizeof *e->files) : NULL;
    for (size_t i = 0; e->files && i < n; i++) {
        const sl_value_t *pair = sl_value_at(j->files, i);
        size_t size = 0;
        const char *digest = sl_value_get_bytes(sl_value_at(pair, 1), &size);
        e->files[i].name =
            (char *)sl_value_get_string(sl_value_at(pair, 0), NULL);
        if (digest && size == SL_DIGEST_BYTES)
            memcpy(e->files[i].digest, digest, SL_DIGEST_BYTES);
        e->file_count++;
    }
}

void
sl_batch_encode_entry(executor_t *ex, job_t *j, uint64_t duration_us)
{
    const sl_task_call_t *t = &j->call;
    if (!j->slot || !j->slot->cache)
        return; /* none, or already a cache error */
    if (t->ttl_ms == 0 || t->ttl_ms < SL_TTL_FOREVER)
        return sl_batch_cache_failed(j, "the task has no valid TTL: not "
                                        "stored");
    if (j->is_unstorable)
        return; /* an output could not be stored: cache_error says so */
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
    fill_arg_digests(&e, t->args);
    fill_files(&e, j);
    e.outputs = j->outputs.files;
    e.output_count = j->outputs.count;
    sl_error_t err = {0};
    int rc = sl_entry_encode(&e, &j->entry, &err);
    free(e.arg_digests);
    free(e.files);
    if (rc == 0 && ex->cfg->sign_key &&
        sl_sign_entry(ex->cfg->sign_key, j->key, &j->entry) < 0)
        rc = sl_error_set(&err, SL_ENOMEM, "out of memory signing the entry");
    if (rc < 0) {
        sl_batch_cache_failed(j, err.msg);
    } else if (j->entry.size > SL_CACHE_VALUE_MAX_BYTES) {
        j->outcome.cache = SL_CACHE_OUTCOME_TOO_LARGE;
        snprintf(j->cache_error, sizeof j->cache_error,
                 "entry of %zu bytes is over the cache cap of %u: not stored",
                 j->entry.size, SL_CACHE_VALUE_MAX_BYTES);
        j->outcome.cache_error = j->cache_error;
    } else {
        j->needs_store = true;
    }
}

/* Whether j's entry is sure to be under the cache's cap, whatever its
 * encoding: a value that is a scalar, or a string or bytes under half the
 * cap, of a call with few arguments, naming no files. */
static bool
is_surely_small(const job_t *j)
{
    size_t size = 0;
    switch (sl_value_type(j->value)) {
    case SL_STRING: sl_value_get_string(j->value, &size); break;
    case SL_BYTES: sl_value_get_bytes(j->value, &size); break;
    case SL_LIST:
    case SL_MAP: return false;
    default: break;
    }
    return size < SL_CACHE_VALUE_MAX_BYTES / 2 &&
           sl_value_count(j->call.args) < 1024 && !j->files &&
           !j->outputs.count;
}

void
sl_batch_plan_entry(executor_t *ex, job_t *j, uint64_t duration_us)
{
    const sl_task_call_t *t = &j->call;
    bool is_plain = j->slot && j->slot->cache && !j->is_unstorable &&
                    t->ttl_ms != 0 && t->ttl_ms >= SL_TTL_FOREVER;
    if (!is_plain || !is_surely_small(j))
        return sl_batch_encode_entry(ex, j, duration_us);
    j->is_entry_due = true;
    j->entry_duration_us = duration_us;
}

void
sl_batch_encode_due(executor_t *ex, job_t **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        job_t *j = jobs[i];
        if (!j->is_entry_due)
            continue;
        j->is_entry_due = false;
        sl_batch_encode_entry(ex, j, j->entry_duration_us);
        if (j->needs_store)
            continue;
        sl_log(SL_LOG_WARN, "executor",
               "key=%s not stored, after the answer went: %s", j->key,
               j->cache_error);
        sl_batch_note_trip(ex, SL_CACHE_OP_SET, sl_batch_now_us(), 0, 0, 1);
    }
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
    sl_buf_t held = {0};
    snprintf(lock, sizeof lock, "%s:lock", j->key);
    bool is_stale = sl_cache_get(cache, lock, &held, NULL) == 0 &&
                    sl_lock_token_is_earlier(held.data, held.size,
                                             j->call.task_id, j->call.attempt);
    sl_buf_fini(&held);
    if (is_stale)
        sl_cache_set(cache, lock, j->token, strlen(j->token), SL_BATCH_LOCK_MS,
                     NULL);
    return is_stale;
}

bool
sl_batch_wait_for_peer(const executor_t *ex, job_t *j)
{
    sl_cache_t *cache = j->slot ? j->slot->cache : NULL;
    if (!cache || j->call.refresh || !j->key[0] ||
        j->outcome.cache == SL_CACHE_OUTCOME_ERROR)
        return false;
    make_token(ex, j);
    int64_t deadline = sl_entry_now_ms() + SL_BATCH_LOCK_MS;
    for (int delay = 10;; delay = delay < 200 ? delay * 2 : 200) {
        int rc = sl_cache_lock(cache, j->key, j->token, SL_BATCH_LOCK_MS, NULL);
        bool is_ours =
            rc == 0 || (rc == SL_EEXIST && is_stale_attempt(cache, j));
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
    return !j->is_done && !j->is_lock_free && j->slot && j->slot->cache &&
           !j->call.refresh && j->key[0] &&
           j->outcome.cache != SL_CACHE_OUTCOME_ERROR;
}

void
sl_batch_lock_misses(executor_t *ex, job_t *jobs, size_t n)
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
        uint64_t start = sl_batch_now_us();
        uint32_t taken = 0, held = 0;
        if (sl_cache_lock_batch(slot->cache, keys, tokens, count,
                                SL_BATCH_LOCK_MS, rcs, NULL) < 0) {
            sl_batch_note_trip(ex, SL_CACHE_OP_LOCK, start, 0, 0,
                               (uint32_t)count);
            continue; /* the cache failed: compute without locks */
        }
        for (size_t i = 0; i < count; i++) {
            which[i]->is_locked = rcs[i] == 0;
            which[i]->is_contended = rcs[i] == SL_EEXIST;
            taken += rcs[i] == 0;
            held += rcs[i] == SL_EEXIST;
        }
        sl_batch_note_trip(ex, SL_CACHE_OP_LOCK, start, taken, held,
                           (uint32_t)count - taken - held);
    }
    free(keys);
    free(tokens);
    free(which);
    free(rcs);
}

/* A store sent to one cache and not yet waited for. */
typedef struct {
    sl_pooled_cache_t *slot; /* its cache */
    uint64_t start_us;       /* when it was sent */
    uint32_t count;          /* items */
    uint32_t stored;         /* of which entries (the rest unlock only) */
    char first_key[SL_KEY_MAX_BYTES]; /* named when it fails */
} store_t;

/* A store failed after the answers it follows went out (they said the
 * entries were stored): logged and counted, never retried; the next run
 * computes those tasks again (docs/CACHING.md). */
static void
store_failed(executor_t *ex, const store_t *st, const sl_error_t *err)
{
    sl_batch_note_trip(ex, SL_CACHE_OP_SET, st->start_us, 0, 0, st->count);
    sl_log(SL_LOG_WARN, "executor",
           "key=%s (of %u) not stored or unlocked, after the answers went: %s",
           st->first_key, st->count, err->msg);
}

void
sl_batch_store_send(executor_t *ex, job_t **jobs, size_t n)
{
    sl_cache_item_t *items = calloc(n + 1, sizeof *items);
    for (size_t first = 0; items && first < n; first++) {
        job_t *head = jobs[first];
        if (!head->needs_store && !head->is_locked)
            continue;
        store_t st = {head->slot, sl_batch_now_us(), 0, 0, ""};
        snprintf(st.first_key, sizeof st.first_key, "%s", head->key);
        for (size_t i = first; i < n; i++) {
            job_t *j = jobs[i];
            if (j->slot != head->slot || (!j->needs_store && !j->is_locked))
                continue;
            items[st.count++] =
                (sl_cache_item_t){j->key, j->needs_store ? j->entry.data : NULL,
                                  j->entry.size, j->call.ttl_ms,
                                  j->is_locked ? j->token : NULL};
            st.stored += j->needs_store;
            j->needs_store = j->is_locked = false;
        }
        sl_error_t err = {0};
        if (sl_cache_set_batch_send(head->slot->cache, items, st.count, &err) <
            0)
            store_failed(ex, &st, &err);
        else if (sl_buf_append(&ex->stores, &st, sizeof st) < 0)
            sl_cache_set_batch_wait(head->slot->cache, NULL); /* no memory */
        else
            head->slot->pins++; /* open until its replies are read */
    }
    free(items);
}

void
sl_batch_store_wait(executor_t *ex)
{
    store_t *stores = (store_t *)ex->stores.data;
    for (size_t i = 0; i < ex->stores.size / sizeof *stores; i++) {
        store_t *st = &stores[i];
        sl_error_t err = {0};
        if (sl_cache_set_batch_wait(st->slot->cache, &err) < 0)
            store_failed(ex, st, &err);
        else
            sl_batch_note_trip(ex, SL_CACHE_OP_SET, st->start_us, st->stored,
                               st->count - st->stored, 0);
        st->slot->pins--;
    }
    ex->stores.size = 0;
}

void
sl_batch_store(executor_t *ex, job_t **jobs, size_t n)
{
    sl_batch_store_send(ex, jobs, n);
    sl_batch_store_wait(ex);
}
