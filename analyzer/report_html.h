/* `leakshim report --format html`: one self-contained page (inline CSS and JavaScript, no
 * network) with the summary, the heap time line with its marks and alerts, the suspects table
 * (lazily rendered, each row expandable to its stack and source lines) and flame graphs of
 * leaked and allocated bytes. report_html.c writes the data; the page's markup, style and
 * script are analyzer/report_html.html, embedded at build time. */
#ifndef LEAKSHIM_REPORT_HTML_H
#define LEAKSHIM_REPORT_HTML_H

#include <stddef.h>
#include <stdio.h>

#include "alerts.h"
#include "replay.h"
#include "suspects.h"

/* Writes the page. `suspects` should include the stacks whose blocks were all freed
 * (include_freed) for the allocated flame graph; the table shows those that leak. `alerts`
 * may be NULL. Returns 0, or -1 with `error` set (out of memory). Source lines are read from
 * the frames' files when readable now, a few lines around each, bounded in all. */
int report_html(FILE *out, const struct replay *r, const struct suspect_list *suspects,
                const struct alert_list *alerts, char *error, size_t error_len);

#endif
