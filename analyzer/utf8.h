/* UTF-8 validation for the text outputs (JSON, XML) that must always parse, whatever bytes
 * a symbol or a path holds, and printable copies of names that come from the traced program
 * (marks) for the plain-text outputs, one line per item whatever their bytes. */
#ifndef LEAKSHIM_UTF8_H
#define LEAKSHIM_UTF8_H

#include <stddef.h>

/* Length (2 to 4) of the valid multi-byte UTF-8 sequence at s, or 0 if it is not one. */
int utf8_sequence(const unsigned char *s);

/* A copy of `s` in buf (len > 0) in which control characters (a newline, ESC) and bytes that
 * are not UTF-8 are '?', cut to len - 1 bytes on a character's boundary. Returns buf. */
const char *utf8_printable(const char *s, char *buf, size_t len);

#endif
