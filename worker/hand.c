/* worker/hand.c: the tasks a worker holds: putting the broker's into the
 * queue the executors take from (task_queue.h) and waking idle ones,
 * their ids for the heartbeat, forwarding the results of executors
 * without a lane (lane.h), and cancels
 * (queued tasks answered at once, running ones stopped through their
 * executor's board). Runs on the worker thread. */
#include "worker_loop.h"

#include "envelope.h"
#include "log.h"
#include "wire.h"
#include "trace.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sl_hand_hold(loop_t *l, uint64_t id)
{
    if (l->held_count == l->held_cap) {
        size_t cap = l->held_cap ? l->held_cap * 2 : 64;
        uint64_t *grown = realloc(l->held, cap * sizeof *grown);
        if (!grown)
            return; /* the broker will requeue it as lost: safe */
        l->held = grown;
        l->held_cap = cap;
    }
    l->held[l->held_count++] = id;
}

void
sl_hand_unhold(loop_t *l, uint64_t id)
{
    for (size_t i = 0; i < l->held_count; i++)
        if (l->held[i] == id) {
            l->held[i] = l->held[--l->held_count];
            return;
        }
}

bool
sl_hand_is_idle(const loop_t *l)
{
    for (uint32_t i = 0; i < l->w->slots; i++)
        if (sl_task_queue_is_busy(l->queue, i))
            return false;
    /* and every answer forwarded (an idle executor's last one may still
       be on its way here) */
    return l->held_count == 0 && sl_task_queue_size(l->queue) == 0;
}

void
sl_hand_take(loop_t *l, Sluice__TaskBatch *batch)
{
    size_t n = batch->n_tasks;
    void **tasks = calloc(n + 1, sizeof *tasks);
    uint32_t *woken = calloc(l->w->slots, sizeof *woken);
    if (!tasks || !woken) { /* none held: the broker requeues them */
        free(tasks);
        free(woken);
        return;
    }
    /* before they are queued: their answers may go on lanes */
    atomic_store(&l->w->is_lane_taken, batch->lanes);
    for (size_t i = 0; i < n; i++) { /* the decoded tasks, as they are */
        sl_hand_hold(l, batch->tasks[i]->task_id);
        tasks[i] = batch->tasks[i];
    }
    batch->n_tasks = 0; /* the envelope frees only its array now */
    size_t wake = sl_task_queue_put(l->queue, tasks, n, woken);
    for (size_t i = 0; i < n; i++) { /* any not queued (out of memory) is
                                        not held either: the broker
                                        requeues it */
        Sluice__Task *left = tasks[i];
        if (left) {
            sl_hand_unhold(l, left->task_id);
            sluice__task__free_unpacked(left, NULL);
        }
    }
    for (size_t i = 0; i < wake; i++) {
        zstr_send(zactor_sock(l->execs[woken[i]]), "T");
        SL_TRACE("worker.to_executor");
    }
    free(tasks);
    free(woken);
}

/* Answers the queued Tasks tasks[0..n) as cancelled, in one results
 * message. */
static void
answer_cancelled(loop_t *l, void *const *tasks, size_t n)
{
    Sluice__Result *items = calloc(n + 1, sizeof *items);
    Sluice__Result **ptrs = calloc(n + 1, sizeof *ptrs);
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        sl_hand_unhold(l, ((const Sluice__Task *)tasks[i])->task_id);
    for (size_t i = 0; items && ptrs && i < n; i++) {
        const Sluice__Task *t = tasks[i];
        sluice__result__init(&items[count]);
        items[count].task_id = t->task_id;
        items[count].attempt = t->attempt;
        items[count].status = SLUICE__RESULT__STATUS__ERROR;
        items[count].failure = SLUICE__RESULT__FAILURE__CANCELLED;
        items[count].error = "cancelled before it ran";
        ptrs[count] = &items[count];
        count++;
    }
    Sluice__ResultBatch batch = SLUICE__RESULT_BATCH__INIT;
    batch.results = ptrs;
    batch.n_results = count;
    Sluice__Envelope env = SLUICE__ENVELOPE__INIT;
    env.body_case = SLUICE__ENVELOPE__BODY_RESULTS;
    env.results = &batch;
    if (count)
        sl_envelope_send(l->dealer, NULL, &env, NULL);
    free(items);
    free(ptrs);
}

/* Whether the Task task is one of the ids of a CancelTasks (ctx). */
static bool
is_named(const void *task, void *ctx)
{
    const Sluice__CancelTasks *c = ctx;
    uint64_t id = ((const Sluice__Task *)task)->task_id;
    for (size_t i = 0; i < c->n_task_ids; i++)
        if (c->task_ids[i] == id)
            return true;
    return false;
}

/* The broker cancelled these tasks' runs: those still queued here are
 * answered at once; each busy executor is told (it answers those of its
 * batch not yet computed) and the one computing a named task is asked to
 * stop it (its board). */
void
sl_hand_cancel(loop_t *l, const Sluice__CancelTasks *c)
{
    size_t cap = sl_task_queue_size(l->queue) + 1;
    void **dropped = calloc(cap, sizeof *dropped);
    size_t n = dropped ? sl_task_queue_remove(l->queue, is_named, (void *)c,
                                              dropped, cap)
                       : 0;
    answer_cancelled(l, dropped, n);
    for (size_t i = 0; i < n; i++)
        sluice__task__free_unpacked(dropped[i], NULL);
    free(dropped);
    for (uint32_t e = 0; e < l->w->slots; e++) {
        if (!sl_task_queue_is_busy(l->queue, e))
            continue;
        uint64_t running = atomic_load(&l->boards[e].running);
        for (size_t i = 0; i < c->n_task_ids; i++)
            if (running && c->task_ids[i] == running)
                atomic_store(&l->boards[e].cancel_id, running);
        zmsg_t *msg = zmsg_new();
        zmsg_addstr(msg, "C");
        zmsg_addmem(msg, c->task_ids, c->n_task_ids * sizeof(uint64_t));
        zmsg_send(&msg, zactor_sock(l->execs[e]));
    }
    sl_log(SL_LOG_INFO, "worker",
           "worker=%s %zu tasks cancelled by the broker, %zu of them not "
           "started",
           l->w->id, c->n_task_ids, n);
}

void
sl_hand_on_executor(loop_t *l, uint32_t i)
{
    zmsg_t *msg = zmsg_recv(zactor_sock(l->execs[i]));
    SL_TRACE("worker.from_executor");
    char *kind = msg ? zmsg_popstr(msg) : NULL;
    if (kind && kind[0] == 'R') { /* see tell_worker in executor.c */
        zframe_t *f = zmsg_pop(msg), *ids = zmsg_pop(msg);
        zframe_t *stats = zmsg_pop(msg), *trips = zmsg_pop(msg);
        sl_wmetrics_take(l->metrics, stats, trips);
        if (f && zframe_size(f)) { /* not sent on a lane */
            SL_TRACE("worker.send");
            if (zframe_send(&f, l->dealer, ZFRAME_DONTWAIT) != 0)
                sl_log(SL_LOG_WARN, "worker", "worker=%s result not sent",
                       l->w->id);
        }
        for (size_t k = 0; ids && k < zframe_size(ids) / sizeof(uint64_t);
             k++) {
            uint64_t id;
            memcpy(&id, zframe_data(ids) + k * sizeof id, sizeof id);
            sl_hand_unhold(l, id);
        }
        zframe_destroy(&f);
        zframe_destroy(&ids);
        zframe_destroy(&stats);
        zframe_destroy(&trips);
    }
    free(kind);
    zmsg_destroy(&msg);
}
