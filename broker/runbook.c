/* broker/runbook.c: runs by id and by sequence number, finished-run
 * retention, and the journal. Owned by the broker loop thread. A run is
 * journalled and synced before its submitter hears Accepted; results are
 * written as they come (a killed process loses none: they are in the
 * kernel) and synced every heartbeat; a run's end is journalled with the
 * result its client was sent. */
#include "runbook.h"

#include "journal.h"
#include "log.h"
#include "run_wire.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

struct sl_runbook {
    zhashx_t *runs;        /* run id -> sl_run_t*, owned */
    zhashx_t *by_seq;      /* "%08x" seq -> sl_run_t*, borrowed */
    zhashx_t *results;     /* run id -> packed RunResult zframe_t*, owned */
    zlistx_t *finished;    /* finished run ids, oldest first, owned */
    zlistx_t *unlisted;    /* finished unlisted runs a worker still holds
                              a job of (forgotten once it does not) */
    uint32_t keep;         /* finished runs kept */
    uint32_t next_seq;     /* for the next run; starts random, so that a
                              restarted broker never takes a stale result
                              for one of its own tasks */
    sl_journal_t *journal; /* NULL: none */
    zhashx_t *replayed;    /* during sl_runbook_resume: ended run ids */
};

static void
destroy_run(void **item)
{
    sl_run_destroy((sl_run_t **)item);
}

static void
destroy_frame(void **item)
{
    zframe_destroy((zframe_t **)item);
}

static void
free_string(void **item)
{
    free(*item);
    *item = NULL;
}

sl_runbook_t *
sl_runbook_new(const char *journal_path, uint32_t keep_finished,
               sl_error_t *err)
{
    sl_runbook_t *rb = calloc(1, sizeof *rb);
    if (!rb || !(rb->runs = zhashx_new()) || !(rb->by_seq = zhashx_new()) ||
        !(rb->results = zhashx_new()) || !(rb->finished = zlistx_new()) ||
        !(rb->unlisted = zlistx_new())) {
        sl_error_set(err, SL_ENOMEM, "out of memory");
        sl_runbook_destroy(&rb);
        return NULL;
    }
    zhashx_set_destructor(rb->runs, destroy_run);
    zhashx_set_destructor(rb->results, destroy_frame);
    zlistx_set_destructor(rb->finished, free_string);
    rb->keep = keep_finished;
    rb->next_seq = (uint32_t)randof(0x7fffffff) << 1 ^ (uint32_t)zclock_usecs();
    if (journal_path &&
        !(rb->journal = sl_journal_open(journal_path, keep_finished, err)))
        sl_runbook_destroy(&rb);
    return rb;
}

void
sl_runbook_destroy(sl_runbook_t **p)
{
    if (!p || !*p)
        return;
    sl_runbook_t *rb = *p;
    sl_journal_destroy(&rb->journal);
    zlistx_destroy(&rb->finished);
    zlistx_destroy(&rb->unlisted);
    zhashx_destroy(&rb->results);
    zhashx_destroy(&rb->by_seq);
    zhashx_destroy(&rb->runs);
    free(rb);
    *p = NULL;
}

/* Builds and registers a run from a submission (consumed): a new one, or
 * a replayed one with its old id and time. */
static sl_run_t *
add_run(sl_runbook_t *rb, sl_submission_t *sub, zframe_t *client,
        const char *run_id, int64_t submitted_ms, sl_error_t *err)
{
    sl_run_config_t cfg = {.seq = rb->next_seq++,
                           .flow = sub->flow,
                           .params = sub->params,
                           .client = client,
                           .wants_events = sub->wants_events,
                           .run_id = run_id,
                           .submitted_ms = submitted_ms,
                           .worker_wait_ms = sub->worker_wait_ms,
                           .is_unlisted = sub->is_unlisted};
    sub->flow = NULL; /* the run takes them over, made or not */
    sub->params = NULL;
    sl_run_t *run = sl_run_new(&cfg);
    if (!run) {
        sl_error_set(err, SL_ENOMEM, "broker out of memory");
        return NULL;
    }
    char seq[16];
    snprintf(seq, sizeof seq, "%08x", sl_run_seq(run));
    zhashx_insert(rb->runs, sl_run_id(run), run);
    zhashx_insert(rb->by_seq, seq, run);
    return run;
}

