/* Unit tests for the anomaly detector (analyzer/anomaly.c) on synthetic series: the
 * baseline's exact mean and variance over the first 1/alpha values; no alert on a long steady
 * series with noise; an alert after a step change in growth, exactly at the `consecutive`-th
 * interval after it and never before; the consecutive rule (shorter bursts never alert, a
 * normal interval resets the count); one alert per episode, a new one after a return to
 * normal; the floors (a perfectly flat learning period does not alert on small noise, but
 * does on a real leak). Series are made by a fixed pseudo-random generator. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include "anomaly.h"

static const struct anomaly_config config = {
    .threshold = 4, .consecutive = 3, .alpha = 0.05, .min_sigma = 1024, .relative_sigma = 0};

/* Uniform noise in [-1, 1) from a fixed linear congruential generator. */
static double noise(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*seed >> 11) / (double)(1ull << 52) - 1.0;
}

static void test_baseline_is_exact_at_first(void **state)
{
    (void)state;
    struct anomaly_detector d;
    anomaly_init(&d, &config);
    const double values[] = {10, 20, 30, 40};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(anomaly_observe(&d, values[i], 1), ANOMALY_LEARNING);
    assert_true(fabs(d.mean - 25) < 1e-9);
    assert_true(fabs(d.variance - 125) < 1e-9); /* population variance of 10, 20, 30, 40 */
    assert_true(fabs(anomaly_sigma(&d) - 1024) < 1e-9); /* the floor: sqrt(125) < 1024 */
    assert_true(fabs(anomaly_bound(&d) - (25 + 4 * 1024)) < 1e-9);
}

/* Growth of a steady server: mean 500 B/s, noise of +-20 KiB/s (intervals cut requests in
 * two), 20 learning intervals, then 5000 intervals of the same: never an alert. */
static void test_steady_series_with_noise_never_alerts(void **state)
{
    (void)state;
    struct anomaly_detector d;
    anomaly_init(&d, &config);
    uint64_t seed = 42;
    for (int i = 0; i < 20; i++)
        anomaly_observe(&d, 500 + 20000 * noise(&seed), 1);
    for (int i = 0; i < 5000; i++) {
        enum anomaly_verdict v = anomaly_observe(&d, 500 + 20000 * noise(&seed), 0);
        if (v == ANOMALY_ALERT || v == ANOMALY_ONGOING)
            fail_msg("alert at interval %d (mean %.0f, sigma %.0f)", i, d.mean, anomaly_sigma(&d));
    }
    assert_int_equal(d.alerts, 0);
}

/* The same series, then a leak adds 200 KB/s from interval 100 on: the alert comes exactly at
 * interval 102 (the third deviating interval), not before, and only once. */
static void test_step_change_alerts_after_consecutive_intervals(void **state)
{
    (void)state;
    struct anomaly_detector d;
    anomaly_init(&d, &config);
    uint64_t seed = 7;
    for (int i = 0; i < 20; i++)
        anomaly_observe(&d, 500 + 20000 * noise(&seed), 1);
    int first_alert = -1;
    for (int i = 0; i < 200; i++) {
        double leak = i >= 100 ? 200000 : 0;
        enum anomaly_verdict v = anomaly_observe(&d, 500 + 20000 * noise(&seed) + leak, 0);
        if (i < 100)
            assert_int_equal(v, ANOMALY_NORMAL);
        else if (i < 102)
            assert_int_equal(v, ANOMALY_DEVIANT);
        else if (i == 102)
            assert_int_equal(v, ANOMALY_ALERT);
        else
            assert_int_equal(v, ANOMALY_ONGOING);
        if (v == ANOMALY_ALERT && first_alert < 0)
            first_alert = i;
    }
    assert_int_equal(first_alert, 102);
    assert_int_equal(d.alerts, 1);
    assert_true(d.mean < 5000); /* the leak did not become the baseline */
}

/* Bursts of 1 and 2 deviating intervals never alert; a normal interval resets the count; an
 * episode that ends and comes back is a second alert. */
static void test_consecutive_rule(void **state)
{
    (void)state;
    struct anomaly_detector d;
    anomaly_init(&d, &config);
    for (int i = 0; i < 10; i++)
        anomaly_observe(&d, 0, 1);
    const double high = 1e6;
    const struct {
        double value;
        enum anomaly_verdict verdict;
    } steps[] = {
        {high, ANOMALY_DEVIANT}, {0, ANOMALY_NORMAL},                              /* 1 */
        {high, ANOMALY_DEVIANT}, {high, ANOMALY_DEVIANT}, {0, ANOMALY_NORMAL},     /* 2 */
        {high, ANOMALY_DEVIANT}, {high, ANOMALY_DEVIANT}, {high, ANOMALY_ALERT},   /* 3 */
        {high, ANOMALY_ONGOING}, {high, ANOMALY_ONGOING}, {0, ANOMALY_NORMAL},
        {high, ANOMALY_DEVIANT}, {high, ANOMALY_DEVIANT}, {high, ANOMALY_ALERT},   /* again */
    };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        if (anomaly_observe(&d, steps[i].value, 0) != steps[i].verdict)
            fail_msg("step %zu: verdict differs", i);
    assert_int_equal(d.alerts, 2);
    assert_int_equal(d.active, 1);
}

/* A flat learning period (an idle process: growth exactly 0) must not turn every byte into
 * an infinite deviation: noise under the floor's bound (4 KiB/s) never alerts, a leak of
 * 50 KB/s does. */
static void test_flat_learning_uses_the_floor(void **state)
{
    (void)state;
    struct anomaly_detector d;
    anomaly_init(&d, &config);
    for (int i = 0; i < 10; i++)
        anomaly_observe(&d, 0, 1);
    assert_true(d.variance == 0);
    uint64_t seed = 3;
    for (int i = 0; i < 1000; i++)
        assert_int_not_equal(anomaly_observe(&d, 3000 * fabs(noise(&seed)), 0), ANOMALY_ALERT);
    for (int i = 0; i < 3; i++)
        anomaly_observe(&d, 50000, 0);
    assert_int_equal(d.alerts, 1);

    /* The relative floor: a rate of 1 MB/s learned without noise tolerates 10 % more. */
    struct anomaly_config rate = config;
    rate.relative_sigma = 0.05;
    anomaly_init(&d, &rate);
    for (int i = 0; i < 10; i++)
        anomaly_observe(&d, 1e6, 1);
    for (int i = 0; i < 10; i++)
        assert_int_equal(anomaly_observe(&d, 1.1e6, 0), ANOMALY_NORMAL);
    for (int i = 0; i < 3; i++)
        anomaly_observe(&d, 1.5e6, 0);
    assert_int_equal(d.alerts, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baseline_is_exact_at_first),
        cmocka_unit_test(test_steady_series_with_noise_never_alerts),
        cmocka_unit_test(test_step_change_alerts_after_consecutive_intervals),
        cmocka_unit_test(test_consecutive_rule),
        cmocka_unit_test(test_flat_learning_uses_the_floor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
