/* common/hist.h: a latency histogram with a fixed relative error (1/128,
 * under 0.8 %) over the whole range of uint64, in 58 KiB and no
 * allocation per value: exact below 256, then 128 buckets per power of
 * two. Histograms merge exactly: the merge of several counts what one
 * histogram of all their values counts, bucket for bucket. Used by
 * `sluice bench`; one histogram belongs to one thread. */
#ifndef SL_HIST_H
#define SL_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "value.h"

typedef struct sl_hist sl_hist_t;

/* An empty histogram, or NULL when memory runs out. */
sl_hist_t *sl_hist_new(void);

/* NULL-safe; sets *p to NULL. */
void sl_hist_destroy(sl_hist_t **p);

/* Counts one value. */
void sl_hist_add(sl_hist_t *h, uint64_t value);

/* Adds every value counted in from. */
void sl_hist_merge(sl_hist_t *h, const sl_hist_t *from);

uint64_t sl_hist_count(const sl_hist_t *h);
uint64_t sl_hist_min(const sl_hist_t *h); /* 0 if empty */
uint64_t sl_hist_max(const sl_hist_t *h); /* 0 if empty */
double sl_hist_mean(const sl_hist_t *h);  /* 0 if empty */

/* The value below which a fraction q (0..1) of the values lie, within the
 * histogram's relative error, never above the largest value; 0 if empty. */
uint64_t sl_hist_quantile(const sl_hist_t *h, double q);

/* Calls fn for each bucket holding values, smallest first, with the
 * bucket's range [low, high] and its count. */
typedef void (*sl_hist_bucket_fn)(uint64_t low, uint64_t high, uint64_t count,
                                  void *ctx);
void sl_hist_each(const sl_hist_t *h, sl_hist_bucket_fn fn, void *ctx);

/* h as a value, to send elsewhere and merge there (docs/LOAD.md, "The
 * histogram on the wire"): {count, min, max, sum, buckets: [low, count,
 * ...]}, a bucket named by the lowest value it holds, ascending. NULL when
 * memory runs out. */
sl_value_t *sl_hist_to_value(const sl_hist_t *h);

/* Adds the histogram v (sl_hist_to_value's form) to h, exactly as merging
 * the histogram it came from. SL_EINVAL saying what is wrong (a field
 * missing or of the wrong type, a low that starts no bucket, buckets out
 * of order, counts that do not add up); h is unchanged on error. */
int sl_hist_merge_value(sl_hist_t *h, const sl_value_t *v, sl_error_t *err);

#endif
