/* Descriptors the shim opens for a moment (the trace to extend it, /proc/self/maps, statm),
 * and the one it may hold on the trace (tracefile_hold), live at a high number. A program may
 * close every descriptor at any time and open files again: those get the low numbers, so a
 * descriptor of the shim's that the program closes fails with EBADF instead of becoming one
 * of the program's files under the shim's hands (HAZARDS: "Descriptors").
 *
 * Opening a file takes the lowest free number for a moment, even when it moves up at once: a
 * program that closed 0, 1 and 2 and opens its files again expects them there, and a thread
 * of the shim's that opens a file meanwhile would take one. So the writer thread, which opens
 * files all along (the trace to extend it, statm for every heap sample), works in a table of
 * descriptors of its own (unshare(CLONE_FILES), emptied at once): its opens never touch the
 * program's numbers. What it needs of the program's descriptors (stderr for a warning, the
 * trace's held descriptor) it copies with pidfd_getfd. The other threads' opens (at exit,
 * exec, fork, a change of identity) are the program's own calls, where it waits for them. */
#ifndef LEAKSHIM_HIGH_FD_H
#define LEAKSHIM_HIGH_FD_H

#include <sys/types.h>

/* open(2), then the descriptor moved to a high number (close-on-exec). When there is no room
 * up there (a low descriptor limit, or the numbers taken), it stays where open put it. */
int high_fd_open(const char *path, int flags, mode_t mode);

/* dup(2) of the program's descriptor `fd` at a high number (close-on-exec), or where dup would
 * put it when there is no room up there; in a thread with a table of its own, a copy of the
 * program's `fd` into it. -1 with errno set (EBADF: `fd` is not open). */
int high_fd_dup(int fd);

/* Gives the calling thread a table of descriptors of its own, empty (the writer thread, once,
 * first thing). Where the kernel refuses (seccomp), the thread keeps sharing the program's. */
void high_fd_private_table(void);

/* 1 in a thread that has a table of its own. */
int high_fd_in_private_table(void);

#endif
