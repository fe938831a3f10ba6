/* The escalation rule; see escalation.h. */
#include "escalation.h"

#include <string.h>

#include "options.h"

int escalation_parse(const char *text, struct escalation_spec *out)
{
    *out = (struct escalation_spec){0, ESCALATION_DEFAULT_WINDOW_MS, ESCALATION_DEFAULT_RATE,
                                    ESCALATION_DEFAULT_CALM_MS};
    if (!text || strcmp(text, "off") == 0 || strcmp(text, "0") == 0)
        return 0;
    struct escalation_spec spec = *out;
    spec.enabled = 1;
    if (!*text)
        return -1;
    if (strcmp(text, "on") == 0 || strcmp(text, "1") == 0) {
        *out = spec;
        return 0;
    }
    while (*text) {
        char item[64];
        size_t len = strcspn(text, ",");
        if (len == 0 || len >= sizeof item)
            return -1;
        memcpy(item, text, len);
        item[len] = 0;
        text += len;
        if (*text == ',' && !*++text)
            return -1; /* a trailing comma */
        char *value = strchr(item, '=');
        if (!value)
            return -1;
        *value++ = 0;
        int rc;
        if (strcmp(item, "window") == 0)
            rc = options_parse_duration(value, &spec.window_ms);
        else if (strcmp(item, "rate") == 0)
            rc = options_parse_size(value, &spec.rate);
        else if (strcmp(item, "calm") == 0)
            rc = options_parse_duration(value, &spec.calm_ms);
        else
            rc = -1;
        if (rc < 0)
            return -1;
    }
    if (spec.window_ms == 0)
        return -1;
    *out = spec;
    return 0;
}

void escalation_rule_init(struct escalation_rule *e, const struct escalation_spec *spec,
                          uint64_t interval_ns)
{
    memset(e, 0, sizeof *e);
    e->spec = *spec;
    uint64_t span = interval_ns ? spec->window_ms * 1000000ull / interval_ns : 0;
    e->span = span < 2 ? 2 : span > ESCALATION_MAX_POINTS - 1 ? ESCALATION_MAX_POINTS - 1
                                                              : (unsigned)span;
}

/* The sample `back` samples before the latest. */
#define POINT(e, back) ((e)->points[((e)->count - 1 - (back)) % ESCALATION_MAX_POINTS])

static void learn(struct escalation_rule *e, double growth)
{
    e->learned++;
    double delta = growth - e->mean;
    e->mean += delta / (double)e->learned;
    e->m2 += delta * (growth - e->mean);
}

static double learned_bar(const struct escalation_rule *e)
{
    double sd = e->learned > 1 ? __builtin_sqrt(e->m2 / (double)(e->learned - 1)) : 0;
    double bar = e->mean + ESCALATION_SIGMAS * sd;
    return bar > (double)e->spec.rate ? bar : (double)e->spec.rate;
}

enum escalation_step escalation_rule_observe(struct escalation_rule *e, uint64_t ns,
                                             double live_bytes)
{
    if (!e->spec.enabled)
        return ESCALATION_KEEP;
    e->count++;
    POINT(e, 0).ns = ns;
    POINT(e, 0).bytes = live_bytes;
    if (e->count <= e->span)
        return ESCALATION_KEEP;
    double now = live_bytes, then = POINT(e, e->span).bytes, mid = POINT(e, e->span / 2).bytes;
    uint64_t then_ns = POINT(e, e->span).ns;
    double seconds = ns > then_ns ? (double)(ns - then_ns) / 1e9 : 1e-9;
    double growth = (now - then) / seconds;
    double least_half = mid - then < now - mid ? mid - then : now - mid;
    int sustained = least_half > 0 && least_half >= (now - then) / 4;
    if (!e->escalated) {
        if (e->learned >= e->span && sustained && growth > learned_bar(e)) {
            e->bar = learned_bar(e);
            e->escalated = 1;
            e->last_anomaly_ns = ns;
            return ESCALATION_ESCALATE;
        }
        if (e->learned < e->span || growth <= learned_bar(e))
            learn(e, growth); /* outliers (a leak's first windows) would raise the bar */
        return ESCALATION_KEEP;
    }
    if (sustained && growth > e->bar) {
        e->last_anomaly_ns = ns;
        return ESCALATION_KEEP;
    }
    if (ns - e->last_anomaly_ns < e->spec.calm_ms * 1000000ull)
        return ESCALATION_KEEP;
    e->escalated = 0;
    return ESCALATION_DEESCALATE;
}
