/* The 64-bit hash that names a stack between the hooks and the writer (seen_stacks.h): the
 * hooks send a stack's frames once per thread and afterwards only this hash; the writer and the
 * analyzer's ring recovery find the stack again by it. A multiply-xor over the frames (the
 * depth as the seed) and a final mix; two of a program's stacks share a hash with a
 * probability of about n^2 / 2^65 for n distinct stacks, and the writer detects and counts the
 * case (trace_format.h, TRACE_LOST_STACK_HASH). Never 0, so that 0 may mean "no hash". */
#ifndef LEAKSHIM_STACK_HASH_H
#define LEAKSHIM_STACK_HASH_H

#include <stdint.h>

static inline uint64_t stack_hash_start(uint32_t depth)
{
    return depth;
}

static inline uint64_t stack_hash_step(uint64_t h, uint64_t frame)
{
    return (h ^ frame) * 0x9E3779B97F4A7C15ull;
}

static inline uint64_t stack_hash_finish(uint64_t h)
{
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 29;
    return h ? h : 1;
}

static inline uint64_t stack_hash(const uint64_t *frames, uint32_t depth)
{
    uint64_t h = stack_hash_start(depth);
    for (uint32_t i = 0; i < depth; i++)
        h = stack_hash_step(h, frames[i]);
    return stack_hash_finish(h);
}

#endif
