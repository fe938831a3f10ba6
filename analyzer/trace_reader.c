/* Trace decoding; see trace_reader.h. File input: the buffer holds at most one maximal record
 * plus one read block; records are decoded in place from it. Memory input is decoded where it
 * lies. A chunk's content is decoded by the same code: while it is read, buf, buf_len and
 * buf_pos describe the content, and `file` keeps the file's view until the content is used
 * up. */
#include "trace_reader.h"

#include "chunk_prefetch.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the fast varint decoder loads little-endian words"
#endif

#define READ_BLOCK (1u << 18)
#define BUFFER_SIZE (TRACE_MAX_RECORD_LEN + 1 + VARINT_MAX_LEN + READ_BLOCK)
/* Bytes from a record's type byte that the fast path needs in the buffer: the type, a one-byte
 * length, the longest payload such a length allows, and the slack after it. */
#define FAST_WINDOW (2 + 0x7f + TRACE_READER_SLACK)

static enum trace_status vfail(struct trace_reader *r, enum trace_status s, int used,
                               const char *fmt, va_list ap)
{
    vsnprintf(r->error + used, sizeof r->error - (size_t)used, fmt, ap);
    return s;
}

static enum trace_status fail(struct trace_reader *r, enum trace_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s = vfail(r, s, snprintf(r->error, sizeof r->error, "%s: ", r->path), fmt, ap);
    va_end(ap);
    return s;
}

/* As fail, with the place of the record at `pos` of the current bytes: its file offset, or
 * its chunk's offset and its position in the chunk's content. */
static enum trace_status fail_at(struct trace_reader *r, enum trace_status s, uint64_t pos,
                                 const char *fmt, ...)
{
    int used = r->in_chunk ? snprintf(r->error, sizeof r->error, "%s: offset %llu, byte %llu of the chunk's content: ",
                                      r->path, (unsigned long long)r->chunk_offset, (unsigned long long)pos)
                           : snprintf(r->error, sizeof r->error, "%s: offset %llu: ", r->path,
                                      (unsigned long long)pos);
    va_list ap;
    va_start(ap, fmt);
    s = vfail(r, s, used, fmt, ap);
    va_end(ap);
    return s;
}

/* Reads into the free part of the buffer, as much as fits in one block. Returns the bytes read;
 * 0 at the end of the file or on an error (r->read_errno then says which). */
static size_t read_more(struct trace_reader *r)
{
    size_t room = BUFFER_SIZE - r->buf_len;
    if (room > READ_BLOCK)
        room = READ_BLOCK;
    if (r->follow) { /* never past the limit */
        uint64_t at = r->buf_offset + r->buf_len;
        room = at >= r->limit ? 0 : r->limit - at < room ? (size_t)(r->limit - at) : room;
        if (!room)
            return 0;
    }
    for (;;) {
        ssize_t got = read(r->fd, r->owned + r->buf_len, room);
        if (got >= 0)
            return (size_t)got;
        if (errno != EINTR) {
            r->read_errno = errno;
            return 0;
        }
    }
}

/* Makes at least `need` bytes available from buf_pos, unless the input ends first. Returns the
 * number available. */
static size_t fill(struct trace_reader *r, size_t need)
{
    while (r->buf_len - r->buf_pos < need && !r->at_eof) {
        if (r->buf_pos) {
            memmove(r->owned, r->owned + r->buf_pos, r->buf_len - r->buf_pos);
            r->buf_len -= r->buf_pos;
            r->buf_offset += r->buf_pos;
            r->buf_pos = 0;
        }
        size_t got = read_more(r);
        r->buf_len += got;
        if (got == 0)
            r->at_eof = 1;
    }
    return r->buf_len - r->buf_pos;
}

