/* A program that gives up what it could open files with, as servers started by root do. It
 * leaks drop_leak_before 2 x 64 B, changes identity or root, makes CHURN allocations of 1 to
 * 256 B in drop_churn and frees each (enough for a trace of several 256 KiB extensions after
 * the change), then leaks drop_leak_after 3 x 16 B, prints "done" and returns 0 (1 if a change
 * that should succeed fails). Each call that changes identity or root prints a line
 * "CALL RC ERRNO", with errno set to EDOM before the call, so that its value after a call that
 * succeeds shows too.
 *
 *   life_drop setuid CHURN        setgid(65534), setuid(65534), then setuid(0), which fails
 *   life_drop setresuid CHURN     setresgid and setresuid to 65534, then setresuid(0,0,0) fails
 *   life_drop chroot CHURN DIR    chroot(DIR/missing) fails, chroot(DIR), chdir("/")
 *   life_drop fork CHURN          forks; the child becomes 65534 (setgid, setuid) at once and
 *                                 does the rest (churn, drop_leak_after); the parent waits,
 *                                 prints "child STATUS" and "done"
 *   life_drop replace CHURN TRACES DIR
 *                                 stays root (setuid(0)), prints "held N", N the number of
 *                                 descriptors open on files in the directory TRACES (the one
 *                                 the shim holds on its trace), puts its own file DIR/own on
 *                                 that number and writes "own I" through it for I = 0..9, with
 *                                 a tenth of the churn after each line; then the churn again */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink[8];

NOINLINE void drop_leak_before(int i) { sink[i] = malloc(64); }
NOINLINE void drop_leak_after(int i) { sink[2 + i] = malloc(16); }

NOINLINE void drop_churn(long n)
{
    unsigned x = 12345;
    for (long i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        void *volatile p = malloc(1 + (x >> 16) % 256);
        free(p);
    }
}

/* Prints "NAME RC ERRNO" for a call made with errno set to EDOM; returns rc. */
#define SAY(name, call)                                                                       \
    ({                                                                                        \
        errno = EDOM;                                                                         \
        int rc_ = (call);                                                                     \
        printf("%s %d %s\n", name, rc_, strerrorname_np(errno));                             \
        rc_;                                                                                  \
    })

static void after_change(long churn)
{
    drop_churn(churn);
    for (int i = 0; i < 3; i++)
        drop_leak_after(i);
}

/* The descriptors open on a file under `dir`, counted; the last one found in *fd. */
static int open_under(const char *dir, int *fd)
{
    int found = 0;
    for (int n = 3; n < 65536; n++) {
        char link[64], target[4096];
        snprintf(link, sizeof link, "/proc/self/fd/%d", n);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len <= 0)
            continue;
        target[len] = 0;
        if (strncmp(target, dir, strlen(dir)) == 0 && target[strlen(dir)] == '/') {
            *fd = n;
            found++;
        }
    }
    return found;
}

/* Puts its own file DIR/own on the descriptor the shim holds on its trace, and writes a line
 * through it between bouts of churn. */
static int replace(const char *trace_dir, const char *dir, long churn)
{
    int held = -1, found = open_under(trace_dir, &held);
    printf("held %d\n", found);
    if (found != 1)
        return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/own", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (fd < 0 || dup2(fd, held) != held)
        return 1;
    close(fd);
    for (int i = 0; i < 10; i++) {
        char line[32];
        int len = snprintf(line, sizeof line, "own %d\n", i);
        if (write(held, line, (size_t)len) != len)
            return 1;
        drop_churn(churn / 10);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *mode = argv[1];
    long churn = atol(argv[2]);
    for (int i = 0; i < 2; i++)
        drop_leak_before(i);
    if (strcmp(mode, "setuid") == 0) {
        if (SAY("setgid", setgid(65534)) != 0 || SAY("setuid", setuid(65534)) != 0)
            return 1;
        SAY("setuid", setuid(0));
    } else if (strcmp(mode, "setresuid") == 0) {
        if (SAY("setresgid", setresgid(65534, 65534, 65534)) != 0 ||
            SAY("setresuid", setresuid(65534, 65534, 65534)) != 0)
            return 1;
        SAY("setresuid", setresuid(0, 0, 0));
    } else if (strcmp(mode, "chroot") == 0 && argc > 3) {
        char missing[4096];
        snprintf(missing, sizeof missing, "%s/missing", argv[3]);
        SAY("chroot", chroot(missing));
        if (SAY("chroot", chroot(argv[3])) != 0 || chdir("/") != 0)
            return 1;
    } else if (strcmp(mode, "fork") == 0) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0)
                return 1;
            after_change(churn);
            return 0;
        }
        int status;
        if (waitpid(pid, &status, 0) != pid)
            return 1;
        printf("child %d\n", status);
        printf("done\n");
        return 0;
    } else if (strcmp(mode, "replace") == 0 && argc > 4) {
        if (SAY("setuid", setuid(0)) != 0 || replace(argv[3], argv[4], churn) != 0)
            return 1;
    } else {
        return 2;
    }
    after_change(churn);
    printf("done\n");
    return 0;
}
