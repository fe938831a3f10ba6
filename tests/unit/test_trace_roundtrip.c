/* Encode -> decode round trip through the real writer (shim/writer.c) and the real reader
 * (analyzer/trace_reader.c) and replay (analyzer/replay.c). Events are pushed into writer_ring
 * exactly as shim/record.c does (EVENT_ALLOC, EVENT_FREE, EVENT_REALLOC including
 * realloc-to-0, EVENT_NOTHING) with hand-made stacks, followed by a bulk phase large enough to
 * wrap the ring many times and to cross the trace file's 1 MiB mapping chunks. The decoded
 * stream must be exactly: PROCESS (this process), the MODULE records (this binary's with its
 * 20-byte build-id, none twice), STACK records once per distinct stack just before first use
 * with ids 0, 1, 2, ..., the events with their exact addresses, sizes and stack ids, END with
 * the exact event count, and then a clean end of file. Replaying the file must give the
 * summary and per-stack books of an independent model. It runs twice: with compression off
 * (plain records, across the 1 MiB mapping chunks) and at level 1 (CHUNK records, whose
 * records come out with their chunk's offset and their place in its content). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <link.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "guard.h"
#include "options.h"
#include "replay.h"
#include "ring.h"
#include "ring_stacks.h"
#include "trace_reader.h"
#include "writer.h"

/* ---- the expected stream ------------------------------------------------------------- */

struct stack_def {
    uint32_t depth;
    uint64_t frames[TRACE_MAX_STACK_DEPTH];
    int64_t id; /* -1 until first used by an event the writer encodes */
};

struct expect {
    enum trace_record_type type;
    uint64_t address, old_address, size;
    uint32_t stack;
    const struct stack_def *def; /* TRACE_REC_STACK */
};

static struct expect *expected;
static size_t expected_count, expected_cap;
static uint32_t next_stack_id;
static uint64_t expected_events;

static void expect(struct expect e)
{
    if (expected_count == expected_cap) {
        expected_cap = expected_cap ? 2 * expected_cap : 1024;
        expected = realloc(expected, expected_cap * sizeof *expected);
        assert_non_null(expected);
    }
    expected[expected_count++] = e;
}

static uint32_t use_stack(struct stack_def *s)
{
    if (s->id < 0) {
        s->id = next_stack_id++;
        expect((struct expect){.type = TRACE_REC_STACK, .stack = (uint32_t)s->id, .def = s});
    }
    return (uint32_t)s->id;
}

/* ---- an independent model of the replay's books --------------------------------------- */

#define MODEL_BUCKETS 65536
struct model_block {
    uint64_t address, size;
    uint32_t stack;
    struct model_block *next;
};
struct model_stack {
    uint64_t live_bytes, live_blocks, alloc_bytes, alloc_blocks;
};
static struct {
    struct model_block *buckets[MODEL_BUCKETS];
    struct model_stack stacks[16];
    uint64_t allocations, frees, unmatched, live_bytes, live_blocks, peak;
} model;

static struct model_block **model_find(uint64_t address)
{
    struct model_block **p = &model.buckets[(address >> 4) % MODEL_BUCKETS];
    while (*p && (*p)->address != address)
        p = &(*p)->next;
    return p;
}

static void model_free(uint64_t address)
{
    model.frees++;
    struct model_block **p = model_find(address), *b = *p;
    if (!b) {
        model.unmatched++;
        return;
    }
    *p = b->next;
    model.stacks[b->stack].live_bytes -= b->size;
    model.stacks[b->stack].live_blocks--;
    model.live_bytes -= b->size;
    model.live_blocks--;
    free(b);
}

static void model_alloc(uint64_t address, uint64_t size, uint32_t stack)
{
    assert_null(*model_find(address)); /* the events below never allocate a live address */
    struct model_block *b = malloc(sizeof *b);
    assert_non_null(b);
    *b = (struct model_block){address, size, stack, NULL};
    *model_find(address) = b;
    model.allocations++;
    model.stacks[stack].live_bytes += size;
    model.stacks[stack].live_blocks++;
    model.stacks[stack].alloc_bytes += size;
    model.stacks[stack].alloc_blocks++;
    model.live_bytes += size;
    model.live_blocks++;
    if (model.live_bytes > model.peak)
        model.peak = model.live_bytes;
}