static enum trace_status start(struct trace_reader *r)
{
    const uint8_t *h = r->buf;
    size_t got = fill(r, TRACE_HEADER_LEN);
    enum trace_status s = TRACE_OK;
    if (r->read_errno)
        s = fail(r, TRACE_INVALID, "cannot read: %s", strerror(r->read_errno));
    else if (got == 0)
        s = fail(r, TRACE_INVALID, "empty file, not a leakshim trace");
    else if (memcmp(h, TRACE_MAGIC, got < TRACE_MAGIC_LEN ? got : TRACE_MAGIC_LEN) != 0)
        s = fail(r, TRACE_INVALID, "offset 0: bad magic number, not a leakshim trace");
    else if (got < TRACE_HEADER_LEN) /* the start of the magic, at least */
        s = fail(r, TRACE_INVALID, "offset %zu: file header cut short", got);
    else if ((r->version = (uint16_t)(h[8] | h[9] << 8)) < TRACE_OLDEST_VERSION ||
             r->version > TRACE_VERSION)
        s = fail(r, TRACE_INVALID, "offset 8: trace format version %u, this leakshim reads versions %u to %u",
                 r->version, TRACE_OLDEST_VERSION, TRACE_VERSION);
    if (s != TRACE_OK) {
        trace_reader_close(r);
        return s;
    }
    r->buf_pos = TRACE_HEADER_LEN;
    r->records_end = TRACE_HEADER_LEN;
    return TRACE_OK;
}

int trace_reader_resume(struct trace_reader *r, int follow, uint64_t limit)
{
    chunk_prefetch_wait(r->prefetch); /* the buffer is read again */
    if (r->fd < 0 || lseek(r->fd, (off_t)r->records_end, SEEK_SET) < 0) {
        fail(r, TRACE_INVALID, "cannot read again: %s", r->fd < 0 ? "not a file" : strerror(errno));
        return -1;
    }
    r->buf_offset = r->records_end;
    r->buf_len = r->buf_pos = 0;
    r->at_eof = 0;
    r->read_errno = 0;
    r->follow = follow;
    r->limit = limit;
    return 0;
}

enum trace_status trace_reader_open(struct trace_reader *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    r->path = path;
    /* Non-blocking, so that a FIFO or device named as a trace cannot hang the open. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return fail(r, TRACE_INVALID, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int is_dir = S_ISDIR(st.st_mode);
        close(fd);
        return fail(r, TRACE_INVALID, is_dir ? "is a directory, not a trace" : "not a regular file, not a trace");
    }
    r->owned = malloc(BUFFER_SIZE);
    if (!r->owned) {
        close(fd);
        return fail(r, TRACE_INVALID, "out of memory");
    }
    r->fd = fd;
    r->buf = r->owned;
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return start(r);
}

/* A reader over bytes in memory, positioned at their first byte. */
static void over_memory(struct trace_reader *r, const void *data, size_t n, const char *name)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    r->path = name;
    r->buf = data;
    r->buf_len = n;
    r->at_eof = 1;
}

enum trace_status trace_reader_open_memory(struct trace_reader *r, const void *data, size_t n,
                                           const char *name)
{
    over_memory(r, data, n, name);
    return start(r);
}

void trace_reader_open_records(struct trace_reader *r, const void *data, size_t n,
                               const char *name, uint64_t last_address)
{
    over_memory(r, data, n, name);
    r->version = TRACE_VERSION;
    r->last_address = last_address;
}

void trace_reader_close(struct trace_reader *r)
{
    chunk_prefetch_free(r->prefetch); /* first: its job may read the buffer */
    r->prefetch = NULL;
    if (r->fd >= 0)
        close(r->fd);
    free(r->owned);
    free(r->chunk);
    ZSTD_freeDCtx(r->dctx);
    r->fd = -1;
    r->owned = NULL;
    r->chunk = NULL;
    r->dctx = NULL;
    r->in_chunk = 0;
    r->buf = NULL;
    r->buf_len = r->buf_pos = 0;
}

/* --- payload decoding ------------------------------------------------------------------ */

/* The payload of one record, [p, end). `slack`: TRACE_READER_SLACK bytes after `end` are
 * readable too, so varints may be loaded a word at a time. After a failure `bad` is set and
 * every later read gives 0; p never passes end. */
struct cursor {
    const uint8_t *p, *end;
    int bad, slack;
};

/* Decodes the varint at q from one 8-byte load when it ends within those 8 bytes (up to 56
 * bits; 8 bytes at q must be readable). Returns the byte after it, or NULL when it is longer:
 * the caller then decodes it byte by byte. */
