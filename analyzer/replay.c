/* Trace replay; see replay.h. */
#include "replay.h"

#include "ring_recovery.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* live_block.born: milliseconds since the start (saturating after 24 days), and a flag for
 * blocks allocated outside the window, which are never counted as leaked. */
#define BORN_OUTSIDE_WINDOW 0x80000000u
#define BORN_MS_MAX 0x7fffffffu

static void forget_weight(struct replay *r, uint64_t address);
static uint64_t take_weight(struct replay *r, uint64_t address);
static struct live_block weigh(const struct replay *r, uint64_t address, uint64_t size);
static void note_weight(struct replay *r, uint64_t address, uint64_t blocks, uint32_t flags);

int replay_init(struct replay *r)
{
    memset(r, 0, sizeof *r);
    live_map_init(&r->live);
    live_map_init(&r->sampling.weights);
    series_clock_init(&r->clock);
    r->window.opened = 1;
    r->unknown_stack.canonical = TRACE_STACK_UNKNOWN;
    r->sym = symbolizer_new();
    return r->sym ? 0 : -1;
}

static void parse_bound(const char *text, struct window_bound *out)
{
    memset(out, 0, sizeof *out);
    if (!text)
        return;
    char *end;
    errno = 0;
    double seconds = strtod(text, &end);
    if (!errno && end != text && !*end && seconds >= 0 && seconds < 1e9) {
        out->kind = BOUND_TIME;
        out->ns = (uint64_t)(seconds * 1e9 + 0.5);
    } else {
        out->kind = BOUND_MARK;
        out->mark = text;
    }
}

void replay_set_window(struct replay *r, const char *since, const char *until)
{
    parse_bound(since, &r->window.since);
    parse_bound(until, &r->window.until);
    r->window.opened = r->window.since.kind == BOUND_NONE;
}

void replay_free(struct replay *r)
{
    for (uint32_t i = 0; i < r->stack_count; i++) {
        free(r->stacks[i].frames);
        free(r->stacks[i].modules);
        series_free(&r->stacks[i].series);
    }
    free(r->stacks);
    stack_merge_free(&r->merge);
    series_free(&r->unknown_stack.series);
    series_free(&r->heap_series);
    timeline_free(&r->timeline);
    live_map_free(&r->live);
    live_map_free(&r->sampling.weights);
    if (r->sym)
        symbolizer_free(r->sym);
    memset(r, 0, sizeof *r);
}

struct stack_info *replay_stack(struct replay *r, uint32_t id)
{
    if (id == TRACE_STACK_UNKNOWN)
        return &r->unknown_stack;
    return id < r->stack_count ? &r->stacks[id] : NULL;
}

static int add_stack(struct replay *r, const struct trace_record *rec)
{
    if (r->stack_count == r->stack_capacity) {
        uint32_t cap = r->stack_capacity ? 2 * r->stack_capacity : 256;
        struct stack_info *grown = realloc(r->stacks, cap * sizeof *grown);
        if (!grown)
            return -1;
        r->stacks = grown;
        r->stack_capacity = cap;
    }
    uint32_t depth = rec->u.stack.depth;
    struct stack_info *s = &r->stacks[r->stack_count];
    memset(s, 0, sizeof *s);
    s->frames = malloc(depth * sizeof *s->frames + 1);
    s->modules = malloc(depth * sizeof *s->modules + 1);
    if (!s->frames || !s->modules) {
        free(s->frames);
        free(s->modules);
        return -1;
    }
    s->depth = depth;
    memcpy(s->frames, rec->u.stack.frames, depth * sizeof *s->frames);
    for (uint32_t i = 0; i < depth; i++) {
        s->modules[i] = symbolizer_find_module(r->sym, s->frames[i]);
        if (r->prefetch_modules)
            symbolizer_prefetch(r->sym, s->modules[i]); /* opened while the replay goes on */
    }
    int64_t canonical = stack_merge_canonical(&r->merge, r->stacks, r->stack_count, r->sym);
    if (canonical < 0) {
        free(s->frames);
        free(s->modules);
        return -1;
    }
    s->canonical = (uint32_t)canonical;
    r->stack_count++;
    return 0;
}

/* The stack's (and the heap's) outstanding bytes change by `delta` now. */
static void track_outstanding(struct replay *r, struct stack_info *s, int64_t delta)
{
    uint64_t before = s->outstanding_bytes;
    s->outstanding_bytes += (uint64_t)delta;
    series_update(&s->series, &r->clock, r->now_ns, before, s->outstanding_bytes);
    series_update(&r->heap_series, &r->clock, r->now_ns, r->summary.live_bytes - (uint64_t)delta,
                  r->summary.live_bytes);
}