static void model_clear(void)
{
    for (size_t i = 0; i < MODEL_BUCKETS; i++)
        while (model.buckets[i]) {
            struct model_block *b = model.buckets[i];
            model.buckets[i] = b->next;
            free(b);
        }
}

/* ---- producers, as shim/record.c writes into the ring ---------------------------------- */

static void push_alloc(uint64_t address, uint64_t size, struct stack_def *s)
{
    struct ring_stack st = ring_stack_plan(EVENT_ALLOC, s->frames, s->depth);
    uint64_t pos = ring_reserve(&writer_ring, st.words);
    ring_put(&writer_ring, pos, 1, address);
    ring_put(&writer_ring, pos, 2, size);
    ring_stack_put(&st, EVENT_ALLOC, pos, s->frames);
    ring_commit(&writer_ring, pos, ring_header(EVENT_ALLOC, st.words, st.stack_aux));
    seen_stacks_note(&writer_ring, st.hash);

    uint32_t id = use_stack(s);
    expect((struct expect){.type = TRACE_REC_ALLOC, .address = address, .size = size, .stack = id});
    expected_events++;
    model_alloc(address, size, id);
}

static void push_free(uint64_t address)
{
    uint64_t pos = ring_reserve(&writer_ring, EVENT_FREE_WORDS);
    ring_put(&writer_ring, pos, 1, address);
    ring_commit(&writer_ring, pos, ring_header(EVENT_FREE, EVENT_FREE_WORDS, 0));

    expect((struct expect){.type = TRACE_REC_FREE, .address = address});
    expected_events++;
    model_free(address);
}

/* record_realloc_begin + record_realloc_end: reserved (with the frames) before the real call,
 * the rest written and committed after it. result 0 with size 0 is realloc(p, 0) freeing p;
 * result 0 with size != 0 a failed call (EVENT_NOTHING). */
static void push_realloc(uint64_t old, uint64_t result, uint64_t size, struct stack_def *s)
{
    struct ring_stack st = ring_stack_plan(EVENT_REALLOC, s->frames, s->depth);
    uint64_t pos = ring_reserve(&writer_ring, st.words);
    ring_stack_put(&st, EVENT_REALLOC, pos, s->frames);
    unsigned type = result || size == 0 ? EVENT_REALLOC : EVENT_NOTHING;
    ring_put(&writer_ring, pos, 1, old);
    ring_put(&writer_ring, pos, 2, result);
    ring_put(&writer_ring, pos, 3, size);
    ring_commit(&writer_ring, pos, ring_header(type, st.words, st.stack_aux));
    if (type == EVENT_REALLOC) /* as record_realloc_end: the writer skips NOTHING records */
        seen_stacks_note(&writer_ring, st.hash);

    if (type == EVENT_NOTHING)
        return;
    if (result == 0) {
        /* the frames of a free-only record are interned all the same: the thread names the
         * stack by its hash from now on */
        if (st.stack_aux != EVENT_AUX_STACK_SEEN && s->depth)
            use_stack(s);
        expect((struct expect){.type = TRACE_REC_FREE, .address = old});
        expected_events++;
        model_free(old);
        return;
    }
    uint32_t id = use_stack(s);
    expect((struct expect){.type = TRACE_REC_REALLOC, .address = result, .old_address = old,
                           .size = size, .stack = id});
    expected_events++;
    model_free(old);
    model_alloc(result, size, id);
}

/* ---- this binary's module, found independently of shim/modules.c ---------------------- */

struct self_module {
    uint64_t bias;
    uint8_t build_id[64];
    size_t build_id_len;
};

