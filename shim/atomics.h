/* Named atomic helpers: the memory order is part of the name, never a parameter to look up.
 * Used by the ring and the shim's lifecycle flags. C11 <stdatomic.h> underneath. */
#ifndef LEAKSHIM_ATOMICS_H
#define LEAKSHIM_ATOMICS_H

#include <stdatomic.h>
#include <stdint.h>

static inline uint64_t atomic_load_relaxed_u64(const _Atomic uint64_t *p)
{
    return atomic_load_explicit(p, memory_order_relaxed);
}
static inline uint64_t atomic_load_acquire_u64(const _Atomic uint64_t *p)
{
    return atomic_load_explicit(p, memory_order_acquire);
}
static inline void atomic_store_relaxed_u64(_Atomic uint64_t *p, uint64_t v)
{
    atomic_store_explicit(p, v, memory_order_relaxed);
}
static inline void atomic_store_release_u64(_Atomic uint64_t *p, uint64_t v)
{
    atomic_store_explicit(p, v, memory_order_release);
}
static inline uint64_t atomic_fetch_add_relaxed_u64(_Atomic uint64_t *p, uint64_t v)
{
    return atomic_fetch_add_explicit(p, v, memory_order_relaxed);
}
/* Sets *p to `desired` if it holds *expected (1), else loads it into *expected (0). */
static inline int atomic_cas_weak_relaxed_u64(_Atomic uint64_t *p, uint64_t *expected,
                                              uint64_t desired)
{
    return atomic_compare_exchange_weak_explicit(p, expected, desired, memory_order_relaxed,
                                                 memory_order_relaxed);
}
static inline int atomic_load_acquire_int(const _Atomic int *p)
{
    return atomic_load_explicit(p, memory_order_acquire);
}
static inline int atomic_load_relaxed_int(const _Atomic int *p)
{
    return atomic_load_explicit(p, memory_order_relaxed);
}
static inline void atomic_store_release_int(_Atomic int *p, int v)
{
    atomic_store_explicit(p, v, memory_order_release);
}
static inline void atomic_store_relaxed_int(_Atomic int *p, int v)
{
    atomic_store_explicit(p, v, memory_order_relaxed);
}

#endif
