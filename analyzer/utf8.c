/* UTF-8 validation and printable copies; see utf8.h. */
#include "utf8.h"

int utf8_sequence(const unsigned char *s)
{
    int n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (s[0] >= 0xf8)
        return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

const char *utf8_printable(const char *s, char *buf, size_t len)
{
    const unsigned char *in = (const unsigned char *)s;
    size_t used = 0;
    while (*in) {
        int n = *in >= 0x80 ? utf8_sequence(in) : 1;
        if (used + (n ? (size_t)n : 1) >= len)
            break;
        if (n > 1) {
            for (int i = 0; i < n; i++)
                buf[used++] = (char)*in++;
            continue;
        }
        buf[used++] = !n || *in < 0x20 || *in == 0x7f ? '?' : (char)*in;
        in++;
    }
    buf[used] = 0;
    return buf;
}
