/* Trace replay; see replay.h. */
#include "replay.h"

#include "ring_recovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int replay_init(struct replay *r)
{
    memset(r, 0, sizeof *r);
    live_map_init(&r->live);
    r->sym = symbolizer_new();
    return r->sym ? 0 : -1;
}

void replay_free(struct replay *r)
{
    for (uint32_t i = 0; i < r->stack_count; i++) {
        free(r->stacks[i].frames);
        free(r->stacks[i].modules);
    }
    free(r->stacks);
    live_map_free(&r->live);
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
    for (uint32_t i = 0; i < depth; i++)
        s->modules[i] = symbolizer_find_module(r->sym, s->frames[i]);
    r->stack_count++;
    return 0;
}

static void count_alloc(struct replay *r, struct stack_info *s, uint64_t address, uint64_t size,
                        uint32_t stack_id)
{
    struct live_block b = {address, size, stack_id}, old;
    if (live_map_put(&r->live, &b, &old) == 1) {
        /* The address was live: its free was never seen. Keep the books straight. */
        struct stack_info *prev = replay_stack(r, old.stack);
        prev->live_bytes -= old.size;
        prev->live_blocks--;
        r->summary.live_bytes -= old.size;
        r->summary.live_blocks--;
    }
    s->live_bytes += size;
    s->live_blocks++;
    s->alloc_bytes += size;
    s->alloc_blocks++;
    r->summary.allocations++;
    r->summary.live_bytes += size;
    r->summary.live_blocks++;
    if (r->summary.live_bytes > r->summary.peak_bytes)
        r->summary.peak_bytes = r->summary.live_bytes;
}

static void count_free(struct replay *r, uint64_t address)
{
    struct live_block b;
    r->summary.frees++;
    if (live_map_take(&r->live, address, &b) < 0) {
        r->summary.unmatched_frees++;
        return;
    }
    struct stack_info *s = replay_stack(r, b.stack);
    s->live_bytes -= b.size;
    s->live_blocks--;
    r->summary.live_bytes -= b.size;
    r->summary.live_blocks--;
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
        if (rec->type == TRACE_REC_REALLOC)
            count_free(r, rec->old_address);
        count_alloc(r, s, rec->u.alloc.address, rec->u.alloc.size, rec->u.alloc.stack);
        break;
    case TRACE_REC_FREE:
        count_free(r, rec->u.free.address);
        break;
    case TRACE_REC_TIME:
        r->summary.last_time_ns = rec->u.time.ns;
        break;
    case TRACE_REC_LOST:
        r->summary.lost_events += rec->u.lost.count;
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
    while ((s = trace_reader_next(&reader, &rec)) == TRACE_OK) {
        if (replay_apply(r, &rec, why, sizeof why) < 0) {
            snprintf(reader.error, sizeof reader.error, "%s: %s", path, why);
            s = TRACE_INVALID;
            break;
        }
    }
    if (r->ended_by_exec && s != TRACE_INVALID) {
        /* The image was replaced: the writer died with it, mid-record at worst. */
        r->complete = 1;
        s = TRACE_EOF;
    }
    if (s == TRACE_EOF && !r->complete) {
        snprintf(reader.error, sizeof reader.error,
                 "%s: the trace ends without its end record (the process did not finish it)", path);
        s = TRACE_TRUNCATED;
    }
    if (s == TRACE_TRUNCATED && r->process.seen) {
        char ring_error[512] = "";
        long long n = ring_recover(r, path, reader.records_end, ring_error, sizeof ring_error);
        size_t used = strlen(reader.error);
        if (n > 0) {
            r->summary.recovered_events = (uint64_t)n;
            snprintf(reader.error + used, sizeof reader.error - used,
                     "; %lld events recovered from the ring file it left", n);
        } else if (n < 0) {
            snprintf(reader.error + used, sizeof reader.error - used, "; ring file ignored: %s",
                     ring_error);
        }
    }
    if (s != TRACE_EOF)
        r->complete = 0;
    snprintf(error, error_len, "%s", s == TRACE_EOF ? "" : reader.error);
    trace_reader_close(&reader);
    return s;
}
