/* Short stack names, cached per stack id; see stack_names.h. */
#include "stack_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "suspects.h"

void stack_names_init(struct stack_names *n)
{
    memset(n, 0, sizeof *n);
}

void stack_names_free(struct stack_names *n)
{
    for (uint32_t i = 0; i < n->capacity; i++)
        free(n->names[i]);
    free(n->names);
    memset(n, 0, sizeof *n);
}

/* Writes the name of stack `s` into out (STACK_NAME_MAX bytes). */
static void make_name(struct replay *r, const struct stack_info *s, char *out)
{
    struct suspect sp;
    memset(&sp, 0, sizeof sp);
    size_t len = 0;
    out[0] = 0;
    if (suspect_symbolize(r, s, &sp) == 0) {
        for (uint32_t i = 0; i < sp.frame_count && i < STACK_NAME_FRAMES; i++) {
            char buf[128];
            int k = snprintf(out + len, STACK_NAME_MAX - len, "%s%s", i ? "<" : "",
                             frame_name(&sp.frames[i], buf, sizeof buf));
            len += k > 0 ? (size_t)k : 0;
            if (len >= STACK_NAME_MAX - 1) {
                memcpy(out + STACK_NAME_MAX - 4, "...", 4);
                break;
            }
        }
    }
    free(sp.frames);
    if (!out[0])
        snprintf(out, STACK_NAME_MAX, "%s", UNKNOWN_STACK_NAME);
}

const char *stack_name(struct stack_names *n, struct replay *r, uint32_t id)
{
    static char scratch[STACK_NAME_MAX];
    if (id == TRACE_STACK_UNKNOWN || id >= r->stack_count)
        return UNKNOWN_STACK_NAME;
    if (id >= n->capacity) {
        uint32_t cap = n->capacity ? n->capacity : 64;
        while (cap <= id)
            cap *= 2;
        char **grown = realloc(n->names, cap * sizeof *grown);
        if (!grown) {
            make_name(r, &r->stacks[id], scratch);
            return scratch;
        }
        memset(grown + n->capacity, 0, (cap - n->capacity) * sizeof *grown);
        n->names = grown;
        n->capacity = cap;
    }
    if (!n->names[id]) {
        make_name(r, &r->stacks[id], scratch);
        n->names[id] = strdup(scratch);
        if (!n->names[id])
            return scratch;
    }
    return n->names[id];
}
