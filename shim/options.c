/* Parsing of the LEAKSHIM_* settings. Sizes accept K, M, G and T suffixes (powers of 1024),
 * durations ms and s suffixes (milliseconds without one), signals a name with or without
 * "SIG" in either case or a number, or "off" (or 0). */
#include "options.h"

#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "initial_env.h"
#include "log.h"

#define DEFAULT_OUTPUT "leakshim.%e.%p.trace"

enum option_kind { OPTION_STRING, OPTION_COUNT, OPTION_SIZE, OPTION_DURATION, OPTION_SIGNAL };

struct option_spec {
    const char *name;
    enum option_kind kind;
    const char *default_text;
    uint64_t min, max; /* for numbers */
    size_t offset;     /* into struct shim_options */
};

static const struct option_spec option_table[] = {
    {"LEAKSHIM_OUTPUT", OPTION_STRING, DEFAULT_OUTPUT, 0, 0, offsetof(struct shim_options, output)},
    {"LEAKSHIM_DEPTH", OPTION_COUNT, "64", 1, 256, offsetof(struct shim_options, depth)},
    {"LEAKSHIM_BUFFER", OPTION_SIZE, "256K", 64 << 10, 1ull << 30,
     offsetof(struct shim_options, buffer_bytes)},
    {"LEAKSHIM_INTERVAL", OPTION_DURATION, "100ms", 10, 3600 * 1000,
     offsetof(struct shim_options, interval_ms)},
    {"LEAKSHIM_MARK_SIGNAL", OPTION_SIGNAL, "off", 0, 0, offsetof(struct shim_options, mark_signal)},
    {"LEAKSHIM_SAMPLE", OPTION_SIZE, "0", 0, 1ull << 40, offsetof(struct shim_options, sample_bytes)},
    {"LEAKSHIM_SAMPLE_SEED", OPTION_COUNT, "0", 0, UINT32_MAX,
     offsetof(struct shim_options, sample_seed)},
    {"LEAKSHIM_ESCALATE", OPTION_STRING, "off", 0, 0, offsetof(struct shim_options, escalate)},
    {"LEAKSHIM_COMPRESS", OPTION_COUNT, "1", 0, 3, offsetof(struct shim_options, compress)},
    {"LEAKSHIM_FRAME_CACHE", OPTION_COUNT, "1", 0, 1, offsetof(struct shim_options, frame_cache)},
};

static const char *const kind_names[] = {
    [OPTION_COUNT] = "number", [OPTION_SIZE] = "size", [OPTION_DURATION] = "duration in ms",
    [OPTION_SIGNAL] = "signal"};

/* Parses a decimal number with the suffixes its kind allows (OPTION_SIZE: K/M/G,
 * OPTION_DURATION: ms/s, others none). -1 if malformed. */
static int parse_number(const char *text, enum option_kind kind, uint64_t *out)
{
    if (*text < '0' || *text > '9')
        return -1;
    uint64_t v = 0;
    for (; *text >= '0' && *text <= '9'; text++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*text - '0');
    }
    unsigned shift = 0;
    if (kind == OPTION_DURATION) {
        if (strcmp(text, "s") == 0) {
            if (v > UINT64_MAX / 1000)
                return -1;
            v *= 1000;
        } else if (*text && strcmp(text, "ms") != 0) {
            return -1;
        }
        *out = v;
        return 0;
    }
    if (kind == OPTION_SIZE && *text) {
        switch (*text++ | 0x20) {
        case 'k': shift = 10; break;
        case 'm': shift = 20; break;
        case 'g': shift = 30; break;
        case 't': shift = 40; break;
        default: return -1;
        }
        if ((*text | 0x20) == 'b' || *text == 'i')
            text += (*text == 'i' && (text[1] | 0x20) == 'b') ? 2 : 1;
    }
    if (*text || v > (UINT64_MAX >> shift))
        return -1;
    *out = v << shift;
    return 0;
}

int options_parse_size(const char *text, uint64_t *out)
{
    return parse_number(text, OPTION_SIZE, out);
}

int options_parse_duration(const char *text, uint64_t *out_ms)
{
    return parse_number(text, OPTION_DURATION, out_ms);
}

/* A signal that may carry marks: not one that stops, kills or reports a fault. -1 if none. */
static int parse_signal(const char *text)
{
    static const struct {
        const char *name;
        int number;
    } names[] = {{"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"USR1", SIGUSR1},
                 {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
                 {"URG", SIGURG}, {"WINCH", SIGWINCH}, {"PWR", SIGPWR}};
    if (strcasecmp(text, "off") == 0 || strcmp(text, "0") == 0)
        return 0;
    if (strncasecmp(text, "SIG", 3) == 0)
        text += 3;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcasecmp(text, names[i].name) == 0)
            return names[i].number;
    if (strncasecmp(text, "RTMIN", 5) == 0) {
        uint64_t k = 0;
        if (text[5] && (text[5] != '+' || parse_number(text + 6, OPTION_COUNT, &k) < 0))
            return -1;
        return k <= (uint64_t)(SIGRTMAX - SIGRTMIN) ? SIGRTMIN + (int)k : -1;
    }
    uint64_t n;
    if (parse_number(text, OPTION_COUNT, &n) < 0)
        return -1;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if ((uint64_t)names[i].number == n)
            return (int)n;
    return n >= (uint64_t)SIGRTMIN && n <= (uint64_t)SIGRTMAX ? (int)n : -1;
}

static void apply(const struct option_spec *spec, const char *text, struct shim_options *out)
{
    char *field = (char *)out + spec->offset;
    if (spec->kind == OPTION_STRING) {
        *(const char **)field = text;
        return;
    }
    if (spec->kind == OPTION_SIGNAL) {
        int signal = parse_signal(text);
        if (signal < 0) {
            shim_warn("%s=%s is not valid (a signal such as USR2, RTMIN+3 or its number, or off; "
                      "not one that stops, kills or reports a fault); using %s",
                      spec->name, text, spec->default_text);
            signal = parse_signal(spec->default_text);
        }
        *(unsigned *)field = (unsigned)signal;
        return;
    }
    uint64_t v = 0;
    if (parse_number(text, spec->kind, &v) < 0 || v < spec->min || v > spec->max) {
        shim_warn("%s=%s is not valid (a %s from %llu to %llu); using %s", spec->name, text,
                  kind_names[spec->kind], (unsigned long long)spec->min,
                  (unsigned long long)spec->max, spec->default_text);
        parse_number(spec->default_text, spec->kind, &v);
    }
    if (spec->kind == OPTION_COUNT)
        *(unsigned *)field = (unsigned)v;
    else
        *(uint64_t *)field = v;
}

void options_load(struct shim_options *out)
{
    for (size_t i = 0; i < sizeof option_table / sizeof *option_table; i++) {
        const struct option_spec *spec = &option_table[i];
        const char *text = initial_env_get(spec->name);
        if (text && spec->kind == OPTION_STRING && !*text) {
            shim_warn("%s is empty; using %s", spec->name, spec->default_text);
            text = NULL;
        }
        apply(spec, text ? text : spec->default_text, out);
    }
}
