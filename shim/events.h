/* The records that the allocation hooks put into the ring and the writer takes out (shim
 * internal; the trace file's own records are in trace_format.h). Word layouts, after the
 * header word made by ring_header(type, nwords, aux):
 *
 *   EVENT_ALLOC    aux = depth   | address | requested size | stack hash | frames[depth]
 *   EVENT_REALLOC  aux = depth   | old address | new address | requested size | stack hash |
 *                                  frames[depth]
 *   EVENT_FREE                   | address
 *   EVENT_NOTHING                | (any words): a reservation whose call failed; skipped
 *   EVENT_EXEC, EVENT_EXEC_FAILED  (no payload): markers around an exec call
 *   EVENT_MARK     aux = name length | name bytes, packed little-endian into words (a call)
 *                  aux = MARK_AUX_SIGNAL  | n: the mark "signal-n"
 *
 * The stack hash is stack_hash() of the frames. With EVENT_AUX_STACK_SEEN in aux the record
 * carries no frames (depth 0): the thread sent this stack's frames before, in a record with the
 * same hash (seen_stacks.h). A REALLOC made without a stack (a free only, under sampling) has
 * hash 0 and no frames.
 *
 * With sampling (sampler.h), ALLOC, REALLOC and FREE carry flags above the depth in aux:
 * EVENT_AUX_PICKED, the block allocated is the sampler's pick (in its set of sampled blocks);
 * EVENT_AUX_TRACKED, the block freed (FREE, the old block of REALLOC) was one; EVENT_AUX_FULL,
 * the hook ran while every event is recorded (escalation). Under sampling a hook records only
 * what a flag makes worth it, and a REALLOC whose new block is not picked stands for the free
 * of the old one only. event_effect() says what a record stands for; the writer and the
 * analyzer's ring recovery both apply it.
 */
#ifndef LEAKSHIM_EVENTS_H
#define LEAKSHIM_EVENTS_H

#include <stdint.h>

enum event_type {
    EVENT_ALLOC = 1,
    EVENT_FREE = 2,
    EVENT_REALLOC = 3,
    EVENT_NOTHING = 4,
    EVENT_EXEC = 5,
    EVENT_EXEC_FAILED = 6,
    EVENT_MARK = 7,
};

#define EVENT_ALLOC_FIXED_WORDS 4   /* header, address, size, stack hash */
#define EVENT_REALLOC_FIXED_WORDS 5 /* header, old, new, size, stack hash */
#define EVENT_FREE_WORDS 2
#define MARK_AUX_SIGNAL 0x10000u /* above every name length */

#define EVENT_AUX_DEPTH_MASK 0xffffu
#define EVENT_AUX_PICKED 0x10000u
#define EVENT_AUX_TRACKED 0x20000u
#define EVENT_AUX_FULL 0x40000u
#define EVENT_AUX_STACK_SEEN 0x80000u

/* The fixed words of an ALLOC or REALLOC record: its frames follow them, its stack hash is the
 * last of them. */
static inline uint32_t event_fixed_words(unsigned type)
{
    return type == EVENT_REALLOC ? EVENT_REALLOC_FIXED_WORDS : EVENT_ALLOC_FIXED_WORDS;
}

/* What an ALLOC, REALLOC or FREE record (header `header`, payload words `rec`) stands for in a
 * trace whose current period is nonzero (`sampling`) or 0: the block freed (0: none) and the
 * block allocated (0: none) with its size, and whether that block is the sampler's pick. Under
 * sampling, a free of a block the sampler did not pick and an allocation it did not pick are
 * left out (records made just before the shim switched modes). */
struct event_effect {
    uint64_t freed, allocated, size;
    int picked;
};

static inline struct event_effect event_effect(unsigned type, uint32_t aux, const uint64_t *rec,
                                               int sampling)
{
    struct event_effect e = {0, 0, 0, (aux & EVENT_AUX_PICKED) != 0};
    int keep_free = !sampling || (aux & EVENT_AUX_TRACKED);
    int keep_alloc = !sampling || e.picked;
    if (type == EVENT_FREE) {
        e.freed = keep_free ? rec[1] : 0;
    } else if (type == EVENT_ALLOC) {
        e.allocated = keep_alloc ? rec[1] : 0;
        e.size = rec[2];
    } else if (type == EVENT_REALLOC) {
        e.freed = keep_free ? rec[1] : 0;
        e.allocated = keep_alloc ? rec[2] : 0; /* 0 when realloc(p, 0) freed p */
        e.size = rec[3];
    }
    return e;
}

#endif
