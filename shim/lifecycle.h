/* When the shim records: lazy start on the first hooked call (a needed library's constructor
 * may allocate before ours runs), the constructor, the destructor that finishes the trace at
 * normal exit, and fork.
 *
 *   UNINIT --first call--> STARTING --> RECORDING --exit--> OFF
 *                                   \--> OFF (cannot trace: setuid, no file, ...)
 *   fork: in the child, any state but OFF-by-choice goes back to UNINIT, so the child's first
 *   hooked call starts its own trace with empty books. */
#ifndef LEAKSHIM_LIFECYCLE_H
#define LEAKSHIM_LIFECYCLE_H

#include <stdatomic.h>

enum shim_state { SHIM_UNINIT, SHIM_STARTING, SHIM_RECORDING, SHIM_OFF };

extern _Atomic int shim_state;

int shim_start_slow(void);

/* True when hooks should record. Call with the re-entrancy guard set. */
static inline int shim_recording(void)
{
    int s = atomic_load_explicit(&shim_state, memory_order_acquire);
    if (__builtin_expect(s == SHIM_RECORDING, 1))
        return 1;
    return shim_start_slow();
}

#endif
