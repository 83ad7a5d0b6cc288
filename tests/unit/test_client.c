/* tests/unit/test_client.c: libsluice (client/client.c) on its own. The
 * broker's side is a ROUTER socket on a loopback port, in a thread of this
 * test, that answers each request with the frames the test scripted: so
 * every answer a broker may give, and those it should never give
 * (garbage, another protocol version), reach the client over real
 * ZeroMQ. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sluice/client.h>

#include "broker_peer.h"

#include <czmq.h>
#include <string.h>

typedef struct {
    sl_test_peer_t *broker;
    sl_client_t *client;
    sl_flow_t *flow;
} world_t;

static int
setup(void **state)
{
    world_t *wd = calloc(1, sizeof *wd);
    wd->broker = sl_test_peer_new();
    sl_error_t err = {0};
    wd->client = sl_client_new(sl_test_peer_endpoint(wd->broker), &err);
    assert_non_null(wd->client);
    const char *yaml = "flow: hello\n"
                       "params: {n: 1}\n"
                       "tasks:\n"
                       "  a: {run: add, args: [$params.n, 2]}\n";
    wd->flow = sl_flow_parse(yaml, strlen(yaml), "hello.yaml", &err);
    if (!wd->flow)
        fail_msg("%s", err.msg);
    *state = wd;
    return 0;
}

static int
teardown(void **state)
{
    world_t *wd = *state;
    sl_client_destroy(&wd->client);
    sl_test_peer_destroy(&wd->broker);
    sl_flow_destroy(&wd->flow);
    free(wd);
    return 0;
}

static zframe_t *
accepted(const char *run_id)
{
    Sluice__Accepted a = SLUICE__ACCEPTED__INIT;
    a.run_id = (char *)run_id;
    a.nodes = 1;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_ACCEPTED;
    env.accepted = &a;
    return sl_test_pack(&env, 0);
}

static zframe_t *
rejected(const char *reason)
{
    Sluice__Rejected r = SLUICE__REJECTED__INIT;
    r.reason = (char *)reason;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_REJECTED;
    env.rejected = &r;
    return sl_test_pack(&env, 0);
}

static zframe_t *
error_reply(const char *reason)
{
    Sluice__Error e = SLUICE__ERROR__INIT;
    e.reason = (char *)reason;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_ERROR;
    env.error = &e;
    return sl_test_pack(&env, 0);
}

/* A batch of count DONE events of node "a" of run_id, elements 0.. */
static zframe_t *
events(const char *run_id, size_t count, uint32_t version)
{
    Sluice__Event items[8], *ptrs[8];
    for (size_t i = 0; i < count; i++) {
        sluice__event__init(&items[i]);
        items[i].kind = SLUICE__EVENT__KIND__DONE;
        items[i].run_id = (char *)run_id;
        items[i].node = "a";
        items[i].index = (uint32_t)i;
        items[i].worker_id = "w1";
        items[i].total = (uint32_t)count;
        items[i].done = (uint32_t)i + 1;
        ptrs[i] = &items[i];
    }
    Sluice__EventBatch batch = SLUICE__EVENT_BATCH__INIT;
    batch.events = ptrs;
    batch.n_events = count;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_EVENTS;
    env.events = &batch;
    return sl_test_pack(&env, version);
}

/* run_id done: node "a" with value 3, accepted at 1000, finished at 1250. */
static zframe_t *
run_result(const char *run_id)
{
    sl_value_t *three = sl_value_new_int(3);
    Sluice__Value *v = NULL;
    assert_int_equal(sl_wire_value_view(three, &v, NULL), 0);
    Sluice__NodeResult node = SLUICE__NODE_RESULT__INIT;
    node.name = "a";
    node.state = SLUICE__NODE_RESULT__STATE__DONE;
    node.value = v;
    node.tasks = 1;
    node.cached = 1;
    Sluice__NodeResult *nodes[] = {&node};
    Sluice__RunResult r = SLUICE__RUN_RESULT__INIT;
    r.run_id = (char *)run_id;
    r.flow = "hello";
    r.state = SLUICE__RUN_RESULT__STATE__DONE;
    r.nodes = nodes;
    r.n_nodes = 1;
    r.submitted_ms = 1000;
    r.finished_ms = 1250;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_RUN_RESULT;
    env.run_result = &r;
    zframe_t *f = sl_test_pack(&env, 0);
    free(v);
    sl_value_destroy(&three);
    return f;
}

