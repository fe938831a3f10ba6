/* Unit tests for the sampler (shim/sampler.h): the statistics of its draws and decisions, and
 * the set of sampled blocks.
 *
 * Statistics, with fixed seeds (so the tests are deterministic) and margins of at least four
 * and a half standard deviations of the quantity checked (so that no seed is special):
 *   - exponential draws with mean P: the sample mean, variance, median and tail;
 *   - the inclusion probability of an allocation of s bytes is 1 - exp(-s/P), for one size and
 *     for two sizes interleaved (the countdown restarts at the end of a picked allocation, and
 *     what came before does not matter: a Poisson process has no memory);
 *   - size 0 is never picked; a thread's stream depends on the seed only.
 * The set: insert, lookup and removal; a full home bucket spills into the second one and the
 * spill count goes back to 0; both buckets full is a counted loss; threads working on the
 * same buckets at once lose nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>

#include "sampler.h"

#define P 524288.0

static void test_exponential_draws(void **state)
{
    (void)state;
    uint64_t rng = 12345;
    const int n = 1000000;
    double sum = 0, sum_sq = 0;
    int below_median = 0, above_3p = 0;
    uint64_t smallest = UINT64_MAX;
    for (int i = 0; i < n; i++) {
        uint64_t x = sampler_draw(&rng, (uint64_t)P);
        double v = (double)x;
        sum += v;
        sum_sq += v * v;
        below_median += v <= P * log(2.0);
        above_3p += v > 3 * P;
        if (x < smallest)
            smallest = x;
    }
    double mean = sum / n, var = sum_sq / n - mean * mean;
    /* mean: sd P/sqrt(n) = 0.1% of P (the ceiling adds half a byte) */
    assert_true(fabs(mean / P - 1) < 0.0045);
    /* variance P^2: the sample variance of an exponential has sd sqrt(8/n) P^2 = 0.28% */
    assert_true(fabs(var / (P * P) - 1) < 0.013);
    /* the median P ln 2: a fraction 1/2, sd 0.05% */
    assert_true(fabs((double)below_median / n - 0.5) < 0.0023);
    /* the tail beyond 3P: exp(-3) = 0.0498, sd 0.022% */
    assert_true(fabs((double)above_3p / n - exp(-3.0)) < 0.001);
    assert_true(smallest >= 1);
}

/* The shim's own logarithm and pick probability (it links no libm) against libm's, over the
 * whole range the draws use (u from 2^-54 to 1) and every size a block may have. */
static void test_libm_free_math(void **state)
{
    (void)state;
    double worst_log = 0, worst_p = 0;
    for (double u = 0x1p-54; u < 1; u *= 1.0001) {
        double want = log(u), got = sampler_log(u);
        double err = fabs(got - want) / (want != 0 ? fabs(want) : 1);
        worst_log = err > worst_log ? err : worst_log;
    }
    assert_true(worst_log < 2e-15);
    assert_true(fabs(sampler_log(1.0)) < 1e-300 && fabs(sampler_log(0.5) + log(2.0)) < 1e-16);
    for (uint64_t size = 1; size < (1ull << 40); size += size / 97 + 1) {
        double want = -expm1(-(double)size / P), got = sampler_probability(size, (uint64_t)P);
        double err = fabs(got - want) / want;
        worst_p = err > worst_p ? err : worst_p;
    }
    assert_true(worst_p < 1e-12);
    assert_true(sampler_probability(123, 0) == 1.0);
}

static void test_tiny_period_draws_at_least_one(void **state)
{
    (void)state;
    uint64_t rng = 7;
    for (int i = 0; i < 100000; i++)
        assert_true(sampler_draw(&rng, 1) >= 1);
}

/* The fraction of `n` allocations of `size` bytes that are picked. */
static double picked_fraction(size_t size, int n)
{
    int picked = 0;
    for (int i = 0; i < n; i++)
        picked += sampler_pick(size);
    return (double)picked / n;
}

