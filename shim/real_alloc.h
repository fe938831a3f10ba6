/* The allocator behind the shim: the next definition of each malloc-family function after
 * libleakshim.so in the lookup order (glibc's, or an allocator the program links or preloads
 * after us, such as jemalloc), found with dlsym(RTLD_NEXT) on first use.
 *
 * dlsym itself may allocate before anything is resolved: those few blocks come from a static
 * bootstrap arena, are never freed (free ignores them) and are never recorded. */
#ifndef LEAKSHIM_REAL_ALLOC_H
#define LEAKSHIM_REAL_ALLOC_H

#include <stdatomic.h>
#include <stddef.h>

struct real_allocator {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
};

/* Valid once real_alloc_ready() returned true. */
extern struct real_allocator real;

/* Warns on stderr when the program's malloc is not the shim's: a library ahead of it in
 * LD_PRELOAD (LD_PRELOAD=libjemalloc.so.2:libleakshim.so) or the executable defines malloc, so
 * that no allocation reaches the shim and the trace, though complete, holds none. Called once
 * per process image, when recording starts. */
void real_alloc_check_binding(void);

/* Resolves `real` (the slow path of real_alloc_ready). */
int real_alloc_resolve(void);
extern _Atomic int real_alloc_resolved;

/* Resolves `real` if needed. Returns 1 when it is usable, 0 while resolution is under way on
 * this thread (the caller is inside dlsym: use the bootstrap arena). Call with the
 * re-entrancy guard set. Inline: every hook asks, every time. */
static inline int real_alloc_ready(void)
{
    if (__builtin_expect(atomic_load_explicit(&real_alloc_resolved, memory_order_acquire), 1))
        return 1;
    return real_alloc_resolve();
}

/* The bootstrap arena: aligned bump allocation, NULL when exhausted. */
#define BOOTSTRAP_ARENA_BYTES (256 * 1024)
extern unsigned char bootstrap_arena[BOOTSTRAP_ARENA_BYTES];
void *bootstrap_alloc(size_t size, size_t alignment);

static inline int bootstrap_owns(const void *p)
{
    return (const unsigned char *)p >= bootstrap_arena &&
           (const unsigned char *)p < bootstrap_arena + BOOTSTRAP_ARENA_BYTES;
}
size_t bootstrap_size(const void *p);

#endif
