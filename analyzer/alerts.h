/* Alerts to draw on the report's time line, read from a JSON-lines file (one JSON object per
 * line, as `leakshim watch --alerts` writes them): each line has at least "time" (a number:
 * seconds since the traced process started; "time_s" is read the same) and "kind" (a
 * string); other members ("stacks", anything newer) are checked to be JSON and otherwise
 * ignored. Empty lines are skipped.
 * Used by `leakshim report --format html --alerts FILE`. */
#ifndef LEAKSHIM_ALERTS_H
#define LEAKSHIM_ALERTS_H

#include <stddef.h>

struct alert {
    double time_s;
    char *kind; /* UTF-8, owned */
};

struct alert_list {
    struct alert *items;
    size_t count, capacity;
};

/* Reads every alert of `path` into *out (which it initializes). Returns 0, or -1 with `error`
 * set ("PATH: why", "PATH:LINE: why") and *out empty. */
int alerts_read(const char *path, struct alert_list *out, char *error, size_t error_len);
void alerts_free(struct alert_list *list);

#endif
