/* Replay of a trace: applies records in file order and keeps the books of a process, which
 * blocks are outstanding (live_map), per stack what it has outstanding and allocated in all
 * and how its outstanding bytes evolved (growth.h), the heap time line and marks
 * (timeline.h), and the module map the symbolizer needs. Memory grows with live blocks and
 * distinct stacks, never with the number of events.
 *
 * Time: each record is placed at the latest time stamp before it in the stream (TIME, SAMPLE
 * and MARK records carry one), which is within the writer's wake-up interval of when it
 * happened.
 *
 * The window (replay_set_window, before replay_file): only blocks allocated inside it count
 * as leaked, and the books close at its end ("what did the steady state leak?"). Without one
 * the window is the whole trace.
 *
 * A frame is tied to the module that covered it when its STACK record was read, so a library
 * unloaded and replaced at the same address later still names the right file.
 *
 * Sampling (trace_format.h, "sampling"): in a trace that samples, every count and byte sum of
 * the books is an unbiased estimate, each recorded block weighed by the inverse of its
 * probability of being recorded; replay.c says how. */
#ifndef LEAKSHIM_REPLAY_H
#define LEAKSHIM_REPLAY_H

#include <stdint.h>

#include "growth.h"
#include "live_map.h"
#include "stack_merge.h"
#include "symbolize.h"
#include "timeline.h"
#include "trace_reader.h"

struct stack_info {
    uint32_t depth;
    uint64_t *frames;
    int32_t *modules;      /* symbolizer module index per frame, -1 if none covered it */
    uint64_t live_bytes;   /* outstanding now and allocated in the window: leaked */
    uint64_t live_blocks;
    uint64_t alloc_bytes;  /* every allocation made from this stack in the window */
    uint64_t alloc_blocks;
    uint64_t outstanding_bytes; /* outstanding now, whenever allocated */
    struct series series;       /* outstanding_bytes over time */
    uint32_t oldest_born_ms, youngest_born_ms; /* of leaked blocks, set by replay_file */
    uint32_t canonical; /* the id its events count under: its own, or that of an earlier stack
                           with the same frames in the same modules (stack_merge.h) */
    uint32_t same_frames_before; /* 1 + a canonical stack defined before with the same frames
                                    in other modules, or 0 (stack_merge.h) */
};

/* A bound of the window: a time, or the first mark of a name. */
struct window_bound {
    enum { BOUND_NONE, BOUND_TIME, BOUND_MARK } kind;
    uint64_t ns;
    const char *mark;
};

struct replay_window {
    struct window_bound since, until;
    /* state while replaying */
    int opened, closed;
    uint64_t open_ns, close_ns; /* close_ns: the end of the books (the trace's end if open) */
};

struct replay_summary {
    uint64_t allocations, frees;
    uint64_t allocated_bytes, freed_bytes;
    uint64_t live_bytes, live_blocks, peak_bytes; /* the whole heap */
    uint64_t leaked_bytes, leaked_blocks;         /* outstanding and allocated in the window */
    uint64_t lost_events;
    uint64_t unmatched_frees; /* frees of blocks this process did not allocate (inherited) */
    uint64_t recovered_events; /* taken from the ring file a killed process left */
    uint64_t last_time_ns;
};

struct replay_sampling {
    uint64_t period;         /* in force now (TRACE_REC_SAMPLING); 0: every allocation recorded */
    uint64_t sampled_period; /* the trace's first nonzero period; 0: nothing sampled, exact books */
    uint64_t escalations;    /* switches from sampling to full recording */
    uint64_t unfollowed_blocks; /* full-recording blocks left out when sampling resumed */
    uint64_t full_allocations;  /* made in the current full-recording part */
    struct live_map weights; /* estimated counts of weighed blocks (replay.c) */
};

struct replay {
    struct stack_info *stacks;
    uint32_t stack_count, stack_capacity;
    struct stack_info unknown_stack; /* for TRACE_STACK_UNKNOWN */
    struct stack_merge merge;
    struct live_map live;
    symbolizer *sym;
    struct replay_summary summary;
    struct replay_window window;
    uint64_t now_ns;            /* the latest time stamp read */
    struct series_clock clock;
    struct series heap_series;  /* the whole heap's outstanding bytes */
    struct timeline timeline;
    int timeline_mismatch;      /* a sample's totals disagreed with the books (lost events?) */
    struct {
        uint64_t pid, ppid, start_ns, depth;
        char exe[TRACE_MAX_PATH + 1];
        int seen;
    } process;
    int complete;     /* the trace was finished: an END record, or an exec that replaced the image */
    int ended_by_exec; /* an EXEC record with no EXEC_FAILED after it */
    /* When set, each module a new stack runs through starts opening for symbolization in the
     * background (symbolizer_prefetch): for callers that symbolize afterwards. */
    int prefetch_modules;
    /* When set, replay_file calls it every few thousand records with the bytes read so far. */
    void (*progress)(void *ctx, uint64_t bytes_read);
    void *progress_ctx;
    struct replay_sampling sampling;
};

/* 0, or -1 on out of memory. */
int replay_init(struct replay *r);
/* Sets the window for the next replay_file. Each bound is NULL (the trace's start or end), a
 * number of seconds since the start ("90", "2.5"), or else the name of a mark (its first
 * occurrence); whether a named mark came is in r->window.opened and .closed afterwards. */
void replay_set_window(struct replay *r, const char *since, const char *until);
void replay_free(struct replay *r);

/* Applies one decoded record. Returns 0, or -1 with `error` set when the record contradicts
 * the trace so far (a stack id out of sequence, a reference to an undefined stack). */
int replay_apply(struct replay *r, const struct trace_record *rec, char *error, size_t error_len);

/* After the last record (replay_file calls it): closes the window and the series, and dates
 * the leaked blocks. */
void replay_finish(struct replay *r);

/* Reads and applies a whole trace, and for an unfinished one the ring file it left
 * (ring_recovery.h). Returns TRACE_EOF for a complete trace, TRACE_TRUNCATED (books up to the
 * cut and what the ring held, `error` says where) or TRACE_INVALID (`error` says why). */
enum trace_status replay_file(struct replay *r, const char *path, char *error, size_t error_len);

/* How replay_file ends a trace, for a caller that read it record by record (leakshim watch):
 * `s` is the last status of `reader` (TRACE_EOF, TRACE_TRUNCATED or TRACE_INVALID, its error
 * saying why), which stands after the last whole record. Decides whether the trace is
 * complete (an END record, or an exec), replays what the ring file of an unfinished trace
 * holds, and closes the books (replay_finish). Returns and reports as replay_file. */
enum trace_status replay_conclude(struct replay *r, const char *path, enum trace_status s,
                                  const struct trace_reader *reader, char *error,
                                  size_t error_len);

/* The stack behind an id used by an ALLOC or REALLOC record (the unknown stack for
 * TRACE_STACK_UNKNOWN), or NULL if none. */
struct stack_info *replay_stack(struct replay *r, uint32_t id);

#endif
