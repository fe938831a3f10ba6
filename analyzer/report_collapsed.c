/* `leakshim report --format collapsed`: folded stacks, the input of flamegraph.pl, inferno
 * and speedscope. One line per suspect stack,
 *
 *     main;handle;copy_header 13600
 *
 * frames from the outermost caller to the code that called the allocator (inlined calls are
 * frames of their own, the caller before the function inlined into it), then one space and
 * the value: leaked bytes, leaked blocks, or bytes allocated in all by the stack (freed or
 * not). Stacks whose value is 0 are left out. Frame names are those of frame_name.c; a `;`
 * inside a name becomes `,` and a control character (a newline, a tab) becomes `?`, so a line
 * is always one stack. Stacks that differ only in addresses (a call site in an unrolled loop)
 * fold into one line with the sum of their values; lines come largest value first, then in
 * byte order of their frames. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

int collapsed_parse_value(const char *word, enum collapsed_value *out)
{
    static const struct {
        const char *word;
        enum collapsed_value value;
    } words[] = {{"leaked", COLLAPSED_LEAKED}, {"allocated", COLLAPSED_ALLOCATED},
                 {"count", COLLAPSED_COUNT}};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcmp(word, words[i].word) == 0) {
            *out = words[i].value;
            return 0;
        }
    return -1;
}

static uint64_t value_of(const struct suspect *s, enum collapsed_value v)
{
    switch (v) {
    case COLLAPSED_ALLOCATED:
        return s->allocated_bytes;
    case COLLAPSED_COUNT:
        return s->leaked_blocks;
    case COLLAPSED_LEAKED:
        break;
    }
    return s->leaked_bytes;
}

static void put_name(FILE *out, const char *name)
{
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        if (*c == ';')
            fputc(',', out);
        else if (*c < 0x20 || *c == 0x7f)
            fputc('?', out);
        else
            fputc(*c, out);
    }
}

/* A suspect's frames, folded: outermost first, separated by `;`. Returns a malloc'd string,
 * or NULL on out of memory. */
static char *folded_frames(const struct suspect *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    if (!s->frame_count)
        fputs(UNKNOWN_STACK_NAME, out);
    for (uint32_t k = s->frame_count; k-- > 0;) {
        char buf[300];
        put_name(out, frame_name(&s->frames[k], buf, sizeof buf));
        if (k)
            fputc(';', out);
    }
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

struct folded {
    char *frames;
    uint64_t value;
};

static int by_frames(const void *a, const void *b)
{
    return strcmp(((const struct folded *)a)->frames, ((const struct folded *)b)->frames);
}

static int by_value_then_frames(const void *a, const void *b)
{
    const struct folded *x = a, *y = b;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return by_frames(a, b);
}

int report_collapsed(FILE *out, const struct suspect_list *suspects, enum collapsed_value v)
{
    struct folded *lines = calloc(suspects->count + 1, sizeof *lines);
    if (!lines)
        return -1;
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < suspects->count; i++) {
        uint64_t value = value_of(&suspects->items[i], v);
        if (!value)
            continue;
        lines[n].frames = folded_frames(&suspects->items[i]);
        if (!lines[n].frames) {
            rc = -1;
            goto done;
        }
        lines[n++].value = value;
    }
    qsort(lines, n, sizeof *lines, by_frames);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept && strcmp(lines[kept - 1].frames, lines[i].frames) == 0) {
            lines[kept - 1].value += lines[i].value;
            free(lines[i].frames);
        } else {
            lines[kept++] = lines[i];
        }
    }
    n = kept;
    qsort(lines, n, sizeof *lines, by_value_then_frames);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s %" PRIu64 "\n", lines[i].frames, lines[i].value);
done:
    for (size_t i = 0; i < n; i++)
        free(lines[i].frames);
    free(lines);
    return rc;
}
