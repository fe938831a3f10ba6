/* How a stack's outstanding bytes evolve over the run, and the statistics the ranking uses.
 *
 * A series holds a stack's outstanding bytes at the end of each of SERIES_BUCKETS equal time
 * buckets that together cover the run so far. All series share one series_clock: when the
 * run outgrows the buckets, the bucket width doubles and every series is halved (lazily, the
 * next time it is touched), so memory stays SERIES_BUCKETS values per stack however long the
 * run. Value j is the outstanding bytes at the end of bucket j, i.e. at (j + 1) * width.
 *
 * The statistics (growth_stats) are computed over a range of buckets, the analysis window:
 *   growth_bytes_per_s         Theil-Sen slope (the median of the slopes between every pair
 *                              of points), robust to bursts and to single steps
 *   recent_growth_bytes_per_s  the same over the window's second half
 *   steadiness                 (intervals that grew - intervals that shrank) / (intervals that
 *                              changed), 0 if it changed in none and at least 0: 1 for a stack
 *                              that only ever grows, about 0 for one that goes up and down
 *   growing                    recent growth > 0, growth > 0 and steadiness >= 0.5
 * The score (growth_score) ranks every growing stack above every stack that is not. */
#ifndef LEAKSHIM_GROWTH_H
#define LEAKSHIM_GROWTH_H

#include <stddef.h>
#include <stdint.h>

#define SERIES_BUCKETS 64
#define SERIES_FIRST_WIDTH_NS 1000000ull /* 1 ms: doubled as the run grows */
#define GROWING_STEADINESS 0.5

struct series_clock {
    uint64_t width_ns; /* of one bucket */
    unsigned level;    /* how many times the width doubled */
    uint64_t now_ns;   /* the latest time advanced to ... */
    uint32_t now_bucket; /* ... and its bucket, so that most updates need no division */
};

struct series {
    uint64_t *values;  /* SERIES_BUCKETS, allocated on first update; NULL: always 0 */
    uint32_t last;     /* the latest bucket written */
    unsigned level;    /* the clock level the values are at */
};

void series_clock_init(struct series_clock *c);
/* Widens the buckets until time `t_ns` falls into the last one at most. */
void series_clock_advance(struct series_clock *c, uint64_t t_ns);
/* The bucket of time `t_ns` (after series_clock_advance for it). */
static inline uint32_t series_bucket(const struct series_clock *c, uint64_t t_ns)
{
    return (uint32_t)(t_ns / c->width_ns);
}

/* The stack's outstanding bytes changed from `before` to `after` at `t_ns`. Returns 0, or -1
 * on out of memory (the series then stays flat). */
int series_update_slow(struct series *s, const struct series_clock *c, uint64_t t_ns,
                       uint64_t before, uint64_t after);
static inline int series_update(struct series *s, const struct series_clock *c, uint64_t t_ns,
                                uint64_t before, uint64_t after)
{
    /* nearly always: another change in the bucket the series is at, at the clock's time */
    if (s->values && s->level == c->level && t_ns == c->now_ns && c->now_bucket == s->last) {
        s->values[s->last] = after;
        return 0;
    }
    return series_update_slow(s, c, t_ns, before, after);
}
/* Brings the series to the clock's level and carries its value forward through `bucket`. */
void series_finish(struct series *s, const struct series_clock *c, uint32_t bucket);
void series_free(struct series *s);
/* Value at `bucket` of a finished series. */
static inline uint64_t series_at(const struct series *s, uint32_t bucket)
{
    return s->values ? s->values[bucket] : 0;
}

struct growth_stats {
    double growth_bytes_per_s;
    double recent_growth_bytes_per_s;
    double steadiness;
    int growing;
};

/* Statistics of the finished series over buckets [first, last] (bucket width `width_ns`). */
void growth_stats_of(const struct series *s, uint32_t first, uint32_t last, uint64_t width_ns,
                     struct growth_stats *out);

/* Theil-Sen slope of the points (i, y[i]), i = 0..n-1, per unit of i: the median of the
 * pairwise slopes. 0 for fewer than two points. `scratch` holds n * (n - 1) / 2 doubles. */
double theil_sen_slope(const double *y, size_t n, double *scratch);

/* The ranking score in [0, 1]: a growing stack scores 0.5 + 0.5 * its share of the largest
 * `recent growth x steadiness` among growing stacks (`best_growth`), any other stack
 * 0.49 * its share of all leaked bytes (`total_leaked`). */
double growth_score(const struct growth_stats *g, uint64_t leaked_bytes, double best_growth,
                    uint64_t total_leaked);
/* The quantity growing stacks are compared by: recent growth x steadiness. */
double growth_strength(const struct growth_stats *g);

#endif
