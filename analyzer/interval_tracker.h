/* The figures of a followed trace, interval by interval (leakshim watch): how fast the live
 * heap grew and how fast the process allocated in the last interval, and which stacks grew
 * fastest over the last few intervals.
 *
 * Intervals are in the trace's own time (the TIME, SAMPLE and MARK records' stamps, ns since
 * the process started), so the figures do not depend on when the watcher read the records:
 * an interval ends at the first time stamp at or after its planned end, and its rates are
 * per second of its actual length. A process that stays idle writes a SAMPLE every
 * LEAKSHIM_INTERVAL (100 ms by default), so intervals are never much longer than planned.
 *
 * Per stack, the tracker keeps the outstanding bytes at the end of each of the last `window`
 * intervals (one array of stack_count + 1 values per interval: slot 0 is the unknown stack,
 * slot i + 1 stack i), so a stack's recent growth is (now - then) / (time between), a stack
 * born since then starting from 0. Memory: (window + 1) x 8 bytes per stack. */
#ifndef LEAKSHIM_INTERVAL_TRACKER_H
#define LEAKSHIM_INTERVAL_TRACKER_H

#include <stddef.h>
#include <stdint.h>

#include "replay.h"

#define INTERVAL_WINDOW_MAX 64

struct interval_figures {
    uint64_t start_ns, end_ns;
    double heap_growth_bytes_per_s;  /* live bytes: change per second (negative: shrank) */
    double allocated_bytes_per_s;    /* bytes allocated per second */
    double allocations_per_s;
};

struct stack_growth {
    uint32_t stack_id;          /* TRACE_STACK_UNKNOWN for the stack the shim could not record */
    double growth_bytes_per_s;  /* over the recent intervals */
    uint64_t outstanding_bytes; /* now */
};

struct stack_snapshot {
    uint64_t ns;
    uint64_t *bytes; /* outstanding bytes per slot */
    uint32_t count, capacity;
};

struct interval_tracker {
    uint64_t interval_ns;
    unsigned window;       /* intervals a stack's recent growth spans (1 .. INTERVAL_WINDOW_MAX) */
    uint64_t next_end_ns;  /* the current interval's planned end */
    uint64_t start_ns, start_live, start_allocated, start_allocations;
    struct stack_snapshot snapshots[INTERVAL_WINDOW_MAX + 1]; /* ring, the latest at `latest` */
    unsigned latest, kept;
    unsigned long intervals; /* closed so far */
    struct interval_figures last;
};

/* 0, or -1 if the arguments are out of range. */
int interval_tracker_init(struct interval_tracker *t, uint64_t interval_ns, unsigned window);
void interval_tracker_free(struct interval_tracker *t);

/* To call after each record applied to `r`: returns 1 when that record's time stamp closed
 * an interval (t->last holds its figures), 0 if not, -1 on out of memory. */
int interval_tracker_update(struct interval_tracker *t, const struct replay *r);

/* The (at most `max`) stacks whose outstanding bytes grew fastest over the last `window`
 * closed intervals (fewer when fewer have closed), fastest first, only those that grew.
 * Returns how many were written. */
size_t interval_tracker_top(const struct interval_tracker *t, const struct replay *r,
                            struct stack_growth *out, size_t max);

#endif
