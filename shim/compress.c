/* The writer's zstd context in a private anonymous mapping; see compress.h. The mapping (the
 * context's workspace, then the output buffer) is made once and kept: a forked child inherits
 * a copy, which compress_start initializes again. */
#define ZSTD_STATIC_LINKING_ONLY
#include "compress.h"

#include <stdint.h>
#include <sys/mman.h>
#include <zstd.h>

#include "trace_format.h"

#define OUTPUT_BYTES ZSTD_COMPRESSBOUND(TRACE_STAGING_BYTES)

static struct {
    uint8_t *mapping;
    size_t mapping_bytes, workspace_bytes;
    ZSTD_CCtx *cctx;
} c;

int compress_start(int level)
{
    ZSTD_compressionParameters params = ZSTD_getCParams(level, TRACE_STAGING_BYTES, 0);
    size_t workspace = ZSTD_estimateCCtxSize_usingCParams(params);
    workspace = (workspace + 63) & ~(size_t)63;
    c.cctx = NULL;
    if (c.mapping && c.workspace_bytes != workspace) {
        munmap(c.mapping, c.mapping_bytes);
        c.mapping = NULL;
    }
    if (!c.mapping) {
        size_t bytes = workspace + OUTPUT_BYTES;
        void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return -1;
        c.mapping = m;
        c.mapping_bytes = bytes;
        c.workspace_bytes = workspace;
    }
    ZSTD_CCtx *cctx = ZSTD_initStaticCCtx(c.mapping, c.workspace_bytes);
    if (!cctx || ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, (int)params.windowLog)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1)))
        return -1;
    c.cctx = cctx;
    return 0;
}

const void *compress_frame(const void *src, size_t n, size_t *len)
{
    if (!c.cctx || n > TRACE_STAGING_BYTES)
        return NULL;
    uint8_t *out = c.mapping + c.workspace_bytes;
    size_t got = ZSTD_compress2(c.cctx, out, OUTPUT_BYTES, src, n);
    if (ZSTD_isError(got))
        return NULL;
    *len = got;
    return out;
}
