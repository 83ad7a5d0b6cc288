/* tests/unit/test_run.c: a run's DAG walk and its state machines
 * (broker/run.c, dag.c, job.c, with scheduler.c): one test per row of the
 * node and job tables in docs/ARCHITECTURE.md, driven through the
 * socket-free API with sluice's own types; no wire message is built. A
 * change the tables do not allow is refused: a checked build aborts (the
 * test forks to see it), any other ends the run instead of hanging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "invariant.h"
#include "run.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    sl_sched_t *sched;
    sl_run_t *run;
    sl_bworker_t *w;
} world_t;

static uint32_t next_seq = 1;

static sl_run_t *
new_run(const char *yaml)
{
    sl_error_t err = {0};
    sl_flow_t *flow = sl_flow_parse(yaml, strlen(yaml), "test.yaml", &err);
    if (!flow)
        fail_msg("%s", err.msg);
    sl_run_config_t cfg = {.seq = next_seq++,
                           .flow = flow,
                           .params = sl_value_copy(flow->params),
                           .wants_events = true};
    sl_run_t *run = sl_run_new(&cfg);
    assert_non_null(run);
    return run;
}

/* A worker that serves every built-in and test task, with slots. */
static sl_bworker_t *
add_worker(sl_sched_t *sched, const char *id, uint32_t slots)
{
    static const sl_task_name_t tasks[] = {{"add", 1},
                                           {"mul", 1},
                                           {"echo", 1},
                                           {"sleep_ms", 1},
                                           {"sum", 1}};
    sl_worker_hello_t hello =
        {id, "host", "inc", 1, slots, tasks, sizeof tasks / sizeof *tasks};
    zframe_t *identity = zframe_from(id);
    sl_bworker_t *w = sl_sched_add_worker(sched, identity, &hello);
    zframe_destroy(&identity);
    assert_non_null(w);
    return w;
}

static void
world_start(world_t *wd, const char *yaml)
{
    wd->sched = sl_sched_new(0);
    wd->w = add_worker(wd->sched, "w1", 64);
    wd->run = new_run(yaml);
    sl_run_start(wd->run, wd->sched);
}

static void
world_end(world_t *wd)
{
    sl_sched_destroy(&wd->sched);
    sl_run_destroy(&wd->run);
}

/* Takes every job w may take now; returns how many, in out. */
static size_t
take(world_t *wd, sl_job_t **out, size_t max)
{
    return sl_sched_take(wd->sched, wd->w, out, max);
}

static void
answer(world_t *wd, sl_job_t *job, int64_t value)
{
    sl_value_t *v = sl_value_new_int(value);
    sl_outcome_t o = {.is_ok = true,
                      .cache = SL_CACHE_OUTCOME_MISS,
                      .error = "",
                      .cache_error = ""};
    sl_run_job_result(job->run, wd->sched, job, &o, &v, "w1");
}

static void
answer_error(world_t *wd, sl_job_t *job, const char *why)
{
    sl_value_t *v = NULL;
    sl_outcome_t o = {.is_ok = false,
                      .failure = SL_FAIL_TASK,
                      .error = why,
                      .cache_error = ""};
    sl_run_job_result(job->run, wd->sched, job, &o, &v, "w1");
}

static const char *
node_error(const sl_run_t *run, uint32_t n)
{
    sl_node_report_t r;
    sl_run_node_report(run, n, &r);
    return r.error;
}

static const sl_value_t *
node_value(const sl_run_t *run, uint32_t n)
{
    sl_node_report_t r;
    sl_run_node_report(run, n, &r);
    return r.value;
}

/* Whether the run's pending events hold one of kind for node n. */
static bool
has_event(const sl_run_t *run, sl_event_kind_t kind, uint32_t n)
{
    const sl_run_event_t *e;
    size_t count = sl_run_events(run, &e);
    for (size_t i = 0; i < count; i++)
        if (e[i].kind == kind && e[i].node == n)
            return true;
    return false;
}

/* ---- the job table, as a matrix ---------------------------------------- */

