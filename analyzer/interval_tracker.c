/* Interval figures and recent growth per stack; see interval_tracker.h. */
#include "interval_tracker.h"

#include <stdlib.h>
#include <string.h>

int interval_tracker_init(struct interval_tracker *t, uint64_t interval_ns, unsigned window)
{
    memset(t, 0, sizeof *t);
    if (interval_ns == 0 || window == 0 || window > INTERVAL_WINDOW_MAX)
        return -1;
    t->interval_ns = interval_ns;
    t->window = window;
    t->next_end_ns = interval_ns;
    return 0;
}

void interval_tracker_free(struct interval_tracker *t)
{
    for (unsigned i = 0; i <= INTERVAL_WINDOW_MAX; i++)
        free(t->snapshots[i].bytes);
    memset(t, 0, sizeof *t);
}

static uint64_t slot_bytes(const struct replay *r, uint32_t slot)
{
    return slot == 0 ? r->unknown_stack.outstanding_bytes : r->stacks[slot - 1].outstanding_bytes;
}

/* Records every stack's outstanding bytes now into the next snapshot of the ring. */
static int take_snapshot(struct interval_tracker *t, const struct replay *r)
{
    unsigned next = t->kept ? (t->latest + 1) % (t->window + 1) : 0;
    struct stack_snapshot *s = &t->snapshots[next];
    uint32_t count = r->stack_count + 1;
    if (count > s->capacity) {
        uint64_t *grown = realloc(s->bytes, (size_t)count * 2 * sizeof *grown);
        if (!grown)
            return -1;
        s->bytes = grown;
        s->capacity = count * 2;
    }
    for (uint32_t i = 0; i < count; i++)
        s->bytes[i] = slot_bytes(r, i);
    s->count = count;
    s->ns = r->now_ns;
    t->latest = next;
    if (t->kept <= t->window)
        t->kept++;
    return 0;
}

static double per_second(double amount, uint64_t ns)
{
    return ns ? amount * 1e9 / (double)ns : 0;
}

int interval_tracker_update(struct interval_tracker *t, const struct replay *r)
{
    const struct replay_summary *s = &r->summary;
    if (t->kept == 0) { /* the trace's start: the books are empty, at time 0 */
        if (take_snapshot(t, r) < 0)
            return -1;
        t->snapshots[t->latest].ns = 0;
    }
    if (r->now_ns < t->next_end_ns)
        return 0;
    uint64_t length = r->now_ns - t->start_ns;
    t->last.start_ns = t->start_ns;
    t->last.end_ns = r->now_ns;
    t->last.heap_growth_bytes_per_s =
        per_second((double)s->live_bytes - (double)t->start_live, length);
    t->last.allocated_bytes_per_s = per_second((double)(s->allocated_bytes - t->start_allocated), length);
    t->last.allocations_per_s = per_second((double)(s->allocations - t->start_allocations), length);
    t->start_ns = r->now_ns;
    t->start_live = s->live_bytes;
    t->start_allocated = s->allocated_bytes;
    t->start_allocations = s->allocations;
    t->next_end_ns = r->now_ns - r->now_ns % t->interval_ns + t->interval_ns;
    t->intervals++;
    return take_snapshot(t, r) < 0 ? -1 : 1;
}

/* Inserts g into the descending list out[0 .. *n) of at most max entries. */
static void insert_ranked(struct stack_growth *out, size_t *n, size_t max, const struct stack_growth *g)
{
    size_t i = *n < max ? (*n)++ : max;
    while (i > 0 && out[i - 1].growth_bytes_per_s < g->growth_bytes_per_s) {
        if (i < max)
            out[i] = out[i - 1];
        i--;
    }
    if (i < max)
        out[i] = *g;
}

size_t interval_tracker_top(const struct interval_tracker *t, const struct replay *r,
                            struct stack_growth *out, size_t max)
{
    if (t->kept < 2 || max == 0)
        return 0;
    const struct stack_snapshot *now = &t->snapshots[t->latest];
    unsigned back = t->kept - 1; /* intervals between the oldest snapshot kept and now */
    const struct stack_snapshot *then = &t->snapshots[(t->latest + t->window + 1 - back) % (t->window + 1)];
    uint64_t span = now->ns - then->ns;
    size_t n = 0;
    for (uint32_t slot = 0; slot < now->count && span; slot++) {
        uint64_t before = slot < then->count ? then->bytes[slot] : 0;
        if (now->bytes[slot] <= before)
            continue;
        struct stack_growth g = {slot == 0 ? TRACE_STACK_UNKNOWN : slot - 1,
                                 per_second((double)(now->bytes[slot] - before), span),
                                 slot_bytes(r, slot)};
        insert_ranked(out, &n, max, &g);
    }
    return n;
}
