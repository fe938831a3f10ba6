/* `leakshim report --format html`; see report_html.h.
 *
 * The page is the template analyzer/report_html.html with its data put in place of the
 * marker line DATA_MARKER, as one JSON document inside <script type="application/json">.
 * Every `<` of the JSON is written as \u003c, so no `</script>` or `<!--` inside a name or a
 * source line can end the block early; the page reads it with JSON.parse.
 *
 * The data is columnar and interned so that 100,000 suspects stay a few tens of megabytes:
 *   frames    every distinct frame once: [name, file, line, module, offset, source]; name as
 *             the exports give it (frame_name.c), source [first line number, [lines]] or null
 *   suspects  parallel arrays (leaked, blocks, allocated, allocations, growth, growing,
 *             spark, stack); stack lists frame indexes from the allocating call outwards;
 *             spark is the suspect's series over the window, one character per bucket
 *             ('0'..'z': 36 levels of its own maximum); the first `table` suspects leak, the
 *             rest (include_freed) only count towards the allocated flame graph
 *   timeline  the heap time line (at most TIMELINE_MAX_POINTS points, evenly thinned),
 *             marks and alerts
 * Source lines: SOURCE_CONTEXT lines either side of each frame's line, each cut at
 * SOURCE_LINE_MAX bytes, for at most SOURCE_MAX_SNIPPETS frames, from regular files of at
 * most SOURCE_FILE_MAX bytes. */
#include "report_html.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <uthash.h>

#include "json.h"
#include "report.h"

#define DATA_MARKER "@@LEAKSHIM_DATA@@"
#define TIMELINE_MAX_POINTS 20000
#define SOURCE_CONTEXT 3
#define SOURCE_LINE_MAX 240
#define SOURCE_MAX_SNIPPETS 4000
#define SOURCE_FILE_MAX (8u << 20)
#define SPARK_LEVELS "0123456789abcdefghijklmnopqrstuvwxyz"

/* The template, included by the assembler from the source tree (make runs from the top). */
__asm__(".pushsection .rodata\n"
        "report_html_template:\n"
        ".incbin \"analyzer/report_html.html\"\n"
        "report_html_template_end:\n"
        ".byte 0\n"
        ".popsection\n");
extern const char report_html_template[], report_html_template_end[];

/* --- the JSON stream: every '<' escaped --------------------------------------------------- */

static ssize_t escaped_write(void *cookie, const char *buf, size_t n)
{
    FILE *out = cookie;
    const char *p = buf, *end = buf + n, *lt;
    while ((lt = memchr(p, '<', (size_t)(end - p))) != NULL) {
        fwrite(p, 1, (size_t)(lt - p), out);
        fputs("\\u003c", out);
        p = lt + 1;
    }
    fwrite(p, 1, (size_t)(end - p), out);
    return ferror(out) ? -1 : (ssize_t)n;
}

/* --- source files ---------------------------------------------------------------------------- */

struct source_file {
    UT_hash_handle hh;
    char *path;
    char *text;          /* NULL when unreadable */
    size_t *line_starts; /* offsets of lines 1..lines */
    size_t lines;
};

static struct source_file *source_load(struct source_file **cache, const char *path)
{
    struct source_file *f;
    HASH_FIND_STR(*cache, path, f);
    if (f)
        return f;
    f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return NULL;
    }
    HASH_ADD_KEYPTR(hh, *cache, f->path, strlen(f->path), f);
    FILE *in = fopen(path, "rb");
    struct stat st;
    if (!in)
        return f;
    if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= SOURCE_FILE_MAX &&
        (f->text = malloc((size_t)st.st_size + 1)) != NULL) {
        size_t len = fread(f->text, 1, (size_t)st.st_size, in), n = 1;
        f->text[len] = 0;
        for (size_t i = 0; i < len; i++)
            n += f->text[i] == '\n';
        if ((f->line_starts = malloc(n * sizeof *f->line_starts)) != NULL) {
            f->line_starts[f->lines++] = 0;
            for (size_t i = 0; i < len; i++)
                if (f->text[i] == '\n') {
                    f->text[i] = 0;
                    f->line_starts[f->lines++] = i + 1;
                }
        } else {
            free(f->text);
            f->text = NULL;
        }
    }
    fclose(in);
    return f;
}

static void sources_free(struct source_file **cache)
{
    struct source_file *f, *next;
    HASH_ITER(hh, *cache, f, next) {
        HASH_DEL(*cache, f);
        free(f->path);
        free(f->text);
        free(f->line_starts);
        free(f);
    }
}

