/* Known leaks and known counts for the report tests.
 *
 *   report_prog N     N times: counted_alloc(48) then counted_free (N allocations and N frees
 *                     of its own), then leaks:
 *                       big_site     30000 B in 1
 *                       mid_site      3000 B in 3 (3 x 1000)
 *                       text_site     4321 B in 1 (the malloc call is on the line marked
 *                                     TEXT-SITE-CALL)
 *                     that is N + 5 allocations and N frees of its own, and no other call
 *                     (no stdio, no threads). */
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink[16];
static int nsink;

NOINLINE void *counted_alloc(size_t n) { return malloc(n); }
NOINLINE void counted_free(void *p) { free(p); }

NOINLINE void big_site(void) { sink[nsink++] = malloc(30000); }

NOINLINE void mid_site(void)
{
    for (int i = 0; i < 3; i++)
        sink[nsink++] = malloc(1000);
}

NOINLINE void text_site(void)
{
    void *p = malloc(4321); /* TEXT-SITE-CALL */
    sink[nsink++] = p;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 0;
    for (long i = 0; i < n; i++) {
        void *volatile p = counted_alloc(48);
        counted_free(p);
    }
    big_site();
    mid_site();
    text_site();
    return 0;
}
