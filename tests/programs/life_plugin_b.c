/* A second plugin for life_dl, about the size of life_plugin.c so that it is likely to be
 * loaded where life_plugin.so was: plugin_b_leak(n) leaks one block of n bytes (the line with
 * the PLUGIN-B-LEAK-CALL marker is the call). Its code is laid out differently: a filler
 * function comes first, so its leak site sits at another offset than plugin_leak's. */
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

void *volatile plugin_b_keep;
volatile unsigned plugin_b_counter;

NOINLINE unsigned plugin_b_filler(unsigned x)
{
    for (unsigned i = 0; i < x; i++)
        plugin_b_counter += i * 3 + 1;
    return plugin_b_counter;
}

NOINLINE void plugin_b_leak(size_t n)
{
    plugin_b_keep = malloc(n); /* PLUGIN-B-LEAK-CALL */
}