static void
test_job_table_allows_only_the_documented_changes(void **state)
{
    (void)state;
    /* rows: from; columns: to (NEW QUEUED DELAYED FOLLOWING RUNNING DONE
     * FAILED CANCELLED), as docs/ARCHITECTURE.md lists them */
    static const int legal[8][8] = {
        [SL_JOB_NEW] = {0, 1, 0, 1, 0, 1, 0, 0},
        [SL_JOB_QUEUED] = {0, 0, 0, 0, 1, 0, 1, 1},
        [SL_JOB_DELAYED] = {0, 1, 0, 0, 0, 0, 0, 1},
        [SL_JOB_FOLLOWING] = {0, 1, 0, 1, 0, 1, 0, 1},
        [SL_JOB_RUNNING] = {0, 1, 1, 0, 0, 1, 1, 1},
        [SL_JOB_DONE] = {0},
        [SL_JOB_FAILED] = {0},
        [SL_JOB_CANCELLED] = {0},
    };
    for (int from = 0; from < 8; from++)
        for (int to = 0; to < 8; to++)
            if (sl_job_may_enter(from, to) != (legal[from][to] != 0))
                fail_msg("job %s -> %s: the table says %s",
                         sl_job_state_name(from), sl_job_state_name(to),
                         legal[from][to] ? "legal" : "illegal");
}

/* ---- node rows ---------------------------------------------------------- */

static void
test_node_pending_runs_when_its_references_are_done(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, "flow: f\ntasks:\n  a: {run: add, args: [1, 2]}\n  b: "
                     "{run: mul, args: [$a, 2]}\n");
    assert_int_equal(sl_run_node_state(wd.run, 0), SL_NODE_RUNNING);
    assert_int_equal(sl_run_node_state(wd.run, 1), SL_NODE_PENDING);
    sl_job_t *jobs[4];
    assert_int_equal(take(&wd, jobs, 4), 1);
    answer(&wd, jobs[0], 3);
    assert_int_equal(sl_run_node_state(wd.run, 0), SL_NODE_DONE);
    assert_int_equal(sl_run_node_state(wd.run, 1), SL_NODE_RUNNING);
    assert_int_equal(take(&wd, jobs, 4), 1);
    assert_int_equal(sl_value_get_int(sl_value_at(jobs[0]->args, 0)), 3);
    answer(&wd, jobs[0], 6);
    assert_true(sl_run_is_finished(wd.run));
    assert_int_equal(sl_run_state(wd.run), SL_RUN_DONE);
    assert_int_equal(sl_value_get_int(node_value(wd.run, 1)), 6);
    world_end(&wd);
}

/* The defect of issue 13: the node failed, then was set RUNNING again and
 * never finished; a cancel then counted it twice and the run hung. */
static void
test_node_whose_map_source_is_no_list_fails_before_it_runs(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, "flow: f\ntasks:\n  a: {run: add, args: [1, 2]}\n  b: "
                     "{run: mul, map: {x: $a}, args: [$x, $x]}\n  c: {run: "
                     "echo, args: [$b]}\n  d: {run: sleep_ms, args: [20000, "
                     "1]}\n");
    sl_job_t *jobs[4];
    assert_int_equal(take(&wd, jobs, 4), 2); /* a and d */
    sl_job_t *a = jobs[0]->node == 0 ? jobs[0] : jobs[1];
    answer(&wd, a, 3);
    assert_int_equal(sl_run_node_state(wd.run, 1), SL_NODE_FAILED);
    assert_string_equal(node_error(wd.run, 1), "map variable 'x' is an int, "
                                               "not a list");
    assert_true(has_event(wd.run, SL_EVENT_FAILED, 1));
    assert_int_equal(sl_run_node_state(wd.run, 2), SL_NODE_FAILED);
    assert_false(sl_run_is_finished(wd.run)); /* d still runs */
    zlistx_t *held = zlistx_new();
    sl_run_cancel(wd.run, wd.sched, "cancelled", held);
    assert_true(sl_run_is_finished(wd.run));
    assert_int_equal(sl_run_state(wd.run), SL_RUN_CANCELLED);
    assert_int_equal(zlistx_size(held), 1); /* d: its worker is told */
    assert_int_equal(sl_run_node_state(wd.run, 3), SL_NODE_FAILED);
    assert_string_equal(node_error(wd.run, 1), "map variable 'x' is an int, "
                                               "not a list");
    assert_true(sl_run_take_finish(wd.run));
    assert_false(sl_run_take_finish(wd.run)); /* reported once */
    zlistx_destroy(&held);
    world_end(&wd);
}

