/* Trace naming: prints its pid and leaks 123 bytes from naming_leak.
 *
 *   naming                 leak and exit
 *   naming chdir DIR       chdir(DIR) first thing in main, then leak
 *   naming exec            leak 111 B from leak_before_exec, then exec itself as
 *                          `naming after-exec`, which leaks 222 B from leak_after_exec */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink[4];

NOINLINE void naming_leak(void) { sink[0] = malloc(123); }
NOINLINE void leak_before_exec(void) { sink[1] = malloc(111); }
NOINLINE void leak_after_exec(void) { sink[2] = malloc(222); }

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "chdir") == 0 && chdir(argv[2]) != 0) {
        perror("chdir");
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        leak_before_exec();
        printf("pid=%d\n", (int)getpid());
        fflush(stdout);
        execl("/proc/self/exe", argv[0], "after-exec", (char *)NULL);
        perror("exec");
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "after-exec") == 0) {
        leak_after_exec();
        printf("after exec pid=%d\n", (int)getpid());
        return 0;
    }
    naming_leak();
    printf("pid=%d\n", (int)getpid());
    return 0;
}
