/* The writer thread is the shim's, not the program's: glibc must not count it among the
 * threads whose end ends the process. glibc exits the process (exit(0)) when its last thread
 * ends, main's pthread_exit included, by counting them in `__nptl_nthreads`; a thread of the
 * shim in that count would keep a program whose main thread called pthread_exit alive forever
 * once its other threads have ended. So the writer leaves the count as soon as it exists, and
 * goes back into it just before it ends, so that glibc's end of the thread, which takes it off
 * the count and exits the process when that leaves zero, neither exits nor unbalances it.
 * Called by writer.c only. */
#ifndef LEAKSHIM_UNCOUNTED_THREAD_H
#define LEAKSHIM_UNCOUNTED_THREAD_H

/* Takes the newest thread of the process, just created, off glibc's count of threads.
 * Returns 1 if it did, 0 where the count is not found (another C library): nothing changed. */
int uncounted_thread_leave_count(void);

/* In a thread that left the count, just before it returns: counts it again, unless the count
 * is zero, which it is only when the process's last thread is running exit(0) (and waits for
 * this one): then the end of this thread takes it below zero, and glibc exits nothing more. */
void uncounted_thread_rejoin_count(void);

#endif