/* Takes block b's `blocks` (its count: 1 unless weighed) and bytes off the live books. */
static void unlive(struct replay *r, const struct live_block *b, uint64_t blocks)
{
    struct stack_info *s = replay_stack(r, b->stack);
    r->summary.live_bytes -= b->size;
    r->summary.live_blocks -= blocks;
    if (!(b->born & BORN_OUTSIDE_WINDOW)) {
        s->live_bytes -= b->size;
        s->live_blocks -= blocks;
        r->summary.leaked_bytes -= b->size;
        r->summary.leaked_blocks -= blocks;
    }
    track_outstanding(r, s, -(int64_t)b->size);
}

/* Puts block b (b->size bytes, `blocks` blocks) on the live books. */
static void make_live(struct replay *r, const struct live_block *b, uint64_t blocks)
{
    struct stack_info *s = replay_stack(r, b->stack);
    r->summary.live_bytes += b->size;
    r->summary.live_blocks += blocks;
    if (r->summary.live_bytes > r->summary.peak_bytes)
        r->summary.peak_bytes = r->summary.live_bytes;
    if (!(b->born & BORN_OUTSIDE_WINDOW)) {
        s->live_bytes += b->size;
        s->live_blocks += blocks;
        r->summary.leaked_bytes += b->size;
        r->summary.leaked_blocks += blocks;
    }
    track_outstanding(r, s, (int64_t)b->size);
}

/* Removes block b from the books (it was freed, or its address was reused unseen). Returns
 * the number of blocks it counted for. */
static uint64_t forget_block(struct replay *r, const struct live_block *b)
{
    uint64_t blocks = r->sampling.weights.count ? take_weight(r, b->address) : 1;
    unlive(r, b, blocks);
    return blocks;
}

static void count_alloc(struct replay *r, struct stack_info *s, uint64_t address, uint64_t size,
                        uint32_t stack_id)
{
    uint64_t ms = r->now_ns / 1000000;
    struct live_block b = {address, size, stack_id, ms > BORN_MS_MAX ? BORN_MS_MAX : (uint32_t)ms},
                      old, weight = {address, size, 1, 0};
    if (!r->window.opened)
        b.born |= BORN_OUTSIDE_WINDOW;
    if (r->sampling.sampled_period)
        weight = weigh(r, address, size);
    b.size = weight.size;
    if (live_map_put(&r->live, &b, &old) == 1)
        forget_block(r, &old); /* the address was live: its free was never seen */
    if (r->sampling.sampled_period) {
        note_weight(r, address, weight.stack, 0);
        r->sampling.full_allocations += !r->sampling.period;
    }
    r->summary.allocations += weight.stack;
    r->summary.allocated_bytes += b.size;
    if (!(b.born & BORN_OUTSIDE_WINDOW)) {
        s->alloc_bytes += b.size;
        s->alloc_blocks += weight.stack;
    }
    make_live(r, &b, weight.stack);
}

static void count_free(struct replay *r, uint64_t address)
{
    struct live_block b;
    if (live_map_take(&r->live, address, &b) < 0) {
        r->summary.unmatched_frees++;
        if (!r->sampling.sampled_period) /* in a trace that samples, see trace_format.h */
            r->summary.frees++;
        return;
    }
    r->summary.freed_bytes += b.size;
    r->summary.frees += forget_block(r, &b);
}

/* --- sampling: weights ------------------------------------------------------------------
 * A block of s bytes recorded under period P (trace_format.h, "sampling") was recorded with
 * probability p = 1 - exp(-s/P): it stands for 1/p blocks and s/p bytes, and every sum of the
 * books over blocks is then an unbiased (Horvitz-Thompson) estimate. Its live_block.size holds
 * the estimated bytes, so byte sums need nothing more; its estimated count lives in a side map,
 * r->sampling.weights (address -> count in .size, flags in .stack), which exists only in
 * traces that sample. Each estimate is rounded to an integer up or down at random, up with the
 * probability of the fraction (a hash of the address and size decides: the same for a trace
 * every time), so that rounding adds no bias (1.58 rounded would always count 2).
 *
 * A full-recording part (period 0) records every block with weight 1; the sampler's picks
 * among them get a SAMPLED record (WEIGHT_PICKED). When sampling resumes, only those keep
 * their frees recorded: the others leave the books (sampling.unfollowed_blocks), the picked
 * ones are weighed as sampled blocks from then on. */

