/* C++'s operator new and delete, every variant (plain, nothrow, aligned, sized), exported by
 * libleakshim.so. libstdc++'s reach the allocator through malloc, which the shim sees; but an
 * allocator preloaded after the shim (jemalloc, tcmalloc) exports operator new and delete of
 * its own that never call malloc or free, and those would take the program's C++ allocations
 * out of the trace while their deletes, partly through free, showed up as frees of unknown
 * blocks. So the shim's own operators come first: they allocate with malloc and posix_memalign
 * and free with free (the shim's, recording, over whatever allocator follows), as libstdc++'s
 * do; a program that defines operators of its own still has its own (the executable comes
 * before any preloaded library).
 *
 * Only when the allocation fails do they hand over to the next library's operator (RTLD_NEXT),
 * which calls the new-handler, throws std::bad_alloc or returns NULL as C++ says; that is the
 * rare path, so its block is recorded only when that operator itself goes through malloc. The
 * array forms are the scalar ones, as in libstdc++. The shim's frames lead the stack, so its
 * capture drops them (capture.h): the stack starts at the code that called new. */
#include <dlfcn.h>
#include <stdlib.h>

#define EXPORT __attribute__((visibility("default")))
#define ALIAS(name) __attribute__((alias(#name), visibility("default")))

/* The operator this one stands in front of; NULL only without any C++ runtime behind us, where
 * no program could have called this. */
static void *next_operator(const char *symbol)
{
    void *f = dlsym(RTLD_NEXT, symbol);
    if (!f)
        abort();
    return f;
}

static void *aligned(size_t size, size_t alignment)
{
    void *p = NULL;
    if (alignment < sizeof(void *))
        alignment = sizeof(void *);
    return posix_memalign(&p, alignment, size) == 0 ? p : NULL;
}

EXPORT void *_Znwm(size_t size)
{
    void *p = malloc(size);
    if (p)
        return p;
    return ((void *(*)(size_t))next_operator("_Znwm"))(size);
}

EXPORT void *_ZnwmRKSt9nothrow_t(size_t size, const void *nothrow)
{
    void *p = malloc(size);
    if (p)
        return p;
    return ((void *(*)(size_t, const void *))next_operator("_ZnwmRKSt9nothrow_t"))(size, nothrow);
}

EXPORT void *_ZnwmSt11align_val_t(size_t size, size_t alignment)
{
    void *p = aligned(size, alignment);
    if (p)
        return p;
    return ((void *(*)(size_t, size_t))next_operator("_ZnwmSt11align_val_t"))(size, alignment);
}

EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t size, size_t alignment, const void *nothrow)
{
    void *p = aligned(size, alignment);
    if (p)
        return p;
    return ((void *(*)(size_t, size_t, const void *))next_operator(
        "_ZnwmSt11align_val_tRKSt9nothrow_t"))(size, alignment, nothrow);
}

void *_Znam(size_t size) ALIAS(_Znwm);
void *_ZnamRKSt9nothrow_t(size_t size, const void *nothrow) ALIAS(_ZnwmRKSt9nothrow_t);
void *_ZnamSt11align_val_t(size_t size, size_t alignment) ALIAS(_ZnwmSt11align_val_t);
void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t size, size_t alignment, const void *nothrow)
    ALIAS(_ZnwmSt11align_val_tRKSt9nothrow_t);

/* Every delete is free: the size and alignment some of them are given change nothing for it,
 * and a function that takes fewer arguments than its caller passes is called correctly in the
 * C calling conventions of Linux (the extra ones are in registers or the caller's frame), so
 * all share one definition with delete's first argument only. */
EXPORT void _ZdlPv(void *p) { free(p); }

void _ZdaPv(void *p) ALIAS(_ZdlPv);
void _ZdlPvm(void *p) ALIAS(_ZdlPv);
void _ZdaPvm(void *p) ALIAS(_ZdlPv);
void _ZdlPvRKSt9nothrow_t(void *p) ALIAS(_ZdlPv);
void _ZdaPvRKSt9nothrow_t(void *p) ALIAS(_ZdlPv);
void _ZdlPvSt11align_val_t(void *p) ALIAS(_ZdlPv);
void _ZdaPvSt11align_val_t(void *p) ALIAS(_ZdlPv);
void _ZdlPvmSt11align_val_t(void *p) ALIAS(_ZdlPv);
void _ZdaPvmSt11align_val_t(void *p) ALIAS(_ZdlPv);
void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p) ALIAS(_ZdlPv);
void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p) ALIAS(_ZdlPv);
