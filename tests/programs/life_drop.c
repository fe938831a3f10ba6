/* A program that gives up what it could open files with, as servers started by root do: leaks
 * drop_leak_before 2 x 64 B, then `life_drop setuid` becomes user and group 65534 (nobody),
 * `life_drop chroot DIR` changes its root directory to DIR; then leaks drop_leak_after 3 x 16 B,
 * prints "done" and returns 0 (1 if the change fails). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink[8];

NOINLINE void drop_leak_before(int i) { sink[i] = malloc(64); }
NOINLINE void drop_leak_after(int i) { sink[2 + i] = malloc(16); }

int main(int argc, char **argv)
{
    for (int i = 0; i < 2; i++)
        drop_leak_before(i);
    if (argc > 2 && strcmp(argv[1], "chroot") == 0) {
        if (chroot(argv[2]) != 0 || chdir("/") != 0)
            return 1;
    } else if (setgid(65534) != 0 || setuid(65534) != 0) {
        return 1;
    }
    for (int i = 0; i < 3; i++)
        drop_leak_after(i);
    printf("done\n");
    return 0;
}