static zframe_t *
garbage(void)
{
    return zframe_new("\xff\xff\xff\xff garbage", 12);
}

static zframe_t *
status_reply(void)
{
    Sluice__RunStatus run = SLUICE__RUN_STATUS__INIT;
    run.run_id = "RUN1";
    run.flow = "hello";
    run.state = SLUICE__RUN_RESULT__STATE__CANCELLED;
    run.tasks = 4;
    run.done = 1;
    run.submitted_ms = 5000;
    run.finished_ms = 5400;
    Sluice__RunStatus *runs[] = {&run};
    Sluice__QueueStatus queue = SLUICE__QUEUE_STATUS__INIT;
    queue.task = "add";
    queue.depth = 7;
    queue.workers = 0;
    Sluice__QueueStatus *queues[] = {&queue};
    Sluice__BrokerStatus broker = SLUICE__BROKER_STATUS__INIT;
    broker.pid = 42;
    broker.tasks_queued = 7;
    Sluice__StatusReply reply = SLUICE__STATUS_REPLY__INIT;
    reply.runs = runs;
    reply.n_runs = 1;
    reply.queues = queues;
    reply.n_queues = 1;
    reply.broker = &broker;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_STATUS;
    env.status = &reply;
    return sl_test_pack(&env, 0);
}

static const char *
str_of(const sl_value_t *map, const char *key)
{
    const char *s = sl_value_get_string(sl_value_lookup(map, key), NULL);
    return s ? s : "(none)";
}

static int64_t
int_of(const sl_value_t *map, const char *key)
{
    return sl_value_get_int(sl_value_lookup(map, key));
}

/* Submits wd->flow and expects it accepted as run_id. */
static void
submit_accepted(world_t *wd, const char *run_id)
{
    sl_test_peer_answer_next(wd->broker, accepted(run_id), NULL);
    char *id = NULL;
    sl_error_t err = {0};
    assert_int_equal(sl_client_submit(wd->client, wd->flow, NULL, true, 5000,
                                      &id, &err),
                     0);
    assert_string_equal(id, run_id);
    free(id);
}

/* ---- submit ------------------------------------------------------------- */

static void
test_submit_sends_the_flow_and_its_options_and_returns_the_run_id(void **s)
{
    world_t *wd = *s;
    sl_value_t *params = sl_value_new_map();
    sl_value_put_int(params, "n", 40);
    sl_submit_options_t opt = {.params = params,
                               .want_events = true,
                               .timeout_ms = 5000,
                               .worker_wait_ms = 1500,
                               .is_unlisted = true};
    sl_test_peer_answer_next(wd->broker, accepted("RUN1"), NULL);
    char *id = NULL;
    sl_error_t err = {0};
    assert_int_equal(sl_client_submit_with(wd->client, wd->flow, &opt, &id,
                                           &err),
                     0);
    assert_string_equal(id, "RUN1");
    free(id);
    sl_value_destroy(&params);
    Sluice__Envelope *req =
        sl_test_peer_take(wd->broker, SLUICE__ENVELOPE__BODY_SUBMIT, 5000);
    assert_non_null(req);
    assert_int_equal(req->body_case, SLUICE__ENVELOPE__BODY_SUBMIT);
    assert_string_equal(req->submit->flow->name, "hello");
    assert_int_equal(req->submit->n_params, 1);
    assert_string_equal(req->submit->params[0]->name, "n");
    sl_value_t *n = NULL;
    assert_int_equal(sl_wire_value_unpack(req->submit->params[0]->value, &n,
                                          NULL),
                     0);
    assert_int_equal(sl_value_get_int(n), 40);
    sl_value_destroy(&n);
    assert_true(req->submit->events);
    assert_int_equal(req->submit->worker_wait_ms, 1500);
    assert_true(req->submit->unlisted);
    sl_envelope_free(&req);
}

static void
test_submit_rejected_says_the_brokers_reason(void **s)
{
    world_t *wd = *s;
    sl_test_peer_answer_next(wd->broker, rejected("unknown parameter 'x'"),
                             NULL);
    char *id = NULL;
    sl_error_t err = {0};
    assert_int_equal(sl_client_submit(wd->client, wd->flow, NULL, false, 5000,
                                      &id, &err),
                     SL_EREJECTED);
    assert_null(id);
    assert_string_equal(err.msg, "unknown parameter 'x'");
}

