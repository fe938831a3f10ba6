/* A plugin that life_dl loads and unloads in a loop: its constructor leaks 16 bytes from
 * plugin_ctor_leak, plugin_work() allocates and frees 50 blocks, its destructor frees what
 * plugin_work kept. */
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

static void *kept;
void *volatile plugin_ctor_keep;

NOINLINE void plugin_ctor_leak(void) { plugin_ctor_keep = malloc(16); }
NOINLINE void *plugin_work_alloc(size_t n) { return malloc(n); }

__attribute__((constructor)) static void plugin_init(void) { plugin_ctor_leak(); }

void plugin_work(void)
{
    for (int i = 0; i < 50; i++) {
        char *p = plugin_work_alloc(16 + (size_t)i * 9);
        p[0] = 1;
        free(p);
    }
    free(kept);
    kept = plugin_work_alloc(100);
}

__attribute__((destructor)) static void plugin_fini(void) { free(kept); kept = NULL; }