#define WEIGHT_PICKED 1u /* recorded while the period was 0, and the sampler's pick */

static uint64_t round_at_random(double x, uint64_t address, uint64_t salt)
{
    uint64_t whole = (uint64_t)x, h = (address ^ salt) * 0x9E3779B97F4A7C15ull;
    h = (h ^ (h >> 29)) * 0xBF58476D1CE4E5B9ull;
    double u = (double)((h ^ (h >> 32)) >> 11) * 0x1p-53;
    return whole + (u < x - (double)whole);
}

/* The weight of a block of `size` bytes at `address` allocated now: .size the estimated bytes,
 * .stack the estimated count. */
static struct live_block weigh(const struct replay *r, uint64_t address, uint64_t size)
{
    double p = trace_sampling_probability(size, r->sampling.period);
    struct live_block w = {address, size, 1, 0};
    if (p > 0 && p < 1) {
        w.size = round_at_random((double)size / p, address, size);
        w.stack = (uint32_t)round_at_random(1 / p > 4e9 ? 4e9 : 1 / p, address, ~size);
    }
    return w;
}

static void note_weight(struct replay *r, uint64_t address, uint64_t blocks, uint32_t flags)
{
    struct live_block e = {address, blocks, flags, 0};
    if (!r->sampling.period && !flags) { /* a full-recording block: weight 1, no entry */
        forget_weight(r, address);
        return;
    }
    live_map_put(&r->sampling.weights, &e, NULL); /* out of memory: counted as 1 block */
}

static void forget_weight(struct replay *r, uint64_t address)
{
    struct live_block e;
    if (r->sampling.weights.count)
        live_map_take(&r->sampling.weights, address, &e);
}

/* The estimated count of the block at `address`, which leaves the side map. */
static uint64_t take_weight(struct replay *r, uint64_t address)
{
    struct live_block e;
    return live_map_take(&r->sampling.weights, address, &e) == 0 && !(e.stack & WEIGHT_PICKED) ? e.size : 1;
}

struct block_list {
    struct live_block *items;
    size_t count;
};

static void collect_block(const struct live_block *b, void *ctx)
{
    struct block_list *list = ctx;
    list->items[list->count++] = *b;
}

/* Sampling resumes after a full-recording part: its blocks leave the books, or, for the
 * sampler's picks, are weighed as sampled blocks. Returns 0, or -1 on out of memory. */
static int resume_sampling(struct replay *r)
{
    struct block_list list = {malloc((r->live.count + 1) * sizeof *list.items), 0};
    if (!list.items)
        return -1;
    live_map_each(&r->live, collect_block, &list);
    for (size_t i = 0; i < list.count; i++) {
        struct live_block *b = &list.items[i], e = {0, 0, 0, 0};
        int weighed = live_map_take(&r->sampling.weights, b->address, &e) == 0;
        if (weighed && !(e.stack & WEIGHT_PICKED)) {
            live_map_put(&r->sampling.weights, &e, NULL); /* a sampled block: as it was */
            continue;
        }
        unlive(r, b, 1);
        if (!weighed) {
            live_map_take(&r->live, b->address, &e);
            r->sampling.unfollowed_blocks++;
            continue;
        }
        struct live_block w = weigh(r, b->address, b->size);
        b->size = w.size;
        live_map_put(&r->live, b, NULL);
        note_weight(r, b->address, w.stack, 0);
        make_live(r, b, w.stack);
    }
    free(list.items);
    return 0;
}

static int apply_sampling(struct replay *r, uint64_t period)
{
    int resumes = period && !r->sampling.period && r->sampling.full_allocations;
    if (!period && r->sampling.period)
        r->sampling.escalations++;
    if (period && !r->sampling.sampled_period)
        r->sampling.sampled_period = period;
    r->sampling.period = period;
    if (!resumes || r->window.closed)
        return 0;
    r->sampling.full_allocations = 0; /* the next resumption has only the next part's to see */
    return resume_sampling(r);
}

static int bound_reached_by_time(const struct window_bound *b, uint64_t now_ns, int after)
{
    return b->kind == BOUND_TIME && (after ? now_ns > b->ns : now_ns >= b->ns);
}

