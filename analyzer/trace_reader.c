/* Trace decoding; see trace_reader.h. The buffer holds at most one maximal record plus one
 * read-ahead block; records are decoded in place from it. */
#include "trace_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define READ_BLOCK (1u << 16)
#define BUFFER_SIZE (TRACE_MAX_RECORD_LEN + 1 + VARINT_MAX_LEN + READ_BLOCK)

static enum trace_status fail(struct trace_reader *r, enum trace_status s, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(r->error, sizeof r->error, "%s: ", r->path);
    va_start(ap, fmt);
    vsnprintf(r->error + n, sizeof r->error - (size_t)n, fmt, ap);
    va_end(ap);
    return s;
}

/* Makes at least `need` bytes available from buf_pos, unless the file ends first. Returns the
 * number available. */
static size_t fill(struct trace_reader *r, size_t need)
{
    while (r->buf_len - r->buf_pos < need && !r->at_eof) {
        if (r->buf_pos) {
            memmove(r->buf, r->buf + r->buf_pos, r->buf_len - r->buf_pos);
            r->buf_len -= r->buf_pos;
            r->buf_offset += r->buf_pos;
            r->buf_pos = 0;
        }
        size_t room = BUFFER_SIZE - r->buf_len;
        size_t got = fread(r->buf + r->buf_len, 1, room < READ_BLOCK ? room : READ_BLOCK, r->file);
        r->buf_len += got;
        if (got == 0)
            r->at_eof = 1;
    }
    return r->buf_len - r->buf_pos;
}

static enum trace_status start(struct trace_reader *r)
{
    r->buf = malloc(BUFFER_SIZE);
    if (!r->buf) {
        fclose(r->file);
        return fail(r, TRACE_INVALID, "out of memory");
    }
    uint8_t *h = r->buf;
    size_t got = fill(r, TRACE_HEADER_LEN);
    enum trace_status s = TRACE_OK;
    if (got == 0)
        s = fail(r, TRACE_INVALID, "empty file, not a leakshim trace");
    else if (got < TRACE_MAGIC_LEN || memcmp(h, TRACE_MAGIC, TRACE_MAGIC_LEN) != 0)
        s = fail(r, TRACE_INVALID, "offset 0: bad magic number, not a leakshim trace");
    else if (got < TRACE_HEADER_LEN)
        s = fail(r, TRACE_INVALID, "offset %zu: file header cut short", got);
    else if ((r->version = (uint16_t)(h[8] | h[9] << 8)) != TRACE_VERSION)
        s = fail(r, TRACE_INVALID, "offset 8: trace format version %u, this leakshim reads version %u",
                 r->version, TRACE_VERSION);
    if (s != TRACE_OK) {
        trace_reader_close(r);
        return s;
    }
    r->buf_pos = TRACE_HEADER_LEN;
    r->records_end = TRACE_HEADER_LEN;
    return TRACE_OK;
}

enum trace_status trace_reader_open(struct trace_reader *r, const char *path)
{
    memset(r, 0, sizeof *r);
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
    r->file = fdopen(fd, "rb");
    if (!r->file) {
        close(fd);
        return fail(r, TRACE_INVALID, "cannot read: %s", strerror(errno));
    }
    return start(r);
}

enum trace_status trace_reader_open_memory(struct trace_reader *r, const void *data, size_t n,
                                           const char *name)
{
    memset(r, 0, sizeof *r);
    r->path = name;
    r->file = n ? fmemopen((void *)data, n, "rb") : fopen("/dev/null", "rb");
    if (!r->file)
        return fail(r, TRACE_INVALID, "cannot read: %s", strerror(errno));
    return start(r);
}

void trace_reader_close(struct trace_reader *r)
{
    if (r->file)
        fclose(r->file);
    free(r->buf);
    r->file = NULL;
    r->buf = NULL;
}

/* --- payload decoding ------------------------------------------------------------------ */

struct cursor {
    const uint8_t *p, *end;
    int bad;
};

static inline uint64_t get_u64(struct cursor *c)
{
    if (__builtin_expect(c->p < c->end && *c->p < 0x80, 1)) /* most fields fit in one byte */
        return c->bad ? 0 : *c->p++;
    uint64_t v = 0;
    if (!c->bad && varint_get(&c->p, c->end, &v) < 0)
        c->bad = 1;
    return c->bad ? 0 : v;
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
    default:
        break;
    }
}

static int known_type(unsigned t) { return t >= TRACE_REC_PROCESS && t <= TRACE_REC_MARK; }

/* After a zero type byte: the rest must be zeros too (space reserved, never written). */
static enum trace_status unwritten_tail(struct trace_reader *r, uint64_t offset)
{
    while (fill(r, 1)) {
        size_t avail = r->buf_len - r->buf_pos;
        for (size_t i = 0; i < avail; i++)
            if (r->buf[r->buf_pos + i])
                return fail(r, TRACE_INVALID, "offset %llu: invalid record type 0",
                            (unsigned long long)offset);
        r->buf_pos += avail;
    }
    return fail(r, TRACE_TRUNCATED, "offset %llu: the trace stops here (the process did not finish it)",
                (unsigned long long)offset);
}

enum trace_status trace_reader_next(struct trace_reader *r, struct trace_record *rec)
{
    for (;;) {
        uint64_t offset = r->buf_offset + r->buf_pos;
        size_t avail = fill(r, 1 + VARINT_MAX_LEN);
        if (avail == 0)
            return TRACE_EOF;
        unsigned type = r->buf[r->buf_pos];
        if (type == TRACE_REC_UNWRITTEN)
            return unwritten_tail(r, offset);
        const uint8_t *p = r->buf + r->buf_pos + 1, *end = r->buf + r->buf_len;
        uint64_t len;
        if (varint_get(&p, end, &len) < 0)
            return avail < 1 + VARINT_MAX_LEN
                       ? fail(r, TRACE_TRUNCATED, "offset %llu: record header cut short",
                              (unsigned long long)offset)
                       : fail(r, TRACE_INVALID, "offset %llu: malformed record length",
                              (unsigned long long)offset);
        if (len > TRACE_MAX_RECORD_LEN)
            return fail(r, TRACE_INVALID, "offset %llu: record length %llu exceeds the limit of %u",
                        (unsigned long long)offset, (unsigned long long)len, TRACE_MAX_RECORD_LEN);
        size_t header = (size_t)(p - (r->buf + r->buf_pos));
        if (fill(r, header + len) < header + len)
            return fail(r, TRACE_TRUNCATED, "offset %llu: record of %llu bytes cut short",
                        (unsigned long long)offset, (unsigned long long)len);
        struct cursor c = {r->buf + r->buf_pos + header, r->buf + r->buf_pos + header + len, 0};
        r->buf_pos += header + len;
        r->records_end = r->buf_offset + r->buf_pos;
        if (!known_type(type))
            continue;
        rec->type = (enum trace_record_type)type;
        rec->offset = offset;
        decode_payload(r, rec, &c);
        if (c.bad)
            return fail(r, TRACE_INVALID, "offset %llu: malformed record of type %u",
                        (unsigned long long)offset, type);
        return TRACE_OK;
    }
}
