/* Descriptors the shim opens for a moment (the trace to extend it, /proc/self/maps, statm),
 * and the one it may hold on the trace (tracefile_hold), live at a high number. A program may close every descriptor at any time and open files
 * again: those get the low numbers, so a descriptor of the shim's that the program closes
 * fails with EBADF instead of becoming one of the program's files under the shim's hands
 * (HAZARDS: "Descriptors"). */
#ifndef LEAKSHIM_HIGH_FD_H
#define LEAKSHIM_HIGH_FD_H

#include <sys/types.h>

/* open(2), then the descriptor moved to a high number (close-on-exec). When there is no room
 * up there (a low descriptor limit, or the numbers taken), it stays where open put it. */
int high_fd_open(const char *path, int flags, mode_t mode);

/* dup(2) of `fd` at a high number (close-on-exec), or where dup would put it when there is no
 * room up there. -1 with errno set (EBADF: `fd` is not open). */
int high_fd_dup(int fd);

#endif
