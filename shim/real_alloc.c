/* Resolution of the real allocator and the bootstrap arena; see real_alloc.h. */
#include "real_alloc.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>

#include "log.h"

#define ARENA_BYTES BOOTSTRAP_ARENA_BYTES
#define ARENA_HEADER 16 /* each block is preceded by its size */
#define arena bootstrap_arena

struct real_allocator real;

_Alignas(4096) unsigned char bootstrap_arena[ARENA_BYTES];
static _Atomic size_t arena_used;
_Atomic int real_alloc_resolved;
static __thread int resolving __attribute__((tls_model("initial-exec")));

void *bootstrap_alloc(size_t size, size_t alignment)
{
    if (alignment < ARENA_HEADER)
        alignment = ARENA_HEADER;
    if (size > ARENA_BYTES || alignment > ARENA_BYTES / 4 || (alignment & (alignment - 1)))
        return NULL;
    size_t used = atomic_load(&arena_used), start, end;
    do {
        start = (used + ARENA_HEADER + alignment - 1) & ~(alignment - 1);
        end = start + ((size + ARENA_HEADER - 1) & ~(size_t)(ARENA_HEADER - 1));
        if (end > ARENA_BYTES)
            return NULL;
    } while (!atomic_compare_exchange_weak(&arena_used, &used, end));
    memcpy(arena + start - sizeof(size_t), &size, sizeof size);
    return arena + start; /* static memory: already zeroed, as calloc needs */
}

size_t bootstrap_size(const void *p)
{
    size_t size;
    memcpy(&size, (const unsigned char *)p - sizeof size, sizeof size);
    return size;
}

#define RESOLVE(field) *(void **)&next.field = dlsym(RTLD_NEXT, #field)

int real_alloc_resolve(void)
{
    if (resolving)
        return 0;
    resolving = 1;
    struct real_allocator next = {0};
    RESOLVE(malloc);
    RESOLVE(free);
    RESOLVE(calloc);
    RESOLVE(realloc);
    RESOLVE(reallocarray);
    RESOLVE(posix_memalign);
    RESOLVE(aligned_alloc);
    RESOLVE(memalign);
    RESOLVE(valloc);
    RESOLVE(pvalloc);
    RESOLVE(malloc_usable_size);
    real = next; /* racing threads store the same values */
    atomic_store_explicit(&real_alloc_resolved, 1, memory_order_release);
    resolving = 0;
    return 1;
}

extern const char __ehdr_start[] __attribute__((visibility("hidden")));

void real_alloc_check_binding(void)
{
    Dl_info info;
    void *bound = dlsym(RTLD_DEFAULT, "malloc");
    if (!bound || !dladdr(bound, &info) || info.dli_fbase == (void *)__ehdr_start)
        return;
    Dl_info program;
    int in_program = dladdr((void *)getauxval(AT_ENTRY), &program) &&
                     program.dli_fbase == info.dli_fbase;
    if (!in_program && info.dli_fname && *info.dli_fname)
        shim_warn("malloc is %s's, ahead of the shim in the lookup order: no allocation is "
                  "recorded (put libleakshim.so first in LD_PRELOAD)", info.dli_fname);
    else
        shim_warn("the program defines malloc itself: no allocation is recorded");
}