/* [first, ["line", ...]] for the lines around `line`, or null. */
static void source_json(FILE *out, struct source_file **cache, size_t *budget, const char *path,
                        int line)
{
    const struct source_file *f = path && line > 0 && *budget ? source_load(cache, path) : NULL;
    if (!f || !f->text || (size_t)line > f->lines) {
        fputs("null", out);
        return;
    }
    --*budget;
    size_t first = (size_t)line > SOURCE_CONTEXT ? (size_t)line - SOURCE_CONTEXT : 1;
    size_t last = (size_t)line + SOURCE_CONTEXT < f->lines ? (size_t)line + SOURCE_CONTEXT : f->lines;
    fprintf(out, "[%zu, [", first);
    for (size_t n = first; n <= last; n++) {
        char cut[SOURCE_LINE_MAX + 1];
        const char *text = f->text + f->line_starts[n - 1];
        size_t len = strlen(text);
        while (len && text[len - 1] == '\r')
            len--;
        if (len > SOURCE_LINE_MAX)
            len = SOURCE_LINE_MAX;
        memcpy(cut, text, len);
        cut[len] = 0;
        if (n > first)
            fputs(", ", out);
        json_string(out, cut);
    }
    fputs("]]", out);
}

/* --- frames, interned ---------------------------------------------------------------------- */

/* The symbolizer caches per address, so these pointers identify a frame's text. */
struct frame_key {
    uint64_t address;
    const char *function, *file;
    int line;
};

struct frame_entry {
    UT_hash_handle hh;
    struct frame_key key;
    size_t index;
    const struct suspect_frame *frame;
};

struct frame_table {
    struct frame_entry *by_key;
    const struct suspect_frame **frames; /* by index */
    size_t count, capacity;
};

static void frame_key_of(const struct suspect_frame *f, struct frame_key *k)
{
    memset(k, 0, sizeof *k); /* the padding is hashed too */
    k->address = f->address;
    k->function = f->sym.function;
    k->file = f->sym.file;
    k->line = f->sym.line;
}

/* The frame's index, interning it if new; -1 on out of memory. */
static long long frame_intern(struct frame_table *t, const struct suspect_frame *f)
{
    struct frame_key k;
    struct frame_entry *e;
    frame_key_of(f, &k);
    HASH_FIND(hh, t->by_key, &k, sizeof k, e);
    if (e)
        return (long long)e->index;
    if (t->count == t->capacity) {
        size_t cap = t->capacity ? 2 * t->capacity : 256;
        const struct suspect_frame **grown = realloc(t->frames, cap * sizeof *grown);
        if (!grown)
            return -1;
        t->frames = grown;
        t->capacity = cap;
    }
    if (!(e = calloc(1, sizeof *e)))
        return -1;
    e->key = k;
    e->index = t->count;
    e->frame = f;
    t->frames[t->count++] = f;
    HASH_ADD(hh, t->by_key, key, sizeof k, e);
    return (long long)e->index;
}

static void frame_table_free(struct frame_table *t)
{
    struct frame_entry *e, *next;
    HASH_ITER(hh, t->by_key, e, next) {
        HASH_DEL(t->by_key, e);
        free(e);
    }
    free(t->frames);
}

static void frames_json(FILE *out, const struct frame_table *t)
{
    struct source_file *cache = NULL;
    size_t budget = SOURCE_MAX_SNIPPETS;
    fputs("\"frames\": [", out);
    for (size_t i = 0; i < t->count; i++) {
        const struct suspect_frame *f = t->frames[i];
        char name[300];
        fputs(i ? ",\n" : "\n", out);
        fputc('[', out);
        json_string(out, frame_name(f, name, sizeof name));
        fputs(", ", out);
        json_string(out, f->sym.file);
        fprintf(out, ", %d, ", f->sym.line > 0 ? f->sym.line : 0);
        json_string(out, f->sym.module);
        fprintf(out, ", \"0x%" PRIx64 "\", ", f->sym.module ? f->sym.module_offset : f->address);
        source_json(out, &cache, &budget, f->sym.file, f->sym.line);
        fputc(']', out);
    }
    fputs("],\n", out);
    sources_free(&cache);
}

/* --- the rest of the data -------------------------------------------------------------------- */

