/* Unit tests for analyzer/sparkline.c: exact characters for a ramp, a flat series and zeros,
 * and resampling to the width by the last value of each cell. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sparkline.h"

static void test_ramp_flat_zero(void **state)
{
    (void)state;
    char out[3 * 16 + 1];
    const uint64_t ramp[] = {0, 1, 2, 3, 4, 5, 6, 7};
    assert_string_equal(sparkline(ramp, 8, 16, out), "▁▂▃▄▅▆▇█");
    const uint64_t flat[] = {5, 5, 5};
    assert_string_equal(sparkline(flat, 3, 16, out), "███");
    const uint64_t zero[] = {0, 0};
    assert_string_equal(sparkline(zero, 2, 16, out), "▁▁");
    assert_string_equal(sparkline(zero, 0, 16, out), "");
}

static void test_resampled_to_width(void **state)
{
    (void)state;
    char out[3 * 4 + 1];
    uint64_t values[64];
    for (int i = 0; i < 64; i++)
        values[i] = i < 32 ? 0 : 70; /* each of 4 cells shows the last of its 16 values */
    assert_string_equal(sparkline(values, 64, 4, out), "▁▁██");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ramp_flat_zero),
        cmocka_unit_test(test_resampled_to_width),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
