/* Building and ranking the suspect list; see suspects.h. */
#include "suspects.h"

#include <stdlib.h>
#include <string.h>

static int by_leaked_bytes(const struct suspect *x, const struct suspect *y)
{
    if (x->leaked_bytes != y->leaked_bytes)
        return x->leaked_bytes > y->leaked_bytes ? -1 : 1;
    if (x->leaked_blocks != y->leaked_blocks)
        return x->leaked_blocks > y->leaked_blocks ? -1 : 1;
    return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

static int descending(double x, double y) { return (x < y) - (x > y); }

static enum suspect_order sort_order; /* qsort has no context argument */

static int in_order(const void *a, const void *b)
{
    const struct suspect *x = a, *y = b;
    if ((x->leaked_blocks == 0) != (y->leaked_blocks == 0)) /* include_freed: those last */
        return x->leaked_blocks == 0 ? 1 : -1;
    int c = 0;
    switch (sort_order) {
    case ORDER_SCORE: c = descending(x->score, y->score); break;
    case ORDER_GROWTH: c = descending(x->growth.growth_bytes_per_s, y->growth.growth_bytes_per_s); break;
    case ORDER_COUNT:
        c = descending((double)x->leaked_blocks, (double)y->leaked_blocks);
        break;
    case ORDER_BYTES: break;
    }
    return c ? c : by_leaked_bytes(x, y);
}

static int is_allocator_entry(const sym_frame *f)
{
    static const char *entries[] = {"operator new", "__gnu_cxx::new_allocator<",
                                     "std::__new_allocator<"};
    for (size_t i = 0; f->function && i < sizeof entries / sizeof *entries; i++)
        if (strncmp(f->function, entries[i], strlen(entries[i])) == 0)
            return 1;
    return 0;
}

int suspect_symbolize(struct replay *r, const struct stack_info *s, struct suspect *out)
{
    out->frames = calloc((size_t)s->depth * SUSPECT_INLINE_MAX + 1, sizeof *out->frames);
    if (!out->frames)
        return -1;
    int leading = 1;
    for (uint32_t i = 0; i < s->depth; i++) {
        sym_frame chain[SUSPECT_INLINE_MAX] = {{0}};
        size_t n = 1;
        if (s->modules[i] >= 0)
            n = symbolizer_lookup_inline(r->sym, s->modules[i], s->frames[i], chain,
                                         SUSPECT_INLINE_MAX);
        for (size_t k = 0; k < n; k++) {
            if (leading && is_allocator_entry(&chain[k]))
                continue;
            leading = 0;
            out->frames[out->frame_count++] = (struct suspect_frame){s->frames[i], chain[k]};
        }
    }
    /* room was made for every frame inlining the most: give back what was not used */
    struct suspect_frame *fitted = realloc(out->frames, (out->frame_count + 1) * sizeof *fitted);
    if (fitted)
        out->frames = fitted;
    return 0;
}

static void fill(const struct replay *r, const struct suspect_list *list, struct suspect *out,
                 uint32_t id, const struct stack_info *s)
{
    memset(out, 0, sizeof *out);
    out->stack_id = id;
    out->leaked_bytes = s->live_bytes;
    out->leaked_blocks = s->live_blocks;
    out->allocated_bytes = s->alloc_bytes;
    out->allocated_blocks = s->alloc_blocks;
    out->freed_share = s->alloc_blocks ? (double)(s->alloc_blocks - s->live_blocks) / (double)s->alloc_blocks : 0;
    double end_ms = (double)(r->window.close_ns / 1000000);
    out->oldest_age_s = (end_ms - s->oldest_born_ms) / 1e3;
    out->youngest_age_s = (end_ms - s->youngest_born_ms) / 1e3;
    if (out->oldest_age_s < 0)
        out->oldest_age_s = 0;
    if (out->youngest_age_s < 0)
        out->youngest_age_s = 0;
    out->series = &s->series;
    growth_stats_of(&s->series, list->first_bucket, list->last_bucket, list->bucket_width_ns,
                    &out->growth);
}

static int selected(const struct stack_info *s, int include_freed)
{
    return s->live_blocks || (include_freed && s->alloc_blocks);
}

int suspects_build(struct replay *r, size_t top, enum suspect_order order, int include_freed,
                   struct suspect_list *out)
{
    memset(out, 0, sizeof *out);
    out->bucket_width_ns = r->clock.width_ns;
    out->last_bucket = series_bucket(&r->clock, r->window.close_ns);
    uint32_t open = series_bucket(&r->clock, r->window.open_ns);
    out->first_bucket = open ? open - 1 : 0; /* the value just before the window opened */
    out->heap = &r->heap_series;
    size_t n = selected(&r->unknown_stack, include_freed);
    for (uint32_t i = 0; i < r->stack_count; i++)
        n += selected(&r->stacks[i], include_freed);
    out->items = calloc(n + 1, sizeof *out->items);
    if (!out->items)
        return -1;
    for (uint32_t i = 0; i < r->stack_count; i++)
        if (selected(&r->stacks[i], include_freed))
            fill(r, out, &out->items[out->count++], i, &r->stacks[i]);
    if (selected(&r->unknown_stack, include_freed))
        fill(r, out, &out->items[out->count++], TRACE_STACK_UNKNOWN, &r->unknown_stack);
    double best = 0;
    for (size_t i = 0; i < out->count; i++)
        if (growth_strength(&out->items[i].growth) > best)
            best = growth_strength(&out->items[i].growth);
    for (size_t i = 0; i < out->count; i++)
        out->items[i].score = growth_score(&out->items[i].growth, out->items[i].leaked_bytes, best,
                                           r->summary.leaked_bytes);
    sort_order = order;
    qsort(out->items, out->count, sizeof *out->items, in_order);
    out->total = out->count;
    if (top && out->count > top)
        out->count = top;
    for (size_t i = 0; i < out->count; i++) {
        struct suspect *sp = &out->items[i];
        if (suspect_symbolize(r, replay_stack(r, sp->stack_id), sp) < 0)
            return -1;
    }
    return 0;
}

void suspects_free(struct suspect_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i].frames);
    free(list->items);
    memset(list, 0, sizeof *list);
}
