/* Unit tests for the analyzer's open-addressing live-block map (analyzer/live_map.h): the
 * return values and copies of put (insert / replace) and take (present / absent); the count;
 * growth through several doublings with every block kept; backward-shift deletion, checked by
 * a randomized differential test against a plain array (200k operations, fixed seed, key
 * spaces small enough that probe runs are long), with every live key taken and put back at
 * checkpoints; and live_map_each visiting exactly the live set, once each. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live_map.h"

static struct live_block block(uint64_t address, uint64_t size, uint32_t stack)
{
    struct live_block b = {address, size, stack, 0};
    return b;
}

static void assert_block(const struct live_block *b, uint64_t address, uint64_t size, uint32_t stack)
{
    assert_int_equal(b->address, address);
    assert_int_equal(b->size, size);
    assert_int_equal(b->stack, stack);
}

static void test_empty_map(void **state)
{
    (void)state;
    struct live_map m;
    live_map_init(&m);
    assert_int_equal(m.count, 0);
    assert_int_equal(m.capacity, 0);
    struct live_block out = block(7, 7, 7);
    assert_int_equal(live_map_take(&m, 0x1000, &out), -1);
    assert_block(&out, 7, 7, 7); /* untouched */
    live_map_free(&m);
    assert_int_equal(m.count, 0);
    assert_null(m.slots);
}

static void test_put_take_semantics(void **state)
{
    (void)state;
    struct live_map m;
    live_map_init(&m);
    struct live_block b = block(0x7f0000001000, 24, 3), old = block(1, 1, 1), out;

    assert_int_equal(live_map_put(&m, &b, &old), 0);
    assert_block(&old, 1, 1, 1); /* nothing replaced: untouched */
    assert_int_equal(m.count, 1);
    assert_int_equal(m.capacity, 1024);

    b = block(0x7f0000002000, 48, 4);
    assert_int_equal(live_map_put(&m, &b, NULL), 0);
    assert_int_equal(m.count, 2);

    /* replacing: returns 1 and hands back the old contents; the count stays */
    b = block(0x7f0000001000, 100, 9);
    assert_int_equal(live_map_put(&m, &b, &old), 1);
    assert_block(&old, 0x7f0000001000, 24, 3);
    assert_int_equal(m.count, 2);
    b = block(0x7f0000001000, 101, 10);
    assert_int_equal(live_map_put(&m, &b, NULL), 1); /* NULL allowed */
    assert_int_equal(m.count, 2);

    /* take: the newest contents, then absent */
    assert_int_equal(live_map_take(&m, 0x7f0000001000, &out), 0);
    assert_block(&out, 0x7f0000001000, 101, 10);
    assert_int_equal(m.count, 1);
    out = block(5, 5, 5);
    assert_int_equal(live_map_take(&m, 0x7f0000001000, &out), -1);
    assert_block(&out, 5, 5, 5);
    assert_int_equal(m.count, 1);
    assert_int_equal(live_map_take(&m, 0x7f0000003000, &out), -1);
    assert_int_equal(live_map_take(&m, 0, &out), -1); /* 0 is never live */
    assert_int_equal(m.count, 1);

    assert_int_equal(live_map_take(&m, 0x7f0000002000, &out), 0);
    assert_block(&out, 0x7f0000002000, 48, 4);
    assert_int_equal(m.count, 0);

    /* re-inserting after take is an insertion again */
    b = block(0x7f0000001000, 1, 1);
    assert_int_equal(live_map_put(&m, &b, &old), 0);
    assert_int_equal(m.count, 1);

    /* extreme values survive */
    b = block(UINT64_MAX, UINT64_MAX, UINT32_MAX);
    assert_int_equal(live_map_put(&m, &b, NULL), 0);
    b = block(1, 0, 0);
    assert_int_equal(live_map_put(&m, &b, NULL), 0);
    assert_int_equal(live_map_take(&m, UINT64_MAX, &out), 0);
    assert_block(&out, UINT64_MAX, UINT64_MAX, UINT32_MAX);
    assert_int_equal(live_map_take(&m, 1, &out), 0);
    assert_block(&out, 1, 0, 0);
    assert_int_equal(m.count, 1);
    live_map_free(&m);
    assert_int_equal(m.count, 0);
    assert_int_equal(m.capacity, 0);
}

