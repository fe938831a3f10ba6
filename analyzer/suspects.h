/* Leak suspects: every stack that still has outstanding blocks allocated in the window at
 * its end (or, when asked, every stack that allocated at all, for the exports' allocated
 * totals), with the growth statistics of growth.h, ranked (by default by growth_score, so
 * that what keeps growing comes before what merely stays allocated), with its frames
 * symbolized. Leading frames of the allocator's own entry points
 * (C++ operator new and friends) are dropped, so a suspect's first frame is the code that
 * asked for memory. Used by every output format. */
#ifndef LEAKSHIM_SUSPECTS_H
#define LEAKSHIM_SUSPECTS_H

#include <stddef.h>
#include <stdint.h>

#include "growth.h"
#include "replay.h"
#include "symbolize.h"

#define SUSPECT_INLINE_MAX 8 /* inlined calls shown per recorded frame */

struct suspect_frame {
    uint64_t address; /* the return address as recorded */
    sym_frame sym;
};

struct suspect {
    uint32_t stack_id;
    uint64_t leaked_bytes, leaked_blocks;
    uint64_t allocated_bytes, allocated_blocks;
    double score; /* growth_score, 0..1 */
    struct growth_stats growth;
    double freed_share;    /* of the blocks it allocated in the window, the share freed */
    double oldest_age_s, youngest_age_s; /* of its leaked blocks, at the window's end */
    const struct series *series; /* its outstanding bytes (suspect_list.first..last) */
    uint32_t frame_count;
    struct suspect_frame *frames;
};

struct suspect_list {
    struct suspect *items;
    size_t count; /* kept (at most `top`) */
    size_t total; /* stacks selected: with outstanding blocks (or that allocated, include_freed) */
    uint32_t first_bucket, last_bucket; /* the window in the series' buckets */
    uint64_t bucket_width_ns;
    const struct series *heap; /* the whole heap's outstanding bytes */
};

enum suspect_order {
    ORDER_SCORE, /* growth-aware score (the default) */
    ORDER_BYTES, /* leaked bytes */
    ORDER_COUNT, /* leaked blocks */
    ORDER_GROWTH /* growth in bytes per second over the window */
};

/* Ranks in `order` (ties: leaked bytes, then blocks, then stack id), keeps the first `top`
 * (0: all) and symbolizes them. With include_freed, stacks whose blocks were all freed are
 * selected too (they rank last, with 0 leaked). Returns 0, or -1 on out of memory. */
int suspects_build(struct replay *r, size_t top, enum suspect_order order, int include_freed,
                   struct suspect_list *out);
void suspects_free(struct suspect_list *list);

/* Symbolizes the frames of stack `s` into out->frames and out->frame_count (the caller frees
 * out->frames), expanding inlined calls into frames of their own (they share the recorded
 * address) and dropping the allocator's entry frames at the top, as the suspect list does.
 * Returns 0, or -1 on out of memory. */
int suspect_symbolize(struct replay *r, const struct stack_info *s, struct suspect *out);

#endif
