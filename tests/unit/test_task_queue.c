/* tests/unit/test_task_queue.c: the queue executors take their batches
 * from (worker/task_queue.c): fair shares, idle takers woken once, cancels
 * removing queued tasks, and two threads taking while one puts, every task
 * taken exactly once. Its tasks here are frames holding a number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "task_queue.h"

#include <czmq.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* A frame holding the number n. */
static zframe_t *
frame_of(uint32_t n)
{
    return zframe_new(&n, sizeof n);
}

static uint32_t
number_of(const void *f)
{
    uint32_t n;
    memcpy(&n, zframe_data((zframe_t *)f), sizeof n);
    return n;
}

static void
free_frame(void *f)
{
    zframe_t *frame = f;
    zframe_destroy(&frame);
}

/* Puts numbers first..first+count-1; returns how many takers it woke. */
static size_t
put_range(sl_task_queue_t *q, uint32_t first, size_t count, uint32_t *woken)
{
    void **frames = calloc(count, sizeof *frames);
    assert_non_null(frames);
    for (size_t i = 0; i < count; i++)
        frames[i] = frame_of(first + (uint32_t)i);
    size_t n = sl_task_queue_put(q, frames, count, woken);
    for (size_t i = 0; i < count; i++)
        assert_null(frames[i]); /* all queued, owned by the queue */
    free(frames);
    return n;
}

static void
destroy_all(void **frames, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free_frame(frames[i]);
}

static void
test_idle_takers_are_woken_once(void **state)
{
    (void)state;
    sl_task_queue_t *q = sl_task_queue_new(3, free_frame);
    uint32_t woken[3];
    void *out[SL_TASK_QUEUE_TAKE_MAX];
    assert_false(sl_task_queue_is_busy(q, 0));
    assert_int_equal(put_range(q, 0, 2, woken), 2); /* one per task */
    assert_int_equal(woken[0], 0);
    assert_int_equal(woken[1], 1);
    assert_true(sl_task_queue_is_busy(q, 1));
    assert_false(sl_task_queue_is_busy(q, 2));
    assert_int_equal(put_range(q, 2, 1, woken), 1); /* the one still idle */
    assert_int_equal(woken[0], 2);
    assert_int_equal(put_range(q, 3, 1, woken), 0); /* all busy */
    size_t n = sl_task_queue_take(q, 1, out); /* a third of 4, rounded up */
    assert_int_equal(n, 2);
    assert_int_equal(number_of(out[0]), 0); /* oldest first */
    assert_int_equal(number_of(out[1]), 1);
    destroy_all(out, n);
    n = sl_task_queue_take(q, 0, out);
    assert_int_equal(n, 1);
    assert_int_equal(number_of(out[0]), 2);
    destroy_all(out, n);
    n = sl_task_queue_take(q, 2, out);
    assert_int_equal(n, 1);
    assert_int_equal(number_of(out[0]), 3);
    destroy_all(out, n);
    assert_int_equal(sl_task_queue_take(q, 2, out), 0); /* empty: idle */
    assert_false(sl_task_queue_is_busy(q, 2));
    assert_true(sl_task_queue_is_busy(q, 0));       /* has not looked yet */
    assert_int_equal(put_range(q, 4, 1, woken), 1); /* only 2 was idle */
    assert_int_equal(woken[0], 2);
    sl_task_queue_destroy(&q); /* frees the one left */
    assert_null(q);
}

static void
test_a_take_is_a_fair_share_and_at_most_the_cap(void **state)
{
    (void)state;
    sl_task_queue_t *q = sl_task_queue_new(2, free_frame);
    uint32_t woken[2];
    void *out[SL_TASK_QUEUE_TAKE_MAX];
    put_range(q, 0, 5, woken);
    size_t n = sl_task_queue_take(q, 0, out); /* half of 5, rounded up */
    assert_int_equal(n, 3);
    destroy_all(out, n);
    assert_int_equal(sl_task_queue_size(q), 2);
    n = sl_task_queue_take(q, 1, out);
    assert_int_equal(n, 1);
    destroy_all(out, n);
    put_range(q, 100, 1000, woken); /* grows the ring past its first size */
    n = sl_task_queue_take(q, 0, out);
    assert_int_equal(n, SL_TASK_QUEUE_TAKE_MAX);
    assert_int_equal(number_of(out[0]), 4); /* in order across the growth */
    assert_int_equal(number_of(out[1]), 100);
    destroy_all(out, n);
    assert_int_equal(sl_task_queue_size(q), 1001 - SL_TASK_QUEUE_TAKE_MAX);
    sl_task_queue_destroy(&q);
}

