/* When the shim records: lazy start on the first hooked call (a needed library's constructor
 * may allocate before ours runs), the constructor, the destructor that finishes the trace at
 * normal exit, and fork.
 *
 *   UNINIT --first call--> STARTING --> RECORDING --exit--> OFF
 *                                   \--> OFF (cannot trace: setuid, no file, ...)
 *   fork: in the child, any state but OFF-by-choice goes back to UNINIT, so the child's first
 *   hooked call starts its own trace with empty books. The atfork handler does it, or, for a
 *   child that allocates before that handler runs (glibc's _Fork runs none; another library's
 *   handler may run first), the first hook that finds the fork sentinel cleared: a page the
 *   kernel gives every forked child zeroed (MADV_WIPEONFORK), set while this process records.
 *   exec: stays RECORDING; an EXEC marker before the call ends the trace if the image is
 *   replaced, an EXEC_FAILED marker after a failed call says the process went on. */
#ifndef LEAKSHIM_LIFECYCLE_H
#define LEAKSHIM_LIFECYCLE_H

#include <stdatomic.h>

enum shim_state { SHIM_UNINIT, SHIM_STARTING, SHIM_RECORDING, SHIM_OFF };

extern _Atomic int shim_state;
/* Not 0 in the process whose trace the shim writes, 0 in a child forked from it (see above).
 * Valid while shim_state is SHIM_RECORDING. */
extern _Atomic int *shim_fork_sentinel;

int shim_start_slow(void);

/* Exits that skip destructors (see exit_paths.c). Each acts only in the process that started
 * the current trace, never in a vfork child sharing its memory. */
void shim_finish_trace(void);  /* _exit: drain, write the end record, close */
void shim_flush_trace(void);   /* abort: drain, leave the trace marked unfinished */
void shim_before_exec(void);   /* exec: mark the trace's end, drain; recording goes on */
void shim_exec_failed(void);   /* exec returned: mark that the process goes on */
/* Before a change of user, group or root directory (identity.c): writer_before_identity_change,
 * in this process's trace (started now if this is a forked child that has not started it). */
void shim_before_identity_change(void);

/* True while this process records, without starting anything (for nested hooks, record.h). */
static inline int shim_is_recording(void)
{
    return atomic_load_explicit(&shim_state, memory_order_acquire) == SHIM_RECORDING &&
           atomic_load_explicit(shim_fork_sentinel, memory_order_relaxed);
}

/* True when hooks should record. Call with the re-entrancy guard set. */
static inline int shim_recording(void)
{
    int s = atomic_load_explicit(&shim_state, memory_order_acquire);
    if (__builtin_expect(s == SHIM_RECORDING &&
                         atomic_load_explicit(shim_fork_sentinel, memory_order_relaxed), 1))
        return 1;
    return shim_start_slow();
}

#endif
