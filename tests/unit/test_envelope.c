/* tests/unit/test_envelope.c: envelopes over a real ZeroMQ socket pair
 * (common/envelope.c): every message type survives the trip; a packed
 * result envelope, sent twice, arrives as a RunResult both times; a wrong
 * version, an empty body, garbage and an oversized frame are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "envelope.h"

#include <string.h>

static Sluice__Envelope *
trip(zsock_t *a, zsock_t *b, Sluice__Envelope *env)
{
    assert_int_equal(sl_envelope_send(a, NULL, env, NULL), 0);
    zframe_t *f = zframe_recv(b);
    sl_error_t err = {0};
    Sluice__Envelope *back =
        sl_envelope_decode(zframe_data(f), zframe_size(f), &err);
    zframe_destroy(&f);
    return back;
}

static void
test_envelope_every_body_round_trips(void **state)
{
    (void)state;
    static const Sluice__Envelope__BodyCase cases[] =
        {SLUICE__ENVELOPE__BODY_READY,
         SLUICE__ENVELOPE__BODY_HEARTBEAT,
         SLUICE__ENVELOPE__BODY_TASKS,
         SLUICE__ENVELOPE__BODY_RESULTS,
         SLUICE__ENVELOPE__BODY_DISCONNECT,
         SLUICE__ENVELOPE__BODY_SUBMIT,
         SLUICE__ENVELOPE__BODY_ACCEPTED,
         SLUICE__ENVELOPE__BODY_REJECTED,
         SLUICE__ENVELOPE__BODY_EVENTS,
         SLUICE__ENVELOPE__BODY_RUN_RESULT,
         SLUICE__ENVELOPE__BODY_STATUS_REQUEST,
         SLUICE__ENVELOPE__BODY_STATUS,
         SLUICE__ENVELOPE__BODY_CANCEL,
         SLUICE__ENVELOPE__BODY_ERROR};
    Sluice__Ready ready = SLUICE__READY__INIT;
    Sluice__Heartbeat hb = SLUICE__HEARTBEAT__INIT;
    Sluice__TaskBatch tasks = SLUICE__TASK_BATCH__INIT;
    Sluice__ResultBatch results = SLUICE__RESULT_BATCH__INIT;
    Sluice__Disconnect bye = SLUICE__DISCONNECT__INIT;
    Sluice__Submit submit = SLUICE__SUBMIT__INIT;
    Sluice__Accepted acc = SLUICE__ACCEPTED__INIT;
    Sluice__Rejected rej = SLUICE__REJECTED__INIT;
    Sluice__EventBatch events = SLUICE__EVENT_BATCH__INIT;
    Sluice__RunResult rr = SLUICE__RUN_RESULT__INIT;
    Sluice__StatusRequest sreq = SLUICE__STATUS_REQUEST__INIT;
    Sluice__StatusReply srep = SLUICE__STATUS_REPLY__INIT;
    Sluice__Cancel cancel = SLUICE__CANCEL__INIT;
    Sluice__Error error = SLUICE__ERROR__INIT;
    void *bodies[] = {&ready,  &hb,   &tasks,  &results, &bye,
                      &submit, &acc,  &rej,    &events,  &rr,
                      &sreq,   &srep, &cancel, &error};
    zsock_t *a = zsock_new_pair("@inproc://test-envelope");
    zsock_t *b = zsock_new_pair(">inproc://test-envelope");
    assert_non_null(a);
    assert_non_null(b);
    ready.worker_id = "w1";
    ready.slots = 7;
    acc.run_id = "r1";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
        env.body_case = cases[i];
        env.ready = bodies[i]; /* one pointer in a union of pointers */
        Sluice__Envelope *back = trip(a, b, &env);
        assert_non_null(back);
        assert_int_equal(back->version, SL_PROTOCOL_VERSION);
        assert_int_equal(back->body_case, cases[i]);
        assert_string_not_equal(sl_envelope_kind(back), "unknown");
        if (cases[i] == SLUICE__ENVELOPE__BODY_READY) {
            assert_string_equal(back->ready->worker_id, "w1");
            assert_int_equal(back->ready->slots, 7);
        }
        if (cases[i] == SLUICE__ENVELOPE__BODY_ACCEPTED)
            assert_string_equal(back->accepted->run_id, "r1");
        sl_envelope_free(&back);
        assert_null(back);
    }
    zsock_destroy(&a);
    zsock_destroy(&b);
}

