/* tests/integration/send_raw.c: sends hostile frames to a broker socket
 * from a DEALER, the way a broken or malicious peer would, and prints what
 * comes back: "error: REASON" for an Error envelope, "none" when nothing
 * came within a second. Usage: send_raw ENDPOINT KIND, where KIND is
 * garbage | empty | frames | version | unknown-type | worker-result |
 * submit-on-worker | claim (Ready, then a result for a task never given),
 * or, with a count N after the kind: flood (N garbage frames; prints how
 * many errors came back within 10 s) | oversize (one frame of N MiB). */
#include "envelope.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

static void
send_env(zsock_t *s, Sluice__Envelope *env, uint32_t version)
{
    env->version = version;
    size_t size = sluice__envelope__get_packed_size(env);
    zframe_t *f = zframe_new(NULL, size);
    sluice__envelope__pack(env, zframe_data(f));
    zframe_send(&f, s, 0);
}

/* N garbage frames; prints how many Error replies came back. */
static int
flood(zsock_t *s, long n)
{
    for (long i = 0; i < n; i++)
        zstr_send(s, "\x0a\xff\xff\xff\xff\x0f not protobuf at all");
    zpoller_t *p = zpoller_new(s, NULL);
    long errors = 0;
    int64_t deadline = zclock_mono() + 10000;
    while (errors < n && zclock_mono() < deadline &&
           zpoller_wait(p, (int)(deadline - zclock_mono()))) {
        zframe_t *f = zframe_recv(s);
        errors += f != NULL;
        zframe_destroy(&f);
    }
    printf("errors: %ld\n", errors);
    zpoller_destroy(&p);
    zsock_destroy(&s);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc != 3 && argc != 4)
        return 2;
    zsock_t *s = zsock_new_dealer(argv[1]);
    const char *kind = argv[2];
    long count = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
    int wait_ms = 1000;
    if (!strcmp(kind, "flood"))
        return flood(s, count);
    zsock_set_maxmsgsize(s, -1);
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    Sluice__ResultBatch results = SLUICE__RESULT_BATCH__INIT;
    Sluice__Submit submit = SLUICE__SUBMIT__INIT;
    if (!strcmp(kind, "garbage")) {
        zstr_send(s, "\x0a\xff\xff\xff\xff\x0f not protobuf at all");
    } else if (!strcmp(kind, "empty")) {
        zframe_t *f = zframe_new(NULL, 0);
        zframe_send(&f, s, 0);
    } else if (!strcmp(kind, "frames")) {
        zstr_sendm(s, "one");
        zstr_sendm(s, "two");
        zstr_send(s, "three");
    } else if (!strcmp(kind, "version")) {
        env.body_case = SLUICE__ENVELOPE__BODY_SUBMIT;
        env.submit = &submit;
        send_env(s, &env, 99);
    } else if (!strcmp(kind, "worker-result")) {
        env.body_case = SLUICE__ENVELOPE__BODY_RESULTS;
        env.results = &results;
        send_env(s, &env, SL_PROTOCOL_VERSION);
    } else if (!strcmp(kind, "unknown-type")) {
        zframe_t *f = zframe_new("\x08\x01\x98\x06\x01", 5); /* field 99 */
        zframe_send(&f, s, 0);
    } else if (!strcmp(kind, "claim")) {
        Sluice__Ready ready = SLUICE__READY__INIT;
        Sluice__Result result = SLUICE__RESULT__INIT, *rp = &result;
        ready.worker_id = "claimer";
        ready.slots = 1;
        env.body_case = SLUICE__ENVELOPE__BODY_READY;
        env.ready = &ready;
        send_env(s, &env, SL_PROTOCOL_VERSION);
        result.task_id = 0x7700000001ull;
        result.attempt = 1;
        results.results = &rp;
        results.n_results = 1;
        env.body_case = SLUICE__ENVELOPE__BODY_RESULTS;
        env.results = &results;
        send_env(s, &env, SL_PROTOCOL_VERSION);
    } else if (!strcmp(kind, "oversize")) {
        zframe_t *f = zframe_new(NULL, (size_t)count << 20);
        memset(zframe_data(f), 0, zframe_size(f));
        zframe_send(&f, s, 0);
        wait_ms = 30000; /* the whole frame travels first */
    } else if (!strcmp(kind, "submit-on-worker")) {
        env.body_case = SLUICE__ENVELOPE__BODY_SUBMIT;
        env.submit = &submit;
        send_env(s, &env, SL_PROTOCOL_VERSION);
    } else {
        return 2;
    }
    zpoller_t *p = zpoller_new(s, NULL);
    if (zpoller_wait(p, wait_ms)) {
        zframe_t *f = zframe_recv(s);
        sl_error_t err = {0};
        Sluice__Envelope *reply =
            sl_envelope_decode(zframe_data(f), zframe_size(f), &err);
        if (reply && reply->body_case == SLUICE__ENVELOPE__BODY_ERROR)
            printf("error: %s\n", reply->error->reason);
        else
            printf("reply: %s\n", reply ? sl_envelope_kind(reply) : err.msg);
        sl_envelope_free(&reply);
        zframe_destroy(&f);
    } else {
        printf("none\n");
    }
    zpoller_destroy(&p);
    zsock_destroy(&s);
    return 0;
}
