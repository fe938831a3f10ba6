/* The module map of the running process, read from /proc/self/maps and the ELF headers that
 * the loader mapped, for offline symbolization. Reading /proc/self/maps takes no lock of the
 * dynamic loader, so the writer thread can do it while a producer sits inside dlopen.
 * Called only by the writer thread. */
#ifndef LEAKSHIM_MODULES_H
#define LEAKSHIM_MODULES_H

#include <stddef.h>
#include <stdint.h>

#include "trace_format.h"

struct module_info {
    uint64_t start, end; /* runtime range covered by the module's PT_LOAD segments */
    uint64_t bias;       /* runtime address = bias + ELF virtual address */
    const char *path;
    uint8_t build_id[TRACE_MAX_BUILD_ID];
    size_t build_id_len;
};

/* Calls fn for every ELF module mapped in this process. Returns 0, or -1 if /proc/self/maps
 * cannot be read. */
int modules_scan(void (*fn)(const struct module_info *m, void *ctx), void *ctx);

#endif