static void
test_node_maps_of_different_lengths_fail(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, "flow: f\nparams: {xs: [1, 2], ys: [1]}\ntasks:\n  b: "
                     "{run: mul, map: {x: $params.xs, y: $params.ys}, args: "
                     "[$x, $y]}\n");
    assert_int_equal(sl_run_node_state(wd.run, 0), SL_NODE_FAILED);
    assert_string_equal(node_error(wd.run, 0), "map lists have different "
                                               "lengths (2 and 1)");
    assert_int_equal(sl_run_state(wd.run), SL_RUN_FAILED);
    world_end(&wd);
}

static void
test_node_fails_when_a_reference_fails(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, "flow: f\ntasks:\n  a: {run: add, args: [1, 2]}\n  b: "
                     "{run: mul, args: [$a, 2]}\n");
    sl_job_t *jobs[4];
    assert_int_equal(take(&wd, jobs, 4), 1);
    answer_error(&wd, jobs[0], "boom");
    assert_int_equal(sl_run_node_state(wd.run, 0), SL_NODE_FAILED);
    assert_string_equal(node_error(wd.run, 0), "boom");
    assert_int_equal(sl_run_node_state(wd.run, 1), SL_NODE_FAILED);
    assert_string_equal(node_error(wd.run, 1), "upstream node 'a' failed");
    assert_true(has_event(wd.run, SL_EVENT_FAILED, 1));
    assert_int_equal(sl_run_state(wd.run), SL_RUN_FAILED);
    world_end(&wd);
}

static void
test_node_mapped_is_done_with_values_in_element_order(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, "flow: f\ntasks:\n  s: {run: mul, map: {x: [1, 2, 3]}, "
                     "args: [$x, $x]}\n");
    sl_job_t *jobs[4];
    assert_int_equal(take(&wd, jobs, 4), 3);
    answer(&wd, jobs[2], 9); /* out of order */
    answer(&wd, jobs[0], 1);
    assert_int_equal(sl_run_node_state(wd.run, 0), SL_NODE_RUNNING);
    answer(&wd, jobs[1], 4);
    assert_int_equal(sl_run_node_state(wd.run, 0), SL_NODE_DONE);
    const sl_value_t *v = node_value(wd.run, 0);
    assert_int_equal(sl_value_count(v), 3);
    assert_int_equal(sl_value_get_int(sl_value_at(v, 0)), 1);
    assert_int_equal(sl_value_get_int(sl_value_at(v, 1)), 4);
    assert_int_equal(sl_value_get_int(sl_value_at(v, 2)), 9);
    world_end(&wd);
}

static void
test_node_mapped_over_nothing_is_done_with_empty_list(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, "flow: f\ntasks:\n  s: {run: mul, map: {x: []}, args: "
                     "[$x, $x]}\n  t: {run: sum, args: [$s]}\n");
    assert_int_equal(sl_run_node_state(wd.run, 0), SL_NODE_DONE);
    assert_int_equal(sl_value_type(node_value(wd.run, 0)), SL_LIST);
    assert_int_equal(sl_value_count(node_value(wd.run, 0)), 0);
    assert_int_equal(sl_run_node_state(wd.run, 1), SL_NODE_RUNNING);
    world_end(&wd);
}

static void
test_node_fails_when_a_job_fails_for_good_and_cancels_the_rest(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, "flow: f\ntasks:\n  s: {run: mul, map: {x: [1, 2, 3]}, "
                     "args: [$x, $x]}\n");
    sl_job_t *jobs[4];
    assert_int_equal(take(&wd, jobs, 2), 2); /* the third stays queued */
    answer_error(&wd, jobs[1], "bad");
    assert_int_equal(sl_run_node_state(wd.run, 0), SL_NODE_FAILED);
    assert_string_equal(node_error(wd.run, 0), "element 1: bad");
    assert_int_equal(jobs[0]->state, SL_JOB_CANCELLED);
    assert_int_equal(sl_run_job(wd.run, 2)->state, SL_JOB_CANCELLED);
    sl_sched_counts_t c;
    sl_sched_counts(wd.sched, &c);
    assert_int_equal(c.queued, 0);
    answer(&wd, jobs[0], 1); /* a late answer is dropped */
    assert_int_equal(jobs[0]->state, SL_JOB_CANCELLED);
    assert_int_equal(sl_run_state(wd.run), SL_RUN_FAILED);
    world_end(&wd);
}

