/* Unit tests for the trace reader (analyzer/trace_reader.c) on hand-made traces in memory, and
 * for replay_apply's consistency checks. Bad input: empty, wrong magic, another version (the
 * message names it), header cut short, a record longer than TRACE_MAX_RECORD_LEN, malformed
 * varints (too long, running past the record or the file), a stack deeper than
 * TRACE_MAX_STACK_DEPTH, strings and build-ids over their limits or longer than their record,
 * a module ending before it starts; unknown record types are skipped; a zero type byte followed
 * by zeros is a truncated trace, followed by anything else an invalid one. A truncation sweep
 * cuts a valid trace of a few dozen records at every byte offset: never a crash (ASan), the
 * records before the cut decoded exactly, TRACE_EOF at a record boundary and TRACE_TRUNCATED
 * naming the cut record's offset inside one. The fast path (8-byte varint loads, one bounds
 * check per event) decodes every varint length boundary as the byte-wise path does, in
 * exact-size buffers, rejects the same malformed events and skips appended fields; a file
 * several read blocks long decodes exactly as its bytes in memory. Follow mode reads a file
 * while it is written: cut records, zero type bytes and the limit are "not yet", and the
 * record is decoded whole after trace_reader_resume. CHUNK records: their
 * records come out as plain ones would, with the chunk's offset and their place in its content,
 * address deltas running on across chunks; a chunk cut anywhere (header or frame) with zeros
 * after it is a truncated trace, and followed by more data, or holding a cut record, a chunk,
 * or content of another length than it says, an invalid one whose message names the chunk's
 * offset and the place in its content. Finally replay_apply rejects a STACK id out of
 * sequence and events that refer to an undefined stack, without touching the books. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "replay.h"
#include "trace_format.h"
#include "trace_reader.h"

/* ---- building traces ------------------------------------------------------------------ */

struct bytes {
    uint8_t *data;
    size_t len, cap;
};

static void reserve(struct bytes *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    while (b->len + n > b->cap)
        b->cap = b->cap ? 2 * b->cap : 4096;
    b->data = realloc(b->data, b->cap);
    assert_non_null(b->data);
}

static void add_raw(struct bytes *b, const void *p, size_t n)
{
    reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void add_byte(struct bytes *b, uint8_t v) { add_raw(b, &v, 1); }
static void add_u64(struct bytes *b, uint64_t v)
{
    uint8_t tmp[VARINT_MAX_LEN];
    add_raw(b, tmp, varint_put(tmp, v));
}
static void add_i64(struct bytes *b, int64_t v) { add_u64(b, zigzag_encode(v)); }
static void add_zeros(struct bytes *b, size_t n)
{
    reserve(b, n);
    memset(b->data + b->len, 0, n);
    b->len += n;
}
static void add_string(struct bytes *b, const char *s)
{
    add_u64(b, strlen(s));
    add_raw(b, s, strlen(s));
}

static void add_header(struct bytes *b, uint16_t version)
{
    add_raw(b, TRACE_MAGIC, TRACE_MAGIC_LEN);
    add_byte(b, version & 0xff);
    add_byte(b, version >> 8);
    add_zeros(b, 6);
}

static struct bytes new_trace(void)
{
    struct bytes b = {0};
    add_header(&b, TRACE_VERSION);
    return b;
}

/* Appends `type | varint len | payload`; returns the record's offset. */
static size_t add_record(struct bytes *b, uint8_t type, const struct bytes *payload)
{
    size_t offset = b->len;
    add_byte(b, type);
    add_u64(b, payload->len);
    add_raw(b, payload->data, payload->len);
    return offset;
}

static void clear(struct bytes *b) { b->len = 0; }
static void release(struct bytes *b)
{
    free(b->data);
    *b = (struct bytes){0};
}

/* Payload helpers for the usual records. */
static struct bytes pl;

static size_t add_alloc(struct bytes *b, int64_t delta, uint64_t size, uint64_t stack)
{
    clear(&pl);
    add_i64(&pl, delta);
    add_u64(&pl, size);
    add_u64(&pl, stack);
    return add_record(b, TRACE_REC_ALLOC, &pl);
}

static size_t add_free(struct bytes *b, int64_t delta)
{
    clear(&pl);
    add_i64(&pl, delta);
    return add_record(b, TRACE_REC_FREE, &pl);
}

static size_t add_end(struct bytes *b, uint64_t events)
{
    clear(&pl);
    add_u64(&pl, events);
    return add_record(b, TRACE_REC_END, &pl);
}

/* ---- reading --------------------------------------------------------------------------- */

static struct trace_record rec;

/* Opens the bytes; asserts the open status. */
static void open_bytes(struct trace_reader *r, const struct bytes *b, enum trace_status expected)
{
    enum trace_status s = trace_reader_open_memory(r, b->data, b->len, "mem");
    if (s != expected)
        fail_msg("open: status %d, expected %d (%s)", s, expected, r->error);
}

/* Reads one record and asserts its status; on an error status, that the message contains
 * each of the given fragments (NULL-terminated). */
static void next_expect(struct trace_reader *r, enum trace_status expected, ...)
{
    enum trace_status s = trace_reader_next(r, &rec);
    if (s != expected)
        fail_msg("status %d, expected %d (%s)", s, expected, r->error);
    va_list ap;
    va_start(ap, expected);
    for (const char *frag; (frag = va_arg(ap, const char *));)
        if (!strstr(r->error, frag))
            fail_msg("error \"%s\" does not contain \"%s\"", r->error, frag);
    va_end(ap);
}

static void assert_error_has(const struct trace_reader *r, const char *frag)
{
    if (!strstr(r->error, frag))
        fail_msg("error \"%s\" does not contain \"%s\"", r->error, frag);
}

/* ---- the file header -------------------------------------------------------------------- */

static void test_empty_input(void **state)
{
    (void)state;
    struct trace_reader r;
    struct bytes b = {0};
    open_bytes(&r, &b, TRACE_INVALID);
    assert_error_has(&r, "mem: ");
    assert_error_has(&r, "empty");
}

static void test_wrong_magic(void **state)
{
    (void)state;
    struct trace_reader r;
    struct bytes b = new_trace();
    b.data[7] = 'N';
    add_end(&b, 0);
    open_bytes(&r, &b, TRACE_INVALID);
    assert_error_has(&r, "mem: offset 0: bad magic");
    /* shorter than the magic: the start of another magic, or of ours (a cut header) */
    b.len = 5;
    memcpy(b.data, "LEAKY", 5);
    open_bytes(&r, &b, TRACE_INVALID);
    assert_error_has(&r, "mem: offset 0: bad magic");
    memcpy(b.data, "LEAKS", 5);
    open_bytes(&r, &b, TRACE_INVALID);
    assert_error_has(&r, "mem: offset 5: file header cut short");
    release(&b);
}

static void test_other_version(void **state)
{
    (void)state;
    struct trace_reader r;
    struct bytes b = {0};
    add_header(&b, TRACE_VERSION + 1);
    add_end(&b, 0);
    open_bytes(&r, &b, TRACE_INVALID);
    assert_error_has(&r, "offset 8");
    assert_error_has(&r, "version 3");
    /* little-endian: 0x0101 is 257, not 1 */
    clear(&b);
    add_header(&b, 0x0101);
    open_bytes(&r, &b, TRACE_INVALID);
    assert_error_has(&r, "version 257");
    clear(&b);
    add_header(&b, 0);
    open_bytes(&r, &b, TRACE_INVALID);
    assert_error_has(&r, "version 0");
    /* flags and reserved bytes do not matter to version 1 */
    clear(&b);
    add_header(&b, 1);
    b.data[10] = 0xff;
    b.data[15] = 0xff;
    add_end(&b, 3);
    open_bytes(&r, &b, TRACE_OK);
    assert_int_equal(r.version, 1);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_END);
    assert_int_equal(rec.u.end.events, 3);
    trace_reader_close(&r);
    release(&b);
}

