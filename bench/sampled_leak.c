/* sampled_leak: a known leak among malloc/free churn, for the accuracy of sampling
 * (LEAKSHIM_SAMPLE) in the benchmark harness (bench/run.py, "Sampling accuracy").
 *
 * The program makes OPS churn operations over 1024 slots (16 B to 8 KiB, one in 64 of 16 to
 * 64 KiB, everything freed at the end) and, spread among them, leaks LEAK bytes (at least;
 * the last block may pass it) through leak_entry(), in blocks whose sizes follow MIX:
 *   small   16 B to 4 KiB (a per-request leak of small objects, the hardest case for sampling)
 *   mixed   a third of the bytes each in 16 B to 4 KiB, 16 to 512 KiB and 1 to 8 MiB blocks
 * The sizes come from a fixed generator, so a given LEAK and MIX leak the same blocks on every
 * run. At the end it prints the exact leak and the standard deviation that sampling with a
 * mean period of PERIOD bytes gives its estimate (sqrt of the sum over leaked blocks of
 * s^2 (1 - p) / p, p = 1 - exp(-s / PERIOD): the estimator weighs each picked block s / p):
 *   sampled_leak: leaked_bytes B leaked_blocks N sd_bytes D
 * Blocks larger than a page are touched on their first byte only.
 *
 * Usage: sampled_leak [--leak BYTES] [--mix small|mixed] [--ops N] [--period BYTES] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))
#define SLOTS 1024

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint64_t next_rand(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static uint64_t between(uint64_t lo, uint64_t hi) { return lo + next_rand() % (hi - lo + 1); }

static void *volatile sink;

NOINLINE void leak_entry(size_t size)
{
    char *p = malloc(size);
    if (!p)
        exit(1);
    p[0] = 1;
    sink = p;
}

NOINLINE void *churn_alloc(size_t size)
{
    char *p = malloc(size);
    if (!p)
        exit(1);
    p[0] = 1;
    return p;
}

/* The next leaked block's size: for "mixed", the class whose share of the bytes so far is
 * furthest below a third. */
static size_t next_leak_size(int mixed, const uint64_t class_bytes[3])
{
    if (!mixed)
        return between(16, 4096);
    int c = 0;
    for (int i = 1; i < 3; i++)
        if (class_bytes[i] < class_bytes[c])
            c = i;
    static const uint64_t lo[3] = {16, 16 << 10, 1 << 20}, hi[3] = {4096, 512 << 10, 8 << 20};
    return between(lo[c], hi[c]);
}

static int size_class(size_t size) { return size <= 4096 ? 0 : size <= (512 << 10) ? 1 : 2; }

int main(int argc, char **argv)
{
    uint64_t leak = 24ull << 20, ops = 3000000, period = 512 << 10;
    int mixed = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--leak") == 0)
            leak = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--mix") == 0)
            mixed = strcmp(argv[i + 1], "small") != 0;
        else if (strcmp(argv[i], "--ops") == 0)
            ops = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--period") == 0)
            period = strtoull(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "usage: sampled_leak [--leak BYTES] [--mix small|mixed] [--ops N] "
                            "[--period BYTES]\n");
            return 2;
        }
    }

    /* The leak's sizes, drawn first so that they do not depend on the churn. */
    size_t cap = 1024, n = 0;
    size_t *sizes = malloc(cap * sizeof *sizes);
    uint64_t class_bytes[3] = {0, 0, 0}, total = 0;
    double variance = 0;
    while (sizes && total < leak) {
        size_t s = next_leak_size(mixed, class_bytes);
        if (n == cap)
            sizes = realloc(sizes, (cap *= 2) * sizeof *sizes);
        if (!sizes)
            break;
        sizes[n++] = s;
        class_bytes[size_class(s)] += s;
        total += s;
        double p = -expm1(-(double)s / (double)period);
        variance += (double)s * (double)s * (1 - p) / p;
    }
    if (!sizes)
        return 1;

    static void *slots[SLOTS];
    uint64_t every = ops / n + 1;
    size_t leaked = 0;
    for (uint64_t i = 0; i < ops; i++) {
        unsigned slot = (unsigned)(next_rand() % SLOTS);
        free(slots[slot]);
        slots[slot] = churn_alloc(next_rand() % 64 ? between(16, 8192) : between(16 << 10, 64 << 10));
        if (i % every == 0 && leaked < n)
            leak_entry(sizes[leaked++]);
    }
    while (leaked < n)
        leak_entry(sizes[leaked++]);
    for (unsigned s = 0; s < SLOTS; s++)
        free(slots[s]);
    free(sizes);
    printf("sampled_leak: leaked_bytes %llu leaked_blocks %zu sd_bytes %.0f\n",
           (unsigned long long)total, n, sqrt(variance));
    return 0;
}
