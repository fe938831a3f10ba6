/* Recording allocation events into the writer's ring; see record.h. The stack is captured
 * before a reservation is taken, so that the consumer never waits on an unwinding producer.
 * Under sampling (sampler.h) each function first asks the sampler whether the event is worth a
 * record at all, and passes its flags on in the record's aux field (events.h). */
#include "record.h"

#include <errno.h>
#include <string.h>

#include "capture.h"
#include "events.h"
#include "sampler.h"
#include "trace_format.h"
#include "writer.h"

unsigned record_depth = 64;

/* Captures the caller's stack and reserves a record of `fixed_words` plus one word a frame,
 * with the frames already in place after the fixed words. Inlined, so that the unwinder starts
 * in the recording function (capture.h). */
static inline __attribute__((always_inline)) uint64_t
reserve_with_stack(uint32_t fixed_words, uint32_t *words, uint32_t *depth)
{
    void *frames[TRACE_MAX_STACK_DEPTH + CAPTURE_SKIP_MAX];
    unsigned first;
    *depth = capture_stack(frames, record_depth, &first);
    *words = fixed_words + *depth;
    uint64_t pos = ring_reserve(&writer_ring, *words);
    for (uint32_t i = 0; i < *depth; i++)
        ring_put(&writer_ring, pos, fixed_words + i, (uint64_t)(uintptr_t)frames[first + i]);
    return pos;
}

void record_alloc_event(void *address, size_t size, uint32_t flags)
{
    int saved_errno = errno;
    uint32_t words, depth;
    uint64_t pos = reserve_with_stack(EVENT_ALLOC_FIXED_WORDS, &words, &depth);
    ring_put(&writer_ring, pos, 1, (uint64_t)(uintptr_t)address);
    ring_put(&writer_ring, pos, 2, size);
    ring_commit(&writer_ring, pos, ring_header(EVENT_ALLOC, words, depth | flags));
    errno = saved_errno;
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

void record_free_event(void *address, uint32_t flags)
{
    int saved_errno = errno;
    uint64_t pos = ring_reserve(&writer_ring, EVENT_FREE_WORDS);
    ring_put(&writer_ring, pos, 1, (uint64_t)(uintptr_t)address);
    ring_commit(&writer_ring, pos, ring_header(EVENT_FREE, EVENT_FREE_WORDS, flags));
    errno = saved_errno;
}

/* Under sampling: the old block leaves the set now (the real realloc may release it), and
 * the sampler decides on the new size; the new block enters the set in record_realloc_end.
 * A record is needed when the old block was followed, the new one is picked, or everything
 * is recorded; its stack only when an allocation may be written. */
int record_realloc_begin(struct pending_realloc *r, void *old, size_t size)
{
    r->flags = 0;
    if (sampler.period) {
        r->flags = sampler_release((uint64_t)(uintptr_t)old);
        if (sampler_pick(size))
            r->flags |= EVENT_AUX_PICKED;
        if (!r->flags)
            return 0;
    }
    int saved_errno = errno;
    if (!sampler.period || (r->flags & (EVENT_AUX_PICKED | EVENT_AUX_FULL))) {
        r->pos = reserve_with_stack(EVENT_REALLOC_FIXED_WORDS, &r->words, &r->depth);
    } else {
        r->words = EVENT_REALLOC_FIXED_WORDS;
        r->depth = 0;
        r->pos = ring_reserve(&writer_ring, r->words);
    }
    errno = saved_errno;
    return 1;
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
    ring_commit(&writer_ring, r->pos, ring_header(type, r->words, r->depth | r->flags));
    errno = saved_errno;
}
