/* The exposition text; see metrics.h. */
#include "metrics.h"

#include <inttypes.h>

const char *alert_kind_name(enum alert_kind kind)
{
    return kind == ALERT_GROWTH ? "growth" : "rate";
}

void metrics_label_value(FILE *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", out);
        else if (*p == '"')
            fputs("\\\"", out);
        else if (*p == '\n')
            fputs("\\n", out);
        else
            fputc(*p, out);
    }
}

static void header(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP leakshim_%s %s\n# TYPE leakshim_%s %s\n", name, help, name, type);
}

static void whole(FILE *out, const char *name, const char *type, const char *help, uint64_t v)
{
    header(out, name, type, help);
    fprintf(out, "leakshim_%s %" PRIu64 "\n", name, v);
}

static void real(FILE *out, const char *name, const char *help, double v)
{
    header(out, name, "gauge", help);
    fprintf(out, "leakshim_%s %.10g\n", name, v);
}

static void per_kind(FILE *out, const char *name, const char *type, const char *help,
                     const unsigned long *values)
{
    header(out, name, type, help);
    for (int k = 0; k < ALERT_KINDS; k++)
        fprintf(out, "leakshim_%s{kind=\"%s\"} %lu\n", name, alert_kind_name((enum alert_kind)k),
                values[k]);
}

void metrics_write(FILE *out, const struct metrics_view *v)
{
    const struct replay *r = v->replay;
    const struct replay_summary *s = &r->summary;
    const struct timeline *t = &r->timeline;
    whole(out, "live_bytes", "gauge", "Bytes allocated and not freed (requested sizes).", s->live_bytes);
    whole(out, "live_blocks", "gauge", "Blocks allocated and not freed.", s->live_blocks);
    whole(out, "allocations_total", "counter", "Allocations recorded.", s->allocations);
    whole(out, "frees_total", "counter", "Frees recorded.", s->frees);
    whole(out, "allocated_bytes_total", "counter", "Bytes allocated (requested sizes).", s->allocated_bytes);
    whole(out, "freed_bytes_total", "counter", "Bytes freed (of blocks the process allocated).", s->freed_bytes);
    whole(out, "rss_bytes", "gauge", "Resident set size at the latest heap sample (0: unknown).",
          t->count ? t->points[t->count - 1].rss_bytes : 0);
    whole(out, "events_lost_total", "counter", "Events the tracer could not record.", s->lost_events);

    header(out, "process_info", "gauge", "The traced process (always 1).");
    fprintf(out, "leakshim_process_info{pid=\"%" PRIu64 "\",exe=\"", r->process.pid);
    metrics_label_value(out, r->process.exe);
    fputs("\"} 1\n", out);

    real(out, "trace_seconds", "Time of the trace read so far, since the process started.",
         (double)r->now_ns / 1e9);
    real(out, "heap_growth_bytes_per_second", "Growth of the live heap in the last interval.",
         v->heap_growth_bytes_per_s);
    real(out, "allocation_rate_bytes_per_second", "Bytes allocated per second in the last interval.",
         v->allocated_bytes_per_s);

    header(out, "stack_growth_bytes_per_second", "gauge",
           "Growth of the outstanding bytes of the fastest growing stacks, over the recent intervals.");
    for (size_t i = 0; i < v->stack_count; i++) {
        fputs("leakshim_stack_growth_bytes_per_second{stack=\"", out);
        metrics_label_value(out, v->stacks[i].name);
        fprintf(out, "\"} %.10g\n", v->stacks[i].growth_bytes_per_s);
    }
    header(out, "stack_live_bytes", "gauge", "Outstanding bytes of the fastest growing stacks.");
    for (size_t i = 0; i < v->stack_count; i++) {
        fputs("leakshim_stack_live_bytes{stack=\"", out);
        metrics_label_value(out, v->stacks[i].name);
        fprintf(out, "\"} %" PRIu64 "\n", v->stacks[i].live_bytes);
    }

    whole(out, "learning", "gauge", "1 while the anomaly detector learns what is normal.",
          (uint64_t)(v->learning != 0));
    unsigned long active[ALERT_KINDS];
    for (int k = 0; k < ALERT_KINDS; k++)
        active[k] = v->alert_active[k] != 0;
    per_kind(out, "alert_active", "gauge", "1 while an alert of this kind is on.", active);
    per_kind(out, "alerts_total", "counter", "Alerts raised.", v->alerts);
}