static void test_header_cut_short(void **state)
{
    (void)state;
    struct trace_reader r;
    struct bytes b = new_trace();
    b.len = 12;
    open_bytes(&r, &b, TRACE_INVALID);
    assert_error_has(&r, "offset 12: file header cut short");
    /* the header alone is an empty, complete stream */
    b.len = 16;
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_EOF, NULL);
    next_expect(&r, TRACE_EOF, NULL);
    trace_reader_close(&r);
    release(&b);
}

static void test_missing_file(void **state)
{
    (void)state;
    struct trace_reader r;
    assert_int_equal(trace_reader_open(&r, "/nonexistent/leakshim.trace"), TRACE_INVALID);
    assert_error_has(&r, "/nonexistent/leakshim.trace: cannot open");
}

/* ---- record framing --------------------------------------------------------------------- */

static void test_record_length_limit(void **state)
{
    (void)state;
    struct trace_reader r;
    struct bytes b = new_trace();
    add_byte(&b, TRACE_REC_ALLOC);
    add_u64(&b, TRACE_MAX_RECORD_LEN + 1);
    add_zeros(&b, 32);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_INVALID, "mem: offset 16: record length 1048577 exceeds", NULL);
    trace_reader_close(&r);

    /* exactly at the limit: fine (an unknown type, skipped whole), and what follows is read */
    clear(&b);
    add_header(&b, TRACE_VERSION);
    add_byte(&b, 200);
    add_u64(&b, TRACE_MAX_RECORD_LEN);
    for (size_t i = 0; i < TRACE_MAX_RECORD_LEN; i++)
        add_byte(&b, (uint8_t)(i * 7 + 1));
    size_t free_at = add_free(&b, 0x1234);
    add_end(&b, 1);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_FREE);
    assert_int_equal(rec.offset, free_at);
    assert_int_equal(rec.u.free.address, 0x1234);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_END);
    next_expect(&r, TRACE_EOF, NULL);
    trace_reader_close(&r);
    release(&b);
}

static void test_malformed_varints(void **state)
{
    (void)state;
    struct trace_reader r;
    struct bytes b = new_trace();

    /* a record length of 11 bytes (more than 64 bits), with plenty of bytes after it */
    add_free(&b, 16);
    size_t bad_at = b.len;
    add_byte(&b, TRACE_REC_FREE);
    for (int i = 0; i < 10; i++)
        add_byte(&b, 0x80);
    add_byte(&b, 0x01);
    add_zeros(&b, 20);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.u.free.address, 16);
    char where[64];
    snprintf(where, sizeof where, "offset %zu: malformed record length", bad_at);
    next_expect(&r, TRACE_INVALID, where, NULL);
    trace_reader_close(&r);

    /* a 10-byte varint whose last byte sets bits beyond 64, inside a FREE */
    clear(&b);
    add_header(&b, TRACE_VERSION);
    clear(&pl);
    for (int i = 0; i < 9; i++)
        add_byte(&pl, 0xff);
    add_byte(&pl, 0x02);
    add_record(&b, TRACE_REC_FREE, &pl);
    add_end(&b, 0);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_INVALID, "offset 16: malformed record of type 5", NULL);
    trace_reader_close(&r);

    /* the largest 10-byte varint is fine: 2^64 - 1 */
    clear(&b);
    add_header(&b, TRACE_VERSION);
    clear(&pl);
    add_u64(&pl, UINT64_MAX);
    assert_int_equal(pl.len, 10);
    add_record(&b, TRACE_REC_TIME, &pl);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_TIME);
    assert_int_equal(rec.u.time.ns, UINT64_MAX);
    trace_reader_close(&r);

    /* a varint that runs past the end of its record, into the next record: the ALLOC's size
     * has its continuation bit set on the record's last byte */
    clear(&b);
    add_header(&b, TRACE_VERSION);
    clear(&pl);
    add_i64(&pl, 64);
    add_byte(&pl, 0x85);
    add_record(&b, TRACE_REC_ALLOC, &pl);
    add_end(&b, 0x7f); /* starts with 0x09, a valid varint continuation */
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_INVALID, "offset 16: malformed record of type 4", NULL);
    trace_reader_close(&r);

    /* fields missing at the end of a record */
    clear(&b);
    add_header(&b, TRACE_VERSION);
    clear(&pl);
    add_i64(&pl, 64);
    add_u64(&pl, 10);
    add_record(&b, TRACE_REC_ALLOC, &pl); /* no stack id */
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_INVALID, "malformed record of type 4", NULL);
    trace_reader_close(&r);

    /* a record header cut inside its length varint at the end of the file: truncated */
    clear(&b);
    add_header(&b, TRACE_VERSION);
    add_byte(&b, TRACE_REC_FREE);
    add_byte(&b, 0x80);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_TRUNCATED, "offset 16: record header cut short", NULL);
    trace_reader_close(&r);
    release(&b);
}

/* ---- payload limits -------------------------------------------------------------------- */

static void add_stack(struct bytes *b, uint64_t id, uint64_t depth, uint64_t first)
{
    clear(&pl);
    add_u64(&pl, id);
    add_u64(&pl, depth);
    for (uint64_t i = 0; i < depth; i++)
        add_i64(&pl, i == 0 ? (int64_t)first : (i % 2 ? 40 : -24));
    add_record(b, TRACE_REC_STACK, &pl);
}

static void test_stack_depth_limit(void **state)
{
    (void)state;
    struct trace_reader r;
    struct bytes b = new_trace();
    add_stack(&b, 0, TRACE_MAX_STACK_DEPTH, 0x400000);
    add_stack(&b, 1, 0, 0);
    add_stack(&b, 2, TRACE_MAX_STACK_DEPTH + 1, 0x400000);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_STACK);
    assert_int_equal(rec.u.stack.id, 0);
    assert_int_equal(rec.u.stack.depth, TRACE_MAX_STACK_DEPTH);
    uint64_t frame = 0x400000;
    for (uint32_t i = 0; i < TRACE_MAX_STACK_DEPTH; i++) {
        if (i)
            frame += i % 2 ? 40 : (uint64_t)-24;
        assert_int_equal(rec.u.stack.frames[i], frame);
    }
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.u.stack.id, 1);
    assert_int_equal(rec.u.stack.depth, 0);
    next_expect(&r, TRACE_INVALID, "malformed record of type 3", NULL);
    trace_reader_close(&r);

    /* stack ids: 0xfffffffe is an id, 0xffffffff (TRACE_STACK_UNKNOWN) is not */
    clear(&b);
    add_header(&b, TRACE_VERSION);
    add_stack(&b, 0xfffffffe, 1, 5);
    add_stack(&b, 0xffffffff, 1, 5);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.u.stack.id, 0xfffffffe);
    assert_int_equal(rec.u.stack.frames[0], 5);
    next_expect(&r, TRACE_INVALID, "malformed record of type 3", NULL);
    trace_reader_close(&r);

    /* a frame count larger than the frames present */
    clear(&b);
    add_header(&b, TRACE_VERSION);
    clear(&pl);
    add_u64(&pl, 0);
    add_u64(&pl, 3);
    add_i64(&pl, 100);
    add_i64(&pl, 8);
    add_record(&b, TRACE_REC_STACK, &pl);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_INVALID, "malformed record of type 3", NULL);
    trace_reader_close(&r);
    release(&b);
}

