/* clone(2) called directly, as a fork without pthread_atfork: the child runs child_main on a
 * stack of its own, leaks 555 B from child_leak and returns 7, which glibc's clone wrapper
 * passes to the exit system call of that one thread (not exit_group). The parent leaks 77 B
 * from parent_leak, waits for the child and prints its status; with `threads`, the child
 * first starts and joins a thread of its own. Without the shim it prints "child exit 7". */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define NOINLINE __attribute__((noinline))
#define STACK_BYTES (1 << 20)

static void *volatile sink[2];

NOINLINE void child_leak(void) { sink[0] = malloc(555); }
NOINLINE void parent_leak(void) { sink[1] = malloc(77); }

static void *child_thread(void *arg)
{
    free(malloc(40));
    return arg;
}

static int child_main(void *arg)
{
    if (arg) {
        pthread_t t;
        if (pthread_create(&t, NULL, child_thread, NULL) == 0)
            pthread_join(t, NULL);
    }
    child_leak();
    free(malloc(10));
    return 7;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 && strcmp(argv[1], "threads") == 0;
    char *stack = mmap(NULL, STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED)
        return 2;
    parent_leak();
    int pid = clone(child_main, stack + STACK_BYTES, SIGCHLD, threads ? "t" : NULL);
    if (pid < 0)
        return 3;
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return 4;
    if (WIFEXITED(status))
        printf("child exit %d\n", WEXITSTATUS(status));
    else
        printf("child status %#x\n", status);
    return 0;
}
