/* Unit tests for suppressions (analyzer/suppressions.c): LeakSanitizer's pattern rule
 * (substring unless anchored by ^ or $, * for any run), matching against each kind of name
 * a frame has (function, file, module), comments and blank lines, errors that name the file
 * and line, first-match-wins counting, and the built-in defaults (runtime-only stacks, and
 * a program's own function whose name merely contains a default's is not suppressed). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suppressions.h"

static void test_pattern_rule(void **state)
{
    (void)state;
    assert_true(suppression_pattern_matches("header", "copy_header_value"));
    assert_true(suppression_pattern_matches("^copy_", "copy_header_value"));
    assert_false(suppression_pattern_matches("^header", "copy_header_value"));
    assert_true(suppression_pattern_matches("value$", "copy_header_value"));
    assert_false(suppression_pattern_matches("header$", "copy_header_value"));
    assert_true(suppression_pattern_matches("^copy_header_value$", "copy_header_value"));
    assert_false(suppression_pattern_matches("^copy_header_value$", "copy_header_value2"));
    assert_true(suppression_pattern_matches("copy*value", "copy_header_value"));
    assert_true(suppression_pattern_matches("^c*r*e$", "copy_header_value"));
    assert_false(suppression_pattern_matches("^c*z*e$", "copy_header_value"));
    assert_true(suppression_pattern_matches("*", "x"));
    assert_true(suppression_pattern_matches("libfoo*.so", "/usr/lib/libfoo-1.2.so.3"));
    /* a star must be able to take less than the greedy amount: "ab$" in "abab" */
    assert_true(suppression_pattern_matches("ab$", "abab"));
    assert_true(suppression_pattern_matches("^a*b$", "abab"));
    assert_false(suppression_pattern_matches("x", NULL));
    assert_false(suppression_pattern_matches("x", ""));
    /* C++ names: parentheses and colons are plain characters */
    assert_true(suppression_pattern_matches("^std::vector<int>::push_back(int const&)$",
                                            "std::vector<int>::push_back(int const&)"));
}

/* A suspect with one frame per (function, file, module) triple given. */
static struct suspect make_suspect(struct suspect_frame *frames, size_t n, uint64_t bytes, uint64_t blocks)
{
    struct suspect s = {.leaked_bytes = bytes, .leaked_blocks = blocks, .frame_count = (uint32_t)n,
                        .frames = frames};
    return s;
}

static void test_each_name_kind(void **state)
{
    (void)state;
    struct suspect_frame frames[2] = {
        {0x10, {.function = "copy_header_value", .file = "/src/server.c", .line = 744,
                .module = "/opt/app/server"}},
        {0x20, {.function = "main", .file = "/src/main.c", .line = 9, .module = "/opt/app/server"}},
    };
    struct suspect s = make_suspect(frames, 2, 34, 1);
    static const char *const hits[] = {"leak:copy_header", "leak:server.c", "leak:^/opt/app/server$",
                                       "leak:main.c$", "leak:^main$"};
    static const char *const misses[] = {"leak:handle_login", "leak:^server.c", "leak:/lib/",
                                         "leak:main.cc"};
    for (size_t i = 0; i < sizeof hits / sizeof *hits; i++) {
        struct suppression_list list;
        char error[200];
        suppressions_init(&list);
        assert_int_equal(suppressions_parse(&list, hits[i], "t.supp", error, sizeof error), 0);
        assert_non_null(suppressions_find(&list, &s));
        suppressions_free(&list);
    }
    for (size_t i = 0; i < sizeof misses / sizeof *misses; i++) {
        struct suppression_list list;
        char error[200];
        suppressions_init(&list);
        assert_int_equal(suppressions_parse(&list, misses[i], "t.supp", error, sizeof error), 0);
        assert_null(suppressions_find(&list, &s));
        suppressions_free(&list);
    }
    /* a frame without names matches nothing */
    struct suspect_frame bare = {0x30, {0}};
    struct suspect unknown = make_suspect(&bare, 1, 1, 1);
    struct suppression_list list;
    char error[200];
    suppressions_init(&list);
    assert_int_equal(suppressions_parse(&list, "leak:*", "t.supp", error, sizeof error), 0);
    assert_null(suppressions_find(&list, &unknown));
    suppressions_free(&list);
}

