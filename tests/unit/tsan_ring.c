/* Unit tests for the multi-producer, single-consumer record ring (shim/ring.h), built with
 * ThreadSanitizer: single-threaded FIFO order, contents and wrap-around (records straddling the
 * end of the array); ring_pop on an empty ring and on a reserved-but-uncommitted record; a
 * 4-producer stress through a small ring (every record exactly once, per-producer order,
 * payload checksums); the cross-thread order the shim relies on (a record reserved before a
 * release/acquire hand-off is popped before the record reserved after it); and the consumer's
 * wait: woken by a producer that fills a quarter of the ring, by ring_wake_consumer, or by a
 * record already there, and timing out otherwise. Two regression tests: a producer's view of
 * one ring's tail is never trusted for another ring; a small commit to a nearly empty ring
 * does not wake the consumer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ring.h"

#define MIN_CAPACITY (2 * (uint64_t)RING_MAX_RECORD_WORDS)

static uint64_t out[RING_MAX_RECORD_WORDS];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* The value of payload word i of the record tagged `tag`. */
static uint64_t word_value(uint64_t tag, uint32_t i) { return mix64(tag * 0x10001ull + i); }

static uint64_t tail_of(struct ring *r) { return atomic_load(&r->tail); }
static uint64_t head_of(struct ring *r) { return atomic_load(&r->head); }

/* Reserves, fills and commits one record of n words tagged `tag` (type 7, aux = tag). */
static uint64_t push(struct ring *r, uint32_t n, uint32_t tag)
{
    uint64_t pos = ring_reserve(r, n);
    for (uint32_t i = 1; i < n; i++)
        ring_put(r, pos, i, word_value(tag, i));
    ring_commit(r, pos, ring_header(7, n, tag));
    return pos;
}

/* Pops one record and checks that it is exactly the one push(n, tag) made, and that the tail
 * moved by exactly n words. */
static void pop_expect(struct ring *r, uint32_t n, uint32_t tag)
{
    uint64_t tail = tail_of(r);
    uint32_t got = ring_pop(r, out);
    assert_int_equal(got, n);
    assert_int_equal(out[0], ring_header(7, n, tag));
    assert_int_equal(ring_header_type(out[0]), 7);
    assert_int_equal(ring_header_words(out[0]), n);
    assert_int_equal(ring_header_aux(out[0]), tag);
    for (uint32_t i = 1; i < n; i++)
        if (out[i] != word_value(tag, i))
            fail_msg("record %u: word %u is %#llx, expected %#llx", tag, i,
                     (unsigned long long)out[i], (unsigned long long)word_value(tag, i));
    assert_int_equal(tail_of(r), tail + n);
}

/* ---- (a) single thread ------------------------------------------------------------------ */

static void test_header_helpers(void **state)
{
    (void)state;
    uint64_t h = ring_header(0xab, 0x123456, 0xdeadbeef);
    assert_int_equal(h, 0xdeadbeef12345600ull | 0xab);
    assert_int_equal(ring_header_type(h), 0xab);
    assert_int_equal(ring_header_words(h), 0x123456);
    assert_int_equal(ring_header_aux(h), 0xdeadbeef);
    assert_int_equal(ring_header_words(ring_header(1, RING_MAX_RECORD_WORDS, 0)),
                     RING_MAX_RECORD_WORDS);
}

static void test_init_rounds_capacity(void **state)
{
    (void)state;
    struct ring r;
    assert_int_equal(ring_init(&r, 1), 0);
    assert_int_equal(r.capacity, MIN_CAPACITY);
    assert_int_equal(r.mask, MIN_CAPACITY - 1);
    assert_int_equal(head_of(&r), 0);
    assert_int_equal(tail_of(&r), 0);
    ring_destroy(&r);
    assert_null((void *)r.words);

    assert_int_equal(ring_init(&r, 3 * MIN_CAPACITY), 0);
    assert_int_equal(r.capacity, 4 * MIN_CAPACITY);
    ring_destroy(&r);
    assert_int_equal(ring_init(&r, 4 * MIN_CAPACITY), 0);
    assert_int_equal(r.capacity, 4 * MIN_CAPACITY);
    ring_destroy(&r);
    assert_int_equal(ring_init(&r, 4 * MIN_CAPACITY + 1), 0);
    assert_int_equal(r.capacity, 8 * MIN_CAPACITY);
    ring_destroy(&r);
}

