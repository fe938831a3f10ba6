/* The interposed allocation functions: the only exported symbols of libleakshim.so (see
 * exports.map). Each one calls the real allocator and, unless the thread's re-entrancy guard is
 * set, records the call (record.h). libc's semantics are kept exactly: arguments are checked
 * by the real functions, failures record nothing and keep libc's errno, success never changes
 * errno, and realloc(p, 0) frees p as glibc does.
 *
 * The real allocator is reached without dlsym where glibc exports it (__libc_malloc and
 * friends); posix_memalign, aligned_alloc and reallocarray have no such alias and are
 * resolved in the constructor, with a faithful fallback for callers that come earlier. */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "guard.h"
#include "lifecycle.h"
#include "record.h"
#include "writer.h"

#define EXPORT __attribute__((visibility("default")))


extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_reallocarray)(void *, size_t, size_t);
static int (*real_dlclose)(void *);

__attribute__((constructor(101))) static void resolve_real_functions(void)
{
    shim_guard++;
    real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
    real_reallocarray = (void *(*)(void *, size_t, size_t))dlsym(RTLD_NEXT, "reallocarray");
    real_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
    shim_guard--;
}

/* --- the real functions, with fallbacks for calls before the constructor --------------- */

static int call_posix_memalign(void **out, size_t alignment, size_t size)
{
    if (real_posix_memalign)
        return real_posix_memalign(out, alignment, size);
    if (alignment % sizeof(void *) || (alignment & (alignment - 1)) || !alignment)
        return EINVAL;
    int saved_errno = errno;
    void *p = __libc_memalign(alignment, size);
    errno = saved_errno;
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

static void *call_aligned_alloc(size_t alignment, size_t size)
{
    return real_aligned_alloc ? real_aligned_alloc(alignment, size)
                              : __libc_memalign(alignment, size);
}

static void *call_reallocarray(void *p, size_t n, size_t size)
{
    if (real_reallocarray)
        return real_reallocarray(p, n, size);
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_realloc(p, bytes);
}

/* --- hooks ---------------------------------------------------------------------------- */

/* Records a block the real allocator returned (NULL: failed, nothing to record). */
static void *allocated(void *p, size_t size)
{
    if (p && shim_recording())
        record_alloc(p, size);
    shim_guard--;
    return p;
}

EXPORT void *malloc(size_t size)
{
    if (shim_guard)
        return __libc_malloc(size);
    shim_guard++;
    return allocated(__libc_malloc(size), size);
}

EXPORT void free(void *p)
{
    if (!p)
        return;
    if (shim_guard) {
        __libc_free(p);
        return;
    }
    shim_guard++;
    if (shim_recording())
        record_free(p);
    __libc_free(p);
    shim_guard--;
}

EXPORT void *calloc(size_t n, size_t size)
{
    if (shim_guard)
        return __libc_calloc(n, size);
    shim_guard++;
    void *p = __libc_calloc(n, size);
    return allocated(p, p ? n * size : 0);
}

/* realloc and reallocarray: `size` is the product, already checked for overflow by the
 * real function when it succeeded. */
static void *traced_realloc(void *old, size_t size, void *(*real)(void *, size_t, size_t),
                            size_t n, size_t elem)
{
    shim_guard++;
    if (!old)
        return allocated(real(NULL, n, elem), size);
    if (!shim_recording()) {
        void *p = real(old, n, elem);
        shim_guard--;
        return p;
    }
    struct pending_realloc pending;
    record_realloc_begin(&pending);
    void *p = real(old, n, elem);
    record_realloc_end(&pending, old, p, size);
    shim_guard--;
    return p;
}

static void *libc_realloc_1(void *old, size_t n, size_t unused)
{
    (void)unused;
    return __libc_realloc(old, n);
}

EXPORT void *realloc(void *old, size_t size)
{
    if (shim_guard)
        return __libc_realloc(old, size);
    return traced_realloc(old, size, libc_realloc_1, size, 1);
}

EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
    if (shim_guard)
        return call_reallocarray(old, n, size);
    size_t bytes = 0;
    if (__builtin_mul_overflow(n, size, &bytes))
        return call_reallocarray(old, n, size); /* fails with ENOMEM, nothing to record */
    return traced_realloc(old, bytes, call_reallocarray, n, size);
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (shim_guard)
        return call_posix_memalign(out, alignment, size);
    shim_guard++;
    int err = call_posix_memalign(out, alignment, size);
    allocated(err ? NULL : *out, size);
    return err;
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
    if (shim_guard)
        return call_aligned_alloc(alignment, size);
    shim_guard++;
    return allocated(call_aligned_alloc(alignment, size), size);
}

EXPORT void *memalign(size_t alignment, size_t size)
{
    if (shim_guard)
        return __libc_memalign(alignment, size);
    shim_guard++;
    return allocated(__libc_memalign(alignment, size), size);
}

EXPORT void *valloc(size_t size)
{
    if (shim_guard)
        return __libc_valloc(size);
    shim_guard++;
    return allocated(__libc_valloc(size), size);
}

EXPORT void *pvalloc(size_t size)
{
    if (shim_guard)
        return __libc_pvalloc(size);
    shim_guard++;
    return allocated(__libc_pvalloc(size), size);
}

/* A library's code must still be mapped when the writer first sees a stack through it, so
 * everything recorded before an unload is written out before the real dlclose. */
EXPORT int dlclose(void *handle)
{
    if (!shim_guard) {
        shim_guard++;
        writer_sync();
        shim_guard--;
    }
    if (!real_dlclose)
        real_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
    return real_dlclose(handle);
}
