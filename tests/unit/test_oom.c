/* tests/unit/test_oom.c: the malloc-failure pass, as SQLite does it: for
 * each scenario over common/ and the broker core, fail the Nth allocation
 * our code makes, for every N the scenario reaches, and check that it
 * ends in a clean error: no crash, no leak (every allocation made while it
 * ran is freed once it is cleaned up).
 *
 * The allocator is replaced in this executable (malloc, calloc, realloc,
 * free, strdup, strndup). Only calls made from this executable's code
 * (sluice's, linked in statically) may fail: CZMQ aborts by design when
 * its own allocations fail, and libzmq throws. Every allocation, whoever
 * makes it, is counted for the leak check. Not under AddressSanitizer,
 * which owns the allocator there (the test says it is skipped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "entry.h"
#include "flow.h"
#include "flow_wire.h"
#include "run.h"
#include "runbook.h"
#include "scratch.h"
#include "value.h"
#include "wire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define HAS_OWN_ALLOCATOR 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAS_OWN_ALLOCATOR 0
#endif
#endif
#ifndef HAS_OWN_ALLOCATOR
#define HAS_OWN_ALLOCATOR 1
#endif

#if HAS_OWN_ALLOCATOR

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);
extern char __executable_start, etext; /* this executable's code */

static long fail_at = -1; /* the allocation of ours that fails; -1: none */
static long ours;         /* allocations of ours since arming */
static long live;         /* allocations not yet freed, anyone's */

/* Whether the allocation called from `from` is the one to fail. */
static bool
is_failing(const void *from)
{
    const char *at = from;
    if (fail_at < 0 || at < &__executable_start || at >= &etext)
        return false;
    return ours++ == fail_at;
}

void *
malloc(size_t size)
{
    if (is_failing(__builtin_return_address(0)))
        return NULL;
    void *p = __libc_malloc(size);
    live += p != NULL;
    return p;
}

void *
calloc(size_t n, size_t size)
{
    if (is_failing(__builtin_return_address(0)))
        return NULL;
    void *p = __libc_calloc(n, size);
    live += p != NULL;
    return p;
}

void *
realloc(void *old, size_t size)
{
    if (is_failing(__builtin_return_address(0)))
        return NULL;
    void *p = __libc_realloc(old, size);
    live += !old && p;
    live -= old && !size;
    return p;
}

void
free(void *p)
{
    live -= p != NULL;
    __libc_free(p);
}

char *
strdup(const char *s)
{
    if (is_failing(__builtin_return_address(0)))
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = __libc_malloc(n);
    live += p != NULL;
    return p ? memcpy(p, s, n) : NULL;
}