static void add_process(struct bytes *b, uint64_t path_len_claimed, size_t path_len_present)
{
    clear(&pl);
    add_u64(&pl, 4242);
    add_u64(&pl, 1);
    add_u64(&pl, 1700000000000000000ull);
    add_u64(&pl, 64);
    add_u64(&pl, path_len_claimed);
    for (size_t i = 0; i < path_len_present; i++)
        add_byte(&pl, (uint8_t)('a' + i % 26));
    add_record(b, TRACE_REC_PROCESS, &pl);
}

static void add_module(struct bytes *b, uint64_t start, uint64_t end, const char *path,
                       size_t build_id_len)
{
    clear(&pl);
    add_u64(&pl, start);
    add_u64(&pl, end);
    add_u64(&pl, start - 0x1000);
    add_string(&pl, path);
    add_u64(&pl, build_id_len);
    for (size_t i = 0; i < build_id_len; i++)
        add_byte(&pl, (uint8_t)(0xa0 + i));
    add_record(b, TRACE_REC_MODULE, &pl);
}

static void test_strings(void **state)
{
    (void)state;
    struct trace_reader r;
    struct bytes b = new_trace();

    /* a path of exactly TRACE_MAX_PATH bytes is fine */
    add_process(&b, TRACE_MAX_PATH, TRACE_MAX_PATH);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_PROCESS);
    assert_int_equal(rec.u.process.pid, 4242);
    assert_int_equal(rec.u.process.ppid, 1);
    assert_int_equal(rec.u.process.start_ns, 1700000000000000000ull);
    assert_int_equal(rec.u.process.depth, 64);
    assert_int_equal(strlen(rec.u.process.exe), TRACE_MAX_PATH);
    assert_int_equal(rec.u.process.exe[TRACE_MAX_PATH - 1], 'a' + (TRACE_MAX_PATH - 1) % 26);
    trace_reader_close(&r);

    /* one more is not */
    clear(&b);
    add_header(&b, TRACE_VERSION);
    add_process(&b, TRACE_MAX_PATH + 1, TRACE_MAX_PATH + 1);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_INVALID, "offset 16: malformed record of type 1", NULL);
    trace_reader_close(&r);

    /* a string longer than what is left of its record (the next record's bytes follow) */
    clear(&b);
    add_header(&b, TRACE_VERSION);
    add_process(&b, 100, 5);
    add_end(&b, 0);
    for (int i = 0; i < 200; i++)
        add_free(&b, 1);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_INVALID, "malformed record of type 1", NULL);
    trace_reader_close(&r);

    /* module: a 64-byte build-id is fine, 65 is not; a 20-byte one is read exactly */
    clear(&b);
    add_header(&b, TRACE_VERSION);
    add_module(&b, 0x400000, 0x401000, "/usr/lib/libx.so", 20);
    add_module(&b, 0x500000, 0x501000, "/a", TRACE_MAX_BUILD_ID);
    add_module(&b, 0x500000, 0x501000, "/a", TRACE_MAX_BUILD_ID + 1);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_MODULE);
    assert_int_equal(rec.u.module.start, 0x400000);
    assert_int_equal(rec.u.module.end, 0x401000);
    assert_int_equal(rec.u.module.bias, 0x3ff000);
    assert_string_equal(rec.u.module.path, "/usr/lib/libx.so");
    assert_int_equal(rec.u.module.build_id_len, 20);
    for (int i = 0; i < 20; i++)
        assert_int_equal(rec.u.module.build_id[i], 0xa0 + i);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.u.module.build_id_len, TRACE_MAX_BUILD_ID);
    next_expect(&r, TRACE_INVALID, "malformed record of type 2", NULL);
    trace_reader_close(&r);

    /* a module that ends before it starts; an empty build-id and an empty range are fine */
    clear(&b);
    add_header(&b, TRACE_VERSION);
    add_module(&b, 0x400000, 0x400000, "/b", 0);
    add_module(&b, 0x400000, 0x3fffff, "/b", 0);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.u.module.build_id_len, 0);
    next_expect(&r, TRACE_INVALID, "malformed record of type 2", NULL);
    trace_reader_close(&r);
    release(&b);
}

/* ---- forward compatibility and the unwritten tail --------------------------------------- */

static void test_unknown_types_skipped(void **state)
{
    (void)state;
    struct trace_reader r;
    struct bytes b = new_trace();
    clear(&pl);
    add_raw(&pl, "\x01\x02\x03 whatever a newer writer says", 32);
    add_record(&b, 20, &pl);
    size_t a1 = add_alloc(&b, 0x1000, 24, 0);
    add_record(&b, 42, &pl);
    clear(&pl);
    add_record(&b, 255, &pl); /* empty payload */
    clear(&pl);
    add_zeros(&pl, 300);      /* a two-byte length */
    add_record(&b, 0x80, &pl);
    size_t f1 = add_free(&b, 0);
    size_t e1 = add_end(&b, 2);
    clear(&pl);
    add_u64(&pl, 1);
    add_record(&b, 21, &pl); /* after END: still skipped, then EOF */

    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_ALLOC);
    assert_int_equal(rec.offset, a1);
    assert_int_equal(rec.u.alloc.address, 0x1000);
    assert_int_equal(rec.u.alloc.size, 24);
    assert_int_equal(rec.u.alloc.stack, 0);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_FREE);
    assert_int_equal(rec.offset, f1);
    assert_int_equal(rec.u.free.address, 0x1000);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_END);
    assert_int_equal(rec.offset, e1);
    assert_int_equal(rec.u.end.events, 2);
    next_expect(&r, TRACE_EOF, NULL);
    trace_reader_close(&r);

    /* an unknown record cut short is a truncated trace, not something to skip */
    b.len -= 1;
    open_bytes(&r, &b, TRACE_OK);
    for (int i = 0; i < 3; i++)
        next_expect(&r, TRACE_OK, NULL);
    char where[32];
    snprintf(where, sizeof where, "offset %zu", e1 + 3);
    next_expect(&r, TRACE_TRUNCATED, where, NULL);
    trace_reader_close(&r);
    release(&b);
}