static void
forget(sl_runbook_t *rb, sl_run_t *run)
{
    char seq[16];
    snprintf(seq, sizeof seq, "%08x", sl_run_seq(run));
    zhashx_delete(rb->by_seq, seq);
    zhashx_delete(rb->runs, sl_run_id(run));
}

sl_run_t *
sl_runbook_submit(sl_runbook_t *rb, sl_submission_t *sub, const void *packed,
                  size_t size, zframe_t *client, sl_error_t *err)
{
    sl_run_t *run = add_run(rb, sub, client, NULL, 0, err);
    sl_submission_fini(sub);
    if (!run || !rb->journal)
        return run;
    sl_run_summary_t sum;
    sl_run_summary(run, &sum);
    sl_journal_record_t rec = {.kind = SL_JOURNAL_RUN,
                               .run_id = sl_run_id(run),
                               .submitted_ms = sum.submitted_ms,
                               .data = packed,
                               .size = size};
    if (sl_journal_append(rb->journal, &rec) < 0 ||
        sl_journal_write(rb->journal, err) < 0) {
        sl_log(SL_LOG_ERROR, "broker", "run=%s not journalled: %s",
               sl_run_id(run), err ? err->msg : "");
        sl_error_set(err, SL_EIO, "the broker cannot journal the run: %s",
                     sl_journal_path(rb->journal));
        forget(rb, run);
        return NULL; /* never accept what a restart would lose */
    }
    return run;
}

sl_run_t *
sl_runbook_find(sl_runbook_t *rb, const char *run_id)
{
    return zhashx_lookup(rb->runs, run_id);
}

sl_job_t *
sl_runbook_job(sl_runbook_t *rb, uint64_t task_id)
{
    char seq[16];
    snprintf(seq, sizeof seq, "%08x", (uint32_t)(task_id >> 32));
    sl_run_t *run = zhashx_lookup(rb->by_seq, seq);
    return run ? sl_run_job(run, (uint32_t)task_id) : NULL;
}

void
sl_runbook_result(sl_runbook_t *rb, const sl_job_t *job, const void *value,
                  size_t size)
{
    if (!rb->journal)
        return;
    sl_journal_record_t rec = {.kind = SL_JOURNAL_RESULT,
                               .run_id = sl_run_id(job->run),
                               .data = value,
                               .size = size,
                               .node = job->node,
                               .index = job->index};
    sl_journal_append(rb->journal, &rec); /* too big: recomputed on replay */
}

/* Keeps result (a packed RunResult) as the Envelope a watcher is sent;
 * listed: among the finished runs kept for status (else it goes with its
 * run). The frame kept, or NULL without memory. */
static zframe_t *
keep_result(sl_runbook_t *rb, const char *run_id, const void *result,
            size_t size, bool is_listed)
{
    char *id = is_listed ? strdup(run_id) : NULL;
    if (is_listed && !id)
        return NULL; /* kept nowhere: never retired */
    zframe_t *f = sl_run_wire_result_frame(result, size);
    if (!f) {
        free(id);
        return NULL;
    }
    zhashx_update(rb->results, run_id, f);
    if (id)
        zlistx_add_end(rb->finished, id);
    return f;
}

/* Forgets the oldest finished runs beyond the limit, and finished unlisted
 * runs, but never one a worker still holds a job of (its job pointers must
 * stay valid). */
static void
retire(sl_runbook_t *rb)
{
    for (sl_run_t *run = zlistx_first(rb->unlisted); run;) {
        if (sl_run_is_held(run)) {
            run = zlistx_next(rb->unlisted);
            continue;
        }
        zlistx_delete(rb->unlisted, zlistx_cursor(rb->unlisted));
        zhashx_delete(rb->results, sl_run_id(run));
        forget(rb, run);
        run = zlistx_first(rb->unlisted);
    }
    for (char *id = zlistx_first(rb->finished);
         id && zlistx_size(rb->finished) > rb->keep;) {
        sl_run_t *run = zhashx_lookup(rb->runs, id);
        if (run && sl_run_is_held(run)) {
            id = zlistx_next(rb->finished);
            continue;
        }
        if (run)
            forget(rb, run);
        zhashx_delete(rb->results, id);
        zlistx_delete(rb->finished, zlistx_cursor(rb->finished));
        id = zlistx_first(rb->finished);
    }
}