static void test_empty_and_fifo(void **state)
{
    (void)state;
    struct ring r;
    assert_int_equal(ring_init(&r, 64 * 65 / 2), 0); /* room for all 64 records at once */
    assert_int_equal(ring_pop(&r, out), 0);
    assert_int_equal(tail_of(&r), 0);

    /* lengths 1..64, then pop in the same order */
    uint64_t expected_pos = 0;
    for (uint32_t n = 1; n <= 64; n++) {
        assert_int_equal(push(&r, n, 1000 + n), expected_pos);
        expected_pos += n;
    }
    assert_int_equal(head_of(&r), 64 * 65 / 2);
    for (uint32_t n = 1; n <= 64; n++)
        pop_expect(&r, n, 1000 + n);
    assert_int_equal(ring_pop(&r, out), 0);
    assert_int_equal(tail_of(&r), 64 * 65 / 2);

    /* the consumer zeroes what it popped: the whole array reads zero again */
    for (uint64_t i = 0; i < r.capacity; i++)
        if (atomic_load(&r.words[i]))
            fail_msg("word %llu not zeroed after pop", (unsigned long long)i);

    /* the largest record allowed */
    push(&r, RING_MAX_RECORD_WORDS, 77);
    pop_expect(&r, RING_MAX_RECORD_WORDS, 77);
    assert_int_equal(ring_pop(&r, out), 0);
    ring_destroy(&r);
}

static void test_uncommitted_blocks_pop(void **state)
{
    (void)state;
    struct ring r;
    assert_int_equal(ring_init(&r, 0), 0);

    uint64_t x = ring_reserve(&r, 5);
    assert_int_equal(x, 0);
    ring_put(&r, x, 1, 11);
    assert_int_equal(ring_pop(&r, out), 0);
    assert_int_equal(tail_of(&r), 0);

    /* a later record, committed first, must wait behind the uncommitted one */
    uint64_t y = push(&r, 3, 42);
    assert_int_equal(y, 5);
    assert_int_equal(ring_pop(&r, out), 0);
    assert_int_equal(tail_of(&r), 0);

    for (uint32_t i = 1; i < 5; i++)
        ring_put(&r, x, i, word_value(41, i));
    ring_commit(&r, x, ring_header(7, 5, 41));
    pop_expect(&r, 5, 41);
    pop_expect(&r, 3, 42);
    assert_int_equal(ring_pop(&r, out), 0);
    assert_int_equal(tail_of(&r), 8);
    ring_destroy(&r);
}

/* Pushes and pops filler records until the head is at `target`. */
static uint32_t advance_to(struct ring *r, uint64_t target, uint32_t tag)
{
    while (head_of(r) < target) {
        uint64_t left = target - head_of(r);
        uint32_t n = left > RING_MAX_RECORD_WORDS ? RING_MAX_RECORD_WORDS : (uint32_t)left;
        push(r, n, tag);
        pop_expect(r, n, tag++);
    }
    assert_int_equal(head_of(r), target);
    return tag;
}

/* Records placed exactly at the end of the array: ending on the last word, header on the last
 * word with the payload at indexes 0 and 1, and straddling the end by 7 words with records
 * queued behind it; three times over. */
static void test_wrap_exact_positions(void **state)
{
    (void)state;
    struct ring r;
    assert_int_equal(ring_init(&r, 0), 0);
    uint64_t cap = r.capacity;
    uint32_t tag = 1;

    for (int lap = 0; lap < 3; lap++) {
        uint64_t base = (uint64_t)lap * 4 * cap;
        tag = advance_to(&r, base, tag);

        /* a record ending exactly on the last word of the array */
        tag = advance_to(&r, base + cap - 10, tag);
        assert_int_equal(push(&r, 10, tag), base + cap - 10);
        assert_int_equal(atomic_load(&r.words[cap - 10]), ring_header(7, 10, tag));
        assert_int_equal(atomic_load(&r.words[cap - 1]), word_value(tag, 9));
        assert_int_equal(atomic_load(&r.words[0]), 0);
        pop_expect(&r, 10, tag++);

        /* the header on the last word, the payload at indexes 0 and 1 */
        tag = advance_to(&r, base + 2 * cap - 1, tag);
        assert_int_equal(push(&r, 3, tag), base + 2 * cap - 1);
        assert_int_equal(atomic_load(&r.words[cap - 1]), ring_header(7, 3, tag));
        assert_int_equal(atomic_load(&r.words[0]), word_value(tag, 1));
        assert_int_equal(atomic_load(&r.words[1]), word_value(tag, 2));
        pop_expect(&r, 3, tag++);
        assert_int_equal(atomic_load(&r.words[cap - 1]), 0);
        assert_int_equal(atomic_load(&r.words[0]), 0);
        assert_int_equal(atomic_load(&r.words[1]), 0);

        /* straddling by 7 words, with two more records queued behind it */
        tag = advance_to(&r, base + 3 * cap - 5, tag);
        assert_int_equal(push(&r, 12, tag), base + 3 * cap - 5);
        assert_int_equal(push(&r, 1, tag + 1), base + 3 * cap + 7);
        assert_int_equal(push(&r, 40, tag + 2), base + 3 * cap + 8);
        assert_int_equal(atomic_load(&r.words[6]), word_value(tag, 11));
        assert_int_equal(atomic_load(&r.words[7]), ring_header(7, 1, tag + 1));
        pop_expect(&r, 12, tag);
        pop_expect(&r, 1, tag + 1);
        pop_expect(&r, 40, tag + 2);
        tag += 3;
        assert_int_equal(ring_pop(&r, out), 0);
        assert_int_equal(tail_of(&r), base + 3 * cap + 48);
    }
    ring_destroy(&r);
}

