/* Unit tests for the command line's quantities (analyzer/units.c): sizes with binary
 * suffixes (1K = 1024) and their overflow, counts, rates, baseline thresholds, --since
 * values, and the numbers written for people. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "units.h"

static void test_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t value;
    } good[] = {
        {"0", 0}, {"4096", 4096}, {"1K", 1024}, {"1k", 1024}, {"4KiB", 4096}, {"4KB", 4096},
        {"3M", 3u << 20}, {"2G", 2ull << 30}, {"1T", 1ull << 40}, {"16777215T", 16777215ull << 40},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        uint64_t v = 7;
        assert_int_equal(units_parse_size(good[i].text, &v), 0);
        assert_int_equal(v, good[i].value);
    }
    static const char *const bad[] = {"", "K", "-1", "+1", " 1", "1 K", "1.5K", "1X", "1KK",
                                      "1Kib", "16777216T", "99999999999999999999", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t v = 7;
        assert_int_equal(units_parse_size(bad[i], &v), -1);
        assert_int_equal(v, 7);
    }
}

static void test_counts(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(units_parse_count("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(units_parse_count("18446744073709551615", &v), 0);
    assert_int_equal(v, UINT64_MAX);
    assert_int_equal(units_parse_count("18446744073709551616", &v), -1);
    assert_int_equal(units_parse_count("-1", &v), -1);
    assert_int_equal(units_parse_count("1K", &v), -1);
    assert_int_equal(units_parse_count("", &v), -1);
}

static void test_rates(void **state)
{
    (void)state;
    double v;
    assert_int_equal(units_parse_rate("200", &v), 0);
    assert_true(v == 200.0);
    assert_int_equal(units_parse_rate("1.5K/s", &v), 0);
    assert_true(v == 1536.0);
    assert_int_equal(units_parse_rate("2M", &v), 0);
    assert_true(v == 2097152.0);
    assert_int_equal(units_parse_rate(".5/s", &v), 0);
    assert_true(v == 0.5);
    assert_int_equal(units_parse_rate("-1", &v), -1);
    assert_int_equal(units_parse_rate("inf", &v), -1);
    assert_int_equal(units_parse_rate("nan", &v), -1);
    assert_int_equal(units_parse_rate("1/m", &v), -1);
    assert_int_equal(units_parse_rate("1K/s/s", &v), -1);
}

static void test_thresholds(void **state)
{
    (void)state;
    struct growth_threshold t;
    assert_int_equal(units_parse_threshold("10%", &t), 0);
    assert_true(t.percent == 10.0);
    assert_int_equal(t.bytes, 0);
    assert_int_equal(units_parse_threshold("4K", &t), 0);
    assert_true(t.percent == 0.0);
    assert_int_equal(t.bytes, 4096);
    assert_int_equal(units_parse_threshold("12.5%,1K", &t), 0);
    assert_true(t.percent == 12.5);
    assert_int_equal(t.bytes, 1024);
    assert_int_equal(units_parse_threshold("100,5%", &t), 0);
    assert_true(t.percent == 5.0);
    assert_int_equal(t.bytes, 100);
    static const char *const bad[] = {"", "%", "10%,", ",10%", "10%,20%", "1K,2K", "-5%", "10 %",
                                      "10%;1K", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(units_parse_threshold(bad[i], &t), -1);
}

static void test_times(void **state)
{
    (void)state;
    assert_int_equal(units_classify_time("12.5"), 1);
    assert_int_equal(units_classify_time("0"), 1);
    assert_int_equal(units_classify_time("warm"), 0);
    assert_int_equal(units_classify_time("after-warmup"), 0);
    assert_int_equal(units_classify_time(""), -1);
    assert_int_equal(units_classify_time("-4"), -1);
    assert_int_equal(units_classify_time("1.2.3"), -1);
    assert_int_equal(units_classify_time("3rd"), -1);
}

static void test_human(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(units_human_bytes(34, buf), "34 B");
    assert_string_equal(units_human_bytes(13600, buf), "13.3 KiB");
    assert_string_equal(units_human_bytes(3u << 20, buf), "3.0 MiB");
    assert_string_equal(units_grouped(0, buf), "0");
    assert_string_equal(units_grouped(999, buf), "999");
    assert_string_equal(units_grouped(13600, buf), "13,600");
    assert_string_equal(units_grouped(1234567, buf), "1,234,567");
    assert_string_equal(units_grouped(UINT64_MAX, buf), "18,446,744,073,709,551,615");
    assert_string_equal(units_noun(1, "block", "blocks"), "block");
    assert_string_equal(units_noun(0, "block", "blocks"), "blocks");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),      cmocka_unit_test(test_counts),
        cmocka_unit_test(test_rates),      cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_times),      cmocka_unit_test(test_human),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
