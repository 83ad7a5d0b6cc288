/* tests/unit/test_leaders.c: the table of jobs in flight by identity
 * (broker/leaders.c): a leader is found by any identical identity, only the
 * leader takes itself out, identities that share their first bytes or
 * whose probe runs wrap past the table's end stay apart, and after any
 * order of puts and removes exactly the remaining leaders are found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "job.h"
#include "leaders.h"

#include <stdlib.h>
#include <string.h>

/* A job whose identity's first 8 bytes are hash and the rest tag. */
static void
identify(sl_job_t *job, uint64_t hash, uint32_t tag)
{
    memset(job, 0, sizeof *job);
    memcpy(job->identity, &hash, sizeof hash);
    memcpy(job->identity + sizeof hash, &tag, sizeof tag);
    job->has_identity = true;
}

static void
test_a_leader_is_found_by_an_identical_identity(void **state)
{
    (void)state;
    sl_leaders_t *t = sl_leaders_new();
    sl_job_t a, same, other;
    identify(&a, 42, 1);
    identify(&same, 42, 1);
    identify(&other, 42, 2); /* same first bytes, another identity */
    assert_null(sl_leaders_find(t, same.identity));
    assert_int_equal(sl_leaders_put(t, &a), 0);
    assert_ptr_equal(sl_leaders_find(t, same.identity), &a);
    assert_null(sl_leaders_find(t, other.identity));
    assert_int_equal(sl_leaders_put(t, &other), 0);
    assert_ptr_equal(sl_leaders_find(t, other.identity), &other);
    assert_ptr_equal(sl_leaders_find(t, a.identity), &a);
    assert_int_equal(sl_leaders_size(t), 2);
    sl_leaders_destroy(&t);
    assert_null(t);
}

static void
test_only_the_leader_takes_itself_out(void **state)
{
    (void)state;
    sl_leaders_t *t = sl_leaders_new();
    sl_job_t a, b;
    identify(&a, 7, 7);
    identify(&b, 7, 7);
    assert_int_equal(sl_leaders_put(t, &a), 0);
    sl_leaders_remove(t, &b); /* identical, but not the leader */
    assert_ptr_equal(sl_leaders_find(t, a.identity), &a);
    assert_int_equal(sl_leaders_put(t, &b), 0); /* takes over */
    assert_int_equal(sl_leaders_size(t), 1);
    assert_ptr_equal(sl_leaders_find(t, a.identity), &b);
    sl_leaders_remove(t, &a); /* no longer the leader */
    assert_ptr_equal(sl_leaders_find(t, a.identity), &b);
    sl_leaders_remove(t, &b);
    assert_null(sl_leaders_find(t, a.identity));
    assert_int_equal(sl_leaders_size(t), 0);
    sl_leaders_destroy(&t);
}

/* Runs that start at the table's last slots wrap to its first: removing
 * from the middle of such a run must leave the rest findable. */
static void
test_runs_that_wrap_past_the_end_stay_findable(void **state)
{
    (void)state;
    enum { N = 20 };
    sl_leaders_t *t = sl_leaders_new(); /* 64 slots: at most 32 held */
    sl_job_t jobs[N];
    for (uint32_t i = 0; i < N; i++) {
        /* homes 62, 63, 0 and 1, several jobs each */
        identify(&jobs[i], (uint64_t)(62 + i % 4) + ((uint64_t)i << 32), i);
        assert_int_equal(sl_leaders_put(t, &jobs[i]), 0);
    }
    for (uint32_t i = 0; i < N; i += 3) {
        sl_leaders_remove(t, &jobs[i]);
        for (uint32_t j = 0; j < N; j++)
            assert_ptr_equal(sl_leaders_find(t, jobs[j].identity),
                             j <= i && j % 3 == 0 ? NULL : &jobs[j]);
    }
    sl_leaders_destroy(&t);
}

/* Many jobs, their first bytes often shared, put and removed in a random
 * order while the table grows and shrinks: after each step the leaders
 * are exactly the jobs put and not yet removed. */
static void
test_many_puts_and_removes_keep_exactly_the_leaders(void **state)
{
    (void)state;
    enum { N = 20000 };
    sl_leaders_t *t = sl_leaders_new();
    sl_job_t *jobs = calloc(N, sizeof *jobs);
    bool *in = calloc(N, sizeof *in);
    assert_non_null(jobs);
    assert_non_null(in);
    srand(15);
    for (uint32_t i = 0; i < N; i++)
        identify(&jobs[i], (uint64_t)rand() % 5000 * 0x9e3779b97f4a7c15ull, i);
    size_t held = 0;
    for (int round = 0; round < 3; round++) {
        for (uint32_t i = 0; i < N; i++) {
            uint32_t j = (uint32_t)rand() % N;
            if (in[j]) {
                sl_leaders_remove(t, &jobs[j]);
                held--;
            } else {
                assert_int_equal(sl_leaders_put(t, &jobs[j]), 0);
                held++;
            }
            in[j] = !in[j];
        }
        assert_int_equal(sl_leaders_size(t), held);
        for (uint32_t i = 0; i < N; i++)
            assert_ptr_equal(sl_leaders_find(t, jobs[i].identity),
                             in[i] ? &jobs[i] : NULL);
    }
    for (uint32_t i = 0; i < N; i++)
        if (in[i])
            sl_leaders_remove(t, &jobs[i]);
    assert_int_equal(sl_leaders_size(t), 0);
    for (uint32_t i = 0; i < N; i++)
        assert_null(sl_leaders_find(t, jobs[i].identity));
    sl_leaders_destroy(&t);
    free(jobs);
    free(in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_leader_is_found_by_an_identical_identity),
        cmocka_unit_test(test_only_the_leader_takes_itself_out),
        cmocka_unit_test(test_runs_that_wrap_past_the_end_stay_findable),
        cmocka_unit_test(test_many_puts_and_removes_keep_exactly_the_leaders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