/* Random lengths, many laps, up to a few hundred records outstanding; a record's contents are
 * derived from its sequence number. Counts how many records straddled the end. */
static void test_wrap_random(void **state)
{
    (void)state;
    struct ring r;
    assert_int_equal(ring_init(&r, 0), 0);
    enum { MAX_OUTSTANDING = 512 };
    uint32_t lens[MAX_OUTSTANDING];
    uint32_t first = 0, next = 0; /* sequence numbers: [first, next) outstanding */
    uint64_t outstanding_words = 0, straddles = 0;
    uint64_t rng = 12345;
    while (head_of(&r) < 12 * r.capacity) {
        rng = mix64(rng);
        uint32_t n;
        switch (rng % 16) {
        case 0: n = 1; break;
        case 1: n = RING_MAX_RECORD_WORDS - (uint32_t)(rng >> 20) % 1000; break;
        case 2: n = 1 + (uint32_t)(rng >> 20) % 8000; break;
        default: n = 1 + (uint32_t)(rng >> 20) % 300; break;
        }
        int room = outstanding_words + n <= r.capacity && next - first < MAX_OUTSTANDING;
        if (room && (rng >> 8) % 3 != 0) {
            uint64_t pos = push(&r, n, next);
            if ((pos & r.mask) + n > r.capacity)
                straddles++;
            lens[next % MAX_OUTSTANDING] = n;
            next++;
            outstanding_words += n;
        } else if (first != next) {
            pop_expect(&r, lens[first % MAX_OUTSTANDING], first);
            outstanding_words -= lens[first % MAX_OUTSTANDING];
            first++;
        }
    }
    while (first != next) {
        pop_expect(&r, lens[first % MAX_OUTSTANDING], first);
        first++;
    }
    assert_int_equal(ring_pop(&r, out), 0);
    assert_int_equal(tail_of(&r), head_of(&r));
    assert_true(straddles >= 10);
    ring_destroy(&r);
}

/* A producer that does not fit waits on the full ring until the consumer frees room, then gets
 * the position right after the records already there. */
struct full_ctx {
    struct ring *r;
    _Atomic int reserved;
    uint64_t pos;
};

static void *reserve_on_full_ring(void *arg)
{
    struct full_ctx *c = arg;
    c->pos = ring_reserve(c->r, 100);
    atomic_store(&c->reserved, 1);
    for (uint32_t i = 1; i < 100; i++)
        ring_put(c->r, c->pos, i, word_value(999, i));
    ring_commit(c->r, c->pos, ring_header(7, 100, 999));
    return NULL;
}

static void test_full_ring_waits(void **state)
{
    (void)state;
    struct ring r;
    assert_int_equal(ring_init(&r, 0), 0);
    /* fill to exactly capacity - 50 words */
    push(&r, RING_MAX_RECORD_WORDS, 1);
    push(&r, (uint32_t)(r.capacity - 50 - RING_MAX_RECORD_WORDS - 60), 2);
    push(&r, 60, 3);
    struct full_ctx c = {.r = &r};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reserve_on_full_ring, &c), 0);
    sleep_ms(100);
    assert_int_equal(atomic_load(&c.reserved), 0); /* 100 words do not fit in 50 */
    pop_expect(&r, RING_MAX_RECORD_WORDS, 1);
    pop_expect(&r, (uint32_t)(r.capacity - 50 - RING_MAX_RECORD_WORDS - 60), 2);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(atomic_load(&c.reserved), 1);
    assert_int_equal(c.pos, r.capacity - 50);
    pop_expect(&r, 60, 3);
    pop_expect(&r, 100, 999);
    assert_int_equal(ring_pop(&r, out), 0);
    ring_destroy(&r);
}

