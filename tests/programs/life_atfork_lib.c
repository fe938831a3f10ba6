/* For life_atfork handler: a library whose constructor registers an atfork child handler
 * before the shim registers its own (the shim does when its trace starts), so the child
 * allocates before the shim's handler has reset its books. */
#include <pthread.h>
#include <stdlib.h>

static void *volatile sink;

__attribute__((noinline)) void atfork_leak(size_t n) { sink = malloc(n); }

static void child_handler(void)
{
    for (int i = 0; i < 4; i++)
        atfork_leak(1 << 20);
    for (int i = 0; i < 200; i++)
        free(malloc(40 + (size_t)i));
}

__attribute__((constructor)) static void register_handler(void)
{
    pthread_atfork(NULL, NULL, child_handler);
}
