/* libunwind's set-up for stack capture; the capture itself is inline (capture.h). */
#include "capture.h"

#include <link.h>

#include "unwind_cache.h"
#include "unwind_pipe.h"

__thread int capture_busy __attribute__((tls_model("initial-exec")));

/* dl_iterate_phdr's callback: fills the unwinder_module `data` from the module that holds
 * unw_backtrace. */
static int find_unwinder(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t code = (uintptr_t)&unw_backtrace, start = UINTPTR_MAX, end = 0;
    size_t tls_bytes = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t s = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_TLS)
            tls_bytes = ph->p_memsz;
        if (ph->p_type != PT_LOAD)
            continue;
        if (s < start)
            start = s;
        if (s + ph->p_memsz > end)
            end = s + ph->p_memsz;
    }
    if (code < start || code >= end)
        return 0;
    *(struct unwinder_module *)data =
        (struct unwinder_module){start, end, tls_bytes, info->dlpi_tls_modid};
    return 1;
}

void capture_init(void)
{
    struct unwinder_module unwinder = {0};
    dl_iterate_phdr(find_unwinder, &unwinder);
    unwind_pipe_init(&unwinder); /* before libunwind initializes: it makes its pipe then */
    /* A libunwind built without thread-local storage for its cache of unwinding rules (Debian's
     * 1.6: its thread-local block is only unw_backtrace's trace cache pointer) takes this as
     * UNW_CACHE_GLOBAL (unw_set_caching_policy does so; checked in its code), whose lock it
     * takes with every signal blocked on a miss; one built with it gives each thread a cache
     * of its own. Either way threads never share an unlocked cache. */
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    unwind_cache_init(&unwinder);
}