/* Submits wd->flow without waiting: it returns at once, with no run id. */
static void
submit_async(world_t *wd)
{
    sl_submit_options_t opt = {.is_async = true};
    char *id = NULL;
    sl_error_t err = {0};
    assert_int_equal(sl_client_submit_with(wd->client, wd->flow, &opt, &id,
                                           &err),
                     0);
    assert_null(id);
}

/* An open-loop sender's submit: sent, not waited for; the Accepted and
 * then the result come out of sl_client_wait, a Rejected as its error. */
static void
test_async_submit_returns_at_once_and_wait_takes_the_rest(void **s)
{
    world_t *wd = *s;
    sl_test_peer_answer_next(wd->broker, accepted("RUN1"), run_result("RUN1"),
                             NULL);
    submit_async(wd);
    sl_error_t err = {0};
    sl_event_t e;
    sl_value_t *result = NULL;
    assert_int_equal(sl_client_wait(wd->client, &e, &result, 5000, &err), 0);
    assert_non_null(result);
    assert_string_equal(str_of(result, "run_id"), "RUN1");
    sl_value_destroy(&result);
}

static void
test_async_submit_rejected_is_an_error_of_wait(void **s)
{
    world_t *wd = *s;
    sl_test_peer_answer_next(wd->broker, rejected("unknown parameter 'x'"),
                             NULL);
    submit_async(wd);
    sl_error_t err = {0};
    sl_event_t e;
    sl_value_t *result = NULL;
    assert_int_equal(sl_client_wait(wd->client, &e, &result, 5000, &err),
                     SL_EREJECTED);
    assert_null(result);
    assert_string_equal(err.msg, "unknown parameter 'x'");
}

static void
test_submit_answered_with_an_error_is_a_protocol_error(void **s)
{
    world_t *wd = *s;
    sl_test_peer_answer_next(wd->broker, error_reply("bad message"), NULL);
    char *id = NULL;
    sl_error_t err = {0};
    assert_int_equal(sl_client_submit(wd->client, wd->flow, NULL, false, 5000,
                                      &id, &err),
                     SL_EPROTO);
    assert_string_equal(err.msg, "broker: bad message");
}

static void
test_submit_without_an_answer_times_out_naming_the_broker(void **s)
{
    world_t *wd = *s;
    char *id = NULL;
    sl_error_t err = {0};
    int64_t start = zclock_mono();
    assert_int_equal(sl_client_submit(wd->client, wd->flow, NULL, false, 200,
                                      &id, &err),
                     SL_ETIMEDOUT);
    assert_true(zclock_mono() - start >= 200);
    assert_non_null(strstr(err.msg, sl_test_peer_endpoint(wd->broker)));
    Sluice__Envelope *req = /* it was sent */
        sl_test_peer_take(wd->broker, SLUICE__ENVELOPE__BODY_SUBMIT, 5000);
    assert_non_null(req);
    sl_envelope_free(&req);
}

static void
test_submit_of_an_invalid_flow_sends_nothing(void **s)
{
    world_t *wd = *s;
    sl_flow_t *flow = sl_flow_new("broken");
    sl_value_t *args = sl_value_new_list();
    sl_value_t *ref = sl_value_new_string("$nowhere");
    sl_value_push(args, &ref);
    sl_error_t err = {0};
    assert_int_equal(sl_flow_add(flow, "a", "add", &args, &err), 0);
    char *id = NULL;
    assert_int_equal(sl_client_submit(wd->client, flow, NULL, false, 1000, &id,
                                      &err),
                     SL_EINVAL);
    assert_non_null(strstr(err.msg, "nowhere"));
    sl_flow_destroy(&flow);
    /* the next request is the first the broker gets */
    sl_test_peer_answer_next(wd->broker, status_reply(), NULL);
    sl_value_t *status = NULL;
    assert_int_equal(sl_client_status(wd->client, NULL, 5000, &status, &err),
                     0);
    sl_value_destroy(&status);
    Sluice__Envelope *first = sl_test_peer_take(wd->broker, 0, 5000);
    assert_int_equal(first->body_case, SLUICE__ENVELOPE__BODY_STATUS_REQUEST);
    sl_envelope_free(&first);
}

