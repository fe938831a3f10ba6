/* A leak through a helper that the compiler inlines (always_inline) into its caller: the
 * report must still name the caller, outer_leak, whose frame is the one on the machine stack.
 * Leaks 555 B in 1 from inner_alloc inlined into outer_leak (the call on the line marked
 * OUTER-CALL), and 777 B in 1 from two levels of inlining into outer_leak2. */
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))
#define INLINE static inline __attribute__((always_inline))

static void *volatile sink[4];

INLINE void *inner_alloc(size_t n) { return malloc(n); }
INLINE void *middle_alloc(size_t n) { return inner_alloc(n); }

NOINLINE void outer_leak(void)
{
    sink[0] = inner_alloc(555); /* OUTER-CALL */
}

NOINLINE void outer_leak2(void) { sink[1] = middle_alloc(777); }

int main(void)
{
    outer_leak();
    outer_leak2();
    return 0;
}
