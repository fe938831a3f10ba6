/* libunwind's set-up for stack capture; the capture itself is inline (capture.h). */
#include "capture.h"

#include "unwind_cache.h"

__thread int capture_busy __attribute__((tls_model("initial-exec")));

void capture_init(void)
{
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    unwind_cache_init();
}
