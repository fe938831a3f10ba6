/* Unit tests for grouping and ranking (analyzer/suspects.c) on a replay fed with hand-made
 * records: outstanding blocks are grouped by stack, suspects are ordered by leaked bytes, then
 * blocks, then stack id; --top keeps the first N but `total` counts all; without growth the
 * score is 0.49 x the share of all leaked bytes; stacks whose blocks were all freed are not
 * suspects; a realloc moves the block to the realloc's stack; frames without a module stay
 * unsymbolized. With time stamps: a steadily growing stack outranks a larger plateau, a
 * faster leak a slower one, each sort order holds, and windows by time and by mark count
 * only the blocks allocated inside them and still outstanding at their end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "replay.h"
#include "suspects.h"

static struct trace_record rec;

static void apply(struct replay *r)
{
    char error[128];
    assert_int_equal(replay_apply(r, &rec, error, sizeof error), 0);
}

static void stack(struct replay *r, uint32_t id, uint64_t first_frame)
{
    memset(&rec, 0, sizeof rec);
    rec.type = TRACE_REC_STACK;
    rec.u.stack.id = id;
    rec.u.stack.depth = 2;
    rec.u.stack.frames[0] = first_frame;
    rec.u.stack.frames[1] = 0x999;
    apply(r);
}

static void alloc(struct replay *r, uint64_t address, uint64_t size, uint32_t stack_id)
{
    memset(&rec, 0, sizeof rec);
    rec.type = TRACE_REC_ALLOC;
    rec.u.alloc.address = address;
    rec.u.alloc.size = size;
    rec.u.alloc.stack = stack_id;
    apply(r);
}

static void free_block(struct replay *r, uint64_t address)
{
    memset(&rec, 0, sizeof rec);
    rec.type = TRACE_REC_FREE;
    rec.u.free.address = address;
    apply(r);
}

static void at_time(struct replay *r, uint64_t ms)
{
    memset(&rec, 0, sizeof rec);
    rec.type = TRACE_REC_TIME;
    rec.u.time.ns = ms * 1000000;
    apply(r);
}

static void mark(struct replay *r, uint64_t ms, const char *name)
{
    memset(&rec, 0, sizeof rec);
    rec.type = TRACE_REC_MARK;
    rec.u.mark.ns = ms * 1000000;
    rec.u.mark.origin = TRACE_MARK_CALL;
    snprintf(rec.u.mark.name, sizeof rec.u.mark.name, "%s", name);
    apply(r);
}

static void realloc_block(struct replay *r, uint64_t old, uint64_t address, uint64_t size, uint32_t stack_id)
{
    memset(&rec, 0, sizeof rec);
    rec.type = TRACE_REC_REALLOC;
    rec.old_address = old;
    rec.u.alloc.address = address;
    rec.u.alloc.size = size;
    rec.u.alloc.stack = stack_id;
    apply(r);
}

/* Stacks: 0 leaks 3 x 100, 1 leaks 1 x 300 (same bytes, fewer blocks), 2 leaks 500,
 * 3 frees everything, 4 gets a block by realloc from stack 3. */
static void build(struct replay *r)
{
    assert_int_equal(replay_init(r), 0);
    for (uint32_t id = 0; id < 5; id++)
        stack(r, id, 0x1000 + id);
    for (uint64_t i = 0; i < 3; i++)
        alloc(r, 0x10000 + 16 * i, 100, 0);
    alloc(r, 0x20000, 300, 1);
    alloc(r, 0x30000, 500, 2);
    for (uint64_t i = 0; i < 10; i++) {
        alloc(r, 0x40000 + 16 * i, 64, 3);
        free_block(r, 0x40000 + 16 * i);
    }
    alloc(r, 0x50000, 8, 3);
    realloc_block(r, 0x50000, 0x60000, 40, 4);
}

static void test_grouping_and_order(void **state)
{
    (void)state;
    struct replay r;
    build(&r);
    struct suspect_list list;
    replay_finish(&r);
    assert_int_equal(suspects_build(&r, 0, ORDER_SCORE, 0, &list), 0);
    assert_int_equal(list.total, 4);
    assert_int_equal(list.count, 4);
    const uint32_t want_stack[] = {2, 0, 1, 4};
    const uint64_t want_bytes[] = {500, 300, 300, 40};
    const uint64_t want_blocks[] = {1, 3, 1, 1};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(list.items[i].stack_id, want_stack[i]);
        assert_int_equal(list.items[i].leaked_bytes, want_bytes[i]);
        assert_int_equal(list.items[i].leaked_blocks, want_blocks[i]);
        assert_true(list.items[i].score > 0.0);
        assert_true(list.items[i].score == 0.49 * (double)want_bytes[i] / 1140.0);
        assert_false(list.items[i].growth.growing);
        assert_int_equal(list.items[i].frame_count, 2);
        assert_int_equal(list.items[i].frames[0].address, 0x1000 + want_stack[i]);
        assert_null(list.items[i].frames[0].sym.function);
        assert_null(list.items[i].frames[0].sym.module);
    }
    assert_int_equal(list.items[0].allocated_blocks, 1);
    assert_int_equal(r.stacks[3].alloc_blocks, 11);
    assert_int_equal(r.stacks[3].live_blocks, 0);
    assert_int_equal(r.summary.live_bytes, 1140);
    assert_int_equal(r.summary.live_blocks, 6);
    suspects_free(&list);
    replay_free(&r);
}