/* ---- (b) multi-producer stress -------------------------------------------------------- */

#define PRODUCERS 4
#define RECORDS_PER_PRODUCER 200000u

/* Record layout: header aux = producer << 24 | seq (seq < 2^24), payload words random, the last
 * word (when n >= 2) a checksum of the header and the other payload words. The length is a
 * function of (producer, seq), so the consumer knows what to expect. */
static uint32_t stress_len(unsigned producer, uint32_t seq)
{
    return 1 + (uint32_t)(mix64((uint64_t)producer << 32 | seq) % 40);
}

static uint64_t checksum(const uint64_t *words, uint32_t count)
{
    uint64_t h = 0x6a09e667f3bcc908ull;
    for (uint32_t i = 0; i < count; i++)
        h = mix64(h ^ words[i]) + i;
    return h;
}

struct producer_ctx {
    struct ring *r;
    unsigned id;
    _Atomic int *go;
    int try_reserve;   /* reserve with ring_try_reserve, retrying while the ring is full */
    uint64_t refusals; /* the times ring_try_reserve found no room */
};

static void *stress_producer(void *arg)
{
    struct producer_ctx *c = arg;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (c->id + 1);
    uint64_t words[41];
    while (!atomic_load_explicit(c->go, memory_order_acquire))
        sched_yield();
    for (uint32_t seq = 0; seq < RECORDS_PER_PRODUCER; seq++) {
        uint32_t n = stress_len(c->id, seq);
        words[0] = ring_header(1 + c->id, n, (uint32_t)c->id << 24 | seq);
        for (uint32_t i = 1; i + 1 < n; i++)
            words[i] = rng = mix64(rng);
        if (n >= 2)
            words[n - 1] = checksum(words, n - 1);
        uint64_t pos;
        if (!c->try_reserve)
            pos = ring_reserve(c->r, n);
        else
            while (!ring_try_reserve(c->r, n, &pos)) {
                c->refusals++;
                sched_yield();
            }
        for (uint32_t i = 1; i < n; i++)
            ring_put(c->r, pos, i, words[i]);
        ring_commit(c->r, pos, words[0]);
    }
    return NULL;
}

/* PRODUCERS threads, the odd ones reserving with ring_try_reserve when `try_producers`: every
 * record arrives once, whole and in each producer's order, and the ring was full at times. */
static void run_stress(int try_producers)
{
    struct ring r;
    assert_int_equal(ring_init(&r, 0), 0); /* the smallest ring: 2^17 words */
    _Atomic int go = 0;
    struct producer_ctx ctx[PRODUCERS];
    pthread_t threads[PRODUCERS];
    uint64_t expected_words = 0;
    for (unsigned p = 0; p < PRODUCERS; p++) {
        ctx[p] = (struct producer_ctx){&r, p, &go, try_producers && p % 2, 0};
        for (uint32_t s = 0; s < RECORDS_PER_PRODUCER; s++)
            expected_words += stress_len(p, s);
        assert_int_equal(pthread_create(&threads[p], NULL, stress_producer, &ctx[p]), 0);
    }
    /* the ring must have been full at times for the test to mean anything */
    assert_true(expected_words > 20 * r.capacity);
    atomic_store_explicit(&go, 1, memory_order_release);

    uint32_t next_seq[PRODUCERS] = {0};
    uint64_t records = 0, words = 0, errors = 0, empty_polls = 0;
    char first_error[200] = "";
    uint64_t deadline = now_ns() + 120ull * 1000000000ull;
    uint64_t seen_full = 0; /* times head - tail exceeded the capacity: producers waiting */
    while (records < (uint64_t)PRODUCERS * RECORDS_PER_PRODUCER && now_ns() < deadline) {
        uint32_t n = ring_pop(&r, out);
        if (!n) {
            if (++empty_polls % 64 == 0)
                ring_wait_for_data(&r, 1000000L);
            continue;
        }
        if (records % 100000 == 0 && records < 600000) {
            /* stall the consumer now and then so that the ring fills up */
            sleep_ms(30);
            if (head_of(&r) - tail_of(&r) > r.capacity)
                seen_full++;
        }
        records++;
        words += n;
        unsigned producer = ring_header_type(out[0]) - 1;
        uint32_t aux = ring_header_aux(out[0]);
        uint32_t seq = aux & 0xffffff;
        const char *bad = NULL;
        if (producer >= PRODUCERS || aux >> 24 != producer)
            bad = "producer id";
        else if (seq != next_seq[producer])
            bad = "sequence (lost, duplicated or reordered record)";
        else if (n != stress_len(producer, seq) || ring_header_words(out[0]) != n)
            bad = "length";
        else if (n >= 2 && out[n - 1] != checksum(out, n - 1))
            bad = "payload checksum";
        if (bad) {
            if (!errors++)
                snprintf(first_error, sizeof first_error,
                         "record %llu (producer %u, seq %u, expected seq %u, %u words): bad %s",
                         (unsigned long long)records, producer, seq,
                         producer < PRODUCERS ? next_seq[producer] : 0, n, bad);
            if (producer < PRODUCERS && seq >= next_seq[producer])
                next_seq[producer] = seq + 1;
        } else {
            next_seq[producer]++;
        }
    }
    for (unsigned p = 0; p < PRODUCERS; p++)
        assert_int_equal(pthread_join(threads[p], NULL), 0);
    if (errors)
        fail_msg("%llu bad records; first: %s", (unsigned long long)errors, first_error);
    assert_int_equal(records, (uint64_t)PRODUCERS * RECORDS_PER_PRODUCER);
    for (unsigned p = 0; p < PRODUCERS; p++)
        assert_int_equal(next_seq[p], RECORDS_PER_PRODUCER);
    assert_int_equal(words, expected_words);
    assert_true(seen_full > 0);
    assert_int_equal(ring_pop(&r, out), 0);
    assert_int_equal(head_of(&r), expected_words);
    assert_int_equal(tail_of(&r), expected_words);
    if (try_producers) /* the refusals happened: a try never took room the ring lacked */
        assert_true(ctx[1].refusals + ctx[3].refusals > 0);
    ring_destroy(&r);
}

