/* Unit tests for the replay of sampled traces (analyzer/replay.c, "sampling: weights"), fed
 * with decoded records:
 *   - a block of s bytes recorded under period P counts s/p bytes and 1/p blocks
 *     (p = 1 - exp(-s/P)), rounded up or down at random without bias: 100,000 blocks give the
 *     expected sums within a few rounding steps;
 *   - blocks far larger than P weigh exactly 1; a free takes off exactly what the allocation
 *     added; a trace that never samples keeps exact books;
 *   - a full-recording part (SAMPLING 0): blocks weigh 1, frees of unknown blocks are counted
 *     apart and not as frees; when sampling resumes, its unpicked blocks leave the books and
 *     its picked ones (SAMPLED) are weighed as sampled blocks, allocation counts unchanged. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "replay.h"

static struct trace_record rec;

static void apply(struct replay *r)
{
    char error[256];
    assert_int_equal(replay_apply(r, &rec, error, sizeof error), 0);
    memset(&rec, 0, sizeof rec);
}

static void start(struct replay *r, uint64_t period)
{
    assert_int_equal(replay_init(r), 0);
    rec.type = TRACE_REC_PROCESS;
    apply(r);
    rec.type = TRACE_REC_STACK;
    rec.u.stack.id = 0;
    rec.u.stack.depth = 1;
    rec.u.stack.frames[0] = 0x401000;
    apply(r);
    rec.type = TRACE_REC_SAMPLING;
    rec.u.sampling.period = period;
    apply(r);
}

static void sampling(struct replay *r, uint64_t period)
{
    rec.type = TRACE_REC_SAMPLING;
    rec.u.sampling.period = period;
    apply(r);
}

static void alloc(struct replay *r, uint64_t address, uint64_t size)
{
    rec.type = TRACE_REC_ALLOC;
    rec.u.alloc.address = address;
    rec.u.alloc.size = size;
    rec.u.alloc.stack = 0;
    apply(r);
}

static void sampled(struct replay *r, uint64_t address)
{
    rec.type = TRACE_REC_SAMPLED;
    rec.u.sampled.address = address;
    apply(r);
}

static void free_block(struct replay *r, uint64_t address)
{
    rec.type = TRACE_REC_FREE;
    rec.u.free.address = address;
    apply(r);
}

static void test_weights_are_unbiased(void **state)
{
    (void)state;
    static struct replay r;
    start(&r, 1000);
    const int n = 100000;
    for (int i = 0; i < n; i++)
        alloc(&r, 0x10000000 + 64 * (uint64_t)i, 1000);
    double p = -expm1(-1.0);
    /* each block rounds s/p = 1581.98 and 1/p = 1.582 up or down: sd of the sums below 160 */
    assert_true(fabs((double)r.summary.leaked_bytes - n * 1000 / p) < 1000);
    assert_true(fabs((double)r.summary.leaked_blocks - n / p) < 1000);
    assert_int_equal(r.summary.allocations, r.summary.leaked_blocks);
    assert_int_equal(r.stacks[0].live_bytes, r.summary.leaked_bytes);
    assert_int_equal(r.sampling.sampled_period, 1000);
    /* frees take off exactly what allocations added */
    for (int i = 0; i < n; i++)
        free_block(&r, 0x10000000 + 64 * (uint64_t)i);
    assert_int_equal(r.summary.leaked_bytes, 0);
    assert_int_equal(r.summary.leaked_blocks, 0);
    assert_int_equal(r.summary.live_bytes, 0);
    assert_int_equal(r.summary.frees, r.summary.allocations);
    assert_int_equal(r.sampling.weights.count, 0);
    replay_free(&r);
}

static void test_large_blocks_weigh_one(void **state)
{
    (void)state;
    static struct replay r;
    start(&r, 1000);
    alloc(&r, 0x20000000, 40000); /* p = 1 - exp(-40): 1 in double precision */
    assert_int_equal(r.summary.leaked_bytes, 40000);
    assert_int_equal(r.summary.leaked_blocks, 1);
    replay_free(&r);
}

static void test_unsampled_trace_is_exact(void **state)
{
    (void)state;
    static struct replay r;
    start(&r, 0);
    alloc(&r, 0x30000000, 10);
    alloc(&r, 0x30000040, 20);
    free_block(&r, 0x30000040);
    free_block(&r, 0x30009999); /* inherited: a free all the same */
    assert_int_equal(r.summary.leaked_bytes, 10);
    assert_int_equal(r.summary.leaked_blocks, 1);
    assert_int_equal(r.summary.frees, 2);
    assert_int_equal(r.summary.unmatched_frees, 1);
    assert_int_equal(r.sampling.sampled_period, 0);
    assert_int_equal(r.sampling.weights.count, 0);
    replay_free(&r);
}

static void test_escalation_and_back(void **state)
{
    (void)state;
    static struct replay r;
    start(&r, 1000);
    alloc(&r, 0x40000000, 50000); /* sampled, weight 1 */
    sampling(&r, 0);              /* escalated */
    assert_int_equal(r.sampling.escalations, 1);
    alloc(&r, 0x40100000, 100);   /* recorded because everything is */
    alloc(&r, 0x40200000, 100);   /* and the sampler's pick as well */
    sampled(&r, 0x40200000);
    alloc(&r, 0x40300000, 300);   /* freed while everything is recorded */
    free_block(&r, 0x40300000);
    free_block(&r, 0x4fff0000);   /* a block allocated before, not sampled */
    assert_int_equal(r.summary.leaked_bytes, 50000 + 100 + 100);
    assert_int_equal(r.summary.leaked_blocks, 3);
    assert_int_equal(r.summary.allocations, 4);
    assert_int_equal(r.summary.frees, 1);
    assert_int_equal(r.summary.unmatched_frees, 1);

    sampling(&r, 1000); /* de-escalated */
    assert_int_equal(r.sampling.unfollowed_blocks, 1);
    /* the pick of 100 bytes now stands for 1/p blocks of 100 bytes, p = 1 - exp(-0.1) */
    double p = -expm1(-0.1);
    uint64_t bytes = r.summary.leaked_bytes - 50000, blocks = r.summary.leaked_blocks - 1;
    assert_true(bytes == (uint64_t)floor(100 / p) || bytes == (uint64_t)ceil(100 / p));
    assert_true(blocks == (uint64_t)floor(1 / p) || blocks == (uint64_t)ceil(1 / p));
    assert_int_equal(r.summary.live_bytes, r.summary.leaked_bytes);
    assert_int_equal(r.summary.allocations, 4); /* what happened is not rewritten */
    assert_int_equal(r.stacks[0].live_bytes, r.summary.leaked_bytes);
    assert_int_equal(r.stacks[0].live_blocks, r.summary.leaked_blocks);

    /* its free takes off what it stands for; the unfollowed block's free would be unknown */
    free_block(&r, 0x40200000);
    free_block(&r, 0x40100000);
    assert_int_equal(r.summary.leaked_bytes, 50000);
    assert_int_equal(r.summary.leaked_blocks, 1);
    assert_int_equal(r.summary.frees, 1 + blocks);
    assert_int_equal(r.summary.unmatched_frees, 2);
    replay_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weights_are_unbiased),
        cmocka_unit_test(test_large_blocks_weigh_one),
        cmocka_unit_test(test_unsampled_trace_is_exact),
        cmocka_unit_test(test_escalation_and_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
