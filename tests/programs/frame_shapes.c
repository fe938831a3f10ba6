/* Stacks of every form the shim's stack walks meet, each path leaking LEAKS blocks of a size
 * of its own, for test_frames.py: the stacks walked from the shim's cache of frame rules must
 * be the ones unw_backtrace gives (LEAKSHIM_FRAME_CACHE=0), leak for leak.
 *   chain      functions built -O2 without frame pointers (their CFA is rsp + a constant)
 *   alloca     a function that keeps a frame pointer for its alloca (CFA from rbp)
 *   aligned    a function that realigns its stack for a 64-byte aligned local
 *   deep       a recursion 100 calls deep, beyond the 64 frames a stack keeps by default
 *   signal     a SIGUSR1 handler, reached through the kernel's signal frame
 *   thread     the chain on a second thread
 *   plugin     plugin_leak in the library argv[1], dlclose'd, then plugin_b_leak in argv[2],
 *              loaded afterwards (usually at the first one's address), each from one call site
 * Every path runs LEAKS times, so that its later stacks come from the cache (the first one of
 * a path fills it). Prints "frame_shapes done". */
#define _GNU_SOURCE
#include <alloca.h>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))
#define LEAKS 5

static void *volatile sink;

NOINLINE void leak(size_t n)
{
    sink = malloc(n);
}

NOINLINE void chain3(size_t n) { leak(n); __asm__ volatile(""); }
NOINLINE void chain2(size_t n) { chain3(n); __asm__ volatile(""); }
NOINLINE void chain1(size_t n) { chain2(n); __asm__ volatile(""); }

NOINLINE void with_alloca(size_t n)
{
    char *scratch = alloca(n);
    memset(scratch, 1, n);
    leak(n + (size_t)scratch[0] - 1);
}

NOINLINE void realigned(size_t n)
{
    _Alignas(64) volatile char local[64];
    local[0] = (char)n;
    leak(n + (size_t)local[0] - (size_t)(char)n);
}

NOINLINE void deep(unsigned levels, size_t n)
{
    if (levels == 0)
        leak(n);
    else
        deep(levels - 1, n);
    __asm__ volatile("");
}

static void on_usr1(int sig)
{
    (void)sig;
    chain1(150);
}

static void *thread_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < LEAKS; i++)
        chain1(170);
    return NULL;
}

NOINLINE void call_plugin(void (*fn)(size_t), size_t n)
{
    fn(n);
    __asm__ volatile("");
}

static void use_plugin(const char *path, const char *symbol, size_t n)
{
    void *h = dlopen(path, RTLD_NOW);
    if (!h) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        exit(1);
    }
    void (*fn)(size_t) = (void (*)(size_t))dlsym(h, symbol);
    for (int i = 0; i < LEAKS; i++)
        call_plugin(fn, n);
    dlclose(h);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: frame_shapes PLUGIN PLUGIN_B\n");
        return 2;
    }
    signal(SIGUSR1, on_usr1);
    for (int i = 0; i < LEAKS; i++) {
        chain1(110);
        with_alloca(120);
        realigned(130);
        deep(100, 140);
        raise(SIGUSR1);
    }
    pthread_t t;
    pthread_create(&t, NULL, thread_main, NULL);
    pthread_join(t, NULL);
    use_plugin(argv[1], "plugin_leak", 180);
    use_plugin(argv[2], "plugin_b_leak", 190);
    printf("frame_shapes done\n");
    return 0;
}
