/* UTF-8 validation for the text outputs (JSON, XML) that must always parse, whatever bytes
 * a symbol or a path holds. */
#ifndef LEAKSHIM_UTF8_H
#define LEAKSHIM_UTF8_H

/* Length (2 to 4) of the valid multi-byte UTF-8 sequence at s, or 0 if it is not one. */
int utf8_sequence(const unsigned char *s);

#endif
