/* Resident set size; see resident.h. */
#include "resident.h"

#include <fcntl.h>
#include <unistd.h>

#include "high_fd.h"

uint64_t resident_bytes(void)
{
    char text[128];
    int fd = high_fd_open("/proc/self/statm", O_RDONLY, 0);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = 0;
    /* "size resident shared text lib data dt", in pages */
    const char *p = text;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p++ != ' ')
        return 0;
    uint64_t pages = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        pages = pages * 10 + (uint64_t)(*p - '0');
    long page = sysconf(_SC_PAGESIZE);
    return pages * (uint64_t)(page > 0 ? page : 4096);
}
