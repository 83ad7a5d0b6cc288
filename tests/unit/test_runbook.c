/* tests/unit/test_runbook.c: the broker's book of runs (broker/runbook.c):
 * runs by id and by task id, finished runs kept up to a limit (bench runs
 * not at all), and a broker that restarts resuming from its journal what
 * was running, without recomputing what was done. No socket: the journal's
 * parts that came off the wire (a Submit, a Value) are packed here as a
 * client and a worker would send them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "flow_wire.h"
#include "runbook.h"
#include "scratch.h"

#include <stdio.h>
#include <string.h>

static const char *two_steps = "flow: f\n"
                               "tasks:\n"
                               "  a: {run: add, args: [1, 2]}\n"
                               "  b: {run: add, args: [$a, 1]}\n";

typedef struct {
    char dir[64];
    char journal[128];
    sl_sched_t *sched;
    sl_bworker_t *w;
} world_t;

static int
setup(void **state)
{
    world_t *wd = calloc(1, sizeof *wd);
    assert_non_null(wd);
    sl_test_scratch_new(wd->dir, sizeof wd->dir, "runbook");
    snprintf(wd->journal, sizeof wd->journal, "%s/broker.journal", wd->dir);
    wd->sched = sl_sched_new(0);
    static const sl_task_name_t tasks[] = {{"add", 1}};
    sl_worker_hello_t hello = {"w1", "host", "inc", 1, 8, tasks, 1};
    zframe_t *identity = zframe_from("w1");
    wd->w = sl_sched_add_worker(wd->sched, identity, &hello);
    zframe_destroy(&identity);
    assert_non_null(wd->w);
    *state = wd;
    return 0;
}

static int
teardown(void **state)
{
    world_t *wd = *state;
    sl_sched_destroy(&wd->sched);
    sl_test_scratch_remove(wd->dir);
    free(wd);
    return 0;
}

/* The Submit a client sends for yaml, packed; unlisted as sluice bench's. */
static void
pack_submit(const char *yaml, bool is_unlisted, sl_buf_t *out)
{
    sl_flow_t *flow = sl_flow_parse(yaml, strlen(yaml), "t.yaml", NULL);
    assert_non_null(flow);
    Sluice__Flow *msg = NULL;
    assert_int_equal(sl_flow_wire_view(flow, &msg, NULL), 0);
    Sluice__Submit s = SLUICE__SUBMIT__INIT;
    s.flow = msg;
    s.unlisted = is_unlisted;
    size_t size = sluice__submit__get_packed_size(&s);
    assert_int_equal(sl_buf_reserve(out, size), 0);
    sluice__submit__pack(&s, (uint8_t *)out->data);
    out->size = size;
    sl_flow_wire_free(&msg);
    sl_flow_destroy(&flow);
}

/* Submits yaml to rb as the broker's front end does. */
static sl_run_t *
submit(sl_runbook_t *rb, const char *yaml, bool is_unlisted)
{
    sl_buf_t packed = {0};
    pack_submit(yaml, is_unlisted, &packed);
    sl_submission_t sub;
    sl_error_t err = {0};
    assert_int_equal(sl_submission_decode(packed.data, packed.size, &sub, &err),
                     0);
    sl_run_t *run =
        sl_runbook_submit(rb, &sub, packed.data, packed.size, NULL, &err);
    assert_non_null(run);
    assert_null(sub.flow); /* consumed */
    sl_buf_fini(&packed);
    return run;
}

/* The worker answers job with value, journalled first as backend.c does. */
static void
answer(world_t *wd, sl_runbook_t *rb, sl_job_t *job, int64_t value)
{
    sl_value_t *v = sl_value_new_int(value);
    sl_buf_t packed = {0};
    assert_int_equal(sl_wire_value_encode(v, &packed, NULL), 0);
    sl_runbook_result(rb, job, packed.data, packed.size);
    sl_buf_fini(&packed);
    sl_outcome_t o = {.is_ok = true,
                      .cache = SL_CACHE_OUTCOME_MISS,
                      .error = "",
                      .cache_error = ""};
    sl_run_job_result(job->run, wd->sched, job, &o, &v, "w1");
}

