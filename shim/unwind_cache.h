/* libunwind's per-thread trace cache: kept from costing 256 KiB of resident memory in every
 * thread that allocates, and read for the frame rules it holds (frame_cache.h).
 *
 * unw_backtrace's fast path (libunwind 1.6, src/x86_64/Gtrace.c) keeps, per thread, a hash
 * table of frame descriptions: 2^14 slots of 16 bytes, mmap'ed and every slot written at
 * creation (an empty slot holds address 0 and non-zero defaults in its other fields), so the
 * whole 256 KiB is resident from the thread's first backtrace, although a thread touches only
 * the slots of the return addresses it meets. libunwind offers no way to size or place it.
 *
 * What makes it safe to hand those pages back: a lookup reads a slot's other fields only after
 * finding its address there, and a slot is filled whole, all fields written, when an address is
 * missed. A zero page is a page of empty slots; handing back a page of filled ones costs their
 * next lookups a miss each. So after a thread's first backtrace the table's pages are dropped
 * (MADV_DONTNEED: they read as zeros again) and the table's count of filled slots is set to 0
 * (libunwind grows the table fourfold when that count reaches half its size); from then on
 * only the pages holding the slots this thread fills come back.
 *
 * The table is reached through libunwind's thread-local block (16 bytes in 1.6: a flag, then
 * the cache, whose first fields are the table and log2 of its size). Nothing is handed back
 * unless that block has exactly this size and the table is recognised: at its initial size,
 * page-aligned, and holding every return address of the backtrace just taken in the slot the
 * cache's own hash and probing give it. Another libunwind fails those checks and keeps its
 * cache whole, as before. */
#ifndef LEAKSHIM_UNWIND_CACHE_H
#define LEAKSHIM_UNWIND_CACHE_H

#include <stdint.h>

#include "capture.h"

/* Set on a thread once its cache was handed back, or found not to be libunwind 1.6's. */
extern __thread int unwind_cache_done __attribute__((tls_model("initial-exec")));

/* Takes libunwind's thread-local block from `unwinder` when it has 1.6's size. Call once, from
 * the shim's initialization. */
void unwind_cache_init(const struct unwinder_module *unwinder);

/* After a backtrace of `n` addresses (unw_backtrace's `buffer`) on this thread: hands the
 * thread's table back if it is recognised. Leaves unwind_cache_done unset when the backtrace
 * was too short to recognise the table by, so that a later one tries again. */
void unwind_cache_trim(void *const *buffer, unsigned n);

/* How to step from a frame to its caller, as libunwind's fast path does (Gtrace.c). */
struct unwind_rule {
    int last;          /* the outermost frame: no caller */
    int standard;      /* CFA = (rsp or rbp) + cfa_offset, the return address at CFA - 8 */
    int cfa_on_rsp;    /* the CFA's base is rsp (else rbp) */
    int32_t cfa_offset;
    int32_t rbp_offset; /* the caller's rbp is saved at CFA + rbp_offset; -1: rbp unchanged */
};

/* The rule this thread's trace cache holds for the code at `address` (a return address - 1,
 * as libunwind looks frames up), once a backtrace went through it. 1, or 0 when the cache has
 * no slot for it or libunwind was not recognised. */
int unwind_cache_rule(uint64_t address, struct unwind_rule *out);

#endif
