/* Sparklines: a series drawn as one line of the eight Unicode block characters U+2581..U+2588,
 * the lowest value of the line as the lowest block (zero when the series starts at zero) and
 * the highest as the full block. Used by the text report and `leakshim timeline`. */
#ifndef LEAKSHIM_SPARKLINE_H
#define LEAKSHIM_SPARKLINE_H

#include <stddef.h>
#include <stdint.h>

/* Draws `n` values in `width` characters (or fewer if n is smaller: one per value); a
 * character shows the last value of the values it covers. Writes a terminated UTF-8 string to
 * `out` (room for 3 * width + 1 bytes) and returns it. Scaled from 0 to the maximum, so a
 * series that stays flat shows as full blocks and one that grows from nothing as a ramp. */
const char *sparkline(const uint64_t *values, size_t n, size_t width, char *out);

#endif