static void test_unwritten_tail(void **state)
{
    (void)state;
    struct trace_reader r;
    struct bytes b = new_trace();
    add_free(&b, 0x10);
    size_t zero_at = b.len;
    add_zeros(&b, 200000); /* more than the reader's read-ahead block */
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_OK, NULL);
    char where[64];
    snprintf(where, sizeof where, "mem: offset %zu: the trace stops here", zero_at);
    next_expect(&r, TRACE_TRUNCATED, where, NULL);
    trace_reader_close(&r);

    /* a single zero byte at the end */
    b.len = zero_at + 1;
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_OK, NULL);
    next_expect(&r, TRACE_TRUNCATED, where, NULL);
    trace_reader_close(&r);

    /* zeros, then something: not unwritten space but garbage */
    b.len = zero_at + 200000;
    add_byte(&b, 0x05);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_OK, NULL);
    snprintf(where, sizeof where, "offset %zu: invalid record type 0", zero_at);
    next_expect(&r, TRACE_INVALID, where, NULL);
    trace_reader_close(&r);

    b.len = zero_at + 1;
    add_byte(&b, 0x01);
    add_zeros(&b, 10);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_OK, NULL);
    next_expect(&r, TRACE_INVALID, where, NULL);
    trace_reader_close(&r);
    release(&b);
}

/* ---- chunks ------------------------------------------------------------------------------ */

/* Appends a CHUNK holding `content` (declared `declared` bytes long), compressed with a
 * checksum as the writer's are; returns its offset. */
static size_t add_chunk_declared(struct bytes *b, const struct bytes *content, uint64_t declared)
{
    struct bytes payload = {0};
    add_u64(&payload, declared);
    size_t cap = ZSTD_compressBound(content->len);
    reserve(&payload, cap);
    ZSTD_CCtx *cctx = ZSTD_createCCtx(); /* as the writer makes them: with a checksum */
    assert_non_null(cctx);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)));
    size_t n = ZSTD_compress2(cctx, payload.data + payload.len, cap, content->data, content->len);
    ZSTD_freeCCtx(cctx);
    assert_false(ZSTD_isError(n));
    payload.len += n;
    size_t offset = add_record(b, TRACE_REC_CHUNK, &payload);
    release(&payload);
    return offset;
}

static size_t add_chunk(struct bytes *b, const struct bytes *content)
{
    return add_chunk_declared(b, content, content->len);
}

static void test_chunks(void **state)
{
    (void)state;
    struct trace_reader r;
    struct bytes b = new_trace(), content = {0};
    size_t a0 = add_alloc(&b, 0x1000, 8, 0);            /* plain, before */
    size_t in1 = add_alloc(&content, 0x10, 24, 1);        /* 0x1010 */
    size_t in2 = add_free(&content, -0x10);               /* 0x1000 */
    size_t c1 = add_chunk(&b, &content);
    clear(&content);
    add_record(&content, 99, &pl);                        /* unknown: skipped in a chunk too */
    size_t in3 = add_free(&content, 0x10);                /* 0x1010 */
    size_t c2 = add_chunk(&b, &content);
    size_t e = add_end(&b, 4);
    for (int from_file = 0; from_file < 2; from_file++) {
        char path[] = "/tmp/leakshim-chunks-XXXXXX";
        if (from_file) {
            int fd = mkstemp(path);
            assert_true(fd >= 0);
            assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
            close(fd);
            assert_int_equal(trace_reader_open(&r, path), TRACE_OK);
        } else {
            open_bytes(&r, &b, TRACE_OK);
        }
        next_expect(&r, TRACE_OK, NULL);
        assert_int_equal(rec.offset, a0);
        assert_int_equal(rec.chunk_pos, -1);
        next_expect(&r, TRACE_OK, NULL);
        assert_int_equal(rec.type, TRACE_REC_ALLOC);
        assert_int_equal(rec.u.alloc.address, 0x1010);
        assert_int_equal(rec.u.alloc.size, 24);
        assert_int_equal(rec.offset, c1);
        assert_int_equal(rec.chunk_pos, in1);
        assert_int_equal(r.records_end, c2); /* the chunk is read whole */
        next_expect(&r, TRACE_OK, NULL);
        assert_int_equal(rec.type, TRACE_REC_FREE);
        assert_int_equal(rec.u.free.address, 0x1000);
        assert_int_equal(rec.chunk_pos, in2);
        next_expect(&r, TRACE_OK, NULL);
        assert_int_equal(rec.type, TRACE_REC_FREE);
        assert_int_equal(rec.u.free.address, 0x1010); /* deltas run on across chunks */
        assert_int_equal(rec.offset, c2);
        assert_int_equal(rec.chunk_pos, in3);
        next_expect(&r, TRACE_OK, NULL);
        assert_int_equal(rec.type, TRACE_REC_END);
        assert_int_equal(rec.offset, e);
        assert_int_equal(rec.chunk_pos, -1);
        next_expect(&r, TRACE_EOF, NULL);
        trace_reader_close(&r);
        if (from_file)
            unlink(path);
    }

    /* cut anywhere inside the second chunk, zeros after: truncated at the chunk, after the
       first chunk's records */
    for (size_t cut = c2 + 1; cut < e; cut++) {
        struct bytes t = {0};
        add_raw(&t, b.data, cut);
        add_zeros(&t, 300);
        open_bytes(&r, &t, TRACE_OK);
        for (int i = 0; i < 3; i++)
            next_expect(&r, TRACE_OK, NULL);
        char where[32];
        snprintf(where, sizeof where, "offset %zu", c2);
        next_expect(&r, TRACE_TRUNCATED, where, "stops here", NULL);
        assert_int_equal(r.records_end, c2);
        trace_reader_close(&r);
        /* the same cut, then more data: corrupt */
        if (cut >= c2 + 4) {
            add_byte(&t, 1);
            open_bytes(&r, &t, TRACE_OK);
            for (int i = 0; i < 3; i++)
                next_expect(&r, TRACE_OK, NULL);
            next_expect(&r, TRACE_INVALID, where, "chunk does not decode", NULL);
            trace_reader_close(&r);
        }
        release(&t);
    }
    /* the second chunk's frame corrupt: decompressed ahead while the first chunk is read, it
       fails there, and the reader says so at the chunk as before */
    struct bytes flipped = {0};
    add_raw(&flipped, b.data, b.len);
    flipped.data[(c2 + e) / 2] ^= 0x40;
    open_bytes(&r, &flipped, TRACE_OK);
    for (int i = 0; i < 3; i++)
        next_expect(&r, TRACE_OK, NULL);
    char at_c2[32];
    snprintf(at_c2, sizeof at_c2, "offset %zu", c2);
    next_expect(&r, TRACE_INVALID, at_c2, "chunk does not decode", NULL);
    trace_reader_close(&r);
    release(&flipped);
    release(&b);

    /* corrupt contents: a cut record, a chunk in a chunk, another length than declared */
    struct bytes bad = new_trace();
    clear(&content);
    add_free(&content, 8);
    size_t cut_at = content.len;
    add_alloc(&content, 8, 1, 0);
    content.len -= 1;
    size_t c = add_chunk(&bad, &content);
    open_bytes(&r, &bad, TRACE_OK);
    next_expect(&r, TRACE_OK, NULL);
    char where[96];
    snprintf(where, sizeof where, "offset %zu, byte %zu of the chunk's content", c, cut_at);
    next_expect(&r, TRACE_INVALID, where, "cut short", NULL);
    trace_reader_close(&r);

    struct bytes inner = {0};
    clear(&content);
    add_free(&content, 8);
    add_chunk(&inner, &content);
    release(&bad);
    bad = new_trace();
    c = add_chunk(&bad, &inner);
    open_bytes(&r, &bad, TRACE_OK);
    snprintf(where, sizeof where, "offset %zu, byte 0 of the chunk's content", c);
    next_expect(&r, TRACE_INVALID, where, "a chunk inside a chunk", NULL);
    trace_reader_close(&r);

    release(&bad);
    bad = new_trace();
    c = add_chunk_declared(&bad, &content, content.len + 1);
    add_end(&bad, 1);
    open_bytes(&r, &bad, TRACE_OK);
    snprintf(where, sizeof where, "offset %zu", c);
    next_expect(&r, TRACE_INVALID, where, "chunk does not decode", NULL);
    trace_reader_close(&r);
    release(&bad);
    release(&inner);
    release(&content);
}