static bool
is_odd(const void *f, void *ctx)
{
    (void)ctx;
    return number_of(f) % 2 == 1;
}

static void
test_remove_takes_out_the_named_and_keeps_the_order(void **state)
{
    (void)state;
    sl_task_queue_t *q = sl_task_queue_new(1, free_frame);
    uint32_t woken[1];
    void *out[SL_TASK_QUEUE_TAKE_MAX];
    void *removed[8];
    put_range(q, 0, 8, woken);
    size_t n = sl_task_queue_take(q, 0, out); /* one taker: all 8 */
    assert_int_equal(n, 8);
    destroy_all(out, n);
    put_range(q, 10, 8, woken);
    n = sl_task_queue_remove(q, is_odd, NULL, removed, 8);
    assert_int_equal(n, 4);
    assert_int_equal(number_of(removed[0]), 11);
    assert_int_equal(number_of(removed[3]), 17);
    destroy_all(removed, n);
    assert_int_equal(sl_task_queue_remove(q, is_odd, NULL, removed, 8), 0);
    n = sl_task_queue_take(q, 0, out);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(number_of(out[i]), 10 + 2 * i);
    destroy_all(out, n);
    sl_task_queue_destroy(&q);
}

enum { PUTS = 20000, TAKERS = 2 };

typedef struct {
    sl_task_queue_t *q;
    uint32_t taker;
    atomic_int *seen;    /* per number: times taken */
    atomic_size_t *done; /* taken in all */
} taker_t;

/* Takes until every number was taken, spinning while the queue is empty
 * (it is idle then; the put that fills it marks it busy again). */
static void *
take_all(void *arg)
{
    taker_t *t = arg;
    void *out[SL_TASK_QUEUE_TAKE_MAX];
    while (atomic_load(t->done) < PUTS) {
        size_t n = sl_task_queue_take(t->q, t->taker, out);
        for (size_t i = 0; i < n; i++)
            atomic_fetch_add(&t->seen[number_of(out[i])], 1);
        atomic_fetch_add(t->done, n);
        destroy_all(out, n);
    }
    return NULL;
}

static void
test_two_takers_and_a_putter_lose_and_repeat_nothing(void **state)
{
    (void)state;
    sl_task_queue_t *q = sl_task_queue_new(TAKERS, free_frame);
    atomic_int *seen = calloc(PUTS, sizeof *seen);
    atomic_size_t done = 0;
    taker_t takers[TAKERS];
    pthread_t threads[TAKERS];
    uint32_t woken[TAKERS];
    for (uint32_t i = 0; i < TAKERS; i++) {
        takers[i] = (taker_t){q, i, seen, &done};
        assert_int_equal(pthread_create(&threads[i], NULL, take_all,
                                        &takers[i]),
                         0);
    }
    for (uint32_t first = 0; first < PUTS; first += 100)
        put_range(q, first, 100, woken);
    for (uint32_t i = 0; i < TAKERS; i++)
        pthread_join(threads[i], NULL);
    assert_int_equal(atomic_load(&done), PUTS);
    for (size_t i = 0; i < PUTS; i++)
        assert_int_equal(atomic_load(&seen[i]), 1);
    assert_int_equal(sl_task_queue_size(q), 0);
    free(seen);
    sl_task_queue_destroy(&q);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_takers_are_woken_once),
        cmocka_unit_test(test_a_take_is_a_fair_share_and_at_most_the_cap),
        cmocka_unit_test(test_remove_takes_out_the_named_and_keeps_the_order),
        cmocka_unit_test(test_two_takers_and_a_putter_lose_and_repeat_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
