/* Stack walks from a per-thread cache of frame rules; see frame_cache.h. */
#include "frame_cache.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "capture.h"
#include "log.h"
#include "unwind_cache.h"

/* How to step out of the frame of the code at `address`, a return address - 1 (0: an empty
 * slot); libunwind's unw_tdep_frame_t for its common frame form. */
struct frame_rule {
    uint64_t address;
    int32_t cfa_offset;
    int16_t rbp_offset; /* -1: the caller's rbp is this frame's */
    uint8_t cfa_on_rsp; /* the CFA is rsp + cfa_offset, else rbp + cfa_offset */
    uint8_t last;       /* the outermost frame: the walk ends here */
};

#define PROBES 4 /* linear probing: a rule is within PROBES slots of its home */
#define LOWEST_CODE 0x4000 /* a return address below this ends the walk, as in libunwind */

static __thread struct frame_rule rules[FRAME_CACHE_SLOTS]
    __attribute__((tls_model("initial-exec")));
/* The value of `generation` this thread's rules belong to. */
static __thread unsigned rules_generation __attribute__((tls_model("initial-exec")));
static _Atomic unsigned generation;
static _Atomic int disabled;

void frame_cache_disable(void)
{
    atomic_store_explicit(&disabled, 1, memory_order_relaxed);
}

void frame_cache_forget_all(void)
{
    atomic_fetch_add_explicit(&generation, 1, memory_order_release);
}

static inline uint32_t home(uint64_t address)
{
    return (uint32_t)((address * 0x9E3779B97F4A7C15ull) >> 56) & (FRAME_CACHE_SLOTS - 1);
}

static inline const struct frame_rule *find(uint64_t address)
{
    uint32_t i = home(address);
    for (unsigned probe = 0; probe < PROBES; probe++, i = (i + 1) & (FRAME_CACHE_SLOTS - 1)) {
        if (rules[i].address == address)
            return &rules[i];
        if (!rules[i].address)
            return NULL;
    }
    return NULL;
}

/* Stores a rule: in its own slot or an empty one within reach, else over its home slot (slots
 * are never emptied one by one, so every other rule stays where a lookup finds it). */
static void put(uint64_t address, const struct unwind_rule *u)
{
    uint32_t i = home(address), slot = i;
    for (unsigned probe = 0; probe < PROBES; probe++, i = (i + 1) & (FRAME_CACHE_SLOTS - 1))
        if (rules[i].address == address || !rules[i].address) {
            slot = i;
            break;
        }
    rules[slot] = (struct frame_rule){address, u->cfa_offset, (int16_t)u->rbp_offset,
                                      (uint8_t)(u->cfa_on_rsp != 0), (uint8_t)(u->last != 0)};
}

/* libunwind's fast walk (Gtrace.c, tdep_trace) from the frame whose code is at return address
 * `rip`, with stack pointer `rsp` and frame pointer `rbp` there: `rip` first, then the return
 * address out of each frame, at most `max` of them, into `out`; or, when `expected` is not
 * NULL, compared with expected[0..max) and returns -2 at the first that differs. Returns
 * the number of addresses, or -1 at a frame without a rule. */
static int walk(uintptr_t rip, uintptr_t rsp, uintptr_t rbp, void **out, int max,
                void *const *expected)
{
    int depth = 0;
    while (depth < max) {
        if (expected ? expected[depth] != (void *)rip : (out[depth] = (void *)rip, 0))
            return -2;
        if (++depth == max)
            break;
        const struct frame_rule *r = find(rip - 1);
        if (!r)
            return -1;
        if (r->last)
            break;
        uintptr_t cfa = (r->cfa_on_rsp ? rsp : rbp) + (uintptr_t)(intptr_t)r->cfa_offset;
        rip = *(const uintptr_t *)(cfa - 8);
        if (r->rbp_offset != -1)
            rbp = *(const uintptr_t *)(cfa + (uintptr_t)(intptr_t)r->rbp_offset);
        rsp = cfa;
        if (rip < LOWEST_CODE)
            break;
    }
    return depth;
}

/* The walk by unw_backtrace, for the frame of frame_cache_backtrace's caller at (rip, rsp,
 * rbp); then the rules of its frames are taken into the cache, and the same walk from the
 * cache, when it has them all, must give the same addresses. */
static __attribute__((noinline)) int fallback(void **buffer, int max, uintptr_t rip,
                                              uintptr_t rsp, uintptr_t rbp)
{
    int n = unw_backtrace(buffer, max + FRAME_CACHE_EXTRA);
    /* buffer[0] returns into this function, buffer[1] into frame_cache_backtrace unless the
     * compiler made this a tail call: the walk of its caller starts at its return address,
     * `rip`. Not found (never seen): the walk as unw_backtrace gave it, after its first
     * address. */
    int first = 1;
    while (first < n && first <= FRAME_CACHE_EXTRA && (uintptr_t)buffer[first] != rip)
        first++;
    int found = first < n && first <= FRAME_CACHE_EXTRA;
    if (!found)
        first = n > 0 ? 1 : 0;
    int count = n - first < max ? n - first : max;
    memmove(buffer, buffer + first, (size_t)count * sizeof *buffer);
    if (!found || atomic_load_explicit(&disabled, memory_order_relaxed))
        return count;
    for (int i = 0; i < count; i++) {
        struct unwind_rule u;
        uint64_t address = (uint64_t)(uintptr_t)buffer[i] - 1;
        if (unwind_cache_rule(address, &u) && (u.standard || u.last))
            put(address, &u);
    }
    int m = walk(rip, rsp, rbp, NULL, count, buffer);
    if (m == -2 || (m >= 0 && m != count)) {
        frame_cache_disable();
        shim_warn("a stack walked from libunwind's frame rules differs from its own "
                  "walk; stacks are taken by unw_backtrace alone from now on");
    }
    return count;
}

__attribute__((noinline)) int frame_cache_backtrace(void **buffer, int max)
{
    /* The shim is built with frame pointers (the Makefile's SHIM_CFLAGS): this frame's saved
     * rbp, then its return address. */
    const uintptr_t *frame = __builtin_frame_address(0);
    uintptr_t rip = frame[1], rsp = (uintptr_t)(frame + 2), rbp = frame[0];
    if (!atomic_load_explicit(&disabled, memory_order_relaxed)) {
        unsigned g = atomic_load_explicit(&generation, memory_order_acquire);
        if (__builtin_expect(rules_generation != g, 0)) {
            memset(rules, 0, sizeof rules);
            rules_generation = g;
        }
        int n = walk(rip, rsp, rbp, buffer, max, NULL);
        if (__builtin_expect(n >= 0, 1))
            return n;
    }
    return fallback(buffer, max, rip, rsp, rbp);
}
