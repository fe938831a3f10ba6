/* Replaying what a killed process left in its ring file; see ring_recovery.h. The staged
 * records are trace records and replay as such; the ring's records are raw events, and the
 * stacks of recovered allocations are found by the hash the hooks name them by (events.h) among
 * the stacks the trace and the staged records defined, and defined anew from the record's
 * frames when neither wrote them.
 *
 * Under sampling, ring records are read as the writer reads them (event_effect(), events.h) in
 * the mode the trace was in at its cut: a switch the writer had decided but not yet written is
 * not in the ring, so records made in the new mode are read in the old one (picks made while
 * everything was recorded count as sampled, and the reverse). */
#include "ring_recovery.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events.h"
#include "ring.h"
#include "stack_hash.h"
#include "uthash.h"

#define RING_MAX_CAPACITY (1ull << 27) /* words: the shim's 1 GiB limit */

/* The stacks the trace defined, by the hash the hooks name them by (stack_hash.h): for each
 * hash the latest stack defined with it, as the writer's table gives after a dlclose made it
 * define a stack again (two different stacks with one hash: the first, as in the writer). */
struct stack_key {
    UT_hash_handle hh;
    uint64_t hash;
    uint32_t id;
};

struct recovery {
    struct replay *r;
    struct stack_key *index;
    const _Atomic uint64_t *words;
    uint64_t mask;
    char *error;
    size_t error_len;
};

static int same_frames(const struct stack_info *a, const struct stack_info *b)
{
    return a->depth == b->depth && memcmp(a->frames, b->frames, a->depth * sizeof *a->frames) == 0;
}

static int index_stack(struct recovery *rc, uint32_t id)
{
    const struct stack_info *s = &rc->r->stacks[id];
    uint64_t hash = stack_hash(s->frames, s->depth);
    struct stack_key *k;
    HASH_FIND(hh, rc->index, &hash, sizeof hash, k);
    if (k) {
        if (same_frames(&rc->r->stacks[k->id], s))
            k->id = id;
        return 0;
    }
    k = malloc(sizeof *k);
    if (!k)
        return -1;
    k->hash = hash;
    k->id = id;
    HASH_ADD(hh, rc->index, hash, sizeof k->hash, k);
    return 0;
}

/* The id of the stack an ALLOC or REALLOC ring record with aux `aux` names: by its hash, and
 * for a record with frames, the stack with these frames, defined in the replay if new.
 * TRACE_STACK_UNKNOWN for a hash the trace never defined; -1 on out of memory. */
static long long stack_id(struct recovery *rc, unsigned type, const uint64_t *rec, uint32_t aux)
{
    uint32_t fixed = event_fixed_words(type), depth = aux & EVENT_AUX_DEPTH_MASK;
    uint64_t hash = rec[fixed - 1];
    struct stack_key *k;
    HASH_FIND(hh, rc->index, &hash, sizeof hash, k);
    if (aux & EVENT_AUX_STACK_SEEN)
        return k ? k->id : TRACE_STACK_UNKNOWN;
    static struct trace_record rec_out;
    rec_out.type = TRACE_REC_STACK;
    rec_out.u.stack.id = rc->r->stack_count;
    rec_out.u.stack.depth = depth;
    memcpy(rec_out.u.stack.frames, rec + fixed, depth * sizeof *rec);
    struct stack_info wanted = {.frames = rec_out.u.stack.frames, .depth = depth};
    if (k && same_frames(&rc->r->stacks[k->id], &wanted))
        return k->id;
    char why[128];
    if (replay_apply(rc->r, &rec_out, why, sizeof why) < 0 || index_stack(rc, rec_out.u.stack.id) < 0)
        return -1;
    return rec_out.u.stack.id;
}

/* Applies an ALLOC, REALLOC or FREE ring record as the writer would have written it. Returns
 * 1 if it was an event, 0 if sampling leaves nothing of it, -1 on failure. */