static void
test_node_pending_and_running_fail_on_cancel(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, "flow: f\ntasks:\n  a: {run: add, args: [1, 2]}\n  b: "
                     "{run: mul, args: [$a, 2]}\n");
    zlistx_t *held = zlistx_new();
    sl_run_cancel(wd.run, wd.sched, "cancelled", held);
    assert_int_equal(sl_run_node_state(wd.run, 0), SL_NODE_FAILED);
    assert_int_equal(sl_run_node_state(wd.run, 1), SL_NODE_FAILED);
    assert_string_equal(node_error(wd.run, 0), "cancelled");
    assert_int_equal(sl_run_state(wd.run), SL_RUN_CANCELLED);
    assert_int_equal(zlistx_size(held), 0);         /* nothing was running */
    sl_run_cancel(wd.run, wd.sched, "again", held); /* nothing changes */
    assert_string_equal(node_error(wd.run, 0), "cancelled");
    zlistx_destroy(&held);
    world_end(&wd);
}

/* A running job's progress is an event for the followers, its value
 * taken; once the job is no longer running (its run cancelled), progress
 * is dropped. */
static void
test_job_progress_is_an_event_only_while_it_runs(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, "flow: f\ntasks:\n  a: {run: sleep_ms, args: [1, 2]}\n");
    sl_job_t *jobs[4];
    assert_int_equal(take(&wd, jobs, 4), 1);
    sl_run_events_sent(wd.run);
    sl_value_t *v = sl_value_new_int(7);
    sl_run_job_progress(wd.run, jobs[0], &v, "w1");
    assert_null(v);
    const sl_run_event_t *e;
    assert_int_equal(sl_run_events(wd.run, &e), 1);
    assert_int_equal(e[0].kind, SL_EVENT_PROGRESS);
    assert_int_equal(sl_value_get_int(e[0].value), 7);
    assert_string_equal(e[0].worker_id, "w1");
    sl_run_events_sent(wd.run);
    zlistx_t *held = zlistx_new();
    sl_run_cancel(wd.run, wd.sched, "cancelled", held);
    assert_int_equal(zlistx_size(held), 1);
    sl_run_events_sent(wd.run);
    v = sl_value_new_int(8);
    sl_run_job_progress(wd.run, jobs[0], &v, "w1");
    assert_null(v); /* taken, and freed */
    assert_int_equal(sl_run_events(wd.run, &e), 0);
    zlistx_destroy(&held);
    world_end(&wd);
}

/* Arguments a worker could never receive fail the node at once, saying
 * which cap; on fdda4fe the worker was sent none and answered "args must
 * be a list". */
static void
test_node_whose_arguments_pass_the_value_caps_fails_saying_so(void **state)
{
    (void)state;
    sl_error_t err = {0};
    const char *yaml = "flow: f\nparams: {big: []}\ntasks:\n  a: {run: echo, "
                       "args: [$params.big, $params.big]}\n";
    sl_flow_t *flow = sl_flow_parse(yaml, strlen(yaml), "t.yaml", &err);
    assert_non_null(flow);
    sl_value_t *big = sl_value_new_list();
    for (int i = 0; i < 600000; i++) { /* twice: over 2^20 nodes */
        sl_value_t *x = sl_value_new_int(i);
        assert_int_equal(sl_value_push(big, &x), 0);
    }
    sl_value_t *params = sl_value_new_map();
    assert_int_equal(sl_value_put(params, "big", &big), 0);
    sl_run_config_t cfg = {.seq = next_seq++, .flow = flow, .params = params};
    sl_run_t *run = sl_run_new(&cfg);
    sl_sched_t *sched = sl_sched_new(0);
    sl_run_start(run, sched);
    assert_int_equal(sl_run_node_state(run, 0), SL_NODE_FAILED);
    assert_string_equal(node_error(run, 0), "its arguments cannot be sent to a "
                                            "worker: value has more than "
                                            "1048576 nodes (one per number, "
                                            "string, list or map in it)");
    sl_sched_counts_t c;
    sl_sched_counts(sched, &c);
    assert_int_equal(c.queued, 0);
    sl_sched_destroy(&sched);
    sl_run_destroy(&run);
}