/* Keys spread like real heap addresses (16-byte aligned, sequential) and like mmapped blocks. */
static uint64_t key_of(uint32_t i)
{
    return i % 2 ? 0x55550000a000ull + 16ull * i : 0x7f1200000000ull + ((uint64_t)i << 12);
}

static void test_growth_keeps_everything(void **state)
{
    (void)state;
    struct live_map m;
    live_map_init(&m);
    const uint32_t n = 40000; /* 1024 -> 2048 -> ... -> 262144 */
    size_t last_capacity = 0;
    unsigned doublings = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct live_block b = block(key_of(i), i + 1, i * 3);
        assert_int_equal(live_map_put(&m, &b, NULL), 0);
        assert_int_equal(m.count, i + 1);
        /* the load factor stays at most 1/4 */
        assert_true(4 * m.count <= m.capacity);
        if (m.capacity != last_capacity) {
            if (last_capacity) {
                assert_int_equal(m.capacity, 2 * last_capacity);
                doublings++;
            }
            last_capacity = m.capacity;
        }
    }
    assert_int_equal(doublings, 8);
    assert_int_equal(m.capacity, 262144);
    /* every key is still there after all the rehashing, with its contents */
    for (uint32_t i = 0; i < n; i++) {
        struct live_block b = block(key_of(i), 999, 999), old;
        if (live_map_put(&m, &b, &old) != 1)
            fail_msg("key %u lost after growth", i);
        assert_block(&old, key_of(i), i + 1, i * 3);
    }
    assert_int_equal(m.count, n);
    for (uint32_t i = 0; i < n; i += 2) {
        struct live_block out;
        assert_int_equal(live_map_take(&m, key_of(i), &out), 0);
        assert_block(&out, key_of(i), 999, 999);
    }
    assert_int_equal(m.count, n / 2);
    for (uint32_t i = 0; i < n; i++) {
        struct live_block out;
        assert_int_equal(live_map_take(&m, key_of(i), &out), i % 2 ? 0 : -1);
    }
    assert_int_equal(m.count, 0);
    live_map_free(&m);
}

/* The exact capacities: 1024 until the 257th block, then doubling at each 2^k + 1. */
static void test_growth_thresholds(void **state)
{
    (void)state;
    struct live_map m;
    live_map_init(&m);
    for (uint32_t i = 1; i <= 4097; i++) {
        struct live_block b = block(key_of(i), i, 0);
        assert_int_equal(live_map_put(&m, &b, NULL), 0);
        size_t expected = i <= 256    ? 1024
                          : i <= 512  ? 2048
                          : i <= 1024 ? 4096
                          : i <= 2048 ? 8192
                          : i <= 4096 ? 16384
                                      : 32768;
        if (m.capacity != expected)
            fail_msg("after %u blocks: capacity %zu, expected %zu", i, m.capacity, expected);
    }
    live_map_free(&m);
}

/* ---- differential test ---------------------------------------------------------------- */

struct reference {
    uint8_t *live;
    uint64_t *size;
    uint32_t *stack;
    size_t count;
};

struct visit {
    const struct reference *ref;
    uint8_t *seen;
    size_t visits, errors;
};

static uint32_t key_space_size;
static uint64_t *key_table;  /* the key space */
static uint64_t *key_sorted; /* the same, sorted, for index_of */
static uint32_t *key_sorted_index;

static uint64_t diff_key(uint32_t i) { return key_table[i]; }

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = key_table[*(const uint32_t *)a], y = key_table[*(const uint32_t *)b];
    return x < y ? -1 : x > y;
}

static void set_key_space(uint32_t n, uint64_t (*make)(uint32_t))
{
    key_space_size = n;
    key_table = calloc(n, sizeof *key_table);
    key_sorted = calloc(n, sizeof *key_sorted);
    key_sorted_index = calloc(n, sizeof *key_sorted_index);
    assert_non_null(key_table);
    assert_non_null(key_sorted);
    assert_non_null(key_sorted_index);
    for (uint32_t i = 0; i < n; i++) {
        key_table[i] = make(i);
        key_sorted_index[i] = i;
    }
    qsort(key_sorted_index, n, sizeof *key_sorted_index, compare_u64);
    for (uint32_t i = 0; i < n; i++)
        key_sorted[i] = key_table[key_sorted_index[i]];
    for (uint32_t i = 1; i < n; i++)
        assert_true(key_sorted[i - 1] < key_sorted[i]); /* distinct keys */
}

