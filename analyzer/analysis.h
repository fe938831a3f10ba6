/* One analysis of one trace, as every command that reads traces runs it (report, check, diff,
 * the exports): replay the trace (recovering what a killed process left in its ring file),
 * then build the ranked, symbolized suspect list for the requested window and order. The
 * modules the stacks use are opened in the background during the replay (module_prefetch.h).
 *
 * Commands differ only in what they print; they all go through analysis_run so that they
 * agree on every number. */
#ifndef LEAKSHIM_ANALYSIS_H
#define LEAKSHIM_ANALYSIS_H

#include <stddef.h>

#include "replay.h"
#include "suspects.h"

struct analysis_request {
    size_t top;               /* suspects kept, best first; 0 keeps all */
    enum suspect_order order;
    const char *since, *until; /* the window: NULL for the trace's start and end, else seconds
                                  from the start ("12.5") or the name of a mark */
    int include_freed;        /* also stacks whose blocks were all freed (allocated totals) */
    void (*progress)(void *ctx, uint64_t bytes_read); /* optional: see struct replay */
    void *progress_ctx;
};

struct analysis {
    struct replay replay;
    struct suspect_list suspects;
    enum trace_status status; /* TRACE_EOF, or TRACE_TRUNCATED (warning says why) */
    char warning[600];        /* empty unless the trace was cut short */
};

/* Returns 0 when the trace was read (perhaps cut short: a->status and a->warning say), or -1
 * with `error` set ("PATH: offset N: why", "out of memory", an unknown mark) when it cannot
 * be analysed. analysis_free must be called either way. */
int analysis_run(struct analysis *a, const char *trace, const struct analysis_request *req,
                 char *error, size_t error_len);
void analysis_free(struct analysis *a);

/* The end of analysis_run, for a caller that fed a->replay itself (leakshim watch follows a
 * trace record by record) and ended it with replay_conclude, which returned `status` and the
 * message `why`: sets a->status and a->warning and builds the suspects. Returns as
 * analysis_run. */
int analysis_finish(struct analysis *a, const char *trace, enum trace_status status,
                    const char *why, const struct analysis_request *req, char *error,
                    size_t error_len);

/* "score", "bytes", "count", "growth": 0, or -1 for another word. */
int analysis_parse_order(const char *word, enum suspect_order *out);

#endif