char *
strndup(const char *s, size_t max)
{
    if (is_failing(__builtin_return_address(0)))
        return NULL;
    size_t n = strnlen(s, max);
    char *p = __libc_malloc(n + 1);
    live += p != NULL;
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* A scenario: does its work (its allocations may fail), then cleans up
 * everything it made, whatever happened. */
typedef void (*scenario_fn)(void);

/* Runs fn once unarmed (what libraries allocate once stays allocated),
 * then with the Nth allocation of ours failing, for N = 0, 1, ... until
 * fn makes fewer than N + 1; each time, nothing may be left. Returns how
 * many failure points it tried. */
static long
fail_each(scenario_fn fn)
{
    fn();
    long n = 0;
    for (;; n++) {
        long before = live;
        ours = 0;
        fail_at = n;
        fn();
        fail_at = -1;
        if (live != before)
            fail_msg("allocation %ld failing leaked %ld allocations", n,
                     live - before);
        if (ours <= n) {
            printf("  %ld allocations failed, one at a time\n", n);
            return n; /* the scenario made fewer: every point was tried */
        }
    }
}

/* ---- common/ ----------------------------------------------------------- */

static const char *const mapreduce =
    "flow: Sum of Squares\ncache: {ttl: 1h, namespace: n}\nparams:\n  numbers: "
    "[1, 2, 3]\ntasks:\n  squares:\n    run: mul\n    map: {x: "
    "$params.numbers}\n    args: [$x, $x]\n    retries: 2\n  total: {run: sum, "
    "args: [$squares], cache: key, cache_key: t}\n  note: {run: echo, args: "
    "[{a: [1, 2.5, null, true], b: \"$$x\"}]}\n";

static void
parse_flow(void)
{
    sl_error_t err = {0};
    sl_flow_t *f = sl_flow_parse(mapreduce, strlen(mapreduce), "f.yaml", &err);
    sl_flow_destroy(&f);
}

static void
value_json_copy_and_wire(void)
{
    sl_value_t *v = NULL;
    sl_error_t err = {0};
    if (sl_flow_parse_value("{a: [1, -2, 3.5, x, null, true], b: {c: [[]]}}",
                            &v, &err) < 0)
        return;
    char *json = sl_value_to_json(v);
    sl_value_t *copy = sl_value_copy(v);
    Sluice__Value *view = NULL;
    sl_value_t *back = NULL;
    if (sl_wire_value_view(v, &view, &err) == 0)
        sl_wire_value_unpack(view, &back, &err);
    sl_buf_t bytes = {0};
    sl_value_t *decoded = NULL;
    if (sl_wire_value_encode(v, &bytes, &err) == 0)
        sl_wire_value_decode(bytes.data, bytes.size, &decoded, &err);
    free(json);
    free(view);
    sl_buf_fini(&bytes);
    sl_value_destroy(&decoded);
    sl_value_destroy(&back);
    sl_value_destroy(&copy);
    sl_value_destroy(&v);
}

static void
entry_encode_and_read(void)
{
    uint8_t args[2][SL_DIGEST_BYTES] = {{1}, {2}};
    sl_entry_t e = {.value = sl_value_new_string("v"),
                    .task = "mul",
                    .version = 1,
                    .has_input_digest = true,
                    .arg_digests = args,
                    .arg_count = 2,
                    .producer = "w1"};
    sl_buf_t b = {0};
    sl_entry_t back = {0};
    if (e.value)
        sl_entry_key_digest("k", e.key_digest);
    if (e.value && sl_entry_encode(&e, &b, NULL) == 0)
        sl_entry_read(b.data, b.size, "k", &back, NULL);
    sl_entry_fini(&back);
    sl_value_destroy(&e.value);
    sl_buf_fini(&b);
}

static void
flow_wire(void)
{
    static sl_flow_t *flow; /* made unarmed, once */
    long armed = fail_at;
    fail_at = -1;
    if (!flow)
        flow = sl_flow_parse(mapreduce, strlen(mapreduce), "f.yaml", NULL);
    fail_at = armed;
    Sluice__Flow *msg = NULL;
    sl_flow_t *back = NULL;
    if (sl_flow_wire_view(flow, &msg, NULL) == 0)
        back = sl_flow_wire_unpack(msg, NULL);
    sl_flow_destroy(&back);
    sl_flow_wire_free(&msg);
}

static void
test_oom_common(void **state)
{
    (void)state;
    long points = fail_each(parse_flow);
    assert_true(points > 50);
    assert_true(fail_each(value_json_copy_and_wire) > 10);
    assert_true(fail_each(entry_encode_and_read) > 3);
    assert_true(fail_each(flow_wire) > 10);
}

/* ---- the broker core ---------------------------------------------------- */

static const char *const dag = "flow: f\ntasks:\n  a: {run: add, args: [1, "
                               "2]}\n  s: {run: mul, map: {x: "
                               "[1, 2, 3]}, args: [$x, $a]}\n  t: {run: sum, "
                               "args: [$s]}\n  u: {run: add, "
                               "args: [1, 2]}\n"; /* u follows a */

/* A run to its end: start, dispatch, answer every job, one failed attempt
 * retried; then everything is freed. */
static void
run_a_flow(void)
{
    sl_error_t err = {0};
    long armed = fail_at;
    fail_at = -1; /* the flow and the worker: made unarmed */
    sl_flow_t *flow = sl_flow_parse(dag, strlen(dag), "t.yaml", &err);
    sl_sched_t *sched = sl_sched_new(0);
    sl_task_name_t tasks[] = {{"add", 1}, {"mul", 1}, {"sum", 1}};
    sl_worker_hello_t hello = {"w1", "h", "i", 1, 4, tasks, 3};
    zframe_t *id = zframe_from("w1");
    sl_bworker_t *w = sl_sched_add_worker(sched, id, &hello);
    zframe_destroy(&id);
    fail_at = armed;
    sl_run_config_t cfg = {.seq = 7,
                           .flow = flow,
                           .params = sl_value_new_map(),
                           .wants_events = true};
    sl_run_t *run = sl_run_new(&cfg); /* takes flow and params either way */
    if (run)
        sl_run_start(run, sched);
    bool has_failed_once = false;
    for (int step = 0; run && w && !sl_run_is_finished(run) && step < 100;
         step++) {
        sl_job_t *jobs[16];
        size_t n = sl_sched_take(sched, w, jobs, 16);
        if (n == 0)
            break; /* memory ran out where nothing is queued: it ended */
        for (size_t i = 0; i < n; i++) {
            sl_value_t *v = sl_value_new_int(3);
            sl_outcome_t o = {.is_ok = true, .error = "", .cache_error = ""};
            if (!has_failed_once) {
                o = (sl_outcome_t){.is_ok = false,
                                   .failure = SL_FAIL_TASK,
                                   .error = "once",
                                   .cache_error = ""};
                sl_value_destroy(&v);
                has_failed_once = true;
            }
            sl_run_job_result(run, sched, jobs[i], &o, &v, "w1");
        }
        const sl_run_event_t *events;
        sl_run_events(run, &events);
        sl_run_events_sent(run);
    }
    if (run && !sl_run_is_finished(run)) { /* stuck for want of memory */
        zlistx_t *held = zlistx_new();
        sl_run_cancel(run, sched, "cancelled", held);
        zlistx_destroy(&held);
    }
    sl_sched_destroy(&sched);
    sl_run_destroy(&run);
}

/* A run submitted to a runbook with a journal, to its end, then the
 * runbook freed (the journal written and synced). */
static char journal_dir[64]; /* a scratch folder for the journal */

static void
runbook_with_journal(void)
{
    const char *dir = journal_dir;
    long armed = fail_at;
    fail_at = -1;
    char path[128];
    snprintf(path, sizeof path, "%s/broker.journal", dir);
    unlink(path);
    sl_sched_t *sched = sl_sched_new(0);
    fail_at = armed;
    sl_submission_t sub = {.flow =
                               sl_flow_parse(dag, strlen(dag), "t.yaml", NULL),
                           .params = sl_value_new_map()};
    sl_runbook_t *rb = sl_runbook_new(path, 10, NULL);
    sl_run_t *run = rb && sub.flow && sub.params
                        ? sl_runbook_submit(rb, &sub, "submit", 6, NULL, NULL)
                        : NULL;
    sl_submission_fini(&sub); /* consumed by the submit, else freed here */
    if (run) {
        sl_run_start(run, sched);
        sl_runbook_write(rb);
        zlistx_t *held = zlistx_new();
        sl_run_cancel(run, sched, "cancelled", held); /* ends it */
        zlistx_destroy(&held);
        sl_runbook_finished(rb, run, "result", 6);
        sl_runbook_sync(rb);
    }
    sl_sched_destroy(&sched);
    sl_runbook_destroy(&rb);
}

static void
test_oom_broker_core(void **state)
{
    (void)state;
    assert_true(fail_each(run_a_flow) > 30);
    sl_test_scratch_new(journal_dir, sizeof journal_dir, "oom");
    assert_true(fail_each(runbook_with_journal) > 10);
    sl_test_scratch_remove(journal_dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_common),
        cmocka_unit_test(test_oom_broker_core),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int
main(void)
{
    printf("test_oom: skipped under AddressSanitizer (it owns the "
           "allocator)\n");
    return 77;
}

#endif