/* Runs run to its end on the one worker, answering every add with 3. */
static void
run_to_end(world_t *wd, sl_runbook_t *rb, sl_run_t *run)
{
    sl_run_start(run, wd->sched);
    sl_job_t *jobs[8];
    size_t n;
    while ((n = sl_sched_take(wd->sched, wd->w, jobs, 8)) > 0)
        for (size_t i = 0; i < n; i++)
            answer(wd, rb, jobs[i], 3);
    assert_true(sl_run_is_finished(run));
    assert_non_null(sl_runbook_finished(rb, run, "R", 1));
}

static void
test_a_run_is_found_by_its_id_and_its_jobs_by_task_id(void **state)
{
    world_t *wd = *state;
    sl_runbook_t *rb = sl_runbook_new(NULL, 10, NULL);
    sl_run_t *one = submit(rb, two_steps, false);
    sl_run_t *two = submit(rb, two_steps, false);
    assert_string_not_equal(sl_run_id(one), sl_run_id(two));
    assert_ptr_equal(sl_runbook_find(rb, sl_run_id(two)), two);
    assert_null(sl_runbook_find(rb, "no-such-run"));
    assert_int_equal(sl_runbook_count(rb), 2);
    sl_run_start(two, wd->sched);
    sl_job_t *job = sl_run_job(two, 0);
    assert_non_null(job);
    assert_ptr_equal(sl_runbook_job(rb, job->id), job);
    assert_null(sl_runbook_job(rb, job->id + 100)); /* no such index */
    assert_null(sl_runbook_job(rb, (uint64_t)0xfffff << 32));
    assert_int_equal(sl_runbook_journal_fd(rb), -1);
    sl_runbook_destroy(&rb);
}

static void
test_finished_runs_are_kept_up_to_the_limit_oldest_forgotten(void **state)
{
    world_t *wd = *state;
    sl_runbook_t *rb = sl_runbook_new(NULL, 2, NULL);
    char ids[3][64];
    for (int i = 0; i < 3; i++) {
        sl_run_t *run = submit(rb, two_steps, false);
        snprintf(ids[i], sizeof ids[i], "%s", sl_run_id(run));
        run_to_end(wd, rb, run);
    }
    assert_int_equal(sl_runbook_count(rb), 2);
    assert_null(sl_runbook_find(rb, ids[0]));
    assert_null(sl_runbook_result_of(rb, ids[0]));
    for (int i = 1; i < 3; i++) {
        sl_run_t *run = sl_runbook_find(rb, ids[i]);
        assert_non_null(run);
        assert_int_equal(sl_run_state(run), SL_RUN_DONE);
        assert_non_null(sl_runbook_result_of(rb, ids[i]));
    }
    sl_runbook_destroy(&rb);
}

static void
test_bench_runs_are_not_kept_and_push_no_run_out(void **state)
{
    world_t *wd = *state;
    sl_runbook_t *rb = sl_runbook_new(NULL, 1, NULL);
    sl_run_t *mine = submit(rb, two_steps, false);
    char id[64];
    snprintf(id, sizeof id, "%s", sl_run_id(mine));
    run_to_end(wd, rb, mine);
    for (int i = 0; i < 5; i++)
        run_to_end(wd, rb, submit(rb, two_steps, true));
    sl_run_t *last = submit(rb, two_steps, true);
    run_to_end(wd, rb, last);
    /* the last one lives until its result has gone out, then goes too */
    assert_non_null(sl_runbook_result_of(rb, sl_run_id(last)));
    assert_int_equal(sl_runbook_count(rb), 2);
    assert_non_null(sl_runbook_find(rb, id));
    assert_non_null(sl_runbook_result_of(rb, id));
    sl_runbook_destroy(&rb);
}