static int apply_block_event(struct recovery *rc, unsigned type, const uint64_t *rec,
                             struct trace_record *out)
{
    uint32_t aux = ring_header_aux(rec[0]), depth = aux & EVENT_AUX_DEPTH_MASK;
    struct replay *r = rc->r;
    struct event_effect e = event_effect(type, aux, rec, r->sampling.period != 0);
    char why[128];
    if (!e.allocated) {
        if (type != EVENT_FREE && !(aux & EVENT_AUX_STACK_SEEN) && depth &&
            stack_id(rc, type, rec, aux) < 0) /* the hooks name it by its hash from now on */
            return -1;
        if (!e.freed)
            return 0;
        out->type = TRACE_REC_FREE;
        out->u.free.address = e.freed;
        return replay_apply(r, out, why, sizeof why) < 0 ? -1 : 1;
    }
    long long id = stack_id(rc, type, rec, aux);
    if (id < 0)
        return -1;
    out->type = e.freed ? TRACE_REC_REALLOC : TRACE_REC_ALLOC;
    out->old_address = e.freed;
    out->u.alloc.address = e.allocated;
    out->u.alloc.size = e.size;
    out->u.alloc.stack = (uint32_t)id;
    if (replay_apply(r, out, why, sizeof why) < 0)
        return -1;
    if (e.picked && !r->sampling.period && r->sampling.sampled_period) {
        memset(out, 0, sizeof *out);
        out->type = TRACE_REC_SAMPLED;
        out->u.sampled.address = e.allocated;
        if (replay_apply(r, out, why, sizeof why) < 0)
            return -1;
    }
    return 1;
}

/* Applies the ring record `rec` of `n` words. Returns 1 if it was an event, 0 if it was an
 * empty reservation (or sampling leaves nothing of it), -1 if it is malformed. */
static int apply_record(struct recovery *rc, const uint64_t *rec, uint32_t n)
{
    static struct trace_record out;
    uint32_t depth = ring_header_aux(rec[0]);
    uint32_t frames = depth & EVENT_AUX_DEPTH_MASK;
    unsigned type = ring_header_type(rec[0]);
    memset(&out, 0, sizeof out);
    if ((type == EVENT_FREE && n == EVENT_FREE_WORDS) ||
        ((type == EVENT_ALLOC || type == EVENT_REALLOC) && frames <= TRACE_MAX_STACK_DEPTH &&
         n == event_fixed_words(type) + frames &&
         (!(depth & EVENT_AUX_STACK_SEEN) || frames == 0))) {
        return apply_block_event(rc, type, rec, &out);
    } else if (type == EVENT_MARK && depth == MARK_AUX_SIGNAL && n == 2) {
        out.type = TRACE_REC_MARK;
        out.u.mark.ns = rc->r->now_ns; /* the ring has no times: as late as the trace knows */
        out.u.mark.origin = TRACE_MARK_SIGNAL;
        snprintf(out.u.mark.name, sizeof out.u.mark.name, "signal-%llu", (unsigned long long)rec[1]);
    } else if (type == EVENT_MARK && depth <= TRACE_MAX_MARK_NAME && (uint64_t)(n - 1) * 8 >= depth) {
        out.type = TRACE_REC_MARK;
        out.u.mark.ns = rc->r->now_ns;
        out.u.mark.origin = TRACE_MARK_CALL;
        memcpy(out.u.mark.name, rec + 1, depth);
        out.u.mark.name[depth] = 0;
    } else if (type == EVENT_EXEC || type == EVENT_EXEC_FAILED) {
        out.type = type == EVENT_EXEC ? TRACE_REC_EXEC : TRACE_REC_EXEC_FAILED;
    } else if (type == EVENT_NOTHING) {
        return 0;
    } else {
        return -1;
    }
    char why[128];
    return replay_apply(rc->r, &out, why, sizeof why) < 0 ? -1 : 1;
}

static uint32_t read_record(const struct recovery *rc, uint64_t pos, uint64_t *out)
{
    uint64_t header = rc->words[pos & rc->mask];
    uint32_t n = ring_header_words(header);
    if (!header || n == 0 || n > RING_MAX_RECORD_WORDS)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        out[i] = rc->words[(pos + i) & rc->mask];
    return n;
}

/* Walks the committed records from `pos`, the first one the trace lacks, up to the first gap. */
static long long replay_ring(struct recovery *rc, const struct ring_file_header *h, uint64_t pos)
{
    static uint64_t rec[RING_MAX_RECORD_WORDS];
    uint32_t n;
    long long events = 0;
    for (uint64_t walked = 0; walked < h->capacity && (n = read_record(rc, pos, rec)) != 0;
         pos += n, walked += n) {
        int applied = apply_record(rc, rec, n);
        if (applied < 0) {
            snprintf(rc->error, rc->error_len, "ring position %llu: malformed record",
                     (unsigned long long)pos);
            return -1;
        }
        events += applied;
    }
    return events;
}

/* Replays the staged records; returns the number of events among them, or -1 with the
 * reason in rc->error. */
