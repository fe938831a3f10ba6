/* Matching the leaking stacks of two runs of a program (a baseline and a new run), for
 * `check --baseline` and `diff`.
 *
 * Addresses differ between runs (ASLR, other builds), so a stack is known by its symbolized
 * identity: for every frame, its function, the base name of its file and its line; a frame
 * without a function is known by its module's base name alone. Base names, not full paths:
 * the same source is often built in a different directory (another CI workspace). Suspects
 * of one run with the same identity (stacks that differ only in unsymbolized frames) are
 * counted together.
 *
 * Each identity present in either run becomes one change: new (leaks now, did not before),
 * gone, grown (leaks more bytes now, by more than the threshold), shrunk (fewer bytes), or
 * same (equal, or grown within the threshold). */
#ifndef LEAKSHIM_LEAK_COMPARE_H
#define LEAKSHIM_LEAK_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "suspects.h"
#include "units.h"

enum change_kind { CHANGE_NEW, CHANGE_GROWN, CHANGE_SHRUNK, CHANGE_GONE, CHANGE_SAME };

struct leak_change {
    enum change_kind kind;
    const struct suspect *old_suspect, *new_suspect; /* the largest of each side; NULL if absent */
    uint64_t old_bytes, old_blocks, new_bytes, new_blocks; /* summed over the identity */
};

/* The identity of a suspect as one string ("function\tfile\tline\n" per frame), malloc'd;
 * NULL on out of memory. */
char *leak_identity(const struct suspect *s);

/* Compares `old_count` suspects of the baseline (old) with `new_count` of the new run; each
 * array holds pointers. Writes a malloc'd array of changes, ordered new, grown, shrunk,
 * gone, same, and by the size of the byte change (largest first) within each kind. Returns
 * 0, or -1 on out of memory. */
int leak_compare(const struct suspect *const *old_suspects, size_t old_count,
                 const struct suspect *const *new_suspects, size_t new_count,
                 const struct growth_threshold *threshold, struct leak_change **changes,
                 size_t *change_count);

/* "new", "grown", "shrunk", "gone", "same" */
const char *leak_change_name(enum change_kind kind);

#endif
