/* broker/leaders.c: identity -> leading job, linear probing over a power
 * of two of slots, at most half full. A slot keeps the identity's first 8
 * bytes (a digest: already uniform) beside the job, so a probe reads the
 * job only when those match. Removal shifts the probe run back, so there
 * are no tombstones, and the table halves once it is an eighth full. */
#include "leaders.h"

#include "job.h"

#include <stdlib.h>
#include <string.h>

#define MIN_SLOTS 64

typedef struct {
    uint64_t hash;
    sl_job_t *job; /* NULL: empty */
} slot_t;

struct sl_leaders {
    slot_t *slots;
    size_t mask; /* slots - 1 */
    size_t size;
};

static uint64_t
hash_of(const uint8_t *identity)
{
    uint64_t h;
    memcpy(&h, identity, sizeof h);
    return h;
}

/* The slot holding identity, or the empty slot where it would go. */
static slot_t *
probe(const sl_leaders_t *t, const uint8_t *identity, uint64_t h)
{
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        slot_t *s = &t->slots[i];
        if (!s->job || (s->hash == h &&
                        !memcmp(s->job->identity, identity, SL_DIGEST_BYTES)))
            return s;
    }
}

static int
resize(sl_leaders_t *t, size_t count)
{
    slot_t *slots = calloc(count, sizeof *slots);
    if (!slots)
        return -1;
    slot_t *old = t->slots;
    size_t old_count = t->mask + 1;
    t->slots = slots;
    t->mask = count - 1;
    for (size_t i = 0; i < old_count; i++)
        if (old[i].job)
            *probe(t, old[i].job->identity, old[i].hash) = old[i];
    free(old);
    return 0;
}

sl_leaders_t *
sl_leaders_new(void)
{
    sl_leaders_t *t = calloc(1, sizeof *t);
    if (t && !(t->slots = calloc(MIN_SLOTS, sizeof *t->slots))) {
        free(t);
        return NULL;
    }
    if (t)
        t->mask = MIN_SLOTS - 1;
    return t;
}

void
sl_leaders_destroy(sl_leaders_t **p)
{
    if (p && *p) {
        free((*p)->slots);
        free(*p);
        *p = NULL;
    }
}

sl_job_t *
sl_leaders_find(const sl_leaders_t *t, const uint8_t identity[SL_DIGEST_BYTES])
{
    return probe(t, identity, hash_of(identity))->job;
}

int
sl_leaders_put(sl_leaders_t *t, sl_job_t *job)
{
    uint64_t h = hash_of(job->identity);
    slot_t *s = probe(t, job->identity, h);
    if (!s->job) {
        if (2 * (t->size + 1) > t->mask + 1) {
            if (resize(t, 2 * (t->mask + 1)) < 0)
                return -1;
            s = probe(t, job->identity, h);
        }
        t->size++;
    }
    s->hash = h;
    s->job = job;
    return 0;
}

void
sl_leaders_remove(sl_leaders_t *t, const sl_job_t *job)
{
    uint64_t h = hash_of(job->identity);
    slot_t *s = probe(t, job->identity, h);
    if (s->job != job)
        return;
    /* Shift back each later entry of the run that may move to the hole:
       one whose home slot is not cyclically in (hole, its slot]. */
    size_t hole = (size_t)(s - t->slots);
    for (size_t i = (hole + 1) & t->mask; t->slots[i].job;
         i = (i + 1) & t->mask) {
        size_t home = t->slots[i].hash & t->mask;
        if (((i - home) & t->mask) >= ((i - hole) & t->mask)) {
            t->slots[hole] = t->slots[i];
            hole = i;
        }
    }
    t->slots[hole].job = NULL;
    t->size--;
    if (t->mask + 1 > MIN_SLOTS && 8 * t->size < t->mask + 1)
        (void)resize(t, (t->mask + 1) / 2); /* out of memory: stays large */
}

size_t
sl_leaders_size(const sl_leaders_t *t)
{
    return t->size;
}
