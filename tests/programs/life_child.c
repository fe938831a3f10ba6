/* A small program that others start (exec, vfork, posix_spawn, system, the dynamic loader):
 * leaks exactly 4321 bytes in one block from child_prog_leak and 3 x 100 bytes from
 * child_prog_small, frees everything else it allocates.
 *
 *   life_child              prints "life_child hello" and exits 0
 *   life_child pid          also prints "life_child pid=PID"
 *   life_child status N     exits with status N after printing */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink[8];

NOINLINE void child_prog_leak(void) { sink[0] = malloc(4321); }
NOINLINE void child_prog_small(int i) { sink[1 + i] = malloc(100); }
NOINLINE void *child_prog_churn(size_t n) { return malloc(n); }

int main(int argc, char **argv)
{
    child_prog_leak();
    for (int i = 0; i < 3; i++)
        child_prog_small(i);
    for (int i = 0; i < 1000; i++) {
        char *p = child_prog_churn(16 + (size_t)(i % 200));
        p[0] = 1;
        free(p);
    }
    printf("life_child hello\n");
    if (argc > 1 && strcmp(argv[1], "pid") == 0)
        printf("life_child pid=%d\n", (int)getpid());
    if (argc > 2 && strcmp(argv[1], "status") == 0)
        return atoi(argv[2]);
    return 0;
}
