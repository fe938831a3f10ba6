/* The per-thread re-entrancy guard. While it is set, the interposed allocation functions go
 * straight to libc without recording: inside the shim's own hooks (dlsym, libunwind and
 * vsnprintf may allocate), in a signal handler that interrupted a hook, and for the whole life
 * of the writer thread. Initial-exec TLS, because the default model may itself allocate. */
#ifndef LEAKSHIM_GUARD_H
#define LEAKSHIM_GUARD_H

extern __thread int shim_guard __attribute__((tls_model("initial-exec")));

#endif
