/* Unit tests for the escalation rule (shim/escalation.h) on synthetic series of estimated
 * live bytes, one sample every 100 ms, window 2 s (20 samples), rate floor 1 MiB/s, calm 10 s:
 *   - the spec: on/off, each key, and malformed specs;
 *   - a flat heap with sampling noise never escalates (10 minutes);
 *   - a steady leak after a flat start escalates within the window after it starts, never
 *     before, and sampling resumes exactly `calm` after the leak stops;
 *   - growth below the floor, a single jump, and a leak during the learning windows do not
 *     escalate;
 *   - a noisy program learns a higher bar: a leak under it does not escalate, one well above
 *     it does.
 * The noise is deterministic (a fixed xorshift sequence): the series are the same every run. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include "escalation.h"

#define INTERVAL_NS 100000000ull /* 100 ms */
#define MiB 1048576.0

static const struct escalation_spec spec = {1, 2000, 1 << 20, 10000};

static void test_parse(void **state)
{
    (void)state;
    struct escalation_spec s;
    assert_int_equal(escalation_parse("off", &s), 0);
    assert_false(s.enabled);
    assert_int_equal(escalation_parse("0", &s), 0);
    assert_false(s.enabled);
    assert_int_equal(escalation_parse(NULL, &s), 0);
    assert_false(s.enabled);
    assert_int_equal(escalation_parse("on", &s), 0);
    assert_true(s.enabled);
    assert_int_equal(s.window_ms, ESCALATION_DEFAULT_WINDOW_MS);
    assert_int_equal(s.rate, ESCALATION_DEFAULT_RATE);
    assert_int_equal(s.calm_ms, ESCALATION_DEFAULT_CALM_MS);
    assert_int_equal(escalation_parse("1", &s), 0);
    assert_true(s.enabled);
    assert_int_equal(escalation_parse("window=2s,rate=512K,calm=60s", &s), 0);
    assert_true(s.enabled);
    assert_int_equal(s.window_ms, 2000);
    assert_int_equal(s.rate, 512 * 1024);
    assert_int_equal(s.calm_ms, 60000);
    assert_int_equal(escalation_parse("calm=250ms", &s), 0);
    assert_int_equal(s.calm_ms, 250);
    assert_int_equal(s.window_ms, ESCALATION_DEFAULT_WINDOW_MS);
    static const char *const bad[] = {"", ",", "yes", "window=", "window=0", "rate=1X",
                                      "foo=1", "window=2s,", "window=2s,,rate=1M", "rate"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (escalation_parse(bad[i], &s) != -1)
            fail_msg("'%s' accepted", bad[i]);
        assert_false(s.enabled);
    }
}

static uint64_t noise_state = 0x9E3779B97F4A7C15ull;

/* Uniform noise in [-amplitude, amplitude]. */
static double noise(double amplitude)
{
    noise_state ^= noise_state << 13;
    noise_state ^= noise_state >> 7;
    noise_state ^= noise_state << 17;
    return amplitude * ((double)(noise_state >> 11) * 0x1p-52 - 1);
}

/* A series: the live estimate at sample i (time i * 100 ms). */
typedef double (*series_fn)(unsigned i);

/* Feeds samples 0 .. n-1 into a new rule; records the sample index of each step. */
static void run(series_fn f, unsigned n, const struct escalation_spec *sp, long *escalated_at,
                long *deescalated_at, unsigned *escalations)
{
    static struct escalation_rule rule;
    escalation_rule_init(&rule, sp, INTERVAL_NS);
    assert_int_equal(rule.span, sp->window_ms * 1000000ull / INTERVAL_NS);
    *escalated_at = *deescalated_at = -1;
    *escalations = 0;
    for (unsigned i = 0; i < n; i++) {
        enum escalation_step s = escalation_rule_observe(&rule, (uint64_t)i * INTERVAL_NS, f(i));
        if (s == ESCALATION_ESCALATE) {
            if (*escalated_at < 0)
                *escalated_at = i;
            ++*escalations;
        } else if (s == ESCALATION_DEESCALATE && *deescalated_at < 0) {
            *deescalated_at = i;
        }
    }
}

/* 64 MiB live, give or take 1.5 MiB of sampling noise (a few picked blocks of 512 KiB). */
static double flat(unsigned i)
{
    (void)i;
    return 64 * MiB + noise(1.5 * MiB);
}

