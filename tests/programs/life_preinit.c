/* A program that allocates before libc is initialized: its DT_PREINIT_ARRAY function runs
 * before every library's constructor (the shim's and libc's, which sets `environ`), leaks
 * preinit_leak 88 B and starts 2 threads that, while main starts up, each leak
 * preinit_thread_leak 72 B, churn malloc/free (preinit_churn) until main tells them to stop,
 * and leak 72 B again. main waits 50 ms, stops and joins them, leaks preinit_leak 88 B once
 * more and prints "environ was unset: 1" when `environ` was NULL in the preinit function (as
 * glibc leaves it there) and "threads joined".
 * Leaks: preinit_leak 176 B in 2, preinit_thread_leak 288 B in 4, preinit_churn 0. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define THREADS 2

extern char **environ;
static void *volatile sink;
static pthread_t threads[THREADS];
static atomic_int stop;
static int environ_unset;

NOINLINE void preinit_leak(void) { sink = malloc(88); }
NOINLINE void preinit_thread_leak(void) { sink = malloc(72); }
NOINLINE void *preinit_churn(size_t n) { return malloc(n); }

static void *churn(void *unused)
{
    (void)unused;
    preinit_thread_leak();
    for (unsigned i = 0; !atomic_load(&stop); i++) {
        void *p = preinit_churn(16 + i % 500);
        sink = p;
        free(p);
    }
    preinit_thread_leak();
    return NULL;
}

static void before_libc(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    environ_unset = environ == NULL;
    preinit_leak();
    for (int i = 0; i < THREADS; i++)
        pthread_create(&threads[i], NULL, churn, NULL);
}

__attribute__((section(".preinit_array"), used)) static void (*preinit_entry)(int, char **, char **) =
    before_libc;

int main(void)
{
    usleep(50000);
    atomic_store(&stop, 1);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    preinit_leak();
    printf("environ was unset: %d\nthreads joined\n", environ_unset);
    return 0;
}
