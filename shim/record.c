/* Recording allocation events into the writer's ring; see record.h. The stack is captured
 * before a reservation is taken, so that the consumer never waits on an unwinding producer;
 * a stack the thread sent before goes by its hash alone (seen_stacks.h).
 * Under sampling (sampler.h) each function first asks the sampler whether the event is worth a
 * record at all, and passes its flags on in the record's aux field (events.h). */
#include "record.h"

#include <errno.h>
#include <string.h>

#include "capture.h"
#include "events.h"
#include "sampler.h"
#include "seen_stacks.h"
#include "stack_hash.h"
#include "trace_format.h"
#include "unwind_cache.h"
#include "writer.h"

unsigned record_depth = 64;

_Atomic uint64_t record_nested_lost;
__thread void *record_nested_caller __attribute__((tls_model("initial-exec")));

/* Reserves `words` in the ring at *pos: waiting for room, or for a nested event only if there
 * is room now (else counted as lost). Returns 1, or 0 when nothing was reserved. */
static inline __attribute__((always_inline)) int reserve(uint32_t words, int nested, uint64_t *pos)
{
    if (!nested) {
        *pos = ring_reserve(&writer_ring, words);
        return 1;
    }
    if (ring_try_reserve(&writer_ring, words, pos))
        return 1;
    atomic_fetch_add_explicit(&record_nested_lost, 1, memory_order_relaxed);
    return 0;
}

/* Captures the caller's stack (for a nested event that interrupted the unwinder, the hook's
 * return address alone) and reserves a record of `fixed_words`
 * (the last of them the stack hash, put in place) and, unless this thread sent the stack
 * before (seen_stacks.h), one word a frame after them, with the frames in place. Sets *words
 * to the record's length, *stack_aux to its depth or EVENT_AUX_STACK_SEEN, and *hash to the
 * stack's hash. Returns 1, or 0 when nothing was reserved. Inlined, so that the unwinder
 * starts in the recording function (capture.h). */
static inline __attribute__((always_inline)) int
reserve_with_stack(uint32_t fixed_words, int nested, uint64_t *pos, uint32_t *words,
                   uint32_t *stack_aux, uint64_t *hash)
{
    void *frames[TRACE_MAX_STACK_DEPTH + CAPTURE_SKIP_MAX + FRAME_CACHE_EXTRA];
    unsigned first = 0;
    uint32_t depth;
    if (nested && capture_busy) {
        frames[0] = record_nested_caller;
        depth = 1;
    } else {
        depth = capture_stack(frames, record_depth, &first);
    }
    uint64_t h = stack_hash_start(depth);
    for (uint32_t i = 0; i < depth; i++)
        h = stack_hash_step(h, (uint64_t)(uintptr_t)frames[first + i]);
    *hash = h = stack_hash_finish(h);
    if (seen_stacks_has(&writer_ring, h)) {
        *words = fixed_words;
        *stack_aux = EVENT_AUX_STACK_SEEN;
    } else {
        *words = fixed_words + depth;
        *stack_aux = depth;
        if (__builtin_expect(!unwind_cache_done, 0))
            unwind_cache_trim(frames, first + depth);
    }
    if (!reserve(*words, nested, pos))
        return 0;
    ring_put(&writer_ring, *pos, fixed_words - 1, h);
    for (uint32_t i = 0; i < *words - fixed_words; i++)
        ring_put(&writer_ring, *pos, fixed_words + i, (uint64_t)(uintptr_t)frames[first + i]);
    return 1;
}

static inline __attribute__((always_inline)) void alloc_event(void *address, size_t size,
                                                              uint32_t flags, int nested)
{
    int saved_errno = errno;
    uint32_t words, stack_aux;
    uint64_t pos, hash;
    if (reserve_with_stack(EVENT_ALLOC_FIXED_WORDS, nested, &pos, &words, &stack_aux, &hash)) {
        ring_put(&writer_ring, pos, 1, (uint64_t)(uintptr_t)address);
        ring_put(&writer_ring, pos, 2, size);
        ring_commit(&writer_ring, pos, ring_header(EVENT_ALLOC, words, stack_aux | flags));
        seen_stacks_note(&writer_ring, hash);
    }
    errno = saved_errno;
}

void record_alloc_event(void *address, size_t size, uint32_t flags)
{
    alloc_event(address, size, flags, 0);
}

void record_nested_alloc_event(void *address, size_t size, uint32_t flags)
{
    alloc_event(address, size, flags, 1);
}

