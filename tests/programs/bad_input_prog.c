/* A small program for the bad-input tests: a few known leaks, then either a normal exit or,
 * with the argument "kill", SIGKILL to itself right after its last allocation. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) void *bad_input_leak(size_t n) { return malloc(n); }

int main(int argc, char **argv)
{
    for (int i = 0; i < 300; i++) {
        volatile char *p = malloc(16 + (size_t)i);
        p[0] = 1;
        free((void *)p);
    }
    for (int i = 0; i < 40; i++) {
        volatile char *l = bad_input_leak(100);
        l[0] = 1;
    }
    if (argc > 1 && strcmp(argv[1], "kill") == 0)
        kill(getpid(), SIGKILL);
    return 0;
}
