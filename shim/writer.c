/* The writer thread and its trace encoding; see writer.h for its contract.
 *
 * Lifecycle: writer_start (first hooked call, or first call in a forked child) creates the
 * trace, puts the ring and the staging area in its ring file (trace_format.h, "the ring file")
 * and starts the thread; writer_stop (the shim's destructor, _exit) drains, writes END,
 * finishes the file and removes the ring file. A record leaves the ring only after its output
 * is staged and committed (staging.h), so that a process killed at any instant leaves each
 * record in the trace, in the staging area or in the ring. The staged records reach the trace
 * when the area is full, CHUNK_MAX_AGE_NS after the oldest, and at every sync point.
 * `processed` counts the ring words handled so, `flushed` those whose output is in the trace
 * file; writer_sync waits on the latter. */
#include "writer.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "escalation.h"
#include "events.h"
#include "guard.h"
#include "high_fd.h"
#include "leader_exit.h"
#include "log.h"
#include "modules.h"
#include "record.h"
#include "resident.h"
#include "sampled_heap.h"
#include "sampler.h"
#include "stack_hash.h"
#include "staging.h"
#include "tracefile.h"
#include "uncounted_thread.h"

/* Stacks are found by the hash the hooks computed (stack_hash.h), which is already well mixed. */
#define HASH_FUNCTION(keyptr, keylen, hashv) ((hashv) = (unsigned)*(const uint64_t *)(keyptr))
#include "uthash.h"

#define TIME_RECORD_INTERVAL_NS 1000000ull /* 1 ms */
#define IDLE_WAIT_NS 10000000L              /* the consumer sleeps at most this long */
#define STALL_LIMIT_NS 1000000000ull        /* give up on an uncommitted record after 1 s */
#define CHUNK_MAX_AGE_NS 50000000ull        /* staged output waits at most this long (+ a wake-up) */
#define LEADER_CHECK_NS 100000000ull        /* an idle writer looks for an ended program this often */

struct ring writer_ring;

/* A stack the writer has seen, by its hash. `id` is TRACE_STACK_UNKNOWN until the stack's
 * STACK record is written, and again after a dlclose (after_unload), until its next use. */
struct interned_stack {
    UT_hash_handle hh;
    uint64_t hash;
    uint32_t id;
    uint32_t depth;
    uint64_t frames[];
};

struct known_module {
    uint64_t start, end;
    char *path;
    int mapped; /* seen by the latest scan (after_unload drops the others) */
};

static struct {
    struct tracefile file;
    /* the ring file's mapping while the file exists, or NULL (stop_ring, from any thread) */
    struct ring_file_header *_Atomic ring_file;
    void *region;                       /* header, staging area, ring: the file's or anonymous */
    size_t region_bytes;
    pthread_t thread;
    int running;
    int uncounted; /* glibc does not count the thread (uncounted_thread.h) */
    _Atomic int stop_requested;
    _Atomic uint64_t processed;
    _Atomic uint64_t flushed;
    _Atomic int flush_wanted;      /* set by writer_sync */
    _Atomic int modules_unloaded; /* set by dlclose: known ranges may hold other modules now */
    _Atomic unsigned mark_signals; /* the latest signal mark asked for by writer_note_mark_signal */
    struct interned_stack *stacks;
    uint32_t next_stack_id;
    struct known_module *modules;
    size_t module_count, module_capacity;
    uint64_t last_address;
    uint64_t start_ns, start_realtime_ns, last_time_ns;
    uint64_t events, events_at_last_time;
    /* the heap time line: running totals for SAMPLE records, and when the next is due */
    uint64_t allocations, frees, allocated_bytes;
    uint64_t sample_interval_ns, next_sample_ns;
    unsigned signal_marks_written;
    /* sampling (sampler.h): the period the trace says now, the one producers use now (they
       differ from an escalation decision until the first event made in the new mode), and
       the losses already reported */
    uint64_t trace_period, mode_period;
    struct escalation_rule escalation;
    /* the losses already reported, by cause (sampled set, nested hooks) */
    uint64_t sampled_set_losses, nested_losses;
} w;

