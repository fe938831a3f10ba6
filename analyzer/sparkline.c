/* Sparklines; see sparkline.h. */
#include "sparkline.h"

#include <string.h>

const char *sparkline(const uint64_t *values, size_t n, size_t width, char *out)
{
    static const char *const blocks[8] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                          "\u2585", "\u2586", "\u2587", "\u2588"};
    size_t cells = n < width ? n : width;
    uint64_t max = 0;
    for (size_t i = 0; i < n; i++)
        if (values[i] > max)
            max = values[i];
    char *p = out;
    for (size_t c = 0; c < cells; c++) {
        size_t i = (c + 1) * n / cells - 1; /* the last value this cell covers */
        unsigned level = max ? (unsigned)((values[i] * 7 + max / 2) / max) : 0;
        memcpy(p, blocks[level], 3);
        p += 3;
    }
    *p = 0;
    return out;
}