static void free_key_space(void)
{
    free(key_table);
    free(key_sorted);
    free(key_sorted_index);
    key_table = key_sorted = NULL;
    key_sorted_index = NULL;
}

static uint32_t index_of(uint64_t address)
{
    size_t lo = 0, hi = key_space_size;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (key_sorted[mid] < address)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < key_space_size && key_sorted[lo] == address ? key_sorted_index[lo] : UINT32_MAX;
}

static void visit_fn(const struct live_block *b, void *ctx)
{
    struct visit *v = ctx;
    v->visits++;
    uint32_t i = index_of(b->address);
    if (i == UINT32_MAX || !v->ref->live[i] || v->seen[i] || b->size != v->ref->size[i] ||
        b->stack != v->ref->stack[i]) {
        v->errors++;
        return;
    }
    v->seen[i] = 1;
}

/* live_map_each visits exactly the reference's live set, each block once, with its contents. */
static void check_each(const struct live_map *m, const struct reference *ref)
{
    struct visit v = {.ref = ref};
    v.seen = calloc(key_space_size, 1);
    assert_non_null(v.seen);
    live_map_each(m, visit_fn, &v);
    assert_int_equal(v.errors, 0);
    assert_int_equal(v.visits, ref->count);
    for (uint32_t i = 0; i < key_space_size; i++)
        assert_int_equal(v.seen[i], ref->live[i]);
    free(v.seen);
}

/* Every live key can be found (take), has its contents, and goes back in (put); absent keys
 * are absent. */
static void check_findable(struct live_map *m, const struct reference *ref)
{
    for (uint32_t i = 0; i < key_space_size; i++) {
        struct live_block out;
        int got = live_map_take(m, diff_key(i), &out);
        if (!ref->live[i]) {
            if (got != -1)
                fail_msg("key %u found but not live", i);
            continue;
        }
        if (got != 0)
            fail_msg("live key %u (%#llx) not found", i, (unsigned long long)diff_key(i));
        assert_block(&out, diff_key(i), ref->size[i], ref->stack[i]);
        assert_int_equal(live_map_put(m, &out, NULL), 0);
    }
    assert_int_equal(m->count, ref->count);
}

