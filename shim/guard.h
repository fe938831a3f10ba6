/* The per-thread re-entrancy guard. While it is set, the interposed allocation functions record
 * nothing the ordinary way. Initial-exec TLS, because the default model may itself allocate.
 *
 * A hook sets it by adding 1 for the time of its call. The shim's own code outside the hooks
 * (starting and ending a trace, marks, dlclose's sync, the whole life of the writer thread)
 * adds SHIM_GUARD_INTERNAL: what it allocates (dlsym, pthread_create, vsnprintf may) is the
 * shim's, and goes straight to libc. A hook entered under a hook's guard alone was called by a
 * signal handler that interrupted that hook (or, rarely, by libunwind inside it): its event is
 * the program's, and is recorded as record.h says for nested events. */
#ifndef LEAKSHIM_GUARD_H
#define LEAKSHIM_GUARD_H

#define SHIM_GUARD_INTERNAL 0x10000

extern __thread int shim_guard __attribute__((tls_model("initial-exec")));

/* True inside the shim's own code outside the hooks (see above). */
static inline int shim_guard_internal(void)
{
    return shim_guard >= SHIM_GUARD_INTERNAL;
}

#endif
