/* libunwind's memory-validation pipe, kept at high descriptor numbers.
 *
 * libunwind checks memory it is not sure of (a frame without unwind information) by writing a
 * byte of it into a pipe of its own, made with pipe2 when it initializes and again whenever
 * the pipe fails (the program closed it). pipe2 takes the lowest free numbers: 3 and 4 in a
 * fresh process, 0 and 1 in one that has just closed everything, numbers that the program
 * counts on, and that libunwind would then read from, write into and close as its own. So the
 * shim exports pipe2: when the caller is libunwind's code, the new pipe moves at once to high
 * numbers (high_fd.h), and libunwind keeps those; every other caller gets the system call as
 * it is. The move leaves the low numbers taken only between the two calls, in the thread that
 * unwinds, inside the program's own call to the allocator. */
#include "unwind_pipe.h"

#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "capture.h"
#include "high_fd.h"

#define EXPORT __attribute__((visibility("default")))

static uintptr_t unwinder_start, unwinder_end; /* libunwind's loaded range; 0, 0: unknown */

void unwind_pipe_init(const struct unwinder_module *unwinder)
{
    unwinder_start = unwinder->start;
    unwinder_end = unwinder->end;
}

EXPORT int pipe2(int fds[2], int flags)
{
    uintptr_t caller = (uintptr_t)__builtin_return_address(0);
    if ((int)syscall(SYS_pipe2, fds, flags) < 0)
        return -1;
    if (caller >= unwinder_start && caller < unwinder_end) {
        int saved = errno;
        for (int i = 0; i < 2; i++) {
            int high = high_fd_dup(fds[i]); /* close-on-exec, as libunwind asks; same flags */
            if (high >= 0) {
                close(fds[i]);
                fds[i] = high;
            }
        }
        errno = saved;
    }
    return 0;
}
