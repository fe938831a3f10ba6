/* Sampling mode (LEAKSHIM_SAMPLE): which allocations the hooks record, and which frees.
 *
 * The sampler. Each thread counts down the bytes it allocates; the countdown starts from a
 * draw of an exponential distribution with mean `sampler.period` (P), so the points where it
 * runs out form a Poisson process over the thread's allocated bytes, as in tcmalloc and
 * jemalloc. An allocation of s bytes that the countdown runs out in is picked (probability
 * 1 - exp(-s/P), whatever came before: the process has no memory), and the countdown restarts
 * from a new draw at the allocation's end. An allocation that is not picked costs a
 * thread-local subtraction and a comparison: no stack, no ring record.
 *
 * The set of sampled blocks. A free must know, cheaply, whether its block was picked. Picked
 * blocks are few (about one per P bytes of live heap, plus every block much larger than P), so
 * their addresses go into a fixed table of SAMPLED_SET_BUCKETS buckets of one cache line: 7
 * address slots and a count of the block addresses that spilled from it. A block's home
 * bucket follows its page (blocks of nearby pages share cache lines: a program's churn touches
 * few of them), offset by a hash of its 64 MiB region (so that thread arenas, which glibc aligns
 * to 64 MiB, do not all start in the same bucket); when the home bucket is full, the block goes
 * to a second bucket chosen by a hash of the whole address, and the home bucket's spill count
 * goes up. Beside the table, a compact array counts the blocks of each home bucket (wherever
 * they are): a free first reads that count, which for nearby pages sits in the same few cache
 * lines (a byte a page: a program's churn over 8 MiB of heap keeps 2 KiB of it hot), and
 * finding 0 (nearly always: sampled blocks are few) it is done. A count that reaches 255
 * stays there (it then only says "look in the table"), so a byte never wraps. Otherwise it reads the home
 * bucket's line and, only when its spill count is not zero, the second bucket's.
 *
 * Lock-free: slots are claimed by compare-and-swap from 0 and released by storing 0; no
 * tombstones, so lookups never get longer with time. No lock, no allocation, no waiting: when
 * both buckets of a block are full, the block is not followed (neither its allocation nor its
 * free is recorded) and sampler_lost counts it; the writer reports the count in the trace
 * (TRACE_LOST_SAMPLED_SET). The table holds 229,376 blocks; a lookup stays one line while most
 * buckets hold fewer than 7, i.e. up to about 100,000 sampled live blocks (50 GiB of small
 * blocks at P = 512 KiB). It is sized for samples that are sparse in memory, as they are
 * with periods of tens of KiB and more: with a period of a few bytes, every small block is
 * picked, a page of them overflows its home bucket into second buckets all over the table,
 * and with tens of thousands of them live, blocks are lost (and counted).
 *
 * Concurrency: an address is inserted by the thread that allocated it, after the real
 * allocator returned it, and removed by the thread that frees it, before the real free; the
 * program's own synchronization orders the two, so relaxed loads are enough for lookups.
 *
 * Escalation: while `sampler.everything` is set (the writer decided, escalation.h) the hooks
 * record every event; the sampler still runs and its picks still enter the set, so that their
 * frees stay recorded once sampling resumes. */
#ifndef LEAKSHIM_SAMPLER_H
#define LEAKSHIM_SAMPLER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "events.h"

#define SAMPLED_SET_BUCKETS (1u << 15)
#define SAMPLED_SET_SLOTS 7 /* per bucket; the 8th word counts the addresses spilled from it */
#define SAMPLED_HOMES_MANY 255

typedef _Atomic uint64_t sampled_bucket[SAMPLED_SET_SLOTS + 1];

/* What the hooks read on every call, alone on its cache line: a store to anything that shared
 * the line (the writer updates its books all the time) would take the line away from every
 * thread that allocates. Written only when sampling starts or switches mode. */
