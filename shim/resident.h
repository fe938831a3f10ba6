/* The process's resident set size, for the heap time line's samples. */
#ifndef LEAKSHIM_RESIDENT_H
#define LEAKSHIM_RESIDENT_H

#include <stdint.h>

/* Resident bytes from /proc/self/statm, or 0 if it cannot be read. The file is opened and
 * closed on each call: the shim keeps no descriptor that the program could close or reuse.
 * Writer thread only (it holds the re-entrancy guard). */
uint64_t resident_bytes(void);

#endif
