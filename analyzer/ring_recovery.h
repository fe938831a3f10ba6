/* Recovery of the events a killed process recorded but never wrote: the shim keeps its event
 * ring and its staging area in the hidden file .NAME.ring beside the trace NAME and removes it
 * when the trace is finished (trace_format.h, "the ring file"). After replaying an unfinished
 * trace, replay_file calls ring_recover, which replays what the trace lacks: the staged
 * records, then the ring's unreleased records. The ring file is untrusted input like the
 * trace: every length and field is checked. */
#ifndef LEAKSHIM_RING_RECOVERY_H
#define LEAKSHIM_RING_RECOVERY_H

#include <stdint.h>

#include "replay.h"
#include "trace_reader.h"

/* Looks for the ring file of `trace_path`; if it exists and belongs to the same process as
 * the replayed trace (pid and start time), applies what the trace lacks to `r`. `reader` is
 * the trace's reader after its last record: where the trace's whole records end, and the
 * address the next delta starts from. Returns the number of events recovered (0 if there is
 * no ring file); on a ring file that does not fit, -1 with `error` set. */
long long ring_recover(struct replay *r, const char *trace_path, const struct trace_reader *reader,
                       char *error, size_t error_len);

#endif