static int find_self(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    struct self_module *self = ctx;
    if (info->dlpi_name && info->dlpi_name[0])
        return 0; /* the main program comes first, with an empty name */
    self->bias = info->dlpi_addr;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const uint8_t *name = p + sizeof *nh, *desc = name + ((nh->n_namesz + 3) & ~3u);
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4) &&
                nh->n_descsz <= sizeof self->build_id) {
                memcpy(self->build_id, desc, nh->n_descsz);
                self->build_id_len = nh->n_descsz;
                return 1;
            }
            p = desc + ((nh->n_descsz + 3) & ~3u);
        }
    }
    return 1;
}

/* ---- the test ------------------------------------------------------------------------- */

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static char dir[32];
static char trace_path[PATH_MAX];

static int remove_dir(void **state)
{
    (void)state;
    unlink(trace_path);
    rmdir(dir);
    free(expected);
    expected = NULL;
    expected_count = expected_cap = 0;
    next_stack_id = 0;
    expected_events = 0;
    model_clear();
    memset(&model, 0, sizeof model);
    return 0;
}

#define BULK 150000u
#define BULK_BASE 0x600000000000ull

static struct stack_def stacks[8];
enum { S_A, S_B, S_C, S_PREFIX, S_EMPTY, S_UNKNOWN_FRAME, S_NOTHING, S_COUNT };

__attribute__((noinline)) static void anchor(void) { __asm__ volatile(""); }

static void make_stacks(void)
{
    uint64_t base = (uint64_t)(uintptr_t)&anchor; /* inside this binary's text */
    for (int i = 0; i < S_COUNT; i++)
        stacks[i].id = -1;
    stacks[S_A] = (struct stack_def){3, {base + 1, base + 2, base + 3}, -1};
    /* 64 frames going up and down: negative deltas */
    stacks[S_B].depth = 64;
    stacks[S_B].id = -1;
    for (uint32_t i = 0; i < 64; i++)
        stacks[S_B].frames[i] = base + ((i * 37) % 64) * 8;
    stacks[S_C] = (struct stack_def){1, {base + 100}, -1};
    stacks[S_PREFIX] = (struct stack_def){2, {base + 1, base + 2}, -1}; /* a prefix of S_A */
    stacks[S_EMPTY] = (struct stack_def){0, {0}, -1};
    /* a frame outside every module: the writer rescans the modules, finding nothing new */
    stacks[S_UNKNOWN_FRAME] = (struct stack_def){2, {0x10, base + 5}, -1};
    stacks[S_NOTHING] = (struct stack_def){4, {base + 9, base + 8, base + 7, base + 6}, -1};
}

/* A fresh directory for the trace (its template in `template`, PATH_MAX bytes), the writer's
 * options for it, and the stacks. */