static inline const uint8_t *varint_get_word(const uint8_t *q, uint64_t *v)
{
    uint64_t x;
    memcpy(&x, q, sizeof x);
    uint64_t stops = ~x & 0x8080808080808080ull; /* bytes without a continuation bit */
    if (__builtin_expect(stops == 0, 0))
        return NULL;
    unsigned last_bit = (unsigned)__builtin_ctzll(stops); /* 8 * (length - 1) + 7 */
    x &= ~0ull >> (63 - last_bit) & 0x7f7f7f7f7f7f7f7full; /* the varint's bytes, 7 bits each */
    x = ((x & 0x7f007f007f007f00ull) >> 1) | (x & 0x007f007f007f007full);
    x = ((x & 0x3fff00003fff0000ull) >> 2) | (x & 0x00003fff00003fffull);
    x = ((x & 0x0fffffff00000000ull) >> 4) | (x & 0x000000000fffffffull);
    *v = x;
    return q + (last_bit >> 3) + 1;
}

static inline uint64_t get_u64(struct cursor *c)
{
    uint64_t v = 0;
    if (__builtin_expect(c->slack, 1)) {
        const uint8_t *q = varint_get_word(c->p, &v);
        if (__builtin_expect(q != NULL && q <= c->end, 1)) {
            c->p = q;
            return v;
        }
        if (q) { /* it runs past the record's end */
            c->bad = 1;
            c->p = c->end;
            return 0;
        }
    }
    if (c->bad || varint_get(&c->p, c->end, &v) < 0) {
        c->bad = 1;
        c->p = c->end;
        return 0;
    }
    return v;
}

static uint64_t get_bounded(struct cursor *c, uint64_t max)
{
    uint64_t v = get_u64(c);
    if (v > max)
        c->bad = 1;
    return c->bad ? 0 : v;
}

static int64_t get_i64(struct cursor *c) { return zigzag_decode(get_u64(c)); }

/* A length-prefixed byte string of at most `max` bytes; `out` gets a terminator when `text`. */
static uint32_t get_bytes(struct cursor *c, void *out, size_t max, int text)
{
    uint64_t n = get_bounded(c, max);
    if (c->bad || n > (uint64_t)(c->end - c->p)) {
        c->bad = 1;
        n = 0;
    }
    memcpy(out, c->p, n);
    if (text)
        ((char *)out)[n] = 0;
    c->p += n;
    return (uint32_t)n;
}

static uint64_t get_address(struct trace_reader *r, struct cursor *c)
{
    r->last_address += (uint64_t)get_i64(c);
    return r->last_address;
}

static void decode_payload(struct trace_reader *r, struct trace_record *rec, struct cursor *c)
{
    switch (rec->type) {
    case TRACE_REC_PROCESS:
        rec->u.process.pid = get_u64(c);
        rec->u.process.ppid = get_u64(c);
        rec->u.process.start_ns = get_u64(c);
        rec->u.process.depth = get_u64(c);
        get_bytes(c, rec->u.process.exe, TRACE_MAX_PATH, 1);
        break;
    case TRACE_REC_MODULE:
        rec->u.module.start = get_u64(c);
        rec->u.module.end = get_u64(c);
        rec->u.module.bias = get_u64(c);
        get_bytes(c, rec->u.module.path, TRACE_MAX_PATH, 1);
        rec->u.module.build_id_len = get_bytes(c, rec->u.module.build_id, TRACE_MAX_BUILD_ID, 0);
        if (rec->u.module.end < rec->u.module.start)
            c->bad = 1;
        break;
    case TRACE_REC_STACK: {
        rec->u.stack.id = (uint32_t)get_bounded(c, UINT32_MAX - 1);
        uint32_t depth = rec->u.stack.depth = (uint32_t)get_bounded(c, TRACE_MAX_STACK_DEPTH);
        uint64_t frame = 0;
        for (uint32_t i = 0; i < depth && !c->bad; i++)
            rec->u.stack.frames[i] = frame += (uint64_t)get_i64(c);
        break;
    }
    case TRACE_REC_ALLOC:
        rec->u.alloc.address = get_address(r, c);
        rec->u.alloc.size = get_u64(c);
        rec->u.alloc.stack = (uint32_t)get_bounded(c, UINT32_MAX);
        break;
    case TRACE_REC_REALLOC:
        rec->old_address = get_address(r, c);
        rec->u.alloc.address = r->last_address += (uint64_t)get_i64(c);
        rec->u.alloc.size = get_u64(c);
        rec->u.alloc.stack = (uint32_t)get_bounded(c, UINT32_MAX);
        break;
    case TRACE_REC_FREE:
        rec->u.free.address = get_address(r, c);
        break;
    case TRACE_REC_TIME:
        rec->u.time.ns = get_u64(c);
        break;
    case TRACE_REC_LOST:
        rec->u.lost.cause = get_u64(c);
        rec->u.lost.count = get_u64(c);
        break;
    case TRACE_REC_END:
        rec->u.end.events = get_u64(c);
        break;
    case TRACE_REC_SAMPLE:
        rec->u.sample.ns = get_u64(c);
        rec->u.sample.rss_bytes = get_u64(c);
        rec->u.sample.allocations = get_u64(c);
        rec->u.sample.frees = get_u64(c);
        rec->u.sample.allocated_bytes = get_u64(c);
        break;
    case TRACE_REC_MARK:
        rec->u.mark.ns = get_u64(c);
        rec->u.mark.origin = get_u64(c);
        get_bytes(c, rec->u.mark.name, TRACE_MAX_MARK_NAME, 1);
        break;
    case TRACE_REC_SAMPLING:
        rec->u.sampling.period = get_u64(c);
        break;
    case TRACE_REC_SAMPLED:
        rec->u.sampled.address = get_address(r, c);
        break;
    default:
        break;
    }
}