/* ---- job rows ------------------------------------------------------------ */

static void
test_job_identical_to_one_in_flight_follows_it_and_shares_its_value(void **s)
{
    (void)s;
    world_t wd;
    const char *yaml = "flow: f\ntasks:\n  a: {run: add, args: [1, 2]}\n";
    world_start(&wd, yaml);
    sl_run_t *twin = new_run(yaml);
    sl_run_start(twin, wd.sched);
    sl_job_t *lead = sl_run_job(wd.run, 0), *follower = sl_run_job(twin, 0);
    assert_int_equal(lead->state, SL_JOB_QUEUED);
    assert_int_equal(follower->state, SL_JOB_FOLLOWING);
    sl_job_t *jobs[4];
    assert_int_equal(take(&wd, jobs, 4), 1); /* only the leader goes out */
    answer(&wd, lead, 3);
    assert_int_equal(lead->state, SL_JOB_DONE);
    sl_value_t *copy = sl_value_new_int(3); /* what backend.c hands on */
    sl_run_job_shared(twin, wd.sched, follower, &copy, "w1");
    assert_int_equal(follower->state, SL_JOB_DONE);
    assert_int_equal(sl_run_state(twin), SL_RUN_DONE);
    sl_run_summary_t sum;
    sl_run_summary(twin, &sum);
    assert_int_equal(sum.cached, 1);
    sl_sched_destroy(&wd.sched);
    sl_run_destroy(&twin);
    sl_run_destroy(&wd.run);
}

static void
test_job_follower_is_queued_when_its_leader_fails(void **state)
{
    (void)state;
    world_t wd;
    const char *yaml = "flow: f\ntasks:\n  a: {run: add, args: [1, 2]}\n";
    world_start(&wd, yaml);
    sl_run_t *twin = new_run(yaml);
    sl_run_start(twin, wd.sched);
    sl_job_t *jobs[4];
    assert_int_equal(take(&wd, jobs, 4), 1);
    answer_error(&wd, jobs[0], "boom");
    sl_job_t *follower = sl_run_job(twin, 0);
    assert_int_equal(follower->state, SL_JOB_QUEUED); /* on its own */
    assert_int_equal(take(&wd, jobs, 4), 1);
    assert_ptr_equal(jobs[0], follower);
    answer(&wd, follower, 3);
    assert_int_equal(sl_run_state(twin), SL_RUN_DONE);
    sl_sched_destroy(&wd.sched);
    sl_run_destroy(&twin);
    sl_run_destroy(&wd.run);
}

static void
test_job_recovered_from_the_journal_is_done_at_once(void **state)
{
    (void)state;
    world_t wd = {0};
    wd.sched = sl_sched_new(0);
    wd.run = new_run("flow: f\ntasks:\n  a: {run: add, args: [1, 2]}\n");
    sl_value_t *v = sl_value_new_int(3);
    sl_run_recover(wd.run, 0, 0, &v);
    sl_run_start(wd.run, wd.sched);
    assert_int_equal(sl_run_job(wd.run, 0)->state, SL_JOB_DONE);
    assert_int_equal(sl_run_state(wd.run), SL_RUN_DONE);
    world_end(&wd);
}

