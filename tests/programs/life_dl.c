/* dlopen/dlclose under the shim.
 *
 *   life_dl leak PLUGIN            dlopen PLUGIN (life_plugin.so), call plugin_leak(777) through
 *                                  call_plugin, dlclose it, check it is gone (RTLD_NOLOAD),
 *                                  then churn malloc/free (new stacks after the unload).
 *                                  Prints "unloaded".
 *   life_dl swap A FN_A B FN_B [ROUNDS]
 *                                  the same with plugin A (FN_A(777)), then plugin B loaded after
 *                                  A is gone (FN_B(888)), from the same call site, ROUNDS times
 *                                  in turn (default 1); prints "base A=0x.. B=0x.." (the load
 *                                  addresses: equal when B took A's place).
 *   life_dl loop PLUGIN SECONDS    one thread dlopens PLUGIN (life_plugin_loop.so), calls
 *                                  plugin_work and dlcloses it, again and again for SECONDS,
 *                                  while 2 threads churn malloc/free and leak dl_thread_leak
 *                                  24 B every 2000 blocks. Prints "loads=N leaks=M". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink;

NOINLINE void dl_thread_leak(void) { sink = malloc(24); }
NOINLINE void *dl_churn(size_t n) { return malloc(n); }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void churn(int n)
{
    for (int i = 0; i < n; i++) {
        char *p = dl_churn(8 + (size_t)(i % 700));
        p[0] = 1;
        free(p);
    }
}

NOINLINE static void call_plugin(void (*fn)(size_t), size_t n) { fn(n); }

/* Loads `path`, calls its `symbol`(n), unloads it; returns its load address or NULL. */
static void *load_call_unload(const char *path, const char *symbol, size_t n)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        printf("dlopen: %s\n", dlerror());
        return NULL;
    }
    void (*fn)(size_t) = (void (*)(size_t))dlsym(h, symbol);
    Dl_info info;
    if (!fn || !dladdr((void *)fn, &info)) {
        printf("dlsym %s: %s\n", symbol, dlerror());
        return NULL;
    }
    call_plugin(fn, n);
    if (dlclose(h) != 0) {
        printf("dlclose: %s\n", dlerror());
        return NULL;
    }
    if (dlopen(path, RTLD_NOW | RTLD_NOLOAD)) {
        printf("%s is still loaded after dlclose\n", path);
        return NULL;
    }
    return info.dli_fbase;
}

static atomic_int stop;
static atomic_long thread_leaks;

static void *allocator(void *arg)
{
    (void)arg;
    unsigned i = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        char *p = dl_churn(16 + (i % 800));
        p[0] = 1;
        free(p);
        if (++i % 2000 == 0) {
            dl_thread_leak();
            atomic_fetch_add(&thread_leaks, 1);
        }
    }
    return NULL;
}

static int loop(const char *path, double seconds)
{
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, allocator, NULL);
    long loads = 0;
    double end = now() + seconds;
    while (now() < end) {
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            printf("dlopen: %s\n", dlerror());
            break;
        }
        loads++;
        void (*work)(void) = (void (*)(void))dlsym(h, "plugin_work");
        if (work)
            work();
        dlclose(h);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    printf("loads=%ld leaks=%ld\n", loads, (long)atomic_load(&thread_leaks));
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "leak") == 0 && argc > 2) {
        if (!load_call_unload(argv[2], "plugin_leak", 777))
            return 1;
        churn(2000);
        printf("unloaded\n");
        return 0;
    }
    if (strcmp(mode, "swap") == 0 && argc > 5) {
        /* one call site for both: when B has A's layout, its stack has A's very addresses */
        void *base[2];
        static volatile int loads = 2; /* not unrolled: one call site */
        if (argc > 6)
            loads = 2 * atoi(argv[6]);
        for (int i = 0; i < loads; i++) {
            base[i % 2] = load_call_unload(argv[2 + 2 * (i % 2)], argv[3 + 2 * (i % 2)],
                                           i % 2 ? 888 : 777);
            churn(500);
            if (!base[i % 2])
                return 1;
        }
        printf("base A=%p B=%p\n", base[0], base[1]);
        return 0;
    }
    if (strcmp(mode, "loop") == 0 && argc > 3)
        return loop(argv[2], atof(argv[3]));
    fprintf(stderr, "usage: life_dl leak PLUGIN | swap A FN_A B FN_B [ROUNDS] | loop PLUGIN SECONDS\n");
    return 2;
}
