/* The report formats of `leakshim report`: JSON (the contract's field names, see
 * CONTRACT.md) and text (what a person reads first). Both take a finished replay and its
 * ranked, symbolized suspects. */
#ifndef LEAKSHIM_REPORT_H
#define LEAKSHIM_REPORT_H

#include <stdio.h>

#include "replay.h"
#include "suspects.h"

void report_json(FILE *out, const struct replay *r, const struct suspect_list *suspects);
void report_text(FILE *out, const struct replay *r, const struct suspect_list *suspects);

/* One suspect's fields in the contract's names ("rank": ..., "stack": [...]), without the
 * braces around them, so that other documents (check's verdict) can add fields of their own. */
void report_json_suspect_fields(FILE *out, size_t rank, const struct suspect *s);

#endif
