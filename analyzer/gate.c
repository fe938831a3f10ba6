/* The verdict of `leakshim check`; see gate.h. */
#include "gate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void gate_default_limits(struct gate_limits *limits, int have_baseline)
{
    int any = 0;
    for (int k = 0; k < BUDGET_KINDS; k++)
        any |= limits->set[k];
    if (!any && !have_baseline) {
        limits->set[BUDGET_LEAKED_BYTES] = 1;
        limits->limit[BUDGET_LEAKED_BYTES] = 0;
    }
    if (have_baseline && !limits->set[BUDGET_NEW_SUSPECTS]) {
        limits->set[BUDGET_NEW_SUSPECTS] = 1;
        limits->limit[BUDGET_NEW_SUSPECTS] = 0;
    }
}

void gate_measure(struct budget_result *b, double limit, double actual)
{
    b->set = 1;
    b->limit = limit;
    b->actual = actual;
    b->measured = !isnan(actual);
    b->pass = b->measured && actual <= limit;
}

/* The steady growth of one suspect in bytes per second: its growth over the window when the
 * analysis calls it growing (growth.h), else 0 (a cache that filled and stopped, a one-time
 * allocation). */
static double suspect_growth(const struct suspect *s)
{
    return s->growth.growing ? s->growth.growth_bytes_per_s : 0;
}

double gate_steady_growth(const struct gate *g)
{
    double sum = 0;
    for (size_t i = 0; i < g->count; i++)
        if (!g->suspects[i].suppressed_by)
            sum += suspect_growth(g->suspects[i].suspect);
    return sum;
}

const char *gate_budget_name(enum budget_kind kind)
{
    static const char *names[] = {"max-leaked-bytes", "max-leaked-blocks", "max-new-suspects",
                                  "max-growth"};
    return names[kind];
}

const struct suspect_frame *gate_source_frame(const struct suspect *s)
{
    for (uint32_t i = 0; i < s->frame_count; i++)
        if (s->frames[i].sym.file && s->frames[i].sym.line > 0)
            return &s->frames[i];
    return NULL;
}

static void apply_suppressions(struct gate *g, struct suppression_list *suppressions)
{
    for (size_t i = 0; i < g->count; i++) {
        struct gate_suspect *gs = &g->suspects[i];
        const struct suspect *s = gs->suspect;
        gs->suppressed_by = suppressions ? suppressions_apply(suppressions, s) : NULL;
        if (gs->suppressed_by) {
            g->suppressed_suspects++;
            g->suppressed_bytes += s->leaked_bytes;
            g->suppressed_blocks += s->leaked_blocks;
        } else {
            g->kept_suspects++;
            g->kept_bytes += s->leaked_bytes;
            g->kept_blocks += s->leaked_blocks;
        }
    }
}

/* Ties each unsuppressed suspect to the change of its stack (by identity: the change names
 * only the largest suspect of each identity). */
static int tie_to_changes(struct gate *g)
{
    char **identities = calloc(g->count + 1, sizeof *identities);
    int rc = identities ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < g->count; i++)
        if (!g->suspects[i].suppressed_by && !(identities[i] = leak_identity(g->suspects[i].suspect)))
            rc = -1;
    for (size_t c = 0; rc == 0 && c < g->change_count; c++) {
        const struct leak_change *change = &g->changes[c];
        char *identity = change->new_suspect ? leak_identity(change->new_suspect) : NULL;
        if (change->new_suspect && !identity)
            rc = -1;
        for (size_t i = 0; identity && i < g->count; i++)
            if (identities[i] && !g->suspects[i].change && strcmp(identities[i], identity) == 0)
                g->suspects[i].change = change;
        free(identity);
    }
    for (size_t i = 0; identities && i < g->count; i++)
        free(identities[i]);
    free(identities);
    return rc;
}

/* Compares the unsuppressed suspects with the baseline's, the same suppressions applied to
 * both sides (without counting the baseline's matches). */
static int compare_with_baseline(struct gate *g, const struct leak_run *baseline,
                                 const struct suppression_list *suppressions,
                                 const struct growth_threshold *threshold)
{
    const struct suspect **old = calloc(baseline->count + 1, sizeof *old);
    const struct suspect **kept = calloc(g->count + 1, sizeof *kept);
    size_t old_count = 0, kept_count = 0;
    int rc = -1;
    if (old && kept) {
        for (size_t i = 0; i < baseline->count; i++)
            if (!suppressions || !suppressions_find(suppressions, &baseline->suspects[i]))
                old[old_count++] = &baseline->suspects[i];
        for (size_t i = 0; i < g->count; i++)
            if (!g->suspects[i].suppressed_by)
                kept[kept_count++] = g->suspects[i].suspect;
        if (leak_compare(old, old_count, kept, kept_count, threshold, &g->changes,
                         &g->change_count) == 0)
            rc = tie_to_changes(g);
    }
    free(old);
    free(kept);
    return rc;
}

static size_t count_new_stacks(const struct gate *g)
{
    size_t n = 0;
    for (size_t c = 0; c < g->change_count; c++)
        n += g->changes[c].kind == CHANGE_NEW || g->changes[c].kind == CHANGE_GROWN;
    return n;
}

/* Does the kept suspect put budget `kind` over, once that budget failed? */
static int offends(const struct gate_suspect *gs, enum budget_kind kind)
{
    switch (kind) {
    case BUDGET_LEAKED_BYTES:
    case BUDGET_LEAKED_BLOCKS:
        return 1;
    case BUDGET_NEW_SUSPECTS:
        return gs->change && (gs->change->kind == CHANGE_NEW || gs->change->kind == CHANGE_GROWN);
    case BUDGET_GROWTH:
        return suspect_growth(gs->suspect) > 0;
    default:
        return 0;
    }
}

int gate_evaluate(struct gate *g, const struct leak_run *run, struct suppression_list *suppressions,
                  const struct leak_run *baseline, const struct gate_limits *limits)
{
    memset(g, 0, sizeof *g);
    g->suspects = calloc(run->count + 1, sizeof *g->suspects);
    if (!g->suspects)
        return -1;
    for (size_t i = 0; i < run->count; i++)
        g->suspects[g->count++].suspect = &run->suspects[i];
    apply_suppressions(g, suppressions);
    if (baseline && compare_with_baseline(g, baseline, suppressions, &limits->threshold) < 0)
        return -1;

    double actual[BUDGET_KINDS] = {
        [BUDGET_LEAKED_BYTES] = (double)g->kept_bytes,
        [BUDGET_LEAKED_BLOCKS] = (double)g->kept_blocks,
        [BUDGET_NEW_SUSPECTS] = baseline ? (double)count_new_stacks(g) : NAN,
        [BUDGET_GROWTH] = gate_steady_growth(g),
    };
    for (int k = 0; k < BUDGET_KINDS; k++) {
        if (!limits->set[k])
            continue;
        struct budget_result *b = &g->budgets[k];
        gate_measure(b, limits->limit[k], actual[k]);
        if (b->pass || !b->measured)
            continue;
        g->failed++;
        for (size_t i = 0; i < g->count; i++)
            if (!g->suspects[i].suppressed_by && offends(&g->suspects[i], (enum budget_kind)k))
                g->suspects[i].offends |= 1u << k;
    }
    return 0;
}

void gate_free(struct gate *g)
{
    free(g->suspects);
    free(g->changes);
    memset(g, 0, sizeof *g);
}
