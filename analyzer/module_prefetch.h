/* Opening modules ahead of their first lookup, in one background thread (module_file.h says
 * what opening costs). In an analysis, which symbolizes after the replay, replay queues each
 * module when the first stack that runs through it is read (replay.h, prefetch_modules); the
 * thread opens the queued modules one after the other while the main thread goes on
 * replaying the trace, which on 2 cores hides the symbolizer's fixed cost. The results are
 * handed over all at once, after the thread has been joined, before the symbolizer's first
 * lookup: libdw is never used by two threads at the same time, and what a module looks like
 * to the symbolizer does not depend on which thread opened it. */
#ifndef LEAKSHIM_MODULE_PREFETCH_H
#define LEAKSHIM_MODULE_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "module_file.h"

struct module_prefetch;

/* Queues module `index` for opening (module_file_open's arguments, which must stay valid and
 * unchanged until module_prefetch_finish), creating *p and its thread at the first call.
 * Returns 0, or -1 when it cannot be queued (out of memory, no thread): the caller then opens
 * the module itself when needed. */
int module_prefetch_add(struct module_prefetch **p, int index, const char *path, uint64_t bias,
                        const uint8_t *build_id, size_t build_id_len);

/* Waits for the thread to open everything queued, calls take(ctx, index, file) for each
 * module in the order queued (take owns *file from then on), and frees p (NULL: nothing). */
void module_prefetch_finish(struct module_prefetch *p,
                            void (*take)(void *ctx, int index, struct module_file *file),
                            void *ctx);

#endif
