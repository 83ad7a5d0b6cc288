/* tests/unit/test_worker.c: a worker (worker/worker.c, link.c, hand.c)
 * on its own, against a scripted broker over real ZeroMQ
 * (broker_peer.h): what it says when it connects, how it answers a batch
 * of tasks, what its heartbeats hold, cancels, garbage from the broker, a
 * silent broker, draining and goodbye. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "broker_peer.h"
#include "scratch.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    sl_test_peer_t *broker;
    sl_worker_t *worker;
} world_t;

static int
setup(void **state)
{
    world_t *wd = calloc(1, sizeof *wd);
    assert_non_null(wd);
    sl_test_scratch_new(wd->dir, sizeof wd->dir, "worker");
    char cache[128];
    snprintf(cache, sizeof cache, "lmdb://%s/cache", wd->dir);
    wd->broker = sl_test_peer_new();
    sl_worker_options_t opt = {.endpoint = sl_test_peer_endpoint(wd->broker),
                               .id = "wt",
                               .slots = 2,
                               .fallback_url = cache,
                               .heartbeat_ms = 100,
                               .liveness = 3};
    sl_error_t err = {0};
    wd->worker = sl_worker_new(&opt, &err);
    if (!wd->worker)
        fail_msg("%s", err.msg);
    *state = wd;
    return 0;
}

static int
teardown(void **state)
{
    world_t *wd = *state;
    sl_worker_destroy(&wd->worker);
    sl_test_peer_destroy(&wd->broker);
    sl_test_scratch_remove(wd->dir);
    free(wd);
    return 0;
}

/* The worker's READY: the broker's first news of it. */
static Sluice__Envelope *
take_ready(world_t *wd)
{
    Sluice__Envelope *env =
        sl_test_peer_take(wd->broker, SLUICE__ENVELOPE__BODY_READY, 5000);
    assert_non_null(env);
    return env;
}

/* A batch of one task: name(args...) as task id, cache: none; lanes:
 * its result may come on a lane. */
static zframe_t *
task_batch(uint64_t id, const char *name, const sl_value_t *args, bool lanes)
{
    Sluice__Value *wire_args = NULL;
    assert_int_equal(sl_wire_value_view(args, &wire_args, NULL), 0);
    Sluice__Task task = SLUICE__TASK__INIT;
    task.task_id = id;
    task.attempt = 1;
    task.lease_ms = 60000;
    task.name = (char *)name;
    task.args = wire_args;
    task.cache = SLUICE__FLOW_NODE__CACHE_MODE__NONE;
    Sluice__Task *tasks[] = {&task};
    Sluice__TaskBatch batch = SLUICE__TASK_BATCH__INIT;
    batch.tasks = tasks;
    batch.n_tasks = 1;
    batch.lanes = lanes;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_TASKS;
    env.tasks = &batch;
    zframe_t *f = sl_test_pack(&env, 0);
    free(wire_args);
    return f;
}

/* name(a, b) as task id, from a broker that may take its result on a
 * lane or not. */
static zframe_t *
task2_on(uint64_t id, const char *name, int64_t a, int64_t b, bool lanes)
{
    sl_value_t *args = sl_value_new_list();
    sl_value_t *x = sl_value_new_int(a), *y = sl_value_new_int(b);
    sl_value_push(args, &x);
    sl_value_push(args, &y);
    zframe_t *f = task_batch(id, name, args, lanes);
    sl_value_destroy(&args);
    return f;
}

/* name(a, b) as task id, from a broker without lanes. */
static zframe_t *
task2(uint64_t id, const char *name, int64_t a, int64_t b)
{
    return task2_on(id, name, a, b, false);
}

static zframe_t *
cancel_tasks(uint64_t id)
{
    uint64_t ids[] = {id};
    Sluice__CancelTasks c = SLUICE__CANCEL_TASKS__INIT;
    c.task_ids = ids;
    c.n_task_ids = 1;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_CANCEL_TASKS;
    env.cancel_tasks = &c;
    return sl_test_pack(&env, 0);
}

/* The next result the worker sends (the first of its batch). */
static Sluice__Envelope *
take_results(world_t *wd)
{
    Sluice__Envelope *env =
        sl_test_peer_take(wd->broker, SLUICE__ENVELOPE__BODY_RESULTS, 10000);
    assert_non_null(env);
    assert_true(env->results->n_results >= 1);
    return env;
}

/* Whether, within the next 20 heartbeats, one comes that lists id
 * (holding) or one that does not (!holding). */
static bool
heartbeat_comes(world_t *wd, uint64_t id, bool holding)
{
    for (int i = 0; i < 20; i++) {
        Sluice__Envelope *hb =
            sl_test_peer_take(wd->broker, SLUICE__ENVELOPE__BODY_HEARTBEAT,
                              5000);
        assert_non_null(hb);
        bool has = false;
        for (size_t k = 0; k < hb->heartbeat->n_held_task_ids; k++)
            has |= hb->heartbeat->held_task_ids[k] == id;
        sl_envelope_free(&hb);
        if (has == holding)
            return true;
    }
    return false;
}

