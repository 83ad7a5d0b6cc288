/* tests/integration/raw_worker.c: a worker written from docs/PROTOCOL.md
 * alone, scripted to answer on a lane (a second connection) the way a
 * worker in another language may, and to push the broker's rules on
 * lanes to their edges. It says Ready for add@1 (1 slot, incarnation
 * "raw-PID"), waits for one task, then, by MODE:
 *   lane      answers 42 on a lane;
 *   stranger  on one lane, answers 41 naming an incarnation no worker has,
 *             then 42 naming its own (the first must be dropped);
 *   unlisted  sends a heartbeat that does not list the task (once the
 *             task is over two heartbeats old), then answers 42 on a lane:
 *             one heartbeat must not lose it;
 *   forgot    sends two such heartbeats, then answers 42 on a lane: the
 *             task is lost and comes again, answered 7 on the main
 *             connection;
 *   goodbye   says Disconnect, then answers 42 on a lane: the answer
 *             must still count;
 *   foreign   answers 42 on a lane with another CURVE key than its own
 *             (to be refused), then, once a line comes on its standard
 *             input, 7 on the main connection.
 * Usage: raw_worker ENDPOINT MODE. $RAW_TASK names the task it serves
 * (default add), version 1; $RAW_KEY and $RAW_LANE_KEY are the CURVE key
 * files of its main connection and of its lane ($SLUICE_BROKER_KEY the
 * broker's), unset in the clear. Prints each step; exits 0 when its script
 * is done, 1 if the broker never gives it a task. */
#include "curve.h"
#include "envelope.h"
#include "value.h"
#include "wire.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char incarnation[32];
/* The task it holds, as its heartbeats list it; 0: none. */
static uint64_t held;

static void
send_env(zsock_t *s, Sluice__Envelope *env)
{
    env->version = SL_PROTOCOL_VERSION;
    zframe_t *f = zframe_new(NULL, sluice__envelope__get_packed_size(env));
    sluice__envelope__pack(env, zframe_data(f));
    zframe_send(&f, s, 0);
}

/* A heartbeat that lists what it holds. */
static void
heartbeat(zsock_t *s)
{
    Sluice__Heartbeat hb = SLUICE__HEARTBEAT__INIT;
    hb.held_task_ids = &held;
    hb.n_held_task_ids = held ? 1 : 0;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    send_env(s, &env);
}

/* The next envelope of kind body on s within ms, or NULL. Others are
 * skipped, but the broker's heartbeats are answered (the broker drops a
 * worker silent for three). */
static Sluice__Envelope *
next(zsock_t *s, int body, int ms)
{
    zpoller_t *p = zpoller_new(s, NULL);
    int64_t until = zclock_mono() + ms;
    Sluice__Envelope *env = NULL;
    while (!env && zclock_mono() < until &&
           zpoller_wait(p, (int)(until - zclock_mono()))) {
        zframe_t *f = zframe_recv(s);
        env =
            f ? sl_envelope_decode(zframe_data(f), zframe_size(f), NULL) : NULL;
        zframe_destroy(&f);
        if (env && (int)env->body_case != body) {
            if (env->body_case == SLUICE__ENVELOPE__BODY_HEARTBEAT)
                heartbeat(s);
            sl_envelope_free(&env);
        }
    }
    zpoller_destroy(&p);
    return env;
}

/* A DEALER to ep, a CURVE client with the key file $key_env names. */
static zsock_t *
dial(const char *ep, const char *key_env)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    const char *key = getenv(key_env);
    bool is_curve = false;
    sl_error_t err = {0};
    if (key && *key && sl_curve_dial(s, key, NULL, &is_curve, &err) < 0) {
        printf("%s: %s\n", key_env, err.msg);
        exit(2);
    }
    zsock_connect(s, "%s", ep);
    return s;
}

static void
ready(zsock_t *s)
{
    Sluice__TaskRef add = SLUICE__TASK_REF__INIT, *refs[] = {&add};
    const char *task = getenv("RAW_TASK");
    add.name = task && *task ? (char *)task : "add";
    add.version = 1;
    Sluice__Ready r = SLUICE__READY__INIT;
    r.worker_id = "raw";
    r.tasks = refs;
    r.n_tasks = 1;
    r.slots = 1;
    r.hostname = "raw";
    r.pid = (uint32_t)getpid();
    r.incarnation = incarnation;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_READY;
    env.ready = &r;
    send_env(s, &env);
}

/* Answers task with value, naming who (NULL: none, as on the main
 * connection). */
