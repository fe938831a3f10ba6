/* Warnings from the shim; see log.h for the rules. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "high_fd.h"

static atomic_uint messages;

void shim_warn(const char *fmt, ...)
{
    if (atomic_fetch_add(&messages, 1) >= LOG_MAX_MESSAGES)
        return;
    int saved_errno = errno;
    char buf[512];
    int prefix = snprintf(buf, sizeof buf, "leakshim: ");
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + prefix, sizeof buf - (size_t)prefix - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)prefix + (n < 0 ? 0 : (size_t)n);
    if (len > sizeof buf - 2)
        len = sizeof buf - 2;
    buf[len++] = '\n';
    /* The writer thread has a table of descriptors of its own: the program's stderr is copied */
    int copied = high_fd_in_private_table();
    int fd = copied ? high_fd_dup(STDERR_FILENO) : STDERR_FILENO;
    for (size_t done = 0; fd >= 0 && done < len;) {
        ssize_t w = write(fd, buf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    if (copied && fd >= 0)
        close(fd);
    errno = saved_errno;
}
