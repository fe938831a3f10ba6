/* High descriptors; see high_fd.h. */
#include "high_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* The lowest number used: high in the table, where a program's own open() does not reach
 * unless it holds that many files, but not so high that the kernel grows the table far
 * (limits of a million descriptors are common). */
static int high_number(void)
{
    long max = sysconf(_SC_OPEN_MAX);
    return max > 4096 ? 4000 : max > 128 ? (int)(max - 64) : 64;
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
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, high_number());
    if (copy < 0 && errno != EBADF)
        copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    return copy;
}