static uint64_t rng_state;
static uint64_t next_random(void)
{
    uint64_t x = rng_state += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* One phase: `ops` random operations over `keys` keys, put with probability put_percent. */
static void run_phase(struct live_map *m, struct reference *ref, uint32_t keys, unsigned put_percent,
                      uint32_t ops, uint64_t *op_counter)
{
    for (uint32_t n = 0; n < ops; n++, (*op_counter)++) {
        uint64_t r = next_random();
        uint32_t i = (uint32_t)(r % keys);
        uint64_t address = diff_key(i);
        if ((r >> 32) % 100 < put_percent) {
            struct live_block b = block(address, (r >> 40) + 1, (uint32_t)(*op_counter)), old;
            memset(&old, 0xa5, sizeof old);
            int got = live_map_put(m, &b, &old);
            if (got != (ref->live[i] ? 1 : 0))
                fail_msg("op %llu: put(%u) returned %d, live=%d", (unsigned long long)*op_counter,
                         i, got, ref->live[i]);
            if (ref->live[i])
                assert_block(&old, address, ref->size[i], ref->stack[i]);
            else
                ref->count++;
            ref->live[i] = 1;
            ref->size[i] = b.size;
            ref->stack[i] = b.stack;
        } else {
            struct live_block out;
            int got = live_map_take(m, address, &out);
            if (got != (ref->live[i] ? 0 : -1))
                fail_msg("op %llu: take(%u) returned %d, live=%d", (unsigned long long)*op_counter,
                         i, got, ref->live[i]);
            if (ref->live[i]) {
                assert_block(&out, address, ref->size[i], ref->stack[i]);
                ref->live[i] = 0;
                ref->count--;
            }
        }
        if (m->count != ref->count)
            fail_msg("op %llu: count %zu, expected %zu", (unsigned long long)*op_counter, m->count,
                     ref->count);
        if (*op_counter % 10000 == 9999) {
            check_each(m, ref);
            check_findable(m, ref);
        }
    }
}

/* 200k operations in four phases over a key space of `n` keys made by `make`. */
static void differential(uint32_t n, uint64_t (*make)(uint32_t), uint32_t small_phase_keys,
                         size_t small_phase_capacity)
{
    set_key_space(n, make);
    rng_state = 20240611;
    struct reference ref = {calloc(n, 1), calloc(n, 8), calloc(n, 4), 0};
    assert_non_null(ref.live);
    assert_non_null(ref.size);
    assert_non_null(ref.stack);
    struct live_map m;
    live_map_init(&m);
    uint64_t ops = 0;
    /* at most 500 live in 2048 slots: a load near the limit of 1/4, long probe runs (the
     * page-aligned and high-bit keys crowd), many shifts */
    run_phase(&m, &ref, small_phase_keys, 60, 60000, &ops);
    assert_int_equal(m.capacity, small_phase_capacity);
    /* grow (to 32768 slots with 6000 keys) while deleting */
    run_phase(&m, &ref, n, 75, 40000, &ops);
    /* churn near the load limit */
    run_phase(&m, &ref, n * 2 / 3, 52, 60000, &ops);
    /* drain almost everything */
    run_phase(&m, &ref, n, 10, 40000, &ops);
    assert_int_equal(ops, 200000);
    check_each(&m, &ref);
    check_findable(&m, &ref);
    /* and empty it completely */
    for (uint32_t i = 0; i < n; i++) {
        struct live_block out;
        assert_int_equal(live_map_take(&m, diff_key(i), &out), ref.live[i] ? 0 : -1);
    }
    assert_int_equal(m.count, 0);
    for (size_t s = 0; s < m.capacity; s++)
        assert_int_equal(m.slots[s].address, 0);
    live_map_free(&m);
    free(ref.live);
    free(ref.size);
    free(ref.stack);
    free_key_space();
}

static uint64_t heap_like(uint32_t i) { return 0x555555560000ull + 16ull * i; }
static uint64_t page_aligned(uint32_t i) { return 0x7f0000000000ull + 4096ull * i; }
/* Keys that differ only in bits 42 and up: with a multiplicative hash that keeps bits 32..41
 * of the product for 1024 slots, they can all share one home slot. */
static uint64_t high_bits(uint32_t i) { return (uint64_t)(i + 1) << 42; }

static void test_differential_heap_like(void **state)
{
    (void)state;
    differential(6000, heap_like, 500, 2048);
}

static void test_differential_page_aligned(void **state)
{
    (void)state;
    differential(6000, page_aligned, 500, 2048);
}

static void test_differential_high_bits(void **state)
{
    (void)state;
    differential(4000, high_bits, 500, 2048);
}

/* Probe runs that wrap around the end of the slot array. The home slot of a key is found by
 * putting it alone into an empty map of 1024 slots and looking where it landed; keys whose
 * home is among the last 24 or the first 8 slots make up the key space. */
#define WRAP_KEYS 250
static uint64_t wrap_keys[WRAP_KEYS];
static uint64_t wrap_key(uint32_t i) { return wrap_keys[i]; }

static void test_differential_wrapping_runs(void **state)
{
    (void)state;
    struct live_map m;
    live_map_init(&m);
    uint32_t found = 0, near_end = 0;
    for (uint64_t candidate = 0x555555560000ull; found < WRAP_KEYS; candidate += 16) {
        struct live_block b = block(candidate, 1, 0), out;
        assert_int_equal(live_map_put(&m, &b, NULL), 0);
        assert_int_equal(m.capacity, 1024);
        size_t home = SIZE_MAX;
        for (size_t s = 0; s < m.capacity; s++)
            if (m.slots[s].address == candidate)
                home = s;
        assert_int_equal(live_map_take(&m, candidate, &out), 0);
        if (home >= 1000 || home < 8) {
            wrap_keys[found++] = candidate;
            near_end += home >= 1000;
        }
    }
    live_map_free(&m);
    assert_true(near_end > WRAP_KEYS / 2);
    /* 250 keys, so at most 250 live: the table stays at 1024 slots (the growth phase has
     * nothing to grow with), and most of them crowd around the wrap point. */
    differential(WRAP_KEYS, wrap_key, WRAP_KEYS, 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_map),
        cmocka_unit_test(test_put_take_semantics),
        cmocka_unit_test(test_growth_keeps_everything),
        cmocka_unit_test(test_growth_thresholds),
        cmocka_unit_test(test_differential_heap_like),
        cmocka_unit_test(test_differential_page_aligned),
        cmocka_unit_test(test_differential_high_bits),
        cmocka_unit_test(test_differential_wrapping_runs),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
