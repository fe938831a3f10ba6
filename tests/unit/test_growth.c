/* Unit tests for analyzer/growth.c: the series keeps the value at the end of each bucket and
 * carries it across empty buckets; when the clock doubles its width, a series touched later
 * is halved to the same values it would have had with the wider buckets from the start; the
 * Theil-Sen slope ignores one outlier and one step; the statistics tell a steady leak, a
 * plateau, noise and a burst apart; the score puts every growing stack first. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "growth.h"

#define MS 1000000ull

static void test_series_values_and_carry(void **state)
{
    (void)state;
    struct series_clock c;
    series_clock_init(&c);
    struct series s = {0};
    series_clock_advance(&c, 0);
    assert_int_equal(series_update(&s, &c, 0, 0, 100), 0);
    assert_int_equal(series_update(&s, &c, 1 * MS + 10, 100, 150), 0);
    assert_int_equal(series_update(&s, &c, 1 * MS + 20, 150, 120), 0); /* same bucket: last value */
    series_clock_advance(&c, 5 * MS);
    assert_int_equal(series_update(&s, &c, 5 * MS, 120, 0), 0); /* buckets 2..4 carry 120 */
    series_finish(&s, &c, 7);
    const uint64_t want[] = {100, 120, 120, 120, 120, 0, 0, 0};
    for (uint32_t b = 0; b < 8; b++)
        assert_int_equal(series_at(&s, b), want[b]);
    series_free(&s);
}

/* The same events with the clock doubling mid-way give the values of wide buckets. */
static void test_halving_matches_wide_buckets(void **state)
{
    (void)state;
    struct series_clock c;
    series_clock_init(&c);
    struct series s = {0};
    uint64_t value = 0;
    for (uint64_t t = 0; t < 200 * MS; t += 3 * MS) { /* +7 every 3 ms for 200 ms */
        series_clock_advance(&c, t);
        assert_int_equal(series_update(&s, &c, t, value, value + 7), 0);
        value += 7;
    }
    series_clock_advance(&c, 200 * MS);
    assert_int_equal(c.width_ns, 4 * MS); /* 200 ms in 64 buckets: 1 ms doubled twice */
    uint32_t end = series_bucket(&c, 200 * MS);
    series_finish(&s, &c, end);
    for (uint32_t b = 0; b <= end; b++) {
        /* bucket b ends at (b + 1) * 4 ms: the events at t < that are in */
        uint64_t t_end = (uint64_t)(b + 1) * 4 * MS, events = (t_end + 3 * MS - 1) / (3 * MS);
        if (events > 67)
            events = 67;
        assert_int_equal(series_at(&s, b), 7 * events);
    }
    series_free(&s);
}

static void test_theil_sen(void **state)
{
    (void)state;
    static double scratch[SERIES_BUCKETS * SERIES_BUCKETS];
    double line[10], step[10];
    for (int i = 0; i < 10; i++) {
        line[i] = 3.0 * i + 5;
        step[i] = i < 1 ? 0 : 100; /* one step at the start */
    }
    assert_true(theil_sen_slope(line, 10, scratch) == 3.0);
    line[4] = 1000; /* one outlier changes nothing */
    assert_true(theil_sen_slope(line, 10, scratch) == 3.0);
    assert_true(theil_sen_slope(step, 10, scratch) == 0.0);
    assert_true(theil_sen_slope(line, 1, scratch) == 0.0);
}

static struct series make(const uint64_t *values, uint32_t n)
{
    struct series s = {0};
    s.values = calloc(SERIES_BUCKETS, sizeof *s.values);
    memcpy(s.values, values, n * sizeof *values);
    s.last = n - 1;
    return s;
}

static void test_stats_tell_shapes_apart(void **state)
{
    (void)state;
    uint64_t leak[20], plateau[20], noise[20], burst[20];
    for (uint32_t i = 0; i < 20; i++) {
        leak[i] = 40 * (i + 1);
        plateau[i] = i < 5 ? 1000 * (i + 1) : 5000;
        noise[i] = 5000 + (i % 2 ? 64 : 0);
        burst[i] = 300 * ((i + 2) / 5); /* a burst every 5 buckets */
    }
    struct growth_stats g;
    struct series s = make(leak, 20);
    growth_stats_of(&s, 0, 19, 100 * MS, &g); /* 100 ms buckets: 40 bytes per bucket = 400/s */
    assert_true(fabs(g.growth_bytes_per_s - 400) < 1e-9);
    assert_true(fabs(g.recent_growth_bytes_per_s - 400) < 1e-9);
    assert_true(g.steadiness == 1.0 && g.growing);
    series_free(&s);
    s = make(plateau, 20);
    growth_stats_of(&s, 0, 19, 100 * MS, &g);
    assert_true(g.recent_growth_bytes_per_s == 0 && !g.growing);
    series_free(&s);
    s = make(noise, 20);
    growth_stats_of(&s, 0, 19, 100 * MS, &g);
    assert_true(g.steadiness < 0.06 && !g.growing); /* 10 ups, 9 downs */
    series_free(&s);
    s = make(burst, 20);
    growth_stats_of(&s, 0, 19, 100 * MS, &g);
    assert_true(g.steadiness == 1.0 && g.growing);
    assert_true(g.growth_bytes_per_s > 0);
    series_free(&s);
    s = make(leak, 20);
    growth_stats_of(&s, 5, 5, 100 * MS, &g); /* one point: nothing to say */
    assert_true(!g.growing && g.growth_bytes_per_s == 0);
    series_free(&s);
}

static void test_score(void **state)
{
    (void)state;
    struct growth_stats fast = {500, 400, 1.0, 1}, slow = {100, 100, 0.5, 1}, flat = {0, 0, 0, 0};
    double best = growth_strength(&fast);
    assert_true(growth_score(&fast, 10, best, 1000000) == 1.0);
    assert_true(growth_score(&slow, 10, best, 1000000) == 0.5 + 0.5 * 50.0 / 400.0);
    /* all the bytes, not growing: still below every growing stack */
    assert_true(growth_score(&flat, 1000000, best, 1000000) == 0.49);
    assert_true(growth_score(&flat, 0, best, 0) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_series_values_and_carry),
        cmocka_unit_test(test_halving_matches_wide_buckets),
        cmocka_unit_test(test_theil_sen),
        cmocka_unit_test(test_stats_tell_shapes_apart),
        cmocka_unit_test(test_score),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