/* FREE and ALLOC, nearly all of a trace, decoded from a cursor with slack as decode_payload
 * decodes them, with one bounds check at the end: each of the (at most three) varints is
 * loaded from where the previous one ended, at most 8 bytes further, and TRACE_READER_SLACK
 * covers three loads past the record's end. Returns 1 when done, 0 when the record is left to
 * decode_payload (another type, a varint longer than 8 bytes, a malformed record). */
static inline int decode_event_fast(struct trace_reader *r, unsigned type, const struct cursor *c,
                                    struct trace_record *rec)
{
    uint64_t delta, size, stack;
    const uint8_t *p = varint_get_word(c->p, &delta);
    if (__builtin_expect(!p, 0))
        return 0;
    if (type == TRACE_REC_FREE) {
        if (__builtin_expect(p > c->end, 0))
            return 0;
        rec->u.free.address = r->last_address += (uint64_t)zigzag_decode(delta);
        return 1;
    }
    if (type != TRACE_REC_ALLOC || !(p = varint_get_word(p, &size)) ||
        !(p = varint_get_word(p, &stack)) || p > c->end || stack > UINT32_MAX)
        return 0;
    rec->u.alloc.address = r->last_address += (uint64_t)zigzag_decode(delta);
    rec->u.alloc.size = size;
    rec->u.alloc.stack = (uint32_t)stack;
    return 1;
}

static int known_type(unsigned t) { return t >= TRACE_REC_PROCESS && t <= TRACE_REC_SAMPLED; }

/* Whether every byte from buf_pos to the end of the input is zero (consumes them). */
static int rest_is_zero(struct trace_reader *r)
{
    while (fill(r, 1)) {
        size_t avail = r->buf_len - r->buf_pos;
        for (size_t i = 0; i < avail; i++)
            if (r->buf[r->buf_pos + i])
                return 0;
        r->buf_pos += avail;
    }
    return 1;
}

/* After a zero type byte: the rest must be zeros too (space reserved, never written). */
static enum trace_status unwritten_tail(struct trace_reader *r, uint64_t offset)
{
    if (r->in_chunk || !rest_is_zero(r))
        return fail_at(r, TRACE_INVALID, offset, "invalid record type 0");
    return fail_at(r, TRACE_TRUNCATED, offset, "the trace stops here (the process did not finish it)");
}

/* Frames the record at buf_pos when the fast path applies: a one-byte length and the whole
 * record plus TRACE_READER_SLACK bytes in the buffer. Returns its type, or 0 (the caller takes
 * the general path, which also handles the zero type byte). */
