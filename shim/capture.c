/* libunwind's set-up for stack capture; the capture itself is inline (capture.h). */
#include "capture.h"

void capture_init(void)
{
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}
