/* The outputs of `leakshim check`: a summary for people (stdout), JUnit XML for test
 * dashboards, SARIF 2.1.0 for code review annotations, and a JSON verdict for scripts. Each
 * prints a finished verdict (gate.h) and nothing else; check_output.c holds what they
 * share: the one-line description of an offending suspect and of a frame. */
#ifndef LEAKSHIM_CHECK_OUTPUT_H
#define LEAKSHIM_CHECK_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "gate.h"
#include "leak_run.h"
#include "suppressions.h"

struct check_context {
    const char *trace;         /* the run checked, as given */
    const char *baseline_path; /* NULL without a baseline */
    const struct leak_run *run;
    const struct gate *gate;
    const struct suppression_list *suppressions;
    const char *source_root;   /* SARIF: absolute directory that file paths are made relative to */
};

void check_text(FILE *out, const struct check_context *c);
void check_junit(FILE *out, const struct check_context *c);
void check_sarif(FILE *out, const struct check_context *c);
void check_json(FILE *out, const struct check_context *c);

/* "copy_header_value leaks 13,600 bytes in 400 blocks (new: not in the baseline)" */
void check_describe_suspect(const struct gate_suspect *gs, char *buf, size_t len);

/* "copy_header_value /src/server.c:744", "?? [libfoo.so+0x1234]": one frame, one line. */
void check_describe_frame(const struct suspect_frame *f, char *buf, size_t len);

/* "13,600 bytes leaked, limit 0": a budget's actual against its limit. */
void check_describe_budget(enum budget_kind kind, const struct budget_result *b, char *buf,
                           size_t len);

/* The first unsuppressed budget kind that this suspect puts over, or BUDGET_KINDS. */
enum budget_kind check_first_offence(const struct gate_suspect *gs);

#endif
