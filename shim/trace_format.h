/* The leakshim trace format, defined once for both sides: the shim's writer encodes it, the
 * analyzer's reader decodes it. shim/FORMAT.md is the prose version of this header.
 *
 * A trace is a 16-byte file header followed by a stream of self-delimiting records:
 *
 *     u8 type | varint payload_length | payload[payload_length]
 *
 * so that a reader can skip a record type it does not know, follow a file that is still being
 * written (a record is either whole or not yet there) and read a file that was cut short. A
 * zero type byte marks space the writer reserved but never filled (a process killed while its
 * trace was mapped): the stream ends there.
 *
 * Integers in payloads are LEB128 varints; signed deltas are zigzag-encoded first. Addresses
 * of blocks are deltas from the previous block address in the stream (per trace), which keeps
 * typical records at 5 to 9 bytes.
 *
 * Compression: a CHUNK record holds a run of ordinary records, compressed as one zstd frame.
 * The stream is the same either way: a reader replaces the chunk with the records it holds,
 * and address deltas run on across chunk boundaries. A chunk holds whole records, never a
 * chunk. The writer stores a chunk's type byte and lengths before its frame, and the frame
 * carries a checksum of its content, so a chunk that a killed process left half copied fails
 * to decompress: with nothing but zeros after it, the stream ends there (the trace is cut
 * short); followed by anything else, the trace is corrupt.
 */
#ifndef LEAKSHIM_TRACE_FORMAT_H
#define LEAKSHIM_TRACE_FORMAT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define TRACE_MAGIC "LEAKSHIM"   /* 8 bytes, no terminator in the file */
#define TRACE_MAGIC_LEN 8
#define TRACE_VERSION 2          /* 2 added CHUNK: a reader of version 1 would skip every event */
#define TRACE_OLDEST_VERSION 1   /* the oldest version a reader still reads */
#define TRACE_HEADER_LEN 16      /* magic, u16 version (LE), u16 flags, u32 reserved */

/* Upper bounds a reader enforces so that hostile input cannot ask for absurd memory. */
#define TRACE_MAX_RECORD_LEN (1u << 20)
#define TRACE_MAX_STACK_DEPTH 256
#define TRACE_MAX_PATH 4096
#define TRACE_MAX_BUILD_ID 64

enum trace_record_type {
    TRACE_REC_UNWRITTEN = 0, /* never written: end of data */
    /* pid, ppid, start time (ns since the epoch), stack depth limit, exe path */
    TRACE_REC_PROCESS = 1,
    /* start, end (runtime address range covered), bias (runtime = bias + ELF vaddr), path,
       build-id */
    TRACE_REC_MODULE = 2,
    /* id, frame count, frames: first absolute, then zigzag deltas from the previous frame */
    TRACE_REC_STACK = 3,
    /* zigzag address delta, requested size, stack id */
    TRACE_REC_ALLOC = 4,
    /* zigzag address delta */
    TRACE_REC_FREE = 5,
    /* zigzag old-address delta, zigzag new-address delta (from old), requested size, stack id */
    TRACE_REC_REALLOC = 6,
    /* ns since the start, when the writer wrote it: events before it were recorded by then */
    TRACE_REC_TIME = 7,
    /* cause (enum trace_lost_cause), number of events lost */
    TRACE_REC_LOST = 8,
    /* total events recorded; present only when the process ended normally */
    TRACE_REC_END = 9,
    /* (empty) the process called exec: if no EXEC_FAILED follows, its image ended here */
    TRACE_REC_EXEC = 10,
    /* (empty) the exec before it failed; the process went on */
    TRACE_REC_EXEC_FAILED = 11,
    /* a point of the heap time line, written every sampling interval: ns since the start (as
       TIME), resident set size in bytes (0 if unknown), and the writer's running totals of
       allocations, frees and allocated bytes up to this point of the stream */
    TRACE_REC_SAMPLE = 12,
    /* ns since the start (as TIME), origin (enum trace_mark_origin), name (a string) */
    TRACE_REC_MARK = 13,
    /* how the allocations after it were recorded: the mean sampling period in bytes, or 0 when
       every allocation and free is (see "sampling" below). Written first, after PROCESS, and
       whenever the shim changes mode. */
    TRACE_REC_SAMPLING = 14,
    /* zigzag address delta (0: the block of the ALLOC or REALLOC just before); only while the
       period is 0 in a trace that samples: that block was also the sampler's pick, so its free
       stays recorded when sampling resumes */
    TRACE_REC_SAMPLED = 15,
    /* content length, then a zstd frame (with its content checksum) whose content, exactly
       that many bytes, is a run of whole records of any type but CHUNK */
    TRACE_REC_CHUNK = 16,
};

