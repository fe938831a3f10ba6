/* Unit tests for analyzer/utf8.c: multi-byte sequences recognised, and printable copies of
 * names from the traced program (control characters and bytes that are not UTF-8 become '?',
 * the copy is cut on a character's boundary). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "utf8.h"

static void test_sequences(void **state)
{
    (void)state;
    assert_int_equal(utf8_sequence((const unsigned char *)"\xc3\xa9"), 2);
    assert_int_equal(utf8_sequence((const unsigned char *)"\xe6\x97\xa5"), 3);
    assert_int_equal(utf8_sequence((const unsigned char *)"\xf0\x9f\x98\x80"), 4);
    assert_int_equal(utf8_sequence((const unsigned char *)"\xff"), 0);
    assert_int_equal(utf8_sequence((const unsigned char *)"\xc3("), 0);
    assert_int_equal(utf8_sequence((const unsigned char *)"\x80"), 0);
}

static void test_printable(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"warmup done", "warmup done"},
        {"line\nbreak\ttab\r", "line?break?tab?"},
        {"esc\033[31mred\x7f", "esc?[31mred?"},
        {"utf8 \xc3\xa9 \xe6\x97\xa5", "utf8 \xc3\xa9 \xe6\x97\xa5"},
        {"bad\xff\xfe byte", "bad?? byte"},
        {"cut \xc3", "cut ?"},
        {"quote ' \" \\", "quote ' \" \\"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[64];
        assert_string_equal(utf8_printable(cases[i].in, buf, sizeof buf), cases[i].out);
    }
}

static void test_printable_cut_on_a_boundary(void **state)
{
    (void)state;
    char buf[6];
    assert_string_equal(utf8_printable("abcdefgh", buf, sizeof buf), "abcde");
    assert_string_equal(utf8_printable("abc\xc3\xa9z", buf, sizeof buf), "abc\xc3\xa9");
    assert_string_equal(utf8_printable("abcd\xc3\xa9", buf, sizeof buf), "abcd");
    assert_string_equal(utf8_printable("ab\xe6\x97\xa5\xe6\x97\xa5", buf, sizeof buf), "ab\xe6\x97\xa5");
    char one[1];
    assert_string_equal(utf8_printable("abc", one, sizeof one), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequences),
        cmocka_unit_test(test_printable),
        cmocka_unit_test(test_printable_cut_on_a_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