static void test_comments_blank_lines_and_counts(void **state)
{
    (void)state;
    static const char text[] = "# known leaks\n"
                               "\n"
                               "   \t\n"
                               "  leak:copy_header_value  \r\n"
                               "leak: second_site\n"
                               "# leak:main\n"
                               "leak:never_seen";
    struct suppression_list list;
    char error[200];
    suppressions_init(&list);
    assert_int_equal(suppressions_parse(&list, text, "known.supp", error, sizeof error), 0);
    assert_int_equal(list.count, 3);
    assert_string_equal(list.items[0].pattern, "copy_header_value");
    assert_int_equal(list.items[0].line, 4);
    assert_string_equal(list.items[1].pattern, "second_site");
    assert_int_equal(list.items[1].line, 5);
    assert_string_equal(list.items[2].pattern, "never_seen");
    assert_int_equal(list.items[2].line, 7);
    assert_string_equal(list.items[0].source, "known.supp");

    struct suspect_frame a[1] = {{1, {.function = "copy_header_value"}}};
    struct suspect_frame b[2] = {{2, {.function = "second_site"}}, {3, {.function = "copy_header_value"}}};
    struct suspect sa = make_suspect(a, 1, 34, 1), sb = make_suspect(b, 2, 100, 4);
    /* first match in list order takes the suspect: b goes to line 4, not line 5 */
    assert_ptr_equal(suppressions_apply(&list, &sa), &list.items[0]);
    assert_ptr_equal(suppressions_apply(&list, &sb), &list.items[0]);
    assert_int_equal(list.items[0].suspects, 2);
    assert_int_equal(list.items[0].bytes, 134);
    assert_int_equal(list.items[0].blocks, 5);
    assert_int_equal(list.items[1].suspects, 0);
    assert_int_equal(list.items[2].suspects, 0);
    suppressions_free(&list);
}

static void expect_error(const char *text, const char *message)
{
    struct suppression_list list;
    char error[300] = "";
    suppressions_init(&list);
    assert_int_equal(suppressions_parse(&list, text, "bad.supp", error, sizeof error), -1);
    assert_string_equal(error, message);
    suppressions_free(&list);
}

static void test_bad_lines(void **state)
{
    (void)state;
    expect_error("leak:ok\nno_colon_here\n", "bad.supp:2: expected TYPE:PATTERN (leak:PATTERN), got 'no_colon_here'");
    expect_error("# c\n\nrace:foo\n", "bad.supp:3: unknown suppression type 'race' (only leak: is understood)");
    expect_error("leak:   \n", "bad.supp:1: empty pattern after 'leak:'");
    expect_error("Leak:foo", "bad.supp:1: unknown suppression type 'Leak' (only leak: is understood)");
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/leakshim-supp-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "# one\nleak:alpha\nleak:beta\nbogus\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    struct suppression_list list;
    char error[300], want[400];
    suppressions_init(&list);
    assert_int_equal(suppressions_load(&list, path, error, sizeof error), -1);
    snprintf(want, sizeof want, "%s:4: expected TYPE:PATTERN (leak:PATTERN), got 'bogus'", path);
    assert_string_equal(error, want);
    assert_int_equal(list.count, 2); /* the lines before the bad one */
    suppressions_free(&list);
    unlink(path);

    suppressions_init(&list);
    assert_int_equal(suppressions_load(&list, "/nonexistent/x.supp", error, sizeof error), -1);
    assert_string_equal(error, "/nonexistent/x.supp: No such file or directory");
    suppressions_free(&list);
}

static void test_defaults(void **state)
{
    (void)state;
    struct suppression_list list;
    suppressions_init(&list);
    assert_int_equal(suppressions_add_defaults(&list), 0);
    assert_true(list.count > 20);
    assert_null(list.items[0].source);
    /* stdio's buffer, reached from the program's printf */
    struct suspect_frame stdio[3] = {
        {1, {.function = "_IO_file_doallocate", .module = "/usr/lib/x86_64-linux-gnu/libc.so.6"}},
        {2, {.function = "printf", .module = "/usr/lib/x86_64-linux-gnu/libc.so.6"}},
        {3, {.function = "main", .file = "/src/m.c", .line = 3, .module = "/opt/m"}},
    };
    struct suspect s = make_suspect(stdio, 3, 4096, 1);
    const struct suppression *hit = suppressions_find(&list, &s);
    assert_non_null(hit);
    assert_string_equal(hit->pattern, "^_IO_file_doallocate$");
    /* a program's function that contains a default's name is not suppressed */
    struct suspect_frame own[2] = {
        {1, {.function = "my_setlocale_cache", .file = "/src/m.c", .line = 5, .module = "/opt/m"}},
        {2, {.function = "main", .file = "/src/m.c", .line = 9, .module = "/opt/m"}},
    };
    s = make_suspect(own, 2, 10, 1);
    assert_null(suppressions_find(&list, &s));
    /* a stack entirely inside the runtime (libstdc++'s pool, from a constructor) */
    struct suspect_frame runtime[3] = {
        {1, {.module = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30"}},
        {2, {.function = "call_init", .module = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"}},
        {3, {.function = "_dl_start_user", .module = "/lib64/ld-linux-x86-64.so.2"}},
    };
    s = make_suspect(runtime, 3, 72704, 1);
    hit = suppressions_find(&list, &s);
    assert_non_null(hit);
    assert_int_equal(hit->kind, SUPPRESSION_RUNTIME_ONLY);
    /* ... but not when one frame is the program's (a library constructor that leaks) */
    runtime[0].sym.module = "/opt/libearly.so";
    runtime[0].sym.function = "leak_in_early_ctor";
    assert_null(suppressions_find(&list, &s));
    /* and not an empty stack */
    s = make_suspect(runtime, 0, 1, 1);
    assert_null(suppressions_find(&list, &s));
    suppressions_free(&list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pattern_rule),
        cmocka_unit_test(test_each_name_kind),
        cmocka_unit_test(test_comments_blank_lines_and_counts),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