/* The largest content a CHUNK may hold (the writer's chunks hold at most TRACE_STAGING_BYTES). */
#define TRACE_MAX_CHUNK_CONTENT TRACE_MAX_RECORD_LEN

enum trace_mark_origin {
    TRACE_MARK_CALL = 1,   /* the program called leakshim_mark() */
    TRACE_MARK_SIGNAL = 2, /* the operator sent LEAKSHIM_MARK_SIGNAL; named "signal-N" */
    TRACE_MARK_SHIM = 3,   /* the shim itself: "escalated", "de-escalated" (LEAKSHIM_ESCALATE) */
};
#define TRACE_MAX_MARK_NAME 255

/* The stack id of an allocation whose stack could not be interned (out of memory). */
#define TRACE_STACK_UNKNOWN 0xffffffffu

enum trace_lost_cause {
    TRACE_LOST_RECURSION = 1, /* a signal handler's event, nested in a hook, found the ring full */
    TRACE_LOST_OUTPUT = 2,    /* the trace file could not be extended */
    TRACE_LOST_SAMPLED_SET = 3, /* a sampled block the shim could not follow (its set was full):
                                   neither its allocation nor its free is in the trace */
    TRACE_LOST_STACK_HASH = 4,  /* two stacks with one hash (shim/stack_hash.h): later events of
                                   the second may be counted under the first */
};

/* --- sampling ---------------------------------------------------------------------------
 * With a period P > 0 (TRACE_REC_SAMPLING), the shim records an allocation only when a
 * Poisson process over the allocated bytes, with one point every P bytes on average, puts a
 * point inside it: a block of s bytes is recorded with probability 1 - exp(-s/P), and its free
 * is recorded too. A reader weighs each recorded block by the inverse of that probability,
 * which makes every sum over blocks (bytes, counts) an unbiased estimate.
 *
 * With P = 0 after a sampling part (escalation), every allocation and free is recorded; the
 * blocks the sampler would have picked anyway carry a SAMPLED record. When sampling resumes,
 * only those keep their frees recorded: a reader then stops following the other blocks of the
 * full-recording part and weighs the SAMPLED ones as sampled blocks. Frees of blocks the
 * reader never saw (unsampled ones, freed while everything is recorded) are to be ignored. */
static inline double trace_sampling_probability(uint64_t size, uint64_t period)
{
    return period ? -expm1(-(double)size / (double)period) : 1.0;
}