/* A time stamp: moves the clock and opens or closes a window bound by time. */
static void advance_time(struct replay *r, uint64_t ns)
{
    if (ns < r->now_ns)
        return; /* stamps from different sources may tie; time never goes back */
    if (!r->window.closed && bound_reached_by_time(&r->window.until, ns, 1)) {
        r->window.closed = 1;
        r->window.close_ns = r->window.until.ns;
    }
    r->now_ns = ns;
    r->summary.last_time_ns = ns;
    if (!r->window.closed) /* the series end with the books: all their buckets are the window's */
        series_clock_advance(&r->clock, ns);
    if (!r->window.opened && bound_reached_by_time(&r->window.since, ns, 0)) {
        r->window.opened = 1;
        r->window.open_ns = r->window.since.ns; /* as close_ns: never after an equal until */
    }
}

static int is_bound_mark(const struct window_bound *b, const char *name)
{
    return b->kind == BOUND_MARK && strcmp(b->mark, name) == 0;
}

static int apply_mark(struct replay *r, const struct trace_record *rec)
{
    advance_time(r, rec->u.mark.ns);
    const char *name = rec->u.mark.name;
    int first = !timeline_find_mark(&r->timeline, name);
    if (timeline_add_mark(&r->timeline, r->now_ns, (unsigned)rec->u.mark.origin, name) < 0)
        return -1;
    if (first && !r->window.opened && is_bound_mark(&r->window.since, name)) {
        r->window.opened = 1;
        r->window.open_ns = r->now_ns;
    }
    if (first && !r->window.closed && is_bound_mark(&r->window.until, name)) {
        r->window.closed = 1;
        r->window.close_ns = r->now_ns;
    }
    return 0;
}

static int apply_sample(struct replay *r, const struct trace_record *rec)
{
    advance_time(r, rec->u.sample.ns);
    const struct replay_summary *s = &r->summary;
    if (!r->sampling.sampled_period && /* the books hold estimates, the sample counts records */
        (rec->u.sample.allocations != s->allocations || rec->u.sample.frees != s->frees))
        r->timeline_mismatch = 1;
    struct heap_point p = {r->now_ns,       s->live_bytes, s->live_blocks, s->allocations,
                           s->frees,        s->allocated_bytes, s->freed_bytes,
                           rec->u.sample.rss_bytes};
    return timeline_add_point(&r->timeline, &p);
}

static int error_at(char *error, size_t len, const struct trace_record *rec, const char *what)
{
    snprintf(error, len, "offset %llu: %s", (unsigned long long)rec->offset, what);
    return -1;
}

int replay_apply(struct replay *r, const struct trace_record *rec, char *error, size_t error_len)
{
    struct stack_info *s;
    switch (rec->type) {
    case TRACE_REC_PROCESS:
        r->process.pid = rec->u.process.pid;
        r->process.ppid = rec->u.process.ppid;
        r->process.start_ns = rec->u.process.start_ns;
        r->process.depth = rec->u.process.depth;
        memcpy(r->process.exe, rec->u.process.exe, sizeof r->process.exe);
        r->process.seen = 1;
        break;
    case TRACE_REC_MODULE:
        if (symbolizer_add_module(r->sym, rec->u.module.path, rec->u.module.bias,
                                  rec->u.module.start, rec->u.module.end, rec->u.module.build_id,
                                  rec->u.module.build_id_len) < 0)
            return error_at(error, error_len, rec, "out of memory");
        break;
    case TRACE_REC_STACK:
        if (rec->u.stack.id != r->stack_count)
            return error_at(error, error_len, rec, "stack id out of sequence");
        if (add_stack(r, rec) < 0)
            return error_at(error, error_len, rec, "out of memory");
        break;
    case TRACE_REC_ALLOC:
    case TRACE_REC_REALLOC:
        if (!(s = replay_stack(r, rec->u.alloc.stack)))
            return error_at(error, error_len, rec, "allocation refers to an undefined stack");
        if (!rec->u.alloc.address)
            return error_at(error, error_len, rec, "allocation at address 0");
        if (r->window.closed)
            break;
        if (rec->type == TRACE_REC_REALLOC)
            count_free(r, rec->old_address);
        count_alloc(r, replay_stack(r, s->canonical), rec->u.alloc.address, rec->u.alloc.size,
                    s->canonical);
        break;
    case TRACE_REC_FREE:
        if (!r->window.closed)
            count_free(r, rec->u.free.address);
        break;
    case TRACE_REC_TIME:
        advance_time(r, rec->u.time.ns);
        break;
    case TRACE_REC_SAMPLE:
        if (apply_sample(r, rec) < 0)
            return error_at(error, error_len, rec, "out of memory");
        break;
    case TRACE_REC_MARK:
        if (apply_mark(r, rec) < 0)
            return error_at(error, error_len, rec, "out of memory");
        break;
    case TRACE_REC_LOST:
        r->summary.lost_events += rec->u.lost.count;
        break;
    case TRACE_REC_SAMPLING:
        if (apply_sampling(r, rec->u.sampling.period) < 0)
            return error_at(error, error_len, rec, "out of memory");
        break;
    case TRACE_REC_SAMPLED:
        if (!r->window.closed && r->sampling.sampled_period)
            note_weight(r, rec->u.sampled.address, 1, WEIGHT_PICKED);
        break;
    case TRACE_REC_END:
        r->complete = 1;
        break;
    case TRACE_REC_EXEC:
        r->ended_by_exec = 1;
        break;
    case TRACE_REC_EXEC_FAILED:
        r->ended_by_exec = 0;
        break;
    default:
        break;
    }
    return 0;
}

