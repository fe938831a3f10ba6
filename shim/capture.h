/* Call-stack capture for the allocation hooks: libunwind's fast backtrace, from a compact
 * per-thread cache of its frame rules (frame_cache.h) or by unw_backtrace itself (the x86-64
 * fast path with its own cache of frame descriptions; it falls back to full DWARF unwinding on
 * a miss), with the shim's own frames cut off so that frame 0 is the code that called the
 * allocation function.
 *
 * The shim's own frames (the hook, the recording function and anything inlined into them) lie
 * in the shim's text segment, between the linker-provided __ehdr_start and __etext; leading
 * frames in that range are dropped, whatever the compiler inlined. Every frame walked costs
 * time (about 8 ns each through unw_backtrace), so capture_stack is inlined into its caller:
 * the walk starts in the function that records the event, not two calls further in.
 *
 * libunwind is linked dynamically (Debian ships no position-independent libunwind.a); the shim
 * lists libgcc_s before libunwind among its needed libraries so that the program's _Unwind_*
 * references keep resolving to libgcc_s (see the Makefile and README). */
#ifndef LEAKSHIM_CAPTURE_H
#define LEAKSHIM_CAPTURE_H

#include <stdint.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "frame_cache.h"

/* At most this many of the shim's frames lead a stack (the hook and the recording function). */
#define CAPTURE_SKIP_MAX 8

extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char __etext[] __attribute__((visibility("hidden")));

/* Set on a thread while it is inside the unwinder: a signal handler that interrupted it must
 * not unwind on the same thread (libunwind's per-thread cache may be half updated). */
extern __thread int capture_busy __attribute__((tls_model("initial-exec")));

/* Where libunwind is loaded, as its program headers say: what unwind_pipe.h and
 * unwind_cache.h need to know of it. All zero when it was not found. */
struct unwinder_module {
    uintptr_t start, end;   /* the range its PT_LOAD segments cover */
    size_t tls_bytes;       /* the size of its thread-local block (PT_TLS) */
    unsigned long tls_modid; /* its TLS module id (for __tls_get_addr) */
};

/* Prepares libunwind (per-thread caches). Call once, from the shim's initialization. */
void capture_init(void);

/* Captures the current thread's callers into `buf`, which has room for max_depth +
 * CAPTURE_SKIP_MAX + FRAME_CACHE_EXTRA return addresses. The stack, outermost last and
 * starting with the caller of the interposed function, is the returned number of addresses
 * from buf[*first] on, at most `max_depth`. */
static inline __attribute__((always_inline)) unsigned capture_stack(void **buf, unsigned max_depth,
                                                                    unsigned *first)
{
    capture_busy = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    int n = frame_cache_backtrace(buf, (int)(max_depth + CAPTURE_SKIP_MAX));
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    capture_busy = 0;
    if (n < 0)
        n = 0;
    int i = 0;
    while (i < n && (const char *)buf[i] >= __ehdr_start && (const char *)buf[i] < __etext)
        i++;
    *first = (unsigned)i;
    unsigned depth = (unsigned)(n - i);
    return depth < max_depth ? depth : max_depth;
}

#endif
