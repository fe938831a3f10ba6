/* How a process ends or changes, and what reaches its trace (see README, "What leakshim
 * guarantees").
 *
 *   lifecycle abort       leak 321 B from lc_leak, then abort() at once
 *   lifecycle exec-fail   leak 111 B from lc_before_exec, exec a program that does not exist
 *                         (fails), then leak 333 B from lc_after_failed_exec and exit 0
 *   lifecycle sigwait     block SIGUSR1 and SIGTERM in every thread of the program, take them
 *                         with sigwait in a dedicated thread: 200 process-directed signals,
 *                         allocating all along; exit 0 if every one was taken by that thread
 *   lifecycle handlers    allocate, then print every signal whose disposition is not SIG_DFL */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink[4];

NOINLINE void lc_leak(void) { sink[0] = malloc(321); }
NOINLINE void lc_before_exec(void) { sink[1] = malloc(111); }
NOINLINE void lc_after_failed_exec(void) { sink[2] = malloc(333); }

static sem_t taken;
static int received[2];

static void *waiter(void *arg)
{
    sigset_t *set = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(set, &sig) != 0)
            return NULL;
        received[sig == SIGTERM]++;
        free(malloc(64)); /* allocate in the signal-taking thread too */
        sem_post(&taken);
    }
}

static int run_sigwait(void)
{
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sem_init(&taken, 0, 0);
    pthread_t t;
    if (pthread_create(&t, NULL, waiter, &set) != 0)
        return 2;
    for (int i = 0; i < 200; i++) {
        void *p = malloc(100 + (size_t)i);
        kill(getpid(), i % 2 ? SIGTERM : SIGUSR1);
        sem_wait(&taken);
        free(p);
    }
    printf("SIGUSR1 taken %d, SIGTERM taken %d\n", received[0], received[1]);
    return received[0] == 100 && received[1] == 100 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "abort") == 0) {
        lc_leak();
        abort();
    }
    if (strcmp(mode, "exec-fail") == 0) {
        lc_before_exec();
        execl("/nonexistent/leakshim-test-program", "nothing", (char *)NULL);
        lc_after_failed_exec();
        printf("exec failed, carried on\n");
        return 0;
    }
    if (strcmp(mode, "sigwait") == 0)
        return run_sigwait();
    if (strcmp(mode, "handlers") == 0) {
        for (int i = 0; i < 1000; i++)
            free(malloc((size_t)i));
        lc_leak();
        for (int sig = 1; sig < NSIG; sig++) {
            struct sigaction sa;
            if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL)
                printf("signal %d: %s\n", sig, sa.sa_handler == SIG_IGN ? "ignored" : "handled");
        }
        return 0;
    }
    fprintf(stderr, "usage: lifecycle abort|exec-fail|sigwait|handlers\n");
    return 2;
}