static void test_multi_producer_stress(void **state)
{
    (void)state;
    run_stress(0);
}

/* ring_try_reserve beside ring_reserve: a compare-and-swap on the head that gives up while the
 * ring is full, for a signal handler that interrupted a producer (shim/record.c). */
static void test_try_reserve_stress(void **state)
{
    (void)state;
    run_stress(1);
}

/* ---- (c) order across threads ---------------------------------------------------------- */

#define ORDER_ROUNDS 20000u

/* X: the free, recorded before the real free; Y: the allocation that reuses the address,
 * recorded after the real malloc returned. A hands the address to B with release/acquire. When
 * `late_commit`, A commits X only after the hand-off (as a realloc, reserved before the real
 * call and committed after it): the ring order still follows the reservations. */
struct order_ctx {
    struct ring *r;
    int late_commit;
    _Atomic uint32_t handed_off; /* round + 1 once A reserved X of that round */
    _Atomic uint32_t b_done;     /* round + 1 once B committed Y of that round */
};

enum { TYPE_X = 10, TYPE_Y = 11, TYPE_NOISE = 12 };

static void *order_a(void *arg)
{
    struct order_ctx *c = arg;
    for (uint32_t k = 0; k < ORDER_ROUNDS; k++) {
        /* one round at a time, so that rounds do not pile up in the ring */
        while (atomic_load_explicit(&c->b_done, memory_order_acquire) != k)
            sched_yield();
        uint32_t n = 2 + k % 5;
        uint64_t pos = ring_reserve(c->r, n);
        for (uint32_t i = 1; i < n; i++)
            ring_put(c->r, pos, i, k);
        if (!c->late_commit)
            ring_commit(c->r, pos, ring_header(TYPE_X, n, k));
        atomic_store_explicit(&c->handed_off, k + 1, memory_order_release);
        if (c->late_commit) {
            if (k % 8 == 0)
                sched_yield(); /* let B commit first, often */
            ring_commit(c->r, pos, ring_header(TYPE_X, n, k));
        }
    }
    return NULL;
}

static void *order_b(void *arg)
{
    struct order_ctx *c = arg;
    for (uint32_t k = 0; k < ORDER_ROUNDS; k++) {
        while (atomic_load_explicit(&c->handed_off, memory_order_acquire) != k + 1)
            sched_yield();
        uint32_t n = 2 + (k * 7) % 3;
        uint64_t pos = ring_reserve(c->r, n);
        for (uint32_t i = 1; i < n; i++)
            ring_put(c->r, pos, i, k);
        ring_commit(c->r, pos, ring_header(TYPE_Y, n, k));
        atomic_store_explicit(&c->b_done, k + 1, memory_order_release);
    }
    return NULL;
}

