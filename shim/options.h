/* The shim's settings, read once from LEAKSHIM_* environment variables at initialization.
 * The table in options.c is the single list of names, defaults and limits; the README
 * documents the same names. A bad value is reported once and the default is used. */
#ifndef LEAKSHIM_OPTIONS_H
#define LEAKSHIM_OPTIONS_H

#include <stdint.h>

struct shim_options {
    const char *output;     /* LEAKSHIM_OUTPUT: trace path template */
    unsigned depth;         /* LEAKSHIM_DEPTH: frames kept per stack */
    uint64_t buffer_bytes;  /* LEAKSHIM_BUFFER: size of the event ring */
    uint64_t interval_ms;   /* LEAKSHIM_INTERVAL: time between heap samples */
    unsigned mark_signal;   /* LEAKSHIM_MARK_SIGNAL: signal that drops a mark, 0 for none */
    unsigned compress;      /* LEAKSHIM_COMPRESS: zstd level of the trace's chunks, 0 for none */
};

/* Parses the environment into `out` (no allocation; strings point into the environment). */
void options_load(struct shim_options *out);

#endif
