/* A program whose malloc the shim cannot see. Built with -DOWN_MALLOC it defines malloc, free,
 * calloc and realloc itself (a bump allocator over a static array; free keeps the block), so
 * every call of the program and of libc binds to them; built without, it is run with another
 * allocator ahead of the shim in LD_PRELOAD. Either way it leaks 100 B from own_leak, prints
 * "ok" and exits 0, and nothing reaches the shim's malloc. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef OWN_MALLOC
static _Alignas(16) char heap[1 << 20];
static size_t used;

void *malloc(size_t n)
{
    size_t *p = (size_t *)(heap + used);
    if (n > sizeof heap - used - 32)
        return NULL;
    used += ((n + 15) & ~(size_t)15) + 16;
    p[0] = n;
    return p + 2;
}

void free(void *p) { (void)p; }

void *calloc(size_t a, size_t b)
{
    void *p = a && b > (size_t)-1 / a ? NULL : malloc(a * b);
    if (p)
        memset(p, 0, a * b);
    return p;
}

void *realloc(void *old, size_t n)
{
    void *p = malloc(n);
    if (p && old) {
        size_t had = ((size_t *)old)[-2];
        memcpy(p, old, had < n ? had : n);
    }
    return p;
}
#endif

static void *volatile sink;

__attribute__((noinline)) void own_leak(void) { sink = malloc(100); }

int main(void)
{
    own_leak();
    printf("ok\n");
    return 0;
}