struct noise_ctx {
    struct ring *r;
    _Atomic int *stop;
    uint64_t count;
};

static void *order_noise(void *arg)
{
    struct noise_ctx *c = arg;
    while (!atomic_load_explicit(c->stop, memory_order_acquire)) {
        uint32_t n = 1 + (uint32_t)(c->count % 9);
        uint64_t pos = ring_reserve(c->r, n);
        for (uint32_t i = 1; i < n; i++)
            ring_put(c->r, pos, i, c->count);
        ring_commit(c->r, pos, ring_header(TYPE_NOISE, n, (uint32_t)c->count));
        c->count++;
        if (c->count % 16 == 0)
            sched_yield();
    }
    return NULL;
}

static void run_order_test(int late_commit)
{
    struct ring r;
    assert_int_equal(ring_init(&r, 0), 0);
    struct order_ctx c = {.r = &r, .late_commit = late_commit};
    _Atomic int stop = 0;
    struct noise_ctx noise = {.r = &r, .stop = &stop};
    pthread_t a, b, z;
    assert_int_equal(pthread_create(&z, NULL, order_noise, &noise), 0);
    assert_int_equal(pthread_create(&a, NULL, order_a, &c), 0);
    assert_int_equal(pthread_create(&b, NULL, order_b, &c), 0);

    uint32_t next_x = 0, next_y = 0;
    uint64_t noise_seen = 0, errors = 0;
    char first_error[160] = "";
    uint64_t deadline = now_ns() + 120ull * 1000000000ull;
    while (next_y < ORDER_ROUNDS && now_ns() < deadline) {
        uint32_t n = ring_pop(&r, out);
        if (!n) {
            sched_yield();
            continue;
        }
        unsigned type = ring_header_type(out[0]);
        uint32_t k = ring_header_aux(out[0]);
        const char *bad = NULL;
        if (type == TYPE_NOISE) {
            if (k != (uint32_t)noise_seen)
                bad = "noise record out of order";
            noise_seen++;
        } else if (type == TYPE_X) {
            if (k != next_x)
                bad = "X out of order";
            else if (next_y != k)
                bad = "X popped after Y of its round";
            next_x = k + 1;
        } else if (type == TYPE_Y) {
            if (k != next_y)
                bad = "Y out of order";
            else if (next_x != k + 1)
                bad = "Y popped before X of its round";
            next_y = k + 1;
        } else {
            bad = "unknown record type";
        }
        for (uint32_t i = 1; i < n && !bad; i++)
            if (type != TYPE_NOISE && out[i] != k)
                bad = "payload";
        if (bad && !errors++)
            snprintf(first_error, sizeof first_error, "type %u round %u: %s", type, k, bad);
    }
    atomic_store_explicit(&stop, 1, memory_order_release);
    assert_int_equal(pthread_join(a, NULL), 0);
    assert_int_equal(pthread_join(b, NULL), 0);
    assert_int_equal(pthread_join(z, NULL), 0);
    if (errors)
        fail_msg("%llu ordering errors; first: %s", (unsigned long long)errors, first_error);
    assert_int_equal(next_x, ORDER_ROUNDS);
    assert_int_equal(next_y, ORDER_ROUNDS);
    /* drain the noise that is left: all of it, in order */
    for (uint32_t n; (n = ring_pop(&r, out)) != 0;) {
        assert_int_equal(ring_header_type(out[0]), TYPE_NOISE);
        assert_int_equal(ring_header_aux(out[0]), (uint32_t)noise_seen);
        noise_seen++;
    }
    assert_int_equal(noise_seen, noise.count);
    assert_int_equal(tail_of(&r), head_of(&r));
    ring_destroy(&r);
}

static void test_order_commit_before_handoff(void **state)
{
    (void)state;
    run_order_test(0);
}

static void test_order_commit_after_handoff(void **state)
{
    (void)state;
    run_order_test(1);
}

/* ---- (d) the consumer's wait ----------------------------------------------------------- */

struct waker_ctx {
    struct ring *r;
    uint32_t words;    /* how much to commit once the consumer sleeps */
    long delay_ms;     /* after seeing the consumer asleep */
    int explicit_wake; /* call ring_wake_consumer instead of committing */
    uint64_t done_ns;
};

static void *waker(void *arg)
{
    struct waker_ctx *c = arg;
    while (!atomic_load(&c->r->consumer_sleeping))
        sched_yield();
    sleep_ms(c->delay_ms);
    if (c->explicit_wake) {
        ring_wake_consumer(c->r);
    } else {
        uint32_t left = c->words, tag = 0;
        while (left) {
            uint32_t n = left > 1000 ? 1000 : left;
            push(c->r, n, tag++);
            left -= n;
        }
    }
    c->done_ns = now_ns();
    return NULL;
}

