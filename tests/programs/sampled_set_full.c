/* Leaks N blocks of 64 bytes (argv[1], default 300,000) through set_full_leak and exits: with
 * LEAKSHIM_SAMPLE=1 every one is picked, far more than the set of sampled blocks holds. (The
 * sampler's points are a Poisson process of mean 1 byte: a block of s bytes goes unpicked with
 * probability e^-s, about 1e-28 at 64 bytes; at 16, one of 300,000 blocks did in about one run
 * in 30.) Prints "leaked N" with write(2): stdio would allocate a buffer, one more block to
 * account for. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *volatile sink;

__attribute__((noinline)) void set_full_leak(void) { sink = malloc(64); }

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 300000;
    for (int i = 0; i < n; i++)
        set_full_leak();
    char line[32];
    int len = snprintf(line, sizeof line, "leaked %d\n", n);
    return write(1, line, (size_t)len) == len ? 0 : 1;
}
