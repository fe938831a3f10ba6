/* `leakshim check --json FILE`: the verdict for scripts.
 *
 *   {"format": "leakshim-check", "version": 1, "verdict": "pass" | "fail",
 *    "trace": PATH, "baseline": PATH | null,
 *    "process": {"pid", "exe", "complete"},
 *    "counted":    {"leaked_bytes", "leaked_allocations", "suspects"},   after suppressions
 *    "suppressed": {"leaked_bytes", "leaked_allocations", "suspects"},
 *    "budgets": [{"name", "limit", "actual", "pass"}],   actual null when not measured
 *    "suspects": [{the contract's suspect fields, "over_budget": [budget names],
 *                  "baseline": null | {"change": "new"|"grown"|"same", "old_bytes",
 *                                      "old_allocations"}}],   the unsuppressed ones
 *    "suppressions": [{"type": "leak" | "runtime-only", "pattern", "source" (null for a
 *                      default), "line", "suspects", "bytes", "blocks"}]} */
#include <inttypes.h>

#include "check_output.h"
#include "json.h"
#include "report.h"

static void amounts(FILE *out, const char *name, uint64_t bytes, uint64_t blocks, uint64_t suspects)
{
    fprintf(out, "  \"%s\": {\"leaked_bytes\": %" PRIu64 ", \"leaked_allocations\": %" PRIu64
            ", \"suspects\": %" PRIu64 "},\n", name, bytes, blocks, suspects);
}

static void budgets(FILE *out, const struct gate *g)
{
    fputs("  \"budgets\": [", out);
    int first = 1;
    for (int k = 0; k < BUDGET_KINDS; k++) {
        const struct budget_result *b = &g->budgets[k];
        if (!b->set)
            continue;
        fprintf(out, "%s\n    {\"name\": \"%s\", \"limit\": %.17g, \"actual\": ", first ? "" : ",",
                gate_budget_name((enum budget_kind)k), b->limit);
        if (b->measured)
            fprintf(out, "%.17g", b->actual);
        else
            fputs("null", out);
        fprintf(out, ", \"pass\": %s}", b->pass ? "true" : "false");
        first = 0;
    }
    fputs(first ? "],\n" : "\n  ],\n", out);
}

static void suspect(FILE *out, size_t rank, const struct gate_suspect *gs)
{
    fputs("    {", out);
    report_json_suspect_fields(out, rank, gs->suspect, NULL);
    fputs(",\n     \"over_budget\": [", out);
    const char *sep = "";
    for (int k = 0; k < BUDGET_KINDS; k++)
        if (gs->offends & (1u << k)) {
            fprintf(out, "%s\"%s\"", sep, gate_budget_name((enum budget_kind)k));
            sep = ", ";
        }
    fputs("], \"baseline\": ", out);
    if (gs->change)
        fprintf(out, "{\"change\": \"%s\", \"old_bytes\": %" PRIu64 ", \"old_allocations\": %" PRIu64 "}",
                leak_change_name(gs->change->kind), gs->change->old_bytes, gs->change->old_blocks);
    else
        fputs("null", out);
    fputc('}', out);
}

static void suppressions(FILE *out, const struct suppression_list *list)
{
    fputs("  \"suppressions\": [", out);
    for (size_t i = 0; list && i < list->count; i++) {
        const struct suppression *s = &list->items[i];
        fprintf(out, "%s\n    {\"type\": \"%s\", \"pattern\": ", i ? "," : "",
                s->kind == SUPPRESSION_PATTERN ? "leak" : "runtime-only");
        json_string(out, s->pattern);
        fputs(", \"source\": ", out);
        json_string(out, s->source);
        if (s->source)
            fprintf(out, ", \"line\": %u", s->line);
        else
            fputs(", \"line\": null", out);
        fprintf(out, ", \"suspects\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"blocks\": %" PRIu64 "}",
                s->suspects, s->bytes, s->blocks);
    }
    fputs(list && list->count ? "\n  ]\n" : "]\n", out);
}

void check_json(FILE *out, const struct check_context *c)
{
    const struct gate *g = c->gate;
    const struct leak_run *run = c->run;
    fprintf(out, "{\n  \"format\": \"leakshim-check\", \"version\": 1, \"verdict\": \"%s\",\n",
            g->failed ? "fail" : "pass");
    fputs("  \"trace\": ", out);
    json_string(out, c->trace);
    fputs(", \"baseline\": ", out);
    json_string(out, c->baseline_path);
    fprintf(out, ",\n  \"process\": {\"pid\": %" PRIu64 ", \"exe\": ", run->pid);
    json_string(out, run->exe);
    fprintf(out, ", \"complete\": %s},\n", run->complete ? "true" : "false");
    amounts(out, "counted", g->kept_bytes, g->kept_blocks, g->kept_suspects);
    amounts(out, "suppressed", g->suppressed_bytes, g->suppressed_blocks, g->suppressed_suspects);
    budgets(out, g);
    fputs("  \"suspects\": [", out);
    int first = 1;
    for (size_t i = 0; i < g->count; i++) {
        if (g->suspects[i].suppressed_by)
            continue;
        fputs(first ? "\n" : ",\n", out);
        suspect(out, i + 1, &g->suspects[i]);
        first = 0;
    }
    fputs(first ? "],\n" : "\n  ],\n", out);
    suppressions(out, c->suppressions);
    fputs("}\n", out);
}
