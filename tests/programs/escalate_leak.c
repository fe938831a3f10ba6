/* A server-like program for escalation (LEAKSHIM_SAMPLE with LEAKSHIM_ESCALATE): a steady
 * phase of STEADY_MS of paced malloc/free churn over a constant live set (512 slots of 64 B to
 * 2 KiB), the mark "leak-start", then LEAK_MS of the same churn plus a leak through
 * leak_grow(): leak i (from 0) is 512 + i % 4096 bytes, 40 of them per millisecond. With an
 * argument AFTER_MS, the mark "leak-stop" and AFTER_MS more of the churn alone follow. It prints
 *   escalate_leak: leaks N
 * so that the bytes of any run of consecutive leaks are known exactly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "leakshim.h"

#define NOINLINE __attribute__((noinline))
#define SLOTS 512
#define STEADY_MS 2000
#define LEAK_MS 2500
#define CHURN_PER_MS 200
#define LEAKS_PER_MS 40

static uint64_t rng = 88172645463325252ull;
static void *volatile sink;
static void *slots[SLOTS];

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

NOINLINE void churn(void)
{
    unsigned slot = (unsigned)(next_rand() % SLOTS);
    free(slots[slot]);
    char *p = malloc(64 + next_rand() % 1985);
    p[0] = 1;
    slots[slot] = p;
}

NOINLINE void leak_grow(unsigned i)
{
    char *p = malloc(512 + i % 4096);
    p[0] = (char)i;
    sink = p;
}

/* One millisecond of work: the churn, and `leaks` leaks from *next on. */
static void one_ms(unsigned leaks, unsigned *next)
{
    uint64_t end = now_ms() + 1;
    for (unsigned i = 0; i < CHURN_PER_MS; i++)
        churn();
    for (unsigned i = 0; i < leaks; i++)
        leak_grow((*next)++);
    while (now_ms() < end) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
}

int main(int argc, char **argv)
{
    unsigned leaks = 0;
    uint64_t after_ms = argc > 1 ? strtoull(argv[1], NULL, 10) : 0;
    for (uint64_t start = now_ms(); now_ms() - start < STEADY_MS;)
        one_ms(0, &leaks);
    leakshim_mark("leak-start");
    for (uint64_t start = now_ms(); now_ms() - start < LEAK_MS;)
        one_ms(LEAKS_PER_MS, &leaks);
    if (after_ms) {
        leakshim_mark("leak-stop");
        for (uint64_t start = now_ms(); now_ms() - start < after_ms;)
            one_ms(0, &leaks);
    }
    for (unsigned s = 0; s < SLOTS; s++)
        free(slots[s]);
    printf("escalate_leak: leaks %u\n", leaks);
    return 0;
}