/* ---- addresses ---------------------------------------------------------------------------- */

static void test_address_deltas(void **state)
{
    (void)state;
    struct trace_reader r;
    struct bytes b = new_trace();
    add_alloc(&b, 0x7f0000001000, 8, 0);                   /* from 0 */
    add_alloc(&b, -0x7f0000001000 + 0x555555550000, 8, 0); /* down */
    add_free(&b, 0x7f0000001000 - 0x555555550000);         /* back up */
    clear(&pl);                                            /* realloc: old from previous, new from old */
    add_i64(&pl, -0x1000);
    add_i64(&pl, 0x20000);
    add_u64(&pl, 77);
    add_u64(&pl, 3);
    add_record(&b, TRACE_REC_REALLOC, &pl);
    add_free(&b, 0);                                       /* the realloc's new address */
    add_alloc(&b, -0x7f0000020001, 1, 0);                  /* wraps below 0 */
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.u.alloc.address, 0x7f0000001000);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.u.alloc.address, 0x555555550000);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.u.free.address, 0x7f0000001000);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_REALLOC);
    assert_int_equal(rec.old_address, 0x7f0000000000);
    assert_int_equal(rec.u.alloc.address, 0x7f0000020000);
    assert_int_equal(rec.u.alloc.size, 77);
    assert_int_equal(rec.u.alloc.stack, 3);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.u.free.address, 0x7f0000020000);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.u.alloc.address, UINT64_MAX);
    next_expect(&r, TRACE_EOF, NULL);
    trace_reader_close(&r);
    release(&b);
}

/* ---- the fast path ------------------------------------------------------------------- */

/* Values at every varint length boundary: 1 to 8 bytes go through the 8-byte load, 9 and 10
 * bytes through the byte-wise decoder. */
static const uint64_t boundary_values[] = {
    0, 1, 0x7f, 0x80, 0x3fff, 0x4000, 0x1fffff, 0x200000, 0xfffffff, 0x10000000,
    0x7ffffffffull, 0x800000000ull, 0x3ffffffffffull, 0x40000000000ull,
    0x1ffffffffffffull, 0x2000000000000ull, 0xffffffffffffffull, 0x100000000000000ull,
    0x7fffffffffffffffull, 0x8000000000000000ull, UINT64_MAX,
};
#define BOUNDARY_COUNT (sizeof boundary_values / sizeof *boundary_values)

/* A trace of ALLOCs whose sizes, address deltas and stack ids take every boundary value, and
 * FREEs that undo each delta; with `padding`, TIME records after them so that every event has
 * the fast path's slack behind it. Copied into a buffer of exactly its length, so that ASan
 * sees any read past the input. */
static uint8_t *boundary_trace(int padding, size_t *len)
{
    struct bytes b = new_trace();
    for (size_t i = 0; i < BOUNDARY_COUNT; i++) {
        uint64_t v = boundary_values[i];
        add_alloc(&b, (int64_t)v, v, v > UINT32_MAX ? UINT32_MAX : v);
        add_free(&b, (int64_t)(0 - v));
    }
    add_end(&b, 2 * BOUNDARY_COUNT);
    if (padding)
        for (int i = 0; i < 8; i++) {
            clear(&pl);
            add_u64(&pl, UINT64_MAX);
            add_record(&b, TRACE_REC_TIME, &pl);
        }
    uint8_t *exact = malloc(b.len);
    assert_non_null(exact);
    memcpy(exact, b.data, b.len);
    *len = b.len;
    release(&b);
    return exact;
}

static void test_fast_path_varint_boundaries(void **state)
{
    (void)state;
    for (int padding = 0; padding <= 1; padding++) {
        size_t len;
        uint8_t *data = boundary_trace(padding, &len);
        struct trace_reader r;
        assert_int_equal(trace_reader_open_memory(&r, data, len, "mem"), TRACE_OK);
        uint64_t address = 0;
        for (size_t i = 0; i < BOUNDARY_COUNT; i++) {
            uint64_t v = boundary_values[i];
            next_expect(&r, TRACE_OK, NULL);
            assert_int_equal(rec.type, TRACE_REC_ALLOC);
            address += v;
            if (rec.u.alloc.address != address || rec.u.alloc.size != v)
                fail_msg("value %llx (padding %d): address %llx size %llx", (unsigned long long)v,
                         padding, (unsigned long long)rec.u.alloc.address,
                         (unsigned long long)rec.u.alloc.size);
            assert_int_equal(rec.u.alloc.stack, v > UINT32_MAX ? UINT32_MAX : v);
            next_expect(&r, TRACE_OK, NULL);
            assert_int_equal(rec.type, TRACE_REC_FREE);
            address -= v;
            assert_int_equal(rec.u.free.address, address);
        }
        next_expect(&r, TRACE_OK, NULL);
        assert_int_equal(rec.type, TRACE_REC_END);
        trace_reader_close(&r);
        free(data);
    }
}

/* Malformed events with the fast path's slack behind them are rejected as the byte-wise
 * decoder rejects them, and fields a newer writer might append are skipped. */
static void test_fast_path_malformed_events(void **state)
{
    (void)state;
    struct trace_reader r;
    struct bytes b = new_trace();
    struct bytes tail = {0};
    for (int i = 0; i < 20; i++)
        add_free(&tail, 0);

    /* the size runs past the ALLOC's end (continuation bit on its last byte) */
    clear(&pl);
    add_i64(&pl, 64);
    add_byte(&pl, 0x85);
    add_record(&b, TRACE_REC_ALLOC, &pl);
    add_raw(&b, tail.data, tail.len);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_INVALID, "offset 16: malformed record of type 4", NULL);
    trace_reader_close(&r);

    /* a FREE whose delta runs past its end */
    clear(&b);
    add_header(&b, TRACE_VERSION);
    clear(&pl);
    add_byte(&pl, 0xff);
    add_record(&b, TRACE_REC_FREE, &pl);
    add_raw(&b, tail.data, tail.len);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_INVALID, "offset 16: malformed record of type 5", NULL);
    trace_reader_close(&r);

    /* a stack id over 32 bits */
    clear(&b);
    add_header(&b, TRACE_VERSION);
    clear(&pl);
    add_i64(&pl, 64);
    add_u64(&pl, 8);
    add_u64(&pl, (uint64_t)UINT32_MAX + 1);
    add_record(&b, TRACE_REC_ALLOC, &pl);
    add_raw(&b, tail.data, tail.len);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_INVALID, "offset 16: malformed record of type 4", NULL);
    trace_reader_close(&r);

    /* an empty ALLOC payload */
    clear(&b);
    add_header(&b, TRACE_VERSION);
    clear(&pl);
    add_record(&b, TRACE_REC_ALLOC, &pl);
    add_raw(&b, tail.data, tail.len);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_INVALID, "offset 16: malformed record of type 4", NULL);
    trace_reader_close(&r);

    /* extra fields after an ALLOC's and a FREE's: skipped, the next record read */
    clear(&b);
    add_header(&b, TRACE_VERSION);
    clear(&pl);
    add_i64(&pl, 0x1000);
    add_u64(&pl, 24);
    add_u64(&pl, 3);
    add_u64(&pl, 0x123456789);
    add_record(&b, TRACE_REC_ALLOC, &pl);
    clear(&pl);
    add_i64(&pl, 0x10);
    add_u64(&pl, 77);
    add_record(&b, TRACE_REC_FREE, &pl);
    add_raw(&b, tail.data, tail.len);
    open_bytes(&r, &b, TRACE_OK);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_ALLOC);
    assert_int_equal(rec.u.alloc.address, 0x1000);
    assert_int_equal(rec.u.alloc.size, 24);
    assert_int_equal(rec.u.alloc.stack, 3);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_FREE);
    assert_int_equal(rec.u.free.address, 0x1010);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_FREE);
    assert_int_equal(rec.u.free.address, 0x1010);
    trace_reader_close(&r);
    release(&tail);
    release(&b);
}

