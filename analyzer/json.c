/* JSON string output; see json.h. */
#include "json.h"

#include <stdint.h>

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static int utf8_sequence(const unsigned char *s)
{
    int n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (s[0] >= 0xf8)
        return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

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
