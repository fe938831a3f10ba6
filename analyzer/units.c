/* Parsing and printing quantities; see units.h. */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The multiplier of a binary suffix at *p (K, M, G, T, either case, optionally followed by
 * B or iB); advances *p past it. 1 when there is none. 0 for a letter that is not one. */
static uint64_t suffix_multiplier(const char **p)
{
    static const char letters[] = "kmgt";
    const char *at = strchr(letters, tolower((unsigned char)**p));
    if (!**p || !at)
        return 1;
    (*p)++;
    if (strncmp(*p, "iB", 2) == 0)
        *p += 2;
    else if (**p == 'B')
        (*p)++;
    return (uint64_t)1 << (10 * (at - letters + 1));
}

int units_parse_count(const char *text, uint64_t *out)
{
    if (!isdigit((unsigned char)text[0]))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* A size at the start of text; *end gets where it stopped. */
static int parse_size_prefix(const char *text, uint64_t *out, const char **end)
{
    if (!isdigit((unsigned char)text[0]))
        return -1;
    char *stop;
    errno = 0;
    unsigned long long v = strtoull(text, &stop, 10);
    if (errno)
        return -1;
    const char *p = stop;
    uint64_t m = suffix_multiplier(&p);
    if (m > 1 && v > UINT64_MAX / m)
        return -1;
    *out = v * m;
    *end = p;
    return 0;
}

int units_parse_size(const char *text, uint64_t *out)
{
    const char *end;
    uint64_t v;
    if (parse_size_prefix(text, &v, &end) < 0 || *end)
        return -1;
    *out = v;
    return 0;
}

int units_parse_rate(const char *text, double *out)
{
    if (!isdigit((unsigned char)text[0]) && text[0] != '.')
        return -1;
    char *stop;
    errno = 0;
    double v = strtod(text, &stop);
    if (errno || stop == text || !isfinite(v) || v < 0)
        return -1;
    const char *p = stop;
    v *= (double)suffix_multiplier(&p);
    if (strcmp(p, "/s") == 0)
        p += 2;
    if (*p)
        return -1;
    *out = v;
    return 0;
}

int units_parse_threshold(const char *text, struct growth_threshold *out)
{
    struct growth_threshold t = {0, 0};
    int have_percent = 0, have_bytes = 0;
    const char *p = text;
    for (;;) {
        char *stop;
        if (!isdigit((unsigned char)*p) && *p != '.')
            return -1;
        errno = 0;
        double v = strtod(p, &stop);
        if (*stop == '%') {
            if (have_percent || errno || !isfinite(v) || v < 0)
                return -1;
            t.percent = v;
            have_percent = 1;
            p = stop + 1;
        } else {
            const char *end;
            if (have_bytes || parse_size_prefix(p, &t.bytes, &end) < 0)
                return -1;
            have_bytes = 1;
            p = end;
        }
        if (!*p)
            break;
        if (*p++ != ',')
            return -1;
    }
    *out = t;
    return 0;
}

int units_classify_time(const char *text)
{
    if (!*text)
        return -1;
    if (!isdigit((unsigned char)text[0]) && text[0] != '.' && text[0] != '-' && text[0] != '+')
        return 0;
    char *stop;
    errno = 0;
    double v = strtod(text, &stop);
    if (errno || *stop || !isfinite(v) || v < 0 || text[0] == '+')
        return -1;
    return 1;
}

const char *units_human_bytes(uint64_t bytes, char *buf)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    unsigned u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof *units) {
        v /= 1024;
        u++;
    }
    snprintf(buf, 32, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}

const char *units_grouped(uint64_t value, char *buf)
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)value), o = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = 0;
    return buf;
}

const char *units_noun(uint64_t n, const char *singular, const char *plural)
{
    return n == 1 ? singular : plural;
}
