/* Unit tests for baseline matching (analyzer/leak_compare.c) and the verdict built on it
 * (analyzer/gate.c): stacks match across runs by function, file base name and line,
 * whatever their addresses and directories; suspects with one identity are summed; new,
 * gone, grown, shrunk and same are told apart with the threshold (above both its percent
 * and its bytes); then budgets, default limits, suppressions and offenders. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "leak_compare.h"

/* Frames of three call sites, as two runs with different load addresses and build
 * directories see them. */
static struct suspect_frame site_a_run1[2] = {
    {0x5555000010, {.function = "copy_header_value", .file = "/ci/build1/server.c", .line = 744, .module = "/ci/build1/server"}},
    {0x5555000020, {.function = "handle_login", .file = "/ci/build1/server.c", .line = 842, .module = "/ci/build1/server"}},
};
static struct suspect_frame site_a_run2[2] = {
    {0x7777000010, {.function = "copy_header_value", .file = "/ci/build2/server.c", .line = 744, .module = "/ci/build2/server"}},
    {0x7777000020, {.function = "handle_login", .file = "/ci/build2/server.c", .line = 842, .module = "/ci/build2/server"}},
};
/* same functions, another line: another stack */
static struct suspect_frame site_a_moved[2] = {
    {0x7777000030, {.function = "copy_header_value", .file = "/ci/build2/server.c", .line = 745, .module = "/ci/build2/server"}},
    {0x7777000020, {.function = "handle_login", .file = "/ci/build2/server.c", .line = 842, .module = "/ci/build2/server"}},
};
static struct suspect_frame site_b[1] = {
    {0x1000, {.function = "cache_put", .file = "/src/cache.c", .line = 10, .module = "/opt/server"}},
};
/* an unsymbolized frame: known by its module alone, whatever its address */
static struct suspect_frame site_c_run1[1] = {{0x1234, {.module = "/usr/lib/libfoo.so.1"}}};
static struct suspect_frame site_c_run2[1] = {{0x9876, {.module = "/other/dir/libfoo.so.1"}}};

static struct suspect S(struct suspect_frame *frames, uint32_t n, uint64_t bytes, uint64_t blocks)
{
    return (struct suspect){.leaked_bytes = bytes, .leaked_blocks = blocks, .frame_count = n, .frames = frames};
}

static void test_identity_ignores_addresses_and_directories(void **state)
{
    (void)state;
    struct suspect a1 = S(site_a_run1, 2, 1, 1), a2 = S(site_a_run2, 2, 1, 1), moved = S(site_a_moved, 2, 1, 1);
    struct suspect c1 = S(site_c_run1, 1, 1, 1), c2 = S(site_c_run2, 1, 1, 1);
    char *x = leak_identity(&a1), *y = leak_identity(&a2), *z = leak_identity(&moved);
    char *p = leak_identity(&c1), *q = leak_identity(&c2);
    assert_string_equal(x, "copy_header_value\tserver.c\t744\nhandle_login\tserver.c\t842\n");
    assert_string_equal(x, y);
    assert_string_not_equal(x, z);
    assert_string_equal(p, "?\tlibfoo.so.1\t0\n");
    assert_string_equal(p, q);
    free(x);
    free(y);
    free(z);
    free(p);
    free(q);
}

static const struct leak_change *find(const struct leak_change *c, size_t n, enum change_kind kind, size_t nth)
{
    for (size_t i = 0; i < n; i++)
        if (c[i].kind == kind && nth-- == 0)
            return &c[i];
    return NULL;
}

