/* The report formats of `leakshim report`: JSON (the contract's field names, see
 * CONTRACT.md), text (what a person reads first), and the exports other tools read: folded
 * stacks (flame graphs) and pprof's profile.proto. All take a finished replay and its ranked,
 * symbolized suspects. */
#ifndef LEAKSHIM_REPORT_H
#define LEAKSHIM_REPORT_H

#include <stdio.h>

#include "replay.h"
#include "suspects.h"

void report_json(FILE *out, const struct replay *r, const struct suspect_list *suspects);
void report_text(FILE *out, const struct replay *r, const struct suspect_list *suspects);

/* How the text report is shaped for a terminal (report_text uses neither). */
struct text_style {
    size_t width; /* columns: lines are fitted to it (0: never cut) */
    int color;    /* ANSI colours */
};
void report_text_styled(FILE *out, const struct replay *r, const struct suspect_list *suspects,
                        const struct text_style *style);

/* report_collapsed.c: what each folded stack's value counts. */
enum collapsed_value {
    COLLAPSED_LEAKED,    /* bytes outstanding at the end (the default) */
    COLLAPSED_ALLOCATED, /* bytes allocated in all by the stack, freed or not */
    COLLAPSED_COUNT      /* blocks outstanding at the end */
};
/* "leaked", "allocated", "count": 0, or -1 for another word. */
int collapsed_parse_value(const char *word, enum collapsed_value *out);
/* 0, or -1 on out of memory (nothing written then). */
int report_collapsed(FILE *out, const struct suspect_list *suspects, enum collapsed_value v);

/* report_pprof.c: the gzip-compressed profile. Returns 0, or -1 with `error` set (out of
 * memory, a failed write: errno says which). */
int report_pprof(FILE *out, struct replay *r, const struct suspect_list *suspects, char *error,
                 size_t error_len);

/* frame_name.c: a frame's name in the exports: the function, else `module+0xoffset`, else
 * `0xaddress`. Returns the function's name or buf (NUL-terminated, cut to len). */
const char *frame_name(const struct suspect_frame *f, char *buf, size_t len);

/* The name of the one frame of a stack the shim could not record. */
#define UNKNOWN_STACK_NAME "[unknown stack]"

/* One suspect's fields in the contract's names ("rank": ..., "stack": [...]), without the
 * braces around them, so that other documents (check's verdict) can add fields of their own.
 * `list` gives the series' window; NULL (a suspect read back from JSON) writes no series. */
void report_json_suspect_fields(FILE *out, size_t rank, const struct suspect *s,
                                const struct suspect_list *list);

#endif
