/* A program linked with jemalloc (as Debian's redis-server is): malloc, calloc, realloc,
 * reallocarray, posix_memalign, aligned_alloc, free and malloc_usable_size all resolve to
 * jemalloc. Under a preloaded tracer, every block must still come from and go back to the
 * same allocator. Leaks 1000 B from jm_leak and 512 B from jm_leak_aligned; exits 0 when every
 * check held. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink[2];

NOINLINE void jm_leak(void) { sink[0] = malloc(1000); }

NOINLINE void jm_leak_aligned(void)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, 512) == 0)
        sink[1] = p;
}

int main(void)
{
    int bad = 0;
    for (int i = 0; i < 1000; i++) {
        size_t n = 16 + (size_t)i;
        void *a = NULL;
        if (posix_memalign(&a, 64, n) != 0 || (uintptr_t)a % 64)
            bad++;
        free(a);
        void *b = aligned_alloc(128, 128 * (size_t)(1 + i % 4));
        free(b);
        char *p = malloc(n);
        memset(p, 1, n);
        if (malloc_usable_size(p) < n)
            bad++;
        char *q = realloc(p, 2 * n);
        if (malloc_usable_size(q) < 2 * n)
            bad++;
        q = reallocarray(q, 3, n);
        free(q);
        void *c = calloc(4, n);
        free(c);
    }
    jm_leak();
    jm_leak_aligned();
    printf("mismatches: %d\n", bad);
    return bad ? 1 : 0;
}
