/* The per-thread re-entrancy guard. While it is set, the interposed allocation functions record
 * nothing the ordinary way. Initial-exec TLS, because the default model may itself allocate.
 *
 * A hook, and the shim's code that records without allocating (marks, exec, dlclose's sync,
 * the end of a trace), sets it by adding 1 for the time of its call. The shim's code that
 * allocates (starting a trace: options, pthread_create, atfork; the whole life of the writer
 * thread, which blocks every signal) adds SHIM_GUARD_INTERNAL: what it allocates is the
 * shim's, and goes straight to libc. A hook entered under a guard of 1 was called by a signal
 * handler that interrupted the shim (or, rarely, by libunwind inside a hook): its event is
 * the program's, and is recorded as record.h says for nested events. The one gap left: a
 * handler's events while this thread starts the trace, once per process, are not recorded. */
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