void record_marker(unsigned type)
{
    int saved_errno = errno;
    uint64_t pos = ring_reserve(&writer_ring, 1);
    ring_commit(&writer_ring, pos, ring_header(type, 1, 0));
    errno = saved_errno;
}

void record_mark(const char *name, size_t len)
{
    int saved_errno = errno;
    uint32_t words = 1 + (uint32_t)((len + 7) / 8);
    uint64_t pos = ring_reserve(&writer_ring, words);
    for (uint32_t i = 1; i < words; i++) {
        uint64_t word = 0;
        size_t offset = (i - 1) * 8, n = len - offset < 8 ? len - offset : 8;
        memcpy(&word, name + offset, n); /* little-endian: byte k of the name is byte k */
        ring_put(&writer_ring, pos, i, word);
    }
    ring_commit(&writer_ring, pos, ring_header(EVENT_MARK, words, (uint32_t)len));
    errno = saved_errno;
}

void record_signal_mark(unsigned n)
{
    int saved_errno = errno;
    uint64_t pos = ring_reserve(&writer_ring, 2);
    ring_put(&writer_ring, pos, 1, n);
    ring_commit(&writer_ring, pos, ring_header(EVENT_MARK, 2, MARK_AUX_SIGNAL));
    errno = saved_errno;
}

static inline __attribute__((always_inline)) void free_event(void *address, uint32_t flags,
                                                             int nested)
{
    int saved_errno = errno;
    uint64_t pos;
    if (reserve(EVENT_FREE_WORDS, nested, &pos)) {
        ring_put(&writer_ring, pos, 1, (uint64_t)(uintptr_t)address);
        ring_commit(&writer_ring, pos, ring_header(EVENT_FREE, EVENT_FREE_WORDS, flags));
    }
    errno = saved_errno;
}

void record_free_event(void *address, uint32_t flags)
{
    free_event(address, flags, 0);
}

void record_nested_free_event(void *address, uint32_t flags)
{
    free_event(address, flags, 1);
}

/* Under sampling: the old block leaves the set now (the real realloc may release it), and
 * the sampler decides on the new size; the new block enters the set in record_realloc_end.
 * A record is needed when the old block was followed, the new one is picked, or everything
 * is recorded; its stack only when an allocation may be written. */
int record_realloc_begin(struct pending_realloc *r, void *old, size_t size, int nested)
{
    r->flags = 0;
    if (sampler.period) {
        r->flags = sampler_release((uint64_t)(uintptr_t)old);
        if (sampler_pick_on(sampler_countdown(nested), size))
            r->flags |= EVENT_AUX_PICKED;
        if (!r->flags)
            return 0;
    }
    int saved_errno = errno, reserved;
    if (!sampler.period || (r->flags & (EVENT_AUX_PICKED | EVENT_AUX_FULL))) {
        reserved = reserve_with_stack(EVENT_REALLOC_FIXED_WORDS, nested, &r->pos, &r->words,
                                      &r->stack_aux, &r->hash);
    } else {
        r->words = EVENT_REALLOC_FIXED_WORDS;
        r->stack_aux = 0;
        r->hash = 0;
        reserved = reserve(r->words, nested, &r->pos);
        if (reserved)
            ring_put(&writer_ring, r->pos, EVENT_REALLOC_FIXED_WORDS - 1, 0);
    }
    errno = saved_errno;
    return reserved;
}

void record_realloc_end(struct pending_realloc *r, void *old, void *result, size_t size)
{
    /* realloc(old, 0) freed the block (glibc); a NULL result otherwise means the call failed
     * and old is untouched: it stays followed if it was. */
    int saved_errno = errno;
    int failed = !result && size != 0;
    unsigned type = failed ? EVENT_NOTHING : EVENT_REALLOC;
    if (failed && (r->flags & EVENT_AUX_TRACKED))
        sampled_set_insert((uint64_t)(uintptr_t)old);
    if ((r->flags & EVENT_AUX_PICKED) && (!result || sampled_set_insert((uint64_t)(uintptr_t)result) < 0))
        r->flags &= ~EVENT_AUX_PICKED; /* nothing new to follow, or the set is full */
    ring_put(&writer_ring, r->pos, 1, (uint64_t)(uintptr_t)old);
    ring_put(&writer_ring, r->pos, 2, (uint64_t)(uintptr_t)result);
    ring_put(&writer_ring, r->pos, 3, size);
    ring_commit(&writer_ring, r->pos, ring_header(type, r->words, r->stack_aux | r->flags));
    if (type == EVENT_REALLOC && r->hash) /* the writer skips a NOTHING record, frames and all */
        seen_stacks_note(&writer_ring, r->hash);
    errno = saved_errno;
}