/* A RunResult packed once and wrapped in a PackedResultEnvelope (what the
 * broker keeps) is an Envelope with a RunResult to the receiver, and the
 * kept frame can be sent again. */
static void
test_envelope_packed_result_is_a_run_result(void **state)
{
    (void)state;
    Sluice__RunResult rr = SLUICE__RUN_RESULT__INIT;
    rr.run_id = "r42";
    rr.flow = "f";
    rr.state = SLUICE__RUN_RESULT__STATE__DONE;
    uint8_t packed[64];
    assert_true(sluice__run_result__get_packed_size(&rr) <= sizeof packed);
    Sluice__PackedResultEnvelope pe = SLUICE__PACKED_RESULT_ENVELOPE__INIT;
    pe.version = SL_PROTOCOL_VERSION;
    pe.run_result.data = packed;
    pe.run_result.len = sluice__run_result__pack(&rr, packed);
    zframe_t *kept =
        zframe_new(NULL, sluice__packed_result_envelope__get_packed_size(&pe));
    sluice__packed_result_envelope__pack(&pe, zframe_data(kept));
    zsock_t *a = zsock_new_pair("@inproc://test-envelope-packed");
    zsock_t *b = zsock_new_pair(">inproc://test-envelope-packed");
    assert_non_null(a);
    assert_non_null(b);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sl_envelope_send_packed(a, NULL, kept, NULL), 0);
        zframe_t *f = zframe_recv(b);
        sl_error_t err = {0};
        Sluice__Envelope *back =
            sl_envelope_decode(zframe_data(f), zframe_size(f), &err);
        zframe_destroy(&f);
        assert_non_null(back);
        assert_int_equal(back->body_case, SLUICE__ENVELOPE__BODY_RUN_RESULT);
        assert_string_equal(back->run_result->run_id, "r42");
        assert_int_equal(back->run_result->state,
                         SLUICE__RUN_RESULT__STATE__DONE);
        sl_envelope_free(&back);
    }
    zframe_destroy(&kept);
    zsock_destroy(&a);
    zsock_destroy(&b);
}

static void
expect_refused(const void *data, size_t size, int code, const char *needle)
{
    sl_error_t err = {0};
    Sluice__Envelope *env = sl_envelope_decode(data, size, &err);
    assert_null(env);
    assert_int_equal(err.code, code);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' does not say '%s'", err.msg, needle);
}

static void
test_envelope_wrong_version_is_refused(void **state)
{
    (void)state;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    Sluice__Cancel cancel = SLUICE__CANCEL__INIT;
    uint8_t buf[64];
    env.version = 99;
    env.body_case = SLUICE__ENVELOPE__BODY_CANCEL;
    env.cancel = &cancel;
    size_t n = sluice__envelope__pack(&env, buf);
    expect_refused(buf, n, SL_EPROTO, "protocol version 99");
}

static void
test_envelope_without_body_is_refused(void **state)
{
    (void)state;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    uint8_t buf[16];
    env.version = SL_PROTOCOL_VERSION;
    size_t n = sluice__envelope__pack(&env, buf);
    expect_refused(buf, n, SL_EPROTO, "no known message type");
}

static void
test_envelope_garbage_is_refused(void **state)
{
    (void)state;
    expect_refused("\x0a\xff\xff\xff\xff\x0f", 6, SL_EPROTO, "not a valid");
}

static void
test_envelope_oversized_frame_is_refused(void **state)
{
    (void)state;
    expect_refused("", (size_t)SL_MSG_MAX_BYTES + 1, SL_ETOOBIG,
                   "over the cap");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_every_body_round_trips),
        cmocka_unit_test(test_envelope_packed_result_is_a_run_result),
        cmocka_unit_test(test_envelope_wrong_version_is_refused),
        cmocka_unit_test(test_envelope_without_body_is_refused),
        cmocka_unit_test(test_envelope_garbage_is_refused),
        cmocka_unit_test(test_envelope_oversized_frame_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
