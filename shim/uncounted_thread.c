/* Threads of the shim that glibc does not count; see uncounted_thread.h. `__nptl_nthreads` is
 * exported by glibc (GLIBC_PRIVATE, for libthread_db) and changed with atomic operations:
 * pthread_create adds one, the end of a thread (start_thread, or main's pthread_exit) takes one
 * off and calls exit(0) when that leaves zero, fork's child sets it to 1.
 *
 * The writer ends only while one of the program's threads ends the process (exit, _exit): that
 * thread is counted, so the count stays at least 1 meanwhile, or it is the last thread, which
 * has already taken the count to 0. Either way the count cannot cross zero between the load
 * and the addition in uncounted_thread_rejoin_count. */
#include "uncounted_thread.h"

#include <dlfcn.h>

static unsigned int *thread_count(void)
{
    static unsigned int *count;
    if (!count)
        count = dlsym(RTLD_DEFAULT, "__nptl_nthreads");
    return count;
}

int uncounted_thread_leave_count(void)
{
    unsigned int *count = thread_count();
    if (!count)
        return 0;
    __atomic_fetch_sub(count, 1, __ATOMIC_ACQ_REL);
    return 1;
}

void uncounted_thread_rejoin_count(void)
{
    unsigned int *count = thread_count();
    if (count && __atomic_load_n(count, __ATOMIC_ACQUIRE) != 0)
        __atomic_fetch_add(count, 1, __ATOMIC_ACQ_REL);
}
