/* The writer thread must not keep a process alive that the program has ended. A child made by
 * clone(2) called directly (not fork: no atfork handler) ends when its function returns, with
 * the exit system call of its one thread, not exit_group; the writer that its first call
 * started is then the only thread left, and without it the child would have ended, with that
 * function's status. leader_exit_status tells the writer so. Called by writer.c only, from the
 * writer thread when it is idle. */
#ifndef LEAKSHIM_LEADER_EXIT_H
#define LEAKSHIM_LEADER_EXIT_H

/* The exit status (0 to 255) the thread-group leader ended with, if it has ended and the
 * calling thread is the only one left in the process; -1 otherwise, and where /proc cannot be
 * read. */
int leader_exit_status(void);

#endif
