/* broker/leaders.h: the jobs in flight by identity, so that an identical
 * job follows the one computing it. An open-addressing table of our own:
 * a large map admits one job per element, and CZMQ's hash (an allocation
 * per item, a bucket list) was most of what the cache cost the broker. */
#ifndef SL_BROKER_LEADERS_H
#define SL_BROKER_LEADERS_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

struct sl_job;
typedef struct sl_leaders sl_leaders_t;

sl_leaders_t *sl_leaders_new(void);
void sl_leaders_destroy(sl_leaders_t **p);

/* The job leading identity, or NULL. */
struct sl_job *sl_leaders_find(const sl_leaders_t *t,
                               const uint8_t identity[SL_DIGEST_BYTES]);

/* Makes job the leader of its identity, in place of any other; -1 when
 * out of memory (the table is unchanged: identical jobs then run apart). */
int sl_leaders_put(sl_leaders_t *t, struct sl_job *job);

/* Takes job out, if it is the leader of its identity. */
void sl_leaders_remove(sl_leaders_t *t, const struct sl_job *job);

size_t sl_leaders_size(const sl_leaders_t *t);

#endif