static void test_top_keeps_the_first(void **state)
{
    (void)state;
    struct replay r;
    build(&r);
    struct suspect_list list;
    replay_finish(&r);
    assert_int_equal(suspects_build(&r, 2, ORDER_BYTES, 0, &list), 0);
    assert_int_equal(list.total, 4);
    assert_int_equal(list.count, 2);
    assert_int_equal(list.items[0].stack_id, 2);
    assert_int_equal(list.items[1].stack_id, 0);
    suspects_free(&list);
    replay_free(&r);
}

/* include_freed adds stack 3 (everything freed) last, with its allocated totals. */
static void test_include_freed(void **state)
{
    (void)state;
    struct replay r;
    build(&r);
    struct suspect_list list;
    replay_finish(&r);
    assert_int_equal(suspects_build(&r, 0, ORDER_SCORE, 1, &list), 0);
    assert_int_equal(list.total, 5);
    assert_int_equal(list.count, 5);
    const uint32_t want_stack[] = {2, 0, 1, 4, 3};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(list.items[i].stack_id, want_stack[i]);
    const struct suspect *freed = &list.items[4];
    assert_int_equal(freed->leaked_bytes, 0);
    assert_int_equal(freed->leaked_blocks, 0);
    assert_int_equal(freed->allocated_bytes, 10 * 64 + 8);
    assert_int_equal(freed->allocated_blocks, 11);
    assert_true(freed->score == 0.0);
    assert_int_equal(freed->frame_count, 2);
    suspects_free(&list);
    replay_free(&r);
}

static void test_no_leaks_no_suspects(void **state)
{
    (void)state;
    struct replay r;
    assert_int_equal(replay_init(&r), 0);
    stack(&r, 0, 0x1000);
    alloc(&r, 0x10, 5, 0);
    free_block(&r, 0x10);
    free_block(&r, 0x20); /* never allocated here: an inherited block */
    struct suspect_list list;
    replay_finish(&r);
    assert_int_equal(suspects_build(&r, 0, ORDER_SCORE, 0, &list), 0);
    assert_int_equal(list.total, 0);
    assert_int_equal(list.count, 0);
    assert_int_equal(r.summary.unmatched_frees, 1);
    assert_int_equal(r.summary.frees, 2);
    suspects_free(&list);
    replay_free(&r);
}

/* Over 10 s: stack 0 fills a pool of 100 x 1000 bytes in the first second and keeps it; stack
 * 1 leaks 10 bytes every 100 ms from the start; stack 2 leaks 30 bytes every 100 ms but only
 * after the mark "warm" at 5 s; stack 3 allocates and frees a request buffer each step. */
static void build_run(struct replay *r, const char *since, const char *until)
{
    assert_int_equal(replay_init(r), 0);
    replay_set_window(r, since, until);
    for (uint32_t id = 0; id < 4; id++)
        stack(r, id, 0x1000 + id);
    for (uint64_t step = 0; step < 100; step++) {
        at_time(r, step * 100);
        if (step == 50)
            mark(r, step * 100, "warm");
        if (step < 10)
            for (uint64_t k = 0; k < 10; k++)
                alloc(r, 0x100000 + 16 * (step * 10 + k), 1000, 0);
        alloc(r, 0x200000 + 16 * step, 10, 1);
        if (step >= 50)
            alloc(r, 0x300000 + 16 * step, 30, 2);
        alloc(r, 0x400000, 512, 3);
        free_block(r, 0x400000);
    }
    at_time(r, 10000);
    replay_finish(r);
}

static const struct suspect *find(const struct suspect_list *list, uint32_t stack_id)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].stack_id == stack_id)
            return &list->items[i];
    fail_msg("stack %u is not a suspect", stack_id);
    return NULL;
}

static void test_growth_outranks_a_larger_plateau(void **state)
{
    (void)state;
    struct replay r;
    build_run(&r, NULL, NULL);
    struct suspect_list list;
    assert_int_equal(suspects_build(&r, 0, ORDER_SCORE, 0, &list), 0);
    assert_int_equal(list.total, 3); /* the request buffer is no suspect */
    /* stack 2 grows 3x faster than stack 1 (over the second half), the pool not at all */
    assert_int_equal(list.items[0].stack_id, 2);
    assert_int_equal(list.items[1].stack_id, 1);
    assert_int_equal(list.items[2].stack_id, 0);
    const struct suspect *pool = find(&list, 0), *slow = find(&list, 1), *fast = find(&list, 2);
    assert_int_equal(pool->leaked_bytes, 100000);
    assert_int_equal(slow->leaked_bytes, 1000);
    assert_int_equal(fast->leaked_bytes, 1500);
    assert_false(pool->growth.growing);
    assert_true(pool->growth.recent_growth_bytes_per_s == 0);
    assert_true(slow->growth.growing && fast->growth.growing);
    assert_true(slow->growth.steadiness == 1.0);
    /* 10 bytes each 100 ms: 100 bytes/s, within the bucket rounding */
    assert_true(slow->growth.growth_bytes_per_s > 95 && slow->growth.growth_bytes_per_s < 105);
    assert_true(fast->growth.recent_growth_bytes_per_s > 285 && fast->growth.recent_growth_bytes_per_s < 315);
    assert_true(fast->score == 1.0);
    assert_true(slow->score > 0.5 && slow->score < 0.7);
    assert_true(fabs(pool->score - 0.49 * 100000 / 102500) < 1e-12); /* its share of the bytes */
    assert_true(pool->freed_share == 0 && slow->freed_share == 0);
    assert_true(pool->oldest_age_s == 10.0 && pool->youngest_age_s == 9.1);
    assert_true(slow->oldest_age_s == 10.0 && slow->youngest_age_s > 0.09 && slow->youngest_age_s < 0.11);
    suspects_free(&list);
    replay_free(&r);
}