struct sampler_shared {
    /* Set while sampling leaves events out: period is not 0 and nothing is escalated
     * (everything clear). Only then may the hooks' fast paths below send a call straight to
     * the real allocator. One flag, so that those paths read one word: sampler_configure sets
     * it last and clears it first; the writer clears it before it escalates and sets it again
     * after it calms down; a forked child clears it until its own trace starts. */
    _Alignas(64) _Atomic int filtering;
    /* Set while every event is recorded (escalated). */
    _Atomic int everything;
    /* The mean sampling period in bytes; 0: sampling is off and every event is recorded. */
    uint64_t period;
    /* The set of sampled blocks (SAMPLED_SET_BUCKETS buckets) and, per home bucket, the blocks
     * in the set whose home it is (in it or spilled), up to SAMPLED_HOMES_MANY, which is
     * final. */
    sampled_bucket *set;
    _Atomic uint8_t *homes;
};
extern struct sampler_shared sampler;
/* Picked blocks the set could not hold, since the start. */
extern _Atomic uint64_t sampler_lost;

struct sampler_thread {
    uint64_t bytes_left; /* until the next point; 0: not started on this thread */
    uint64_t rng;
};
/* The current thread's countdowns: one for its own calls, one for the nested events of a
 * signal handler that interrupted the shim (record.h), which may find the first in the middle
 * of an update (a countdown spent and not yet drawn again would pick for nothing). */
extern __thread struct sampler_thread sampler_tls __attribute__((tls_model("initial-exec")));
extern __thread struct sampler_thread sampler_tls_nested __attribute__((tls_model("initial-exec")));

static inline struct sampler_thread *sampler_countdown(int nested)
{
    return nested ? &sampler_tls_nested : &sampler_tls;
}

/* Starts sampling with mean `period` bytes (0: off). `seed` 0 draws a seed from the clock and
 * the pid; another value makes the draws of each thread, in the order threads first allocate,
 * the same from run to run. Empties the set. Called once per trace, before any hook records
 * (a forked child calls it again). Returns 0, or -1 if the set cannot be mapped (sampling
 * then stays off). */
int sampler_configure(uint64_t period, uint64_t seed);

/* --- the sampler's draws (exposed for tests) --------------------------------------------- */

/* The next number of the generator (splitmix64) whose state is *state. */
uint64_t sampler_next_random(uint64_t *state);
/* The natural logarithm of a positive normal double, within a relative 2e-15 (the shim links no libm:
 * loading it costs a process about 300 KiB of resident memory). */
double sampler_log(double x);
/* The probability 1 - exp(-size/period) that a block of `size` bytes is picked (1 when period
 * is 0), within a relative 1e-12: trace_sampling_probability without libm, for the writer's
 * estimate of the live heap (escalation). */
double sampler_probability(uint64_t size, uint64_t period);
/* A countdown in bytes: the ceiling of an exponential draw with mean `period`, at least 1. */
uint64_t sampler_draw(uint64_t *state, uint64_t period);
/* The decision for an allocation of `size` bytes on thread state t, once it was not decided
 * by the fast path of sampler_pick. */
int sampler_pick_slow(struct sampler_thread *t, size_t size);

/* The common case of every decision: countdown t does not run out in an allocation of `size`
 * bytes, which is then not picked. Returns 1 and counts the bytes down, or 0 (nothing
 * changed) when the decision needs sampler_pick_slow. */
static inline int sampler_counts_down(struct sampler_thread *t, size_t size)
{
    if (__builtin_expect(size < t->bytes_left, 1)) {
        t->bytes_left -= size;
        return 1;
    }
    return 0;
}

/* 1 if the allocation of `size` bytes just made is picked, on countdown t. */
static inline int sampler_pick_on(struct sampler_thread *t, size_t size)
{
    return !sampler_counts_down(t, size) && sampler_pick_slow(t, size);
}

/* sampler_pick_on the current thread's own countdown. */
static inline int sampler_pick(size_t size)
{
    return sampler_pick_on(&sampler_tls, size);
}

/* --- the set of sampled blocks ------------------------------------------------------------ */

/* Counts a block out of its home bucket. */
void sampled_homes_leave(uint32_t home);

static inline uint32_t sampled_home(uint64_t address)
{
    uint64_t region = (address >> 26) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(((address >> 12) + (region >> 40)) & (SAMPLED_SET_BUCKETS - 1));
}

