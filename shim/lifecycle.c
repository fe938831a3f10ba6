/* The shim's start, stop and fork handling; see lifecycle.h for the state machine. */
#include "lifecycle.h"

#include <pthread.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture.h"
#include "events.h"
#include "frame_cache.h"
#include "guard.h"
#include "marks.h"
#include "options.h"
#include "real_alloc.h"
#include "record.h"
#include "writer.h"

_Atomic int shim_state = SHIM_UNINIT;
_Atomic int *shim_fork_sentinel;
static int tracing_refused; /* setuid or similar: never trace, not even in children */
static pid_t recording_pid;  /* the process whose trace the writer writes */

/* Maps the sentinel page once per process image (a forked child keeps the mapping, zeroed) and
 * sets it. Without MADV_WIPEONFORK (Linux before 4.14) the sentinel is never cleared and only
 * the atfork handler catches a fork. */
static int sentinel_wipes; /* MADV_WIPEONFORK took: children find the sentinel cleared */

static void arm_fork_sentinel(void)
{
    static _Atomic int never_cleared;
    if (!shim_fork_sentinel) {
        void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        sentinel_wipes = page != MAP_FAILED && madvise(page, 4096, MADV_WIPEONFORK) == 0;
        if (page != MAP_FAILED && !sentinel_wipes)
            munmap(page, 4096);
        shim_fork_sentinel = sentinel_wipes ? page : &never_cleared;
    }
    atomic_store_explicit(shim_fork_sentinel, 1, memory_order_relaxed);
}

/* In a forked child, once: whichever of the atfork handler and a hook that finds the sentinel
 * cleared comes first (the other finds the books already reset, or the child's own trace
 * started). Without a wiping sentinel, the atfork handler always does it. */
static void after_fork_in_child(void)
{
    if (sentinel_wipes && atomic_load(shim_fork_sentinel))
        return;
    writer_forget_after_fork();
    marks_reset_after_fork();
    atomic_store(&sampler.filtering, 0); /* the child's first call starts its own trace */
    atomic_store(&shim_state, tracing_refused ? SHIM_OFF : SHIM_UNINIT);
}

static int start(void)
{
    static int atfork_registered;
    /* The hooks' fast paths under sampling call the real allocator without asking whether it
     * is resolved (sampler.h), so it is resolved before the writer starts: the constructor may
     * start the trace before any hook ran. Only a thread inside dlsym finds resolution under
     * way, and it does not start the trace. */
    if (!real_alloc_ready())
        return SHIM_UNINIT;
    if (getauxval(AT_SECURE)) {
        tracing_refused = 1;
        return SHIM_OFF;
    }
    static struct shim_options options; /* read once per process image, kept by forks */
    static int options_loaded;
    if (!options_loaded) {
        options_load(&options);
        options_loaded = 1;
        real_alloc_check_binding();
    }
    record_depth = options.depth;
    if (!options.frame_cache)
        frame_cache_disable();
    capture_init();
    if (!atfork_registered) {
        pthread_atfork(NULL, NULL, after_fork_in_child);
        atfork_registered = 1;
    }
    recording_pid = getpid();
    arm_fork_sentinel();
    if (writer_start(&options) < 0)
        return SHIM_OFF;
    marks_watch_signal((int)options.mark_signal);
    return SHIM_RECORDING;
}

int shim_start_slow(void)
{
    if (atomic_load(&shim_state) == SHIM_RECORDING && !atomic_load(shim_fork_sentinel))
        after_fork_in_child(); /* a child that the atfork handler has not reached yet */
    for (;;) {
        int expected = SHIM_UNINIT;
        if (atomic_compare_exchange_strong(&shim_state, &expected, SHIM_STARTING)) {
            shim_guard += SHIM_GUARD_INTERNAL; /* what starting allocates is the shim's */
            int s = start();
            shim_guard -= SHIM_GUARD_INTERNAL;
            atomic_store_explicit(&shim_state, s, memory_order_release);
            return s == SHIM_RECORDING;
        }
        if (expected != SHIM_STARTING)
            return expected == SHIM_RECORDING;
        sched_yield(); /* another thread is starting the writer */
    }
}

__attribute__((constructor)) static void shim_constructor(void)
{
    shim_guard++;
    shim_recording(); /* a program that never allocates still leaves a trace */
    shim_guard--;
}

static int recording_here(void)
{
    return atomic_load(&shim_state) == SHIM_RECORDING && getpid() == recording_pid;
}

void shim_finish_trace(void)
{
    shim_guard++;
    int expected = SHIM_RECORDING;
    if (getpid() == recording_pid &&
        atomic_compare_exchange_strong(&shim_state, &expected, SHIM_OFF))
        writer_stop();
    shim_guard--;
}

void shim_flush_trace(void)
{
    shim_guard++;
    if (recording_here())
        writer_sync();
    shim_guard--;
}

void shim_before_exec(void)
{
    shim_guard++;
    if (recording_here()) {
        record_marker(EVENT_EXEC);
        writer_sync();
    }
    shim_guard--;
}

void shim_before_identity_change(void)
{
    shim_guard++;
    /* shim_recording starts the trace of a forked child that has not started its own yet, so
     * that it is created while the child may still do so */
    if (shim_recording() && getpid() == recording_pid)
        writer_before_identity_change();
    shim_guard--;
}

void shim_exec_failed(void)
{
    shim_guard++;
    if (recording_here())
        record_marker(EVENT_EXEC_FAILED);
    shim_guard--;
}

/* At normal exit the trace ends after every library's destructor has run, so that their frees
 * (and leaks) are in it: the shim's destructor runs among the others, inside glibc's _dl_fini,
 * itself an exit handler, and an exit handler registered from there runs when _dl_fini is done
 * (tied to no object: atexit would tie it to the shim, and __cxa_finalize would run it at once,
 * in the shim's own destructors). If it cannot be registered, the trace ends here. */
extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso_handle);

static void finish_after_destructors(void *unused)
{
    (void)unused;
    shim_finish_trace();
}

__attribute__((destructor)) static void shim_destructor(void)
{
    if (__cxa_atexit(finish_after_destructors, NULL, NULL) != 0)
        shim_finish_trace();
}
