/* Writing XML text and attribute values: the five special characters escaped, control
 * characters that XML 1.0 forbids and bytes that are not valid UTF-8 written as U+FFFD, so
 * that the document always parses. Used by the JUnit output. */
#ifndef LEAKSHIM_XML_H
#define LEAKSHIM_XML_H

#include <stdio.h>

void xml_text(FILE *out, const char *s);

#endif
