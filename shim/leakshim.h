/* leakshim's programming interface: one call that drops a named mark into the trace, so that
 * the analysis can be limited to what happened after it (`leakshim report --since NAME`).
 *
 *     #include "leakshim.h"
 *     ...
 *     leakshim_mark("warmup done");
 *
 * The call is harmless when the program runs without the tracer: it looks the tracer up
 * with dlsym(RTLD_DEFAULT) once (glibc 2.34 and later have dlsym in libc; older ones need
 * -ldl) and does nothing if it is not loaded. Names are cut at 255 bytes. Safe to call from
 * any thread; a mark made while the calling thread is inside an allocation call (a signal
 * handler that interrupted malloc) is dropped. Copy this header into your project freely. */
#ifndef LEAKSHIM_H
#define LEAKSHIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* RTLD_DEFAULT */
#endif
#include <dlfcn.h>

typedef void (*leakshim_mark_fn)(const char *name);

static inline void leakshim_mark(const char *name)
{
    static leakshim_mark_fn fn;   /* the tracer's function, once found */
    static int looked_up;         /* 1: looked up (fn may still be NULL) */
    if (!__atomic_load_n(&looked_up, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&fn, (leakshim_mark_fn)dlsym(RTLD_DEFAULT, "leakshim_record_mark"),
                         __ATOMIC_RELAXED);
        __atomic_store_n(&looked_up, 1, __ATOMIC_RELEASE);
    }
    leakshim_mark_fn f = __atomic_load_n(&fn, __ATOMIC_RELAXED);
    if (f)
        f(name);
}

#endif
