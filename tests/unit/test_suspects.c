/* Unit tests for grouping and ranking (analyzer/suspects.c) on a replay fed with hand-made
 * records: outstanding blocks are grouped by stack, suspects are ordered by leaked bytes, then
 * blocks, then stack id; --top keeps the first N but `total` counts all; the score is the
 * share of all leaked bytes; stacks whose blocks were all freed are not suspects; a realloc
 * moves the block to the realloc's stack; frames without a module stay unsymbolized. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
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
    assert_int_equal(suspects_build(&r, 0, 0, &list), 0);
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
        assert_true(list.items[i].score == (double)want_bytes[i] / 1140.0);
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
    assert_int_equal(suspects_build(&r, 2, 0, &list), 0);
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
    assert_int_equal(suspects_build(&r, 0, 1, &list), 0);
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
    assert_int_equal(suspects_build(&r, 0, 0, &list), 0);
    assert_int_equal(list.total, 0);
    assert_int_equal(list.count, 0);
    assert_int_equal(r.summary.unmatched_frees, 1);
    assert_int_equal(r.summary.frees, 2);
    suspects_free(&list);
    replay_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grouping_and_order),
        cmocka_unit_test(test_top_keeps_the_first),
        cmocka_unit_test(test_include_freed),
        cmocka_unit_test(test_no_leaks_no_suspects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