static inline unsigned frame_fast(struct trace_reader *r, struct cursor *c)
{
    if (__builtin_expect(r->buf_len - r->buf_pos < FAST_WINDOW, 0))
        return 0;
    const uint8_t *p = r->buf + r->buf_pos;
    unsigned type = p[0], len = p[1];
    if (__builtin_expect(len >= 0x80 || type == TRACE_REC_UNWRITTEN, 0))
        return 0;
    *c = (struct cursor){p + 2, p + 2 + len, 0, 1};
    r->buf_pos += 2 + len;
    return type;
}

/* Frames the record at buf_pos, reading more of the file as needed. Returns TRACE_OK with *type
 * and *c set, TRACE_EOF, or an error. */
static enum trace_status frame(struct trace_reader *r, uint64_t offset, unsigned *type,
                               struct cursor *c)
{
    size_t avail = fill(r, FAST_WINDOW);
    if (avail == 0)
        return r->read_errno ? fail_at(r, TRACE_INVALID, offset, "cannot read: %s", strerror(r->read_errno))
                             : TRACE_EOF;
    *type = r->buf[r->buf_pos];
    if (*type == TRACE_REC_UNWRITTEN && r->follow)
        return fail(r, TRACE_TRUNCATED, "offset %llu: not written yet", (unsigned long long)offset);
    if (*type == TRACE_REC_UNWRITTEN)
        return unwritten_tail(r, offset);
    const uint8_t *p = r->buf + r->buf_pos + 1, *end = r->buf + r->buf_len;
    uint64_t len;
    if (varint_get(&p, end, &len) < 0)
        return avail < 1 + VARINT_MAX_LEN
                   ? fail_at(r, TRACE_TRUNCATED, offset, "record header cut short")
                   : fail_at(r, TRACE_INVALID, offset, "malformed record length");
    if (len > TRACE_MAX_RECORD_LEN)
        return fail_at(r, TRACE_INVALID, offset, "record length %llu exceeds the limit of %u",
                       (unsigned long long)len, TRACE_MAX_RECORD_LEN);
    size_t header = (size_t)(p - (r->buf + r->buf_pos));
    avail = fill(r, header + len + TRACE_READER_SLACK);
    if (avail < header + len)
        return fail_at(r, TRACE_TRUNCATED, offset, "record of %llu bytes cut short", (unsigned long long)len);
    const uint8_t *payload = r->buf + r->buf_pos + header;
    *c = (struct cursor){payload, payload + len, 0, avail >= header + len + TRACE_READER_SLACK};
    r->buf_pos += header + len;
    return TRACE_OK;
}

/* --- chunks ------------------------------------------------------------------------------ */

/* A chunk that does not decode: one a killed process left half written when only zeros
 * follow it (the stream ends there), corrupt otherwise. */
static enum trace_status bad_chunk(struct trace_reader *r, uint64_t offset, const char *why)
{
    if (rest_is_zero(r))
        return fail_at(r, TRACE_TRUNCATED, offset,
                       "a chunk cut short (%s): the trace stops here (the process did not finish it)", why);
    return fail_at(r, TRACE_INVALID, offset, "chunk does not decode: %s", why);
}

/* Called as the reader enters a chunk, on the file's bytes after it: reads on until the next
 * record is in the buffer whole (if the file holds it whole), and when it is a chunk, starts
 * decompressing it in the background (chunk_prefetch.h). The file's bytes then stay where
 * they are until leave_chunk, since fill() leaves them alone while a chunk is read. Reading
 * ahead changes nothing else: a read error or the end of the file still shows only where the
 * bytes run out. Follow mode is left out: there the bytes after a chunk may be read again. */
static void prefetch_next_chunk(struct trace_reader *r)
{
    if (r->follow || fill(r, 1 + VARINT_MAX_LEN) < 2 || r->buf[r->buf_pos] != TRACE_REC_CHUNK)
        return;
    const uint8_t *p = r->buf + r->buf_pos + 1, *end = r->buf + r->buf_len;
    uint64_t len, content_len;
    if (varint_get(&p, end, &len) < 0 || len > TRACE_MAX_RECORD_LEN)
        return;
    size_t header = (size_t)(p - (r->buf + r->buf_pos));
    if (fill(r, header + (size_t)len) < header + len)
        return;
    const uint8_t *frame = r->buf + r->buf_pos + header, *frame_end = frame + len;
    if (varint_get(&frame, frame_end, &content_len) < 0 || content_len == 0 ||
        content_len > TRACE_MAX_CHUNK_CONTENT)
        return;
    chunk_prefetch_start(&r->prefetch, r->buf_offset + r->buf_pos, frame,
                         (size_t)(frame_end - frame), (size_t)content_len,
                         TRACE_MAX_CHUNK_CONTENT + TRACE_READER_SLACK);
}