static void process_json(FILE *out, const struct replay *r, const struct suspect_list *list)
{
    const struct replay_summary *s = &r->summary;
    size_t leaking = 0; /* of every suspect, kept or not */
    for (size_t i = 0; i < list->total; i++)
        leaking += list->items[i].leaked_blocks > 0;
    fputs("\"process\": {\"exe\": ", out);
    json_string(out, r->process.seen ? r->process.exe : NULL);
    fprintf(out, ", \"pid\": %" PRIu64 ", \"duration_s\": %.3f, \"complete\": %s, \"end\": %s},\n",
            r->process.pid, (double)s->last_time_ns / 1e9, r->complete ? "true" : "false",
            !r->complete ? "null" : r->ended_by_exec ? "\"exec\"" : "\"exit\"");
    fprintf(out,
            "\"summary\": {\"allocations\": %" PRIu64 ", \"frees\": %" PRIu64
            ", \"peak_bytes\": %" PRIu64 ", \"leaked_bytes\": %" PRIu64
            ", \"leaked_allocations\": %" PRIu64 ", \"lost_events\": %" PRIu64
            ", \"recovered_events\": %" PRIu64 ", \"unmatched_frees\": %" PRIu64
            ", \"leaking_stacks\": %zu},\n",
            s->allocations, s->frees, s->peak_bytes, s->leaked_bytes, s->leaked_blocks,
            s->lost_events, s->recovered_events, s->unmatched_frees, leaking);
    const struct replay_window *w = &r->window;
    fprintf(out, "\"window\": {\"since_s\": %.3f, \"until_s\": %.3f, \"since_mark\": ",
            (double)w->open_ns / 1e9, (double)w->close_ns / 1e9);
    json_string(out, w->since.kind == BOUND_MARK ? w->since.mark : NULL);
    fputs(", \"until_mark\": ", out);
    json_string(out, w->until.kind == BOUND_MARK ? w->until.mark : NULL);
    fprintf(out, ", \"whole\": %s},\n",
            w->since.kind == BOUND_NONE && w->until.kind == BOUND_NONE ? "true" : "false");
}

static void timeline_json(FILE *out, const struct timeline *t, const struct alert_list *alerts)
{
    size_t stride = t->count / TIMELINE_MAX_POINTS + 1;
    static const char *const columns[] = {"t", "live", "rss"};
    fputs("\"timeline\": {", out);
    for (size_t c = 0; c < 3; c++) {
        fprintf(out, "%s\"%s\": [", c ? ", " : "", columns[c]);
        for (size_t i = 0, first = 1; i < t->count; i++) {
            if (i % stride && i + 1 != t->count)
                continue;
            const struct heap_point *p = &t->points[i];
            fputs(first ? "" : ",", out);
            first = 0;
            if (c == 0)
                fprintf(out, "%.4f", (double)p->ns / 1e9);
            else
                fprintf(out, "%" PRIu64, c == 1 ? p->live_bytes : p->rss_bytes);
        }
        fputc(']', out);
    }
    fputs(",\n\"marks\": [", out);
    for (size_t i = 0; i < t->mark_count; i++) {
        fputs(i ? ", " : "", out);
        fprintf(out, "{\"t_s\": %.4f, \"name\": ", (double)t->marks[i].ns / 1e9);
        json_string(out, t->marks[i].name);
        fputc('}', out);
    }
    fputs("],\n\"alerts\": [", out);
    for (size_t i = 0; alerts && i < alerts->count; i++) {
        fprintf(out, "%s{\"t_s\": %.4f, \"kind\": ", i ? ", " : "", alerts->items[i].time_s);
        json_string(out, alerts->items[i].kind);
        fputc('}', out);
    }
    fputs("]},\n", out);
}

/* A series over the window as spark characters (see the top of the file). */
static void spark_json(FILE *out, const struct series *s, const struct suspect_list *list)
{
    uint64_t max = 0;
    for (uint32_t b = list->first_bucket; b <= list->last_bucket && b < SERIES_BUCKETS; b++)
        if (series_at(s, b) > max)
            max = series_at(s, b);
    fputc('"', out);
    for (uint32_t b = list->first_bucket; max && b <= list->last_bucket && b < SERIES_BUCKETS; b++) {
        double level = (double)series_at(s, b) / (double)max * (sizeof SPARK_LEVELS - 2);
        fputc(SPARK_LEVELS[(size_t)(level + 0.5)], out);
    }
    fputc('"', out);
}

static void heap_series_json(FILE *out, const struct suspect_list *list)
{
    fprintf(out, "\"heap_series\": {\"start_s\": %.4f, \"interval_s\": %.6f, \"bytes\": [",
            (double)(list->first_bucket + 1) * (double)list->bucket_width_ns / 1e9,
            (double)list->bucket_width_ns / 1e9);
    for (uint32_t b = list->first_bucket; b <= list->last_bucket && b < SERIES_BUCKETS; b++)
        fprintf(out, "%s%" PRIu64, b > list->first_bucket ? ", " : "", series_at(list->heap, b));
    fputs("]},\n", out);
}

