/* Replay of a trace: applies records in file order and keeps the books of a process, which
 * blocks are outstanding (live_map), per stack what it has outstanding and allocated in all,
 * and the module map the symbolizer needs. Memory grows with live blocks and distinct stacks,
 * never with the number of events.
 *
 * A frame is tied to the module that covered it when its STACK record was read, so a library
 * unloaded and replaced at the same address later still names the right file. */
#ifndef LEAKSHIM_REPLAY_H
#define LEAKSHIM_REPLAY_H

#include <stdint.h>

#include "live_map.h"
#include "symbolize.h"
#include "trace_reader.h"

struct stack_info {
    uint32_t depth;
    uint64_t *frames;
    int32_t *modules;      /* symbolizer module index per frame, -1 if none covered it */
    uint64_t live_bytes;   /* outstanding now */
    uint64_t live_blocks;
    uint64_t alloc_bytes;  /* every allocation made from this stack */
    uint64_t alloc_blocks;
};

struct replay_summary {
    uint64_t allocations, frees;
    uint64_t live_bytes, live_blocks, peak_bytes;
    uint64_t lost_events;
    uint64_t unmatched_frees; /* frees of blocks this process did not allocate (inherited) */
    uint64_t recovered_events; /* taken from the ring file a killed process left */
    uint64_t last_time_ns;
};

struct replay {
    struct stack_info *stacks;
    uint32_t stack_count, stack_capacity;
    struct stack_info unknown_stack; /* for TRACE_STACK_UNKNOWN */
    struct live_map live;
    symbolizer *sym;
    struct replay_summary summary;
    struct {
        uint64_t pid, ppid, start_ns, depth;
        char exe[TRACE_MAX_PATH + 1];
        int seen;
    } process;
    int complete;     /* the trace was finished: an END record, or an exec that replaced the image */
    int ended_by_exec; /* an EXEC record with no EXEC_FAILED after it */
};

/* 0, or -1 on out of memory. */
int replay_init(struct replay *r);
void replay_free(struct replay *r);

/* Applies one decoded record. Returns 0, or -1 with `error` set when the record contradicts
 * the trace so far (a stack id out of sequence, a reference to an undefined stack). */
int replay_apply(struct replay *r, const struct trace_record *rec, char *error, size_t error_len);

/* Reads and applies a whole trace, and for an unfinished one the ring file it left
 * (ring_recovery.h). Returns TRACE_EOF for a complete trace, TRACE_TRUNCATED (books up to the
 * cut and what the ring held, `error` says where) or TRACE_INVALID (`error` says why). */
enum trace_status replay_file(struct replay *r, const char *path, char *error, size_t error_len);

/* The stack behind an id used by an ALLOC or REALLOC record (the unknown stack for
 * TRACE_STACK_UNKNOWN), or NULL if none. */
struct stack_info *replay_stack(struct replay *r, uint32_t id);

#endif