/* Runs ring_wait_for_data(timeout) in this thread while a fresh thread acts per `c`. Returns
 * the time the wait took, in ms. */
static uint64_t timed_wait(struct waker_ctx *c, long timeout_ns, int with_waker)
{
    pthread_t t;
    if (with_waker)
        assert_int_equal(pthread_create(&t, NULL, waker, c), 0);
    uint64_t t0 = now_ns();
    ring_wait_for_data(c->r, timeout_ns);
    uint64_t elapsed = now_ns() - t0;
    if (with_waker)
        assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(atomic_load(&c->r->consumer_sleeping), 0);
    return elapsed / 1000000u;
}

static void test_wait_times_out_on_empty_ring(void **state)
{
    (void)state;
    struct ring r;
    assert_int_equal(ring_init(&r, 0), 0);
    struct waker_ctx c = {.r = &r};
    uint64_t ms = timed_wait(&c, 300 * 1000000L, 0);
    assert_true(ms >= 250);
    assert_true(ms < 3000);
    ring_destroy(&r);
}

static void test_wait_returns_at_once_with_data(void **state)
{
    (void)state;
    struct ring r;
    assert_int_equal(ring_init(&r, 0), 0);
    push(&r, 2, 5);
    struct waker_ctx c = {.r = &r};
    uint64_t ms = timed_wait(&c, 5000 * 1000000L, 0);
    assert_true(ms < 1000);
    pop_expect(&r, 2, 5);
    ring_destroy(&r);
}

static void test_wait_woken_by_quarter_full_ring(void **state)
{
    (void)state;
    struct ring r;
    assert_int_equal(ring_init(&r, 0), 0);
    /* a fresh producer thread; a bit more than a quarter of the ring */
    struct waker_ctx c = {.r = &r, .words = (uint32_t)(r.capacity / 4 + 2), .delay_ms = 100};
    uint64_t t0 = now_ns();
    uint64_t ms = timed_wait(&c, 5000 * 1000000L, 1);
    assert_true(ms >= 90);   /* it did sleep until the producer came */
    assert_true(ms < 2500);  /* and was woken well before the 5 s timeout */
    assert_true(c.done_ns > t0);
    assert_int_not_equal(ring_pop(&r, out), 0);
    ring_destroy(&r);
}

static void test_wait_woken_explicitly(void **state)
{
    (void)state;
    struct ring r;
    assert_int_equal(ring_init(&r, 0), 0);
    struct waker_ctx c = {.r = &r, .explicit_wake = 1, .delay_ms = 100};
    uint64_t ms = timed_wait(&c, 5000 * 1000000L, 1);
    assert_true(ms >= 90);
    assert_true(ms < 2500);
    assert_int_equal(ring_pop(&r, out), 0);
    ring_destroy(&r);
}

/* A small commit while the consumer sleeps does not wake it: it waits out its timeout (the
 * record is then there to pop). */
static void test_wait_small_commit_does_not_wake(void **state)
{
    (void)state;
    struct ring r;
    assert_int_equal(ring_init(&r, 0), 0);
    struct waker_ctx c = {.r = &r, .words = 10, .delay_ms = 50};
    uint64_t ms = timed_wait(&c, 600 * 1000000L, 1);
    assert_true(ms >= 500);
    assert_true(ms < 3000);
    pop_expect(&r, 10, 0);
    ring_destroy(&r);
}

/* ---- regressions: producers' views of the tail ----------------------------------------- */

/* ring.c once kept the producer's last view of the tail in ONE thread-local variable for
 * every ring. A thread that saw tail == 100 on one ring then believes a second, fresh ring has 100
 * more words of room than it has, and overwrites the oldest unconsumed record instead of
 * waiting. In the shim this is the forked child: writer_forget_after_fork + writer_start
 * re-create writer_ring while the forking thread keeps the parent's view. */
static struct ring ring_a, ring_b;
static _Atomic int reinit_done;

static void *reinit_producer(void *arg)
{
    (void)arg;
    push(&ring_a, 100, 1);
    while (tail_of(&ring_a) != 100)
        sched_yield();
    push(&ring_a, RING_MAX_RECORD_WORDS, 2);
    push(&ring_a, (uint32_t)(ring_a.capacity - 100 - RING_MAX_RECORD_WORDS), 3);
    push(&ring_a, 50, 4); /* the slow path: this thread's cached tail becomes 100 */
    /* the same thread on a fresh ring: fill it exactly, then one more must wait */
    push(&ring_b, RING_MAX_RECORD_WORDS, 5);
    push(&ring_b, RING_MAX_RECORD_WORDS, 6);
    push(&ring_b, 50, 7);
    atomic_store(&reinit_done, 1);
    return NULL;
}

