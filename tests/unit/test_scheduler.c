/* tests/unit/test_scheduler.c: the broker's scheduler on its own
 * (broker/scheduler.c): which worker gets which job, in what order, how
 * many at once, and what is given back when a worker goes. Bare jobs, no
 * run and no socket: the scheduler is told of workers by their hellos. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "scheduler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOBS 16

typedef struct {
    sl_sched_t *s;
    sl_job_t jobs[JOBS];
} world_t;

static void
world_start(world_t *wd, uint32_t prefetch)
{
    memset(wd, 0, sizeof *wd);
    wd->s = sl_sched_new(prefetch);
    assert_non_null(wd->s);
    for (size_t i = 0; i < JOBS; i++)
        wd->jobs[i].id = i;
}

static void
world_end(world_t *wd)
{
    sl_sched_destroy(&wd->s);
}

/* A worker named id, with slots, serving the tasks listed as "name" or
 * "name@version" (a bare name is version 1). */
static sl_bworker_t *
add_worker(world_t *wd, const char *id, uint32_t slots, const char *tasks)
{
    sl_task_name_t names[8];
    char copy[128], *save = NULL;
    size_t count = 0;
    snprintf(copy, sizeof copy, "%s", tasks);
    for (char *t = strtok_r(copy, " ", &save); t && count < 8;
         t = strtok_r(NULL, " ", &save)) {
        char *at = strchr(t, '@');
        names[count].version = at ? (uint32_t)atoi(at + 1) : 1;
        if (at)
            *at = '\0';
        names[count++].name = t;
    }
    sl_worker_hello_t hello = {id, "host", "inc", 1, slots, names, count};
    zframe_t *identity = zframe_from(id);
    sl_bworker_t *w = sl_sched_add_worker(wd->s, identity, &hello);
    zframe_destroy(&identity);
    assert_non_null(w);
    return w;
}

static size_t
queued(world_t *wd)
{
    sl_sched_counts_t c;
    sl_sched_counts(wd->s, &c);
    return c.queued;
}

static size_t
queues(world_t *wd)
{
    sl_sched_counts_t c;
    sl_sched_counts(wd->s, &c);
    return c.queues;
}

static void
test_take_gives_the_oldest_jobs_of_the_tasks_a_worker_serves(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, 0);
    sl_sched_enqueue(wd.s, &wd.jobs[0], "add", false);
    sl_sched_enqueue(wd.s, &wd.jobs[1], "mul", false);
    sl_sched_enqueue(wd.s, &wd.jobs[2], "add", false);
    sl_bworker_t *w = add_worker(&wd, "w1", 4, "add");
    sl_job_t *out[4];
    assert_int_equal(sl_sched_take(wd.s, w, out, 4), 2);
    assert_ptr_equal(out[0], &wd.jobs[0]);
    assert_ptr_equal(out[1], &wd.jobs[2]);
    assert_int_equal(wd.jobs[0].state, SL_JOB_RUNNING);
    assert_ptr_equal(wd.jobs[0].worker, w);
    assert_int_equal(wd.jobs[0].attempt, 1);
    assert_int_equal(wd.jobs[1].state, SL_JOB_QUEUED); /* nobody serves mul */
    assert_int_equal(queued(&wd), 1);
    assert_int_equal(w->in_flight, 2);
    world_end(&wd);
}

static void
test_a_requeued_job_goes_to_the_front(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, 0);
    sl_bworker_t *w = add_worker(&wd, "w1", 1, "add");
    sl_sched_enqueue(wd.s, &wd.jobs[0], "add", false);
    sl_sched_enqueue(wd.s, &wd.jobs[1], "add", false);
    sl_job_t *out[2];
    assert_int_equal(sl_sched_take(wd.s, w, out, 1), 1);
    sl_sched_release(wd.s, out[0]); /* its worker gave it back */
    sl_sched_enqueue(wd.s, out[0], "add", true);
    assert_int_equal(sl_sched_take(wd.s, w, out, 1), 1);
    assert_ptr_equal(out[0], &wd.jobs[0]);
    assert_int_equal(wd.jobs[0].attempt, 2);
    world_end(&wd);
}