/* A file several read blocks long, with records of every size across the block boundaries
 * (and one longer than a block), decodes exactly as the same bytes in memory do. */
static void test_file_across_read_blocks(void **state)
{
    (void)state;
    struct bytes b = new_trace();
    add_stack(&b, 0, 200, 0x7ffff7d81234); /* > 127 bytes: the general framing */
    uint64_t seed = 7;
    for (int i = 0; i < 200000; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t delta = seed >> (20 + seed % 40);
        if (i % 2)
            add_free(&b, -(int64_t)delta);
        else
            add_alloc(&b, (int64_t)delta, seed >> (seed % 64), 0);
        if (i == 100000) {
            clear(&pl);
            add_zeros(&pl, 300000); /* an unknown record longer than a read block */
            add_record(&b, 99, &pl);
        }
    }
    add_end(&b, 200000);
    assert_true(b.len > 4 * 300000);
    char path[] = "/tmp/leakshim-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
    close(fd);

    struct trace_reader from_file, from_memory;
    assert_int_equal(trace_reader_open(&from_file, path), TRACE_OK);
    open_bytes(&from_memory, &b, TRACE_OK);
    static struct trace_record expected;
    size_t records = 0;
    enum trace_status s;
    while ((s = trace_reader_next(&from_memory, &expected)) == TRACE_OK) {
        assert_int_equal(trace_reader_next(&from_file, &rec), TRACE_OK);
        assert_int_equal(rec.type, expected.type);
        assert_int_equal(rec.offset, expected.offset);
        if (rec.type == TRACE_REC_ALLOC || rec.type == TRACE_REC_FREE)
            if (rec.u.alloc.address != expected.u.alloc.address ||
                (rec.type == TRACE_REC_ALLOC && (rec.u.alloc.size != expected.u.alloc.size ||
                                                 rec.u.alloc.stack != expected.u.alloc.stack)))
                fail_msg("record %zu at offset %llu differs", records,
                         (unsigned long long)rec.offset);
        records++;
    }
    assert_int_equal(s, TRACE_EOF);
    assert_int_equal(trace_reader_next(&from_file, &rec), TRACE_EOF);
    assert_int_equal(records, 200002);
    assert_int_equal(from_file.records_end, b.len);
    trace_reader_close(&from_file);
    trace_reader_close(&from_memory);
    unlink(path);
    release(&b);
}

/* ---- follow mode ------------------------------------------------------------------------ */

/* Writes bytes [from, to) of b at their offset in the file. */
static void write_range(int fd, const struct bytes *b, size_t from, size_t to)
{
    assert_int_equal(pwrite(fd, b->data + from, to - from, (off_t)from), (ssize_t)(to - from));
}

/* A trace read while it is written: records cut short, zero type bytes (space reserved but
 * not written) and the writer's limit all mean "not yet", and the same records are decoded
 * once they are whole, with the address deltas continuing across the pauses. A last pass
 * without follow mode checks the tail as for a finished file. */
static void test_follow_mode(void **state)
{
    (void)state;
    struct bytes b = new_trace();
    add_alloc(&b, 0x1000, 32, TRACE_STACK_UNKNOWN);
    size_t second = add_alloc(&b, 0x20, 48, TRACE_STACK_UNKNOWN);
    size_t third = add_free(&b, -0x20);
    size_t fourth = add_alloc(&b, 0x400, 7, TRACE_STACK_UNKNOWN);
    size_t end = b.len;
    add_zeros(&b, 100); /* the rest of the writer's reserved chunk */

    char path[] = "/tmp/leakshim-follow-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    write_range(fd, &b, 0, second + 2); /* the second record cut short */
    struct trace_reader r;
    assert_int_equal(trace_reader_open(&r, path), TRACE_OK);
    assert_int_equal(trace_reader_resume(&r, 1, UINT64_MAX), 0);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.u.alloc.address, 0x1000);
    next_expect(&r, TRACE_TRUNCATED, "cut short", NULL);
    assert_int_equal(r.records_end, second);

    write_range(fd, &b, second + 2, b.len); /* the rest, reserved zeros included */
    assert_int_equal(trace_reader_resume(&r, 1, third + 1), 0); /* the writer's limit */
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_ALLOC);
    assert_int_equal(rec.offset, second);
    assert_int_equal(rec.u.alloc.address, 0x1020);
    next_expect(&r, TRACE_TRUNCATED, "cut short", NULL); /* the third ends past the limit */
    assert_int_equal(r.records_end, third);

    assert_int_equal(trace_reader_resume(&r, 1, UINT64_MAX), 0);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_FREE);
    assert_int_equal(rec.u.free.address, 0x1000);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.offset, fourth);
    assert_int_equal(rec.u.alloc.address, 0x1400);
    next_expect(&r, TRACE_TRUNCATED, "not written yet", NULL); /* the zeros */
    next_expect(&r, TRACE_TRUNCATED, "not written yet", NULL); /* and again: no progress */
    assert_int_equal(r.records_end, end);

    /* The writer went on after its reserved space was seen: still "not yet" in follow mode,
     * and an invalid trace for the last pass when it is not a trace's end. */
    static const uint8_t garbage[] = {0, 0, 0, 7};
    assert_int_equal(pwrite(fd, garbage, sizeof garbage, (off_t)end + 50), (ssize_t)sizeof garbage);
    assert_int_equal(trace_reader_resume(&r, 1, UINT64_MAX), 0);
    next_expect(&r, TRACE_TRUNCATED, "not written yet", NULL);
    assert_int_equal(trace_reader_resume(&r, 0, UINT64_MAX), 0);
    next_expect(&r, TRACE_INVALID, "invalid record type 0", NULL);

    /* The finished trace: END where the zeros were, the file cut to its length. */
    size_t end_record = add_end(&b, 4);
    memmove(b.data + end, b.data + end_record, b.len - end_record);
    b.len = end + (b.len - end_record);
    write_range(fd, &b, end, b.len);
    assert_int_equal(ftruncate(fd, (off_t)b.len), 0);
    assert_int_equal(trace_reader_resume(&r, 0, UINT64_MAX), 0);
    next_expect(&r, TRACE_OK, NULL);
    assert_int_equal(rec.type, TRACE_REC_END);
    next_expect(&r, TRACE_EOF, NULL);
    trace_reader_close(&r);

    struct trace_reader memory;
    open_bytes(&memory, &b, TRACE_OK);
    assert_int_equal(trace_reader_resume(&memory, 1, UINT64_MAX), -1); /* files only */
    assert_error_has(&memory, "not a file");
    close(fd);
    unlink(path);
    release(&b);
}

