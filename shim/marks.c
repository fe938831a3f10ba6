/* Program and signal marks; see marks.h and leakshim.h. */
#include "marks.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "guard.h"
#include "lifecycle.h"
#include "record.h"
#include "trace_format.h"
#include "writer.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT void leakshim_record_mark(const char *name);
EXPORT void leakshim_record_mark(const char *name)
{
    if (shim_guard) /* inside a hook: this thread may hold an uncommitted reservation */
        return;
    shim_guard++;
    if (shim_recording())
        record_mark(name ? name : "", name ? strnlen(name, TRACE_MAX_MARK_NAME) : 0);
    shim_guard--;
}

static _Atomic unsigned signals_received;

static void on_mark_signal(int signal)
{
    (void)signal;
    int saved_errno = errno;
    unsigned n = atomic_fetch_add_explicit(&signals_received, 1, memory_order_relaxed) + 1;
    if (!shim_guard && atomic_load_explicit(&shim_state, memory_order_acquire) == SHIM_RECORDING) {
        shim_guard++;
        record_signal_mark(n);
        shim_guard--;
    } else {
        writer_note_mark_signal(n);
    }
    errno = saved_errno;
}

void marks_reset_after_fork(void)
{
    atomic_store_explicit(&signals_received, 0, memory_order_relaxed);
}

void marks_watch_signal(int signal)
{
    if (!signal)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_mark_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(signal, &sa, NULL);
}