static void test_kinds_and_order(void **state)
{
    (void)state;
    /* old: A 3400 B in 100, B 1000 in 10, C 500 in 5; new: A 6800 in 200 (split over two
     * stacks that differ only in an address), moved-A 34 in 1, C 400 in 4 */
    struct suspect old[3] = {S(site_a_run1, 2, 3400, 100), S(site_b, 1, 1000, 10), S(site_c_run1, 1, 500, 5)};
    struct suspect_frame a_other_address[2] = {site_a_run2[0], site_a_run2[1]};
    a_other_address[0].address += 0x100;
    struct suspect new[4] = {S(site_a_run2, 2, 5000, 150), S(a_other_address, 2, 1800, 50),
                             S(site_a_moved, 2, 34, 1), S(site_c_run2, 1, 400, 4)};
    const struct suspect *olds[3] = {&old[0], &old[1], &old[2]};
    const struct suspect *news[4] = {&new[0], &new[1], &new[2], &new[3]};
    struct growth_threshold none = {0, 0};
    struct leak_change *c;
    size_t n;
    assert_int_equal(leak_compare(olds, 3, news, 4, &none, &c, &n), 0);
    assert_int_equal(n, 4); /* A, moved-A, B, C */
    assert_int_equal(c[0].kind, CHANGE_NEW);
    assert_ptr_equal(c[0].new_suspect, &new[2]);
    assert_null(c[0].old_suspect);
    assert_int_equal(c[0].new_bytes, 34);
    assert_int_equal(c[1].kind, CHANGE_GROWN);
    assert_int_equal(c[1].old_bytes, 3400);
    assert_int_equal(c[1].new_bytes, 6800); /* both new stacks of A, summed */
    assert_int_equal(c[1].new_blocks, 200);
    assert_ptr_equal(c[1].new_suspect, &new[0]); /* the larger one stands for them */
    assert_int_equal(c[2].kind, CHANGE_SHRUNK);
    assert_int_equal(c[2].old_bytes, 500);
    assert_int_equal(c[2].new_bytes, 400);
    assert_int_equal(c[3].kind, CHANGE_GONE);
    assert_ptr_equal(c[3].old_suspect, &old[1]);
    assert_null(c[3].new_suspect);
    free(c);

    /* A grew by 3400 bytes, 100%: within "100%" (not above it), and within "4K" */
    struct growth_threshold pct = {100, 0}, bytes = {0, 4096}, both = {50, 4096}, tight = {99.9, 3399};
    assert_int_equal(leak_compare(olds, 3, news, 4, &pct, &c, &n), 0);
    assert_null(find(c, n, CHANGE_GROWN, 0));
    assert_non_null(find(c, n, CHANGE_SAME, 0));
    free(c);
    assert_int_equal(leak_compare(olds, 3, news, 4, &bytes, &c, &n), 0);
    assert_null(find(c, n, CHANGE_GROWN, 0));
    free(c);
    /* above 50% but not above 4 KiB: both must be exceeded */
    assert_int_equal(leak_compare(olds, 3, news, 4, &both, &c, &n), 0);
    assert_null(find(c, n, CHANGE_GROWN, 0));
    free(c);
    assert_int_equal(leak_compare(olds, 3, news, 4, &tight, &c, &n), 0);
    assert_non_null(find(c, n, CHANGE_GROWN, 0));
    free(c);
}

