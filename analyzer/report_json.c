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

void report_json_suspect_fields(FILE *out, size_t rank, const struct suspect *s)
{
    fprintf(out,
            "\"rank\": %zu, \"leaked_bytes\": %" PRIu64 ", \"leaked_allocations\": %" PRIu64
            ", \"score\": %.6f, \"allocated_bytes\": %" PRIu64 ", \"allocations\": %" PRIu64
            ",\n     \"stack\": [",
            rank, s->leaked_bytes, s->leaked_blocks, s->score, s->allocated_bytes,
            s->allocated_blocks);
    for (uint32_t i = 0; i < s->frame_count; i++) {
        fputs(i ? ",\n       " : "\n       ", out);
        frame_json(out, &s->frames[i]);
    }
    fputc(']', out);
}

static void suspect_json(FILE *out, size_t rank, const struct suspect *s)
{
    fputs("    {", out);
    report_json_suspect_fields(out, rank, s);
    fputc('}', out);
}

void report_json(FILE *out, const struct replay *r, const struct suspect_list *suspects)
{
    const struct replay_summary *s = &r->summary;
    fputs("{\n  \"format\": \"leakshim-report\", \"version\": 1,\n", out);
    fprintf(out, "  \"process\": {\"pid\": %" PRIu64 ", \"ppid\": %" PRIu64 ", \"exe\": ",
            r->process.pid, r->process.ppid);
    json_string(out, r->process.seen ? r->process.exe : NULL);
    fprintf(out, ", \"complete\": %s, \"end\": %s, \"duration_s\": %.3f},\n",
            r->complete ? "true" : "false",
            !r->complete ? "null" : r->ended_by_exec ? "\"exec\"" : "\"exit\"",
            (double)s->last_time_ns / 1e9);
    fprintf(out,
            "  \"summary\": {\"allocations\": %" PRIu64 ", \"frees\": %" PRIu64
            ", \"peak_bytes\": %" PRIu64 ", \"leaked_bytes\": %" PRIu64
            ", \"leaked_allocations\": %" PRIu64 ", \"lost_events\": %" PRIu64
            ", \"unmatched_frees\": %" PRIu64 ", \"recovered_events\": %" PRIu64
            ", \"stacks\": %u},\n",
            s->allocations, s->frees, s->peak_bytes, s->live_bytes, s->live_blocks,
            s->lost_events, s->unmatched_frees, s->recovered_events, r->stack_count);
    fputs("  \"suspects\": [", out);
    for (size_t i = 0; i < suspects->count; i++) {
        fputs(i ? ",\n" : "\n", out);
        suspect_json(out, i + 1, &suspects->items[i]);
    }
    fputs(suspects->count ? "\n  ]\n}\n" : "]\n}\n", out);
}
