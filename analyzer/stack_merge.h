/* Stacks defined again with the same frames in the same modules. The shim writes every stack
 * again, under a new id, after each dlclose (a library loaded later at the same addresses
 * would be other code, shim/FORMAT.md); when the frames still lie in the same modules, the
 * stack is the same code, and the replay counts its events under the id it was first given, so
 * that a program that loads and unloads plugins all the time keeps one suspect per call path.
 * A hash table over the frames holds, for each, the latest canonical stack defined with them,
 * and each canonical stack the one defined with the same frames in other modules before it
 * (stack_info.same_frames_before): libraries that take turns at one address keep one stack
 * each. */
#ifndef LEAKSHIM_STACK_MERGE_H
#define LEAKSHIM_STACK_MERGE_H

#include <stdint.h>

#include "symbolize.h"

struct stack_info;
struct stack_merge_key;

struct stack_merge {
    struct stack_merge_key *by_frames;
};

/* stacks[id] was just defined (its frames and modules set). Returns the id its events count
 * under: an earlier stack with the same frames in the same modules (symbolizer_same_module:
 * a library loaded again at the same place counts as the same), or id itself. -1 on out of
 * memory. */
int64_t stack_merge_canonical(struct stack_merge *m, struct stack_info *stacks, uint32_t id,
                              const symbolizer *sym);

void stack_merge_free(struct stack_merge *m);

#endif