static uint64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- encoding ------------------------------------------------------------------------ */

struct payload {
    uint8_t bytes[16 + TRACE_MAX_PATH + TRACE_MAX_BUILD_ID + TRACE_MAX_STACK_DEPTH * VARINT_MAX_LEN];
    size_t len;
};

static void put_u64(struct payload *p, uint64_t v) { p->len += varint_put(p->bytes + p->len, v); }
static void put_i64(struct payload *p, int64_t v) { put_u64(p, zigzag_encode(v)); }
static void put_bytes(struct payload *p, const void *data, size_t n)
{
    put_u64(p, n);
    memcpy(p->bytes + p->len, data, n);
    p->len += n;
}

static void emit(enum trace_record_type type, const struct payload *p)
{
    staging_put(type, p->bytes, p->len);
}

/* The process whose trace this process image writes, and, in a forked child until its own
 * trace starts, the one it was forked from: the child's parent even when that has exited
 * before the child's first call (getppid would say 1 then). Kept apart from `w`, which
 * reset_state clears. */
static pid_t trace_pid, forked_from;

static void emit_process(unsigned depth)
{
    struct payload p;
    p.len = 0;
    char exe[TRACE_MAX_PATH];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    trace_pid = getpid();
    put_u64(&p, (uint64_t)trace_pid);
    put_u64(&p, (uint64_t)(forked_from ? forked_from : getppid()));
    forked_from = 0;
    put_u64(&p, w.start_realtime_ns);
    put_u64(&p, depth);
    put_bytes(&p, exe, n > 0 ? (size_t)n : 0);
    emit(TRACE_REC_PROCESS, &p);
}

/* ns since the trace started; every record that carries a time says it so */
static uint64_t trace_time_ns(void)
{
    return now_ns(CLOCK_MONOTONIC) - w.start_ns;
}

static void emit_time_if_due(void)
{
    if (w.events == w.events_at_last_time)
        return;
    uint64_t t = trace_time_ns();
    if (t - w.last_time_ns < TIME_RECORD_INTERVAL_NS)
        return;
    struct payload p;
    p.len = 0;
    put_u64(&p, t);
    emit(TRACE_REC_TIME, &p);
    w.last_time_ns = t;
    w.events_at_last_time = w.events;
}

/* A point of the heap time line (TRACE_REC_SAMPLE), at the stream's current position. */
static void emit_sample(uint64_t t)
{
    struct payload p;
    p.len = 0;
    put_u64(&p, t);
    put_u64(&p, resident_bytes());
    put_u64(&p, w.allocations);
    put_u64(&p, w.frees);
    put_u64(&p, w.allocated_bytes);
    emit(TRACE_REC_SAMPLE, &p);
    w.last_time_ns = t;
    w.events_at_last_time = w.events;
}

static void emit_mark(enum trace_mark_origin origin, const char *name, size_t len)
{
    struct payload p;
    p.len = 0;
    uint64_t t = trace_time_ns();
    put_u64(&p, t);
    put_u64(&p, origin);
    put_bytes(&p, name, len);
    emit(TRACE_REC_MARK, &p);
    w.last_time_ns = t;
    w.events_at_last_time = w.events;
}

/* The signal marks up to "signal-n" not written yet, in order. */
static void emit_signal_marks(unsigned n)
{
    while (w.signal_marks_written < n) {
        char name[32];
        int len = snprintf(name, sizeof name, "signal-%u", ++w.signal_marks_written);
        emit_mark(TRACE_MARK_SIGNAL, name, (size_t)len);
    }
}

/* Between ring records: the marks that signals asked for, and the heap sample when due. */
static void sampling_at_sample(uint64_t t);

/* A LOST record for the events of `cause` lost since the last one (`*reported` of `count`). */
static void emit_lost(unsigned cause, uint64_t count, uint64_t *reported)
{
    if (count <= *reported)
        return;
    struct payload p;
    p.len = 0;
    put_u64(&p, cause);
    put_u64(&p, count - *reported);
    emit(TRACE_REC_LOST, &p);
    *reported = count;
}

