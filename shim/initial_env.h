/* The environment the process started with, readable before libc has set `environ`.
 *
 * glibc sets `environ` in libc's own initializer, which runs after the executable's
 * DT_PREINIT_ARRAY functions: one that allocates starts the shim while getenv() still finds
 * nothing, and every LEAKSHIM_* setting would be ignored (the trace written in the working
 * directory under the default name). The kernel left the environment on the initial stack,
 * after argv's terminating null, where the dynamic loader's __libc_stack_end points (at argc). */
#ifndef LEAKSHIM_INITIAL_ENV_H
#define LEAKSHIM_INITIAL_ENV_H

/* getenv(name); while `environ` is not set yet, the value in the initial environment. */
const char *initial_env_get(const char *name);

#endif
