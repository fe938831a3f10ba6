/* When sampling turns into full recording and back (LEAKSHIM_ESCALATE): the rule, applied by
 * the writer to its estimate of the live heap (sampled_heap.h) at every heap sample
 * (LEAKSHIM_INTERVAL). Pure computation: no clock, no I/O, no allocation.
 *
 * The measure is the heap's growth rate over the last `window`: g = (E_now - E_then) / (t_now -
 * t_then), E being the estimate at each sample. Growth is anomalous when
 *   - it is sustained: each half of the window has at least a quarter of the growth (a leak
 *     grows steadily; a burst, or a cache filled at once, grows in one half), and
 *   - g is above both the absolute floor `rate` and what the program showed before: the mean
 *     plus ESCALATION_SIGMAS standard deviations of g over the earlier, non-anomalous windows
 *     (a program whose live set churns through picked blocks has noisy estimates, and learns
 *     a higher bar). After the first two windows, a window learns only when its growth is
 *     under the bar: the first windows of a leak must not raise it.
 * Learning takes two windows from the start: before that, nothing escalates. Once escalated,
 * the bar stays where it was; after `calm` without anomalous growth, sampling resumes and
 * learning goes on from where it stopped.
 *
 * Spec (LEAKSHIM_ESCALATE): "off" or "0" (the default), "on" or "1" (defaults below), or a
 * comma-separated list of window=DURATION, rate=SIZE (bytes per second), calm=DURATION, e.g.
 * "window=2s,rate=512K,calm=60s"; durations in ms or with an ms or s suffix. */
#ifndef LEAKSHIM_ESCALATION_H
#define LEAKSHIM_ESCALATION_H

#include <stdint.h>

#define ESCALATION_DEFAULT_WINDOW_MS 5000
#define ESCALATION_DEFAULT_RATE (1u << 20)
#define ESCALATION_DEFAULT_CALM_MS 30000
#define ESCALATION_SIGMAS 4.0
#define ESCALATION_MAX_POINTS 512 /* a window spans at most this many samples less one */

struct escalation_spec {
    int enabled;
    uint64_t window_ms, rate, calm_ms;
};

/* Parses a spec (NULL: off); 0, or -1 (with *out left disabled) if malformed. */
int escalation_parse(const char *text, struct escalation_spec *out);

enum escalation_step { ESCALATION_KEEP, ESCALATION_ESCALATE, ESCALATION_DEESCALATE };

struct escalation_rule {
    struct escalation_spec spec;
    unsigned span; /* samples per window */
    struct {
        uint64_t ns;
        double bytes;
    } points[ESCALATION_MAX_POINTS];
    uint64_t count;           /* samples seen */
    uint64_t learned;         /* windows learned from */
    double mean, m2;          /* of their growth rates (Welford) */
    double bar;               /* the growth rate above which growth is anomalous */
    int escalated;
    uint64_t last_anomaly_ns;
};

void escalation_rule_init(struct escalation_rule *e, const struct escalation_spec *spec,
                          uint64_t interval_ns);

/* The next heap sample: `live_bytes` estimated at `ns`. Says whether to change modes. */
enum escalation_step escalation_rule_observe(struct escalation_rule *e, uint64_t ns,
                                             double live_bytes);

#endif