/* The losses the producers counted since the last report: with every heap sample, and before
 * the trace ends (at exit or exec), so that none goes unsaid. */
static void emit_losses(void)
{
    emit_lost(TRACE_LOST_SAMPLED_SET, atomic_load_explicit(&sampler_lost, memory_order_relaxed),
              &w.sampled_set_losses);
    emit_lost(TRACE_LOST_RECURSION, atomic_load_explicit(&record_nested_lost, memory_order_relaxed),
              &w.nested_losses);
}

static void emit_periodic(void)
{
    emit_signal_marks(atomic_load_explicit(&w.mark_signals, memory_order_relaxed));
    uint64_t t = trace_time_ns();
    if (t >= w.next_sample_ns) {
        emit_sample(t);
        emit_losses();
        sampling_at_sample(t);
        w.next_sample_ns = t - t % w.sample_interval_ns + w.sample_interval_ns;
    }
}

/* --- the module map ------------------------------------------------------------------- */

static int module_known(const struct module_info *m)
{
    for (size_t i = 0; i < w.module_count; i++)
        if (w.modules[i].start == m->start && w.modules[i].end == m->end &&
            strcmp(w.modules[i].path, m->path) == 0) {
            w.modules[i].mapped = 1;
            return 1;
        }
    return 0;
}

static void add_module(const struct module_info *m, void *ctx)
{
    (void)ctx;
    size_t path_len = strlen(m->path);
    if (module_known(m) || path_len >= TRACE_MAX_PATH)
        return;
    if (w.module_count == w.module_capacity) {
        size_t cap = w.module_capacity ? 2 * w.module_capacity : 64;
        struct known_module *grown = realloc(w.modules, cap * sizeof *grown);
        if (!grown)
            return;
        w.modules = grown;
        w.module_capacity = cap;
    }
    char *path = strdup(m->path);
    if (!path)
        return;
    w.modules[w.module_count++] = (struct known_module){m->start, m->end, path, 1};
    struct payload p;
    p.len = 0;
    put_u64(&p, m->start);
    put_u64(&p, m->end);
    put_u64(&p, m->bias);
    put_bytes(&p, m->path, path_len);
    put_bytes(&p, m->build_id, m->build_id_len);
    emit(TRACE_REC_MODULE, &p);
}

static int address_known(uint64_t a)
{
    for (size_t i = 0; i < w.module_count; i++)
        if (a >= w.modules[i].start && a < w.modules[i].end)
            return 1;
    return 0;
}

/* Pages of code outside every module that a rescan could not explain (JIT code, for
 * example): remembered so that they do not trigger a rescan on every new stack. */
#define FUTILE_PAGES 64
static uint64_t futile_pages[FUTILE_PAGES];
static unsigned futile_next;

static int futile(uint64_t a)
{
    for (unsigned i = 0; i < FUTILE_PAGES; i++)
        if (futile_pages[i] == (a >> 12) + 1)
            return 1;
    return 0;
}

/* Before a new stack is written, makes sure the modules its frames point into are: a frame
 * outside every known module (a library loaded since the last scan) triggers a rescan. */
static void cover_frames(const uint64_t *frames, uint32_t depth)
{
    int unexplained = 0;
    for (uint32_t i = 0; i < depth && !unexplained; i++)
        unexplained = !address_known(frames[i]) && !futile(frames[i]);
    if (!unexplained)
        return;
    modules_scan(add_module, NULL);
    for (uint32_t i = 0; i < depth; i++)
        if (!address_known(frames[i]) && !futile(frames[i]))
            futile_pages[futile_next++ % FUTILE_PAGES] = (frames[i] >> 12) + 1;
}

/* --- stacks ----------------------------------------------------------------------------- */

static void forget_stacks(void)
{
    struct interned_stack *s, *tmp;
    HASH_ITER(hh, w.stacks, s, tmp) {
        HASH_DEL(w.stacks, s);
        free(s);
    }
}

