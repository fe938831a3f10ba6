/* The per-thread table of stacks sent in full; see seen_stacks.h. */
#include "seen_stacks.h"

__thread uint64_t seen_stacks[SEEN_STACKS_SLOTS] __attribute__((tls_model("initial-exec")));
