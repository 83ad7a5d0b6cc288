/* common/arrival.c: an open-loop arrival schedule. Each stage becomes one
 * linear segment of the rate, or two where it crosses the cap; request k
 * is due at the t where the integral of the rate reaches k. */
#include "arrival.h"

#include <math.h>

#define STAGES_MAX 64
/* Rounding in the running count: a schedule whose exact count is a whole
 * number (1000/s for 1 s) must not gain or lose its last request. */
#define COUNT_SLACK 1e-6

static int
check_rate(double rps, const char *what, size_t i, sl_error_t *err)
{
    if (isfinite(rps) && rps >= 0)
        return 0;
    return i == SIZE_MAX ? sl_error_set(err, SL_EINVAL,
                                        "%s %g: a rate is a finite number >= 0",
                                        what, rps)
                         : sl_error_set(err, SL_EINVAL,
                                        "stage %zu: %s %g: a rate is a finite "
                                        "number "
                                        ">= 0",
                                        i + 1, what, rps);
}

static void
push(sl_arrival_t *a, double from, double to, uint64_t start, uint64_t d)
{
    sl_arrival_segment_t *s = &a->seg[a->count++];
    double before = 0;
    if (a->count > 1) {
        const sl_arrival_segment_t *p = s - 1;
        before = p->before +
                 (p->from_rps + p->to_rps) / 2 * ((double)p->duration_ns / 1e9);
    }
    *s = (sl_arrival_segment_t){from, to, start, d, before};
}

int
sl_arrival_init(sl_arrival_t *a, double start_rps,
                const sl_arrival_stage_t *stages, size_t count, double max_rps,
                sl_error_t *err)
{
    *a = (sl_arrival_t){0};
    if (count == 0 || count > STAGES_MAX)
        return sl_error_set(err, SL_EINVAL,
                            "a schedule has 1 to %d stages, not %zu",
                            STAGES_MAX, count);
    if (check_rate(start_rps, "start rate", SIZE_MAX, err) < 0 ||
        check_rate(max_rps, "max rate", SIZE_MAX, err) < 0)
        return SL_EINVAL;
    double cap = max_rps > 0 ? max_rps : INFINITY;
    double from = start_rps;
    uint64_t at = 0;
    for (size_t i = 0; i < count; i++) {
        double to = stages[i].target_rps;
        uint64_t d = stages[i].duration_ns;
        if (check_rate(to, "target", i, err) < 0)
            return SL_EINVAL;
        if (d == 0 || d > UINT64_MAX / 2 - at)
            return sl_error_set(err, SL_EINVAL,
                                "stage %zu: a duration is above 0 and the "
                                "schedule under 292 years",
                                i + 1);
        double f = fmin(from, cap), t = fmin(to, cap);
        if ((from - cap) * (to - cap) < 0) { /* crosses the cap: split */
            uint64_t cut = (uint64_t)((double)d * (cap - from) / (to - from));
            cut = cut == 0 ? 1 : cut >= d ? d - 1 : cut;
            push(a, f, cap, at, cut);
            push(a, cap, t, at + cut, d - cut);
        } else {
            push(a, f, t, at, d);
        }
        at += d;
        from = to;
    }
    const sl_arrival_segment_t *last = &a->seg[a->count - 1];
    double n = last->before + (last->from_rps + last->to_rps) / 2 *
                                  ((double)last->duration_ns / 1e9);
    if (n > 9007199254740992.0) /* 2^53: counts stay exact in a double */
        return sl_error_set(err, SL_EINVAL,
                            "the schedule sends %.3g requests, over 2^53", n);
    a->total = (uint64_t)ceil(n - COUNT_SLACK);
    return 0;
}

/* The seconds into segment s at which m more requests have become due. */
static double
seconds_into(const sl_arrival_segment_t *s, double m)
{
    double a = s->from_rps, d = (double)s->duration_ns / 1e9;
    double slope = (s->to_rps - a) / d;
    if (m <= 0)
        return 0;
    /* a t + slope t^2 / 2 = m, in the form that keeps its precision when
     * slope is near 0 or a is 0 */
    return 2 * m / (a + sqrt(fmax(0, a * a + 2 * slope * m)));
}

uint64_t
sl_arrival_at(const sl_arrival_t *a, uint64_t k)
{
    if (k >= a->total)
        return UINT64_MAX;
    /* the last segment that starts at or before k: one of rate 0 starts
     * where the next does, so k is never placed in it */
    size_t i = a->count - 1;
    while (i > 0 && a->seg[i].before > (double)k + COUNT_SLACK)
        i--;
    const sl_arrival_segment_t *s = &a->seg[i];
    double t = seconds_into(s, (double)k - s->before);
    double ns = fmin(t * 1e9, (double)s->duration_ns);
    return s->start_ns + (uint64_t)llround(ns);
}

uint64_t
sl_arrival_length_ns(const sl_arrival_t *a)
{
    if (a->count == 0)
        return 0;
    return a->seg[a->count - 1].start_ns + a->seg[a->count - 1].duration_ns;
}

uint64_t
sl_arrival_share(const sl_arrival_t *a, uint64_t w, uint64_t n)
{
    if (n == 0 || w >= n || w >= a->total)
        return 0;
    return (a->total - w + n - 1) / n;
}