/* After a dlclose, the same addresses may belong to another library: the analyzer ties frames
 * to modules when it reads a STACK record, so every stack is written again (with a new id) at
 * its next use, once the module map has been read again. The frames are kept: a thread that
 * sent a stack before names it by its hash only. Modules no longer mapped are forgotten, so that
 * a library loaded at their addresses later (perhaps while this scan runs, in the middle of its
 * dlopen) is unknown until a frame inside it makes cover_frames scan again. */
static void after_unload(void)
{
    struct interned_stack *s, *tmp;
    HASH_ITER(hh, w.stacks, s, tmp) {
        s->id = TRACE_STACK_UNKNOWN;
    }
    for (size_t i = 0; i < w.module_count; i++)
        w.modules[i].mapped = 0;
    modules_scan(add_module, NULL);
    size_t kept = 0;
    for (size_t i = 0; i < w.module_count; i++) {
        if (w.modules[i].mapped)
            w.modules[kept++] = w.modules[i];
        else
            free(w.modules[i].path);
    }
    w.module_count = kept;
}

/* Writes a STACK record for the frames under a new id, and returns the id. */
static uint32_t define_stack(const uint64_t *frames, uint32_t depth)
{
    cover_frames(frames, depth);
    uint32_t id = w.next_stack_id++;
    struct payload p;
    p.len = 0;
    put_u64(&p, id);
    put_u64(&p, depth);
    uint64_t previous = 0;
    for (uint32_t i = 0; i < depth; i++) {
        put_i64(&p, (int64_t)(frames[i] - previous));
        previous = frames[i];
    }
    emit(TRACE_REC_STACK, &p);
    return id;
}

/* Two different stacks came with one hash: the later gets a STACK record of its own for this
 * event, but the hooks' records that name it by its hash alone will count under the earlier,
 * so the trace says that events may be misplaced. */
static uint32_t hash_collision(const uint64_t *frames, uint32_t depth)
{
    struct payload p;
    p.len = 0;
    put_u64(&p, TRACE_LOST_STACK_HASH);
    put_u64(&p, 1);
    emit(TRACE_REC_LOST, &p);
    return define_stack(frames, depth);
}

/* The stack id for an ALLOC or REALLOC ring record (events.h) with aux `aux`: the stack its
 * hash names, interned from the record's frames if new. Called for every record that carries
 * frames, whether or not its event is written, since the thread that sent them names the
 * stack by its hash from then on. TRACE_STACK_UNKNOWN when the hash is unknown (the writer
 * ran out of memory when the frames came) or the stack cannot be interned. */
static uint32_t intern_stack(unsigned type, const uint64_t *rec, uint32_t aux)
{
    uint32_t fixed = event_fixed_words(type), depth = aux & EVENT_AUX_DEPTH_MASK;
    uint64_t hash = rec[fixed - 1];
    const uint64_t *frames = rec + fixed;
    struct interned_stack *s;
    if (__builtin_expect(atomic_load_explicit(&w.modules_unloaded, memory_order_relaxed), 0) &&
        atomic_exchange(&w.modules_unloaded, 0))
        after_unload();
    HASH_FIND(hh, w.stacks, &hash, sizeof hash, s);
    if (s && !(aux & EVENT_AUX_STACK_SEEN) &&
        (s->depth != depth || memcmp(s->frames, frames, depth * sizeof *frames) != 0))
        return hash_collision(frames, depth);
    if (!s) {
        if (aux & EVENT_AUX_STACK_SEEN)
            return TRACE_STACK_UNKNOWN;
        s = malloc(sizeof *s + depth * sizeof *frames);
        if (!s)
            return TRACE_STACK_UNKNOWN;
        s->hash = hash;
        s->id = TRACE_STACK_UNKNOWN;
        s->depth = depth;
        memcpy(s->frames, frames, depth * sizeof *frames);
        HASH_ADD(hh, w.stacks, hash, sizeof s->hash, s);
    }
    if (s->id == TRACE_STACK_UNKNOWN)
        s->id = define_stack(s->frames, s->depth);
    return s->id;
}

