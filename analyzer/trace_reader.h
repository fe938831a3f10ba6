/* Streaming decoder of trace files (format: shim/trace_format.h). Every trace is untrusted
 * input: lengths and counts are bounded, every varint is checked against the record's end, and
 * every failure names the byte offset of the record at fault. Memory is bounded by the
 * largest record allowed (TRACE_MAX_RECORD_LEN) plus one read block, whatever the file's size.
 *
 * Speed (a trace holds millions of events): the file is read with read(2) in large blocks
 * into one buffer and records are decoded in place; a record whose length fits in one byte
 * and that lies wholly in the buffer with TRACE_READER_SLACK bytes after it (nearly all of
 * them) is decoded by the fast path, which reads varints eight bytes at a time and checks
 * only where each one ends. Memory input is decoded in place, never copied.
 *
 * Follow mode (leakshim watch reads a trace while the process still writes it): the reader
 * reads no further than a limit (the length the writer says it completed, trace_format.h
 * "trace_written"), and a zero type byte is "not written yet" instead of the start of an
 * unwritten tail to check. When next() then returns TRACE_EOF or TRACE_TRUNCATED,
 * trace_reader_resume forgets what was buffered after the last whole record and reads the
 * file again from there at the next call, so a record is decoded once, whole, whenever the
 * writer has finished it. Every check of a record's contents stays as it is; a follower ends
 * by a last pass without follow mode, which checks the tail as for any finished file.
 *
 * CHUNK records (compressed runs of records) are decompressed whole into a buffer of
 * TRACE_MAX_CHUNK_CONTENT bytes, allocated at the first one, and their records are returned
 * one by one like plain ones; a chunk's content is decoded in place like the file's bytes. A
 * follower's limit falls between chunks (the writer publishes its length after whole appends).
 * While the records of one chunk are returned, a background thread decompresses the next one
 * when it is already in the read buffer (chunk_prefetch.h); what is returned, errors
 * included, is the same as without it.
 *
 * Used by replay (report, check, timeline), leakshim watch and the fuzz target. */
#ifndef LEAKSHIM_TRACE_READER_H
#define LEAKSHIM_TRACE_READER_H

#include <stdint.h>
#include <stdio.h>

#include "trace_format.h"

struct trace_record {
    enum trace_record_type type;
    uint64_t offset;   /* of the record's type byte in the file; inside a CHUNK, of the chunk's */
    int64_t chunk_pos; /* -1; inside a CHUNK, the record's byte position in the chunk's content */
    union {
        struct {
            uint64_t pid, ppid, start_ns, depth;
            char exe[TRACE_MAX_PATH + 1];
        } process;
        struct {
            uint64_t start, end, bias;
            char path[TRACE_MAX_PATH + 1];
            uint8_t build_id[TRACE_MAX_BUILD_ID];
            uint32_t build_id_len;
        } module;
        struct {
            uint32_t id, depth;
            uint64_t frames[TRACE_MAX_STACK_DEPTH];
        } stack;
        struct {
            uint64_t address, size;
            uint32_t stack;
        } alloc; /* also TRACE_REC_REALLOC: old_address is set there */
        struct {
            uint64_t address;
        } free;
        struct {
            uint64_t ns;
        } time;
        struct {
            uint64_t cause, count;
        } lost;
        struct {
            uint64_t events;
        } end;
        struct {
            uint64_t ns, rss_bytes, allocations, frees, allocated_bytes;
        } sample;
        struct {
            uint64_t ns, origin;
            char name[TRACE_MAX_MARK_NAME + 1];
        } mark;
        struct {
            uint64_t period;
        } sampling;
        struct {
            uint64_t address;
        } sampled;
    } u;
    uint64_t old_address; /* TRACE_REC_REALLOC only */
};

enum trace_status {
    TRACE_OK,        /* a record was decoded */
    TRACE_EOF,       /* the stream ended cleanly at a record boundary */
    TRACE_TRUNCATED, /* the stream ended inside a record, or unwritten space follows */
    TRACE_INVALID,   /* not a trace, or corrupt: see trace_reader.error */
};

/* Bytes that must be readable after a record for the fast path: varints are loaded 8 bytes at
 * a time, and up to three of them are decoded before one check of where they ended. */
#define TRACE_READER_SLACK 32

/* Where the reader is in the file, saved while it reads a chunk's content instead. */
struct trace_reader_view {
    const uint8_t *buf;
    size_t buf_len, buf_pos;
    uint64_t buf_offset;
    int at_eof;
};

struct chunk_prefetch;

struct trace_reader {
    int fd;               /* -1 for memory input */
    const char *path;
    const uint8_t *buf;   /* the bytes being decoded: `owned`, the caller's memory, or `chunk` */
    uint8_t *owned;       /* the read buffer of file input */
    size_t buf_len, buf_pos;
    uint64_t buf_offset;  /* file offset of buf[0]; 0 in a chunk's content */
    uint64_t last_address; /* for address deltas */
    uint64_t records_end;  /* file offset just after the last whole record (or chunk) read */
    int at_eof;
    int read_errno;        /* a read(2) failure, reported when the data runs out */
    int follow;            /* follow mode: see above */
    uint64_t limit;        /* follow mode: bytes past this file offset are not read */
    int in_chunk;          /* buf is a chunk's content; `file` is where the file's bytes are */
    struct trace_reader_view file;
    uint64_t chunk_offset; /* file offset of the chunk being read */
    uint8_t *chunk;        /* content buffer, with TRACE_READER_SLACK bytes after it */
    void *dctx;            /* zstd's decompression context */
    struct chunk_prefetch *prefetch; /* decompresses the next chunk meanwhile, or NULL */
    uint16_t version;
    char error[512];
};

/* Opens `path` and checks the file header. On failure returns TRACE_INVALID with
 * r->error set ("PATH: ..."); the reader then needs no close. */
enum trace_status trace_reader_open(struct trace_reader *r, const char *path);

/* Decodes the next record into *rec. Unknown record types are skipped (a newer writer may add
 * some). On TRACE_TRUNCATED and TRACE_INVALID, r->error says where and why. */
enum trace_status trace_reader_next(struct trace_reader *r, struct trace_record *rec);

void trace_reader_close(struct trace_reader *r);

/* Follow mode (file input only): from the next call of trace_reader_next on, reads the file
 * from just after the last whole record again, up to file offset `limit` (UINT64_MAX: to the
 * end of the file) when `follow`, to the end with the checks of a finished file otherwise.
 * Returns 0, or -1 with r->error set when the file cannot be read from there. */
int trace_reader_resume(struct trace_reader *r, int follow, uint64_t limit);

/* The reader over bytes in memory instead of a file (for the fuzz target and tests). */
enum trace_status trace_reader_open_memory(struct trace_reader *r, const void *data, size_t n,
                                           const char *name);

/* The reader over a run of records in memory without a file header, whose address deltas
 * continue from `last_address` (a ring file's staged records, after the trace's). */
void trace_reader_open_records(struct trace_reader *r, const void *data, size_t n,
                               const char *name, uint64_t last_address);

#endif
