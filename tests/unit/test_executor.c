/* tests/unit/test_executor.c: an executor's batch logic (worker/batch.h:
 * executor.c's prepare, exec_cache.c's lookups, locks, entries and stores)
 * on task calls in sluice's own types: no wire message, no thread, a real
 * LMDB cache in a scratch folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "scratch.h"

#include "batch.h"
#include "cache.h"
#include "entry.h"
#include "task_queue.h"
#include "wire.h"

#include "proto/sluice.pb-c.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char dir[64];
    char url[128];
    sl_registry_t *registry;
    sl_executor_config_t cfg;
    sl_cancel_board_t board;
    executor_t ex;
} fixture_t;

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    sl_test_scratch_new(f->dir, sizeof f->dir, "exec");
    snprintf(f->url, sizeof f->url, "lmdb://%s/cache", f->dir);
    f->registry = sl_registry_new();
    assert_int_equal(sl_builtins_register(f->registry, NULL), 0);
    f->cfg = (sl_executor_config_t){.registry = f->registry,
                                    .worker_id = "w1",
                                    .fallback_url = f->url};
    f->ex = (executor_t){.cfg = &f->cfg,
                         .board = &f->board,
                         .caches = sl_cache_pool_new(8),
                         .cost_us = calloc(sl_registry_count(f->registry),
                                           sizeof(uint32_t))};
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    sl_cache_pool_destroy(&f->ex.caches);
    sl_buf_fini(&f->ex.trips);
    sl_buf_fini(&f->ex.stores);
    free(f->ex.cost_us);
    sl_registry_destroy(&f->registry);
    sl_test_scratch_remove(f->dir);
    free(f);
    return 0;
}

/* A call of task with integer args, cached by its inputs for an hour. */
static void
call(job_t *j, uint64_t id, const char *task, int64_t a, int64_t b)
{
    sl_value_t *args = sl_value_new_list(), *x = sl_value_new_int(a),
               *y = sl_value_new_int(b);
    sl_value_push(args, &x);
    sl_value_push(args, &y);
    memset(j, 0, sizeof *j);
    j->call = (sl_task_call_t){.task_id = id,
                               .attempt = 1,
                               .name = task,
                               .args = args,
                               .cache = SL_CACHE_INPUTS,
                               .cache_key = "",
                               .cache_namespace = "default",
                               .cache_url = "",
                               .ttl_ms = 3600000};
}

static void
release(fixture_t *f, job_t *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sl_batch_job_fini(&f->ex, &jobs[i]);
}

/* As compute would: the task's value, then its entry for the store. */
static void
computed(fixture_t *f, job_t *j, int64_t value)
{
    j->value = sl_value_new_int(value);
    j->outcome.is_ok = true;
    j->is_done = true;
    sl_batch_encode_entry(&f->ex, j, 5);
}

static void
test_executor_miss_is_stored_and_then_a_hit(void **state)
{
    fixture_t *f = *state;
    job_t jobs[2];
    call(&jobs[0], 1, "mul", 6, 7);
    sl_batch_prepare(&f->ex, &jobs[0]);
    assert_false(jobs[0].is_done);
    assert_string_equal(jobs[0].key + strlen(jobs[0].key) - 65,
                        strrchr(jobs[0].key, ':')); /* ...:mul:<64 hex> */
    sl_batch_lookup(&f->ex, jobs, 1);
    assert_false(jobs[0].is_done);  /* a miss */
    assert_true(jobs[0].is_locked); /* a small batch locks in its probe */
    computed(f, &jobs[0], 42);
    assert_true(jobs[0].needs_store);
    job_t *done[] = {&jobs[0]};
    sl_batch_store(&f->ex, done, 1);
    assert_false(jobs[0].is_locked); /* released with the store */
    assert_int_equal(jobs[0].outcome.cache, SL_CACHE_OUTCOME_MISS);
    release(f, jobs, 1);

    call(&jobs[1], 2, "mul", 6, 7);
    sl_batch_prepare(&f->ex, &jobs[1]);
    sl_batch_lookup(&f->ex, &jobs[1], 1);
    assert_true(jobs[1].is_done);
    assert_true(jobs[1].outcome.is_ok);
    assert_int_equal(jobs[1].outcome.cache, SL_CACHE_OUTCOME_HIT);
    assert_int_equal(sl_value_get_int(jobs[1].value), 42);
    release(f, &jobs[1], 1);
}

/* An entry planted under a task's key (here mul(3, 5)'s, copied to mul(6,
 * 7)'s) is a miss, counted by reason: the task computes. */