static void test_inclusion_probability(void **state)
{
    (void)state;
    assert_int_equal(sampler_configure((uint64_t)P, 99), 0);
    static const double fractions[] = {0.25, 1, 2};
    const int n = 400000;
    for (size_t k = 0; k < sizeof fractions / sizeof *fractions; k++) {
        size_t size = (size_t)(fractions[k] * P);
        double p = 1 - exp(-(double)size / P), sd = sqrt(p * (1 - p) / n);
        double got = picked_fraction(size, n);
        if (fabs(got - p) > 4.5 * sd)
            fail_msg("size %zu: picked %.5f, expected %.5f (sd %.5f)", size, got, p, sd);
    }
    assert_int_equal(sampler_configure(0, 0), 0);
}

static void test_interleaved_sizes(void **state)
{
    (void)state;
    assert_int_equal(sampler_configure((uint64_t)P, 4242), 0);
    /* 64 bytes and P bytes in turn: each size keeps its own probability */
    const int n = 1000000;
    int small = 0, large = 0;
    for (int i = 0; i < n; i++) {
        small += sampler_pick(64);
        large += sampler_pick((size_t)P);
    }
    double p_small = 1 - exp(-64 / P), p_large = 1 - exp(-1.0);
    double expected_small = n * p_small; /* 122 */
    assert_true(fabs(small - expected_small) < 4.5 * sqrt(expected_small * (1 - p_small)));
    double sd_large = sqrt(n * p_large * (1 - p_large));
    assert_true(fabs(large - n * p_large) < 4.5 * sd_large);
    assert_int_equal(sampler_configure(0, 0), 0);
}

static void test_size_zero_is_never_picked(void **state)
{
    (void)state;
    assert_int_equal(sampler_configure(1, 5), 0); /* a period of one byte picks nearly all */
    for (int i = 0; i < 10000; i++)
        assert_int_equal(sampler_pick(0), 0);
    assert_true(picked_fraction(64, 1000) > 0.99);
    assert_int_equal(sampler_configure(0, 0), 0);
}

static void test_seed_decides_the_stream(void **state)
{
    (void)state;
    int first[200], second[200];
    assert_int_equal(sampler_configure(4096, 77), 0);
    for (int i = 0; i < 200; i++)
        first[i] = sampler_pick(1000);
    assert_int_equal(sampler_configure(4096, 77), 0);
    for (int i = 0; i < 200; i++)
        second[i] = sampler_pick(1000);
    assert_memory_equal(first, second, sizeof first);
    assert_int_equal(sampler_configure(4096, 78), 0);
    int same = 1;
    for (int i = 0; i < 200; i++)
        same &= sampler_pick(1000) == first[i];
    assert_false(same);
    assert_int_equal(sampler_configure(0, 0), 0);
}

/* --- the set ---------------------------------------------------------------------------- */

static void test_set_insert_take(void **state)
{
    (void)state;
    assert_int_equal(sampler_configure((uint64_t)P, 1), 0);
    uint64_t a = 0x555555601010, b = 0x7f1234567890;
    assert_int_equal(sampled_set_take(a), 0);
    assert_int_equal(sampled_set_insert(a), 0);
    assert_int_equal(sampled_set_insert(b), 0);
    assert_int_equal(sampled_set_take(a + 16), 0); /* a neighbour is not a */
    assert_int_equal(sampled_set_take(a), 1);
    assert_int_equal(sampled_set_take(a), 0); /* once */
    assert_int_equal(sampled_set_take(b), 1);
    assert_int_equal(atomic_load(&sampler_lost), 0);
    assert_int_equal(sampler_configure(0, 0), 0);
}

