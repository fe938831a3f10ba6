/* Reading alert files; see alerts.h. Each line is parsed by a small recursive-descent JSON
 * reader that validates the whole object (RFC 8259, nesting bounded by ALERT_MAX_DEPTH) and
 * keeps only the two members the report draws. */
#include "alerts.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALERT_MAX_DEPTH 64

struct cursor {
    const char *p, *end;
    const char *why; /* set at the first error */
};

static void skip_space(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

static int fail(struct cursor *c, const char *why)
{
    if (!c->why)
        c->why = why;
    return -1;
}

static int expect(struct cursor *c, char ch)
{
    skip_space(c);
    if (c->p >= c->end || *c->p != ch)
        return fail(c, "not valid JSON");
    c->p++;
    return 0;
}

static void put_utf8(char *out, size_t *n, uint32_t cp)
{
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xc0 | cp >> 6);
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xe0 | cp >> 12);
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*n)++] = (char)(0xf0 | cp >> 18);
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

static int hex4(struct cursor *c, uint32_t *out)
{
    *out = 0;
    for (int i = 0; i < 4; i++, c->p++) {
        if (c->p >= c->end)
            return fail(c, "not valid JSON");
        char h = *c->p;
        int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
              : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (v < 0)
            return fail(c, "not valid JSON");
        *out = *out << 4 | (uint32_t)v;
    }
    return 0;
}

/* A string at the cursor; decoded into a malloc'd *out when out is not NULL (a string's
 * decoded form is never longer than its JSON form). */
static int string(struct cursor *c, char **out)
{
    if (expect(c, '"') < 0)
        return -1;
    const char *start = c->p;
    char *text = out ? malloc((size_t)(c->end - start) + 1) : NULL;
    size_t n = 0;
    if (out && !text)
        return fail(c, "out of memory");
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p++;
        if (ch < 0x20) {
            free(text);
            return fail(c, "not valid JSON");
        }
        if (ch != '\\') {
            if (text)
                text[n++] = (char)ch;
            continue;
        }
        if (c->p >= c->end || *c->p == 0)
            break;
        char e = *c->p++;
        static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
        const char *known = e != 'u' ? strchr(escapes, e) : NULL;
        uint32_t cp;
        if (known && (known - escapes) % 2 == 0) {
            if (text)
                text[n++] = known[1];
        } else if (e == 'u' && hex4(c, &cp) == 0) {
            if (cp >= 0xd800 && cp < 0xdc00 && c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') {
                uint32_t low;
                c->p += 2;
                if (hex4(c, &low) < 0) {
                    free(text);
                    return -1;
                }
                cp = low >= 0xdc00 && low < 0xe000 ? 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00)
                                                   : 0xfffd;
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd; /* a lone surrogate */
            }
            if (text)
                put_utf8(text, &n, cp);
        } else {
            free(text);
            return fail(c, "not valid JSON");
        }
    }
    if (c->p >= c->end) {
        free(text);
        return fail(c, "not valid JSON");
    }
    c->p++;
    if (text) {
        text[n] = 0;
        *out = text;
    }
    return 0;
}

/* A number at the cursor, in JSON's grammar. */
static int number(struct cursor *c, double *out)
{
    skip_space(c);
    const char *s = c->p;
    if (c->p < c->end && *c->p == '-')
        c->p++;
    const char *digits = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++;
    if (c->p == digits || (*digits == '0' && c->p - digits > 1))
        return fail(c, "not valid JSON");
    if (c->p < c->end && *c->p == '.') {
        const char *frac = ++c->p;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
        if (c->p == frac)
            return fail(c, "not valid JSON");
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        const char *exp = c->p;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
        if (c->p == exp)
            return fail(c, "not valid JSON");
    }
    char buf[64];
    size_t len = (size_t)(c->p - s);
    if (len >= sizeof buf)
        len = sizeof buf - 1; /* a longer number loses only precision it could not have */
    memcpy(buf, s, len);
    buf[len] = 0;
    *out = strtod(buf, NULL);
    return 0;
}