/* ---- truncation sweep ---------------------------------------------------------------- */

struct sweep_record {
    size_t start, end; /* byte range in the trace */
    int known;         /* a type the reader returns */
};

static void test_truncation_sweep(void **state)
{
    (void)state;
    struct bytes b = new_trace();
    struct sweep_record recs[64];
    size_t n = 0;
#define REC(known_, stmt)                                  \
    do {                                                    \
        recs[n].start = b.len;                              \
        stmt;                                               \
        recs[n].end = b.len;                                \
        recs[n].known = (known_);                           \
        n++;                                                \
    } while (0)

    REC(1, add_process(&b, 17, 17));
    REC(1, add_module(&b, 0x555555554000, 0x555555600000, "/usr/bin/program", 20));
    REC(1, add_module(&b, 0x7ffff7d80000, 0x7ffff7fa0000,
                      "/usr/lib/x86_64-linux-gnu/a-rather-long-library-name-so-that-the-"
                      "record-length-takes-two-bytes-in-its-varint-encoding-libc.so.6",
                      20));
    REC(1, add_stack(&b, 0, 3, 0x555555555123));
    REC(1, add_stack(&b, 1, 64, 0x7ffff7d81234)); /* > 127 bytes */
    for (int i = 0; i < 8; i++) {
        REC(1, add_alloc(&b, i ? 48 : 0x5555555a0000, 16 + (uint64_t)i * 1000, (uint64_t)i % 2));
        if (i % 3 == 2)
            REC(1, add_free(&b, -96));
    }
    REC(1, {
        clear(&pl);
        add_u64(&pl, 12000000);
        add_record(&b, TRACE_REC_TIME, &pl);
    });
    REC(0, {
        clear(&pl);
        add_string(&pl, "from the future");
        add_record(&b, 77, &pl);
    });
    REC(1, {
        clear(&pl);
        add_i64(&pl, 16);
        add_i64(&pl, 0x100000);
        add_u64(&pl, 1 << 20);
        add_u64(&pl, 1);
        add_record(&b, TRACE_REC_REALLOC, &pl);
    });
    REC(1, {
        clear(&pl);
        add_u64(&pl, TRACE_LOST_RECURSION);
        add_u64(&pl, 3);
        add_record(&b, TRACE_REC_LOST, &pl);
    });
    for (int i = 0; i < 10; i++)
        REC(1, add_alloc(&b, 4096, 1u << (i * 3), TRACE_STACK_UNKNOWN));
    REC(1, add_free(&b, -4096));
    REC(1, add_end(&b, 24));
#undef REC
    assert_true(n >= 30);
    assert_int_equal(recs[n - 1].end, b.len);

    /* the whole trace, decoded once: the reference */
    static struct trace_record full[64];
    struct trace_reader r;
    open_bytes(&r, &b, TRACE_OK);
    size_t known = 0;
    enum trace_status s;
    while ((s = trace_reader_next(&r, &full[known])) == TRACE_OK)
        known++;
    assert_int_equal(s, TRACE_EOF);
    trace_reader_close(&r);
    size_t expected_known = 0;
    for (size_t i = 0; i < n; i++)
        expected_known += (size_t)recs[i].known;
    assert_int_equal(known, expected_known);
    assert_int_equal(full[known - 1].type, TRACE_REC_END);
    assert_int_equal(full[known - 1].u.end.events, 24);

    for (size_t cut = 0; cut <= b.len; cut++) {
        s = trace_reader_open_memory(&r, b.data, cut, "cut");
        if (cut < TRACE_HEADER_LEN) {
            assert_int_equal(s, TRACE_INVALID);
            if (cut == 0)
                assert_error_has(&r, "empty");
            else {
                char msg[64];
                snprintf(msg, sizeof msg, "cut: offset %zu: file header cut short", cut);
                assert_error_has(&r, msg);
            }
            continue;
        }
        assert_int_equal(s, TRACE_OK);
        /* whole records before the cut, and the one it falls in */
        size_t whole = 0, inside = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            if (recs[i].end <= cut)
                whole += (size_t)recs[i].known;
            else if (recs[i].start < cut)
                inside = i;
        }
        size_t got = 0;
        while ((s = trace_reader_next(&r, &rec)) == TRACE_OK) {
            if (got >= whole)
                fail_msg("cut at %zu: record %zu decoded, only %zu whole", cut, got, whole);
            if (rec.type != full[got].type || rec.offset != full[got].offset)
                fail_msg("cut at %zu: record %zu differs", cut, got);
            if ((rec.type == TRACE_REC_ALLOC || rec.type == TRACE_REC_REALLOC) &&
                (rec.u.alloc.address != full[got].u.alloc.address ||
                 rec.u.alloc.size != full[got].u.alloc.size ||
                 rec.u.alloc.stack != full[got].u.alloc.stack))
                fail_msg("cut at %zu: record %zu decoded differently", cut, got);
            got++;
        }
        if (got != whole)
            fail_msg("cut at %zu: %zu records decoded, %zu whole before the cut (%s)", cut, got,
                     whole, r.error);
        if (inside == SIZE_MAX) {
            if (s != TRACE_EOF)
                fail_msg("cut at %zu (a record boundary): status %d (%s)", cut, s, r.error);
        } else {
            if (s != TRACE_TRUNCATED)
                fail_msg("cut at %zu (inside record %zu): status %d (%s)", cut, inside, s, r.error);
            char msg[64];
            snprintf(msg, sizeof msg, "cut: offset %zu: ", recs[inside].start);
            assert_error_has(&r, msg);
        }
        trace_reader_close(&r);
    }
    release(&b);
}

/* ---- replay_apply consistency checks -------------------------------------------------- */

static struct trace_record make_stack_rec(uint32_t id, uint64_t offset)
{
    struct trace_record t;
    memset(&t, 0, sizeof t);
    t.type = TRACE_REC_STACK;
    t.offset = offset;
    t.u.stack.id = id;
    t.u.stack.depth = 2;
    t.u.stack.frames[0] = 0x401000;
    t.u.stack.frames[1] = 0x402000;
    return t;
}

static struct trace_record make_alloc_rec(enum trace_record_type type, uint64_t old, uint64_t address,
                                          uint64_t size, uint32_t stack, uint64_t offset)
{
    struct trace_record t;
    memset(&t, 0, sizeof t);
    t.type = type;
    t.offset = offset;
    t.old_address = old;
    t.u.alloc.address = address;
    t.u.alloc.size = size;
    t.u.alloc.stack = stack;
    return t;
}

static void assert_books(const struct replay *r, uint64_t allocations, uint64_t frees,
                         uint64_t live_bytes, uint64_t live_blocks)
{
    assert_int_equal(r->summary.allocations, allocations);
    assert_int_equal(r->summary.frees, frees);
    assert_int_equal(r->summary.live_bytes, live_bytes);
    assert_int_equal(r->summary.live_blocks, live_blocks);
    assert_int_equal(r->live.count, live_blocks);
}