static void
test_executor_entry_of_another_key_is_a_miss(void **state)
{
    fixture_t *f = *state;
    job_t a, b;
    call(&a, 1, "mul", 3, 5);
    sl_batch_prepare(&f->ex, &a);
    computed(f, &a, 15);
    call(&b, 2, "mul", 6, 7);
    sl_batch_prepare(&f->ex, &b);
    sl_cache_item_t planted = {b.key, a.entry.data, a.entry.size, 60000, NULL};
    assert_int_equal(sl_cache_set_batch(a.slot->cache, &planted, 1, NULL), 0);
    sl_batch_lookup(&f->ex, &b, 1);
    assert_false(b.is_done);
    assert_int_equal(b.rejected, SL_REJECT_OTHER_KEY);
    job_t *both[] = {&a, &b};
    a.is_locked = b.is_locked = false;
    b.needs_store = false;
    sl_batch_store(&f->ex, both, 1);
    release(f, &a, 1);
    release(f, &b, 1);
}

/* Two workers' executors on one cache: the second finds the key locked
 * by the first (contended), and its lookups come back as misses until the
 * first stores. */
static void
test_executor_second_worker_finds_the_key_locked(void **state)
{
    fixture_t *f = *state;
    sl_executor_config_t cfg2 = f->cfg;
    sl_cancel_board_t board2 = {0};
    cfg2.worker_id = "w2";
    executor_t ex2 = {.cfg = &cfg2,
                      .board = &board2,
                      .caches = sl_cache_pool_new(8)};
    job_t jobs[10], other[10];
    for (int i = 0; i < 10; i++) { /* over PROBE_MAX: locked separately */
        call(&jobs[i], 10 + i, "add", i, 1);
        call(&other[i], 100 + i, "add", i, 1);
        sl_batch_prepare(&f->ex, &jobs[i]);
        sl_batch_prepare(&ex2, &other[i]);
    }
    sl_batch_lookup(&f->ex, jobs, 10);
    sl_batch_lock_misses(&f->ex, jobs, 10);
    sl_batch_lookup(&ex2, other, 10);
    sl_batch_lock_misses(&ex2, other, 10);
    for (int i = 0; i < 10; i++) {
        assert_true(jobs[i].is_locked);
        assert_false(other[i].is_locked);
        assert_true(other[i].is_contended);
    }
    job_t *done[10];
    for (int i = 0; i < 10; i++) {
        computed(f, &jobs[i], i + 1);
        done[i] = &jobs[i];
    }
    sl_batch_store(&f->ex, done, 10);
    assert_true(sl_batch_wait_for_peer(&ex2, &other[3])); /* it is there */
    assert_int_equal(sl_value_get_int(other[3].value), 4);
    assert_int_equal(other[3].outcome.cache, SL_CACHE_OUTCOME_HIT);
    release(f, jobs, 10);
    for (int i = 0; i < 10; i++) {
        sl_batch_job_fini(&ex2, &other[i]);
    }
    sl_cache_pool_destroy(&ex2.caches);
    sl_buf_fini(&ex2.trips);
    sl_buf_fini(&ex2.stores);
}

/* jobs[0..10): add(i, b) as tasks first_id + i, prepared. */
static void
adds(fixture_t *f, job_t *jobs, uint64_t first_id, int64_t b)
{
    for (int i = 0; i < 10; i++) {
        call(&jobs[i], first_id + (uint64_t)i, "add", i, b);
        sl_batch_prepare(&f->ex, &jobs[i]);
    }
}

/* A batch over PROBE_MAX looks its keys up without locks while lookups
 * mostly hit (a hit's lock would cost a release), and takes them in the
 * same round trip once the last lookup mostly missed (a fan-out
 * computing: one round trip, not two). */