static void
test_ready_names_the_worker_its_tasks_and_slots(void **state)
{
    world_t *wd = *state;
    Sluice__Envelope *env = take_ready(wd);
    Sluice__Ready *r = env->ready;
    assert_string_equal(r->worker_id, "wt");
    assert_int_equal(r->slots, 2);
    assert_int_equal(r->pid, (uint32_t)getpid());
    assert_int_equal(strlen(r->incarnation), 16);
    bool has_add = false;
    for (size_t i = 0; i < r->n_tasks; i++)
        has_add |= !strcmp(r->tasks[i]->name, "add");
    assert_true(has_add);
    assert_true(sl_worker_serves(wd->worker, "add", 0));
    assert_false(sl_worker_serves(wd->worker, "no_such_task", 0));
    sl_envelope_free(&env);
}

static void
test_a_task_is_computed_and_answered_with_its_id_and_attempt(void **state)
{
    world_t *wd = *state;
    Sluice__Envelope *ready = take_ready(wd);
    sl_envelope_free(&ready);
    sl_test_peer_push(wd->broker, task2(7, "add", 2, 3), NULL);
    Sluice__Envelope *env = take_results(wd);
    Sluice__Result *r = env->results->results[0];
    assert_int_equal(r->task_id, 7);
    assert_int_equal(r->attempt, 1);
    assert_int_equal(r->status, SLUICE__RESULT__STATUS__OK);
    assert_int_equal(r->cache, SLUICE__RESULT__CACHE__SKIPPED);
    assert_string_equal(env->results->incarnation, ""); /* no lane */
    sl_value_t *v = NULL;
    assert_int_equal(sl_wire_value_unpack(r->value, &v, NULL), 0);
    assert_int_equal(sl_value_get_int(v), 5);
    sl_value_destroy(&v);
    sl_envelope_free(&env);
}

static void
test_a_task_it_does_not_have_fails_naming_it(void **state)
{
    world_t *wd = *state;
    Sluice__Envelope *ready = take_ready(wd);
    sl_envelope_free(&ready);
    sl_test_peer_push(wd->broker, task2(8, "no_such_task", 1, 1), NULL);
    Sluice__Envelope *env = take_results(wd);
    Sluice__Result *r = env->results->results[0];
    assert_int_equal(r->task_id, 8);
    assert_int_equal(r->status, SLUICE__RESULT__STATUS__ERROR);
    assert_non_null(strstr(r->error, "no_such_task"));
    sl_envelope_free(&env);
}

static void
test_heartbeats_list_the_tasks_in_hand_until_answered(void **state)
{
    world_t *wd = *state;
    Sluice__Envelope *ready = take_ready(wd);
    sl_envelope_free(&ready);
    sl_test_peer_push(wd->broker, task2(9, "sleep_ms", 300, 1), NULL);
    assert_true(heartbeat_comes(wd, 9, true));
    Sluice__Envelope *env = take_results(wd);
    assert_int_equal(env->results->results[0]->task_id, 9);
    sl_envelope_free(&env);
    assert_true(heartbeat_comes(wd, 9, false));
}

/* A broker that takes results on lanes gets them from the executor's own
 * connection, which sends nothing else, naming the incarnation of the
 * Ready; the heartbeat stops listing the task once the executor has told
 * the worker thread. */
static void
test_results_go_on_a_lane_when_the_broker_takes_them(void **state)
{
    world_t *wd = *state;
    Sluice__Envelope *ready = take_ready(wd);
    char incarnation[17];
    snprintf(incarnation, sizeof incarnation, "%s", ready->ready->incarnation);
    sl_envelope_free(&ready);
    sl_test_peer_push(wd->broker, task2_on(11, "sleep_ms", 300, 1, true), NULL);
    zframe_t *lane = NULL, *from = NULL;
    Sluice__Envelope *env =
        sl_test_peer_take_from(wd->broker, SLUICE__ENVELOPE__BODY_RESULTS,
                               10000, &lane);
    assert_non_null(env);
    assert_int_equal(env->results->results[0]->task_id, 11);
    assert_string_equal(env->results->incarnation, incarnation);
    sl_envelope_free(&env);
    /* the heartbeats, sent while it ran and after, came on another
       connection (the worker's own, 100 ms apart) */
    size_t beats = 0;
    while ((env = sl_test_peer_take_from(wd->broker,
                                         SLUICE__ENVELOPE__BODY_HEARTBEAT, 300,
                                         &from)) &&
           beats < 5) {
        assert_false(zframe_eq(from, lane));
        beats++;
        sl_envelope_free(&env);
        zframe_destroy(&from);
    }
    sl_envelope_free(&env);
    zframe_destroy(&from);
    zframe_destroy(&lane);
    assert_true(beats >= 2);
    assert_true(heartbeat_comes(wd, 11, false));
}