/* One column of the suspects: `what` picks the value. */
enum column { COL_LEAKED, COL_BLOCKS, COL_ALLOCATED, COL_ALLOCATIONS, COL_GROWTH, COL_GROWING };

static void column_json(FILE *out, const struct suspect_list *list, enum column what)
{
    static const char *const names[] = {"leaked", "blocks", "allocated", "allocations", "growth",
                                        "growing"};
    fprintf(out, "\"%s\": [", names[what]);
    for (size_t i = 0; i < list->count; i++) {
        const struct suspect *s = &list->items[i];
        fputs(i ? (i % 32 ? "," : ",\n") : "", out);
        switch (what) {
        case COL_LEAKED: fprintf(out, "%" PRIu64, s->leaked_bytes); break;
        case COL_BLOCKS: fprintf(out, "%" PRIu64, s->leaked_blocks); break;
        case COL_ALLOCATED: fprintf(out, "%" PRIu64, s->allocated_bytes); break;
        case COL_ALLOCATIONS: fprintf(out, "%" PRIu64, s->allocated_blocks); break;
        case COL_GROWTH: fprintf(out, "%.1f", s->growth.growth_bytes_per_s); break;
        case COL_GROWING: fputc(s->growth.growing ? '1' : '0', out); break;
        }
    }
    fputs("],\n", out);
}

static int suspects_json(FILE *out, const struct suspect_list *list, struct frame_table *frames)
{
    size_t table = 0;
    while (table < list->count && list->items[table].leaked_blocks)
        table++;
    fprintf(out, "\"suspects\": {\"count\": %zu, \"table\": %zu,\n", list->count, table);
    for (enum column c = COL_LEAKED; c <= COL_GROWING; c++)
        column_json(out, list, c);
    fputs("\"spark\": [", out);
    for (size_t i = 0; i < list->count; i++) {
        fputs(i ? (i % 32 ? "," : ",\n") : "", out);
        if (list->items[i].leaked_blocks)
            spark_json(out, list->items[i].series, list);
        else
            fputs("\"\"", out);
    }
    fputs("],\n\"stacks\": [", out);
    for (size_t i = 0; i < list->count; i++) {
        const struct suspect *s = &list->items[i];
        fputs(i ? ",\n[" : "\n[", out);
        for (uint32_t k = 0; k < s->frame_count; k++) {
            long long index = frame_intern(frames, &s->frames[k]);
            if (index < 0)
                return -1;
            fprintf(out, k ? ",%lld" : "%lld", index);
        }
        fputc(']', out);
    }
    fputs("]},\n", out);
    return 0;
}

static int data_json(FILE *out, const struct replay *r, const struct suspect_list *suspects,
                     const struct alert_list *alerts)
{
    struct frame_table frames = {0};
    fputs("{\"format\": \"leakshim-html\", \"version\": 1, \"unknown_stack\": ", out);
    json_string(out, UNKNOWN_STACK_NAME);
    fputs(",\n", out);
    process_json(out, r, suspects);
    timeline_json(out, &r->timeline, alerts);
    heap_series_json(out, suspects);
    int rc = suspects_json(out, suspects, &frames);
    if (rc == 0)
        frames_json(out, &frames);
    fputs("\"end\": true}", out);
    frame_table_free(&frames);
    return rc;
}

int report_html(FILE *out, const struct replay *r, const struct suspect_list *suspects,
                const struct alert_list *alerts, char *error, size_t error_len)
{
    const char *page = report_html_template;
    const char *marker = strstr(page, DATA_MARKER);
    if (!marker) { /* a build that embedded the wrong file */
        snprintf(error, error_len, "the page template has no data marker");
        return -1;
    }
    fwrite(page, 1, (size_t)(marker - page), out);
    FILE *data = fopencookie(out, "w", (cookie_io_functions_t){.write = escaped_write});
    if (!data) {
        snprintf(error, error_len, "out of memory");
        return -1;
    }
    int rc = data_json(data, r, suspects, alerts);
    if (fclose(data) != 0 || rc < 0) {
        snprintf(error, error_len, "%s", rc < 0 ? "out of memory" : "write failed");
        return -1;
    }
    const char *rest = marker + strlen(DATA_MARKER);
    fwrite(rest, 1, (size_t)(report_html_template_end - rest), out);
    return 0;
}
