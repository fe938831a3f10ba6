/* Short names of stacks for the live views of leakshim watch (status line, metric labels,
 * alerts): the innermost STACK_NAME_FRAMES frames of the stack as the suspect list shows it
 * (allocator entry frames dropped, inlined calls as frames of their own), each named as the
 * exports name frames (frame_name), innermost first, joined by '<':
 * "copy_header_value<handle_login<dispatch_request". Names are made once per stack and cached
 * until stack_names_free, so a label stays the same for the whole run. */
#ifndef LEAKSHIM_STACK_NAMES_H
#define LEAKSHIM_STACK_NAMES_H

#include <stdint.h>

#include "replay.h"

#define STACK_NAME_FRAMES 3
#define STACK_NAME_MAX 384 /* longer names are cut, with "..." */

struct stack_names {
    char **names;      /* by stack id, NULL until asked for */
    uint32_t capacity;
};

void stack_names_init(struct stack_names *n);
void stack_names_free(struct stack_names *n);

/* The short name of stack `id` of `r` (TRACE_STACK_UNKNOWN too). Never NULL: on out of memory
 * a name is still returned, from a static buffer valid until the next call. */
const char *stack_name(struct stack_names *n, struct replay *r, uint32_t id);

#endif
