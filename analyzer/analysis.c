/* The analysis every command shares; see analysis.h. */
#include "analysis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int analysis_parse_order(const char *word, enum suspect_order *out)
{
    static const struct {
        const char *word;
        enum suspect_order order;
    } words[] = {{"score", ORDER_SCORE}, {"bytes", ORDER_BYTES}, {"count", ORDER_COUNT},
                 {"growth", ORDER_GROWTH}};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcmp(word, words[i].word) == 0) {
            *out = words[i].order;
            return 0;
        }
    return -1;
}

/* A window that cannot hold anything is a mistake in the command, not an answer: a start
 * after the trace's end (a typed 300 for 30), or an end before the start (two marks swapped).
 * Either would pass every budget of `check`. Returns 0, or -1 with `error` set. */
static int window_error(const struct replay *r, const char *trace, char *error, size_t error_len)
{
    const struct replay_window *w = &r->window;
    if (w->since.kind == BOUND_TIME && !w->opened) {
        snprintf(error, error_len, "%s: the window starts at %.3f s, after the end of the trace "
                 "(%.3f s)", trace, (double)w->since.ns / 1e9, (double)r->summary.last_time_ns / 1e9);
        return -1;
    }
    if (w->since.kind != BOUND_NONE && w->until.kind != BOUND_NONE && w->open_ns > w->close_ns) {
        snprintf(error, error_len, "%s: the window ends (%.3f s) before it starts (%.3f s)", trace,
                 (double)w->close_ns / 1e9, (double)w->open_ns / 1e9);
        return -1;
    }
    return 0;
}

/* A bound that reads as a number must be a time from the start: "-1" is no mark's name. */
static int negative_seconds(const char *bound)
{
    char *end;
    return bound && strtod(bound, &end) < 0 && end != bound && !*end;
}

int analysis_run(struct analysis *a, const char *trace, const struct analysis_request *req,
                 char *error, size_t error_len)
{
    memset(a, 0, sizeof *a);
    const char *bad = negative_seconds(req->since) ? req->since : negative_seconds(req->until) ? req->until : NULL;
    if (bad) {
        snprintf(error, error_len, "a window bound in seconds counts from the trace's start: "
                                   "0 or more, not '%s'", bad);
        return -1;
    }
    if (replay_init(&a->replay) < 0) {
        snprintf(error, error_len, "out of memory");
        return -1;
    }
    a->replay.prefetch_modules = 1; /* the suspects are symbolized after the replay */
    a->replay.progress = req->progress;
    a->replay.progress_ctx = req->progress_ctx;
    char why[600] = "";
    replay_set_window(&a->replay, req->since, req->until);
    enum trace_status status = replay_file(&a->replay, trace, why, sizeof why);
    return analysis_finish(a, trace, status, why, req, error, error_len);
}

int analysis_finish(struct analysis *a, const char *trace, enum trace_status status,
                    const char *why, const struct analysis_request *req, char *error,
                    size_t error_len)
{
    a->status = status;
    if (a->status == TRACE_INVALID) {
        snprintf(error, error_len, "%s", why);
        return -1;
    }
    if (a->status == TRACE_TRUNCATED)
        snprintf(a->warning, sizeof a->warning, "%s", why);
    const struct replay_window *w = &a->replay.window;
    const char *missing = !w->opened ? w->since.mark : w->until.kind == BOUND_MARK && !w->closed ? w->until.mark : NULL;
    if (missing) {
        /* "3.5s" or "500ms": seconds meant with a unit, which bounds do not take */
        char *unit;
        (void)strtod(missing, &unit);
        int timed = unit != missing && (strcmp(unit, "s") == 0 || strcmp(unit, "ms") == 0);
        snprintf(error, error_len, "%s: no mark named '%s' (%s)", trace, missing,
                 timed ? "seconds are written as a plain number, such as 2.5"
                       : "leakshim timeline lists the marks");
        return -1;
    }
    if (window_error(&a->replay, trace, error, error_len) < 0)
        return -1;
    if (suspects_build(&a->replay, req->top, req->order, req->include_freed, &a->suspects) < 0) {
        snprintf(error, error_len, "out of memory");
        return -1;
    }
    return 0;
}

void analysis_free(struct analysis *a)
{
    suspects_free(&a->suspects);
    replay_free(&a->replay);
}
