/* `leakshim report --format json`: the JSON document of CONTRACT.md, one suspect per stack
 * with outstanding blocks, best first. Unknown values are null, never invented. */
#include <inttypes.h>

#include "json.h"
#include "report.h"

static void frame_json(FILE *out, const struct suspect_frame *f)
{
    fprintf(out, "{\"address\": \"0x%" PRIx64 "\", \"function\": ", f->address);
    json_string(out, f->sym.function);
    fputs(", \"file\": ", out);
    json_string(out, f->sym.file);
    if (f->sym.line > 0)
        fprintf(out, ", \"line\": %d", f->sym.line);
    else
        fputs(", \"line\": null", out);
    fputs(", \"module\": ", out);
    json_string(out, f->sym.module);
    fputc('}', out);
}

/* The outstanding bytes at the end of each bucket of the window; null when the suspect was
 * read back from a JSON report (no series). */
static void series_json(FILE *out, const struct series *s, const struct suspect_list *list)
{
    if (!s || !list) {
        fputs("null", out);
        return;
    }
    fprintf(out, "{\"interval_s\": %.6f, \"bytes\": [", (double)list->bucket_width_ns / 1e9);
    for (uint32_t b = list->first_bucket; b <= list->last_bucket && b < SERIES_BUCKETS; b++)
        fprintf(out, "%s%" PRIu64, b > list->first_bucket ? ", " : "", series_at(s, b));
    fputs("]}", out);
}

void report_json_suspect_fields(FILE *out, size_t rank, const struct suspect *s,
                                const struct suspect_list *list)
{
    const struct growth_stats *g = &s->growth;
    fprintf(out,
            "\"rank\": %zu, \"leaked_bytes\": %" PRIu64 ", \"leaked_allocations\": %" PRIu64
            ", \"score\": %.6f, \"allocated_bytes\": %" PRIu64 ", \"allocations\": %" PRIu64
            ",\n     \"growing\": %s, \"growth_bytes_per_s\": %.3f"
            ", \"recent_growth_bytes_per_s\": %.3f, \"steadiness\": %.4f, \"freed_share\": %.4f"
            ", \"oldest_age_s\": %.3f, \"youngest_age_s\": %.3f,\n     \"series\": ",
            rank, s->leaked_bytes, s->leaked_blocks, s->score, s->allocated_bytes,
            s->allocated_blocks, g->growing ? "true" : "false", g->growth_bytes_per_s,
            g->recent_growth_bytes_per_s, g->steadiness, s->freed_share, s->oldest_age_s,
            s->youngest_age_s);
    series_json(out, s->series, list);
    fputs(",\n     \"stack\": [", out);
    for (uint32_t i = 0; i < s->frame_count; i++) {
        fputs(i ? ",\n       " : "\n       ", out);
        frame_json(out, &s->frames[i]);
    }
    fputc(']', out);
}

static void suspect_json(FILE *out, size_t rank, const struct suspect *s,
                         const struct suspect_list *list)
{
    fputs("    {", out);
    report_json_suspect_fields(out, rank, s, list);
    fputc('}', out);
}

/* The window the books cover, and the marks, so that a reader can tell what was analysed. */
static void window_json(FILE *out, const struct replay *r)
{
    const struct replay_window *w = &r->window;
    fprintf(out, "  \"window\": {\"since_s\": %.3f, \"until_s\": %.3f},\n",
            (double)w->open_ns / 1e9, (double)w->close_ns / 1e9);
    fputs("  \"marks\": [", out);
    for (size_t i = 0; i < r->timeline.mark_count; i++) {
        const struct mark *m = &r->timeline.marks[i];
        fprintf(out, "%s{\"name\": ", i ? ", " : "");
        json_string(out, m->name);
        fprintf(out, ", \"t_s\": %.3f, \"origin\": \"%s\"}", (double)m->ns / 1e9,
                m->origin == TRACE_MARK_SIGNAL ? "signal" : m->origin == TRACE_MARK_SHIM ? "shim" : "call");
    }
    fputs("],\n", out);
}

void report_json(FILE *out, const struct replay *r, const struct suspect_list *suspects)
{
    const struct replay_summary *s = &r->summary;
    fputs("{\n  \"format\": \"leakshim-report\", \"version\": 1,\n", out);
    fprintf(out, "  \"process\": {\"pid\": %" PRIu64 ", \"ppid\": %" PRIu64 ", \"exe\": ",
            r->process.pid, r->process.ppid);
    json_string(out, r->process.seen ? r->process.exe : NULL);
    fprintf(out, ", \"complete\": %s, \"end\": %s, \"duration_s\": %.3f",
            r->complete ? "true" : "false",
            !r->complete ? "null" : r->ended_by_exec ? "\"exec\"" : "\"exit\"",
            (double)s->last_time_ns / 1e9);
    /* Under sampling every count and byte figure is an estimate, rounded to an integer. */
    fprintf(out, ",\n              \"sampling_period_bytes\": %" PRIu64 ", \"estimates\": %s"
            ", \"escalations\": %" PRIu64 "},\n",
            r->sampling.sampled_period, r->sampling.sampled_period ? "true" : "false",
            r->sampling.escalations);
    fprintf(out,
            "  \"summary\": {\"allocations\": %" PRIu64 ", \"frees\": %" PRIu64
            ", \"peak_bytes\": %" PRIu64 ", \"leaked_bytes\": %" PRIu64
            ", \"leaked_allocations\": %" PRIu64 ", \"lost_events\": %" PRIu64
            ", \"unmatched_frees\": %" PRIu64 ", \"recovered_events\": %" PRIu64
            ", \"stacks\": %u},\n",
            s->allocations, s->frees, s->peak_bytes, s->leaked_bytes, s->leaked_blocks,
            s->lost_events, s->unmatched_frees, s->recovered_events, r->stack_count);
    window_json(out, r);
    fputs("  \"suspects\": [", out);
    for (size_t i = 0; i < suspects->count; i++) {
        fputs(i ? ",\n" : "\n", out);
        suspect_json(out, i + 1, &suspects->items[i], suspects);
    }
    fputs(suspects->count ? "\n  ]\n}\n" : "]\n}\n", out);
}
