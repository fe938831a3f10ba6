/* The allocator behind the shim: the next definition of each malloc-family function after
 * libleakshim.so in the lookup order (glibc's, or an allocator the program links or preloads
 * after us, such as jemalloc), found with dlsym(RTLD_NEXT) on first use.
 *
 * dlsym itself may allocate before anything is resolved: those few blocks come from a static
 * bootstrap arena, are never freed (free ignores them) and are never recorded. */
#ifndef LEAKSHIM_REAL_ALLOC_H
#define LEAKSHIM_REAL_ALLOC_H

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

/* Resolves `real` if needed. Returns 1 when it is usable, 0 while resolution is under way on
 * this thread (the caller is inside dlsym: use the bootstrap arena). Call with the
 * re-entrancy guard set. */
int real_alloc_ready(void);

/* The bootstrap arena: aligned bump allocation, NULL when exhausted. */
void *bootstrap_alloc(size_t size, size_t alignment);
int bootstrap_owns(const void *p);
size_t bootstrap_size(const void *p);

#endif
