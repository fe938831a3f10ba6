/* The producer side of recording: what an allocation hook does once the real allocator has
 * answered. Every function here is called with the re-entrancy guard set and only while the
 * shim records (shim_recording() returned true); none changes errno.
 *
 * Ordering (see ring.h): a free is put into the ring before the real free runs; an allocation
 * after the real allocator returned; a realloc reserves its record before the real realloc
 * and fills it in afterwards, because the old block may be released inside the call.
 *
 * Nested events (`nested` 1): those of a hook entered while another hook of the same thread is
 * under way, i.e. of a signal handler that interrupted it (guard.h). The interrupted hook may
 * hold the reservation the writer waits for: a nested event is recorded only if the ring has
 * room at once, and otherwise counted in record_nested_lost, which the writer reports
 * (TRACE_LOST_RECURSION). It may be inside the unwinder (capture_busy): then the nested event's
 * stack is its hook's return address alone (record_nested_caller, which the hook sets). */
#ifndef LEAKSHIM_RECORD_H
#define LEAKSHIM_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "sampler.h"

/* Frames kept per stack (LEAKSHIM_DEPTH). */
extern unsigned record_depth;

/* Nested events that found no room in the ring, since the start. */
extern _Atomic uint64_t record_nested_lost;
/* The return address of the hook of a nested event, set by the hook before it records. */
extern __thread void *record_nested_caller __attribute__((tls_model("initial-exec")));

/* The events with the sampler's flags (events.h); record_alloc and record_free decide first,
 * inline, so that what sampling leaves out costs no call. */
void record_alloc_event(void *address, size_t size, uint32_t flags);
void record_free_event(void *address, uint32_t flags);
void record_nested_alloc_event(void *address, size_t size, uint32_t flags);
void record_nested_free_event(void *address, uint32_t flags);

static inline void record_alloc(void *address, size_t size, int nested)
{
    uint32_t flags = 0;
    if (sampler.period && !(flags = sampler_admit((uint64_t)(uintptr_t)address, size, nested)))
        return;
    if (__builtin_expect(nested, 0))
        record_nested_alloc_event(address, size, flags);
    else
        record_alloc_event(address, size, flags);
}

static inline void record_free(void *address, int nested)
{
    uint32_t flags = 0;
    if (sampler.period && !(flags = sampler_release((uint64_t)(uintptr_t)address)))
        return;
    if (__builtin_expect(nested, 0))
        record_nested_free_event(address, flags);
    else
        record_free_event(address, flags);
}

/* A marker without payload (EVENT_EXEC, EVENT_EXEC_FAILED). */
void record_marker(unsigned type);
/* A mark named by the `len` (at most TRACE_MAX_MARK_NAME) bytes at `name`. */
void record_mark(const char *name, size_t len);
/* The mark "signal-n" (async-signal-safe, as every function here). */
void record_signal_mark(unsigned n);

struct pending_realloc {
    uint64_t pos, hash;
    uint32_t words, stack_aux, flags;
};
/* Before the real realloc(old, size): captures the stack and reserves the record. Returns 1,
 * or 0 when sampling leaves nothing to record or a nested record finds no room (then
 * record_realloc_end must not be called). */
int record_realloc_begin(struct pending_realloc *r, void *old, size_t size, int nested);
/* Completes the record: `result` is what the real realloc returned for (old, size). */
void record_realloc_end(struct pending_realloc *r, void *old, void *result, size_t size);

#endif