static void
test_job_queued_without_a_worker_waits_then_gives_up(void **state)
{
    (void)state;
    world_t wd = {0};
    wd.sched = sl_sched_new(0);
    wd.run = new_run("flow: f\ntasks:\n  a: {run: nobody_has_it, args: []}\n");
    sl_run_start(wd.run, wd.sched);
    sl_job_t *job = sl_run_job(wd.run, 0);
    assert_int_equal(job->state, SL_JOB_QUEUED);
    assert_true(has_event(wd.run, SL_EVENT_WAITING, 0));
    zlistx_t *waiting = zlistx_new();
    sl_sched_unserved(wd.sched, zclock_mono() + 1, waiting);
    assert_int_equal(zlistx_size(waiting), 1);
    sl_run_job_give_up(wd.run, wd.sched, job,
                       "no connected worker serves task 'nobody_has_it' "
                       "(waited 5 ms for one)");
    assert_int_equal(job->state, SL_JOB_FAILED);
    assert_int_equal(sl_run_state(wd.run), SL_RUN_FAILED);
    assert_string_equal(node_error(wd.run, 0), "no connected worker serves "
                                               "task 'nobody_has_it' (waited 5 "
                                               "ms for one)");
    sl_sched_counts_t c;
    sl_sched_counts(wd.sched, &c);
    assert_int_equal(c.queued, 0);
    assert_int_equal(c.queues, 0); /* the empty queue is freed */
    zlistx_destroy(&waiting);
    world_end(&wd);
}

static void
test_job_failed_attempt_is_retried_after_its_delay(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, "flow: f\ntasks:\n  a: {run: add, args: [1, 2], retries: "
                     "2, retry_delay: 10s}\n  b: {run: mul, args: [2, 2], "
                     "retries: 1, retry_delay: 0s}\n");
    sl_job_t *jobs[4];
    assert_int_equal(take(&wd, jobs, 4), 2);
    sl_job_t *a = sl_run_job(wd.run, 0), *b = sl_run_job(wd.run, 1);
    answer_error(&wd, a, "flaky");
    answer_error(&wd, b, "flaky");
    assert_int_equal(a->state, SL_JOB_DELAYED);
    assert_int_equal(b->state, SL_JOB_QUEUED); /* no delay: at once */
    assert_int_equal(sl_sched_release_due(wd.sched, zclock_mono()), 0);
    assert_int_equal(sl_sched_release_due(wd.sched, a->due_ms), 1);
    assert_int_equal(a->state, SL_JOB_QUEUED);
    assert_int_equal(take(&wd, jobs, 4), 2);
    assert_int_equal(a->attempt, 2);
    answer(&wd, a, 3);
    answer(&wd, b, 4);
    assert_int_equal(sl_run_state(wd.run), SL_RUN_DONE);
    world_end(&wd);
}

static void
test_job_fails_when_no_retry_is_left(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, "flow: f\ntasks:\n  a: {run: add, args: [1, 2], retries: "
                     "1, retry_delay: 0s}\n");
    sl_job_t *jobs[4];
    assert_int_equal(take(&wd, jobs, 4), 1);
    answer_error(&wd, jobs[0], "one");
    assert_int_equal(take(&wd, jobs, 4), 1);
    answer_error(&wd, jobs[0], "two");
    assert_int_equal(jobs[0]->state, SL_JOB_FAILED);
    assert_string_equal(node_error(wd.run, 0), "two");
    world_end(&wd);
}

static void
test_job_of_a_worker_that_left_goes_to_the_front_again(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, "flow: f\ntasks:\n  s: {run: mul, map: {x: [1, 2, 3]}, "
                     "args: [$x, $x]}\n");
    sl_job_t *jobs[4];
    assert_int_equal(take(&wd, jobs, 1), 1);
    zlistx_t *released = zlistx_new();
    sl_sched_remove_worker(wd.sched, wd.w, released);
    assert_int_equal(zlistx_size(released), 1);
    sl_run_job_lost(wd.run, wd.sched, jobs[0], "worker w1 left", false);
    assert_int_equal(jobs[0]->state, SL_JOB_QUEUED);
    assert_false(jobs[0]->is_suspect);
    wd.w = add_worker(wd.sched, "w2", 1);
    sl_job_t *next[4];
    assert_int_equal(take(&wd, next, 1), 1);
    assert_ptr_equal(next[0], jobs[0]); /* the front of its queue */
    zlistx_destroy(&released);
    world_end(&wd);
}