static void test_replay_rejects_inconsistent_records(void **state)
{
    (void)state;
    static struct replay r;
    static struct trace_record t;
    char error[256];
    assert_int_equal(replay_init(&r), 0);

    t = make_stack_rec(1, 100);
    assert_int_equal(replay_apply(&r, &t, error, sizeof error), -1);
    assert_string_equal(error, "offset 100: stack id out of sequence");
    assert_int_equal(r.stack_count, 0);

    t = make_stack_rec(0, 110);
    assert_int_equal(replay_apply(&r, &t, error, sizeof error), 0);
    assert_int_equal(r.stack_count, 1);
    assert_int_equal(replay_stack(&r, 0)->depth, 2);
    assert_int_equal(replay_stack(&r, 0)->frames[1], 0x402000);

    t = make_stack_rec(0, 120); /* the same id again */
    assert_int_equal(replay_apply(&r, &t, error, sizeof error), -1);
    assert_string_equal(error, "offset 120: stack id out of sequence");
    t = make_stack_rec(2, 125); /* skipping one */
    assert_int_equal(replay_apply(&r, &t, error, sizeof error), -1);
    assert_int_equal(r.stack_count, 1);

    t = make_alloc_rec(TRACE_REC_ALLOC, 0, 0x1000, 10, 0, 130);
    assert_int_equal(replay_apply(&r, &t, error, sizeof error), 0);
    assert_books(&r, 1, 0, 10, 1);

    t = make_alloc_rec(TRACE_REC_ALLOC, 0, 0x2000, 20, 1, 140);
    assert_int_equal(replay_apply(&r, &t, error, sizeof error), -1);
    assert_string_equal(error, "offset 140: allocation refers to an undefined stack");
    assert_books(&r, 1, 0, 10, 1);

    /* a REALLOC with an undefined stack is rejected before it frees anything */
    t = make_alloc_rec(TRACE_REC_REALLOC, 0x1000, 0x3000, 30, 7, 150);
    assert_int_equal(replay_apply(&r, &t, error, sizeof error), -1);
    assert_string_equal(error, "offset 150: allocation refers to an undefined stack");
    assert_books(&r, 1, 0, 10, 1);
    assert_int_equal(replay_stack(&r, 0)->live_bytes, 10);

    /* the unknown stack needs no STACK record */
    t = make_alloc_rec(TRACE_REC_ALLOC, 0, 0x4000, 40, TRACE_STACK_UNKNOWN, 160);
    assert_int_equal(replay_apply(&r, &t, error, sizeof error), 0);
    assert_books(&r, 2, 0, 50, 2);
    assert_int_equal(replay_stack(&r, TRACE_STACK_UNKNOWN)->live_bytes, 40);
    assert_int_equal(replay_stack(&r, TRACE_STACK_UNKNOWN)->live_blocks, 1);

    /* an allocation at address 0 */
    t = make_alloc_rec(TRACE_REC_ALLOC, 0, 0, 1, 0, 170);
    assert_int_equal(replay_apply(&r, &t, error, sizeof error), -1);
    assert_string_equal(error, "offset 170: allocation at address 0");
    assert_books(&r, 2, 0, 50, 2);

    /* a good realloc after all that */
    t = make_alloc_rec(TRACE_REC_REALLOC, 0x1000, 0x5000, 15, 0, 180);
    assert_int_equal(replay_apply(&r, &t, error, sizeof error), 0);
    assert_books(&r, 3, 1, 55, 2);
    assert_int_equal(replay_stack(&r, 0)->live_bytes, 15);
    assert_int_equal(replay_stack(&r, 0)->alloc_bytes, 25);
    assert_int_equal(replay_stack(&r, 0)->alloc_blocks, 2);
    assert_null(replay_stack(&r, 1));
    replay_free(&r);
}

/* replay_file stops at such a record and says where, in which file. */
static void test_replay_file_rejects_out_of_sequence_stack(void **state)
{
    (void)state;
    char path[] = "/tmp/leakshim-reader-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    struct bytes b = new_trace();
    add_process(&b, 3, 3);
    add_stack(&b, 0, 1, 0x1000);
    add_alloc(&b, 0x10000, 5, 0);
    size_t bad = b.len;
    add_stack(&b, 5, 1, 0x1000);
    add_end(&b, 1);
    assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
    close(fd);

    static struct replay r;
    char error[512], expected[512];
    assert_int_equal(replay_init(&r), 0);
    assert_int_equal(replay_file(&r, path, error, sizeof error), TRACE_INVALID);
    snprintf(expected, sizeof expected, "%s: offset %zu: stack id out of sequence", path, bad);
    assert_string_equal(error, expected);
    assert_int_equal(r.complete, 0);
    assert_int_equal(r.summary.allocations, 1); /* the books up to the bad record */
    assert_int_equal(r.summary.live_bytes, 5);
    replay_free(&r);

    /* and an ALLOC that refers to a stack never defined */
    b.len = bad;
    size_t bad_alloc = add_alloc(&b, 0x100, 5, 1);
    add_end(&b, 2);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
    close(fd);
    assert_int_equal(replay_init(&r), 0);
    assert_int_equal(replay_file(&r, path, error, sizeof error), TRACE_INVALID);
    snprintf(expected, sizeof expected, "%s: offset %zu: allocation refers to an undefined stack",
             path, bad_alloc);
    assert_string_equal(error, expected);
    replay_free(&r);

    /* without the bad record the same trace is complete */
    b.len = bad;
    add_end(&b, 1);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
    close(fd);
    assert_int_equal(replay_init(&r), 0);
    assert_int_equal(replay_file(&r, path, error, sizeof error), TRACE_EOF);
    assert_string_equal(error, "");
    assert_int_equal(r.complete, 1);
    assert_int_equal(r.process.pid, 4242);
    replay_free(&r);

    /* and without its END record it is truncated */
    b.len = bad;
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
    close(fd);
    assert_int_equal(replay_init(&r), 0);
    assert_int_equal(replay_file(&r, path, error, sizeof error), TRACE_TRUNCATED);
    assert_non_null(strstr(error, "without its end record"));
    assert_int_equal(r.complete, 0);
    assert_int_equal(r.summary.live_bytes, 5);
    replay_free(&r);

    unlink(path);
    release(&b);
}

static int free_payload(void **state)
{
    (void)state;
    release(&pl);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_fast_path_varint_boundaries),
        cmocka_unit_test(test_fast_path_malformed_events),
        cmocka_unit_test(test_file_across_read_blocks),
        cmocka_unit_test(test_wrong_magic),
        cmocka_unit_test(test_other_version),
        cmocka_unit_test(test_header_cut_short),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_record_length_limit),
        cmocka_unit_test(test_malformed_varints),
        cmocka_unit_test(test_stack_depth_limit),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_unknown_types_skipped),
        cmocka_unit_test(test_unwritten_tail),
        cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_address_deltas),
        cmocka_unit_test(test_truncation_sweep),
        cmocka_unit_test(test_follow_mode),
        cmocka_unit_test(test_replay_rejects_inconsistent_records),
        cmocka_unit_test(test_replay_file_rejects_out_of_sequence_stack),
    };
    return cmocka_run_group_tests(tests, NULL, free_payload);
}