static void
test_a_restarted_broker_resumes_what_ran_and_recomputes_nothing_done(
    void **state)
{
    world_t *wd = *state;
    sl_runbook_t *rb = sl_runbook_new(wd->journal, 10, NULL);
    assert_non_null(rb);
    assert_true(sl_runbook_journal_fd(rb) >= 0);
    sl_run_t *done = submit(rb, two_steps, false);
    char done_id[64], open_id[64];
    snprintf(done_id, sizeof done_id, "%s", sl_run_id(done));
    run_to_end(wd, rb, done);
    sl_run_t *open = submit(rb, two_steps, false);
    snprintf(open_id, sizeof open_id, "%s", sl_run_id(open));
    sl_run_summary_t sum;
    sl_run_summary(open, &sum);
    int64_t submitted_ms = sum.submitted_ms;
    sl_run_start(open, wd->sched);
    sl_job_t *jobs[8];
    assert_int_equal(sl_sched_take(wd->sched, wd->w, jobs, 8), 1);
    answer(wd, rb, jobs[0], 3); /* a done: b goes out, then the crash */
    assert_int_equal(sl_sched_take(wd->sched, wd->w, jobs, 8), 1);
    sl_runbook_write(rb);
    sl_runbook_sync(rb);
    sl_sched_destroy(&wd->sched); /* the old broker's workers go with it */
    sl_runbook_destroy(&rb);

    wd->sched = sl_sched_new(0);
    rb = sl_runbook_new(wd->journal, 10, NULL);
    assert_non_null(rb);
    assert_int_equal(sl_runbook_resume(rb, wd->sched), 1);
    sl_run_t *again = sl_runbook_find(rb, open_id);
    assert_non_null(again);
    sl_run_summary(again, &sum);
    assert_int_equal(sum.submitted_ms, submitted_ms);
    assert_int_equal(sum.done, 1); /* a, from the journal */
    assert_int_equal(sum.cached, 1);
    sl_sched_counts_t c;
    sl_sched_counts(wd->sched, &c);
    assert_int_equal(c.queued, 1);             /* only b is left to compute */
    assert_null(sl_runbook_find(rb, done_id)); /* ended: not resumed */
    assert_non_null(sl_runbook_result_of(rb, done_id)); /* but answered */
    sl_runbook_destroy(&rb);
}

static void
test_a_journalled_submit_that_no_longer_decodes_is_not_resumed(void **state)
{
    world_t *wd = *state;
    sl_runbook_t *rb = sl_runbook_new(wd->journal, 10, NULL);
    sl_buf_t packed = {0};
    pack_submit(two_steps, false, &packed);
    sl_submission_t sub;
    assert_int_equal(sl_submission_decode(packed.data, packed.size, &sub, NULL),
                     0);
    sl_error_t err = {0};
    /* what a later broker's validator would refuse, as an older one took */
    assert_non_null(sl_runbook_submit(rb, &sub, "\x0a\x03xyz", 5, NULL, &err));
    assert_non_null(submit(rb, two_steps, false));
    sl_runbook_sync(rb);
    sl_runbook_destroy(&rb);
    sl_buf_fini(&packed);
    rb = sl_runbook_new(wd->journal, 10, NULL);
    assert_int_equal(sl_runbook_resume(rb, wd->sched), 1);
    sl_runbook_destroy(&rb);
}

static void
test_a_journal_that_cannot_be_opened_is_an_error_naming_it(void **state)
{
    world_t *wd = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/file", wd->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/file/broker.journal", wd->dir);
    sl_error_t err = {0};
    assert_null(sl_runbook_new(path, 10, &err));
    assert_non_null(strstr(err.msg, path));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_a_run_is_found_by_its_id_and_its_jobs_by_task_id, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_finished_runs_are_kept_up_to_the_limit_oldest_forgotten, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_bench_runs_are_not_kept_and_push_no_run_out, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_restarted_broker_resumes_what_ran_and_recomputes_nothing_done,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_journalled_submit_that_no_longer_decodes_is_not_resumed,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_journal_that_cannot_be_opened_is_an_error_naming_it, setup,
            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