/* Removes the ring file but keeps the ring's memory mapped: a thread that passed the
 * recording check just before the stop may still put its record there (exec and exit end the
 * process soon after; a failed exec leaves one stale mapping behind). The writer goes on
 * staging and draining there as before: only the file's name is gone. Any thread may call
 * this; the file is removed once. */
static void stop_ring(void)
{
    if (atomic_exchange(&w.ring_file, NULL))
        tracefile_remove_ring(&w.file);
}

/* --- sampling and escalation (sampler.h, escalation.h) ------------------------------------ */

static void emit_sampling(uint64_t period)
{
    struct payload p;
    p.len = 0;
    put_u64(&p, period);
    emit(TRACE_REC_SAMPLING, &p);
    w.trace_period = period;
}

/* Starts the sampler as LEAKSHIM_SAMPLE says and writes the trace's first SAMPLING record. */
static void sampling_start(const struct shim_options *options)
{
    struct escalation_spec spec;
    if (escalation_parse(options->escalate, &spec) < 0)
        shim_warn("LEAKSHIM_ESCALATE=%s is not valid (on, off, or window=DURATION,rate=SIZE,"
                  "calm=DURATION); using off", options->escalate);
    if (sampler_configure(options->sample_bytes, options->sample_seed) < 0)
        shim_warn("cannot map the set of sampled blocks; recording every allocation");
    if (spec.enabled && !sampler.period) {
        shim_warn("LEAKSHIM_ESCALATE has no effect without LEAKSHIM_SAMPLE");
        spec.enabled = 0;
    }
    escalation_rule_init(&w.escalation, &spec, w.sample_interval_ns);
    sampled_heap_reset(sampler.period, 1);
    w.mode_period = sampler.period;
    emit_sampling(sampler.period);
}

/* A heap sample was written: applies the escalation rule to the estimated live heap. A
 * decision switches the producers at once; the trace follows at the first event they record in
 * the new mode (sampling_before_event). */
static void sampling_at_sample(uint64_t t)
{
    if (!sampler.period)
        return;
    enum escalation_step step = escalation_rule_observe(&w.escalation, t, sampled_heap_bytes());
    if (step == ESCALATION_KEEP)
        return;
    w.mode_period = step == ESCALATION_ESCALATE ? 0 : sampler.period;
    /* The hooks' fast paths stop before every event is recorded, and start again only after
     * (sampler.h). */
    int everything = step == ESCALATION_ESCALATE;
    if (everything)
        atomic_store_explicit(&sampler.filtering, 0, memory_order_relaxed);
    atomic_store_explicit(&sampler.everything, everything, memory_order_relaxed);
    if (!everything)
        atomic_store_explicit(&sampler.filtering, 1, memory_order_relaxed);
}

/* Before a block event with flags `aux`: the mark and SAMPLING record of a decided switch, at
 * the first event recorded in the new mode. Events another thread recorded in the old mode
 * may still follow; event_effect() reads them as the trace's mode says. */
static void sampling_before_event(uint32_t aux)
{
    if (w.trace_period == w.mode_period || !(aux & EVENT_AUX_FULL) != (w.mode_period != 0))
        return;
    static const char escalated[] = "escalated", deescalated[] = "de-escalated";
    if (w.mode_period)
        emit_mark(TRACE_MARK_SHIM, deescalated, sizeof deescalated - 1);
    else
        emit_mark(TRACE_MARK_SHIM, escalated, sizeof escalated - 1);
    emit_sampling(w.mode_period);
}

/* The estimated live heap, for the escalation rule: picked blocks come and go. */
static void sampling_follow(uint32_t aux, uint64_t freed, uint64_t allocated, uint64_t size)
{
    if (!w.escalation.spec.enabled)
        return;
    if (aux & EVENT_AUX_TRACKED)
        sampled_heap_remove(freed);
    if ((aux & EVENT_AUX_PICKED) && allocated)
        sampled_heap_add(allocated, size);
}

