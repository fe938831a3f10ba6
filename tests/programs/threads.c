/* Threads: 8 workers each allocate and free 50,000 blocks (keeping up to 32 alive at a time,
 * so addresses are reused across threads all the time) and leak exactly 1000 * (index + 1)
 * bytes from thread_leak. Then 4 producers hand blocks to 4 consumers through a queue: the
 * consumers free every block from xt_alloc and keep (leak) every block from xt_alloc_kept,
 * 100 blocks of 24 bytes. Blocks from main_alloc_for_workers are freed by the workers, and
 * blocks from worker_alloc_for_main by main.
 *
 * Leaks: thread_leak 36000 B in 8, xt_alloc_kept 2400 B in 100; nothing else of its own. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))
#define WORKERS 8
#define ITERATIONS 50000
#define LEAK_UNIT 1000
#define PRODUCERS 4
#define CONSUMERS 4
#define PER_PRODUCER 20000
#define KEPT_PER_PRODUCER 25

static void *volatile leaked[WORKERS];
static void *main_blocks[WORKERS][100];
static void *for_main[WORKERS][100];

NOINLINE void *churn_alloc(size_t n) { return malloc(n); }
NOINLINE void thread_leak(int index, size_t n) { leaked[index] = malloc(n); }
NOINLINE void *main_alloc_for_workers(size_t n) { return malloc(n); }
NOINLINE void *worker_alloc_for_main(size_t n) { return malloc(n); }

static void *worker(void *arg)
{
    int index = (int)(long)arg;
    void *slots[32] = {0};
    for (int j = 0; j < ITERATIONS; j++) {
        int s = (j * 7 + index) & 31;
        free(slots[s]);
        size_t n = 16 + (size_t)((j * 13 + index * 5) % 240);
        slots[s] = churn_alloc(n);
        memset(slots[s], j, n);
    }
    for (int s = 0; s < 32; s++)
        free(slots[s]);
    for (int k = 0; k < 100; k++) {
        free(main_blocks[index][k]);
        for_main[index][k] = worker_alloc_for_main(40 + (size_t)k);
    }
    thread_leak(index, (size_t)LEAK_UNIT * (size_t)(index + 1));
    return NULL;
}

/* --- producers and consumers ----------------------------------------------------------- */

struct item {
    void *block;
    int keep;
};

#define QUEUE_CAP 256
static struct item queue[QUEUE_CAP];
static unsigned q_head, q_tail;
static int producers_left = PRODUCERS;
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_not_full = PTHREAD_COND_INITIALIZER, q_not_empty = PTHREAD_COND_INITIALIZER;
static void *kept[PRODUCERS * KEPT_PER_PRODUCER];
static int kept_count;

NOINLINE void *xt_alloc(size_t n) { return malloc(n); }
NOINLINE void *xt_alloc_kept(void) { return malloc(24); }

static void put(struct item it)
{
    pthread_mutex_lock(&q_lock);
    while (q_tail - q_head == QUEUE_CAP)
        pthread_cond_wait(&q_not_full, &q_lock);
    queue[q_tail++ % QUEUE_CAP] = it;
    pthread_cond_signal(&q_not_empty);
    pthread_mutex_unlock(&q_lock);
}

static void *producer(void *arg)
{
    int index = (int)(long)arg;
    for (int j = 0; j < PER_PRODUCER; j++) {
        size_t n = 8 + (size_t)((j + index) % 100);
        struct item it = {xt_alloc(n), 0};
        memset(it.block, index, n);
        put(it);
        if (j % (PER_PRODUCER / KEPT_PER_PRODUCER) == 0)
            put((struct item){xt_alloc_kept(), 1});
    }
    pthread_mutex_lock(&q_lock);
    producers_left--;
    pthread_cond_broadcast(&q_not_empty);
    pthread_mutex_unlock(&q_lock);
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&q_lock);
        while (q_tail == q_head && producers_left)
            pthread_cond_wait(&q_not_empty, &q_lock);
        if (q_tail == q_head) {
            pthread_mutex_unlock(&q_lock);
            return NULL;
        }
        struct item it = queue[q_head++ % QUEUE_CAP];
        if (it.keep)
            kept[kept_count++] = it.block;
        pthread_cond_signal(&q_not_full);
        pthread_mutex_unlock(&q_lock);
        if (!it.keep)
            free(it.block);
    }
}

int main(void)
{
    pthread_t t[WORKERS + PRODUCERS + CONSUMERS];
    for (int i = 0; i < WORKERS; i++)
        for (int k = 0; k < 100; k++)
            main_blocks[i][k] = main_alloc_for_workers(100 + (size_t)k);
    for (long i = 0; i < WORKERS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i) != 0)
            return 2;
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < WORKERS; i++)
        for (int k = 0; k < 100; k++)
            free(for_main[i][k]);

    for (long i = 0; i < PRODUCERS; i++)
        if (pthread_create(&t[i], NULL, producer, (void *)i) != 0)
            return 2;
    for (long i = 0; i < CONSUMERS; i++)
        if (pthread_create(&t[PRODUCERS + i], NULL, consumer, NULL) != 0)
            return 2;
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        pthread_join(t[i], NULL);
    printf("kept %d blocks\n", kept_count);
    return kept_count == PRODUCERS * KEPT_PER_PRODUCER ? 0 : 1;
}