static void
test_a_versioned_job_goes_only_to_a_worker_of_that_version(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, 0);
    char any[64], v1[64], v2[64];
    sl_sched_key(any, sizeof any, "add", 0);
    sl_sched_key(v1, sizeof v1, "add", 1);
    sl_sched_key(v2, sizeof v2, "add", 2);
    assert_string_equal(any, "add");
    assert_string_equal(v2, "add@2");
    assert_false(sl_sched_enqueue(wd.s, &wd.jobs[0], v1, false));
    sl_bworker_t *w = add_worker(&wd, "w2", 4, "add@2");
    assert_true(sl_sched_enqueue(wd.s, &wd.jobs[1], v2, false));
    assert_true(sl_sched_enqueue(wd.s, &wd.jobs[2], any, false));
    sl_job_t *out[4];
    assert_int_equal(sl_sched_take(wd.s, w, out, 4), 2);
    assert_int_equal(wd.jobs[0].state, SL_JOB_QUEUED); /* add@1 waits */
    world_end(&wd);
}

static void
test_credit_is_slots_and_prefetch_and_comes_back_on_release(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, 2);
    for (size_t i = 0; i < 10; i++)
        sl_sched_enqueue(wd.s, &wd.jobs[i], "add", false);
    sl_bworker_t *w = add_worker(&wd, "w1", 2, "add");
    assert_int_equal(sl_sched_credit(wd.s, w), 4);
    sl_job_t *out[16];
    assert_int_equal(sl_sched_take(wd.s, w, out, sl_sched_credit(wd.s, w)), 4);
    assert_int_equal(sl_sched_credit(wd.s, w), 0);
    sl_sched_release(wd.s, out[0]);
    assert_int_equal(sl_sched_credit(wd.s, w), 1);
    assert_int_equal(w->in_flight, 3);
    w->is_draining = true;
    assert_int_equal(sl_sched_credit(wd.s, w), 0);
    world_end(&wd);
}

static void
test_prefetch_grows_for_short_tasks_and_not_for_long_ones(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, 2);
    sl_bworker_t *w = add_worker(&wd, "w1", 2, "add");
    sl_sched_took(w, 10); /* 10 us: 2 slots x 10 ms / 10 us, capped */
    assert_int_equal(sl_sched_credit(wd.s, w), 2 + SL_SCHED_PREFETCH_MAX);
    sl_bworker_t *slow = add_worker(&wd, "w2", 2, "add");
    sl_sched_took(slow, 1000000); /* 1 s: the configured prefetch */
    assert_int_equal(sl_sched_credit(wd.s, slow), 4);
    sl_sched_took(slow, 1000); /* averaged, not replaced */
    assert_true(slow->avg_task_us > 800000);
    world_end(&wd);
}

static void
test_two_workers_share_the_queue_fairly(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, 100);
    sl_bworker_t *a = add_worker(&wd, "a", 1, "add");
    sl_bworker_t *b = add_worker(&wd, "b", 1, "add");
    for (size_t i = 0; i < 10; i++)
        sl_sched_enqueue(wd.s, &wd.jobs[i], "add", false);
    sl_job_t *out[16];
    assert_int_equal(sl_sched_take(wd.s, a, out, 16), 5);
    assert_int_equal(sl_sched_take(wd.s, a, out, 16), 0); /* has its share */
    assert_int_equal(sl_sched_take(wd.s, b, out, 16), 5);
    assert_ptr_equal(out[0], &wd.jobs[5]);
    world_end(&wd);
}

/* Load shares spread: a take gives a worker one, so every load worker
 * gets one before any gets two; a lone worker takes them one per take,
 * each take saying another round is due. */
static void
test_load_shares_go_one_per_worker_per_take(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, 2);
    sl_bworker_t *a = add_worker(&wd, "a", 2, "load add");
    sl_bworker_t *b = add_worker(&wd, "b", 2, "load add");
    for (size_t i = 0; i < 3; i++)
        sl_sched_enqueue(wd.s, &wd.jobs[i], "load", false);
    sl_sched_enqueue(wd.s, &wd.jobs[3], "add", false);
    sl_job_t *out[16];
    sl_sched_round(wd.s);
    assert_false(sl_sched_took_spread(wd.s));
    assert_int_equal(sl_sched_take(wd.s, a, out, 16), 2); /* a share, add */
    assert_ptr_equal(out[0], &wd.jobs[0]);
    assert_ptr_equal(out[1], &wd.jobs[3]);
    assert_true(sl_sched_took_spread(wd.s));
    assert_int_equal(sl_sched_take(wd.s, b, out, 16), 1);
    assert_ptr_equal(out[0], &wd.jobs[1]);
    sl_sched_round(wd.s); /* the next round: the third share, to b, which
                             holds less than its fair share */
    assert_false(sl_sched_took_spread(wd.s));
    assert_int_equal(sl_sched_take(wd.s, a, out, 16), 0);
    assert_int_equal(sl_sched_take(wd.s, b, out, 16), 1);
    assert_ptr_equal(out[0], &wd.jobs[2]);
    assert_true(sl_sched_took_spread(wd.s));
    sl_sched_round(wd.s);
    assert_int_equal(sl_sched_take(wd.s, a, out, 16), 0);
    assert_int_equal(sl_sched_take(wd.s, b, out, 16), 0);
    assert_false(sl_sched_took_spread(wd.s)); /* nothing left: rounds end */
    world_end(&wd);
}