static void
test_news_that_comes_with_an_answer_is_kept_for_wait(void **s)
{
    world_t *wd = *s;
    submit_accepted(wd, "OLD");
    /* the old run's news comes before the new run's Accepted */
    sl_test_peer_answer_next(wd->broker, events("OLD", 2, 0), run_result("OLD"),
                             accepted("NEW"), NULL);
    char *id = NULL;
    sl_error_t err = {0};
    assert_int_equal(sl_client_submit(wd->client, wd->flow, NULL, true, 5000,
                                      &id, &err),
                     0);
    assert_string_equal(id, "NEW");
    free(id);
    sl_event_t e;
    sl_value_t *result = NULL;
    assert_int_equal(sl_client_wait(wd->client, &e, &result, 1000, &err), 1);
    assert_string_equal(e.run_id, "OLD");
    assert_int_equal(e.index, 0);
    assert_int_equal(sl_client_wait(wd->client, &e, &result, 1000, &err), 1);
    assert_int_equal(e.index, 1);
    assert_int_equal(sl_client_wait(wd->client, &e, &result, 1000, &err), 0);
    assert_string_equal(str_of(result, "run_id"), "OLD");
    sl_value_destroy(&result);
}

/* ---- wait --------------------------------------------------------------- */

static void
test_wait_hands_out_events_in_order_then_the_result(void **s)
{
    world_t *wd = *s;
    submit_accepted(wd, "RUN1");
    sl_test_peer_push(wd->broker, events("RUN1", 3, 0), run_result("RUN1"),
                      NULL);
    sl_event_t e;
    sl_value_t *result = NULL;
    sl_error_t err = {0};
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(sl_client_wait(wd->client, &e, &result, 5000, &err),
                         1);
        assert_int_equal(e.kind, SL_EVENT_DONE);
        assert_string_equal(e.node, "a");
        assert_int_equal(e.index, i);
        assert_string_equal(e.worker_id, "w1");
        assert_int_equal(e.done, i + 1);
        assert_int_equal(e.total, 3);
    }
    assert_int_equal(sl_client_wait(wd->client, &e, &result, 5000, &err), 0);
    assert_non_null(result);
    assert_string_equal(str_of(result, "state"), "done");
    assert_int_equal(int_of(result, "duration_ms"), 250);
    const sl_value_t *nodes = sl_value_lookup(result, "nodes");
    assert_int_equal(sl_value_count(nodes), 1);
    const sl_value_t *a = sl_value_at(nodes, 0);
    assert_string_equal(str_of(a, "name"), "a");
    assert_int_equal(int_of(a, "value"), 3);
    assert_int_equal(int_of(a, "cached"), 1);
    sl_value_destroy(&result);
}

static void
test_wait_skips_garbage_and_other_protocol_versions(void **s)
{
    world_t *wd = *s;
    submit_accepted(wd, "RUN1");
    sl_test_peer_push(wd->broker, garbage(), events("RUN1", 2, 99),
                      run_result("RUN1"), NULL);
    sl_event_t e;
    sl_value_t *result = NULL;
    sl_error_t err = {0};
    assert_int_equal(sl_client_wait(wd->client, &e, &result, 5000, &err), 0);
    assert_non_null(result); /* no event of version 99 came through */
    sl_value_destroy(&result);
}

static void
test_wait_with_nothing_to_say_times_out(void **s)
{
    world_t *wd = *s;
    submit_accepted(wd, "RUN1");
    sl_event_t e;
    sl_value_t *result = NULL;
    sl_error_t err = {0};
    int64_t start = zclock_mono();
    assert_int_equal(sl_client_wait(wd->client, &e, &result, 150, &err),
                     SL_ETIMEDOUT);
    assert_true(zclock_mono() - start >= 150);
    assert_null(result);
}

/* ---- status, cancel, watch ---------------------------------------------- */

static void
test_status_is_the_brokers_reply_as_a_map(void **s)
{
    world_t *wd = *s;
    sl_test_peer_answer_next(wd->broker, status_reply(), NULL);
    sl_value_t *status = NULL;
    sl_error_t err = {0};
    assert_int_equal(sl_client_status(wd->client, NULL, 5000, &status, &err),
                     0);
    const sl_value_t *run = sl_value_at(sl_value_lookup(status, "runs"), 0);
    assert_string_equal(str_of(run, "state"), "cancelled");
    assert_int_equal(int_of(run, "duration_ms"), 400);
    const sl_value_t *q = sl_value_at(sl_value_lookup(status, "queues"), 0);
    assert_string_equal(str_of(q, "task"), "add");
    assert_int_equal(int_of(q, "depth"), 7);
    const sl_value_t *b = sl_value_lookup(status, "broker");
    assert_int_equal(int_of(b, "pid"), 42);
    assert_int_equal(int_of(b, "tasks_queued"), 7);
    sl_value_destroy(&status);
    Sluice__Envelope *req =
        sl_test_peer_take(wd->broker, SLUICE__ENVELOPE__BODY_STATUS_REQUEST,
                          5000);
    assert_int_equal(req->body_case, SLUICE__ENVELOPE__BODY_STATUS_REQUEST);
    assert_string_equal(req->status_request->run_id, "");
    sl_envelope_free(&req);
}

