/* For unit tests that write ALLOC and REALLOC ring records by hand, as shim/record.c writes
 * them: the stack's hash in the last fixed word and, unless this thread sent the stack before
 * (shim/seen_stacks.h), its frames after the fixed words. */
#ifndef LEAKSHIM_TEST_RING_STACKS_H
#define LEAKSHIM_TEST_RING_STACKS_H

#include "events.h"
#include "ring.h"
#include "seen_stacks.h"
#include "stack_hash.h"
#include "writer.h"

struct ring_stack {
    uint64_t hash;
    uint32_t words;     /* of the record: fixed words, and the frames when they go */
    uint32_t stack_aux; /* the depth, or EVENT_AUX_STACK_SEEN */
};

/* Decides what a record of `type` (ALLOC or REALLOC) with this stack carries. */
static inline struct ring_stack ring_stack_plan(unsigned type, const uint64_t *frames,
                                                uint32_t depth)
{
    struct ring_stack s = {stack_hash(frames, depth), event_fixed_words(type), depth};
    if (seen_stacks_has(&writer_ring, s.hash))
        s.stack_aux = EVENT_AUX_STACK_SEEN;
    else
        s.words += depth;
    return s;
}

/* Puts the hash and the frames (if they go) into the record reserved at pos. */
static inline void ring_stack_put(const struct ring_stack *s, unsigned type, uint64_t pos,
                                  const uint64_t *frames)
{
    uint32_t fixed = event_fixed_words(type);
    ring_put(&writer_ring, pos, fixed - 1, s->hash);
    for (uint32_t i = 0; i < s->words - fixed; i++)
        ring_put(&writer_ring, pos, fixed + i, frames[i]);
}

#endif
