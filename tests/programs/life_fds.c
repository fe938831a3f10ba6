/* Descriptors under the shim.
 *
 *   life_fds closeall DIR ROUNDS
 *       closes every descriptor 0..1023 (and close_range(0, ~0) where the kernel has it);
 *       then, ROUNDS times: closes 0..1023 again, opens DIR/f<round>-<k> for k = 0, 1, 2 (they
 *       get the lowest numbers, 0, 1 and 2, the program's "stdin/stdout/stderr" now), and writes
 *       LINES lines "<round> <k> <line>\n" into each, with 40 malloc/free pairs of varying
 *       size before every line (about 800,000 events in all for 20 rounds); leaks fd_leak 24 B
 *       once per round. Exit status: 0, or 10 + an error code (no stdout to tell).
 *   life_fds dup2 DIR
 *       allocates heavily, opens DIR/g<k> for k = 0..23 and dup2()s each onto 1000 + k (closing
 *       the original), allocates heavily again while writing "<k> <line>\n" lines through
 *       1000 + k, checks each of them still refers to its own file (fstat inode), closes
 *       them; leaks fd_leak 24 B 3 times. Prints "dup2 ok".
 *   life_fds lowest ROUNDS
 *       closes every descriptor, then ROUNDS times: 200 malloc/free pairs, then opens /dev/null,
 *       which must get descriptor 0 (exit status 11 if not), and closes it; leaks fd_leak 24 B
 *       once. A shim thread that opened a file at that moment would take 0 from the program.
 *   life_fds first
 *       allocates, then opens /dev/null, which must get descriptor 3, the lowest after stdin,
 *       stdout and stderr (exit status 11 if not); leaks fd_leak 24 B once. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define LINES 1000
#define CHURN 40

static void *volatile sink;

NOINLINE void fd_leak(void) { sink = malloc(24); }
NOINLINE void *fd_churn(size_t n) { return malloc(n); }

static void churn(int n, int salt)
{
    void *keep[8] = {0};
    for (int i = 0; i < n; i++) {
        int s = i & 7;
        free(keep[s]);
        keep[s] = fd_churn(8 + (size_t)((i * 37 + salt * 11) % 1500));
        ((char *)keep[s])[0] = (char)i;
    }
    for (int s = 0; s < 8; s++)
        free(keep[s]);
}

static int write_all(int fd, const char *buf, size_t n)
{
    while (n) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

static void close_everything(void)
{
    for (int fd = 0; fd < 1024; fd++)
        close(fd);
#ifdef SYS_close_range
    syscall(SYS_close_range, 0u, ~0u, 0u); /* ENOSYS on old kernels: the loop did it */
#endif
}

static int closeall(const char *dir, int rounds)
{
    close_everything();
    for (int r = 0; r < rounds; r++) {
        if (r)
            close_everything();
        int fds[3];
        for (int k = 0; k < 3; k++) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/f%d-%d", dir, r, k);
            fds[k] = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fds[k] != k)
                return 10 + 1; /* the lowest free numbers are 0, 1, 2: we closed them all */
        }
        for (int line = 0; line < LINES; line++) {
            churn(CHURN, line + r);
            for (int k = 0; k < 3; k++) {
                char text[64];
                int n = snprintf(text, sizeof text, "%d %d %d\n", r, k, line);
                if (write_all(fds[k], text, (size_t)n) < 0)
                    return 10 + 2;
            }
        }
        fd_leak();
        for (int k = 0; k < 3; k++)
            if (close(fds[k]) != 0)
                return 10 + 3;
    }
    return 0;
}

static int high_dup2(const char *dir)
{
    churn(100000, 1);
    ino_t inode[24];
    for (int k = 0; k < 24; k++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/g%d", dir, k);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || dup2(fd, 1000 + k) != 1000 + k) {
            perror("open/dup2");
            return 1;
        }
        inode[k] = st.st_ino;
        close(fd);
    }
    fd_leak();
    for (int line = 0; line < 400; line++) {
        churn(200, line);
        for (int k = 0; k < 24; k++) {
            char text[64];
            int n = snprintf(text, sizeof text, "%d %d\n", k, line);
            if (write_all(1000 + k, text, (size_t)n) < 0) {
                perror("write");
                return 1;
            }
        }
    }
    fd_leak();
    for (int k = 0; k < 24; k++) {
        struct stat st;
        if (fstat(1000 + k, &st) != 0 || st.st_ino != inode[k]) {
            printf("descriptor %d no longer refers to g%d\n", 1000 + k, k);
            return 1;
        }
        close(1000 + k);
    }
    churn(50000, 2);
    fd_leak();
    printf("dup2 ok\n");
    return 0;
}

static int lowest(int rounds)
{
    close_everything();
    for (int r = 0; r < rounds; r++) {
        churn(200, r);
        int fd = open("/dev/null", O_RDONLY);
        if (fd != 0)
            return 10 + 1;
        close(fd);
    }
    fd_leak();
    return 0;
}

static int first(void)
{
    churn(1000, 0);
    fd_leak();
    int fd = open("/dev/null", O_RDONLY);
    return fd == 3 ? 0 : 10 + 1;
}

int main(int argc, char **argv)
{
    if (argc > 3 && strcmp(argv[1], "closeall") == 0)
        return closeall(argv[2], atoi(argv[3]));
    if (argc > 2 && strcmp(argv[1], "dup2") == 0)
        return high_dup2(argv[2]);
    if (argc > 2 && strcmp(argv[1], "lowest") == 0)
        return lowest(atoi(argv[2]));
    if (argc > 1 && strcmp(argv[1], "first") == 0)
        return first();
    fprintf(stderr, "usage: life_fds closeall DIR ROUNDS | dup2 DIR | lowest ROUNDS | first\n");
    return 2;
}
