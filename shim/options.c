/* Parsing of the LEAKSHIM_* settings. Sizes accept K, M and G suffixes (powers of 1024). */
#include "options.h"

#include <stddef.h>
#include <stdlib.h>

#include "log.h"

#define DEFAULT_OUTPUT "leakshim.%e.%p.trace"

enum option_kind { OPTION_STRING, OPTION_COUNT, OPTION_SIZE };

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
};

/* Parses a decimal number with an optional K/M/G suffix (when `suffixes`). -1 if malformed. */
static int parse_number(const char *text, int suffixes, uint64_t *out)
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
    if (suffixes && *text) {
        switch (*text++ | 0x20) {
        case 'k': shift = 10; break;
        case 'm': shift = 20; break;
        case 'g': shift = 30; break;
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

static void apply(const struct option_spec *spec, const char *text, struct shim_options *out)
{
    char *field = (char *)out + spec->offset;
    if (spec->kind == OPTION_STRING) {
        *(const char **)field = text;
        return;
    }
    uint64_t v = 0;
    if (parse_number(text, spec->kind == OPTION_SIZE, &v) < 0 || v < spec->min || v > spec->max) {
        shim_warn("%s=%s is not valid (a %s from %llu to %llu); using %s", spec->name, text,
                  spec->kind == OPTION_SIZE ? "size" : "number", (unsigned long long)spec->min,
                  (unsigned long long)spec->max, spec->default_text);
        parse_number(spec->default_text, 1, &v);
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
        const char *text = getenv(spec->name);
        if (text && spec->kind == OPTION_STRING && !*text) {
            shim_warn("%s is empty; using %s", spec->name, spec->default_text);
            text = NULL;
        }
        apply(spec, text ? text : spec->default_text, out);
    }
}
