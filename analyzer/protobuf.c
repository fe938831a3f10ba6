/* The protocol-buffers wire format; see protobuf.h. */
#include "protobuf.h"

#include <stdlib.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

static int reserve(struct pb_buf *b, size_t more)
{
    if (b->failed)
        return -1;
    if (b->cap - b->len >= more)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2)
            goto fail;
        cap *= 2;
    }
    uint8_t *data = realloc(b->data, cap);
    if (!data)
        goto fail;
    b->data = data;
    b->cap = cap;
    return 0;
fail:
    b->failed = 1;
    return -1;
}

static void append(struct pb_buf *b, const void *data, size_t len)
{
    if (len && reserve(b, len) == 0) {
        memcpy(b->data + b->len, data, len);
        b->len += len;
    }
}

void pb_reset(struct pb_buf *b)
{
    b->len = 0;
}

void pb_free(struct pb_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void pb_varint(struct pb_buf *b, uint64_t v)
{
    uint8_t bytes[10];
    size_t n = 0;
    do {
        bytes[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            bytes[n] |= 0x80;
        n++;
    } while (v);
    append(b, bytes, n);
}

static void tag(struct pb_buf *b, uint32_t field, unsigned wire_type)
{
    pb_varint(b, (uint64_t)field << 3 | wire_type);
}

void pb_uint_field(struct pb_buf *b, uint32_t field, uint64_t v)
{
    tag(b, field, WIRE_VARINT);
    pb_varint(b, v);
}

void pb_int_field(struct pb_buf *b, uint32_t field, int64_t v)
{
    pb_uint_field(b, field, (uint64_t)v); /* two's complement, as protobuf's int64 */
}

void pb_bytes_field(struct pb_buf *b, uint32_t field, const void *data, size_t len)
{
    tag(b, field, WIRE_LEN);
    pb_varint(b, len);
    append(b, data, len);
}

void pb_string_field(struct pb_buf *b, uint32_t field, const char *s)
{
    pb_bytes_field(b, field, s, s ? strlen(s) : 0);
}

void pb_message(struct pb_buf *b, uint32_t field, const struct pb_buf *msg)
{
    if (msg->failed)
        b->failed = 1;
    pb_bytes_field(b, field, msg->data, msg->len);
}

void pb_packed_uints(struct pb_buf *b, uint32_t field, const uint64_t *v, size_t n)
{
    if (!n)
        return;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = v[i];
        do {
            len++;
            x >>= 7;
        } while (x);
    }
    tag(b, field, WIRE_LEN);
    pb_varint(b, len);
    for (size_t i = 0; i < n; i++)
        pb_varint(b, v[i]);
}