/* --- events ----------------------------------------------------------------------------- */

static void put_address(struct payload *p, uint64_t address)
{
    put_i64(p, (int64_t)(address - w.last_address));
    w.last_address = address;
}

/* ALLOC, FREE and REALLOC ring records, as event_effect() reads them in the trace's mode: a
 * FREE, an ALLOC or a REALLOC record, or nothing (then 0 is returned, else 1). */
static int encode_block_event(unsigned type, const uint64_t *rec)
{
    struct payload p;
    p.len = 0;
    uint32_t aux = ring_header_aux(rec[0]), depth = aux & EVENT_AUX_DEPTH_MASK;
    sampling_before_event(aux);
    struct event_effect e = event_effect(type, aux, rec, w.trace_period != 0);
    sampling_follow(aux, rec[1], type == EVENT_REALLOC ? rec[2] : rec[1], e.size);
    if (!e.allocated) {
        if (type != EVENT_FREE && !(aux & EVENT_AUX_STACK_SEEN) && depth)
            intern_stack(type, rec, aux); /* its thread names the stack by its hash from now on */
        if (!e.freed)
            return 0;
        put_address(&p, e.freed);
        emit(TRACE_REC_FREE, &p);
        w.frees++;
        return 1;
    }
    uint32_t id = intern_stack(type, rec, aux);
    w.allocations++;
    w.allocated_bytes += e.size;
    if (e.freed) { /* the analyzer counts a realloc as a free and an allocation, as here */
        w.frees++;
        put_address(&p, e.freed);
        put_i64(&p, (int64_t)(e.allocated - e.freed));
        w.last_address = e.allocated;
    } else {
        put_address(&p, e.allocated);
    }
    put_u64(&p, e.size);
    put_u64(&p, id);
    emit(e.freed ? TRACE_REC_REALLOC : TRACE_REC_ALLOC, &p);
    if (e.picked && !w.trace_period && sampler.period) { /* followed when sampling resumes */
        p.len = 0;
        put_address(&p, e.allocated);
        emit(TRACE_REC_SAMPLED, &p);
    }
    return 1;
}

static void encode_event(const uint64_t *rec)
{
    struct payload p;
    p.len = 0;
    unsigned type = ring_header_type(rec[0]);
    switch (type) {
    case EVENT_ALLOC:
    case EVENT_FREE:
    case EVENT_REALLOC:
        if (!encode_block_event(type, rec))
            return;
        break;
    case EVENT_EXEC:
        emit_sample(trace_time_ns()); /* the image's heap as it ends */
        emit_losses();
        emit(TRACE_REC_EXEC, &p);
        staging_flush();
        tracefile_trim(&w.file); /* a replaced image leaves no reserved space ... */
        stop_ring();             /* ... and no ring file behind */
        return;
    case EVENT_EXEC_FAILED:
        emit(TRACE_REC_EXEC_FAILED, &p);
        tracefile_map_again(&w.file);
        return;
    case EVENT_MARK: {
        if (ring_header_aux(rec[0]) == MARK_AUX_SIGNAL) {
            if (ring_header_words(rec[0]) == 2 && rec[1] <= UINT32_MAX)
                emit_signal_marks((unsigned)rec[1]);
            return;
        }
        char name[TRACE_MAX_MARK_NAME + 8];
        size_t len = ring_header_aux(rec[0]);
        if (len > TRACE_MAX_MARK_NAME || len > (ring_header_words(rec[0]) - 1) * 8)
            return;
        memcpy(name, rec + 1, len);
        emit_mark(TRACE_MARK_CALL, name, len);
        return;
    }
    default: /* EVENT_NOTHING */
        return;
    }
    w.events++;
}

/* --- the thread ------------------------------------------------------------------------- */

static uint64_t record_buffer[RING_MAX_RECORD_WORDS];

/* Between ring records: the periodic records, committed, and the staged output appended to
 * the trace when it has waited long enough or writer_sync asks for it (`sync_point`). */
