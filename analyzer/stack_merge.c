/* Stacks defined again; see stack_merge.h. */
#include "stack_merge.h"

#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "uthash.h"

struct stack_merge_key {
    UT_hash_handle hh;
    uint32_t latest; /* the latest canonical stack with these frames (they are the key) */
};

static int same_modules(const symbolizer *sym, const struct stack_info *a,
                        const struct stack_info *b)
{
    for (uint32_t i = 0; i < a->depth; i++)
        if (!symbolizer_same_module(sym, a->modules[i], b->modules[i]))
            return 0;
    return 1;
}

int64_t stack_merge_canonical(struct stack_merge *m, struct stack_info *stacks, uint32_t id,
                              const symbolizer *sym)
{
    struct stack_info *s = &stacks[id];
    size_t bytes = s->depth * sizeof *s->frames;
    struct stack_merge_key *k;
    HASH_FIND(hh, m->by_frames, s->frames, bytes, k);
    if (k) {
        for (uint32_t c = k->latest + 1; c; c = stacks[c - 1].same_frames_before)
            if (same_modules(sym, &stacks[c - 1], s))
                return c - 1;
        s->same_frames_before = k->latest + 1; /* the same addresses in other modules */
        k->latest = id;
        return id;
    }
    k = malloc(sizeof *k);
    if (!k)
        return -1;
    k->latest = id;
    HASH_ADD_KEYPTR(hh, m->by_frames, s->frames, bytes, k);
    return id;
}

void stack_merge_free(struct stack_merge *m)
{
    struct stack_merge_key *k, *tmp;
    HASH_ITER(hh, m->by_frames, k, tmp) {
        HASH_DEL(m->by_frames, k);
        free(k);
    }
}
