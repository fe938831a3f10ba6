/* The verdict of `leakshim check`: suppressions applied to a run's suspects, the run
 * compared with a baseline, every budget measured against its limit, and the suspects that
 * put a budget over (the "offenders"). The output formats (check_output.h) only print it.
 *
 * Budgets:
 *   max-leaked-bytes, max-leaked-blocks  what the unsuppressed suspects hold at the end (or
 *                                        at the window's end); offenders: every unsuppressed
 *                                        suspect
 *   max-new-suspects                     stacks that leak now and did not in the baseline,
 *                                        or leak more by more than the threshold; offenders:
 *                                        those stacks
 *   max-growth                           the steady-state growth of the unsuppressed
 *                                        suspects in bytes per second (gate_steady_growth);
 *                                        offenders: the suspects that grow
 * A budget passes when actual <= limit. */
#ifndef LEAKSHIM_GATE_H
#define LEAKSHIM_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "leak_compare.h"
#include "leak_run.h"
#include "suppressions.h"
#include "units.h"

enum budget_kind {
    BUDGET_LEAKED_BYTES,
    BUDGET_LEAKED_BLOCKS,
    BUDGET_NEW_SUSPECTS,
    BUDGET_GROWTH,
    BUDGET_KINDS
};

/* What the command line asked for. */
struct gate_limits {
    int set[BUDGET_KINDS];
    double limit[BUDGET_KINDS]; /* bytes, blocks, stacks, bytes per second */
    struct growth_threshold threshold; /* for the baseline comparison */
};

struct budget_result {
    int set;        /* the budget applies */
    int measured;   /* actual is known (growth may not be) */
    double limit, actual;
    int pass;
};

/* One suspect of the run. */
struct gate_suspect {
    const struct suspect *suspect;
    const struct suppression *suppressed_by; /* NULL when it counts */
    unsigned offends;                        /* bit (1 << kind) per budget it puts over */
    const struct leak_change *change;        /* its stack against the baseline, or NULL */
};

struct gate {
    struct gate_suspect *suspects; /* every suspect of the run, in rank order */
    size_t count;
    uint64_t kept_suspects, kept_bytes, kept_blocks;
    uint64_t suppressed_suspects, suppressed_bytes, suppressed_blocks;
    struct leak_change *changes; /* against the baseline; NULL without one */
    size_t change_count;
    struct budget_result budgets[BUDGET_KINDS];
    size_t failed; /* budgets over their limit */
};

/* The budgets that apply when the command line names none: no unsuppressed leak at all
 * (max-leaked-bytes 0), and with a baseline no new or grown stack (max-new-suspects 0). */
void gate_default_limits(struct gate_limits *limits, int have_baseline);

/* Measures `run` (its suspects) against the limits, after `suppressions` (their counts are
 * updated) and against `baseline` (NULL for none; the same suppressions hide its stacks
 * from the comparison). Returns 0, or -1 on out of memory. */
int gate_evaluate(struct gate *g, const struct leak_run *run, struct suppression_list *suppressions,
                  const struct leak_run *baseline, const struct gate_limits *limits);
void gate_free(struct gate *g);

/* One budget: sets measured and pass from actual and limit (actual NAN: not measured). */
void gate_measure(struct budget_result *b, double limit, double actual);

/* The steady-state growth, in bytes per second, of the unsuppressed suspects; NAN while the
 * analysis does not measure it. */
double gate_steady_growth(const struct gate *g);

/* "max-leaked-bytes", ... */
const char *gate_budget_name(enum budget_kind kind);

/* The first frame of a suspect that has a source file and line, or NULL. */
const struct suspect_frame *gate_source_frame(const struct suspect *s);

#endif
