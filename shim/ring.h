/* A lock-free multi-producer, single-consumer ring of variable-length records.
 *
 * Any thread of the traced program is a producer; the shim's writer thread is the only
 * consumer. The ring is an array of 64-bit words (a power of two); `head` and `tail` are
 * free-running word counters, masked only when indexing. A record is a header word followed by
 * payload words; the header is never zero (it holds the record's length), and a zero word at
 * `tail` means "not yet committed". Records may wrap around the end of the array.
 *
 *   producer                                     consumer
 *   --------                                     --------
 *   pos = fetch_add(head, n)       (relaxed)
 *   wait until pos + n - tail <= capacity
 *     (A) tail loaded with acquire               (C) h = words[tail] loaded with acquire;
 *   write payload words            (relaxed)         h == 0: nothing committed yet, retry later
 *   (B) words[pos] = header        (release)         copy the record, zero its words
 *                                                (D) tail += n                 (release)
 *
 * B pairs with C: a consumer that sees the header also sees the payload written before it.
 * D pairs with A: a producer that sees the new tail also sees the consumer's reads and zeroing
 * of those words finished, so it may overwrite them ("the tail update is the producer's licence
 * to overwrite").
 *
 * Order: reservations are a fetch_add on one counter, whose modification order is a total order
 * consistent with happens-before. So when a thread records a free before calling the real
 * free, and another thread records the allocation that reuses the address after the real malloc
 * returned it, the free's record precedes the allocation's in the ring.
 *
 * Full ring: producers wait (spin, then yield, then sleep briefly) and never drop a record;
 * only ring_try_reserve, which takes its place by compare-and-swap, gives up instead.
 * Empty ring: the consumer sleeps on a futex with a timeout; a producer that finds the ring a
 * quarter full while the consumer sleeps wakes it, and so does one that finds it full.
 *
 * A producer must not reserve while it holds a reservation it has not committed (a signal
 * handler would deadlock on a full ring): the shim's re-entrancy guard ensures that.
 */
#ifndef LEAKSHIM_RING_H
#define LEAKSHIM_RING_H

#include <stdatomic.h>
#include <stdint.h>

#include "atomics.h"

#define RING_MAX_RECORD_WORDS 1024u /* an event with a full stack needs 260 */

struct ring {
    /* written by producers */
    _Alignas(64) _Atomic uint64_t head;
    /* written by the consumer */
    _Alignas(64) _Atomic uint64_t tail;
    /* written by the consumer before it sleeps, read by producers after every commit */
    _Alignas(64) _Atomic int consumer_sleeping;
    /* read-only after ring_init */
    _Alignas(64) _Atomic uint64_t *words;
    uint64_t capacity; /* in words, a power of two */
    uint64_t mask;
    uint64_t generation; /* unique per ring_init, for the producers' views of the tail */
    int owns_words;      /* ring_init mapped them; ring_init_at's caller owns them */
};

static inline uint64_t ring_header(unsigned type, uint32_t nwords, uint32_t aux)
{
    return (uint64_t)type | (uint64_t)nwords << 8 | (uint64_t)aux << 32;
}
static inline unsigned ring_header_type(uint64_t h) { return (unsigned)(h & 0xff); }
static inline uint32_t ring_header_words(uint64_t h) { return (uint32_t)(h >> 8) & 0xffffff; }
static inline uint32_t ring_header_aux(uint64_t h) { return (uint32_t)(h >> 32); }

/* Maps zeroed memory for `capacity_words` (rounded up to a power of two, at least
 * 2 * RING_MAX_RECORD_WORDS). Returns 0, or -1 if the mapping failed (errno set). */
int ring_init(struct ring *r, uint64_t capacity_words);
/* Uses `words` (zeroed, `capacity_words` of them, a power of two of at least
 * 2 * RING_MAX_RECORD_WORDS), which the caller keeps owning: the shim puts the ring in a
 * file mapping so that a killed process leaves its unwritten records behind. */
void ring_init_at(struct ring *r, _Atomic uint64_t *words, uint64_t capacity_words);
/* The capacity ring_init uses for a request of `capacity_words`. */
uint64_t ring_capacity_for(uint64_t capacity_words);
/* Unmaps the memory if ring_init mapped it. No producer or consumer may use the ring any
 * more. */
void ring_destroy(struct ring *r);

/* --- producers: any thread, concurrently ---------------------------------------------- */

/* Reserves `nwords` (1..RING_MAX_RECORD_WORDS) and returns the position of the record's
 * header. Waits while the ring is full. */
uint64_t ring_reserve(struct ring *r, uint32_t nwords);

/* Reserves `nwords` only if the ring has room for them now: returns 1 with the position in
 * *pos, or 0, reserving nothing. Never waits: for a signal handler that interrupted a producer,
 * which may hold the very record the consumer waits for. */
int ring_try_reserve(struct ring *r, uint32_t nwords, uint64_t *pos);

/* Writes payload word `index` (1..nwords-1) of the record reserved at `pos`. */
static inline void ring_put(struct ring *r, uint64_t pos, uint32_t index, uint64_t value)
{
    atomic_store_relaxed_u64(&r->words[(pos + index) & r->mask], value);
}

/* Publishes the record reserved at `pos` (B): its header, with the length it was reserved with. */
void ring_commit(struct ring *r, uint64_t pos, uint64_t header);

/* --- the consumer: one thread --------------------------------------------------------- */

/* Copies the record at the tail into `out` (room for RING_MAX_RECORD_WORDS words) and returns
 * its length in words, 0 if no committed record is at the tail. The record stays in the ring
 * until ring_release. */
uint32_t ring_peek(struct ring *r, uint64_t *out);
/* Frees the `nwords` of the record ring_peek returned: zeroes them and advances the tail (D). */
void ring_release(struct ring *r, uint32_t nwords);
/* ring_peek, then ring_release. */
uint32_t ring_pop(struct ring *r, uint64_t *out);

/* Wakes the consumer if it sleeps in ring_wait_for_data. Any thread. */
void ring_wake_consumer(struct ring *r);

/* Sleeps until a producer wakes the consumer or `timeout_ns` passes, unless the ring already
 * holds a committed record. */
void ring_wait_for_data(struct ring *r, long timeout_ns);

#endif
