/* High descriptors, and the writer's table of its own; see high_fd.h. */
#include "high_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

static __thread int private_table __attribute__((tls_model("initial-exec")));

/* The lowest number used: high in the table, where a program's own open() does not reach
 * unless it holds that many files, but not so high that the kernel grows the table far
 * (limits of a million descriptors are common). Under a limit of 128 or less, the top 4
 * numbers: room for libunwind's pipe and the held trace, and the program's first files
 * still get 3, 4... (a number at or above the limit would leave them all low). */
static int high_number(void)
{
    long max = sysconf(_SC_OPEN_MAX);
    return max > 4096 ? 4000 : max > 128 ? (int)(max - 64) : max > 4 ? (int)(max - 4) : 0;
}

int high_fd_open(const char *path, int flags, mode_t mode)
{
    int low = open(path, flags | O_CLOEXEC, mode);
    if (low < 0)
        return -1;
    int fd = fcntl(low, F_DUPFD_CLOEXEC, high_number());
    if (fd < 0)
        return low;
    close(low);
    return fd;
}

int high_fd_dup(int fd)
{
    if (private_table) {
        /* The program's descriptor, copied from the table of the process's main thread. */
        int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
        if (pidfd < 0)
            return -1;
        int copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0); /* close-on-exec */
        int saved = errno;
        close(pidfd);
        errno = saved;
        return copy;
    }
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, high_number());
    if (copy < 0 && errno != EBADF)
        copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    return copy;
}

void high_fd_private_table(void)
{
    if (unshare(CLONE_FILES) < 0)
        return;
    /* The copies of the program's descriptors would keep its files open after it closes them
     * (a pipe's reader would never see the end): none is kept. */
    if (syscall(SYS_close_range, 0u, ~0u, 0u) < 0)
        for (int fd = 0; fd < 65536; fd++)
            close(fd);
    private_table = 1;
}

int high_fd_in_private_table(void)
{
    return private_table;
}
