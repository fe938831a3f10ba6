/* Series and growth statistics; see growth.h. */
#include "growth.h"

#include <stdlib.h>
#include <string.h>

void series_clock_init(struct series_clock *c)
{
    c->width_ns = SERIES_FIRST_WIDTH_NS;
    c->level = 0;
    c->now_ns = 0;
    c->now_bucket = 0;
}

void series_clock_advance(struct series_clock *c, uint64_t t_ns)
{
    while (t_ns / c->width_ns >= SERIES_BUCKETS) {
        c->width_ns *= 2;
        c->level++;
    }
    c->now_ns = t_ns;
    c->now_bucket = series_bucket(c, t_ns);
}

/* Halves the series once: new bucket j covers old buckets 2j and 2j + 1 and ends where 2j + 1
 * ended, or where the series' latest bucket did. */
static void halve(struct series *s)
{
    for (uint32_t j = 0; j <= s->last / 2; j++)
        s->values[j] = s->values[2 * j + 1 <= s->last ? 2 * j + 1 : s->last];
    s->last /= 2;
    s->level++;
}

static void catch_up(struct series *s, const struct series_clock *c)
{
    if (!s->values) {
        s->level = c->level;
        return;
    }
    while (s->level < c->level)
        halve(s);
}

int series_update_slow(struct series *s, const struct series_clock *c, uint64_t t_ns,
                       uint64_t before, uint64_t after)
{
    catch_up(s, c);
    uint32_t b = series_bucket(c, t_ns);
    if (b >= SERIES_BUCKETS) /* a time beyond the clock (not advanced for it): the last bucket */
        b = SERIES_BUCKETS - 1;
    if (!s->values) {
        s->values = calloc(SERIES_BUCKETS, sizeof *s->values);
        if (!s->values)
            return -1;
        s->last = 0;
    }
    if (b > s->last) {
        for (uint32_t j = s->last + 1; j < b; j++)
            s->values[j] = before;
        s->last = b;
    }
    s->values[s->last] = after;
    return 0;
}

void series_finish(struct series *s, const struct series_clock *c, uint32_t bucket)
{
    catch_up(s, c);
    if (!s->values)
        return;
    for (uint32_t j = s->last + 1; j <= bucket && j < SERIES_BUCKETS; j++)
        s->values[j] = s->values[s->last];
    if (bucket > s->last)
        s->last = bucket < SERIES_BUCKETS ? bucket : SERIES_BUCKETS - 1;
}

void series_free(struct series *s)
{
    free(s->values);
    memset(s, 0, sizeof *s);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double theil_sen_slope(const double *y, size_t n, double *scratch)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            scratch[m++] = (y[j] - y[i]) / (double)(j - i);
    if (!m)
        return 0;
    qsort(scratch, m, sizeof *scratch, by_value);
    return m % 2 ? scratch[m / 2] : (scratch[m / 2 - 1] + scratch[m / 2]) / 2;
}

void growth_stats_of(const struct series *s, uint32_t first, uint32_t last, uint64_t width_ns,
                     struct growth_stats *out)
{
    memset(out, 0, sizeof *out);
    if (last >= SERIES_BUCKETS)
        last = SERIES_BUCKETS - 1;
    if (!s->values || last <= first)
        return;
    double y[SERIES_BUCKETS] = {0};
    static double scratch[SERIES_BUCKETS * (SERIES_BUCKETS - 1) / 2];
    size_t n = last - first + 1;
    unsigned up = 0, down = 0;
    for (size_t i = 0; i < n; i++) {
        y[i] = (double)s->values[first + i];
        if (i && y[i] > y[i - 1])
            up++;
        else if (i && y[i] < y[i - 1])
            down++;
    }
    double per_s = 1e9 / (double)width_ns;
    out->growth_bytes_per_s = theil_sen_slope(y, n, scratch) * per_s;
    size_t half = n / 2;
    out->recent_growth_bytes_per_s = theil_sen_slope(y + half, n - half, scratch) * per_s;
    out->steadiness = up + down ? ((double)up - (double)down) / (double)(up + down) : 0;
    if (out->steadiness < 0)
        out->steadiness = 0;
    out->growing = out->recent_growth_bytes_per_s > 0 && out->growth_bytes_per_s > 0 &&
                   out->steadiness >= GROWING_STEADINESS;
}

double growth_strength(const struct growth_stats *g)
{
    return g->growing ? g->recent_growth_bytes_per_s * g->steadiness : 0;
}

double growth_score(const struct growth_stats *g, uint64_t leaked_bytes, double best_growth,
                    uint64_t total_leaked)
{
    if (g->growing && best_growth > 0)
        return 0.5 + 0.5 * growth_strength(g) / best_growth;
    return total_leaked ? 0.49 * (double)leaked_bytes / (double)total_leaked : 0;
}
