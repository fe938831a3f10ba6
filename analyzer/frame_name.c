/* The name the exports (collapsed stacks, pprof) give a frame, so that both agree: the
 * function when the symbolizer knows it (demangled), else `module+0xoffset` with the module's
 * base name and the offset addr2line takes, else the bare return address `0xaddress`. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

const char *frame_name(const struct suspect_frame *f, char *buf, size_t len)
{
    if (f->sym.function)
        return f->sym.function;
    if (f->sym.module) {
        const char *slash = strrchr(f->sym.module, '/');
        snprintf(buf, len, "%s+0x%" PRIx64, slash ? slash + 1 : f->sym.module,
                 f->sym.module_offset);
    } else {
        snprintf(buf, len, "0x%" PRIx64, f->address);
    }
    return buf;
}
