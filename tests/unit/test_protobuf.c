/* The protocol-buffers encoder: varint boundaries, negative int64, tags, length-delimited
 * and packed fields, nested messages, and the sticky failure flag, against bytes worked out
 * by hand from the wire-format specification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "protobuf.h"

static void assert_bytes(const struct pb_buf *b, const uint8_t *want, size_t len)
{
    assert_false(b->failed);
    assert_int_equal(b->len, len);
    assert_memory_equal(b->data, want, len);
}

static void test_varint_boundaries(void **state)
{
    (void)state;
    struct pb_buf b = {0};
    pb_varint(&b, 0);
    pb_varint(&b, 1);
    pb_varint(&b, 127);
    pb_varint(&b, 128);
    pb_varint(&b, 300);
    pb_varint(&b, 16383);
    pb_varint(&b, 16384);
    static const uint8_t want[] = {0x00, 0x01, 0x7f, 0x80, 0x01, 0xac, 0x02,
                                   0xff, 0x7f, 0x80, 0x80, 0x01};
    assert_bytes(&b, want, sizeof want);
    pb_reset(&b);
    pb_varint(&b, UINT64_MAX);
    static const uint8_t max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_bytes(&b, max, sizeof max);
    pb_free(&b);
}

static void test_scalar_fields(void **state)
{
    (void)state;
    struct pb_buf b = {0};
    pb_uint_field(&b, 1, 150);  /* the specification's example: 08 96 01 */
    pb_int_field(&b, 2, -1);    /* int64 -1: ten bytes, not zigzag */
    pb_uint_field(&b, 16, 1);   /* the first field number with a two-byte tag */
    static const uint8_t want[] = {0x08, 0x96, 0x01,
                                   0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                                   0x80, 0x01, 0x01};
    assert_bytes(&b, want, sizeof want);
    pb_free(&b);
}

static void test_length_delimited_fields(void **state)
{
    (void)state;
    struct pb_buf b = {0};
    pb_string_field(&b, 2, "testing"); /* the specification's example: 12 07 74 65 73 74 69 6e 67 */
    pb_string_field(&b, 6, "");
    pb_string_field(&b, 6, NULL);
    static const uint8_t want[] = {0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g',
                                   0x32, 0x00, 0x32, 0x00};
    assert_bytes(&b, want, sizeof want);
    pb_free(&b);
}

static void test_nested_message(void **state)
{
    (void)state;
    struct pb_buf inner = {0}, outer = {0};
    pb_uint_field(&inner, 1, 150);
    pb_message(&outer, 3, &inner); /* the specification's example: 1a 03 08 96 01 */
    static const uint8_t want[] = {0x1a, 0x03, 0x08, 0x96, 0x01};
    assert_bytes(&outer, want, sizeof want);
    pb_free(&inner);
    pb_free(&outer);
}

static void test_packed_repeated(void **state)
{
    (void)state;
    struct pb_buf b = {0};
    static const uint64_t values[] = {3, 270, 86942}; /* the specification's example */
    pb_packed_uints(&b, 4, values, 3);
    pb_packed_uints(&b, 5, values, 0); /* nothing at all */
    static const uint8_t want[] = {0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05};
    assert_bytes(&b, want, sizeof want);
    pb_free(&b);
}

static void test_large_buffer_grows(void **state)
{
    (void)state;
    struct pb_buf b = {0};
    for (uint64_t i = 0; i < 100000; i++)
        pb_uint_field(&b, 1, i);
    assert_false(b.failed);
    /* 1 tag byte each, then 1 byte for 0..127, 2 for ..16383, 3 for the rest */
    assert_int_equal(b.len, 100000 + 128 + 2 * (16384 - 128) + 3 * (100000 - 16384));
    assert_int_equal(b.data[b.len - 4], 0x08);
    pb_free(&b);
}

static void test_failure_is_sticky_and_propagates(void **state)
{
    (void)state;
    struct pb_buf inner = {.failed = 1}, outer = {0};
    pb_uint_field(&inner, 1, 5);
    assert_int_equal(inner.len, 0); /* nothing is written after a failure */
    pb_message(&outer, 2, &inner);
    assert_true(outer.failed);
    pb_free(&inner);
    pb_free(&outer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_boundaries),
        cmocka_unit_test(test_scalar_fields),
        cmocka_unit_test(test_length_delimited_fields),
        cmocka_unit_test(test_nested_message),
        cmocka_unit_test(test_packed_repeated),
        cmocka_unit_test(test_large_buffer_grows),
        cmocka_unit_test(test_failure_is_sticky_and_propagates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
