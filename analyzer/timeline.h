/* The heap time line of a trace: one point per SAMPLE record (the writer writes one every
 * sampling interval, LEAKSHIM_INTERVAL), with the books as they stood at that point of the
 * stream, and the marks, in stream order. Built by replay; printed by `leakshim timeline`
 * and drawn by the reports. */
#ifndef LEAKSHIM_TIMELINE_H
#define LEAKSHIM_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

struct heap_point {
    uint64_t ns;            /* since the process started */
    uint64_t live_bytes, live_blocks;
    uint64_t allocations, frees, allocated_bytes, freed_bytes; /* running totals */
    uint64_t rss_bytes;     /* 0 if the process's RSS was not readable */
};

struct mark {
    uint64_t ns;
    unsigned origin; /* enum trace_mark_origin */
    char *name;
};

struct timeline {
    struct heap_point *points;
    size_t count, capacity;
    struct mark *marks;
    size_t mark_count, mark_capacity;
};

/* Appends a copy; 0, or -1 on out of memory. */
int timeline_add_point(struct timeline *t, const struct heap_point *p);
int timeline_add_mark(struct timeline *t, uint64_t ns, unsigned origin, const char *name);
/* The first mark called `name`, or NULL. */
const struct mark *timeline_find_mark(const struct timeline *t, const char *name);
void timeline_free(struct timeline *t);

#endif