static void between_records(int sync_point)
{
    emit_time_if_due();
    emit_periodic();
    staging_commit(atomic_load_relaxed_u64(&writer_ring.tail));
    if ((sync_point && atomic_exchange(&w.flush_wanted, 0)) ||
        staging_due(now_ns(CLOCK_MONOTONIC), CHUNK_MAX_AGE_NS)) {
        staging_flush();
        atomic_store_explicit(&w.flushed, atomic_load_explicit(&w.processed, memory_order_relaxed),
                              memory_order_release);
    }
}

/* Encodes every committed record; returns the number handled. A record leaves the ring only
 * once its output is staged and committed. */
static unsigned drain(void)
{
    unsigned handled = 0;
    uint32_t n;
    while ((n = ring_peek(&writer_ring, record_buffer)) != 0) {
        encode_event(record_buffer);
        staging_commit(atomic_load_relaxed_u64(&writer_ring.tail) + n);
        ring_release(&writer_ring, n);
        atomic_fetch_add_explicit(&w.processed, n, memory_order_release);
        if ((++handled & 255) == 0)
            between_records(0);
    }
    between_records(1);
    return handled;
}

static void finish_trace(void);

/* The program has ended without ending the process (leader_exit.h): the writer, its last
 * thread, drains what the program's last calls left, ends the trace as writer_stop would and
 * ends the process with the status the program ended with. */