static void
test_job_outliving_three_workers_fails_as_poison(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, "flow: f\ntasks:\n  a: {run: add, args: [1, 2]}\n");
    sl_job_t *jobs[4];
    for (int death = 1; death <= SL_POISON_DEATHS; death++) {
        assert_int_equal(take(&wd, jobs, 4), 1);
        sl_sched_remove_worker(wd.sched, wd.w, NULL);
        jobs[0]->is_suspect = true;
        sl_run_job_lost(wd.run, wd.sched, jobs[0], "died", true);
        wd.w = add_worker(wd.sched, death % 2 ? "w2" : "w1", 4);
        if (death < SL_POISON_DEATHS)
            assert_int_equal(jobs[0]->state, SL_JOB_QUEUED);
    }
    assert_int_equal(jobs[0]->state, SL_JOB_FAILED);
    assert_non_null(strstr(node_error(wd.run, 0), "poison: 3 workers died"));
    world_end(&wd);
}

static void
test_job_suspect_runs_alone(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, "flow: f\ntasks:\n  s: {run: mul, map: {x: [1, 2, 3]}, "
                     "args: [$x, $x]}\n");
    sl_job_t *jobs[4];
    assert_int_equal(take(&wd, jobs, 4), 3);
    sl_sched_remove_worker(wd.sched, wd.w, NULL);
    for (int i = 2; i >= 0; i--) {
        jobs[i]->is_suspect = true;
        sl_run_job_lost(wd.run, wd.sched, jobs[i], "died", i == 0);
    }
    wd.w = add_worker(wd.sched, "w2", 4);
    sl_job_t *next[4];
    assert_int_equal(take(&wd, next, 4), 1); /* alone */
    assert_int_equal(sl_sched_credit(wd.sched, wd.w), 0);
    answer(&wd, next[0], 1);
    assert_true(sl_sched_credit(wd.sched, wd.w) > 0);
    world_end(&wd);
}

static void
test_job_in_every_live_state_is_cancelled_with_its_run(void **state)
{
    (void)state;
    world_t wd;
    const char *yaml = "flow: f\ntasks:\n  r: {run: add, args: [1, 1]}\n  q: "
                       "{run: add, args: [2, 2]}\n  d: {run: add, args: [3, "
                       "3], retries: 1, retry_delay: 1h}\n";
    world_start(&wd, yaml);
    sl_run_t *other = new_run("flow: g\ntasks:\n  f: {run: add, args: [1, "
                              "1]}\n");
    sl_run_start(other, wd.sched);
    sl_job_t *r = sl_run_job(wd.run, 0), *d = sl_run_job(wd.run, 2);
    sl_job_t *f = sl_run_job(other, 0);
    assert_int_equal(f->state, SL_JOB_FOLLOWING); /* follows r */
    sl_job_t *jobs[4];
    assert_int_equal(take(&wd, jobs, 4), 3); /* r, q and d */
    answer_error(&wd, d, "later");
    assert_int_equal(d->state, SL_JOB_DELAYED);
    zlistx_t *held = zlistx_new();
    sl_run_cancel(wd.run, wd.sched, "cancelled", held);
    assert_int_equal(r->state, SL_JOB_CANCELLED);
    assert_ptr_equal(r->worker, wd.w);      /* held until its worker answers */
    assert_int_equal(zlistx_size(held), 2); /* r and q were running */
    assert_int_equal(d->state, SL_JOB_CANCELLED);
    assert_int_equal(f->state, SL_JOB_QUEUED); /* goes on on its own */
    sl_sched_counts_t c;
    sl_sched_counts(wd.sched, &c);
    assert_int_equal(c.delayed, 0);
    answer(&wd, r, 2); /* a late result: dropped, the slot freed */
    assert_int_equal(r->state, SL_JOB_CANCELLED);
    assert_null(r->worker);
    zlistx_destroy(&held);
    sl_sched_destroy(&wd.sched);
    sl_run_destroy(&other);
    sl_run_destroy(&wd.run);
}

/* ---- refused changes ------------------------------------------------------
 */

/* Runs fn in a child. A checked build must abort there; any other must
 * come back (fn exits 0 only if the run ended as it should). */
