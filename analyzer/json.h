/* Tiny helpers for writing JSON to a stdio stream: strings escaped per RFC 8259, NULL
 * written as null. Used by every JSON-speaking output. */
#ifndef LEAKSHIM_JSON_H
#define LEAKSHIM_JSON_H

#include <stdio.h>

/* Writes s as a JSON string, or null when s is NULL. Bytes that are not valid UTF-8 are
 * written as U+FFFD so that the output always parses. */
void json_string(FILE *out, const char *s);

#endif
