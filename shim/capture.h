/* Call-stack capture for the allocation hooks: libunwind's fast backtrace, with the shim's own
 * frames cut off so that frame 0 is the code that called the allocation function. */
#ifndef LEAKSHIM_CAPTURE_H
#define LEAKSHIM_CAPTURE_H

#include <stdint.h>

/* Prepares libunwind (per-thread caches). Call once, from the shim's initialization. */
void capture_init(void);

/* Stores up to `max_depth` return addresses of the current thread's callers, outermost last,
 * starting with the caller of the interposed function. Returns the number stored. */
unsigned capture_stack(uint64_t *frames, unsigned max_depth);

#endif
