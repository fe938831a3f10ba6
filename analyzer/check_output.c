/* What the outputs of `leakshim check` share; see check_output.h. */
#include "check_output.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "units.h"

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void check_describe_frame(const struct suspect_frame *f, char *buf, size_t len)
{
    const sym_frame *s = &f->sym;
    const char *function = s->function ? s->function : "??";
    if (s->file && s->line > 0)
        snprintf(buf, len, "%s %s:%d", function, s->file, s->line);
    else if (s->module)
        snprintf(buf, len, "%s [%s+0x%" PRIx64 "]", function, base_name(s->module), s->module_offset);
    else
        snprintf(buf, len, "%s [0x%" PRIx64 "]", function, f->address);
}

void check_describe_suspect(const struct gate_suspect *gs, char *buf, size_t len)
{
    const struct suspect *s = gs->suspect;
    const char *function = s->frame_count && s->frames[0].sym.function ? s->frames[0].sym.function
                                                                       : "an unknown function";
    char bytes[32], blocks[32], old[32];
    int n = snprintf(buf, len, "%s leaks %s %s in %s %s", function, units_grouped(s->leaked_bytes, bytes),
                     units_noun(s->leaked_bytes, "byte", "bytes"), units_grouped(s->leaked_blocks, blocks),
                     units_noun(s->leaked_blocks, "block", "blocks"));
    if (n < 0 || (size_t)n >= len || !gs->change)
        return;
    const struct leak_change *c = gs->change;
    if (c->kind == CHANGE_NEW)
        snprintf(buf + n, len - (size_t)n, " (new: not in the baseline)");
    else if (c->kind == CHANGE_GROWN)
        snprintf(buf + n, len - (size_t)n, " (grown: %s bytes in the baseline)",
                 units_grouped(c->old_bytes, old));
}

/* A rate with one decimal and its thousands grouped, as the other budgets' numbers are. */
static const char *grouped_tenths(double v, char buf[48])
{
    if (!isfinite(v) || fabs(v) >= 1e17) {
        snprintf(buf, 48, "%g", v);
        return buf;
    }
    uint64_t tenths = (uint64_t)llround(fabs(v) * 10);
    char whole[32];
    snprintf(buf, 48, "%s%s.%u", v < 0 && tenths ? "-" : "", units_grouped(tenths / 10, whole),
             (unsigned)(tenths % 10));
    return buf;
}

void check_describe_budget(enum budget_kind kind, const struct budget_result *b, char *buf,
                           size_t len)
{
    static const char *what[] = {"bytes leaked", "blocks leaked", "new or grown leaking stacks",
                                 "bytes/s of steady growth"};
    char actual[48], limit[48];
    if (!b->measured) {
        snprintf(buf, len, "not measured, limit %g", b->limit);
    } else if (kind == BUDGET_GROWTH) {
        snprintf(buf, len, "%s %s, limit %s", grouped_tenths(b->actual, actual), what[kind],
                 grouped_tenths(b->limit, limit));
    } else {
        snprintf(buf, len, "%s %s, limit %s", units_grouped((uint64_t)b->actual, actual), what[kind],
                 units_grouped((uint64_t)b->limit, limit));
    }
}

enum budget_kind check_first_offence(const struct gate_suspect *gs)
{
    for (int k = 0; k < BUDGET_KINDS; k++)
        if (gs->offends & (1u << k))
            return (enum budget_kind)k;
    return BUDGET_KINDS;
}