static void
test_executor_big_batches_lock_in_the_lookup_after_misses(void **state)
{
    fixture_t *f = *state;
    job_t a[10], b[10];
    adds(f, a, 10, 100);
    sl_batch_lookup(&f->ex, a, 10); /* a fresh executor: no locks yet */
    for (int i = 0; i < 10; i++) {
        assert_false(a[i].is_done);
        assert_false(a[i].is_locked);
    }
    assert_true(f->ex.is_missing);
    adds(f, b, 30, 200);
    sl_batch_lookup(&f->ex, b, 10);
    for (int i = 0; i < 10; i++)
        assert_true(b[i].is_locked); /* taken with the lookup */
    job_t *done[10];
    for (int i = 0; i < 10; i++) { /* stored: the next lookup hits */
        computed(f, &b[i], i + 200);
        done[i] = &b[i];
    }
    sl_batch_store(&f->ex, done, 10);
    release(f, a, 10);
    release(f, b, 10);
    adds(f, b, 50, 200);
    sl_batch_lookup(&f->ex, b, 10); /* after misses: probed, all hits */
    for (int i = 0; i < 10; i++)
        assert_true(b[i].is_done);
    assert_false(f->ex.is_missing);
    sl_batch_store(&f->ex, done, 10); /* releases the hits' locks */
    release(f, b, 10);
    adds(f, b, 70, 300);
    sl_batch_lookup(&f->ex, b, 10); /* after hits: no locks in it */
    for (int i = 0; i < 10; i++)
        assert_false(b[i].is_locked);
    release(f, b, 10);
}

/* An entry sure to fit (a scalar; a string under half the cap) is encoded
 * after the answer goes (sl_batch_encode_due); one that may not fit is
 * encoded at once, so that the answer can say TOO_LARGE. */
static void
test_executor_small_entries_are_encoded_after_the_answer(void **state)
{
    fixture_t *f = *state;
    job_t j[2];
    call(&j[0], 1, "mul", 6, 7);
    sl_batch_prepare(&f->ex, &j[0]);
    j[0].value = sl_value_new_int(42);
    sl_batch_plan_entry(&f->ex, &j[0], 5);
    assert_true(j[0].is_entry_due);
    assert_false(j[0].needs_store);
    assert_int_equal(j[0].entry.size, 0);
    job_t *due[] = {&j[0]};
    sl_batch_encode_due(&f->ex, due, 1);
    assert_false(j[0].is_entry_due);
    assert_true(j[0].needs_store);
    sl_entry_t e = {0};
    assert_int_equal(sl_entry_read(j[0].entry.data, j[0].entry.size, j[0].key,
                                   &e, NULL),
                     SL_ENTRY_OK);
    assert_int_equal(sl_value_get_int(e.value), 42);
    sl_entry_fini(&e);

    call(&j[1], 2, "mul", 1, 1);
    sl_batch_prepare(&f->ex, &j[1]);
    char *big = calloc(1, SL_CACHE_VALUE_MAX_BYTES + 1);
    memset(big, 'x', SL_CACHE_VALUE_MAX_BYTES);
    j[1].value = sl_value_new_string(big);
    free(big);
    sl_batch_plan_entry(&f->ex, &j[1], 5);
    assert_false(j[1].is_entry_due); /* at once: it says so in the answer */
    assert_false(j[1].needs_store);
    assert_int_equal(j[1].outcome.cache, SL_CACHE_OUTCOME_TOO_LARGE);
    release(f, j, 2);
}

/* A task measured here at under SL_BATCH_LOCK_MIN_US on average is looked
 * up without a lock and computed without one; one not yet measured, or
 * slower, locks. */
static void
test_executor_cheap_tasks_take_no_lock(void **state)
{
    fixture_t *f = *state;
    job_t j[3];
    call(&j[0], 1, "mul", 2, 3);
    sl_batch_prepare(&f->ex, &j[0]);
    assert_false(j[0].is_lock_free); /* nothing measured yet */
    sl_batch_lookup(&f->ex, &j[0], 1);
    assert_true(j[0].is_locked);
    sl_batch_note_cost(&f->ex, j[0].def, 40);

    call(&j[1], 2, "mul", 4, 5);
    sl_batch_prepare(&f->ex, &j[1]);
    assert_true(j[1].is_lock_free);
    sl_batch_lookup(&f->ex, &j[1], 1);
    sl_batch_lock_misses(&f->ex, &j[1], 1);
    assert_false(j[1].is_done); /* a miss */
    assert_false(j[1].is_locked);
    assert_false(j[1].is_contended);
    assert_int_equal(sl_cache_lock(j[1].slot->cache, j[1].key, "other", 60000,
                                   NULL),
                     0); /* nobody took it */

    for (int i = 0; i < 8; i++) /* add: slow, then it averages down */
        sl_batch_note_cost(&f->ex, sl_registry_find(f->registry, "add", 0),
                           i == 0 ? 50000 : 100);
    call(&j[2], 3, "add", 1, 2);
    sl_batch_prepare(&f->ex, &j[2]);
    assert_false(j[2].is_lock_free); /* about 12 ms on average still */
    release(f, j, 3);
    for (int i = 0; i < 40; i++)
        sl_batch_note_cost(&f->ex, sl_registry_find(f->registry, "add", 0),
                           100);
    call(&j[2], 4, "add", 1, 2);
    sl_batch_prepare(&f->ex, &j[2]);
    assert_true(j[2].is_lock_free);
    release(f, &j[2], 1);
}