static void
test_a_delayed_job_is_queued_when_it_is_due(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, 0);
    sl_bworker_t *w = add_worker(&wd, "w1", 1, "add");
    assert_int_equal(sl_sched_next_due(wd.s, 0), -1);
    sl_sched_enqueue(wd.s, &wd.jobs[0], "add", false);
    sl_job_t *out[2];
    assert_int_equal(sl_sched_take(wd.s, w, out, 1), 1);
    sl_sched_release(wd.s, out[0]);
    sl_sched_delay(wd.s, out[0], "add", 1000);
    assert_int_equal(wd.jobs[0].state, SL_JOB_DELAYED);
    assert_int_equal(sl_sched_next_due(wd.s, 900), 100);
    assert_int_equal(sl_sched_take(wd.s, w, out, 1), 0);
    assert_int_equal(sl_sched_release_due(wd.s, 999), 0);
    assert_int_equal(queues(&wd), 1); /* kept for the job coming back */
    assert_int_equal(sl_sched_next_due(wd.s, 1000), 0);
    assert_int_equal(sl_sched_release_due(wd.s, 1000), 1);
    assert_int_equal(wd.jobs[0].state, SL_JOB_QUEUED);
    assert_int_equal(sl_sched_next_due(wd.s, 1000), -1);
    assert_int_equal(sl_sched_take(wd.s, w, out, 1), 1);
    world_end(&wd);
}

static void
test_delayed_jobs_come_back_in_due_order(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, 0);
    sl_bworker_t *w = add_worker(&wd, "w1", 3, "add");
    sl_job_t *out[4];
    for (size_t i = 0; i < 3; i++)
        sl_sched_enqueue(wd.s, &wd.jobs[i], "add", false);
    assert_int_equal(sl_sched_take(wd.s, w, out, 4), 3);
    for (size_t i = 0; i < 3; i++)
        sl_sched_release(wd.s, &wd.jobs[i]); /* each failed: a retry */
    sl_sched_delay(wd.s, &wd.jobs[0], "add", 300);
    sl_sched_delay(wd.s, &wd.jobs[1], "add", 100);
    sl_sched_delay(wd.s, &wd.jobs[2], "add", 200);
    assert_int_equal(sl_sched_next_due(wd.s, 0), 100);
    assert_int_equal(sl_sched_release_due(wd.s, 1000), 3);
    assert_int_equal(sl_sched_take(wd.s, w, out, 4), 3);
    assert_ptr_equal(out[0], &wd.jobs[1]);
    assert_ptr_equal(out[1], &wd.jobs[2]);
    assert_ptr_equal(out[2], &wd.jobs[0]);
    world_end(&wd);
}

static void
test_a_queue_is_freed_once_nothing_waits_in_it(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, 0);
    char name[32];
    for (size_t i = 0; i < JOBS; i++) { /* a task name each */
        snprintf(name, sizeof name, "task%zu", i);
        sl_sched_enqueue(wd.s, &wd.jobs[i], name, false);
    }
    assert_int_equal(queues(&wd), JOBS);
    for (size_t i = 0; i < JOBS / 2; i++)
        sl_sched_dequeue(wd.s, &wd.jobs[i]); /* cancelled */
    assert_int_equal(queues(&wd), JOBS / 2);
    sl_bworker_t *w = add_worker(&wd, "w1", 64, "task8 task9");
    sl_job_t *out[4];
    assert_int_equal(sl_sched_take(wd.s, w, out, 4), 2);
    assert_int_equal(queues(&wd), JOBS / 2 - 2);
    assert_int_equal(queued(&wd), JOBS / 2 - 2);
    world_end(&wd);
}

