/* A plugin for life_dl: plugin_leak(n) leaks one block of n bytes (the line with the
 * PLUGIN-LEAK-CALL marker is the call). Built as a shared object and dlclose'd before exit. */
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

void *volatile plugin_keep;

NOINLINE void plugin_leak(size_t n)
{
    plugin_keep = malloc(n); /* PLUGIN-LEAK-CALL */
}
