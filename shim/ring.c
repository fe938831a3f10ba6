/* The multi-producer, single-consumer record ring; the protocol and its barrier pairs are
 * described in ring.h. Memory comes from mmap, never from the allocator being traced. */
#include "ring.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A producer's last view of a ring's tail, so that it reads the consumer's cache line only when
 * the ring looks full. The view belongs to one ring generation (ring_init gives each ring a
 * new one, e.g. the ring a forked child makes): a view of another ring is never trusted. */
static __thread struct {
    uint64_t generation, tail;
} view __attribute__((tls_model("initial-exec")));
static _Atomic uint64_t generations;

static uint64_t refresh_view(struct ring *r)
{
    view.generation = r->generation;
    return view.tail = atomic_load_acquire_u64(&r->tail); /* (A) pairs with (D) */
}

uint64_t ring_capacity_for(uint64_t capacity_words)
{
    uint64_t capacity = 2 * (uint64_t)RING_MAX_RECORD_WORDS;
    while (capacity < capacity_words)
        capacity <<= 1;
    return capacity;
}

void ring_init_at(struct ring *r, _Atomic uint64_t *words, uint64_t capacity_words)
{
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->consumer_sleeping, 0);
    r->words = words;
    r->capacity = capacity_words;
    r->mask = capacity_words - 1;
    r->generation = atomic_fetch_add(&generations, 1) + 1;
    r->owns_words = 0;
}

int ring_init(struct ring *r, uint64_t capacity_words)
{
    uint64_t capacity = ring_capacity_for(capacity_words);
    void *mem = mmap(NULL, capacity * sizeof(uint64_t), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return -1;
    ring_init_at(r, mem, capacity);
    r->owns_words = 1;
    return 0;
}

void ring_destroy(struct ring *r)
{
    if (r->words && r->owns_words)
        munmap((void *)r->words, r->capacity * sizeof(uint64_t));
    r->words = NULL;
}

static void futex_wake_one(_Atomic int *addr)
{
    syscall(SYS_futex, (int *)addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void ring_wake_consumer(struct ring *r)
{
    /* Orders our earlier commit before the load below, against the consumer's store of
     * consumer_sleeping before its last look at the ring (both seq_cst). */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_relaxed_int(&r->consumer_sleeping) &&
        atomic_exchange_explicit(&r->consumer_sleeping, 0, memory_order_acq_rel))
        futex_wake_one(&r->consumer_sleeping);
}

static void wait_a_little(unsigned attempt)
{
    if (attempt < 64) {
        __builtin_ia32_pause();
    } else if (attempt < 1024) {
        sched_yield();
    } else {
        struct timespec ts = {0, 100 * 1000};
        nanosleep(&ts, NULL);
    }
}

uint64_t ring_reserve(struct ring *r, uint32_t nwords)
{
    uint64_t pos = atomic_fetch_add_relaxed_u64(&r->head, nwords);
    if (view.generation == r->generation && pos + nwords - view.tail <= r->capacity)
        return pos;
    for (unsigned attempt = 0;; attempt++) {
        if (pos + nwords - refresh_view(r) <= r->capacity)
            return pos;
        ring_wake_consumer(r);
        wait_a_little(attempt);
    }
}

int ring_try_reserve(struct ring *r, uint32_t nwords, uint64_t *pos)
{
    uint64_t head = atomic_load_relaxed_u64(&r->head);
    do {
        if (head + nwords - refresh_view(r) > r->capacity) {
            ring_wake_consumer(r);
            return 0;
        }
    } while (!atomic_cas_weak_relaxed_u64(&r->head, &head, head + nwords));
    *pos = head;
    return 1;
}

void ring_commit(struct ring *r, uint64_t pos, uint64_t header)
{
    atomic_store_release_u64(&r->words[pos & r->mask], header); /* (B) pairs with (C) */
    /* A sleeping consumer is woken once the ring is a quarter full. The flag is read without
     * a fence here: a wake-up missed in a race costs the consumer's timeout at most, and a
     * producer that finds the ring full wakes it in ring_reserve. */
    uint64_t quarter = r->capacity / 4, end = pos + ring_header_words(header);
    if (atomic_load_relaxed_int(&r->consumer_sleeping) &&
        (view.generation != r->generation || end - view.tail > quarter) &&
        end - refresh_view(r) > quarter)
        ring_wake_consumer(r);
}

uint32_t ring_peek(struct ring *r, uint64_t *out)
{
    uint64_t tail = atomic_load_relaxed_u64(&r->tail);
    uint64_t header = atomic_load_acquire_u64(&r->words[tail & r->mask]); /* (C) pairs with (B) */
    if (header == 0)
        return 0;
    uint32_t n = ring_header_words(header);
    out[0] = header;
    for (uint32_t i = 1; i < n; i++)
        out[i] = atomic_load_relaxed_u64(&r->words[(tail + i) & r->mask]);
    return n;
}

void ring_release(struct ring *r, uint32_t nwords)
{
    uint64_t tail = atomic_load_relaxed_u64(&r->tail);
    for (uint32_t i = 0; i < nwords; i++)
        atomic_store_relaxed_u64(&r->words[(tail + i) & r->mask], 0);
    atomic_store_release_u64(&r->tail, tail + nwords); /* (D) pairs with (A) */
}

uint32_t ring_pop(struct ring *r, uint64_t *out)
{
    uint32_t n = ring_peek(r, out);
    if (n)
        ring_release(r, n);
    return n;
}

void ring_wait_for_data(struct ring *r, long timeout_ns)
{
    atomic_store_explicit(&r->consumer_sleeping, 1, memory_order_seq_cst);
    uint64_t tail = atomic_load_relaxed_u64(&r->tail);
    /* A producer that committed before our store above is seen here; one that commits after
     * it sees consumer_sleeping set and wakes us once the ring fills up. */
    if (atomic_load_explicit(&r->words[tail & r->mask], memory_order_seq_cst) == 0) {
        struct timespec ts = {timeout_ns / 1000000000L, timeout_ns % 1000000000L};
        syscall(SYS_futex, (int *)&r->consumer_sleeping, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
    }
    atomic_store_relaxed_int(&r->consumer_sleeping, 0);
}
