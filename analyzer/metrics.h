/* The Prometheus text exposition (format 0.0.4) of a followed trace, served by leakshim
 * watch at /metrics. Every metric is named leakshim_*, with HELP and TYPE lines:
 *
 *   leakshim_live_bytes, leakshim_live_blocks             gauges: the heap now
 *   leakshim_allocations_total, leakshim_frees_total      counters
 *   leakshim_allocated_bytes_total, leakshim_freed_bytes_total
 *   leakshim_rss_bytes                                    gauge: the latest SAMPLE's RSS
 *   leakshim_events_lost_total                            counter
 *   leakshim_process_info{pid,exe}                        gauge, always 1
 *   leakshim_trace_seconds                                gauge: the trace's time now
 *   leakshim_heap_growth_bytes_per_second                 gauge: the last interval's
 *   leakshim_allocation_rate_bytes_per_second             gauge: the last interval's
 *   leakshim_stack_growth_bytes_per_second{stack}         gauges: the top growing stacks
 *   leakshim_stack_live_bytes{stack}                      gauges: their outstanding bytes
 *   leakshim_learning                                     gauge: 1 during the learning period
 *   leakshim_alert_active{kind}                           gauge: 1 while an alert is on
 *   leakshim_alerts_total{kind}                           counter
 *
 * kind is "growth" (the live heap) or "rate" (the allocation rate). Label values are escaped
 * as the format says (backslash, double quote, newline); the stack labels are the short stack
 * names (stack_names.h), at most --top of them, each once (the caller sums stacks that share a
 * name), so the number of series stays bounded. */
#ifndef LEAKSHIM_METRICS_H
#define LEAKSHIM_METRICS_H

#include <stddef.h>
#include <stdio.h>

#include "replay.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_stack {
    const char *name;
    double growth_bytes_per_s;
    uint64_t live_bytes;
};

enum alert_kind { ALERT_GROWTH, ALERT_RATE, ALERT_KINDS };

struct metrics_view {
    const struct replay *replay;
    double heap_growth_bytes_per_s, allocated_bytes_per_s; /* the last interval's */
    const struct metrics_stack *stacks;
    size_t stack_count;
    int learning;
    int alert_active[ALERT_KINDS];
    unsigned long alerts[ALERT_KINDS];
};

/* "growth", "rate" */
const char *alert_kind_name(enum alert_kind kind);

void metrics_write(FILE *out, const struct metrics_view *v);

/* Writes `text` as a label value: \ " and newline escaped. */
void metrics_label_value(FILE *out, const char *text);

#endif
