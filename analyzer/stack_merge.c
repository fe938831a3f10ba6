/* Stacks defined again; see stack_merge.h. */
#include "stack_merge.h"

#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "uthash.h"

struct stack_merge_key {
    UT_hash_handle hh;
    uint32_t id; /* canonical; its frames are the key */
};

int64_t stack_merge_canonical(struct stack_merge *m, const struct stack_info *stacks, uint32_t id)
{
    const struct stack_info *s = &stacks[id];
    size_t bytes = s->depth * sizeof *s->frames;
    struct stack_merge_key *k;
    HASH_FIND(hh, m->by_frames, s->frames, bytes, k);
    if (k) {
        const struct stack_info *earlier = &stacks[k->id];
        if (memcmp(earlier->modules, s->modules, s->depth * sizeof *s->modules) == 0)
            return k->id;
        k->id = id; /* the same addresses in other modules now: the latest definition */
        return id;
    }
    k = malloc(sizeof *k);
    if (!k)
        return -1;
    k->id = id;
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
