/* `leakshim check`'s summary for people, on stdout: what the run holds after suppressions,
 * each budget with its actual and limit, the suspects that put a budget over (a few frames
 * each, `file:line` as one token), what each suppression matched, and a last line with the
 * verdict, which is what a CI log shows first. */
#include <inttypes.h>

#include "check_output.h"
#include "units.h"

#define TEXT_FRAMES_SHOWN 8

static void amounts(FILE *out, uint64_t bytes, uint64_t blocks, uint64_t stacks)
{
    char a[32], b[32];
    fprintf(out, "%s %s in %s %s from %" PRIu64 " %s", units_grouped(bytes, a),
            units_noun(bytes, "byte", "bytes"), units_grouped(blocks, b),
            units_noun(blocks, "block", "blocks"), stacks, units_noun(stacks, "stack", "stacks"));
}

static void header(FILE *out, const struct check_context *c)
{
    const struct leak_run *run = c->run;
    const struct gate *g = c->gate;
    fprintf(out, "leakshim check: %s", run->exe ? run->exe : c->trace);
    if (run->pid)
        fprintf(out, " (pid %" PRIu64 ")", run->pid);
    fprintf(out, ", %s\n", run->complete ? "trace complete" : "TRACE INCOMPLETE");
    uint64_t period = run->from_json ? 0 : run->analysis.replay.sampling.sampled_period;
    if (period)
        fprintf(out, "  SAMPLED: one allocation per %" PRIu64 " bytes on average; the amounts "
                     "below are estimates\n", period);
    fputs("  counted: ", out);
    amounts(out, g->kept_bytes, g->kept_blocks, g->kept_suspects);
    fputs("\n  suppressed: ", out);
    amounts(out, g->suppressed_bytes, g->suppressed_blocks, g->suppressed_suspects);
    fputc('\n', out);
    if (c->baseline_path) {
        size_t kinds[CHANGE_SAME + 1] = {0};
        for (size_t i = 0; i < g->change_count; i++)
            kinds[g->changes[i].kind]++;
        fprintf(out, "  against %s: %zu new, %zu grown, %zu shrunk, %zu gone, %zu unchanged stacks\n",
                c->baseline_path, kinds[CHANGE_NEW], kinds[CHANGE_GROWN], kinds[CHANGE_SHRUNK],
                kinds[CHANGE_GONE], kinds[CHANGE_SAME]);
    }
}

static void budgets(FILE *out, const struct gate *g)
{
    fputs("\nbudgets:\n", out);
    for (int k = 0; k < BUDGET_KINDS; k++) {
        const struct budget_result *b = &g->budgets[k];
        if (!b->set)
            continue;
        char text[200];
        check_describe_budget((enum budget_kind)k, b, text, sizeof text);
        fprintf(out, "  %-4s  %-18s %s\n", b->pass ? "ok" : "FAIL", gate_budget_name((enum budget_kind)k),
                text);
    }
}

static void offenders(FILE *out, const struct gate *g)
{
    int shown = 0;
    for (size_t i = 0; i < g->count; i++) {
        const struct gate_suspect *gs = &g->suspects[i];
        if (!gs->offends)
            continue;
        if (!shown++)
            fputs("\nover budget:\n", out);
        char line[600];
        check_describe_suspect(gs, line, sizeof line);
        fprintf(out, "  #%zu  %s\n", i + 1, line);
        const struct suspect *s = gs->suspect;
        uint32_t n = s->frame_count < TEXT_FRAMES_SHOWN ? s->frame_count : TEXT_FRAMES_SHOWN;
        for (uint32_t f = 0; f < n; f++) {
            check_describe_frame(&s->frames[f], line, sizeof line);
            fprintf(out, "        %s\n", line);
        }
        if (s->frame_count > n)
            fprintf(out, "        ... %u more frame%s\n", s->frame_count - n, s->frame_count - n == 1 ? "" : "s");
    }
}

static void suppressions(FILE *out, const struct suppression_list *list)
{
    int shown = 0;
    for (size_t i = 0; list && i < list->count; i++) {
        const struct suppression *s = &list->items[i];
        if (!s->source && !s->suspects)
            continue; /* defaults that matched nothing are not news */
        if (!shown++)
            fputs("\nsuppressions:\n  ", out);
        else
            fputs("  ", out);
        amounts(out, s->bytes, s->blocks, s->suspects);
        if (s->source)
            fprintf(out, "  %s:%u", s->source, s->line);
        else
            fputs("  default", out);
        if (s->kind == SUPPRESSION_PATTERN)
            fprintf(out, "  leak:%s%s\n", s->pattern, s->suspects ? "" : "  (matched nothing)");
        else
            fprintf(out, "  %s\n", s->pattern);
    }
}

void check_text(FILE *out, const struct check_context *c)
{
    const struct gate *g = c->gate;
    header(out, c);
    budgets(out, g);
    offenders(out, g);
    suppressions(out, c->suppressions);
    size_t set = 0;
    for (int k = 0; k < BUDGET_KINDS; k++)
        set += g->budgets[k].set;
    if (g->failed) {
        fprintf(out, "\nleakshim check: FAILED: %zu of %zu %s exceeded (", g->failed, set,
                units_noun(set, "budget", "budgets"));
        const char *sep = "";
        for (int k = 0; k < BUDGET_KINDS; k++)
            if (g->budgets[k].set && !g->budgets[k].pass) {
                fprintf(out, "%s%s", sep, gate_budget_name((enum budget_kind)k));
                sep = ", ";
            }
        fputs(")\n", out);
    } else {
        fprintf(out, "\nleakshim check: PASSED: %zu %s held\n", set, units_noun(set, "budget", "budgets"));
    }
}
