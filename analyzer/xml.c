/* XML escaping; see xml.h. */
#include "xml.h"

#include "utf8.h"

void xml_text(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        unsigned char c = *p;
        int n = c >= 0x80 ? utf8_sequence(p) : 1;
        if (c == '<')
            fputs("&lt;", out);
        else if (c == '>')
            fputs("&gt;", out);
        else if (c == '&')
            fputs("&amp;", out);
        else if (c == '"')
            fputs("&quot;", out);
        else if (c == '\'')
            fputs("&apos;", out);
        else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || !n)
            fputs("\xef\xbf\xbd", out); /* U+FFFD */
        else
            fwrite(p, 1, (size_t)n, out);
        p += n ? n : 1;
    }
}
