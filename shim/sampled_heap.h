/* The writer's estimate of the live heap under sampling, for the escalation rule: the picked
 * blocks still live (sampler.h), each weighed by the inverse of its probability of being
 * picked (s / (1 - exp(-s/P)) bytes for s bytes), summed. Picked blocks are few, so a small
 * open-addressing map from address to weight follows them. Used by the writer thread only. */
#ifndef LEAKSHIM_SAMPLED_HEAP_H
#define LEAKSHIM_SAMPLED_HEAP_H

#include <stdint.h>

/* Forgets every block and sets the period weights are computed with. The map's memory is
 * freed when `release` (not in a forked child: the parent's writer may have been mid-update). */
void sampled_heap_reset(uint64_t period, int release);
/* A picked block of `size` bytes at `address` is live. Out of memory: it is left out. */
void sampled_heap_add(uint64_t address, uint64_t size);
/* The block at `address` was freed (nothing if it is not followed). */
void sampled_heap_remove(uint64_t address);
/* The estimate, in bytes. */
double sampled_heap_bytes(void);

#endif
