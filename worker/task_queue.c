/* worker/task_queue.c: the tasks no executor has taken yet, in a ring
 * behind one mutex (task_queue.h). */
#include "task_queue.h"

#include <pthread.h>
#include <stdlib.h>

struct sl_task_queue {
    pthread_mutex_t lock;
    void **ring; /* cap slots; count of them from head on */
    size_t cap;
    size_t head;
    size_t count;
    uint32_t takers;
    bool *is_busy; /* per taker */
    sl_task_free_fn free_task;
};

sl_task_queue_t *
sl_task_queue_new(uint32_t takers, sl_task_free_fn free_task)
{
    sl_task_queue_t *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->takers = takers;
    q->free_task = free_task;
    q->is_busy = calloc(takers + 1, sizeof *q->is_busy);
    if (!q->is_busy || pthread_mutex_init(&q->lock, NULL) != 0) {
        free(q->is_busy);
        free(q);
        return NULL;
    }
    return q;
}

void
sl_task_queue_destroy(sl_task_queue_t **p)
{
    sl_task_queue_t *q = *p;
    if (!q)
        return;
    for (size_t i = 0; i < q->count; i++)
        q->free_task(q->ring[(q->head + i) % q->cap]);
    pthread_mutex_destroy(&q->lock);
    free(q->ring);
    free(q->is_busy);
    free(q);
    *p = NULL;
}

/* Room for one more, in order from slot 0. Under the lock. */
static bool
has_room(sl_task_queue_t *q)
{
    if (q->count < q->cap)
        return true;
    size_t cap = q->cap ? q->cap * 2 : 256;
    void **ring = malloc(cap * sizeof *ring);
    if (!ring)
        return false;
    for (size_t i = 0; i < q->count; i++)
        ring[i] = q->ring[(q->head + i) % q->cap];
    free(q->ring);
    q->ring = ring;
    q->cap = cap;
    q->head = 0;
    return true;
}

size_t
sl_task_queue_put(sl_task_queue_t *q, void **tasks, size_t count,
                  uint32_t *woken)
{
    size_t n = 0;
    pthread_mutex_lock(&q->lock);
    for (size_t i = 0; i < count && has_room(q); i++) {
        q->ring[(q->head + q->count++) % q->cap] = tasks[i];
        tasks[i] = NULL;
    }
    for (uint32_t t = 0; n < q->count && t < q->takers; t++)
        if (!q->is_busy[t]) { /* no more than there are tasks */
            q->is_busy[t] = true;
            woken[n++] = t;
        }
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t
sl_task_queue_take(sl_task_queue_t *q, uint32_t taker, void **out)
{
    pthread_mutex_lock(&q->lock);
    size_t n = (q->count + q->takers - 1) / q->takers;
    if (n > SL_TASK_QUEUE_TAKE_MAX)
        n = SL_TASK_QUEUE_TAKE_MAX;
    for (size_t i = 0; i < n; i++) {
        out[i] = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
    }
    q->count -= n;
    q->is_busy[taker] = n > 0;
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t
sl_task_queue_remove(sl_task_queue_t *q,
                     bool (*is_named)(const void *task, void *ctx), void *ctx,
                     void **out, size_t cap)
{
    size_t n = 0, kept = 0;
    pthread_mutex_lock(&q->lock);
    for (size_t i = 0; i < q->count; i++) { /* compacts what stays */
        void *task = q->ring[(q->head + i) % q->cap];
        if (n < cap && is_named(task, ctx))
            out[n++] = task;
        else
            q->ring[(q->head + kept++) % q->cap] = task;
    }
    q->count = kept;
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t
sl_task_queue_size(sl_task_queue_t *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->count;
    pthread_mutex_unlock(&q->lock);
    return n;
}

bool
sl_task_queue_is_busy(sl_task_queue_t *q, uint32_t taker)
{
    pthread_mutex_lock(&q->lock);
    bool is_busy = q->is_busy[taker];
    pthread_mutex_unlock(&q->lock);
    return is_busy;
}
