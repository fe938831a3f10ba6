/* Decompressing a trace's next chunk in a background thread while the reader decodes the
 * records of the current one (trace_reader.c): on a churn trace zstd is about 30 ms of the
 * reader's 97. One job at a time: the reader names the chunk by its file offset and hands
 * over where its compressed frame lies, bytes that must stay as they are until the job is
 * over (chunk_prefetch_wait). When the reader reaches that chunk it takes the content, in
 * exchange for its own buffer, if the frame decoded to exactly the declared length; anything
 * else (a frame that fails, another length, another chunk) is dropped and the reader
 * decompresses the chunk itself, with the errors it always gave. */
#ifndef LEAKSHIM_CHUNK_PREFETCH_H
#define LEAKSHIM_CHUNK_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

struct chunk_prefetch;

/* Starts decompressing frame[0..frame_len) of the chunk at file offset `offset`, declared to
 * hold content_len bytes, into a buffer of `capacity` bytes; creates *p and its thread at the
 * first call. The previous job must be over (waited for or taken). Returns 0, or -1 when
 * nothing was started (out of memory, no thread). */
int chunk_prefetch_start(struct chunk_prefetch **p, uint64_t offset, const uint8_t *frame,
                         size_t frame_len, size_t content_len, size_t capacity);

/* Waits until the job started last, if any, no longer reads its frame. p may be NULL. */
void chunk_prefetch_wait(struct chunk_prefetch *p);

/* When the job started last was for the chunk at `offset` with this frame length and content
 * length and decoded to exactly that content: swaps *buffer (capacity bytes, as given to
 * chunk_prefetch_start) with the job's, which holds the content, and returns 1. Otherwise
 * returns 0. Either way the job is over afterwards. p may be NULL. */
int chunk_prefetch_take(struct chunk_prefetch *p, uint64_t offset, size_t frame_len,
                        size_t content_len, uint8_t **buffer);

/* Ends the thread and frees everything. p may be NULL. */
void chunk_prefetch_free(struct chunk_prefetch *p);

#endif
