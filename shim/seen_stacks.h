/* Which stacks this thread has already sent to the writer in full. A hook that captured a
 * stack looks its hash (stack_hash.h) up here: when the thread has sent the stack before, the
 * ring record carries the hash alone and the writer finds the frames in its own table; otherwise
 * it carries the frames too, and the hash is noted here once the record is sure to reach the
 * writer with them. About 20 words less per allocation for the ring, and no hashing or
 * comparing of frames in the writer.
 *
 * A direct-mapped table of SEEN_STACKS_SLOTS hashes in initial-exec TLS: no allocation, nothing
 * to hand back when a thread ends, no sharing between threads (each thread sends each stack
 * once, then its hash). An entry is the hash xor a salt made from the ring's generation, so a
 * forked child's new writer, whose ring has a new generation, matches none of the entries its
 * thread inherited: its first record of every stack carries the frames again. A collision of
 * two stacks in one slot only costs a full record. */
#ifndef LEAKSHIM_SEEN_STACKS_H
#define LEAKSHIM_SEEN_STACKS_H

#include <stdint.h>

#include "ring.h"

#define SEEN_STACKS_SLOTS 1024u

extern __thread uint64_t seen_stacks[SEEN_STACKS_SLOTS] __attribute__((tls_model("initial-exec")));

static inline uint64_t seen_stacks_entry(const struct ring *r, uint64_t hash)
{
    return hash ^ (r->generation * 0xD1B54A32D192ED03ull);
}

/* 1 if this thread sent the stack of `hash` in full to the writer of ring r. */
static inline int seen_stacks_has(const struct ring *r, uint64_t hash)
{
    return seen_stacks[hash & (SEEN_STACKS_SLOTS - 1)] == seen_stacks_entry(r, hash);
}

/* Notes that a record carrying the frames of `hash` will reach the writer of ring r. */
static inline void seen_stacks_note(const struct ring *r, uint64_t hash)
{
    seen_stacks[hash & (SEEN_STACKS_SLOTS - 1)] = seen_stacks_entry(r, hash);
}

#endif
