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
    uint64_t sample_bytes;  /* LEAKSHIM_SAMPLE: mean sampling period, 0 to record everything */
    unsigned sample_seed;   /* LEAKSHIM_SAMPLE_SEED: the sampler's seed, 0 for a random one */
    const char *escalate;   /* LEAKSHIM_ESCALATE: escalation rule (escalation.h), or "off" */
    unsigned compress;      /* LEAKSHIM_COMPRESS: zstd level of the trace's chunks, 0 for none */
    unsigned frame_cache;   /* LEAKSHIM_FRAME_CACHE: 0 walks every stack with unw_backtrace */
};

/* Parses the environment into `out` (no allocation; strings point into the environment). */
void options_load(struct shim_options *out);

/* A size with an optional K, M or G suffix, and a duration in ms or with an ms or s suffix, as
 * the settings take them (for settings that hold several values). 0, or -1 if malformed. */
int options_parse_size(const char *text, uint64_t *out);
int options_parse_duration(const char *text, uint64_t *out_ms);

#endif