static struct shim_options prepare(char *template, unsigned compress)
{
    snprintf(dir, sizeof dir, "/tmp/leakshim-roundtrip-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(template, PATH_MAX, "%s/trace.%%p", dir);
    snprintf(trace_path, sizeof trace_path, "%s/trace.%d", dir, (int)getpid());
    make_stacks();
    return (struct shim_options){.output = template, .depth = 64, .buffer_bytes = 1 << 20,
                                 .interval_ms = 100, .compress = compress};
}

static void roundtrip(unsigned compress)
{
    char template[PATH_MAX];
    struct shim_options options = prepare(template, compress);

    shim_guard = 1;
    uint64_t before = realtime_ns();
    assert_int_equal(writer_start(&options), 0);
    uint64_t after = realtime_ns();
    assert_int_equal(writer_ring.capacity, (1 << 20) / 8);

    /* the hand-made events */
    push_alloc(0x555555600010, 24, &stacks[S_A]);
    push_alloc(0x555555600040, 100, &stacks[S_B]);
    push_alloc(0x7f0000001000, 1 << 20, &stacks[S_A]);             /* repeated stack */
    push_free(0x555555600010);
    push_realloc(0x7f0000001000, 0, 1ull << 40, &stacks[S_NOTHING]); /* failed: nothing */
    push_realloc(0x555555600040, 0x7f0000100000, 5000, &stacks[S_C]);
    push_realloc(0x7f0000001000, 0x7f0000001000, 2 << 20, &stacks[S_B]); /* in place */
    push_realloc(0x7f0000100000, 0, 0, &stacks[S_PREFIX]); /* realloc(p, 0): a FREE, no stack */
    push_alloc(0x555555600010, 8, &stacks[S_PREFIX]);       /* the address reused */
    push_alloc(0x555555600100, 0, &stacks[S_EMPTY]);
    push_alloc(0x555555600200, 33, &stacks[S_UNKNOWN_FRAME]);
    push_free(0xdeadbeef000);                                 /* never allocated */
    push_alloc(0x10, 1, &stacks[S_C]);                       /* a large negative delta */
    push_alloc(UINT64_MAX - 15, UINT64_MAX, &stacks[S_A]);   /* extremes */
    push_free(UINT64_MAX - 15);
    /* the bulk: ~17 MB of ring words, ~1.5 MB of trace */
    for (uint32_t k = 0; k < BULK; k++) {
        static const int cycle[] = {S_A, S_B, S_C, S_PREFIX, S_UNKNOWN_FRAME};
        push_alloc(BULK_BASE + 64ull * k, k % 977 + 1, &stacks[cycle[k % 5]]);
        if (k && (k - 1) % 3)
            push_free(BULK_BASE + 64ull * (k - 1));
    }
    push_realloc(BULK_BASE, BULK_BASE - 4096, 12345, &stacks[S_C]);
    writer_stop();
    shim_guard = 0;

    /* the file: at the expanded path, private */
    struct stat st;
    assert_int_equal(stat(trace_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    if (!compress)
        assert_true(st.st_size > (1 << 20)); /* beyond the first 1 MiB chunk */
    else
        assert_true(st.st_size < (1 << 20)); /* smaller than plain */

    /* decode */
    static struct trace_record rec;
    struct trace_reader reader;
    assert_int_equal(trace_reader_open(&reader, trace_path), TRACE_OK);

    assert_int_equal(trace_reader_next(&reader, &rec), TRACE_OK);
    assert_int_equal(rec.type, TRACE_REC_PROCESS);
    assert_int_equal(rec.offset, TRACE_HEADER_LEN);
    assert_int_equal(rec.u.process.pid, (uint64_t)getpid());
    assert_int_equal(rec.u.process.ppid, (uint64_t)getppid());
    assert_int_equal(rec.u.process.depth, 64);
    assert_in_range(rec.u.process.start_ns, before, after);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = 0;
    assert_string_equal(rec.u.process.exe, exe);
    /* how allocations are recorded, right after: all of them (LEAKSHIM_SAMPLE unset) */
    assert_int_equal(trace_reader_next(&reader, &rec), TRACE_OK);
    assert_int_equal(rec.type, TRACE_REC_SAMPLING);
    assert_int_equal(rec.u.sampling.period, 0);

    struct self_module self = {0};
    dl_iterate_phdr(find_self, &self);
    assert_int_equal(self.build_id_len, 20); /* the toolchain's default; the test relies on it */
    uint64_t here = (uint64_t)(uintptr_t)&anchor;

    enum trace_status s;
    size_t modules = 0, self_found = 0, e = 0;
    static struct { uint64_t start, end; char path[TRACE_MAX_PATH + 1]; } seen_modules[256];
    uint64_t last_offset = rec.offset, last_time = 0, times = 0, decoded_events = 0;
    uint64_t samples = 0, last_sample = 0, allocations = 0, frees = 0, allocated_bytes = 0;
    int64_t last_chunk_pos = rec.chunk_pos;
    uint64_t chunks = compress ? 1 : 0, plain = compress ? 0 : 1;
    /* SAMPLING follows PROCESS in the first chunk */
    assert_true(compress ? rec.chunk_pos > 0 : rec.chunk_pos == -1);
    while ((s = trace_reader_next(&reader, &rec)) == TRACE_OK) {
        /* plain: offsets grow; chunked: records share their chunk's offset, their positions
           in its content grow, and every record is in a chunk */
        if (rec.offset == last_offset) {
            assert_true(compress && rec.chunk_pos > last_chunk_pos);
        } else {
            assert_true(rec.offset > last_offset);
            assert_true(rec.chunk_pos == (compress ? 0 : -1));
            chunks += compress != 0;
            plain += compress == 0;
        }
        last_offset = rec.offset;
        last_chunk_pos = rec.chunk_pos;
        if (rec.type == TRACE_REC_TIME) {
            /* at most every 1 ms, after an event, increasing */
            assert_true(decoded_events > 0);
            assert_true(rec.u.time.ns >= last_time + 1000000ull);
            last_time = rec.u.time.ns;
            times++;
            continue;
        }
        if (rec.type == TRACE_REC_SAMPLE) {
            /* the writer's running totals match the events before it, exactly */
            assert_int_equal(rec.u.sample.allocations, allocations);
            assert_int_equal(rec.u.sample.frees, frees);
            assert_int_equal(rec.u.sample.allocated_bytes, allocated_bytes);
            assert_true(rec.u.sample.rss_bytes > 1 << 20);
            assert_true(samples == 0 || rec.u.sample.ns >= last_sample);
            last_sample = last_time = rec.u.sample.ns;
            samples++;
            continue;
        }
        if (rec.type == TRACE_REC_MODULE) {
            /* all of them before the first stack: no module appeared later */
            assert_int_equal(e, 0);
            assert_true(rec.u.module.start < rec.u.module.end);
            assert_true(rec.u.module.path[0] == '/');
            for (size_t i = 0; i < modules && i < 256; i++)
                if (seen_modules[i].start == rec.u.module.start &&
                    seen_modules[i].end == rec.u.module.end &&
                    !strcmp(seen_modules[i].path, rec.u.module.path))
                    fail_msg("module %s written twice", rec.u.module.path);
            if (modules < 256) {
                seen_modules[modules].start = rec.u.module.start;
                seen_modules[modules].end = rec.u.module.end;
                memcpy(seen_modules[modules].path, rec.u.module.path, sizeof rec.u.module.path);
            }
            modules++;
            if (here >= rec.u.module.start && here < rec.u.module.end) {
                self_found++;
                assert_string_equal(rec.u.module.path, exe);
                assert_int_equal(rec.u.module.bias, self.bias);
                assert_int_equal(rec.u.module.build_id_len, 20);
                assert_memory_equal(rec.u.module.build_id, self.build_id, 20);
            }
            continue;
        }
        if (rec.type == TRACE_REC_END)
            break;
        if (e >= expected_count)
            fail_msg("record of type %u at offset %llu: more records than expected", rec.type,
                     (unsigned long long)rec.offset);
        const struct expect *x = &expected[e];
        if (rec.type != x->type)
            fail_msg("record %zu at offset %llu: type %u, expected %u", e,
                     (unsigned long long)rec.offset, rec.type, x->type);
        switch (rec.type) {
        case TRACE_REC_STACK:
            assert_int_equal(rec.u.stack.id, x->stack);
            assert_int_equal(rec.u.stack.depth, x->def->depth);
            if (x->def->depth)
                assert_memory_equal(rec.u.stack.frames, x->def->frames, x->def->depth * 8);
            break;
        case TRACE_REC_ALLOC:
            assert_int_equal(rec.u.alloc.address, x->address);
            assert_int_equal(rec.u.alloc.size, x->size);
            assert_int_equal(rec.u.alloc.stack, x->stack);
            decoded_events++;
            allocations++;
            allocated_bytes += x->size;
            break;
        case TRACE_REC_REALLOC:
            assert_int_equal(rec.old_address, x->old_address);
            assert_int_equal(rec.u.alloc.address, x->address);
            assert_int_equal(rec.u.alloc.size, x->size);
            assert_int_equal(rec.u.alloc.stack, x->stack);
            decoded_events++;
            allocations++;
            frees++;
            allocated_bytes += x->size;
            break;
        case TRACE_REC_FREE:
            assert_int_equal(rec.u.free.address, x->address);
            decoded_events++;
            frees++;
            break;
        default:
            fail_msg("unexpected record type %u at offset %llu", rec.type,
                     (unsigned long long)rec.offset);
        }
        e++;
    }
    assert_int_equal(s, TRACE_OK);
    assert_int_equal(rec.type, TRACE_REC_END);
    assert_int_equal(e, expected_count);
    assert_int_equal(rec.u.end.events, expected_events);
    assert_int_equal(decoded_events, expected_events);
    assert_int_equal(self_found, 1);
    assert_true(modules >= 2); /* this binary and at least libc */
    assert_int_equal(next_stack_id, 6);
    /* the time line's first point (nothing yet) and last (every event) at least */
    assert_true(samples >= 2);
    /* END is last and the file ends right after it */
    assert_int_equal(trace_reader_next(&reader, &rec), TRACE_EOF);
    trace_reader_close(&reader);
    (void)times;
    if (compress) /* ~5 bytes per event: at least 8 chunks of TRACE_STAGING_BYTES */
        assert_true(chunks >= (5 * expected_events) / TRACE_STAGING_BYTES);
    assert_true(chunks + plain > 8);

    /* replay */
    struct replay r;
    char error[512];
    assert_int_equal(replay_init(&r), 0);
    s = replay_file(&r, trace_path, error, sizeof error);
    assert_int_equal(s, TRACE_EOF);
    assert_string_equal(error, "");
    assert_int_equal(r.complete, 1);
    assert_int_equal(r.process.seen, 1);
    assert_int_equal(r.process.pid, (uint64_t)getpid());
    assert_int_equal(r.process.depth, 64);
    assert_int_equal(r.summary.allocations, model.allocations);
    assert_int_equal(r.summary.frees, model.frees);
    assert_int_equal(r.summary.unmatched_frees, model.unmatched);
    assert_int_equal(r.summary.unmatched_frees, 1);
    assert_int_equal(r.summary.live_bytes, model.live_bytes);
    assert_int_equal(r.summary.live_blocks, model.live_blocks);
    assert_int_equal(r.summary.peak_bytes, model.peak);
    assert_int_equal(r.summary.lost_events, 0);
    assert_int_equal(r.stack_count, next_stack_id);
    for (uint32_t id = 0; id < next_stack_id; id++) {
        struct stack_info *si = replay_stack(&r, id);
        assert_non_null(si);
        assert_int_equal(si->live_bytes, model.stacks[id].live_bytes);
        assert_int_equal(si->live_blocks, model.stacks[id].live_blocks);
        assert_int_equal(si->alloc_bytes, model.stacks[id].alloc_bytes);
        assert_int_equal(si->alloc_blocks, model.stacks[id].alloc_blocks);
    }
    for (int i = 0; i < S_COUNT; i++) {
        if (stacks[i].id < 0)
            continue;
        struct stack_info *si = replay_stack(&r, (uint32_t)stacks[i].id);
        assert_int_equal(si->depth, stacks[i].depth);
        if (stacks[i].depth)
            assert_memory_equal(si->frames, stacks[i].frames, stacks[i].depth * 8);
    }
    assert_int_equal(stacks[S_NOTHING].id, -1);
    assert_null(replay_stack(&r, next_stack_id));

    /* a few numbers worked out by hand, independent of the model: the hand-made part leaves
     * 0x7f0000001000 (2 MiB, S_B), 0x555555600010 (8, S_PREFIX), 0x555555600100 (0, S_EMPTY),
     * 0x555555600200 (33, S_UNKNOWN_FRAME) and 0x10 (1, S_C) live */
    uint64_t hand_live = (2u << 20) + 8 + 0 + 33 + 1;
    uint64_t bulk_live_bytes = 0, bulk_live_blocks = 0;
    for (uint32_t k = 0; k < BULK; k++)
        if (k % 3 == 0 || k == BULK - 1) {
            bulk_live_bytes += k % 977 + 1;
            bulk_live_blocks++;
        }
    /* the final realloc moved bulk block 0 (1 byte) to a 12345-byte block */
    assert_int_equal(r.summary.live_bytes, hand_live + bulk_live_bytes - 1 + 12345);
    assert_int_equal(r.summary.live_blocks, 5 + bulk_live_blocks);
    assert_int_equal(r.summary.allocations, 8 + 2 + BULK + 1);
    replay_free(&r);
}

/* An ALLOC ring record whose stack goes by `hash`, with its frames or (seen) without. */
static void push_alloc_hashed(uint64_t address, uint64_t size, const struct stack_def *s,
                              uint64_t hash, int seen)
{
    struct ring_stack st = {hash, EVENT_ALLOC_FIXED_WORDS + (seen ? 0 : s->depth),
                            seen ? EVENT_AUX_STACK_SEEN : s->depth};
    uint64_t pos = ring_reserve(&writer_ring, st.words);
    ring_put(&writer_ring, pos, 1, address);
    ring_put(&writer_ring, pos, 2, size);
    ring_stack_put(&st, EVENT_ALLOC, pos, s->frames);
    ring_commit(&writer_ring, pos, ring_header(EVENT_ALLOC, st.words, st.stack_aux));
}

/* Two different stacks that come with one hash (forced here; about 2^-64 for two real ones):
 * the writer gives the second its own STACK record and says in a LOST record (cause
 * TRACE_LOST_STACK_HASH) that events may be misplaced; a record naming the hash alone counts
 * under the first. A hash the writer never saw frames for gives the unknown stack. */
static void test_stack_hash_collision(void **state)
{
    (void)state;
    char template[PATH_MAX];
    struct shim_options options = prepare(template, 1);
    const uint64_t hash = 0x0123456789abcdefull;
    shim_guard = 1;
    assert_int_equal(writer_start(&options), 0);
    push_alloc_hashed(0x1000, 10, &stacks[S_A], hash, 0);
    push_alloc_hashed(0x2000, 200, &stacks[S_B], hash, 0); /* other frames, same hash */
    push_alloc_hashed(0x3000, 3000, &stacks[S_B], hash, 1);
    push_alloc_hashed(0x4000, 40000, &stacks[S_C], hash + 1, 1); /* never sent in full */
    writer_stop();
    shim_guard = 0;

    struct replay r;
    char error[512];
    assert_int_equal(replay_init(&r), 0);
    assert_int_equal(replay_file(&r, trace_path, error, sizeof error), TRACE_EOF);
    assert_int_equal(r.complete, 1);
    assert_int_equal(r.summary.lost_events, 1);
    assert_int_equal(r.summary.allocations, 4);
    assert_int_equal(r.stack_count, 2);
    const struct stack_info *a = replay_stack(&r, 0), *b = replay_stack(&r, 1);
    assert_int_equal(a->depth, stacks[S_A].depth);
    assert_memory_equal(a->frames, stacks[S_A].frames, stacks[S_A].depth * 8);
    assert_int_equal(b->depth, stacks[S_B].depth);
    assert_memory_equal(b->frames, stacks[S_B].frames, stacks[S_B].depth * 8);
    assert_int_equal(a->live_bytes, 10 + 3000);
    assert_int_equal(a->live_blocks, 2);
    assert_int_equal(b->live_bytes, 200);
    assert_int_equal(r.unknown_stack.live_bytes, 40000);
    replay_free(&r);
}

static void test_roundtrip_plain(void **state)
{
    (void)state;
    roundtrip(0);
}

static void test_roundtrip_compressed(void **state)
{
    (void)state;
    roundtrip(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_roundtrip_plain, remove_dir),
        cmocka_unit_test_teardown(test_roundtrip_compressed, remove_dir),
        cmocka_unit_test_teardown(test_stack_hash_collision, remove_dir),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
