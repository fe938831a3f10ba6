/* Quantities on the command line and in messages: sizes with binary suffixes (1K = 1024
 * bytes), counts, rates in bytes per second, thresholds ("10%", "4K", "10%,4K"), and
 * sizes written for people ("13.3 KiB", "13,600"). Used by `check`, `diff` and the text report. */
#ifndef LEAKSHIM_UNITS_H
#define LEAKSHIM_UNITS_H

#include <stdint.h>

/* "4096", "4K", "1M", "2G", "1T" (binary: K = 1024; k, m, g, t too, and an optional B or iB
 * after the suffix: "4KiB"). Returns 0, or -1 for anything else or an overflow. */
int units_parse_size(const char *text, uint64_t *out);

/* A whole number, no sign. Returns 0, or -1. */
int units_parse_count(const char *text, uint64_t *out);

/* A rate in bytes per second: a decimal number with an optional binary suffix and an
 * optional "/s" ("1.5K/s", "200"). Returns 0, or -1 for a negative, infinite or malformed one. */
int units_parse_rate(const char *text, double *out);

/* How much growth a baseline comparison tolerates: a stack's leak grows when the increase
 * is above both `percent` of the old amount and `bytes`. */
struct growth_threshold {
    double percent;
    uint64_t bytes;
};

/* "10%", "4K", or both separated by a comma ("10%,4K"); a part left out is 0. Returns 0,
 * or -1. */
int units_parse_threshold(const char *text, struct growth_threshold *out);

/* Seconds from the trace's start for --since/--until: a non-negative decimal number.
 * Returns 1 for a number, 0 for a word (a mark's name), -1 for an empty string or a
 * malformed number ("1.2.3", "-4"). */
int units_classify_time(const char *text);

/* "13.3 KiB", "34 B": buf must hold 32 bytes. */
const char *units_human_bytes(uint64_t bytes, char *buf);

/* "13,600": buf must hold 32 bytes. */
const char *units_grouped(uint64_t value, char *buf);

/* "block"/"blocks" by count. */
const char *units_noun(uint64_t n, const char *singular, const char *plural);

#endif