static _Noreturn void end_for_ended_program(int status)
{
    drain();
    finish_trace();
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

static void *writer_main(void *arg)
{
    (void)arg;
    shim_guard = SHIM_GUARD_INTERNAL;
    high_fd_private_table(); /* its opens must not take the program's lowest numbers */
    uint64_t stalled_since = 0, leader_checked = now_ns(CLOCK_MONOTONIC);
    for (;;) {
        if (drain()) {
            stalled_since = 0;
            continue;
        }
        if (!atomic_load(&w.stop_requested)) {
            uint64_t now = now_ns(CLOCK_MONOTONIC);
            if (now - leader_checked >= LEADER_CHECK_NS) {
                leader_checked = now;
                int status = leader_exit_status();
                if (status >= 0)
                    end_for_ended_program(status);
            }
        } else {
            uint64_t head = atomic_load_relaxed_u64(&writer_ring.head);
            if (head == atomic_load(&w.processed))
                break;
            uint64_t now = now_ns(CLOCK_MONOTONIC);
            if (!stalled_since)
                stalled_since = now;
            else if (now - stalled_since > STALL_LIMIT_NS)
                break; /* a producer never committed its record (killed in the hook?) */
        }
        ring_wait_for_data(&writer_ring, atomic_load(&w.stop_requested) ? 1000000L : IDLE_WAIT_NS);
    }
    if (w.uncounted)
        uncounted_thread_rejoin_count();
    return NULL;
}

/* The ring file's header, staging area and ring in the hidden ring file beside the trace, or
 * in anonymous memory if that file cannot be made; staging starts there. Returns 0 or -1. */
static int start_ring(const struct shim_options *options)
{
    uint64_t capacity = ring_capacity_for(options->buffer_bytes / sizeof(uint64_t));
    w.region_bytes = RING_FILE_HEADER_BYTES + TRACE_STAGING_BYTES + capacity * sizeof(uint64_t);
    w.region = tracefile_create_ring(&w.file, w.region_bytes);
    atomic_store(&w.ring_file, w.region);
    if (!w.region) {
        w.region = mmap(NULL, w.region_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
        if (w.region == MAP_FAILED) {
            w.region = NULL;
            return -1;
        }
    }
    struct ring_file_header *h = w.region;
    uint8_t *staging_area = (uint8_t *)w.region + RING_FILE_HEADER_BYTES;
    memcpy(h->magic, RING_FILE_MAGIC, sizeof h->magic);
    h->version = RING_FILE_VERSION;
    h->header_bytes = RING_FILE_HEADER_BYTES;
    h->capacity = capacity;
    h->pid = (uint64_t)getpid();
    h->start_ns = w.start_realtime_ns;
    h->trace_written = tracefile_length(&w.file); /* the file header */
    staging_start(&w.file, h, staging_area, (int)options->compress);
    ring_init_at(&writer_ring, (_Atomic uint64_t *)(staging_area + TRACE_STAGING_BYTES), capacity);
    return 0;
}

int writer_start(const struct shim_options *options)
{
    if (tracefile_create(&w.file, options->output) < 0)
        return -1;
    w.start_ns = now_ns(CLOCK_MONOTONIC);
    w.start_realtime_ns = now_ns(CLOCK_REALTIME);
    if (start_ring(options) < 0) {
        shim_warn("cannot map a %llu-byte event buffer; not tracing",
                  (unsigned long long)options->buffer_bytes);
        tracefile_close(&w.file);
        return -1;
    }
    w.sample_interval_ns = options->interval_ms * 1000000ull;
    emit_process(options->depth);
    sampling_start(options);
    modules_scan(add_module, NULL);
    emit_periodic(); /* the time line's first point: nothing allocated yet */
    staging_flush();

    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&w.thread, NULL, writer_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        shim_warn("cannot start the writer thread; not tracing");
        stop_ring();
        ring_destroy(&writer_ring);
        munmap(w.region, w.region_bytes);
        tracefile_close(&w.file);
        return -1;
    }
    w.uncounted = uncounted_thread_leave_count();
    w.running = 1;
    return 0;
}

void writer_sync(void)
{
    if (!w.running)
        return;
    uint64_t target = atomic_load_relaxed_u64(&writer_ring.head);
    uint64_t deadline = now_ns(CLOCK_MONOTONIC) + STALL_LIMIT_NS;
    while (atomic_load_explicit(&w.flushed, memory_order_acquire) < target &&
           now_ns(CLOCK_MONOTONIC) < deadline) {
        atomic_store(&w.flush_wanted, 1);
        ring_wake_consumer(&writer_ring);
        struct timespec ts = {0, 200 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Clears every field for the next writer_start; the tables are freed only when
 * `release` (after a fork they may have been mid-update: dropped unread). */
static void reset_state(int release)
{
    sampled_heap_reset(0, release);
    if (release) {
        forget_stacks();
        for (size_t i = 0; i < w.module_count; i++)
            free(w.modules[i].path);
        free(w.modules);
    }
    memset(&w, 0, sizeof w);
    memset(futile_pages, 0, sizeof futile_pages);
}

void writer_note_mark_signal(unsigned n)
{
    unsigned seen = atomic_load_explicit(&w.mark_signals, memory_order_relaxed);
    while (seen < n && !atomic_compare_exchange_weak_explicit(&w.mark_signals, &seen, n,
                                                                 memory_order_relaxed,
                                                                 memory_order_relaxed))
        ;
    ring_wake_consumer(&writer_ring);
}

void writer_before_identity_change(void)
{
    if (!w.running)
        return;
    (void)tracefile_hold(&w.file); /* if it cannot, the trace warns when it next needs the path */
    stop_ring();
}

void writer_note_unload(void)
{
    atomic_store(&w.modules_unloaded, 1);
}

void writer_stop(void)
{
    if (!w.running)
        return;
    atomic_store(&w.stop_requested, 1);
    ring_wake_consumer(&writer_ring);
    pthread_join(w.thread, NULL);
    finish_trace();
}

static void finish_trace(void)
{
    emit_sample(trace_time_ns()); /* the time line's last point: the heap at exit */
    emit_losses();
    struct payload p;
    p.len = 0;
    put_u64(&p, w.events);
    emit(TRACE_REC_END, &p);
    staging_flush();
    stop_ring();
    tracefile_close(&w.file);
    reset_state(1);
}

void writer_forget_after_fork(void)
{
    if (!w.running)
        return;
    forked_from = trace_pid;
    /* The ring file and trace are the parent's: unmap, never remove or write. */
    ring_destroy(&writer_ring);
    munmap(w.region, w.region_bytes);
    tracefile_abandon(&w.file);
    reset_state(0);
}
