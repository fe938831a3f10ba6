/* What leakshim watch writes while it follows a trace: the status line of each interval and
 * the alerts (a line for people, a JSON line for programs). */
#ifndef LEAKSHIM_WATCH_OUTPUT_H
#define LEAKSHIM_WATCH_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "anomaly.h"
#include "interval_tracker.h"
#include "metrics.h"
#include "replay.h"

#define STATUS_STACKS 3 /* stacks named on a status line */
#define ALERT_STACKS 5  /* stacks named by an alert */

/* "12.5 KiB", "-3.0 MiB", "512 B": a signed amount of bytes with a binary unit. */
const char *watch_bytes(double bytes, char *buf, size_t len);

/* One line: trace time, live heap and its growth, allocation rate, RSS, the detector's
 * state, the fastest growing stacks:
 * "  12.3 s  live 1.2 MiB (+4.5 KiB/s)  alloc 3.4 MiB/s 1200/s  rss 5.6 MiB  [learning]
 *   top: leak<handle<main +4.4 KiB/s" */
void watch_status_line(FILE *out, const struct replay *r, const struct interval_figures *f,
                       const char *state, const struct metrics_stack *stacks, size_t n);

struct alert {
    enum alert_kind kind;
    double time_s;        /* the end of the interval that raised it, trace time */
    double observed, expected, bound, sigma, threshold_sigmas;
    unsigned consecutive;
    const struct metrics_stack *stacks; /* growing fastest over the recent intervals */
    size_t stack_count;
};

/* "leakshim watch: ALERT at 5.20 s: heap growth 256.0 KiB/s, expected 120 B/s (bound ...)" */
void watch_alert_text(FILE *out, const struct alert *a);

/* One JSON object on one line: {"time": 5.2, "kind": "growth", "observed": ..., "expected":
 * ..., "threshold": ..., "sigma": ..., "threshold_sigmas": 4, "consecutive": 3, "pid": ...,
 * "stacks": [{"stack": "leak<main", "growth_bytes_per_s": ..., "live_bytes": ...}]}
 * `threshold` is the bound the observed value passed (expected + threshold_sigmas x sigma). */
void watch_alert_json(FILE *out, const struct alert *a, uint64_t pid);

#endif