static void
answer(zsock_t *s, const Sluice__Task *task, int64_t value, const char *who)
{
    sl_value_t *v = sl_value_new_int(value);
    Sluice__Result r = SLUICE__RESULT__INIT, *rp = &r;
    r.task_id = task->task_id;
    r.attempt = task->attempt;
    r.status = SLUICE__RESULT__STATUS__OK;
    r.cache = SLUICE__RESULT__CACHE__SKIPPED;
    r.version = 1;
    sl_wire_value_view(v, &r.value, NULL);
    Sluice__ResultBatch b = SLUICE__RESULT_BATCH__INIT;
    b.results = &rp;
    b.n_results = 1;
    b.incarnation = who ? (char *)who : "";
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_RESULTS;
    env.results = &b;
    send_env(s, &env);
    free(r.value);
    sl_value_destroy(&v);
    printf("answered %lld%s%s\n", (long long)value, who ? " on a lane as " : "",
           who ? who : "");
    fflush(stdout);
}

/* A heartbeat that lists nothing, then a message the broker answers
 * (a Submit, which the worker socket refuses): once the answer is here,
 * the broker has read the heartbeat. */
static void
unlisting_heartbeat(zsock_t *s)
{
    held = 0;
    heartbeat(s);
    Sluice__Submit sub = SLUICE__SUBMIT__INIT;
    Sluice__Envelope ask = SLUICE__ENVELOPE__INIT;
    ask.body_case = SLUICE__ENVELOPE__BODY_SUBMIT;
    ask.submit = &sub;
    send_env(s, &ask);
    Sluice__Envelope *err = next(s, SLUICE__ENVELOPE__BODY_ERROR, 5000);
    printf("heartbeat without the task %s\n", err ? "read" : "NOT read");
    fflush(stdout);
    sl_envelope_free(&err);
}

int
main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    const char *mode = argv[2];
    snprintf(incarnation, sizeof incarnation, "raw-%d", (int)getpid());
    zsock_t *main_conn = dial(argv[1], "RAW_KEY");
    zsock_t *lane = dial(argv[1], "RAW_LANE_KEY");
    ready(main_conn);
    Sluice__Envelope *tasks =
        next(main_conn, SLUICE__ENVELOPE__BODY_TASKS, 10000);
    if (!tasks || tasks->tasks->n_tasks != 1) {
        printf("no task came\n");
        return 1;
    }
    const Sluice__Task *task = tasks->tasks->tasks[0];
    held = task->task_id;
    printf("task %llx attempt %u, lanes %s\n",
           (unsigned long long)task->task_id, task->attempt,
           tasks->tasks->lanes ? "taken" : "not taken");
    fflush(stdout);
    if (!strcmp(mode, "stranger"))
        answer(lane, task, 41, "raw-nobody");
    if (!strcmp(mode, "unlisted") || !strcmp(mode, "forgot")) {
        /* the broker counts a task unlisted once it is two heartbeats
         * old: three of the broker's heartbeats after it came, each
         * answered by one that lists it (so the worker stays alive) */
        for (int i = 0; i < 3; i++) {
            Sluice__Envelope *beat =
                next(main_conn, SLUICE__ENVELOPE__BODY_HEARTBEAT, 10000);
            if (!beat) {
                printf("the broker's heartbeats stopped\n");
                return 1;
            }
            sl_envelope_free(&beat);
            heartbeat(main_conn);
        }
        unlisting_heartbeat(main_conn);
        if (!strcmp(mode, "forgot"))
            unlisting_heartbeat(main_conn);
    }
    if (!strcmp(mode, "goodbye")) {
        Sluice__Disconnect bye = SLUICE__DISCONNECT__INIT;
        bye.reason = "raw worker leaving";
        Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
        env.body_case = SLUICE__ENVELOPE__BODY_DISCONNECT;
        env.disconnect = &bye;
        send_env(main_conn, &env);
    }
    answer(lane, task, 42, incarnation);
    char line[16];
    if (!strcmp(mode, "foreign") && fgets(line, sizeof line, stdin))
        answer(main_conn, task, 7, NULL);
    if (!strcmp(mode, "forgot")) {
        Sluice__Envelope *again =
            next(main_conn, SLUICE__ENVELOPE__BODY_TASKS, 10000);
        if (!again) {
            printf("the lost task never came again\n");
            return 1;
        }
        printf("task again, attempt %u\n", again->tasks->tasks[0]->attempt);
        answer(main_conn, again->tasks->tasks[0], 7, NULL);
        sl_envelope_free(&again);
    }
    /* stay until the run's end is seen by the test (it closes stdin) */
    while (fgets(line, sizeof line, stdin))
        ;
    sl_envelope_free(&tasks);
    zsock_destroy(&lane);
    zsock_destroy(&main_conn);
    return 0;
}
