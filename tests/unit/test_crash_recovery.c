/* A process killed at any point of the writer's output path loses no event and counts none
 * twice: the real writer (shim/writer.c, staging.c, tracefile.c) runs on events pushed into
 * writer_ring as shim/record.c pushes them, and the test copies the trace and its ring file,
 * as a SIGKILL would leave them, at every point between two steps of the commit protocol
 * (trace_format.h, "the ring file"): before each staging commit, before each ring release,
 * before an append, after each byte of a chunk's header, after each quarter of its frame (a
 * chunk half copied) and after the append, before its last commit. Each copy is replayed as
 * `leakshim report` replays a killed process's trace (replay_file, with the ring recovery),
 * and its books must match a model of every event pushed so far exactly: allocations, frees,
 * live bytes and blocks, no unmatched free, no complaint about the ring file. It runs with
 * compression at level 1 (CHUNK records) and off (plain records, appended at every commit).
 *
 * The copy points are reached through the linker's --wrap of staging_commit, ring_release,
 * tracefile_append and tracefile_append_record (tests/tests.mk). The producer pushes in
 * batches under a lock that each copy takes too, so a copy never sees half a batch. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "guard.h"
#include "options.h"
#include "replay.h"
#include "ring.h"
#include "ring_stacks.h"
#include "tracefile.h"
#include "writer.h"

/* ---- the model of what was pushed ---------------------------------------------------- */

#define SLOTS 256
#define BASE 0x500000000000ull
#define STACKS 40
#define DEPTH 6

static struct {
    uint64_t address[SLOTS], size[SLOTS]; /* address 0: the slot is empty */
    uint64_t allocations, frees, live_bytes, live_blocks;
    uint64_t next_address;
} model;

static uint64_t frames[STACKS][DEPTH];

__attribute__((noinline)) static void anchor(void) { __asm__ volatile(""); }

static void make_frames(void)
{
    uint64_t base = (uint64_t)(uintptr_t)&anchor;
    for (unsigned s = 0; s < STACKS; s++)
        for (unsigned i = 0; i < DEPTH; i++)
            frames[s][i] = base + 16 * ((s * 7 + i * 3) % 64) + i;
}

static void push_alloc(unsigned slot, uint64_t size, unsigned stack)
{
    struct ring_stack st = ring_stack_plan(EVENT_ALLOC, frames[stack], DEPTH);
    uint64_t address = model.next_address += 64;
    uint64_t pos = ring_reserve(&writer_ring, st.words);
    ring_put(&writer_ring, pos, 1, address);
    ring_put(&writer_ring, pos, 2, size);
    ring_stack_put(&st, EVENT_ALLOC, pos, frames[stack]);
    ring_commit(&writer_ring, pos, ring_header(EVENT_ALLOC, st.words, st.stack_aux));
    seen_stacks_note(&writer_ring, st.hash);
    model.address[slot] = address;
    model.size[slot] = size;
    model.allocations++;
    model.live_bytes += size;
    model.live_blocks++;
}

static void push_free(unsigned slot)
{
    uint64_t pos = ring_reserve(&writer_ring, EVENT_FREE_WORDS);
    ring_put(&writer_ring, pos, 1, model.address[slot]);
    ring_commit(&writer_ring, pos, ring_header(EVENT_FREE, EVENT_FREE_WORDS, 0));
    model.frees++;
    model.live_bytes -= model.size[slot];
    model.live_blocks--;
    model.address[slot] = 0;
}

static void push_realloc(unsigned slot, uint64_t size, unsigned stack)
{
    struct ring_stack st = ring_stack_plan(EVENT_REALLOC, frames[stack], DEPTH);
    uint64_t address = model.next_address += 64;
    uint64_t pos = ring_reserve(&writer_ring, st.words);
    ring_stack_put(&st, EVENT_REALLOC, pos, frames[stack]);
    ring_put(&writer_ring, pos, 1, model.address[slot]);
    ring_put(&writer_ring, pos, 2, address);
    ring_put(&writer_ring, pos, 3, size);
    ring_commit(&writer_ring, pos, ring_header(EVENT_REALLOC, st.words, st.stack_aux));
    seen_stacks_note(&writer_ring, st.hash);
    model.frees++;
    model.allocations++;
    model.live_bytes += size - model.size[slot];
    model.address[slot] = address;
    model.size[slot] = size;
}

