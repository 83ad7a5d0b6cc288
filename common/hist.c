/* common/hist.c: the latency histogram. Values below 256 have a bucket
 * each; a value v >= 256 with highest bit e falls into one of 128 buckets
 * of width 2^(e-7) that split [2^e, 2^(e+1)). */
#include "hist.h"

#include <stdlib.h>

#define SUB_BITS  7
#define SUB_COUNT (1u << SUB_BITS) /* buckets per power of two */
#define EXACT     (2u * SUB_COUNT) /* values with a bucket each */
#define BUCKETS   (EXACT + (64 - SUB_BITS - 1) * SUB_COUNT)

struct sl_hist {
    uint64_t counts[BUCKETS]; /* values per bucket */
    uint64_t count;           /* values counted */
    uint64_t min;             /* smallest value (valid if count > 0) */
    uint64_t max;             /* largest value */
    double sum;               /* of all values, for the mean */
};

static size_t
bucket_of(uint64_t v)
{
    if (v < EXACT)
        return (size_t)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= SUB_BITS + 1 */
    unsigned shift = e - SUB_BITS;
    size_t sub = (size_t)(v >> shift) - SUB_COUNT; /* 0 .. SUB_COUNT-1 */
    return EXACT + (e - SUB_BITS - 1) * SUB_COUNT + sub;
}

static uint64_t
low_of(size_t b)
{
    if (b < EXACT)
        return b;
    size_t e = (b - EXACT) / SUB_COUNT + SUB_BITS + 1;
    uint64_t sub = (b - EXACT) % SUB_COUNT + SUB_COUNT;
    return sub << (e - SUB_BITS);
}

static uint64_t
high_of(size_t b)
{
    if (b < EXACT)
        return b;
    size_t e = (b - EXACT) / SUB_COUNT + SUB_BITS + 1;
    return low_of(b) + ((uint64_t)1 << (e - SUB_BITS)) - 1;
}

sl_hist_t *
sl_hist_new(void)
{
    return calloc(1, sizeof(sl_hist_t));
}

void
sl_hist_destroy(sl_hist_t **p)
{
    if (!p || !*p)
        return;
    free(*p);
    *p = NULL;
}

void
sl_hist_add(sl_hist_t *h, uint64_t value)
{
    h->counts[bucket_of(value)]++;
    if (h->count == 0 || value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
    h->count++;
    h->sum += (double)value;
}

void
sl_hist_merge(sl_hist_t *h, const sl_hist_t *from)
{
    if (from->count == 0)
        return;
    for (size_t b = 0; b < BUCKETS; b++)
        h->counts[b] += from->counts[b];
    if (h->count == 0 || from->min < h->min)
        h->min = from->min;
    if (from->max > h->max)
        h->max = from->max;
    h->count += from->count;
    h->sum += from->sum;
}

uint64_t
sl_hist_count(const sl_hist_t *h)
{
    return h->count;
}

uint64_t
sl_hist_min(const sl_hist_t *h)
{
    return h->count ? h->min : 0;
}

uint64_t
sl_hist_max(const sl_hist_t *h)
{
    return h->max;
}

double
sl_hist_mean(const sl_hist_t *h)
{
    return h->count ? h->sum / (double)h->count : 0;
}

uint64_t
sl_hist_quantile(const sl_hist_t *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q <= 0)
        return h->min;
    uint64_t rank = (uint64_t)(q * (double)h->count + 0.5);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < BUCKETS; b++) {
        seen += h->counts[b];
        if (seen >= rank) {
            uint64_t v = high_of(b);
            if (v > h->max)
                v = h->max;
            return v < h->min ? h->min : v;
        }
    }
    return h->max;
}

void
sl_hist_each(const sl_hist_t *h, sl_hist_bucket_fn fn, void *ctx)
{
    for (size_t b = 0; b < BUCKETS; b++)
        if (h->counts[b])
            fn(low_of(b), high_of(b), h->counts[b], ctx);
}