static void
test_a_worker_that_goes_gives_back_what_it_held_oldest_first(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, 0);
    sl_bworker_t *w = add_worker(&wd, "w1", 3, "add");
    for (size_t i = 0; i < 3; i++)
        sl_sched_enqueue(wd.s, &wd.jobs[i], "add", false);
    sl_job_t *out[4];
    assert_int_equal(sl_sched_take(wd.s, w, out, 4), 3);
    sl_sched_release(wd.s, &wd.jobs[1]); /* answered */
    zlistx_t *released = zlistx_new();
    sl_sched_remove_worker(wd.s, w, released);
    assert_int_equal(zlistx_size(released), 2);
    assert_ptr_equal(zlistx_first(released), &wd.jobs[0]);
    assert_ptr_equal(zlistx_next(released), &wd.jobs[2]);
    assert_null(wd.jobs[0].worker);
    assert_int_equal(zlistx_size(sl_sched_workers(wd.s)), 0);
    sl_sched_counts_t c;
    sl_sched_counts(wd.s, &c);
    assert_int_equal(c.held, 0);
    zframe_t *identity = zframe_from("w1");
    assert_null(sl_sched_find_worker(wd.s, identity));
    zframe_destroy(&identity);
    zlistx_destroy(&released);
    world_end(&wd);
}

static void
test_unserved_lists_the_jobs_no_worker_serves(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, 0);
    assert_false(sl_sched_enqueue(wd.s, &wd.jobs[0], "add", false));
    assert_false(sl_sched_enqueue(wd.s, &wd.jobs[1], "mul", false));
    add_worker(&wd, "w1", 1, "mul");
    zlistx_t *out = zlistx_new();
    sl_sched_unserved(wd.s, wd.jobs[0].queued_ms, out);
    assert_int_equal(zlistx_size(out), 0); /* not queued before then */
    sl_sched_unserved(wd.s, wd.jobs[0].queued_ms + 1, out);
    assert_int_equal(zlistx_size(out), 1);
    assert_ptr_equal(zlistx_first(out), &wd.jobs[0]);
    zlistx_destroy(&out);
    world_end(&wd);
}

static void
test_a_suspect_job_waits_for_an_idle_worker_and_runs_alone(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, 4);
    sl_bworker_t *w = add_worker(&wd, "w1", 4, "add");
    sl_sched_enqueue(wd.s, &wd.jobs[0], "add", false);
    sl_job_t *out[8];
    assert_int_equal(sl_sched_take(wd.s, w, out, 8), 1);
    wd.jobs[1].is_suspect = true;
    sl_sched_enqueue(wd.s, &wd.jobs[1], "add", false);
    sl_sched_enqueue(wd.s, &wd.jobs[2], "add", false);
    assert_int_equal(sl_sched_take(wd.s, w, out, 8), 0); /* drains first */
    sl_sched_release(wd.s, &wd.jobs[0]);
    assert_int_equal(sl_sched_take(wd.s, w, out, 8), 1);
    assert_ptr_equal(out[0], &wd.jobs[1]);
    assert_true(w->is_solo);
    assert_int_equal(sl_sched_credit(wd.s, w), 0);
    sl_sched_release(wd.s, &wd.jobs[1]);
    assert_false(w->is_solo);
    assert_int_equal(sl_sched_take(wd.s, w, out, 8), 1);
    assert_ptr_equal(out[0], &wd.jobs[2]);
    world_end(&wd);
}

static void
test_rebind_moves_a_worker_to_a_free_routing_id_only(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, 0);
    sl_bworker_t *a = add_worker(&wd, "a", 1, "add");
    sl_bworker_t *b = add_worker(&wd, "b", 1, "add");
    zframe_t *id_a = zframe_from("a"), *id_b = zframe_from("b"),
             *id_c = zframe_from("c");
    assert_int_equal(sl_sched_rebind_worker(wd.s, a, id_b), SL_EEXIST);
    assert_ptr_equal(sl_sched_find_worker(wd.s, id_a), a);
    assert_ptr_equal(sl_sched_find_worker(wd.s, id_b), b);
    assert_int_equal(sl_sched_rebind_worker(wd.s, a, id_c), 0);
    assert_null(sl_sched_find_worker(wd.s, id_a));
    assert_ptr_equal(sl_sched_find_worker(wd.s, id_c), a);
    assert_true(zframe_eq(a->identity, id_c));
    zframe_destroy(&id_a);
    zframe_destroy(&id_b);
    zframe_destroy(&id_c);
    world_end(&wd);
}