static void test_set_spills_and_loses(void **state)
{
    (void)state;
    assert_int_equal(sampler_configure((uint64_t)P, 1), 0);
    /* blocks of one page share a home bucket: 7 fit, the next ones spill */
    uint64_t page = 0x555555a00000, addresses[40];
    uint32_t home = sampled_home(page);
    for (int i = 0; i < 40; i++) {
        addresses[i] = page + 64 * (uint64_t)i;
        assert_int_equal(sampled_home(addresses[i]), home);
    }
    for (int i = 0; i < 40; i++)
        assert_int_equal(sampled_set_insert(addresses[i]), 0);
    /* 33 spilled into buckets chosen by the whole address */
    assert_int_equal(atomic_load(&sampler.set[home][SAMPLED_SET_SLOTS]), 33);
    assert_int_equal(atomic_load(&sampler_lost), 0);
    for (int i = 39; i >= 0; i--) /* spilled ones first: lookups must still find them */
        assert_int_equal(sampled_set_take(addresses[i]), 1);
    assert_int_equal(atomic_load(&sampler.set[home][SAMPLED_SET_SLOTS]), 0);
    for (int i = 0; i < 40; i++)
        assert_int_equal(sampled_set_take(addresses[i]), 0);

    /* both buckets full: fill the home bucket, then the second bucket of one more block with
       blocks of a page whose home it is */
    for (int i = 0; i < 7; i++)
        assert_int_equal(sampled_set_insert(addresses[i]), 0);
    uint64_t extra = page + 64 * 7;
    uint32_t spill = sampled_spill(extra, home);
    assert_int_not_equal(spill, home);
    uint64_t other = 0;
    for (uint64_t k = 0; k < SAMPLED_SET_BUCKETS && !other; k++)
        if (sampled_home(page + (k << 12)) == spill)
            other = page + (k << 12);
    assert_int_not_equal(other, 0);
    for (int i = 0; i < 7; i++)
        assert_int_equal(sampled_set_insert(other + 16 * (uint64_t)i), 0);
    assert_int_equal(sampled_set_insert(extra), -1);
    assert_int_equal(atomic_load(&sampler_lost), 1);
    assert_int_equal(atomic_load(&sampler.set[home][SAMPLED_SET_SLOTS]), 0); /* undone */
    assert_int_equal(sampled_set_take(extra), 0);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(sampled_set_take(addresses[i]), 1);
        assert_int_equal(sampled_set_take(other + 16 * (uint64_t)i), 1);
    }
    assert_int_equal(sampler_configure(0, 0), 0);
}

#define THREADS 4
#define PER_THREAD 20000

static void *set_worker(void *arg)
{
    uintptr_t t = (uintptr_t)arg;
    long failures = 0;
    for (int round = 0; round < 20; round++) {
        /* all threads on the same 64 pages: heavy contention for the same buckets */
        for (uint64_t i = 0; i < PER_THREAD / 20; i++) {
            uint64_t a = 0x600000000000 + (i % 64) * 4096 + (i / 64) * 256 + t * 16 + 16;
            if (sampled_set_insert(a) < 0)
                continue;
            if (!sampled_set_take(a))
                failures++;
        }
    }
    return (void *)failures;
}

static void test_set_concurrent(void **state)
{
    (void)state;
    assert_int_equal(sampler_configure((uint64_t)P, 1), 0);
    pthread_t threads[THREADS];
    for (uintptr_t t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, set_worker, (void *)t), 0);
    long failures = 0;
    for (int t = 0; t < THREADS; t++) {
        void *r;
        pthread_join(threads[t], &r);
        failures += (long)r;
    }
    assert_int_equal(failures, 0); /* every block inserted was found by its free */
    for (uint32_t b = 0; b < SAMPLED_SET_BUCKETS; b++)
        for (unsigned i = 0; i <= SAMPLED_SET_SLOTS; i++)
            if (atomic_load(&sampler.set[b][i]))
                fail_msg("bucket %u word %u not empty at the end", b, i);
    assert_int_equal(sampler_configure(0, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exponential_draws),
        cmocka_unit_test(test_libm_free_math),
        cmocka_unit_test(test_tiny_period_draws_at_least_one),
        cmocka_unit_test(test_inclusion_probability),
        cmocka_unit_test(test_interleaved_sizes),
        cmocka_unit_test(test_size_zero_is_never_picked),
        cmocka_unit_test(test_seed_decides_the_stream),
        cmocka_unit_test(test_set_insert_take),
        cmocka_unit_test(test_set_spills_and_loses),
        cmocka_unit_test(test_set_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
