/* Staging, commits and appends; see staging.h for the contract and trace_format.h ("the ring
 * file") for the protocol whose stores are made here, in the order given there. */
#include "staging.h"

#include <stdatomic.h>
#include <string.h>

#include "compress.h"

static struct {
    struct tracefile *file;
    struct ring_file_header *header;
    uint8_t *area;
    size_t len;        /* bytes staged */
    size_t committed;  /* of which the last commit covers these */
    uint64_t position; /* the last committed ring position */
    uint64_t trace_end;
    int level;
    int waiting;               /* staging_due saw committed bytes ... */
    uint64_t waiting_since_ns; /* ... at this time */
} s;

/* Writes the header's other state slot, then makes it the current one. */
static void store_state(uint64_t trace_end, uint64_t staged, uint64_t flush_end, int flush_plain)
{
    struct ring_file_header *h = s.header;
    uint64_t next = h->commits + 1;
    struct ring_file_state *state = &h->states[next & 1];
    state->position = s.position;
    state->trace_end = trace_end;
    state->staged = staged;
    state->flush_end = flush_end;
    state->flush_plain = (uint64_t)flush_plain;
    atomic_signal_fence(memory_order_seq_cst); /* the slot before the counter ... */
    __atomic_store_n(&h->commits, next, __ATOMIC_RELEASE);
    atomic_signal_fence(memory_order_seq_cst); /* ... and the counter before what follows */
}

int staging_start(struct tracefile *file, struct ring_file_header *header, uint8_t *area,
                  int compress_level)
{
    memset(&s, 0, sizeof s);
    s.file = file;
    s.header = header;
    s.area = area;
    s.trace_end = tracefile_length(file);
    s.level = compress_level > 0 && compress_start(compress_level) == 0 ? compress_level : 0;
    header->commits = 0;
    header->staging_bytes = TRACE_STAGING_BYTES;
    store_state(s.trace_end, 0, 0, 0);
    return s.level;
}

/* Appends the committed bytes to the trace: a CHUNK, or the records as they are when
 * compression is off or fails. */
static void append_committed(void)
{
    size_t n = s.committed;
    if (n == 0)
        return;
    size_t frame_len = 0;
    const void *frame = s.level ? compress_frame(s.area, n, &frame_len) : NULL;
    uint8_t header[1 + 2 * VARINT_MAX_LEN];
    size_t header_len = 0;
    if (frame) {
        uint8_t content_len[VARINT_MAX_LEN];
        size_t k = varint_put(content_len, n);
        header[0] = TRACE_REC_CHUNK;
        header_len = 1 + varint_put(header + 1, k + frame_len);
        memcpy(header + header_len, content_len, k);
        header_len += k;
    }
    store_state(s.trace_end, n, s.trace_end + (frame ? header_len + frame_len : n), !frame);
    if (frame)
        tracefile_append_record(s.file, header, header_len, frame, frame_len);
    else
        tracefile_append(s.file, s.area, n);
    s.trace_end = tracefile_length(s.file);
    store_state(s.trace_end, 0, 0, 0);
    /* for readers that follow the trace while it is written: it is whole up to here */
    __atomic_store_n(&s.header->trace_written, s.trace_end, __ATOMIC_RELEASE);
    memmove(s.area, s.area + n, s.len - n); /* what the record being encoded put so far */
    s.len -= n;
    s.committed = 0;
    s.waiting = 0;
}

void staging_put(enum trace_record_type type, const uint8_t *payload, size_t len)
{
    size_t need = 1 + VARINT_MAX_LEN + len;
    if (s.len + need > TRACE_STAGING_BYTES)
        append_committed();
    if (s.len + need > TRACE_STAGING_BYTES)
        staging_flush(); /* one ring record's output fills the area by itself */
    s.area[s.len] = (uint8_t)type;
    s.len += 1 + varint_put(s.area + s.len + 1, len);
    memcpy(s.area + s.len, payload, len);
    s.len += len;
}

void staging_commit(uint64_t position)
{
    if (position == s.position && s.len == s.committed)
        return;
    s.position = position;
    s.committed = s.len;
    store_state(s.trace_end, s.committed, 0, 0);
    if (!s.level)
        append_committed();
}

void staging_flush(void)
{
    staging_commit(s.position);
    append_committed();
}

int staging_due(uint64_t now_ns, uint64_t max_age_ns)
{
    if (s.committed == 0)
        return 0;
    if (!s.waiting) {
        s.waiting = 1;
        s.waiting_since_ns = now_ns;
    }
    return now_ns - s.waiting_since_ns >= max_age_ns;
}
