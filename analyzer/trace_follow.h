/* Following a trace while its process writes it (leakshim watch), like `tail -f`: records are
 * handed out once, whole, as the writer finishes them, and the reader never goes back to the
 * start of the file.
 *
 * How far to read: while the process runs, its ring file (.NAME.ring beside the trace,
 * trace_format.h) says how long the trace was after the writer's last complete append
 * (`trace_written`); the follower reads exactly that far, so it never decodes an append that
 * is still being copied into the shared mapping. Without a ring file (an older writer, a
 * ring that could not be created, after a failed exec), it reads to the first record cut
 * short or zero type byte (trace_reader's follow mode). The ring file is checked again at
 * every pause: once it is gone (removed when the trace is finished), the limit is dropped.
 *
 * Whether the process still runs: kill(pid, 0) on the PROCESS record's pid, with a zombie
 * counting as gone, and a process started after the trace (its pid reused) too.
 *
 * The end: trace_follow_last_pass switches the reader to the checks of a finished file, for
 * what is left; the caller then ends the trace with replay_conclude. */
#ifndef LEAKSHIM_TRACE_FOLLOW_H
#define LEAKSHIM_TRACE_FOLLOW_H

#include <stdint.h>
#include <sys/types.h>

#include "trace_format.h"
#include "trace_reader.h"

struct trace_follow {
    const char *path;
    struct trace_reader reader;
    int paused;                      /* the reader found nothing more: resume before reading */
    const struct ring_file_header *ring; /* mapped read-only, or NULL */
    dev_t ring_dev;
    ino_t ring_ino;
    int ring_gone;                   /* the ring file was removed: no limit from now on */
};

/* Opens the trace, waiting up to `wait_s` seconds for it to exist with a whole file header
 * (0: it must be there now). Returns 0, or -1 with `error` set ("PATH: ..."). */
int trace_follow_open(struct trace_follow *f, const char *path, double wait_s, char *error,
                      size_t error_len);

/* Ties the follower to the process's ring file (after the PROCESS record; pid and start time
 * must match). Without one, the follower reads as far as the records are whole. */
void trace_follow_attach_ring(struct trace_follow *f, uint64_t pid, uint64_t start_ns);

/* The next whole record: TRACE_OK, TRACE_EOF when there is none yet (call again later), or
 * TRACE_INVALID (f->reader.error says why). */
enum trace_status trace_follow_next(struct trace_follow *f, struct trace_record *rec);

/* Reads what is left after the writer is gone, with the checks of a finished file: then
 * trace_reader_next(&f->reader, ...) until it returns something else than TRACE_OK.
 * Returns 0, or -1 (f->reader.error). */
int trace_follow_last_pass(struct trace_follow *f);

/* 1 while the process `pid` runs and started no later than `start_ns` (ns since the Unix
 * epoch, the trace's start), 0 when it is gone. */
int trace_follow_process_alive(uint64_t pid, uint64_t start_ns);

void trace_follow_close(struct trace_follow *f);

#endif
