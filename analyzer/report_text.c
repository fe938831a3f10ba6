/* `leakshim report` in text: a summary, then the suspects with readable stacks. Each frame
 * prints `file:line` as one token, which terminals and editors turn into a link. */
#include <inttypes.h>
#include <string.h>

#include "report.h"
#include "sparkline.h"

#define TEXT_FRAMES_SHOWN 12
#define SPARKLINE_WIDTH 32

/* "1,234,567" */
static const char *grouped(uint64_t v, char *buf)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v), o = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
    return buf;
}

/* "1.9 MiB" */
static const char *human(uint64_t bytes, char *buf)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    unsigned u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof *units) {
        v /= 1024;
        u++;
    }
    snprintf(buf, 32, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}

static const char *base_name(const char *path)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    return slash ? slash + 1 : path;
}

static void frame_text(FILE *out, const struct suspect_frame *f)
{
    const sym_frame *s = &f->sym;
    fprintf(out, "    %-28s ", s->function ? s->function : "??");
    if (s->file && s->line > 0)
        fprintf(out, "%s:%d", s->file, s->line);
    else if (s->module)
        fprintf(out, "[%s+0x%" PRIx64 "]", base_name(s->module), s->module_offset);
    else
        fprintf(out, "[0x%" PRIx64 "]", f->address);
    fputc('\n', out);
}

/* "1 block", "2 blocks" */
static const char *noun(uint64_t n, const char *singular, const char *plural)
{
    return n == 1 ? singular : plural;
}

/* The window's part of a series, as a sparkline. */
static const char *window_sparkline(const struct series *s, const struct suspect_list *list,
                                    char *out)
{
    uint64_t values[SERIES_BUCKETS];
    size_t n = 0;
    for (uint32_t b = list->first_bucket; b <= list->last_bucket && b < SERIES_BUCKETS; b++)
        values[n++] = series_at(s, b);
    return sparkline(values, n, SPARKLINE_WIDTH, out);
}

/* "2.5 KiB/s" */
static const char *rate(double bytes_per_s, char *buf)
{
    char h[32];
    if (bytes_per_s < 0)
        bytes_per_s = 0;
    snprintf(buf, 48, "%s/s", bytes_per_s < 1024 ? (snprintf(h, sizeof h, "%.0f B", bytes_per_s), h)
                                                  : human((uint64_t)bytes_per_s, h));
    return buf;
}

static void window_text(FILE *out, const struct replay *r)
{
    const struct replay_window *w = &r->window;
    if (w->since.kind == BOUND_NONE && w->until.kind == BOUND_NONE)
        return;
    fputs("  window: blocks allocated ", out);
    if (w->since.kind == BOUND_MARK)
        fprintf(out, "after mark '%s' (%.2f s)", w->since.mark, (double)w->open_ns / 1e9);
    else
        fprintf(out, "from %.2f s", (double)w->open_ns / 1e9);
    if (w->until.kind == BOUND_MARK)
        fprintf(out, " until mark '%s' (%.2f s)", w->until.mark, (double)w->close_ns / 1e9);
    else
        fprintf(out, " until %.2f s", (double)w->close_ns / 1e9);
    fputs(" and still outstanding then\n", out);
}

