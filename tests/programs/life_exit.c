/* Ends in a chosen way after leaking exactly: exit_leak 3 x 40 B (main thread) and
 * exit_thread_leak 500 B in 1 (a joined thread), with malloc/free churn before.
 *
 *   life_exit return       return 3 from main
 *   life_exit exit         exit(4)
 *   life_exit _exit        _exit(5)
 *   life_exit _Exit        _Exit(6)
 *   life_exit thread-exit  exit(7) from a second thread while main sleeps
 *   life_exit main-pthread-exit  pthread_exit from main while a second thread runs, which
 *                          returns 20 ms later: the last thread's end exits the process (0)
 *   life_exit abort        abort() right after the last allocation
 *   life_exit assert       a failed assert() right after the last allocation (glibc's
 *                          __assert_fail prints the message and calls abort)
 *   life_exit double-free  frees a 40-byte block (exit_double_freed) twice right after the
 *                          last allocation: glibc detects it and aborts from inside free
 *   life_exit segv         raise(SIGSEGV), default action, 50 ms after the last allocation
 *   life_exit segv-now     the same at once, right after the last allocation
 *   life_exit term         kill(getpid(), SIGTERM), default action, 50 ms after it
 *   life_exit ready        prints "ready" after the last allocation, then sleeps (for SIGKILL)
 * Core dumps are switched off (RLIMIT_CORE 0). */
#define _GNU_SOURCE
#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink[8];

NOINLINE void exit_leak(int i) { sink[i] = malloc(40); }
NOINLINE void exit_thread_leak(void) { sink[5] = malloc(500); }
NOINLINE void *exit_churn(size_t n) { return malloc(n); }
NOINLINE void *exit_double_freed(void) { return malloc(40); }

static void *leaker(void *arg)
{
    (void)arg;
    exit_thread_leak();
    return NULL;
}

static void *exiter(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    exit(7);
}

static void *sleeper(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return NULL;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    const char *mode = argc > 1 ? argv[1] : "return";
    for (int i = 0; i < 5000; i++) {
        char *p = exit_churn(8 + (size_t)(i % 400));
        p[0] = 1;
        free(p);
    }
    pthread_t th;
    pthread_create(&th, NULL, leaker, NULL);
    pthread_join(th, NULL);
    printf("leaking\n");
    fflush(stdout);
    char *volatile twice = strcmp(mode, "double-free") == 0 ? exit_double_freed() : NULL;
    for (int i = 0; i < 3; i++)
        exit_leak(i);

    if (strcmp(mode, "return") == 0)
        return 3;
    if (strcmp(mode, "exit") == 0)
        exit(4);
    if (strcmp(mode, "_exit") == 0)
        _exit(5);
    if (strcmp(mode, "_Exit") == 0)
        _Exit(6);
    if (strcmp(mode, "thread-exit") == 0) {
        pthread_create(&th, NULL, exiter, NULL);
        for (;;)
            pause();
    }
    if (strcmp(mode, "main-pthread-exit") == 0) {
        pthread_create(&th, NULL, sleeper, NULL);
        pthread_exit(NULL);
    }
    if (strcmp(mode, "abort") == 0)
        abort();
    if (strcmp(mode, "assert") == 0) {
        assert(argc < 0 && "life_exit: deliberate assertion failure");
        return 102;
    }
    if (twice) {
        free(twice);
        free(twice); /* glibc: "free(): double free detected", abort */
        return 103;
    }
    if (strcmp(mode, "segv") == 0 || strcmp(mode, "segv-now") == 0) {
        if (strcmp(mode, "segv") == 0)
            pause_ms(50);
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
        return 100;
    }
    if (strcmp(mode, "term") == 0) {
        pause_ms(50);
        signal(SIGTERM, SIG_DFL);
        kill(getpid(), SIGTERM);
        pause_ms(5000);
        return 101;
    }
    if (strcmp(mode, "ready") == 0) {
        printf("ready\n");
        fflush(stdout);
        for (;;)
            pause();
    }
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
}
