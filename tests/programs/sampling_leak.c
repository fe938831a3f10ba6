/* A program for the accuracy of sampling (LEAKSHIM_SAMPLE): 3,000,000 operations of
 * malloc/free churn over 1024 slots (16 B to 8 KiB, one in 64 of 16 to 64 KiB; everything
 * freed), and among them a known leak through leak_entry() of mixed sizes: 20,000 small blocks
 * (16 B to 4 KiB), 400 medium ones (16 to 512 KiB) and 64 large ones (1 to 8 MiB), interleaved
 * with the churn. The sizes come from a fixed seed, so the leak is the same on every run; the
 * program prints it:
 *   sampling_leak: leaked_bytes B leaked_blocks N
 * Large blocks are not written to: they stay virtual memory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))
#define SLOTS 1024
#define OPS 3000000u
#define SMALL 20000u
#define MEDIUM 400u
#define LARGE 64u

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
static uint64_t leaked_bytes, leaked_blocks;

NOINLINE void leak_entry(size_t size)
{
    char *p = malloc(size);
    if (!p)
        exit(1);
    p[0] = 1;
    sink = p;
    leaked_bytes += size;
    leaked_blocks++;
}

NOINLINE void *churn_alloc(size_t size)
{
    char *p = malloc(size);
    if (!p)
        exit(1);
    p[0] = 1;
    return p;
}

int main(void)
{
    static void *slots[SLOTS];
    const unsigned leaks = SMALL + MEDIUM + LARGE, every = OPS / leaks;
    unsigned small = 0, medium = 0, large = 0;
    for (unsigned i = 0; i < OPS; i++) {
        unsigned slot = (unsigned)(next_rand() % SLOTS);
        free(slots[slot]);
        slots[slot] = churn_alloc(next_rand() % 64 ? between(16, 8192) : between(16 << 10, 64 << 10));
        if (i % every == 0) {
            /* spread each kind over the run */
            uint64_t k = next_rand() % leaks;
            if (k < LARGE && large < LARGE) {
                large++;
                leak_entry(between(1 << 20, 8 << 20));
            } else if (k < LARGE + MEDIUM && medium < MEDIUM) {
                medium++;
                leak_entry(between(16 << 10, 512 << 10));
            } else if (small < SMALL) {
                small++;
                leak_entry(between(16, 4096));
            }
        }
    }
    for (; large < LARGE; large++)
        leak_entry(between(1 << 20, 8 << 20));
    for (; medium < MEDIUM; medium++)
        leak_entry(between(16 << 10, 512 << 10));
    for (; small < SMALL; small++)
        leak_entry(between(16, 4096));
    for (unsigned s = 0; s < SLOTS; s++)
        free(slots[s]);
    printf("sampling_leak: leaked_bytes %llu leaked_blocks %llu\n",
           (unsigned long long)leaked_bytes, (unsigned long long)leaked_blocks);
    return 0;
}