/* The second bucket of a block whose home bucket is full: never the home bucket. */
static inline uint32_t sampled_spill(uint64_t address, uint32_t home)
{
    uint64_t h = (address >> 4) * 0xC2B2AE3D27D4EB4Full;
    return (home + ((uint32_t)(h >> 40) | 1u)) & (SAMPLED_SET_BUCKETS - 1);
}

/* Adds a block. Returns 0, or -1 when both its buckets are full (counted in sampler_lost). */
int sampled_set_insert(uint64_t address);
/* The slow part of sampled_set_take: the block's second bucket. */
int sampled_set_take_spilled(uint64_t address, uint32_t home);

/* Empties the slot of `address` in bucket b. Returns 1, or 0 if it is not there. */
static inline int sampled_bucket_release(_Atomic uint64_t *b, uint64_t address)
{
    for (unsigned i = 0; i < SAMPLED_SET_SLOTS; i++)
        if (atomic_load_explicit(&b[i], memory_order_relaxed) == address) {
            atomic_store_explicit(&b[i], 0, memory_order_relaxed);
            return 1;
        }
    return 0;
}

/* Removes a block. Returns 1 if it was in the set, 0 if not. */
static inline int sampled_set_take(uint64_t address)
{
    uint32_t home = sampled_home(address);
    if (__builtin_expect(atomic_load_explicit(&sampler.homes[home], memory_order_relaxed) == 0, 1))
        return 0;
    _Atomic uint64_t *b = sampler.set[home];
    if (sampled_bucket_release(b, address)) {
        sampled_homes_leave(home);
        return 1;
    }
    if (atomic_load_explicit(&b[SAMPLED_SET_SLOTS], memory_order_relaxed) == 0)
        return 0;
    return sampled_set_take_spilled(address, home);
}

/* --- what the hooks ask ------------------------------------------------------------------- */

/* The fast paths, asked before anything else by a hook whose thread is not inside the shim
 * (re-entrancy guard clear): 1 when the call certainly records nothing, and the hook goes
 * straight to the real allocator. They take only the answers the full path would give (an
 * allocation the countdown does not run out in, a free of a block whose home bucket counts no
 * sampled block), so the full path decides everything else exactly as before. While the flag
 * is set, the real allocator is resolved (start() resolves it before the writer starts). */
static inline int sampler_skips_alloc(size_t size)
{
    return atomic_load_explicit(&sampler.filtering, memory_order_relaxed) &&
           sampler_counts_down(&sampler_tls, size);
}

static inline int sampler_skips_free(const void *p)
{
    return atomic_load_explicit(&sampler.filtering, memory_order_relaxed) &&
           atomic_load_explicit(&sampler.homes[sampled_home((uint64_t)(uintptr_t)p)],
                                memory_order_relaxed) == 0;
}

/* The flags (events.h) of an allocation of `size` bytes at `address` (a nested event's when
 * `nested`): EVENT_AUX_PICKED if the sampler picked it and the set took it, EVENT_AUX_FULL
 * while every event is recorded. 0: do not record it. Call only when sampler.period is not 0. */
static inline uint32_t sampler_admit(uint64_t address, size_t size, int nested)
{
    uint32_t flags = 0;
    if (__builtin_expect(sampler_pick_on(sampler_countdown(nested), size), 0) &&
        sampled_set_insert(address) == 0)
        flags = EVENT_AUX_PICKED;
    if (__builtin_expect(atomic_load_explicit(&sampler.everything, memory_order_relaxed), 0))
        flags |= EVENT_AUX_FULL;
    return flags;
}

/* The flags of the free of the block at `address`: EVENT_AUX_TRACKED if it was picked (it
 * leaves the set), EVENT_AUX_FULL while every event is recorded. 0: do not record it. Call
 * only when sampler.period is not 0. */
static inline uint32_t sampler_release(uint64_t address)
{
    uint32_t flags = sampled_set_take(address) ? EVENT_AUX_TRACKED : 0;
    if (__builtin_expect(atomic_load_explicit(&sampler.everything, memory_order_relaxed), 0))
        flags |= EVENT_AUX_FULL;
    return flags;
}

#endif