static void
test_a_job_leads_its_identity_only_while_it_is_the_leader(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, 0);
    sl_job_t *a = &wd.jobs[0], *b = &wd.jobs[1], *other = &wd.jobs[2];
    memset(a->identity, 7, sizeof a->identity);
    memset(b->identity, 7, sizeof b->identity);
    memset(other->identity, 8, sizeof other->identity);
    a->has_identity = b->has_identity = other->has_identity = true;
    assert_null(sl_sched_leader(wd.s, b));
    sl_sched_lead(wd.s, a);
    assert_ptr_equal(sl_sched_leader(wd.s, b), a);
    assert_null(sl_sched_leader(wd.s, other));
    sl_sched_unlead(wd.s, b); /* not the leader: changes nothing */
    assert_ptr_equal(sl_sched_leader(wd.s, b), a);
    sl_sched_lead(wd.s, b); /* takes over */
    assert_ptr_equal(sl_sched_leader(wd.s, a), b);
    sl_sched_unlead(wd.s, b);
    assert_null(sl_sched_leader(wd.s, a));
    b->has_identity = false;
    assert_null(sl_sched_leader(wd.s, b));
    world_end(&wd);
}

typedef struct {
    char keys[4][32];
    size_t depth[4], workers[4], count;
} seen_t;

static void
see_queue(const char *key, size_t depth, size_t workers, sl_job_t *oldest,
          void *ctx)
{
    (void)oldest;
    seen_t *s = ctx;
    if (s->count == 4)
        return;
    snprintf(s->keys[s->count], sizeof s->keys[0], "%s", key);
    s->depth[s->count] = depth;
    s->workers[s->count++] = workers;
}

static void
test_each_queue_reports_its_depth_and_who_serves_it(void **state)
{
    (void)state;
    world_t wd;
    world_start(&wd, 0);
    sl_sched_enqueue(wd.s, &wd.jobs[0], "add", false);
    sl_sched_enqueue(wd.s, &wd.jobs[1], "add", false);
    add_worker(&wd, "w1", 1, "mul");
    sl_bworker_t *two = add_worker(&wd, "w2", 1, "add mul");
    add_worker(&wd, "w3", 1, "add");
    seen_t seen = {0};
    sl_sched_each_queue(wd.s, see_queue, &seen);
    assert_int_equal(seen.count, 1);
    assert_string_equal(seen.keys[0], "add");
    assert_int_equal(seen.depth[0], 2);
    assert_int_equal(seen.workers[0], 2);
    sl_sched_remove_worker(wd.s, two, NULL);
    memset(&seen, 0, sizeof seen);
    sl_sched_each_queue(wd.s, see_queue, &seen);
    assert_int_equal(seen.workers[0], 1);
    world_end(&wd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_take_gives_the_oldest_jobs_of_the_tasks_a_worker_serves),
        cmocka_unit_test(test_a_requeued_job_goes_to_the_front),
        cmocka_unit_test(
            test_a_versioned_job_goes_only_to_a_worker_of_that_version),
        cmocka_unit_test(
            test_credit_is_slots_and_prefetch_and_comes_back_on_release),
        cmocka_unit_test(
            test_prefetch_grows_for_short_tasks_and_not_for_long_ones),
        cmocka_unit_test(test_two_workers_share_the_queue_fairly),
        cmocka_unit_test(test_load_shares_go_one_per_worker_per_take),
        cmocka_unit_test(test_a_delayed_job_is_queued_when_it_is_due),
        cmocka_unit_test(test_delayed_jobs_come_back_in_due_order),
        cmocka_unit_test(test_a_queue_is_freed_once_nothing_waits_in_it),
        cmocka_unit_test(
            test_a_worker_that_goes_gives_back_what_it_held_oldest_first),
        cmocka_unit_test(test_unserved_lists_the_jobs_no_worker_serves),
        cmocka_unit_test(
            test_a_suspect_job_waits_for_an_idle_worker_and_runs_alone),
        cmocka_unit_test(test_rebind_moves_a_worker_to_a_free_routing_id_only),
        cmocka_unit_test(
            test_a_job_leads_its_identity_only_while_it_is_the_leader),
        cmocka_unit_test(test_each_queue_reports_its_depth_and_who_serves_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
