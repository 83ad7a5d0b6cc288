/* worker/task_queue.h: the tasks a worker holds that no executor has taken
 * yet. The worker thread puts the broker's tasks in; each executor takes
 * its next batch itself as soon as it finishes one, so no hand-off
 * through the worker thread (busy reading the broker, or not scheduled)
 * stands between two batches. An executor that finds the queue empty is
 * marked idle, and the put that fills it again names it to be woken. One
 * mutex guards it all. The tasks are the caller's pointers (the worker's:
 * decoded Task messages), owned by the queue while they are in it. */
#ifndef SL_TASK_QUEUE_H
#define SL_TASK_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most tasks an executor takes at once. */
#define SL_TASK_QUEUE_TAKE_MAX 64

typedef struct sl_task_queue sl_task_queue_t;

/* Frees a task the queue still holds when it is destroyed. */
typedef void (*sl_task_free_fn)(void *task);

/* A queue for takers executors (numbered from 0), all idle. NULL: out of
 * memory. */
sl_task_queue_t *sl_task_queue_new(uint32_t takers, sl_task_free_fn free_task);
/* Frees it and, with its free_task, the tasks still in it. Its takers
 * must be gone. */
void sl_task_queue_destroy(sl_task_queue_t **p);

/* Appends tasks[0..count), owned by the queue from now on (set to NULL in
 * tasks). Idle takers, as many as there are tasks queued, are marked
 * busy and written to woken (room for every taker), for the caller to
 * wake; returns how many. A task that cannot be queued (out of memory)
 * is left in tasks for the caller. */
size_t sl_task_queue_put(sl_task_queue_t *q, void **tasks, size_t count,
                         uint32_t *woken);

/* Taker's next batch, into out (room for SL_TASK_QUEUE_TAKE_MAX, the
 * caller's from now on): a fair share of what is queued (a slice for each
 * taker, at most SL_TASK_QUEUE_TAKE_MAX). 0 when the queue is empty: the
 * taker is idle from then on, until a put names it. */
size_t sl_task_queue_take(sl_task_queue_t *q, uint32_t taker, void **out);

/* Removes the queued tasks for which is_named says true, oldest first,
 * into out (room for cap, the caller's from now on); returns how many. */
size_t sl_task_queue_remove(sl_task_queue_t *q,
                            bool (*is_named)(const void *task, void *ctx),
                            void *ctx, void **out, size_t cap);

/* Tasks queued. */
size_t sl_task_queue_size(sl_task_queue_t *q);
/* Whether taker has taken tasks and not yet found the queue empty. */
bool sl_task_queue_is_busy(sl_task_queue_t *q, uint32_t taker);

#endif
