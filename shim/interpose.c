/* The interposed allocation functions, exported by libleakshim.so (see exports.map). Each one
 * calls the real allocator (real_alloc.h) and records the call (record.h): unless the
 * thread's re-entrancy guard is set, the ordinary way; under a hook's guard (a signal handler
 * that interrupted a hook, guard.h) as a nested event; under the shim's own, not at all. The real functions check the arguments, so libc's semantics
 * are kept exactly: failures record nothing and keep the real allocator's errno, success never
 * changes errno, and realloc(p, 0) frees p as glibc does. Until the real allocator is
 * resolved (real_alloc_ready() false: dlsym is running), the bootstrap arena serves.
 *
 * Under sampling, malloc, calloc and free first ask the sampler's fast paths (sampler.h)
 * whether the call certainly records nothing, as it is for nearly every call; if so they go
 * straight to the real allocator, a tail call, before any other check. */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "frame_cache.h"
#include "guard.h"
#include "lifecycle.h"
#include "real_alloc.h"
#include "record.h"
#include "writer.h"

#define EXPORT __attribute__((visibility("default")))

/* Records a block the real allocator returned (NULL: failed, nothing to record) and leaves
 * the hook. */
static inline __attribute__((always_inline)) void *allocated(void *p, size_t size)
{
    if (p && shim_recording())
        record_alloc(p, size, 0);
    shim_guard--;
    return p;
}

/* For a hook entered while this thread is already inside the shim (guard.h): 1 when its event
 * is a signal handler's that interrupted a hook, to be recorded as a nested event (record.h);
 * 0 for the shim's own allocations. */
static inline int records_nested(void)
{
    return !shim_guard_internal() && shim_is_recording();
}

/* allocated() for a hook entered under another hook's guard; `caller` is the hook's return
 * address. */
static inline __attribute__((always_inline)) void *nested_allocated(void *p, size_t size,
                                                                    void *caller)
{
    if (p && records_nested()) {
        record_nested_caller = caller;
        record_alloc(p, size, 1);
    }
    return p;
}

/* malloc, calloc and free are split: the exported function is the sampler's fast path alone,
 * a few instructions with no frame of its own, and tail-calls the rest (and its register
 * saves), passing its return address on for nested events. An allocation under the guard may
 * take the fast path too: it records nothing either way. */
static __attribute__((noinline)) void *malloc_recorded(size_t size, void *caller)
{
    if (!real_alloc_ready())
        return bootstrap_alloc(size, 16);
    if (shim_guard)
        return nested_allocated(real.malloc(size), size, caller);
    shim_guard++;
    return allocated(real.malloc(size), size);
}

EXPORT void *malloc(size_t size)
{
    if (sampler_skips_alloc(size))
        return real.malloc(size);
    return malloc_recorded(size, __builtin_return_address(0));
}

static __attribute__((noinline)) void free_recorded(void *p)
{
    if (!p || bootstrap_owns(p) || !real_alloc_ready()) /* a block freed inside dlsym is kept */
        return;
    if (shim_guard) {
        if (records_nested())
            record_free(p, 1);
        real.free(p);
        return;
    }
    shim_guard++;
    if (shim_recording())
        record_free(p, 0);
    real.free(p);
    shim_guard--;
}

EXPORT void free(void *p)
{
    if (sampler_skips_free(p) && !bootstrap_owns(p)) {
        real.free(p);
        return;
    }
    free_recorded(p);
}

static __attribute__((noinline)) void *calloc_recorded(size_t n, size_t size, void *caller)
{
    size_t bytes;
    int overflow = __builtin_mul_overflow(n, size, &bytes);
    if (!real_alloc_ready())
        return overflow ? NULL : bootstrap_alloc(bytes, 16);
    if (shim_guard)
        return nested_allocated(real.calloc(n, size), bytes, caller);
    shim_guard++;
    void *p = real.calloc(n, size);
    return allocated(p, p ? n * size : 0);
}

EXPORT void *calloc(size_t n, size_t size)
{
    size_t bytes;
    if (!__builtin_mul_overflow(n, size, &bytes) && sampler_skips_alloc(bytes))
        return real.calloc(n, size);
    return calloc_recorded(n, size, __builtin_return_address(0));
}

/* A block of the bootstrap arena moves to the real allocator on its first realloc. */
static void *realloc_from_arena(void *old, size_t size)
{
    void *p = malloc(size);
    if (p) {
        size_t old_size = bootstrap_size(old);
        memcpy(p, old, old_size < size ? old_size : size);
    }
    return p;
}