/* Decompresses the CHUNK at `offset` (its payload in c) and switches to reading its content. */
static enum trace_status enter_chunk(struct trace_reader *r, uint64_t offset, struct cursor *c)
{
    uint64_t content_len = get_bounded(c, TRACE_MAX_CHUNK_CONTENT);
    if (c->bad || content_len == 0) /* the writer's chunks hold something: this is a cut header */
        return bad_chunk(r, offset, "malformed content length");
    if (!r->chunk) {
        r->chunk = malloc(TRACE_MAX_CHUNK_CONTENT + TRACE_READER_SLACK);
        r->dctx = ZSTD_createDCtx();
        if (!r->chunk || !r->dctx)
            return fail_at(r, TRACE_INVALID, offset, "out of memory");
    }
    size_t frame_len = (size_t)(c->end - c->p);
    if (!chunk_prefetch_take(r->prefetch, offset, frame_len, content_len, &r->chunk)) {
        size_t got = ZSTD_decompressDCtx(r->dctx, r->chunk, content_len, c->p, frame_len);
        if (ZSTD_isError(got))
            return bad_chunk(r, offset, ZSTD_getErrorName(got));
        if (got != content_len)
            return bad_chunk(r, offset, "content shorter than its length");
    }
    memset(r->chunk + content_len, 0, TRACE_READER_SLACK);
    r->records_end = r->buf_offset + r->buf_pos;
    prefetch_next_chunk(r);
    r->file = (struct trace_reader_view){r->buf, r->buf_len, r->buf_pos, r->buf_offset, r->at_eof};
    r->buf = r->chunk;
    r->buf_len = content_len;
    r->buf_pos = 0;
    r->buf_offset = 0;
    r->at_eof = 1;
    r->chunk_offset = offset;
    r->in_chunk = 1;
    return TRACE_OK;
}

static void leave_chunk(struct trace_reader *r)
{
    chunk_prefetch_wait(r->prefetch); /* the file's bytes may move from now on */
    r->buf = r->file.buf;
    r->buf_len = r->file.buf_len;
    r->buf_pos = r->file.buf_pos;
    r->buf_offset = r->file.buf_offset;
    r->at_eof = r->file.at_eof;
    r->in_chunk = 0;
}

enum trace_status trace_reader_next(struct trace_reader *r, struct trace_record *rec)
{
    for (;;) {
        uint64_t offset = r->buf_offset + r->buf_pos;
        struct cursor c;
        unsigned type = frame_fast(r, &c);
        if (__builtin_expect(type == 0, 0)) {
            enum trace_status s = frame(r, offset, &type, &c);
            if (s == TRACE_EOF && r->in_chunk) { /* the chunk's content is used up */
                leave_chunk(r);
                continue;
            }
            if (s != TRACE_OK) /* a whole chunk holds whole records: cut short there is corrupt */
                return r->in_chunk ? TRACE_INVALID : s;
        }
        if (__builtin_expect(type == TRACE_REC_CHUNK, 0)) {
            if (r->in_chunk)
                return fail_at(r, TRACE_INVALID, offset, "a chunk inside a chunk");
            enum trace_status s = enter_chunk(r, offset, &c);
            if (s != TRACE_OK)
                return s;
            continue;
        }
        if (!r->in_chunk)
            r->records_end = r->buf_offset + r->buf_pos;
        if (!known_type(type))
            continue;
        rec->type = (enum trace_record_type)type;
        rec->offset = r->in_chunk ? r->chunk_offset : offset;
        rec->chunk_pos = r->in_chunk ? (int64_t)offset : -1;
        if (c.slack && decode_event_fast(r, type, &c, rec))
            return TRACE_OK;
        decode_payload(r, rec, &c);
        if (c.bad)
            return fail_at(r, TRACE_INVALID, offset, "malformed record of type %u", type);
        return TRACE_OK;
    }
}
