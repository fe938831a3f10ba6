/* The sampler's draws and the set of sampled blocks; see sampler.h. */
#include "sampler.h"

#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct sampler_shared sampler;
_Atomic uint64_t sampler_lost;
__thread struct sampler_thread sampler_tls __attribute__((tls_model("initial-exec")));
__thread struct sampler_thread sampler_tls_nested __attribute__((tls_model("initial-exec")));

static uint64_t seed_base;
static _Atomic uint64_t threads_started;

#define TABLE_BYTES (SAMPLED_SET_BUCKETS * sizeof(sampled_bucket))
#define SET_BYTES (TABLE_BYTES + SAMPLED_SET_BUCKETS)
#define MAX_COUNTDOWN (1ull << 62)

int sampler_configure(uint64_t period, uint64_t seed)
{
    atomic_store(&sampler.filtering, 0);
    sampler.period = 0;
    atomic_store(&sampler.everything, 0);
    atomic_store(&sampler_lost, 0);
    if (!period)
        return 0;
    /* Fresh zero pages, also over a forked parent's table (a new trace starts with no
     * sampled blocks); untouched pages cost nothing. */
    void *map = mmap(sampler.set, SET_BYTES, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (sampler.set ? MAP_FIXED : 0),
                     -1, 0);
    if (map == MAP_FAILED)
        return -1;
    sampler.set = map;
    sampler.homes = (_Atomic uint8_t *)((char *)map + TABLE_BYTES);
    if (!seed) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 12);
    }
    seed_base = seed;
    atomic_store(&threads_started, 0);
    sampler_tls.bytes_left = 0; /* the configuring thread starts from the new seed too */
    sampler_tls_nested.bytes_left = 0;
    sampler.period = period;
    atomic_store(&sampler.filtering, 1);
    return 0;
}

uint64_t sampler_next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double sampler_log(double x)
{
    /* x = m 2^e with m in [sqrt(1/2), sqrt(2)); ln x = e ln 2 + 2 atanh(s), s = (m-1)/(m+1),
     * |s| < 0.1716: the series to s^17 leaves an error below 1e-16 */
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int e = (int)((bits >> 52) & 0x7ff) - 1023;
    bits = (bits & ((1ull << 52) - 1)) | (1023ull << 52);
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e++;
    }
    double s = (m - 1) / (m + 1), s2 = s * s;
    double series = 2.0 / 17;
    for (int k = 7; k >= 0; k--)
        series = 2.0 / (2 * k + 1) + s2 * series;
    return (double)e * 0.69314718055994530942 + s * series;
}

double sampler_probability(uint64_t size, uint64_t period)
{
    if (!period)
        return 1.0;
    double x = (double)size / (double)period;
    if (x < 1e-4) /* 1 - e^-x without the cancellation: x - x^2/2 + x^3/6 */
        return x * (1 - x * (0.5 - x / 6));
    if (x > 40)
        return 1.0;
    /* e^-x = 2^-k e^-r with r = x - k ln 2 in [0, ln 2): Taylor to r^14 */
    int k = (int)(x / 0.69314718055994530942);
    double r = x - (double)k * 0.69314718055994530942, term = 1, sum = 1;
    for (int n = 1; n <= 14; n++) {
        term *= -r / n;
        sum += term;
    }
    uint64_t bits = (uint64_t)(1023 - k) << 52; /* 2^-k, k < 58 */
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return 1 - sum * scale;
}

uint64_t sampler_draw(uint64_t *state, uint64_t period)
{
    /* u uniform in (0, 1), never 0 nor 1: 53 random bits and half a step */
    double u = ((double)(sampler_next_random(state) >> 11) + 0.5) * 0x1p-53;
    double x = -sampler_log(u) * (double)period;
    if (!(x > 1))
        return 1;
    if (x >= (double)MAX_COUNTDOWN)
        return MAX_COUNTDOWN;
    uint64_t n = (uint64_t)x; /* the ceiling */
    return (double)n < x ? n + 1 : n;
}

int sampler_pick_slow(struct sampler_thread *t, size_t size)
{
    if (t->bytes_left == 0) { /* the thread's first allocation: its own stream of draws */
        uint64_t n = atomic_fetch_add_explicit(&threads_started, 1, memory_order_relaxed);
        t->rng = seed_base ^ (n * 0xD1B54A32D192ED03ull);
        t->bytes_left = sampler_draw(&t->rng, sampler.period);
        if (size < t->bytes_left) {
            t->bytes_left -= size;
            return 0;
        }
    }
    /* The point falls inside this allocation; the next one is drawn from its end. */
    t->bytes_left = sampler_draw(&t->rng, sampler.period);
    return 1;
}

static int claim_slot(_Atomic uint64_t *bucket, uint64_t address)
{
    for (unsigned i = 0; i < SAMPLED_SET_SLOTS; i++) {
        uint64_t expected = 0;
        if (atomic_load_explicit(&bucket[i], memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&bucket[i], &expected, address,
                                                    memory_order_relaxed, memory_order_relaxed))
            return 0;
    }
    return -1;
}

/* Both directions stop at SAMPLED_HOMES_MANY: once there, a count never moves again (a
 * compare-and-swap loop each way, so that no update slips past the stop). */
static void homes_enter(uint32_t home)
{
    uint8_t v = atomic_load_explicit(&sampler.homes[home], memory_order_relaxed);
    while (v != SAMPLED_HOMES_MANY &&
           !atomic_compare_exchange_weak_explicit(&sampler.homes[home], &v, (uint8_t)(v + 1),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

void sampled_homes_leave(uint32_t home)
{
    uint8_t v = atomic_load_explicit(&sampler.homes[home], memory_order_relaxed);
    while (v != SAMPLED_HOMES_MANY && v != 0 &&
           !atomic_compare_exchange_weak_explicit(&sampler.homes[home], &v, (uint8_t)(v - 1),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

int sampled_set_insert(uint64_t address)
{
    uint32_t home = sampled_home(address);
    homes_enter(home);
    if (claim_slot(sampler.set[home], address) == 0)
        return 0;
    /* The spill count goes up first: a lookup that finds the address in the second bucket
     * must find the count up (the free comes after this insert, in the program's order). */
    _Atomic uint64_t *spills = &sampler.set[home][SAMPLED_SET_SLOTS];
    atomic_fetch_add_explicit(spills, 1, memory_order_relaxed);
    if (claim_slot(sampler.set[sampled_spill(address, home)], address) == 0)
        return 0;
    atomic_fetch_sub_explicit(spills, 1, memory_order_relaxed);
    sampled_homes_leave(home);
    atomic_fetch_add_explicit(&sampler_lost, 1, memory_order_relaxed);
    return -1;
}

int sampled_set_take_spilled(uint64_t address, uint32_t home)
{
    if (!sampled_bucket_release(sampler.set[sampled_spill(address, home)], address))
        return 0;
    atomic_fetch_sub_explicit(&sampler.set[home][SAMPLED_SET_SLOTS], 1, memory_order_relaxed);
    sampled_homes_leave(home);
    return 1;
}
