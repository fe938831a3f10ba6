/* Forked children that allocate before the shim's atfork handler runs, or without it.
 *
 *   life_atfork raw      glibc's _Fork, which runs no atfork handler: the child leaks
 *                        child_first_leak 5 x 1 MiB and churns, then _exits
 *   life_atfork handler  fork, with libatfork_first.so (tests/programs/life_atfork_lib.c)
 *                        linked in: its constructor registers a child handler before the
 *                        shim's, which leaks atfork_leak 4 x 1 MiB and churns
 *
 * Either way the parent leaks parent_leak 1000 B before the fork and 7 x 2000 B after the
 * child ended, and churns; it prints "parent pid=P child=C status=S". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern pid_t _Fork(void);

static void *volatile sink;

__attribute__((noinline)) void parent_leak(size_t n) { sink = malloc(n); }
__attribute__((noinline)) void child_first_leak(size_t n) { sink = malloc(n); }
__attribute__((noinline)) void churn(int n)
{
    for (int i = 0; i < n; i++)
        free(malloc(32 + (size_t)(i % 64)));
}

int main(int argc, char **argv)
{
    int raw = argc > 1 && strcmp(argv[1], "raw") == 0;
    parent_leak(1000);
    pid_t pid = raw ? _Fork() : fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        if (raw) {
            for (int i = 0; i < 5; i++)
                child_first_leak(1 << 20);
            churn(100);
        }
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    churn(1000);
    for (int i = 0; i < 7; i++)
        parent_leak(2000);
    printf("parent pid=%d child=%d status=%d\n", (int)getpid(), (int)pid, status);
    return 0;
}
