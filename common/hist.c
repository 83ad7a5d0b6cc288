/* common/hist.c: the latency histogram. Values below 256 have a bucket
 * each; a value v >= 256 with highest bit e falls into one of 128 buckets
 * of width 2^(e-7) that split [2^e, 2^(e+1)). */
#include "hist.h"

#include <stdlib.h>
#include <string.h>

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

sl_value_t *
sl_hist_to_value(const sl_hist_t *h)
{
    sl_value_t *v = sl_value_new_map(), *buckets = sl_value_new_list(),
               *sum = sl_value_new_double(h->sum);
    int rc = v && buckets && sum ? 0 : SL_ENOMEM;
    for (size_t b = 0; rc == 0 && b < BUCKETS; b++) {
        if (!h->counts[b])
            continue;
        sl_value_t *low = sl_value_new_int((int64_t)low_of(b)),
                   *n = sl_value_new_int((int64_t)h->counts[b]);
        rc = sl_value_push(buckets, &low); /* consumes, even on failure */
        rc = rc == 0 ? sl_value_push(buckets, &n) : (sl_value_destroy(&n), rc);
    }
    if (rc < 0 || sl_value_put_int(v, "count", (int64_t)h->count) < 0 ||
        sl_value_put_int(v, "min", (int64_t)sl_hist_min(h)) < 0 ||
        sl_value_put_int(v, "max", (int64_t)h->max) < 0 ||
        sl_value_put(v, "sum", &sum) < 0 ||
        sl_value_put(v, "buckets", &buckets) < 0) {
        sl_value_destroy(&v);
        sl_value_destroy(&buckets);
        sl_value_destroy(&sum);
    }
    return v;
}

int
sl_hist_merge_value(sl_hist_t *h, const sl_value_t *v, sl_error_t *err)
{
    uint64_t count, min, max, total = 0;
    const sl_value_t *sum = sl_value_lookup(v, "sum"),
                     *buckets = sl_value_lookup(v, "buckets");
    if (sl_value_type(v) != SL_MAP)
        return sl_error_set(err, SL_EINVAL, "histogram: must be a map");
    if (sl_value_want_count(v, "count", "histogram", &count, err) < 0 ||
        sl_value_want_count(v, "min", "histogram", &min, err) < 0 ||
        sl_value_want_count(v, "max", "histogram", &max, err) < 0)
        return SL_EINVAL;
    if (sl_value_type(sum) != SL_DOUBLE || !(sl_value_get_double(sum) >= 0))
        return sl_error_set(err, SL_EINVAL,
                            "histogram: 'sum' must be a number >= 0");
    size_t n = sl_value_count(buckets);
    if (sl_value_type(buckets) != SL_LIST || n % 2)
        return sl_error_set(err, SL_EINVAL,
                            "histogram: 'buckets' must be a list of pairs "
                            "[low, count, ...]");
    for (size_t i = 0; i < n; i += 2) {
        const sl_value_t *lv = sl_value_at(buckets, i),
                         *cv = sl_value_at(buckets, i + 1);
        if (sl_value_type(lv) != SL_INT || sl_value_type(cv) != SL_INT ||
            sl_value_get_int(lv) < 0 || sl_value_get_int(cv) <= 0)
            return sl_error_set(err, SL_EINVAL,
                                "histogram: bucket %zu must be a low >= 0 and "
                                "a count >= 1",
                                i / 2);
        uint64_t low = (uint64_t)sl_value_get_int(lv);
        size_t b = bucket_of(low);
        if (low_of(b) != low)
            return sl_error_set(err, SL_EINVAL,
                                "histogram: bucket %zu: %llu starts no bucket",
                                i / 2, (unsigned long long)low);
        if (i > 0 && bucket_of((uint64_t)sl_value_get_int(
                         sl_value_at(buckets, i - 2))) >= b)
            return sl_error_set(err, SL_EINVAL,
                                "histogram: bucket %zu is out of order", i / 2);
        total += (uint64_t)sl_value_get_int(cv);
    }
    if (total != count)
        return sl_error_set(err, SL_EINVAL,
                            "histogram: its buckets hold %llu values, its "
                            "count says %llu",
                            (unsigned long long)total,
                            (unsigned long long)count);
    if (count == 0)
        return 0;
    uint64_t first = (uint64_t)sl_value_get_int(sl_value_at(buckets, 0)),
             last = (uint64_t)sl_value_get_int(sl_value_at(buckets, n - 2));
    if (bucket_of(min) != bucket_of(first) || bucket_of(max) != bucket_of(last))
        return sl_error_set(err, SL_EINVAL,
                            "histogram: its min %llu and max %llu must fall in "
                            "its first and last buckets",
                            (unsigned long long)min, (unsigned long long)max);
    for (size_t i = 0; i < n; i += 2)
        h->counts[bucket_of(
            (uint64_t)sl_value_get_int(sl_value_at(buckets, i)))] +=
            (uint64_t)sl_value_get_int(sl_value_at(buckets, i + 1));
    if (h->count == 0 || min < h->min)
        h->min = min;
    if (max > h->max)
        h->max = max;
    h->count += count;
    h->sum += sl_value_get_double(sum);
    return 0;
}