/* Flat for 30 s, then a leak of 8 MiB/s for 20 s, then flat again. */
static double leak_from_30s(unsigned i)
{
    double t = i / 10.0, leaked = t < 30 ? 0 : t < 50 ? (t - 30) * 8 * MiB : 160 * MiB;
    return 64 * MiB + leaked + noise(1.5 * MiB);
}

static void test_flat_heap_never_escalates(void **state)
{
    (void)state;
    long up, down;
    unsigned n;
    run(flat, 6000, &spec, &up, &down, &n);
    assert_int_equal(n, 0);
}

static void test_leak_escalates_then_calms(void **state)
{
    (void)state;
    long up, down;
    unsigned n;
    run(leak_from_30s, 1200, &spec, &up, &down, &n);
    assert_int_equal(n, 1);
    /* after the start (sample 300), within the window (20 samples): the growth over a window
       passes the floor once a tenth of it or so has leaked, and both halves must grow */
    if (up <= 300 || up > 320)
        fail_msg("escalated at sample %ld", up);
    /* the leak stops at sample 500; windows whose second half still holds a quarter of their
       growth end before sample 510; calm is 100 samples after the last anomalous one */
    if (down < 600 || down > 611)
        fail_msg("de-escalated at sample %ld", down);
}

/* 0.5 MiB/s from the start, no noise: under the floor. */
static double slow_growth(unsigned i) { return 64 * MiB + i * 0.05 * MiB; }

static void test_growth_under_the_floor(void **state)
{
    (void)state;
    long up, down;
    unsigned n;
    run(slow_growth, 3000, &spec, &up, &down, &n);
    assert_int_equal(n, 0);
}

/* One jump of 100 MiB at 30 s (a cache filled at once), flat otherwise. */
static double one_jump(unsigned i) { return 64 * MiB + (i >= 300 ? 100 * MiB : 0) + noise(1.5 * MiB); }

static void test_single_jump_is_not_sustained(void **state)
{
    (void)state;
    long up, down;
    unsigned n;
    run(one_jump, 1000, &spec, &up, &down, &n);
    assert_int_equal(n, 0);
}

/* A leak from the start: the learning windows see it as the program's normal growth. */
static double leak_from_start(unsigned i) { return 64 * MiB + i * 0.8 * MiB + noise(1.5 * MiB); }

static void test_leak_while_learning(void **state)
{
    (void)state;
    long up, down;
    unsigned n;
    run(leak_from_start, 400, &spec, &up, &down, &n);
    /* the bar learned from the first windows is the leak's own rate plus its noise: later
       windows of the same leak stay under it, or pass it only by noise at four sigmas, which
       this series does not reach */
    assert_int_equal(n, 0);
}

/* A program whose estimate swings by 40 MiB (a live set that turns over through picked
 * blocks): its bar is high; 4 MiB/s of leak stays under it, 80 MiB/s does not. */
static double noisy_then_small_leak(unsigned i)
{
    double t = i / 10.0;
    return 256 * MiB + (t < 60 ? 0 : (t - 60) * 4 * MiB) + noise(40 * MiB);
}

static double noisy_then_big_leak(unsigned i)
{
    double t = i / 10.0;
    return 256 * MiB + (t < 60 ? 0 : (t - 60) * 80 * MiB) + noise(40 * MiB);
}

static void test_noisy_program_learns_a_higher_bar(void **state)
{
    (void)state;
    long up, down;
    unsigned n;
    run(noisy_then_small_leak, 900, &spec, &up, &down, &n);
    assert_int_equal(n, 0);
    run(noisy_then_big_leak, 900, &spec, &up, &down, &n);
    assert_int_equal(n, 1);
    if (up <= 600 || up > 625)
        fail_msg("escalated at sample %ld", up);
}

static void test_disabled_rule_does_nothing(void **state)
{
    (void)state;
    struct escalation_spec off = spec;
    off.enabled = 0;
    static struct escalation_rule rule;
    escalation_rule_init(&rule, &off, INTERVAL_NS);
    for (unsigned i = 0; i < 1000; i++)
        assert_int_equal(escalation_rule_observe(&rule, i * INTERVAL_NS, leak_from_30s(i)), ESCALATION_KEEP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_flat_heap_never_escalates),
        cmocka_unit_test(test_leak_escalates_then_calms),
        cmocka_unit_test(test_growth_under_the_floor),
        cmocka_unit_test(test_single_jump_is_not_sustained),
        cmocka_unit_test(test_leak_while_learning),
        cmocka_unit_test(test_noisy_program_learns_a_higher_bar),
        cmocka_unit_test(test_disabled_rule_does_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