/* A cache that cannot be opened is a cache error on the job, which still
 * computes; an unknown task is answered at once; cache: none skips. */
static void
test_executor_prepare_says_what_cannot_be(void **state)
{
    fixture_t *f = *state;
    job_t j;
    call(&j, 1, "mul", 1, 2);
    j.call.cache_url = "memcached://nowhere";
    sl_batch_prepare(&f->ex, &j);
    assert_false(j.is_done);
    assert_int_equal(j.outcome.cache, SL_CACHE_OUTCOME_ERROR);
    assert_non_null(strstr(j.outcome.cache_error, "unknown scheme"));
    release(f, &j, 1);

    call(&j, 2, "no_such_task", 1, 2);
    sl_batch_prepare(&f->ex, &j);
    assert_true(j.is_done);
    assert_false(j.outcome.is_ok);
    assert_string_equal(j.outcome.error, "this worker has no task "
                                         "'no_such_task'");
    release(f, &j, 1);

    call(&j, 3, "mul", 1, 2);
    j.call.cache = SL_CACHE_NONE;
    sl_batch_prepare(&f->ex, &j);
    assert_int_equal(j.outcome.cache, SL_CACHE_OUTCOME_SKIPPED);
    assert_null(j.slot);
    release(f, &j, 1);
}

static void
free_task(void *task)
{
    sluice__task__free_unpacked(task, NULL);
}

/* Held by the test: the task "gate" runs until the test lets it go. */
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;

static int
gate_task(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    (void)ctx;
    (void)args;
    pthread_mutex_lock(&gate);
    pthread_mutex_unlock(&gate);
    *result = sl_value_new_null();
    return 0;
}

/* An executor told to stop ($TERM, as a stopping worker tells it) leaves
 * the rest of the queue: it stops after the batch it is on, at most, not
 * after the queue, whose answers would go to a pipe the stopping worker
 * no longer reads. The first batch's first task holds it until the $TERM
 * is in its pipe, however the threads are scheduled. */
static void
test_executor_stopped_leaves_the_queue(void **state)
{
    enum { N = 20000 };
    fixture_t *f = *state;
    static const sl_task_def_t gate_def = {"gate", 1, gate_task, "waits"};
    assert_int_equal(sl_registry_add(f->registry, &gate_def, NULL), 0);
    sl_task_queue_t *q = sl_task_queue_new(1, free_task);
    uint32_t woken[1];
    sl_value_t *none = sl_value_new_list();
    Sluice__Value *args = NULL;
    assert_int_equal(sl_wire_value_view(none, &args, NULL), 0);
    for (uint32_t i = 0; i <= N; i++) { /* then answered at once */
        Sluice__Task t = SLUICE__TASK__INIT;
        uint8_t packed[64];
        t.task_id = i + 1;
        t.attempt = 1;
        t.name = i == 0 ? "gate" : "no_such_task";
        t.args = i == 0 ? args : NULL;
        t.cache = SLUICE__FLOW_NODE__CACHE_MODE__NONE;
        size_t size = sluice__task__pack(&t, packed);
        void *task = sluice__task__unpack(NULL, size, packed);
        sl_task_queue_put(q, &task, 1, woken);
    }
    free(args);
    sl_value_destroy(&none);
    pthread_mutex_lock(&gate);
    sl_cancel_board_t board = {0};
    zactor_t *ex = sl_executor_new(&f->cfg, &board, q, 0);
    assert_non_null(ex);
    zstr_send(zactor_sock(ex), "T");
    zstr_send(zactor_sock(ex), "$TERM");
    pthread_mutex_unlock(&gate);
    zactor_destroy(&ex);
    assert_true(sl_task_queue_size(q) >= N + 1 - SL_TASK_QUEUE_TAKE_MAX);
    sl_task_queue_destroy(&q);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_executor_miss_is_stored_and_then_a_hit, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_executor_entry_of_another_key_is_a_miss, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_executor_second_worker_finds_the_key_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_executor_cheap_tasks_take_no_lock,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_executor_small_entries_are_encoded_after_the_answer, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_executor_big_batches_lock_in_the_lookup_after_misses, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_executor_prepare_says_what_cannot_be, setup, teardown),
        cmocka_unit_test_setup_teardown(test_executor_stopped_leaves_the_queue,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
