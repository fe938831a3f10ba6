/* libunwind's set-up for stack capture; the capture itself is inline (capture.h). */
#include "capture.h"

#include "unwind_cache.h"
#include "unwind_pipe.h"

__thread int capture_busy __attribute__((tls_model("initial-exec")));

void capture_init(void)
{
    unwind_pipe_init(); /* before libunwind initializes: it makes its pipe then */
    /* A libunwind built without thread-local storage for its cache of unwinding rules (Debian's
     * 1.6: its thread-local block is only unw_backtrace's trace cache pointer) takes this as
     * UNW_CACHE_GLOBAL (unw_set_caching_policy does so; checked in its code), whose lock it
     * takes with every signal blocked on a miss; one built with it gives each thread a cache
     * of its own. Either way threads never share an unlocked cache. */
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    unwind_cache_init();
}
