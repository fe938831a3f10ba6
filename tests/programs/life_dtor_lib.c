/* For life_dtor: a needed library whose constructor allocates 100 blocks of 300 bytes
 * (dtor_lib_blocks) and whose destructor frees them and leaks 3 blocks of 17 bytes
 * (dtor_lib_leak), as libraries that clean up at exit do. */
#include <stdlib.h>

static void *blocks[100];
static void *volatile sink;

__attribute__((noinline)) void *dtor_lib_blocks(size_t n) { return malloc(n); }
__attribute__((noinline)) void dtor_lib_leak(size_t n) { sink = malloc(n); }

void dtor_lib_touch(void) {}

__attribute__((constructor)) static void take(void)
{
    for (int i = 0; i < 100; i++)
        blocks[i] = dtor_lib_blocks(300);
}

__attribute__((destructor)) static void give_back(void)
{
    for (int i = 0; i < 100; i++)
        free(blocks[i]);
    for (int i = 0; i < 3; i++)
        dtor_lib_leak(17);
}
