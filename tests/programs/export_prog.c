/* Known stacks for the export tests (collapsed stacks, pprof), and no other call of the
 * allocator (no stdio, no threads):
 *   keep_name   leaks 3 x 48 B: main -> build_table -> keep_name
 *   fill_cache  leaks 1000 B in 1: main -> fill_cache -> grow_cache, which is inlined into
 *               fill_cache (always_inline)
 *   churn       10 x 100 B, every block freed: allocated 1000 B, leaked nothing
 * Each call is on a line with a marker comment, for the expected file:line. */
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))
#define INLINE static inline __attribute__((always_inline))

static void *volatile sink[8];

NOINLINE void keep_name(int i)
{
    sink[i] = malloc(48); /* KEEP-NAME-CALL */
}

NOINLINE void build_table(void)
{
    for (int i = 0; i < 3; i++)
        keep_name(i); /* BUILD-TABLE-CALL */
}

INLINE void *grow_cache(size_t n)
{
    return malloc(n); /* GROW-CACHE-CALL */
}

NOINLINE void fill_cache(void)
{
    sink[3] = grow_cache(1000); /* FILL-CACHE-CALL */
}

NOINLINE void churn(void)
{
    for (int i = 0; i < 10; i++) {
        void *volatile p = malloc(100); /* CHURN-CALL */
        free(p);
    }
}

int main(void)
{
    build_table(); /* MAIN-BUILD-CALL */
    fill_cache();  /* MAIN-FILL-CALL */
    churn();       /* MAIN-CHURN-CALL */
    return 0;
}