static void test_each_sort_order(void **state)
{
    (void)state;
    struct replay r;
    build_run(&r, NULL, NULL);
    struct suspect_list list;
    assert_int_equal(suspects_build(&r, 0, ORDER_BYTES, 0, &list), 0);
    assert_int_equal(list.items[0].stack_id, 0);
    assert_int_equal(list.items[1].stack_id, 2);
    assert_int_equal(list.items[2].stack_id, 1);
    suspects_free(&list);
    assert_int_equal(suspects_build(&r, 0, ORDER_COUNT, 0, &list), 0);
    assert_int_equal(list.items[0].stack_id, 0); /* 100 blocks, as stack 1: more bytes */
    assert_int_equal(list.items[1].stack_id, 1);
    assert_int_equal(list.items[2].stack_id, 2); /* 50 blocks */
    suspects_free(&list);
    /* over the whole run: the pool's median pairwise slope is 0; stack 2, flat and then
       rising at 300 bytes/s, has a median above stack 1's steady 100 bytes/s */
    assert_int_equal(suspects_build(&r, 0, ORDER_GROWTH, 0, &list), 0);
    assert_int_equal(list.items[0].stack_id, 2);
    assert_true(list.items[0].growth.growth_bytes_per_s > 100);
    assert_int_equal(list.items[1].stack_id, 1);
    assert_int_equal(list.items[2].stack_id, 0);
    assert_true(list.items[2].growth.growth_bytes_per_s == 0);
    suspects_free(&list);
    replay_free(&r);
}

static void test_window_since_mark(void **state)
{
    (void)state;
    struct replay r;
    build_run(&r, "warm", NULL);
    assert_true(r.window.opened);
    assert_int_equal(r.window.open_ns, 5000000000ull);
    struct suspect_list list;
    assert_int_equal(suspects_build(&r, 0, ORDER_SCORE, 0, &list), 0);
    assert_int_equal(list.total, 2); /* the pool was full before the mark */
    assert_int_equal(find(&list, 1)->leaked_bytes, 500);
    assert_int_equal(find(&list, 1)->leaked_blocks, 50);
    assert_int_equal(find(&list, 2)->leaked_bytes, 1500);
    assert_int_equal(r.summary.leaked_bytes, 2000);
    assert_int_equal(r.summary.live_bytes, 102500); /* the whole heap still counts all */
    suspects_free(&list);
    replay_free(&r);
}

static void test_window_by_seconds(void **state)
{
    (void)state;
    struct replay r;
    /* allocations at 2.0 .. 6.9 s, the books closed at 7 s */
    build_run(&r, "2", "6.95");
    struct suspect_list list;
    assert_int_equal(suspects_build(&r, 0, ORDER_BYTES, 0, &list), 0);
    assert_int_equal(list.total, 2);
    assert_int_equal(find(&list, 1)->leaked_bytes, 500);  /* steps 20..69 */
    assert_int_equal(find(&list, 2)->leaked_bytes, 600);  /* steps 50..69 */
    assert_int_equal(r.window.close_ns, 6950000000ull);
    assert_int_equal(r.summary.allocations, 70 * 2 + 100 + 20);
    suspects_free(&list);
    replay_free(&r);
}

static void test_unknown_mark_leaves_the_window_closed(void **state)
{
    (void)state;
    struct replay r;
    build_run(&r, "no such mark", NULL);
    assert_false(r.window.opened);
    assert_int_equal(r.summary.leaked_bytes, 0);
    assert_int_equal(r.timeline.mark_count, 1);
    assert_string_equal(r.timeline.marks[0].name, "warm");
    replay_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_growth_outranks_a_larger_plateau),
        cmocka_unit_test(test_each_sort_order),
        cmocka_unit_test(test_window_since_mark),
        cmocka_unit_test(test_window_by_seconds),
        cmocka_unit_test(test_unknown_mark_leaves_the_window_closed),
        cmocka_unit_test(test_grouping_and_order),
        cmocka_unit_test(test_top_keeps_the_first),
        cmocka_unit_test(test_include_freed),
        cmocka_unit_test(test_no_leaks_no_suspects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
