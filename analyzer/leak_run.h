/* The leaks of one run of a program, read from its trace (through analysis_run) or from a
 * saved `leakshim report --format json` document, as the same ranked `struct suspect` list.
 * `check` reads its trace and its baseline this way, `diff` both of its sides.
 *
 * A file is taken for a JSON report when its first non-blank byte is '{' (a trace starts
 * with its binary magic). The JSON is read with jansson and checked field by field: a
 * report that is not a leakshim-report version 1, or whose fields have the wrong types, is
 * refused with a message naming the file and, where jansson knows it, the line and column. */
#ifndef LEAKSHIM_LEAK_RUN_H
#define LEAKSHIM_LEAK_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "analysis.h"

struct leak_run {
    int from_json;
    struct analysis analysis; /* a trace's analysis (from_json == 0) */
    void *json;               /* the JSON document whose strings the frames point into */
    struct suspect *suspects; /* every suspect, best first */
    size_t count;
    uint64_t leaked_bytes, leaked_blocks; /* the run's totals */
    const char *exe;          /* NULL if unknown */
    uint64_t pid;
    int complete;
    const char *warning;      /* non-empty when a trace was cut short */
};

/* Reads `path`. The request's window and order apply to a trace; every suspect is kept
 * whatever req->top says. A JSON report cannot be windowed: since/until are refused for one.
 * Returns 0, or -1 with `error` set. leak_run_free must be called either way. */
int leak_run_load(struct leak_run *run, const char *path, const struct analysis_request *req,
                  char *error, size_t error_len);
void leak_run_free(struct leak_run *run);

#endif