/* --- the ring file ----------------------------------------------------------------------
 * While a process records into the trace NAME, its event ring (shim/ring.h, records laid out
 * as shim/events.h says) and the writer's staging area live in the hidden file .NAME.ring next
 * to it, a shared mapping:
 *
 *     header (RING_FILE_HEADER_BYTES) | staging area (staging_bytes) | ring words (capacity x 8)
 *
 * The file is removed when the trace is finished. A process that dies without finishing it
 * leaves it behind, and the analyzer replays what the trace lacks.
 *
 * The way of a ring record: the writer encodes it into the staging area (trace records, as in
 * the trace), commits, and only then releases its ring words; when the staging area is full,
 * 50 ms after its first record, and at every sync point (exit, _exit, exec, abort), the writer
 * appends the staged records to the trace as one CHUNK (or as they are, with compression off)
 * and commits again. Progress is a state of four numbers (struct ring_file_state):
 *
 *     the stream = trace[0, trace_end) ++ staging[0, staged) ++ ring records from `position`
 *
 * and, while the staged records are being appended, flush_end: the trace's length once the
 * append is done (and flush_plain: 1 if they are appended as they are, not as a chunk). The
 * header holds two state slots and a commit counter; states[commits & 1]
 * is the current one. A commit writes the other slot, then stores commits + 1: a process
 * killed at any instruction leaves the last committed state whole, since the current slot is
 * never written. The writer keeps this order of stores:
 *
 *   1. it writes a record's output into the staging area at `staged` and beyond: outside the
 *      committed state, which still says the ring record at `position` is unwritten;
 *   2. it commits (position past the record, staged past its output), and only then releases
 *      the record's ring words (which producers may then overwrite);
 *   3. to append: it commits flush_end = trace_end + the appended length, appends (the chunk's
 *      type byte and lengths first, then its frame), and commits (trace_end = flush_end,
 *      staged = 0, flush_end = 0); only then does it write into the staging area again.
 *
 * The analyzer reads the trace up to its last whole record, ending at file offset E. If
 * E == trace_end, the staged records follow; if E == flush_end (the append completed, the last
 * commit did not), they are in the trace already; if flush_plain and trace_end < E < flush_end,
 * the trace holds the first E - trace_end bytes of them (whole records: a half-copied chunk is
 * no whole record, so E stays at trace_end), and the rest follow; any other E means the two
 * files disagree and the ring file is ignored. Then the ring records from `position` follow,
 * up to the first zero header word.
 *
 * `trace_written` is the trace's length after the last append that completed (0: a writer
 * that does not keep it). A reader following the trace while it is written (leakshim watch)
 * reads only that far: bytes past it may be an append still being copied. */
#define RING_FILE_MAGIC "LKSHRING"
#define RING_FILE_VERSION 2
#define RING_FILE_HEADER_BYTES 4096
#define TRACE_STAGING_BYTES (64u << 10) /* the writer's staging area */

/* Writes the ring file's path for the trace at `trace_path` (DIR/NAME -> DIR/.NAME.ring).
 * Returns 0, or -1 if it does not fit in `cap` bytes. */
static inline int ring_file_path(const char *trace_path, char *out, size_t cap)
{
    const char *slash = strrchr(trace_path, '/');
    int n = slash ? snprintf(out, cap, "%.*s/.%s.ring", (int)(slash - trace_path), trace_path, slash + 1)
                  : snprintf(out, cap, ".%s.ring", trace_path);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

struct ring_file_state {
    uint64_t position;  /* free-running ring position of the first record not staged or written */
    uint64_t trace_end; /* the trace's length that the staged records follow */
    uint64_t staged;    /* bytes of whole records in the staging area */
    uint64_t flush_end; /* while the staged records are being appended: the trace's length after */
    uint64_t flush_plain; /* 1 while they are appended as they are (not as a CHUNK) */
};

struct ring_file_header {
    char magic[8];
    uint32_t version, header_bytes;
    uint64_t capacity; /* in 64-bit words, a power of two; the words follow the staging area */
    uint64_t pid;
    uint64_t start_ns;      /* the PROCESS record's start time: ties the ring to its trace */
    uint64_t staging_bytes; /* the staging area's size; it follows the header */
    uint64_t commits;       /* states[commits & 1] is the current state */
    struct ring_file_state states[2];
    uint64_t trace_written; /* the trace's length after the last complete append */
};

/* --- varints -------------------------------------------------------------------------- */

#define VARINT_MAX_LEN 10

static inline size_t varint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static inline uint64_t zigzag_encode(int64_t v) { return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63)); }
static inline int64_t zigzag_decode(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* Decodes one varint from [*p, end). Returns 0 and advances *p, or -1 if the input ends first
 * or the varint is longer than 64 bits allow. */
static inline int varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t result = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        if (shift == 63 && b > 1)
            return -1;
        result |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = result;
            return 0;
        }
    }
    return -1;
}

#endif
