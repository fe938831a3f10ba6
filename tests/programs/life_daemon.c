/* daemon(3) under the shim: leaks daemon_parent_leak 2 x 30 B, calls daemon(0, noclose), and in
 * the daemon waits (up to 10 s) until the parent has exited, so that its first allocation, which
 * starts its trace, comes after that; then leaks daemon_child_leak 3 x 50 B, writes to the file argv[1] what it became (its
 * working directory, where descriptors 0..2 lead, whether it leads its session) and a last line
 * "done", and returns 0. `life_daemon FILE [noclose]`; daemon's failure exits 1. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink[8];

NOINLINE void daemon_parent_leak(int i) { sink[i] = malloc(30); }
NOINLINE void daemon_child_leak(int i) { sink[2 + i] = malloc(50); }

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int noclose = argc > 2 && strcmp(argv[2], "noclose") == 0;
    for (int i = 0; i < 2; i++)
        daemon_parent_leak(i);
    for (int i = 0; i < 1000; i++)
        free(malloc((size_t)i + 1));
    pid_t parent = getpid();
    if (daemon(0, noclose) != 0)
        return 1;
    for (int waited = 0; getppid() == parent && waited < 10000; waited++)
        usleep(1000);
    for (int i = 0; i < 3; i++)
        daemon_child_leak(i);
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 3;
    char cwd[PATH_MAX];
    fprintf(f, "cwd %s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
    for (int fd = 0; fd < 3; fd++) {
        char link[32], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        fprintf(f, "fd %d %s\n", fd, noclose ? "kept" : target);
    }
    fprintf(f, "session leader %d\n", getsid(0) == getpid());
    fprintf(f, "done\n");
    fclose(f);
    return 0;
}