/* ---- copies, taken at the protocol's steps ------------------------------------------- */

static pthread_mutex_t producer_lock = PTHREAD_MUTEX_INITIALIZER;
static int copying;      /* the wraps take copies while set */
static unsigned skip;    /* take every (skip + 1)-th copy of an event's steps */
static char dir[32], copy_dir[32], trace_path[PATH_MAX];
static unsigned copies, event_steps, failures;
static char first_failure[1024];

static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    static char buf[1 << 16];
    ssize_t n;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            break;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
}

static void failed(const char *where, const char *fmt, ...)
{
    if (failures++)
        return;
    int n = snprintf(first_failure, sizeof first_failure, "copy %u (%s): ", copies, where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(first_failure + n, sizeof first_failure - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Copies the trace and its ring file as they are now and checks what a replay recovers. */
static void check_copy(const char *where)
{
    if (!copying)
        return;
    pthread_mutex_lock(&producer_lock);
    char from[PATH_MAX + 16], to[PATH_MAX + 16], copy_trace[PATH_MAX];
    snprintf(copy_trace, sizeof copy_trace, "%s/trace", copy_dir);
    copy_file(trace_path, copy_trace);
    ring_file_path(trace_path, from, sizeof from);
    ring_file_path(copy_trace, to, sizeof to);
    unlink(to);
    if (access(from, F_OK) == 0)
        copy_file(from, to);
    copies++;
    struct replay r;
    char error[1024];
    if (replay_init(&r) < 0) {
        failed(where, "out of memory");
    } else {
        enum trace_status s = replay_file(&r, copy_trace, error, sizeof error);
        const struct replay_summary *m = &r.summary;
        if (s == TRACE_INVALID || strstr(error, "ring file ignored"))
            failed(where, "status %d: %s", s, error);
        else if (m->allocations != model.allocations || m->frees != model.frees ||
                 m->live_bytes != model.live_bytes || m->live_blocks != model.live_blocks ||
                 m->unmatched_frees != 0)
            failed(where,
                   "replayed %llu allocations, %llu frees, %llu live bytes in %llu blocks, %llu "
                   "unmatched frees; pushed %llu, %llu, %llu in %llu (%s)",
                   (unsigned long long)m->allocations, (unsigned long long)m->frees,
                   (unsigned long long)m->live_bytes, (unsigned long long)m->live_blocks,
                   (unsigned long long)m->unmatched_frees, (unsigned long long)model.allocations,
                   (unsigned long long)model.frees, (unsigned long long)model.live_bytes,
                   (unsigned long long)model.live_blocks, error);
        replay_free(&r);
    }
    pthread_mutex_unlock(&producer_lock);
}

/* An event's steps are many: every (skip + 1)-th is copied. */
static void check_event_step(const char *where)
{
    if (event_steps++ % (skip + 1) == 0)
        check_copy(where);
}

void __real_staging_commit(uint64_t position);
void __wrap_staging_commit(uint64_t position);
void __wrap_staging_commit(uint64_t position)
{
    check_event_step("staged, not committed");
    __real_staging_commit(position);
}

void __real_ring_release(struct ring *r, uint32_t nwords);
void __wrap_ring_release(struct ring *r, uint32_t nwords);
void __wrap_ring_release(struct ring *r, uint32_t nwords)
{
    check_event_step("committed, not released");
    __real_ring_release(r, nwords);
}

int __real_tracefile_append(struct tracefile *t, const void *data, size_t n);
int __wrap_tracefile_append(struct tracefile *t, const void *data, size_t n);

/* The end of the record that holds byte `at` of the records in data[0, n). */
static size_t record_boundary(const uint8_t *data, size_t n, size_t at)
{
    size_t pos = 0;
    while (pos < at && pos < n) {
        const uint8_t *q = data + pos + 1;
        uint64_t len;
        if (varint_get(&q, data + n, &len) < 0)
            return n;
        pos = (size_t)(q - data) + len;
    }
    return pos < n ? pos : n;
}

/* Appends in quarters, with a copy after each (when `copy`); plain records are cut at record
 * boundaries (see FORMAT.md: a kill inside one record's copy is the one case compression off
 * does not cover), a chunk anywhere. */
static int append_in_quarters(struct tracefile *t, const uint8_t *data, size_t n, const char *what,
                              int copy, int whole_records)
{
    int rc = 0;
    size_t done = 0;
    for (unsigned q = 1; q <= 4; q++) {
        size_t upto = whole_records ? record_boundary(data, n, n * q / 4) : n * q / 4;
        rc |= __real_tracefile_append(t, data + done, upto - done);
        done = upto;
        if (copy)
            check_copy(what);
    }
    return rc;
}

/* Plain records come at every commit: their appends are sampled as an event's steps are. */
int __wrap_tracefile_append(struct tracefile *t, const void *data, size_t n)
{
    int copy = event_steps++ % (skip + 1) == 0;
    if (copy)
        check_copy("before a plain append");
    return append_in_quarters(t, data, n, "plain records, partly appended", copy, 1);
}

int __real_tracefile_append_record(struct tracefile *t, const uint8_t *header, size_t header_len,
                                   const void *body, size_t body_len);
int __wrap_tracefile_append_record(struct tracefile *t, const uint8_t *header, size_t header_len,
                                   const void *body, size_t body_len);
int __wrap_tracefile_append_record(struct tracefile *t, const uint8_t *header, size_t header_len,
                                   const void *body, size_t body_len)
{
    check_copy("before a chunk");
    int rc = 0;
    for (size_t i = 0; i < header_len; i++) { /* in order, as the real one stores them */
        rc |= __real_tracefile_append(t, header + i, 1);
        check_copy("part of a chunk's header");
    }
    return rc | append_in_quarters(t, body, body_len, "a chunk, partly copied", 1, 0);
}

/* ---- the test --------------------------------------------------------------------------- */

#define BATCH 60

static uint64_t rng = 88172645463325252ull;
static unsigned next_random(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static void wait_until_drained(void)
{
    while (atomic_load(&writer_ring.tail) != atomic_load(&writer_ring.head))
        usleep(100);
}

static void crash_anywhere(unsigned compress, unsigned batches)
{
    memset(&model, 0, sizeof model);
    model.next_address = BASE;
    copies = event_steps = failures = 0;
    make_frames();
    snprintf(dir, sizeof dir, "/tmp/leakshim-crash-XXXXXX");
    snprintf(copy_dir, sizeof copy_dir, "/tmp/leakshim-copy-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_non_null(mkdtemp(copy_dir));
    snprintf(trace_path, sizeof trace_path, "%s/trace", dir);
    struct shim_options options = {.output = trace_path, .depth = DEPTH, .buffer_bytes = 64 << 10,
                                   .interval_ms = 10, .compress = compress};
    shim_guard = 1;
    assert_int_equal(writer_start(&options), 0);
    copying = 1;
    for (unsigned b = 0; b < batches; b++) {
        skip = b < 4 ? 0 : 7; /* every step of the first batches, then one in 8 */
        pthread_mutex_lock(&producer_lock);
        for (unsigned k = 0; k < BATCH; k++) {
            unsigned slot = next_random(SLOTS);
            unsigned stack = next_random(1 + b * STACKS / batches); /* new stacks now and then */
            if (!model.address[slot])
                push_alloc(slot, 8 + next_random(500), stack);
            else if (next_random(5) == 0)
                push_realloc(slot, 1 + next_random(5000), stack);
            else
                push_free(slot);
        }
        pthread_mutex_unlock(&producer_lock);
        if (b % 3 == 2)
            writer_sync(); /* a chunk now */
        else
            wait_until_drained(); /* staged records pile up across batches */
    }
    writer_stop();
    copying = 0;
    shim_guard = 0;
    check_copy("finished");
    if (failures)
        fail_msg("%u of %u copies wrong; the first: %s", failures, copies, first_failure);
    assert_true(copies > 1000);

    char path[PATH_MAX], ring_path[PATH_MAX + 16];
    unlink(trace_path);
    snprintf(path, sizeof path, "%s/trace", copy_dir);
    unlink(path);
    ring_file_path(path, ring_path, sizeof ring_path);
    unlink(ring_path);
    rmdir(dir);
    rmdir(copy_dir);
}

static void test_crash_anywhere_compressed(void **state)
{
    (void)state;
    crash_anywhere(1, 90);
}

static void test_crash_anywhere_plain(void **state)
{
    (void)state;
    crash_anywhere(0, 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_anywhere_compressed),
        cmocka_unit_test(test_crash_anywhere_plain),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
