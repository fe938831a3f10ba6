/* Stack walks from a small per-thread cache of frame rules, in front of libunwind.
 *
 * unw_backtrace's fast path steps from frame to frame with rules it caches per thread (for a
 * return address: where the caller's frame starts, the CFA, and where the caller's rbp was
 * saved), but keeps them in a hash table of 2^14 slots over 256 KiB: each frame of a stack is
 * a slot on a page of its own. A program that streams through megabytes of heap between two
 * allocations (and a sampled one, between two samples) finds those slots out of the caches
 * and out of the TLB, one miss after the other, since each frame's rule gives the address of
 * the next. This cache holds the same rules, those of libunwind's common frame form alone
 * (CFA = rsp or rbp + offset, return address at CFA - 8), and the outermost frames, in
 * FRAME_CACHE_SLOTS slots of 16 bytes in thread-local storage: one page for every frame a
 * thread meets.
 *
 * The walk is libunwind's (src/x86_64/Gtrace.c) for those frames, step for step, and stops
 * where it stops (an outermost frame, a return address below 0x4000, the depth). A frame
 * without a rule here (the first time a thread meets it; a signal frame, code without unwind
 * information, anything libunwind itself calls unusual) sends the whole stack to
 * unw_backtrace, after which the rules of the frames it walked are copied from its cache
 * (unwind_cache.h). That fallback then walks the same stack again from this cache and
 * compares: if the two ever differ, a libunwind this code does not know is at work, and every
 * later stack of the process goes to unw_backtrace alone.
 *
 * The cache holds rules for code addresses: when a library is unloaded, another may come to
 * the same addresses, so dlclose empties every thread's cache (frame_cache_forget_all; each
 * thread notices on its next walk). LEAKSHIM_FRAME_CACHE=0 turns it off. */
#ifndef LEAKSHIM_FRAME_CACHE_H
#define LEAKSHIM_FRAME_CACHE_H

#define FRAME_CACHE_SLOTS 256u
/* The room a buffer needs beyond the addresses asked for: this file's own two frames, when
 * unw_backtrace walks. */
#define FRAME_CACHE_EXTRA 2

/* Turns the cache off for the whole process (LEAKSHIM_FRAME_CACHE=0): every walk is
 * unw_backtrace's. */
void frame_cache_disable(void);

/* Empties every thread's cache, lazily: after a library was unloaded. */
void frame_cache_forget_all(void);

/* The return addresses of the caller's stack, at most `max`, as unw_backtrace(buffer, max)
 * would give them if called in this function's place: the first is the return address into
 * the function that called frame_cache_backtrace. `buffer` has room for max +
 * FRAME_CACHE_EXTRA addresses. Returns the number. */
int frame_cache_backtrace(void **buffer, int max);

#endif
