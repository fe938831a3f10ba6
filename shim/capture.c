/* Stack capture with libunwind's unw_backtrace (the x86-64 fast path with its per-thread
 * cache of frame descriptions; it falls back to full DWARF unwinding on a miss).
 *
 * The shim's own frames (this file, the hook and anything inlined into it) lie in the shim's
 * text segment, between the linker-provided __ehdr_start and __etext; leading frames in that
 * range are dropped, whatever the compiler inlined.
 *
 * libunwind is linked dynamically (Debian ships no position-independent libunwind.a); the shim
 * lists libgcc_s before libunwind among its needed libraries so that the program's
 * _Unwind_* references keep resolving to libgcc_s (see the Makefile and README). */
#include "capture.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char __etext[] __attribute__((visibility("hidden")));

#define CAPTURE_SKIP_MAX 8

void capture_init(void)
{
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

static int in_shim(uint64_t ip)
{
    return ip >= (uint64_t)(uintptr_t)__ehdr_start && ip < (uint64_t)(uintptr_t)__etext;
}

unsigned capture_stack(uint64_t *frames, unsigned max_depth)
{
    void *buf[max_depth + CAPTURE_SKIP_MAX];
    int n = unw_backtrace(buf, (int)(max_depth + CAPTURE_SKIP_MAX));
    int first = 0;
    while (first < n && in_shim((uint64_t)(uintptr_t)buf[first]))
        first++;
    unsigned depth = 0;
    for (int i = first; i < n && depth < max_depth; i++)
        frames[depth++] = (uint64_t)(uintptr_t)buf[i];
    return depth;
}