static void
expect_refused(void (*fn)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (sl_invariant_is_checked()) {
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGABRT);
    } else {
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

static void
result_for_a_queued_job(void)
{
    world_t wd;
    world_start(&wd, "flow: f\ntasks:\n  a: {run: add, args: [1, 2]}\n  b: "
                     "{run: add, args: [3, 4]}\n");
    sl_job_t *queued = sl_run_job(wd.run, 0);
    answer(&wd, queued, 3); /* impossible: broker.c checks the holder */
    /* unchecked: the run is over, failed, and says why */
    if (!sl_run_is_finished(wd.run) || sl_run_state(wd.run) != SL_RUN_FAILED ||
        !strstr(node_error(wd.run, 0), "internal error"))
        _exit(1);
    sl_sched_counts_t c;
    sl_sched_counts(wd.sched, &c);
    if (c.queued != 0) /* nothing of a broken run stays queued */
        _exit(2);
    world_end(&wd);
}

static void
test_run_refuses_a_result_for_a_job_that_is_not_running(void **state)
{
    (void)state;
    expect_refused(result_for_a_queued_job);
}

static void
second_result_for_a_done_job(void)
{
    world_t wd;
    world_start(&wd, "flow: f\ntasks:\n  a: {run: add, args: [1, 2]}\n  b: "
                     "{run: sleep_ms, args: [1000, 1]}\n");
    sl_job_t *jobs[4];
    take(&wd, jobs, 4);
    sl_job_t *a = sl_run_job(wd.run, 0);
    a->worker = wd.w; /* as if it were held again */
    answer(&wd, a, 3);
    answer(&wd, a, 4); /* a done job cannot finish twice */
    if (sl_value_get_int(node_value(wd.run, 0)) != 3 ||
        !sl_run_is_finished(wd.run))
        _exit(1);
    world_end(&wd);
}

static void
test_run_refuses_a_job_that_finishes_twice(void **state)
{
    (void)state;
    expect_refused(second_result_for_a_done_job);
}

static void
test_job_enter_refuses_leaving_a_final_state(void **state)
{
    (void)state;
    sl_job_t job = {.state = SL_JOB_DONE};
    if (sl_invariant_is_checked())
        return; /* refused by abort: the run tests above fork for that */
    assert_int_equal(sl_job_enter(&job, SL_JOB_QUEUED), SL_ESTATE);
    assert_int_equal(job.state, SL_JOB_DONE);
    assert_int_equal(sl_job_enter(&job, SL_JOB_RUNNING), SL_ESTATE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_table_allows_only_the_documented_changes),
        cmocka_unit_test(test_node_pending_runs_when_its_references_are_done),
        cmocka_unit_test(
            test_node_whose_map_source_is_no_list_fails_before_it_runs),
        cmocka_unit_test(test_node_maps_of_different_lengths_fail),
        cmocka_unit_test(test_node_fails_when_a_reference_fails),
        cmocka_unit_test(test_node_mapped_is_done_with_values_in_element_order),
        cmocka_unit_test(test_node_mapped_over_nothing_is_done_with_empty_list),
        cmocka_unit_test(
            test_node_fails_when_a_job_fails_for_good_and_cancels_the_rest),
        cmocka_unit_test(test_node_pending_and_running_fail_on_cancel),
        cmocka_unit_test(test_job_progress_is_an_event_only_while_it_runs),
        cmocka_unit_test(
            test_node_whose_arguments_pass_the_value_caps_fails_saying_so),
        cmocka_unit_test(
            test_job_identical_to_one_in_flight_follows_it_and_shares_its_value),
        cmocka_unit_test(test_job_follower_is_queued_when_its_leader_fails),
        cmocka_unit_test(test_job_recovered_from_the_journal_is_done_at_once),
        cmocka_unit_test(test_job_queued_without_a_worker_waits_then_gives_up),
        cmocka_unit_test(test_job_failed_attempt_is_retried_after_its_delay),
        cmocka_unit_test(test_job_fails_when_no_retry_is_left),
        cmocka_unit_test(
            test_job_of_a_worker_that_left_goes_to_the_front_again),
        cmocka_unit_test(test_job_outliving_three_workers_fails_as_poison),
        cmocka_unit_test(test_job_suspect_runs_alone),
        cmocka_unit_test(
            test_job_in_every_live_state_is_cancelled_with_its_run),
        cmocka_unit_test(
            test_run_refuses_a_result_for_a_job_that_is_not_running),
        cmocka_unit_test(test_run_refuses_a_job_that_finishes_twice),
        cmocka_unit_test(test_job_enter_refuses_leaving_a_final_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
