/* The writer's output path: trace records are staged in the staging area of the ring file,
 * committed together with the ring position they account for, and appended to the trace as
 * CHUNK records (or plainly, with compression off), under the commit protocol of
 * trace_format.h ("the ring file"), so that a process killed at any instruction leaves every
 * event in the trace, in the staging area or in the ring, once.
 *
 * Records put between two commits belong to the ring record being encoded (or to none: TIME,
 * SAMPLE, MARK between records); only committed bytes are ever appended, except when the
 * output of one ring record overflows the area by itself (a rescan of many modules), which
 * appends what it put so far: STACK and MODULE records, which a recovery tolerates before the
 * event that needed them. Only the writer calls these. */
#ifndef LEAKSHIM_STAGING_H
#define LEAKSHIM_STAGING_H

#include <stddef.h>
#include <stdint.h>

#include "trace_format.h"
#include "tracefile.h"

/* Starts staging for `file` into `area` (TRACE_STAGING_BYTES), with the commit slots of
 * `header` (the ring file's, or anonymous memory's when there is no ring file), and
 * `compress_level` (0: plain records, appended at every commit; 1 to 19: zstd chunks). The
 * header's state is set to: nothing staged, the trace as long as it is now, ring position 0.
 * Returns the level in effect (0 if compression could not start). */
int staging_start(struct tracefile *file, struct ring_file_header *header, uint8_t *area,
                  int compress_level);

/* Stages one record. */
void staging_put(enum trace_record_type type, const uint8_t *payload, size_t len);

/* Commits every staged byte with `position`: the ring records before it are accounted for. */
void staging_commit(uint64_t position);

/* Commits every staged byte (the ring position unchanged) and appends them to the trace. */
void staging_flush(void);

/* True when the oldest committed byte waits for at least `max_age_ns` (now_ns: a monotonic
 * clock reading). */
int staging_due(uint64_t now_ns, uint64_t max_age_ns);

#endif