static void test_tail_view_is_per_ring(void **state)
{
    (void)state;
    assert_int_equal(ring_init(&ring_a, 0), 0);
    assert_int_equal(ring_init(&ring_b, 0), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reinit_producer, NULL), 0);
    while (ring_pop(&ring_a, out) == 0)
        sched_yield();
    assert_int_equal(ring_header_aux(out[0]), 1);
    sleep_ms(200);
    int finished_on_full_ring = atomic_load(&reinit_done);
    uint32_t tags[3] = {0}, lens[3] = {0};
    for (int i = 0; i < 3; i++) {
        uint32_t n;
        while ((n = ring_pop(&ring_b, out)) == 0)
            sched_yield();
        tags[i] = ring_header_aux(out[0]);
        lens[i] = n;
        if (i == 0 && tags[0] != 5)
            break; /* overwritten: what follows in the ring is garbage, do not pop it */
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    /* expected: the third push waited for the consumer; records 5, 6, 7 intact */
    if (finished_on_full_ring)
        fail_msg("the producer did not wait on the full ring; the new ring's first record is "
                 "record %u of %u words, expected record 5 of %u words",
                 tags[0], lens[0], RING_MAX_RECORD_WORDS);
    assert_int_equal(tags[0], 5);
    assert_int_equal(lens[0], RING_MAX_RECORD_WORDS);
    assert_int_equal(tags[1], 6);
    assert_int_equal(tags[2], 7);
    assert_int_equal(lens[2], 50);
    ring_destroy(&ring_a);
    ring_destroy(&ring_b);
}

/* ring.h: "a producer that finds the ring a quarter full while the consumer sleeps wakes it".
 * ring_commit compares the record's position with the producer's cached tail, which stays 0
 * for a thread that never waited; once the head has passed a quarter of the capacity, every
 * commit wakes a sleeping consumer (a FUTEX_WAKE in the allocation path), however empty the
 * ring is. */
static struct ring wake_ring;
static _Atomic int wake_phase;

static void *wake_producer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++) { /* 100000 words, each record consumed at once */
        push(&wake_ring, 10, (uint32_t)i);
        while (tail_of(&wake_ring) != head_of(&wake_ring))
            sched_yield();
    }
    atomic_store(&wake_phase, 1);
    while (!atomic_load(&wake_ring.consumer_sleeping))
        sched_yield();
    sleep_ms(50);
    push(&wake_ring, 2, 0); /* one small record in an empty ring */
    return NULL;
}

static void test_small_commit_does_not_wake(void **state)
{
    (void)state;
    assert_int_equal(ring_init(&wake_ring, 0), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wake_producer, NULL), 0);
    while (!atomic_load(&wake_phase))
        ring_pop(&wake_ring, out);
    while (ring_pop(&wake_ring, out))
        ;
    uint64_t t0 = now_ns();
    ring_wait_for_data(&wake_ring, 600 * 1000000L);
    uint64_t ms = (now_ns() - t0) / 1000000u;
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(ms >= 500); /* as on a fresh ring (test_wait_small_commit_does_not_wake) */
    ring_destroy(&wake_ring);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_helpers),
        cmocka_unit_test(test_init_rounds_capacity),
        cmocka_unit_test(test_empty_and_fifo),
        cmocka_unit_test(test_uncommitted_blocks_pop),
        cmocka_unit_test(test_wrap_exact_positions),
        cmocka_unit_test(test_wrap_random),
        cmocka_unit_test(test_full_ring_waits),
        cmocka_unit_test(test_multi_producer_stress),
        cmocka_unit_test(test_try_reserve_stress),
        cmocka_unit_test(test_order_commit_before_handoff),
        cmocka_unit_test(test_order_commit_after_handoff),
        cmocka_unit_test(test_wait_times_out_on_empty_ring),
        cmocka_unit_test(test_wait_returns_at_once_with_data),
        cmocka_unit_test(test_wait_woken_by_quarter_full_ring),
        cmocka_unit_test(test_wait_woken_explicitly),
        cmocka_unit_test(test_wait_small_commit_does_not_wake),
        cmocka_unit_test(test_tail_view_is_per_ring),
        cmocka_unit_test(test_small_commit_does_not_wake),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
