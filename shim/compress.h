/* zstd compression of the writer's chunks (trace_format.h, TRACE_REC_CHUNK), without malloc:
 * the compression context and the output buffer live in one private mapping made once per
 * process (ZSTD_initStaticCCtx), sized for the level and for sources of at most
 * TRACE_STAGING_BYTES, so the memory is known in advance (about 370 KiB at level 1) and the
 * writer never calls the allocator it traces. Only the writer calls these. */
#ifndef LEAKSHIM_COMPRESS_H
#define LEAKSHIM_COMPRESS_H

#include <stddef.h>

/* Prepares a fresh context at `level` (1 to 19): in a forked child too, where the parent's may
 * have been mid-frame. Returns 0, or -1 (compression is then unavailable). */
int compress_start(int level);

/* Compresses n bytes (n <= TRACE_STAGING_BYTES) into one zstd frame with its content size and
 * checksum. Returns the frame, in a buffer of the context's that the next call reuses, with its
 * length in *len; NULL if compression is unavailable or failed. */
const void *compress_frame(const void *src, size_t n, size_t *len);

#endif
