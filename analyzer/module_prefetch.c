/* The background opener of modules; see module_prefetch.h. The queue is an array of jobs
 * that only the main thread appends to, under the lock; the thread takes them in order and
 * writes each job's result, which the main thread reads only after pthread_join. Each job is
 * allocated on its own, so the array may move while the thread works on one. */
#include "module_prefetch.h"

#include <pthread.h>
#include <stdlib.h>

struct job {
    int index;
    const char *path;
    uint64_t bias;
    const uint8_t *build_id;
    size_t build_id_len;
    struct module_file file;
};

struct module_prefetch {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t queued;
    struct job **jobs;
    size_t count, capacity; /* count: guarded by lock */
    size_t taken;           /* by the thread; guarded by lock */
    int closing;            /* guarded by lock: nothing more will be queued */
};

static void *run(void *arg)
{
    struct module_prefetch *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->taken == p->count && !p->closing)
            pthread_cond_wait(&p->queued, &p->lock);
        if (p->taken == p->count)
            break;
        struct job *job = p->jobs[p->taken++];
        pthread_mutex_unlock(&p->lock);
        module_file_open(job->path, job->bias, job->build_id, job->build_id_len, &job->file);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static struct module_prefetch *start(void)
{
    struct module_prefetch *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->queued, NULL);
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        pthread_cond_destroy(&p->queued);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
    }
    return p;
}

/* Room for one more job; only the main thread moves the array, under the lock. */
static int make_room(struct module_prefetch *p)
{
    if (p->count < p->capacity)
        return 0;
    size_t capacity = p->capacity ? 2 * p->capacity : 16;
    pthread_mutex_lock(&p->lock);
    struct job **jobs = realloc(p->jobs, capacity * sizeof *jobs);
    if (jobs) {
        p->jobs = jobs;
        p->capacity = capacity;
    }
    pthread_mutex_unlock(&p->lock);
    return jobs ? 0 : -1;
}

int module_prefetch_add(struct module_prefetch **p, int index, const char *path, uint64_t bias,
                        const uint8_t *build_id, size_t build_id_len)
{
    if (!*p && !(*p = start()))
        return -1;
    struct job *job = malloc(sizeof *job);
    if (!job || make_room(*p) < 0) {
        free(job);
        return -1;
    }
    *job = (struct job){index, path, bias, build_id, build_id_len, {0}};
    pthread_mutex_lock(&(*p)->lock);
    (*p)->jobs[(*p)->count++] = job;
    pthread_cond_signal(&(*p)->queued);
    pthread_mutex_unlock(&(*p)->lock);
    return 0;
}

void module_prefetch_finish(struct module_prefetch *p,
                            void (*take)(void *ctx, int index, struct module_file *file),
                            void *ctx)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->closing = 1;
    pthread_cond_signal(&p->queued);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    for (size_t i = 0; i < p->count; i++) {
        take(ctx, p->jobs[i]->index, &p->jobs[i]->file);
        free(p->jobs[i]);
    }
    free(p->jobs);
    pthread_cond_destroy(&p->queued);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
