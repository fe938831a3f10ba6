/* Status lines and alerts of leakshim watch; see watch_output.h. */
#include "watch_output.h"

#include <inttypes.h>
#include <math.h>

#include "json.h"

const char *watch_bytes(double bytes, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double magnitude = fabs(bytes);
    unsigned unit = 0;
    while (magnitude >= 1024 && unit < 4) {
        magnitude /= 1024;
        unit++;
    }
    snprintf(buf, len, unit ? "%s%.1f %s" : "%s%.0f %s", bytes < 0 ? "-" : "", magnitude, units[unit]);
    return buf;
}

static const char *kind_text(enum alert_kind kind)
{
    return kind == ALERT_GROWTH ? "heap growth" : "allocation rate";
}

void watch_status_line(FILE *out, const struct replay *r, const struct interval_figures *f,
                       const char *state, const struct metrics_stack *stacks, size_t n)
{
    char live[32], growth[32], alloc[32], rss[32];
    const struct timeline *t = &r->timeline;
    fprintf(out, "%8.1f s  live %s (%s%s/s)  alloc %s/s %.0f/s", (double)f->end_ns / 1e9,
            watch_bytes((double)r->summary.live_bytes, live, sizeof live),
            f->heap_growth_bytes_per_s >= 0 ? "+" : "",
            watch_bytes(f->heap_growth_bytes_per_s, growth, sizeof growth),
            watch_bytes(f->allocated_bytes_per_s, alloc, sizeof alloc), f->allocations_per_s);
    if (t->count && t->points[t->count - 1].rss_bytes)
        fprintf(out, "  rss %s", watch_bytes((double)t->points[t->count - 1].rss_bytes, rss, sizeof rss));
    if (state && *state)
        fprintf(out, "  [%s]", state);
    for (size_t i = 0; i < n && i < STATUS_STACKS; i++)
        fprintf(out, "%s%s +%s/s", i ? ", " : "  top: ", stacks[i].name,
                watch_bytes(stacks[i].growth_bytes_per_s, growth, sizeof growth));
    fputc('\n', out);
    fflush(out);
}

void watch_alert_text(FILE *out, const struct alert *a)
{
    char observed[32], expected[32], bound[32], growth[32];
    fprintf(out, "leakshim watch: ALERT at %.2f s: %s %s/s for %u intervals, expected %s/s "
                 "(alert above %s/s, %.3g sigma)",
            a->time_s, kind_text(a->kind), watch_bytes(a->observed, observed, sizeof observed),
            a->consecutive, watch_bytes(a->expected, expected, sizeof expected),
            watch_bytes(a->bound, bound, sizeof bound), a->threshold_sigmas);
    for (size_t i = 0; i < a->stack_count; i++)
        fprintf(out, "%s%s +%s/s", i ? ", " : "; growing fastest: ", a->stacks[i].name,
                watch_bytes(a->stacks[i].growth_bytes_per_s, growth, sizeof growth));
    fputc('\n', out);
    fflush(out);
}

void watch_alert_json(FILE *out, const struct alert *a, uint64_t pid)
{
    fprintf(out, "{\"time\": %.3f, \"kind\": \"%s\", \"observed\": %.1f, \"expected\": %.1f, "
                 "\"threshold\": %.1f, \"sigma\": %.1f, \"threshold_sigmas\": %g, "
                 "\"consecutive\": %u, \"pid\": %" PRIu64 ", \"stacks\": [",
            a->time_s, alert_kind_name(a->kind), a->observed, a->expected, a->bound, a->sigma,
            a->threshold_sigmas, a->consecutive, pid);
    for (size_t i = 0; i < a->stack_count; i++) {
        fputs(i ? ", {\"stack\": " : "{\"stack\": ", out);
        json_string(out, a->stacks[i].name);
        fprintf(out, ", \"growth_bytes_per_s\": %.1f, \"live_bytes\": %" PRIu64 "}",
                a->stacks[i].growth_bytes_per_s, a->stacks[i].live_bytes);
    }
    fputs("]}\n", out);
    fflush(out);
}