static void test_order_within_a_kind(void **state)
{
    (void)state;
    struct suspect news[3] = {S(site_b, 1, 10, 1), S(site_a_run1, 2, 300, 3), S(site_c_run1, 1, 20, 2)};
    const struct suspect *p[3] = {&news[0], &news[1], &news[2]};
    struct growth_threshold none = {0, 0};
    struct leak_change *c;
    size_t n;
    assert_int_equal(leak_compare(NULL, 0, p, 3, &none, &c, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(c[0].new_bytes, 300);
    assert_int_equal(c[1].new_bytes, 20);
    assert_int_equal(c[2].new_bytes, 10);
    free(c);
}

static struct leak_run run_of(struct suspect *s, size_t n)
{
    struct leak_run r;
    memset(&r, 0, sizeof r);
    r.suspects = s;
    r.count = n;
    for (size_t i = 0; i < n; i++) {
        r.leaked_bytes += s[i].leaked_bytes;
        r.leaked_blocks += s[i].leaked_blocks;
    }
    r.complete = 1;
    r.warning = "";
    return r;
}

static void test_gate_budgets_and_offenders(void **state)
{
    (void)state;
    struct suspect_frame stdio[1] = {{1, {.function = "_IO_file_doallocate", .module = "/lib/libc.so.6"}}};
    struct suspect now[3] = {S(site_a_run2, 2, 6800, 200), S(stdio, 1, 4096, 1), S(site_b, 1, 1000, 10)};
    struct suspect before[2] = {S(site_a_run1, 2, 3400, 100), S(stdio, 1, 4096, 1)};
    struct leak_run run = run_of(now, 3), base = run_of(before, 2);
    struct suppression_list supp;
    suppressions_init(&supp);
    assert_int_equal(suppressions_add_defaults(&supp), 0);

    /* no budget, no baseline: nothing may leak */
    struct gate_limits limits;
    memset(&limits, 0, sizeof limits);
    gate_default_limits(&limits, 0);
    assert_true(limits.set[BUDGET_LEAKED_BYTES]);
    assert_true(limits.limit[BUDGET_LEAKED_BYTES] == 0);
    struct gate g;
    assert_int_equal(gate_evaluate(&g, &run, &supp, NULL, &limits), 0);
    assert_int_equal(g.kept_bytes, 7800);
    assert_int_equal(g.kept_blocks, 210);
    assert_int_equal(g.kept_suspects, 2);
    assert_int_equal(g.suppressed_bytes, 4096);
    assert_int_equal(g.failed, 1);
    assert_true(g.budgets[BUDGET_LEAKED_BYTES].actual == 7800);
    assert_int_equal(g.suspects[0].offends, 1u << BUDGET_LEAKED_BYTES);
    assert_int_equal(g.suspects[1].offends, 0); /* suppressed */
    assert_non_null(g.suspects[1].suppressed_by);
    assert_int_equal(g.suspects[2].offends, 1u << BUDGET_LEAKED_BYTES);
    gate_free(&g);

    /* budgets that hold: 7800 <= 7800 bytes, 210 <= 210 blocks */
    memset(&limits, 0, sizeof limits);
    limits.set[BUDGET_LEAKED_BYTES] = limits.set[BUDGET_LEAKED_BLOCKS] = 1;
    limits.limit[BUDGET_LEAKED_BYTES] = 7800;
    limits.limit[BUDGET_LEAKED_BLOCKS] = 210;
    gate_default_limits(&limits, 0);
    assert_false(limits.set[BUDGET_NEW_SUSPECTS]);
    assert_int_equal(gate_evaluate(&g, &run, &supp, NULL, &limits), 0);
    assert_int_equal(g.failed, 0);
    assert_int_equal(g.suspects[0].offends, 0);
    gate_free(&g);

    /* against the baseline: A doubled (grown), B is new; the threshold 10%,1K */
    memset(&limits, 0, sizeof limits);
    limits.threshold = (struct growth_threshold){10, 1024};
    gate_default_limits(&limits, 1);
    assert_false(limits.set[BUDGET_LEAKED_BYTES]);
    assert_true(limits.set[BUDGET_NEW_SUSPECTS]);
    assert_int_equal(gate_evaluate(&g, &run, &supp, &base, &limits), 0);
    assert_true(g.budgets[BUDGET_NEW_SUSPECTS].actual == 2);
    assert_int_equal(g.failed, 1);
    assert_int_equal(g.suspects[0].change->kind, CHANGE_GROWN);
    assert_int_equal(g.suspects[0].change->old_bytes, 3400);
    assert_int_equal(g.suspects[2].change->kind, CHANGE_NEW);
    assert_null(g.suspects[1].change); /* suppressed: not compared */
    assert_int_equal(g.suspects[0].offends, 1u << BUDGET_NEW_SUSPECTS);
    assert_int_equal(g.suspects[2].offends, 1u << BUDGET_NEW_SUSPECTS);
    /* the baseline's suppressed stack is not compared: not "gone", and not counted again */
    assert_int_equal(g.change_count, 2);
    assert_null(find(g.changes, g.change_count, CHANGE_GONE, 0));
    /* stdout's buffer, counted once in each of the three evaluations, never for the baseline */
    assert_int_equal(supp.items[0].suspects, 3);
    gate_free(&g);

    /* two new stacks allowed */
    limits.limit[BUDGET_NEW_SUSPECTS] = 2;
    assert_int_equal(gate_evaluate(&g, &run, &supp, &base, &limits), 0);
    assert_int_equal(g.failed, 0);
    gate_free(&g);
    suppressions_free(&supp);
}

static void test_measure(void **state)
{
    (void)state;
    struct budget_result b;
    gate_measure(&b, 10.0, 12.5); /* a growth budget: 12.5 bytes/s over 10 */
    assert_true(b.set && b.measured && !b.pass);
    gate_measure(&b, 10.0, 10.0);
    assert_true(b.pass);
    gate_measure(&b, 10.0, NAN);
    assert_true(!b.measured && !b.pass);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_ignores_addresses_and_directories),
        cmocka_unit_test(test_kinds_and_order),
        cmocka_unit_test(test_order_within_a_kind),
        cmocka_unit_test(test_gate_budgets_and_offenders),
        cmocka_unit_test(test_measure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