static int word(struct cursor *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
        return fail(c, "not valid JSON");
    c->p += n;
    return 0;
}

/* Any value, checked and skipped. */
static int skip_value(struct cursor *c, int depth)
{
    skip_space(c);
    if (c->p >= c->end)
        return fail(c, "not valid JSON");
    if (depth > ALERT_MAX_DEPTH)
        return fail(c, "nested too deeply");
    double ignored;
    switch (*c->p) {
    case '"': return string(c, NULL);
    case 't': return word(c, "true");
    case 'f': return word(c, "false");
    case 'n': return word(c, "null");
    case '[':
    case '{': {
        char close = *c->p == '[' ? ']' : '}';
        int object = close == '}';
        c->p++;
        skip_space(c);
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return 0;
        }
        for (;;) {
            if (object && (string(c, NULL) < 0 || expect(c, ':') < 0))
                return -1;
            if (skip_value(c, depth + 1) < 0)
                return -1;
            skip_space(c);
            if (c->p < c->end && *c->p == ',') {
                c->p++;
                continue;
            }
            return expect(c, close);
        }
    }
    default: return number(c, &ignored);
    }
}

/* watch writes "time"; "time_s" is read the same. */
static int is_time_key(const char *key)
{
    return strcmp(key, "time") == 0 || strcmp(key, "time_s") == 0;
}

/* One line: an object with a time and a kind. */
static int parse_alert(struct cursor *c, struct alert *out)
{
    int have_time = 0;
    out->kind = NULL;
    skip_space(c);
    if (c->p >= c->end || *c->p != '{')
        return fail(c, "not a JSON object");
    c->p++;
    skip_space(c);
    int empty = c->p < c->end && *c->p == '}';
    while (!empty) {
        char *key = NULL;
        if (string(c, &key) < 0 || expect(c, ':') < 0) {
            free(key);
            return -1;
        }
        skip_space(c);
        int rc;
        if (is_time_key(key) && !have_time && c->p < c->end && (*c->p == '-' || (*c->p >= '0' && *c->p <= '9'))) {
            rc = number(c, &out->time_s);
            have_time = rc == 0;
        } else if (strcmp(key, "kind") == 0 && c->p < c->end && *c->p == '"' && !out->kind) {
            rc = string(c, &out->kind);
        } else {
            rc = skip_value(c, 1);
        }
        free(key);
        if (rc < 0)
            return -1;
        skip_space(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        break;
    }
    if (expect(c, '}') < 0)
        return -1;
    skip_space(c);
    if (c->p != c->end)
        return fail(c, "not one JSON object");
    if (!have_time || !out->kind || !isfinite(out->time_s))
        return fail(c, "an alert needs \"time\" (a number: seconds since the process started) and "
                       "\"kind\" (a string)");
    return 0;
}

static int append(struct alert_list *list, const struct alert *a)
{
    if (list->count == list->capacity) {
        size_t cap = list->capacity ? 2 * list->capacity : 16;
        struct alert *grown = realloc(list->items, cap * sizeof *grown);
        if (!grown)
            return -1;
        list->items = grown;
        list->capacity = cap;
    }
    list->items[list->count++] = *a;
    return 0;
}

int alerts_read(const char *path, struct alert_list *out, char *error, size_t error_len)
{
    memset(out, 0, sizeof *out);
    FILE *in = fopen(path, "r");
    if (!in) {
        snprintf(error, error_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, number_of_line = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, in)) >= 0) {
        number_of_line++;
        struct cursor c = {line, line + len, NULL};
        skip_space(&c);
        if (c.p == c.end)
            continue;
        struct alert a = {0};
        if (parse_alert(&c, &a) < 0 || append(out, &a) < 0) {
            free(a.kind);
            snprintf(error, error_len, "%s:%zu: %s", path, number_of_line,
                     c.why ? c.why : "out of memory");
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(in)) {
        snprintf(error, error_len, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    free(line);
    fclose(in);
    if (rc < 0)
        alerts_free(out);
    return rc;
}

void alerts_free(struct alert_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i].kind);
    free(list->items);
    memset(list, 0, sizeof *list);
}