static void
test_cancel_of_an_unknown_run_is_not_found(void **s)
{
    world_t *wd = *s;
    sl_test_peer_answer_next(wd->broker, error_reply("cancel: no such run"),
                             NULL);
    sl_value_t *status = NULL;
    sl_error_t err = {0};
    assert_int_equal(sl_client_cancel(wd->client, "GONE", 5000, &status, &err),
                     SL_ENOTFOUND);
    assert_null(status);
    Sluice__Envelope *req =
        sl_test_peer_take(wd->broker, SLUICE__ENVELOPE__BODY_CANCEL, 5000);
    assert_int_equal(req->body_case, SLUICE__ENVELOPE__BODY_CANCEL);
    assert_string_equal(req->cancel->run_id, "GONE");
    sl_envelope_free(&req);
}

static void
test_watch_waits_for_its_own_run_and_then_follows_it(void **s)
{
    world_t *wd = *s;
    /* another run's Accepted first: not the answer */
    sl_test_peer_answer_next(wd->broker, accepted("OTHER"), accepted("RUN9"),
                             run_result("RUN9"), NULL);
    sl_error_t err = {0};
    assert_int_equal(sl_client_watch(wd->client, "RUN9", 5000, &err), 0);
    Sluice__Envelope *req =
        sl_test_peer_take(wd->broker, SLUICE__ENVELOPE__BODY_WATCH, 5000);
    assert_int_equal(req->body_case, SLUICE__ENVELOPE__BODY_WATCH);
    assert_string_equal(req->watch->run_id, "RUN9");
    sl_envelope_free(&req);
    sl_event_t e;
    sl_value_t *result = NULL;
    assert_int_equal(sl_client_wait(wd->client, &e, &result, 5000, &err), 0);
    assert_string_equal(str_of(result, "run_id"), "RUN9");
    sl_value_destroy(&result);
}

static void
test_watch_of_an_unknown_run_is_not_found(void **s)
{
    world_t *wd = *s;
    sl_test_peer_answer_next(wd->broker, error_reply("watch: no such run"),
                             NULL);
    sl_error_t err = {0};
    assert_int_equal(sl_client_watch(wd->client, "GONE", 5000, &err),
                     SL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no such run"));
}

static void
test_a_malformed_endpoint_is_an_error_naming_it(void **s)
{
    (void)s;
    sl_error_t err = {0};
    assert_null(sl_client_new("tcp://no-port-here", &err));
    assert_int_equal(err.code, SL_EINVAL);
    assert_non_null(strstr(err.msg, "tcp://no-port-here"));
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_submit_sends_the_flow_and_its_options_and_returns_the_run_id),
        TEST(test_submit_rejected_says_the_brokers_reason),
        TEST(test_async_submit_returns_at_once_and_wait_takes_the_rest),
        TEST(test_async_submit_rejected_is_an_error_of_wait),
        TEST(test_submit_answered_with_an_error_is_a_protocol_error),
        TEST(test_submit_without_an_answer_times_out_naming_the_broker),
        TEST(test_submit_of_an_invalid_flow_sends_nothing),
        TEST(test_news_that_comes_with_an_answer_is_kept_for_wait),
        TEST(test_wait_hands_out_events_in_order_then_the_result),
        TEST(test_wait_skips_garbage_and_other_protocol_versions),
        TEST(test_wait_with_nothing_to_say_times_out),
        TEST(test_status_is_the_brokers_reply_as_a_map),
        TEST(test_cancel_of_an_unknown_run_is_not_found),
        TEST(test_watch_waits_for_its_own_run_and_then_follows_it),
        TEST(test_watch_of_an_unknown_run_is_not_found),
        cmocka_unit_test(test_a_malformed_endpoint_is_an_error_naming_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