static long long replay_staged(struct recovery *rc, const uint8_t *staged, size_t n,
                               uint64_t last_address)
{
    static struct trace_record rec;
    struct trace_reader reader;
    trace_reader_open_records(&reader, staged, n, "staged records", last_address);
    enum trace_status s;
    long long events = 0;
    char why[256];
    while ((s = trace_reader_next(&reader, &rec)) == TRACE_OK) {
        if (replay_apply(rc->r, &rec, why, sizeof why) < 0) {
            snprintf(rc->error, rc->error_len, "staged records: %.200s", why);
            trace_reader_close(&reader);
            return -1;
        }
        events += rec.type == TRACE_REC_ALLOC || rec.type == TRACE_REC_FREE ||
                  rec.type == TRACE_REC_REALLOC;
    }
    if (s != TRACE_EOF)
        snprintf(rc->error, rc->error_len, "%.230s", reader.error);
    trace_reader_close(&reader);
    return s == TRACE_EOF ? events : -1;
}

static int header_fits(const struct ring_file_header *h, const struct replay *r, uint64_t size)
{
    return memcmp(h->magic, RING_FILE_MAGIC, sizeof h->magic) == 0 &&
           h->version == RING_FILE_VERSION && h->header_bytes == RING_FILE_HEADER_BYTES &&
           h->capacity >= 2 * RING_MAX_RECORD_WORDS && h->capacity <= RING_MAX_CAPACITY &&
           (h->capacity & (h->capacity - 1)) == 0 && h->staging_bytes <= TRACE_MAX_CHUNK_CONTENT &&
           size == RING_FILE_HEADER_BYTES + h->staging_bytes + h->capacity * sizeof(uint64_t) &&
           h->pid == r->process.pid && h->start_ns == r->process.start_ns;
}

/* Replays the staged records if the trace lacks them (trace_format.h says how to tell), then
 * the ring's records. Returns the number of events, or -1 with the reason in rc->error. */
static long long recover(struct recovery *rc, const struct ring_file_header *h,
                         const struct trace_reader *reader)
{
    const struct ring_file_state *state = &h->states[h->commits & 1];
    long long events = 0;
    if (state->staged > h->staging_bytes) {
        snprintf(rc->error, rc->error_len, "%llu bytes staged in a staging area of %llu",
                 (unsigned long long)state->staged, (unsigned long long)h->staging_bytes);
        return -1;
    }
    uint64_t end = reader->records_end;
    const uint8_t *staged = (const uint8_t *)h + RING_FILE_HEADER_BYTES;
    if (end == state->trace_end) {
        events = replay_staged(rc, staged, state->staged, reader->last_address);
    } else if (state->flush_plain && end > state->trace_end && end < state->flush_end &&
               end - state->trace_end <= state->staged) { /* a part of them is in the trace */
        uint64_t in_trace = end - state->trace_end;
        events = replay_staged(rc, staged + in_trace, state->staged - in_trace, reader->last_address);
    } else if (state->flush_end == 0 || end != state->flush_end) {
        snprintf(rc->error, rc->error_len,
                 "the trace's records end at offset %llu, where the ring file expects %llu",
                 (unsigned long long)reader->records_end, (unsigned long long)state->trace_end);
        return -1;
    } /* else the staged records were appended: the trace has them */
    for (uint32_t i = 0; i < rc->r->stack_count && events >= 0; i++)
        if (index_stack(rc, i) < 0)
            events = -1;
    long long from_ring = events < 0 ? -1 : replay_ring(rc, h, state->position);
    return from_ring < 0 ? -1 : events + from_ring;
}

long long ring_recover(struct replay *r, const char *trace_path, const struct trace_reader *reader,
                       char *error, size_t error_len)
{
    char path[4096 + 16];
    if (ring_file_path(trace_path, path, sizeof path) < 0)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return 0;
    struct stat st;
    void *map = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size >= RING_FILE_HEADER_BYTES)
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(error, error_len, "%s: not a leakshim ring file", path);
        return -1;
    }
    const struct ring_file_header *h = map;
    long long events = -1;
    char why[256] = "";
    struct recovery rc = {.r = r, .error = why, .error_len = sizeof why};
    if (!header_fits(h, r, (uint64_t)st.st_size)) {
        snprintf(why, sizeof why, "not the ring file of this trace");
    } else {
        rc.words = (const _Atomic uint64_t *)((const char *)map + RING_FILE_HEADER_BYTES +
                                              h->staging_bytes);
        rc.mask = h->capacity - 1;
        events = recover(&rc, h, reader);
    }
    struct stack_key *k, *tmp;
    HASH_ITER(hh, rc.index, k, tmp) {
        HASH_DEL(rc.index, k);
        free(k);
    }
    munmap(map, (size_t)st.st_size);
    if (events < 0)
        snprintf(error, error_len, "%s: %s", path, why[0] ? why : "out of memory");
    return events;
}
