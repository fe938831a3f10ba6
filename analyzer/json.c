/* JSON string output; see json.h. */
#include "json.h"

#include <stdint.h>

#include "utf8.h"

void json_string(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc(c, out);
        } else if (c == '\n') {
            fputs("\\n", out);
        } else if (c == '\t') {
            fputs("\\t", out);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\u%04x", c);
        } else if (c >= 0x80) {
            int n = utf8_sequence(p);
            if (!n) {
                fputs("\\ufffd", out);
                p++;
                continue;
            }
            fwrite(p, 1, (size_t)n, out);
            p += n;
            continue;
        } else {
            fputc(c, out);
        }
        p++;
    }
    fputc('"', out);
}