static inline void *real_realloc(void *old, size_t size, size_t n, size_t elem, int array)
{
    return array ? real.reallocarray(old, n, elem) : real.realloc(old, size);
}

/* realloc and reallocarray, recorded (the guard set, the shim recording). The record is
 * reserved before the real call (record.h explains why). */
static void *recorded_realloc(void *old, size_t size, size_t n, size_t elem, int array,
                              int nested)
{
    void *p;
    if (!old) {
        p = array ? real.reallocarray(NULL, n, elem) : real.malloc(size);
        if (p)
            record_alloc(p, size, nested);
        return p;
    }
    struct pending_realloc pending;
    int recording = record_realloc_begin(&pending, old, size, nested);
    p = real_realloc(old, size, n, elem, array);
    if (recording)
        record_realloc_end(&pending, old, p, size);
    return p;
}

/* realloc and reallocarray once the arguments are known not to overflow: `size` is the
 * product. Inlined into the hook, as nested_allocated. */
static inline __attribute__((always_inline)) void *traced_realloc(void *old, size_t size, size_t n,
                                                                  size_t elem, int array)
{
    if (shim_guard) {
        if (!records_nested())
            return real_realloc(old, size, n, elem, array);
        record_nested_caller = __builtin_return_address(0);
        return recorded_realloc(old, size, n, elem, array, 1);
    }
    shim_guard++;
    void *p = shim_recording() ? recorded_realloc(old, size, n, elem, array, 0)
                               : real_realloc(old, size, n, elem, array);
    shim_guard--;
    return p;
}

EXPORT void *realloc(void *old, size_t size)
{
    if (!real_alloc_ready())
        return old ? realloc_from_arena(old, size) : bootstrap_alloc(size, 16);
    if (old && bootstrap_owns(old))
        return realloc_from_arena(old, size);
    return traced_realloc(old, size, size, 1, 0);
}

EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
    size_t bytes = 0;
    int overflow = __builtin_mul_overflow(n, size, &bytes);
    if (!real_alloc_ready() || (old && bootstrap_owns(old))) {
        if (overflow) {
            errno = ENOMEM;
            return NULL;
        }
        return realloc(old, bytes);
    }
    if (overflow) /* fails with ENOMEM: nothing to record */
        return real.reallocarray(old, n, size);
    return traced_realloc(old, bytes, n, size, 1);
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (!real_alloc_ready()) {
        *out = bootstrap_alloc(size, alignment);
        return *out ? 0 : ENOMEM;
    }
    if (shim_guard) {
        int err = real.posix_memalign(out, alignment, size);
        nested_allocated(err ? NULL : *out, size, __builtin_return_address(0));
        return err;
    }
    shim_guard++;
    int err = real.posix_memalign(out, alignment, size);
    allocated(err ? NULL : *out, size);
    return err;
}

/* aligned_alloc, memalign, valloc and pvalloc: one shape, one definition each. */
#define ALIGNED_HOOK(name, params, args, bootstrap, size)                                     \
    EXPORT void *name params                                                                  \
    {                                                                                         \
        if (!real_alloc_ready())                                                                         \
            return bootstrap;                                                                 \
        if (shim_guard)                                                                       \
            return nested_allocated(real.name args, size, __builtin_return_address(0));       \
        shim_guard++;                                                                         \
        return allocated(real.name args, size);                                               \
    }

ALIGNED_HOOK(aligned_alloc, (size_t alignment, size_t size), (alignment, size),
             bootstrap_alloc(size, alignment), size)
ALIGNED_HOOK(memalign, (size_t alignment, size_t size), (alignment, size),
             bootstrap_alloc(size, alignment), size)
ALIGNED_HOOK(valloc, (size_t size), (size), bootstrap_alloc(size, 4096), size)
ALIGNED_HOOK(pvalloc, (size_t size), (size), bootstrap_alloc(size, 4096), size)

EXPORT size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    if (bootstrap_owns(p))
        return bootstrap_size(p);
    return real_alloc_ready() ? real.malloc_usable_size(p) : 0;
}

/* A library's code must still be mapped when the writer first sees a stack through it, so
 * everything recorded before an unload is written out before the real dlclose; afterwards the
 * writer rereads the module map, since another library may load at the same addresses. */
EXPORT int dlclose(void *handle)
{
    if (!shim_guard) {
        shim_guard++;
        writer_sync();
        shim_guard--;
    }
    static int (*real_dlclose)(void *);
    if (!real_dlclose)
        real_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
    int rc = real_dlclose(handle);
    frame_cache_forget_all();
    writer_note_unload();
    return rc;
}