zframe_t *
sl_runbook_finished(sl_runbook_t *rb, sl_run_t *run, const void *result,
                    size_t size)
{
    if (rb->journal) {
        sl_journal_record_t rec = {.kind = SL_JOURNAL_END,
                                   .run_id = sl_run_id(run),
                                   .data = result,
                                   .size = size};
        sl_journal_append(rb->journal, &rec);
    }
    if (sl_run_is_unlisted(run)) { /* its followers get it, nobody else */
        retire(rb); /* the unlisted runs before it have been answered */
        zframe_t *once = keep_result(rb, sl_run_id(run), result, size, false);
        sl_run_compact(run);
        zlistx_add_end(rb->unlisted, run);
        return once;
    }
    zframe_t *kept = keep_result(rb, sl_run_id(run), result, size, true);
    sl_run_compact(run);
    retire(rb);
    return kept;
}

zframe_t *
sl_runbook_result_of(sl_runbook_t *rb, const char *run_id)
{
    return zhashx_lookup(rb->results, run_id);
}

sl_run_t *
sl_runbook_first(sl_runbook_t *rb)
{
    return zhashx_first(rb->runs);
}

sl_run_t *
sl_runbook_next(sl_runbook_t *rb)
{
    return zhashx_next(rb->runs);
}

size_t
sl_runbook_count(const sl_runbook_t *rb)
{
    return zhashx_size(rb->runs);
}

void
sl_runbook_write(sl_runbook_t *rb)
{
    sl_error_t err = {0};
    if (!rb->journal)
        return;
    off_t before = sl_journal_size(rb->journal);
    if (sl_journal_write(rb->journal, &err) < 0 ||
        sl_journal_compact_if_due(rb->journal, &err) < 0)
        sl_log(SL_LOG_ERROR, "broker", "%s", err.msg);
    else if (sl_journal_size(rb->journal) < before)
        sl_log(SL_LOG_INFO, "broker",
               "journal=%s compacted from %lld to %lld bytes",
               sl_journal_path(rb->journal), (long long)before,
               (long long)sl_journal_size(rb->journal));
}

void
sl_runbook_sync(sl_runbook_t *rb)
{
    sl_error_t err = {0};
    if (rb->journal && sl_journal_sync(rb->journal, &err) < 0)
        sl_log(SL_LOG_ERROR, "broker", "%s", err.msg);
}

static void
replay(const sl_journal_record_t *rec, void *ctx)
{
    sl_runbook_t *rb = ctx;
    sl_error_t err = {0};
    sl_submission_t sub;
    sl_run_t *run;
    sl_value_t *v = NULL;
    switch (rec->kind) {
    case SL_JOURNAL_RUN:
        if (sl_submission_decode(rec->data, rec->size, &sub, &err) < 0 ||
            !add_run(rb, &sub, NULL, rec->run_id, rec->submitted_ms, &err))
            sl_log(SL_LOG_ERROR, "broker", "run=%s cannot be resumed: %s",
                   rec->run_id, err.msg);
        sl_submission_fini(&sub);
        break;
    case SL_JOURNAL_RESULT:
        run = zhashx_lookup(rb->runs, rec->run_id);
        if (run && sl_wire_value_decode(rec->data, rec->size, &v, NULL) == 0)
            sl_run_recover(run, rec->node, rec->index, &v);
        break;
    case SL_JOURNAL_END:
        run = zhashx_lookup(rb->runs, rec->run_id);
        if (run)
            forget(rb, run);
        if (rec->size > 0)
            keep_result(rb, rec->run_id, rec->data, rec->size, true);
        break;
    }
}

size_t
sl_runbook_resume(sl_runbook_t *rb, sl_sched_t *sched)
{
    sl_error_t err = {0};
    if (!rb->journal)
        return 0;
    if (sl_journal_replay(rb->journal, replay, rb, &err) < 0)
        sl_log(SL_LOG_ERROR, "broker", "%s", err.msg);
    retire(rb);
    size_t n = 0;
    for (sl_run_t *run = zhashx_first(rb->runs); run;
         run = zhashx_next(rb->runs), n++) {
        sl_run_start(run, sched);
        sl_log(SL_LOG_INFO, "broker", "run=%s flow=\"%s\" resumed from %s",
               sl_run_id(run), sl_run_flow(run)->name,
               sl_journal_path(rb->journal));
    }
    return n;
}

int
sl_runbook_journal_fd(const sl_runbook_t *rb)
{
    return rb->journal ? sl_journal_fd(rb->journal) : -1;
}
