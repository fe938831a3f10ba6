/* A minimal protocol-buffers encoder (the wire format only: varints and length-delimited
 * fields), enough to write pprof's profile.proto without a code generator.
 *
 * A message is built in a pb_buf, a growable byte buffer. A nested message is built in a
 * buffer of its own and appended to its parent with pb_message. Errors are sticky: after an
 * allocation fails, every call does nothing and pb_buf.failed stays set, so a writer checks
 * once at the end. Used by report_pprof.c. */
#ifndef LEAKSHIM_PROTOBUF_H
#define LEAKSHIM_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

struct pb_buf {
    uint8_t *data;
    size_t len, cap;
    int failed; /* an allocation failed: the contents are incomplete */
};

/* Empties b for reuse, keeping its memory (and its failed flag). */
void pb_reset(struct pb_buf *b);
void pb_free(struct pb_buf *b);

/* The raw base-128 varint of v (1 to 10 bytes). */
void pb_varint(struct pb_buf *b, uint64_t v);

/* Field `field` with wire type 0 (varint): uint64, int64 (negative values take 10 bytes, as
 * protobuf's int64 does) and bool. Writers of proto3 may leave out zero values. */
void pb_uint_field(struct pb_buf *b, uint32_t field, uint64_t v);
void pb_int_field(struct pb_buf *b, uint32_t field, int64_t v);

/* Field `field` with wire type 2 (length-delimited): bytes, a string (without its NUL; NULL
 * is the empty string) and a nested message already encoded in `msg`. */
void pb_bytes_field(struct pb_buf *b, uint32_t field, const void *data, size_t len);
void pb_string_field(struct pb_buf *b, uint32_t field, const char *s);
void pb_message(struct pb_buf *b, uint32_t field, const struct pb_buf *msg);

/* A packed repeated varint field (proto3's default for repeated scalars); nothing when n is
 * 0. */
void pb_packed_uints(struct pb_buf *b, uint32_t field, const uint64_t *v, size_t n);

#endif
