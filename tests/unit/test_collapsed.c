/* Folded stacks (report_collapsed.c): frame order, names of unknown frames, escaping of `;`
 * and control characters, folding of equal stacks, values, and the order of the lines. The
 * suspects are built by hand, so every expected line is exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "report.h"

/* Runs report_collapsed on `count` suspects and returns what it wrote (free it). */
static char *collapsed(struct suspect *items, size_t count, enum collapsed_value v)
{
    struct suspect_list list = {.items = items, .count = count, .total = count};
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    assert_int_equal(report_collapsed(out, &list, v), 0);
    assert_int_equal(fclose(out), 0);
    return text;
}

static struct suspect_frame named(const char *function, uint64_t address)
{
    return (struct suspect_frame){address, {.function = function, .module = "/bin/prog"}};
}

static void test_root_first_and_unknown_names(void **state)
{
    (void)state;
    /* innermost first, as suspects hold them: an unnamed frame in a module, an unnamed frame
     * in no module, then the callers */
    struct suspect_frame frames[] = {
        {0x401234, {.module = "/usr/lib/libfoo.so.1", .module_offset = 0x1234}},
        {0x7000, {.function = NULL}},
        named("handle", 0x401000),
        named("main", 0x400800),
    };
    struct suspect s = {.leaked_bytes = 40, .leaked_blocks = 2, .allocated_bytes = 400,
                        .frame_count = 4, .frames = frames};
    char *text = collapsed(&s, 1, COLLAPSED_LEAKED);
    assert_string_equal(text, "main;handle;0x7000;libfoo.so.1+0x1234 40\n");
    free(text);
    text = collapsed(&s, 1, COLLAPSED_COUNT);
    assert_string_equal(text, "main;handle;0x7000;libfoo.so.1+0x1234 2\n");
    free(text);
    text = collapsed(&s, 1, COLLAPSED_ALLOCATED);
    assert_string_equal(text, "main;handle;0x7000;libfoo.so.1+0x1234 400\n");
    free(text);
}

static void test_separators_inside_names_are_replaced(void **state)
{
    (void)state;
    struct suspect_frame frames[] = {
        named("odd;name\nwith\ttabs\x7f", 0x10),
        named("std::map<int, int>::operator[](int const&)", 0x20),
    };
    struct suspect s = {.leaked_bytes = 7, .frame_count = 2, .frames = frames};
    char *text = collapsed(&s, 1, COLLAPSED_LEAKED);
    assert_string_equal(text, "std::map<int, int>::operator[](int const&);odd,name?with?tabs? 7\n");
    free(text);
}

static void test_equal_stacks_fold_and_zero_values_go(void **state)
{
    (void)state;
    /* two call sites of one function (different addresses, same names), one stack that freed
     * everything, and one the shim could not record */
    struct suspect_frame a[] = {named("leaf", 0x10), named("main", 0x100)};
    struct suspect_frame b[] = {named("leaf", 0x18), named("main", 0x100)};
    struct suspect_frame c[] = {named("other", 0x30), named("main", 0x104)};
    struct suspect items[] = {
        {.leaked_bytes = 48, .leaked_blocks = 1, .allocated_bytes = 48, .frame_count = 2, .frames = a},
        {.leaked_bytes = 48, .leaked_blocks = 1, .allocated_bytes = 96, .frame_count = 2, .frames = b},
        {.leaked_bytes = 0, .leaked_blocks = 0, .allocated_bytes = 5000, .frame_count = 2, .frames = c},
        {.leaked_bytes = 96, .leaked_blocks = 3, .allocated_bytes = 96},
    };
    char *text = collapsed(items, 4, COLLAPSED_LEAKED);
    /* equal values (96) come in byte order of their frames */
    assert_string_equal(text, "[unknown stack] 96\nmain;leaf 96\n");
    free(text);
    text = collapsed(items, 4, COLLAPSED_ALLOCATED);
    assert_string_equal(text, "main;other 5000\nmain;leaf 144\n[unknown stack] 96\n");
    free(text);
    text = collapsed(items, 4, COLLAPSED_COUNT);
    assert_string_equal(text, "[unknown stack] 3\nmain;leaf 2\n");
    free(text);
    text = collapsed(items, 0, COLLAPSED_COUNT);
    assert_string_equal(text, "");
    free(text);
}

static void test_value_words(void **state)
{
    (void)state;
    enum collapsed_value v;
    assert_int_equal(collapsed_parse_value("leaked", &v), 0);
    assert_int_equal(v, COLLAPSED_LEAKED);
    assert_int_equal(collapsed_parse_value("allocated", &v), 0);
    assert_int_equal(v, COLLAPSED_ALLOCATED);
    assert_int_equal(collapsed_parse_value("count", &v), 0);
    assert_int_equal(v, COLLAPSED_COUNT);
    assert_int_equal(collapsed_parse_value("bytes", &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_first_and_unknown_names),
        cmocka_unit_test(test_separators_inside_names_are_replaced),
        cmocka_unit_test(test_equal_stacks_fold_and_zero_values_go),
        cmocka_unit_test(test_value_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