static void summary_text(FILE *out, const struct replay *r, const struct suspect_list *suspects)
{
    const struct replay_summary *s = &r->summary;
    size_t total_suspects = suspects->total;
    char a[32], b[32], c[32], line[3 * SPARKLINE_WIDTH + 1];
    fprintf(out, "leakshim report: %s (pid %" PRIu64 "), %.1f s, %s\n",
            r->process.seen ? r->process.exe : "unknown program", r->process.pid,
            (double)s->last_time_ns / 1e9,
            !r->complete ? "TRACE INCOMPLETE" : r->ended_by_exec ? "ended by exec" : "trace complete");
    uint64_t period = r->sampling.sampled_period;
    if (period)
        fprintf(out, "  SAMPLED: one allocation per %s on average; every figure below is estimated"
                     "%s\n", human(period, a),
                r->sampling.escalations ? " (exact where everything was recorded: see the marks)" : "");
    fprintf(out, "  %s%s %s, %s %s, peak %s live\n", period ? "estimated " : "",
            grouped(s->allocations, a), noun(s->allocations, "allocation", "allocations"),
            grouped(s->frees, b), noun(s->frees, "free", "frees"), human(s->peak_bytes, c));
    if (suspects->last_bucket > suspects->first_bucket)
        fprintf(out, "  heap %s  (live bytes, %.1f s)\n", window_sparkline(suspects->heap, suspects, line),
                (double)(r->window.close_ns - r->window.open_ns) / 1e9);
    window_text(out, r);
    fprintf(out, "  %sleaked %s (%s %s) in %s %s from %zu %s\n", period ? "estimated: " : "",
            human(s->leaked_bytes, a),
            grouped(s->leaked_bytes, b), noun(s->leaked_bytes, "byte", "bytes"),
            grouped(s->leaked_blocks, c), noun(s->leaked_blocks, "block", "blocks"), total_suspects,
            noun(total_suspects, "stack", "stacks"));
    if (s->lost_events)
        fprintf(out, "  %" PRIu64 " EVENTS LOST: the leaks above may be false\n", s->lost_events);
    if (!r->complete)
        fprintf(out, "  the process did not finish its trace: what it did after the cut is missing%s\n",
                s->recovered_events ? "" : " (no ring file was left to recover it from)");
    if (s->recovered_events)
        fprintf(out, "  %" PRIu64 " %s recovered from the ring file the process left\n",
                s->recovered_events, noun(s->recovered_events, "event", "events"));
    if (s->unmatched_frees)
        fprintf(out, "  %" PRIu64 " %s of blocks %s ignored\n", s->unmatched_frees,
                noun(s->unmatched_frees, "free", "frees"),
                period ? "the trace does not follow (not sampled, or inherited)"
                       : "allocated before this process (inherited)");
}

void report_text(FILE *out, const struct replay *r, const struct suspect_list *suspects)
{
    char a[32], b[32], c[32], d[48], line[3 * SPARKLINE_WIDTH + 1];
    summary_text(out, r, suspects);
    for (size_t i = 0; i < suspects->count; i++) {
        const struct suspect *sp = &suspects->items[i];
        const struct growth_stats *g = &sp->growth;
        fprintf(out, "\n#%zu  %s (%s %s) in %s %s, ", i + 1, human(sp->leaked_bytes, a),
                grouped(sp->leaked_bytes, b), noun(sp->leaked_bytes, "byte", "bytes"),
                grouped(sp->leaked_blocks, c), noun(sp->leaked_blocks, "block", "blocks"));
        if (g->growing)
            fprintf(out, "GROWING %s (steady %.0f%%)", rate(g->recent_growth_bytes_per_s, d),
                    100 * g->steadiness);
        else
            fprintf(out, "not growing (%.0f%% of its blocks freed)", 100 * sp->freed_share);
        if (suspects->last_bucket > suspects->first_bucket)
            fprintf(out, "  %s", window_sparkline(sp->series, suspects, line));
        fputc('\n', out);
        uint32_t shown = sp->frame_count < TEXT_FRAMES_SHOWN ? sp->frame_count : TEXT_FRAMES_SHOWN;
        for (uint32_t k = 0; k < shown; k++)
            frame_text(out, &sp->frames[k]);
        if (sp->frame_count > shown)
            fprintf(out, "    ... %u more frames (--format json shows all)\n", sp->frame_count - shown);
        if (!sp->frame_count)
            fputs("    (no stack recorded)\n", out);
    }
    if (suspects->total > suspects->count)
        fprintf(out, "\n%zu more suspects not shown (--top 0 shows all)\n",
                suspects->total - suspects->count);
}