static void note_age(const struct live_block *b, void *ctx)
{
    struct replay *r = ctx;
    if (b->born & BORN_OUTSIDE_WINDOW)
        return;
    struct stack_info *s = replay_stack(r, b->stack);
    if (b->born < s->oldest_born_ms)
        s->oldest_born_ms = b->born;
    if (b->born > s->youngest_born_ms)
        s->youngest_born_ms = b->born;
}

void replay_finish(struct replay *r)
{
    if (!r->window.closed)
        r->window.close_ns = r->now_ns;
    series_clock_advance(&r->clock, r->window.close_ns);
    uint32_t end = series_bucket(&r->clock, r->window.close_ns);
    for (uint32_t i = 0; i < r->stack_count; i++) {
        series_finish(&r->stacks[i].series, &r->clock, end);
        r->stacks[i].oldest_born_ms = BORN_MS_MAX;
        r->stacks[i].youngest_born_ms = 0;
    }
    series_finish(&r->unknown_stack.series, &r->clock, end);
    series_finish(&r->heap_series, &r->clock, end);
    r->unknown_stack.oldest_born_ms = BORN_MS_MAX;
    r->unknown_stack.youngest_born_ms = 0;
    live_map_each(&r->live, note_age, r);
}

enum trace_status replay_file(struct replay *r, const char *path, char *error, size_t error_len)
{
    struct trace_reader reader;
    enum trace_status s = trace_reader_open(&reader, path);
    if (s != TRACE_OK) {
        snprintf(error, error_len, "%s", reader.error);
        return s;
    }
    static struct trace_record rec; /* large (a full stack): kept off the stack */
    char why[256];
    r->complete = 0;
    for (uint32_t n = 1; (s = trace_reader_next(&reader, &rec)) == TRACE_OK; n++) {
        if (r->progress && n % 4096 == 0)
            r->progress(r->progress_ctx, rec.offset);
        if (replay_apply(r, &rec, why, sizeof why) < 0) {
            snprintf(reader.error, sizeof reader.error, "%s: %s", path, why);
            s = TRACE_INVALID;
            break;
        }
    }
    s = replay_conclude(r, path, s, &reader, error, error_len);
    trace_reader_close(&reader);
    return s;
}

enum trace_status replay_conclude(struct replay *r, const char *path, enum trace_status s,
                                  const struct trace_reader *reader, char *error,
                                  size_t error_len)
{
    char message[600];
    snprintf(message, sizeof message, "%s", reader->error);
    if (r->ended_by_exec && s != TRACE_INVALID) {
        /* The image was replaced: the writer died with it, mid-record at worst. */
        r->complete = 1;
        s = TRACE_EOF;
    }
    if (s == TRACE_EOF && !r->complete) {
        snprintf(message, sizeof message,
                 "%s: the trace ends without its end record (the process did not finish it)", path);
        s = TRACE_TRUNCATED;
    }
    if (s == TRACE_TRUNCATED && r->process.seen) {
        char ring_error[512] = "";
        long long n = ring_recover(r, path, reader, ring_error, sizeof ring_error);
        size_t used = strlen(message);
        if (n > 0) {
            r->summary.recovered_events = (uint64_t)n;
            snprintf(message + used, sizeof message - used,
                     "; %lld events recovered from the ring file it left", n);
        } else if (n < 0) {
            snprintf(message + used, sizeof message - used, "; ring file ignored: %s", ring_error);
        }
    }
    if (s != TRACE_EOF)
        r->complete = 0;
    if (s != TRACE_INVALID)
        replay_finish(r);
    snprintf(error, error_len, "%s", s == TRACE_EOF ? "" : message);
    return s;
}