static void
test_a_cancelled_task_stops_and_is_answered_as_cancelled(void **state)
{
    world_t *wd = *state;
    Sluice__Envelope *ready = take_ready(wd);
    sl_envelope_free(&ready);
    sl_test_peer_push(wd->broker, task2(10, "sleep_ms", 60000, 1), NULL);
    assert_true(heartbeat_comes(wd, 10, true)); /* it runs */
    int64_t start = zclock_mono();
    sl_test_peer_push(wd->broker, cancel_tasks(10), NULL);
    Sluice__Envelope *env = take_results(wd);
    Sluice__Result *r = env->results->results[0];
    assert_int_equal(r->task_id, 10);
    assert_int_equal(r->status, SLUICE__RESULT__STATUS__ERROR);
    assert_int_equal(r->failure, SLUICE__RESULT__FAILURE__CANCELLED);
    assert_true(zclock_mono() - start < 30000); /* not its 60 s */
    sl_envelope_free(&env);
}

static void
test_garbage_and_other_versions_from_the_broker_are_ignored(void **state)
{
    world_t *wd = *state;
    Sluice__Envelope *ready = take_ready(wd);
    sl_envelope_free(&ready);
    zframe_t *old = task2(11, "add", 1, 1);
    /* the same batch stamped with another protocol version */
    Sluice__Envelope *env =
        sl_envelope_decode(zframe_data(old), zframe_size(old), NULL);
    zframe_destroy(&old);
    zframe_t *other = sl_test_pack(env, 99);
    sl_envelope_free(&env);
    sl_test_peer_push(wd->broker, zframe_new("\x08\xff\xff", 3), other,
                      task2(12, "add", 20, 22), NULL);
    env = take_results(wd);
    Sluice__Result *r = env->results->results[0];
    assert_int_equal(r->task_id, 12); /* 11 never ran */
    sl_envelope_free(&env);
}

static void
test_a_silent_broker_is_greeted_again(void **state)
{
    world_t *wd = *state;
    Sluice__Envelope *first = take_ready(wd);
    /* the broker says nothing: after 3 heartbeats the worker says hello
     * again, as to a broker that restarted */
    Sluice__Envelope *again = take_ready(wd);
    assert_string_equal(again->ready->incarnation, first->ready->incarnation);
    sl_envelope_free(&first);
    sl_envelope_free(&again);
}

static void
test_a_draining_worker_says_so_then_says_goodbye(void **state)
{
    world_t *wd = *state;
    Sluice__Envelope *ready = take_ready(wd);
    sl_envelope_free(&ready);
    assert_int_equal(sl_worker_drain(wd->worker, 5000), 0);
    Sluice__Envelope *hb = NULL;
    for (int i = 0; i < 50; i++) { /* heartbeats from before the drain */
        hb = sl_test_peer_take(wd->broker, SLUICE__ENVELOPE__BODY_HEARTBEAT,
                               5000);
        assert_non_null(hb);
        if (hb->heartbeat->draining)
            break;
        sl_envelope_free(&hb);
    }
    assert_non_null(hb);
    assert_true(hb->heartbeat->draining);
    sl_envelope_free(&hb);
    sl_worker_destroy(&wd->worker);
    Sluice__Envelope *bye =
        sl_test_peer_take(wd->broker, SLUICE__ENVELOPE__BODY_DISCONNECT, 5000);
    assert_non_null(bye);
    sl_envelope_free(&bye);
}

static void
test_a_plugin_that_does_not_load_is_an_error_naming_it(void **state)
{
    (void)state;
    const char *plugins[] = {"/no/such/plugin.so"};
    sl_worker_options_t opt = {.endpoint = "tcp://127.0.0.1:1",
                               .plugins = plugins,
                               .plugin_count = 1};
    sl_error_t err = {0};
    assert_null(sl_worker_new(&opt, &err));
    assert_non_null(strstr(err.msg, "/no/such/plugin.so"));
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_ready_names_the_worker_its_tasks_and_slots),
        TEST(test_a_task_is_computed_and_answered_with_its_id_and_attempt),
        TEST(test_a_task_it_does_not_have_fails_naming_it),
        TEST(test_heartbeats_list_the_tasks_in_hand_until_answered),
        TEST(test_results_go_on_a_lane_when_the_broker_takes_them),
        TEST(test_a_cancelled_task_stops_and_is_answered_as_cancelled),
        TEST(test_garbage_and_other_versions_from_the_broker_are_ignored),
        TEST(test_a_silent_broker_is_greeted_again),
        TEST(test_a_draining_worker_says_so_then_says_goodbye),
        cmocka_unit_test(
            test_a_plugin_that_does_not_load_is_an_error_naming_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
