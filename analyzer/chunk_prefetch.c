/* The background decompressor of chunks; see chunk_prefetch.h. The job's fields are written
 * by the reader's thread while the job is IDLE or DONE and read by the worker while it is
 * QUEUED; the state changes under the lock, and both wait on one condition variable. The
 * worker has its own zstd context. */
#include "chunk_prefetch.h"

#include <pthread.h>
#include <stdlib.h>
#include <zstd.h>

enum job_state { JOB_IDLE, JOB_QUEUED, JOB_DONE };

struct chunk_prefetch {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    enum job_state state; /* guarded by lock */
    int closing;          /* guarded by lock */
    ZSTD_DCtx *dctx;      /* the worker's */
    /* the job */
    uint64_t offset;
    const uint8_t *frame;
    size_t frame_len, content_len, capacity;
    uint8_t *buffer;
    int decoded; /* the frame gave exactly content_len bytes */
};

static void *run(void *arg)
{
    struct chunk_prefetch *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->state != JOB_QUEUED && !p->closing)
            pthread_cond_wait(&p->changed, &p->lock);
        if (p->state != JOB_QUEUED)
            break;
        pthread_mutex_unlock(&p->lock);
        size_t got = ZSTD_decompressDCtx(p->dctx, p->buffer, p->content_len, p->frame, p->frame_len);
        int decoded = !ZSTD_isError(got) && got == p->content_len;
        pthread_mutex_lock(&p->lock);
        p->decoded = decoded;
        p->state = JOB_DONE;
        pthread_cond_broadcast(&p->changed);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static struct chunk_prefetch *create(size_t capacity)
{
    struct chunk_prefetch *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->buffer = malloc(capacity);
    p->capacity = capacity;
    p->dctx = ZSTD_createDCtx();
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
    if (!p->buffer || !p->dctx || pthread_create(&p->thread, NULL, run, p) != 0) {
        pthread_cond_destroy(&p->changed);
        pthread_mutex_destroy(&p->lock);
        ZSTD_freeDCtx(p->dctx);
        free(p->buffer);
        free(p);
        return NULL;
    }
    return p;
}

int chunk_prefetch_start(struct chunk_prefetch **p, uint64_t offset, const uint8_t *frame,
                         size_t frame_len, size_t content_len, size_t capacity)
{
    if (!*p && !(*p = create(capacity)))
        return -1;
    struct chunk_prefetch *q = *p;
    if (q->capacity != capacity || content_len > capacity)
        return -1;
    pthread_mutex_lock(&q->lock);
    q->offset = offset;
    q->frame = frame;
    q->frame_len = frame_len;
    q->content_len = content_len;
    q->decoded = 0;
    q->state = JOB_QUEUED;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
    return 0;
}

/* With the lock held: until the worker is done with the job. */
static void wait_locked(struct chunk_prefetch *p)
{
    while (p->state == JOB_QUEUED)
        pthread_cond_wait(&p->changed, &p->lock);
}

void chunk_prefetch_wait(struct chunk_prefetch *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    wait_locked(p);
    pthread_mutex_unlock(&p->lock);
}

int chunk_prefetch_take(struct chunk_prefetch *p, uint64_t offset, size_t frame_len,
                        size_t content_len, uint8_t **buffer)
{
    if (!p)
        return 0;
    pthread_mutex_lock(&p->lock);
    wait_locked(p);
    int match = p->state == JOB_DONE && p->decoded && p->offset == offset &&
                p->frame_len == frame_len && p->content_len == content_len;
    p->state = JOB_IDLE;
    if (match) {
        uint8_t *content = p->buffer;
        p->buffer = *buffer;
        *buffer = content;
    }
    pthread_mutex_unlock(&p->lock);
    return match;
}

void chunk_prefetch_free(struct chunk_prefetch *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->closing = 1;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL); /* finishes a queued job first */
    pthread_cond_destroy(&p->changed);
    pthread_mutex_destroy(&p->lock);
    ZSTD_freeDCtx(p->dctx);
    free(p->buffer);
    free(p);
}
