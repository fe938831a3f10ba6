/* `leakshim report` in text: a summary, then the suspects with readable stacks. Each frame
 * prints `file:line` as one token, which terminals and editors turn into a link.
 *
 * On a terminal (report_text_styled with a width, colours) every line is built first, then
 * fitted: a frame's function name is cut with an ellipsis so that its `file:line` stays whole
 * on the line, sparklines shrink to the room left, the program's path loses its leading
 * directories, and any other line too long is cut with an ellipsis. Columns are counted in
 * code points, colour sequences count for nothing. Without a width or colours (report_text:
 * files and pipes) the bytes are the same as ever. */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "report.h"
#include "sparkline.h"
#include "units.h"
#include "utf8.h"

#define TEXT_FRAMES_SHOWN 12
#define SPARKLINE_WIDTH 32
#define SPARKLINE_MIN_WIDTH 8
#define FUNCTION_COLUMN 28
#define FUNCTION_MIN_COLUMNS 8 /* a name is never cut shorter; the line may then pass the width */
#define LINE_BYTES 16384
#define ELLIPSIS "\u2026"

/* SGR parameters of the colours used. */
#define SGR_BOLD "1"
#define SGR_ALARM "1;31"
#define SGR_GOOD "32"
#define SGR_AMOUNT "1;33"
#define SGR_LOCATION "36"
#define SGR_DIM "2"

/* One output line being built. */
struct line {
    char text[LINE_BYTES];
    size_t len;
    const struct text_style *style;
};

static void line_vadd(struct line *l, const char *sgr, const char *fmt, va_list ap)
{
    int colored = sgr && l->style->color;
    if (colored && l->len < sizeof l->text)
        l->len += (size_t)snprintf(l->text + l->len, sizeof l->text - l->len, "\033[%sm", sgr);
    if (l->len < sizeof l->text)
        l->len += (size_t)vsnprintf(l->text + l->len, sizeof l->text - l->len, fmt, ap);
    if (colored && l->len < sizeof l->text)
        l->len += (size_t)snprintf(l->text + l->len, sizeof l->text - l->len, "\033[0m");
    if (l->len >= sizeof l->text)
        l->len = sizeof l->text - 1;
}

/* Appends printf-formatted text, in the colour `sgr` (NULL: none) when colouring. */
__attribute__((format(printf, 3, 4))) static void add(struct line *l, const char *sgr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    line_vadd(l, sgr, fmt, ap);
    va_end(ap);
}

/* Length of the colour sequence at s (ESC [ ... m), or 0. */
static size_t escape_length(const char *s)
{
    if (s[0] != '\033' || s[1] != '[')
        return 0;
    size_t n = 2;
    while (s[n] && s[n] != 'm')
        n++;
    return s[n] ? n + 1 : n;
}

/* Columns that `s` takes: code points, colour sequences excluded. */
static size_t columns(const char *s)
{
    size_t cols = 0;
    for (size_t i = 0; s[i];) {
        size_t esc = escape_length(s + i);
        if (esc) {
            i += esc;
            continue;
        }
        cols += ((unsigned char)s[i] & 0xc0) != 0x80;
        i++;
    }
    return cols;
}

static size_t line_columns(const struct line *l)
{
    return columns(l->text);
}

static void line_clear(struct line *l)
{
    l->len = 0;
    l->text[0] = 0;
}

/* Writes the line and starts a new one. A line wider than the style's width is cut with an
 * ellipsis when `may_cut`. */
static void emit(FILE *out, struct line *l, int may_cut)
{
    size_t width = l->style->width;
    if (!width || !may_cut || line_columns(l) <= width) {
        fwrite(l->text, 1, l->len, out);
    } else {
        size_t cols = 0, i = 0;
        while (l->text[i]) {
            size_t esc = escape_length(l->text + i);
            if (esc) {
                fwrite(l->text + i, 1, esc, out);
                i += esc;
                continue;
            }
            int starts_point = ((unsigned char)l->text[i] & 0xc0) != 0x80;
            if (starts_point && ++cols > width - 1)
                break;
            fputc(l->text[i++], out);
        }
        fputs(l->style->color ? ELLIPSIS "\033[0m" : ELLIPSIS, out);
    }
    fputc('\n', out);
    line_clear(l);
}

/* `s` cut to at most `cols` columns, the last being an ellipsis when cut, into buf. */
static const char *cut_to(const char *s, size_t cols, char *buf, size_t len)
{
    if (columns(s) <= cols)
        return s;
    size_t used = 0, i = 0;
    for (; s[i] && i + 4 < len; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80 && ++used > cols - 1)
            break;
        buf[i] = s[i];
    }
    memcpy(buf + i, ELLIPSIS, sizeof ELLIPSIS);
    return buf;
}

static const char *base_name(const char *path)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    return slash ? slash + 1 : path;
}

/* Where a frame is: `file:line`, else `[module+offset]`, else `[address]`. */
static const char *frame_location(const struct suspect_frame *f, char *buf, size_t len)
{
    const sym_frame *s = &f->sym;
    if (s->file && s->line > 0)
        snprintf(buf, len, "%s:%d", s->file, s->line);
    else if (s->module)
        snprintf(buf, len, "[%s+0x%" PRIx64 "]", base_name(s->module), s->module_offset);
    else
        snprintf(buf, len, "[0x%" PRIx64 "]", f->address);
    return buf;
}

/* The column a suspect's frames put their locations at: FUNCTION_COLUMN, or on a narrow
 * terminal what leaves room for the longest location (FUNCTION_MIN_COLUMNS at least). */
static size_t function_column(const struct suspect *sp, uint32_t shown, size_t width)
{
    size_t column = FUNCTION_COLUMN;
    for (uint32_t k = 0; width && k < shown; k++) {
        char where[TRACE_MAX_PATH + 64];
        size_t used = 4 + 1 + columns(frame_location(&sp->frames[k], where, sizeof where));
        size_t room = width > used ? width - used : 0; /* indent, space, location */
        if (room < column)
            column = room < FUNCTION_MIN_COLUMNS ? FUNCTION_MIN_COLUMNS : room;
    }
    return column;
}

/* `function file:line`, the function padded or cut to `column`; the location is never cut. */
static void frame_text(FILE *out, struct line *l, const struct suspect_frame *f, size_t column)
{
    char where[TRACE_MAX_PATH + 64], cut[1024];
    const char *name = f->sym.function ? f->sym.function : "??";
    if (l->style->width)
        name = cut_to(name, column, cut, sizeof cut);
    size_t name_cols = columns(name);
    add(l, NULL, "    ");
    add(l, SGR_BOLD, "%s", name);
    add(l, NULL, "%*s ", name_cols < column ? (int)(column - name_cols) : 0, "");
    add(l, SGR_LOCATION, "%s", frame_location(f, where, sizeof where));
    emit(out, l, 0);
}

/* The sparkline's width for a line with `used` columns and `after` more to come: 32, less
 * on a narrow terminal, 0 when it does not fit. */
static size_t sparkline_width(const struct line *l, size_t after)
{
    size_t width = l->style->width, used = line_columns(l) + after;
    if (!width)
        return SPARKLINE_WIDTH;
    size_t room = width > used ? width - used : 0;
    return room < SPARKLINE_MIN_WIDTH ? 0 : room < SPARKLINE_WIDTH ? room : SPARKLINE_WIDTH;
}

/* The window's part of a series, as a sparkline `width` characters wide at most. */
static const char *window_sparkline(const struct series *s, const struct suspect_list *list,
                                    size_t width, char *out)
{
    uint64_t values[SERIES_BUCKETS];
    size_t n = 0;
    for (uint32_t b = list->first_bucket; b <= list->last_bucket && b < SERIES_BUCKETS; b++)
        values[n++] = series_at(s, b);
    return sparkline(values, n, width, out);
}

/* "2.5 KiB/s" */
static const char *rate(double bytes_per_s, char *buf)
{
    char h[32];
    if (bytes_per_s < 0)
        bytes_per_s = 0;
    snprintf(buf, 48, "%s/s", bytes_per_s < 1024 ? (snprintf(h, sizeof h, "%.0f B", bytes_per_s), h)
                                                  : units_human_bytes((uint64_t)bytes_per_s, h));
    return buf;
}

static void window_text(FILE *out, struct line *l, const struct replay *r)
{
    const struct replay_window *w = &r->window;
    if (w->since.kind == BOUND_NONE && w->until.kind == BOUND_NONE)
        return;
    char name[TRACE_MAX_MARK_NAME + 1]; /* marks matched names of the trace: never longer */
    add(l, NULL, "  window: blocks allocated ");
    if (w->since.kind == BOUND_MARK)
        add(l, NULL, "after mark '%s' (%.2f s)", utf8_printable(w->since.mark, name, sizeof name),
            (double)w->open_ns / 1e9);
    else
        add(l, NULL, "from %.2f s", (double)w->open_ns / 1e9);
    if (w->until.kind == BOUND_MARK)
        add(l, NULL, " until mark '%s' (%.2f s)", utf8_printable(w->until.mark, name, sizeof name),
            (double)w->close_ns / 1e9);
    else
        add(l, NULL, " until %.2f s", (double)w->close_ns / 1e9);
    add(l, NULL, " and still outstanding then");
    emit(out, l, 1);
}

/* "leakshim report: PROGRAM (pid N), 4.8 s, trace complete", the program's path shortened
 * from the left to fit. */
static void title_text(FILE *out, struct line *l, const struct replay *r)
{
    const char *exe = r->process.seen ? r->process.exe : "unknown program";
    const char *status = !r->complete ? "TRACE INCOMPLETE" : r->ended_by_exec ? "ended by exec" : "trace complete";
    char rest[128];
    snprintf(rest, sizeof rest, " (pid %" PRIu64 "), %.1f s, ", r->process.pid,
             (double)r->summary.last_time_ns / 1e9);
    size_t width = l->style->width, fixed = 17 + columns(rest) + strlen(status); /* "leakshim report: " */
    const char *shown = exe, *ellipsis = "";
    if (width && fixed + columns(exe) > width) {
        size_t keep = width > fixed + 1 ? width - fixed - 1 : 0, cols = columns(exe);
        if (keep < columns(base_name(exe))) /* the name at least; the line is cut at its end */
            keep = columns(base_name(exe));
        while (*shown && cols > keep)
            cols -= (((unsigned char)*shown++ & 0xc0) != 0x80);
        while (((unsigned char)*shown & 0xc0) == 0x80)
            shown++;
        ellipsis = ELLIPSIS;
    }
    add(l, SGR_BOLD, "leakshim report:");
    add(l, NULL, " %s%s%s", ellipsis, shown, rest);
    add(l, !r->complete ? SGR_ALARM : r->ended_by_exec ? NULL : SGR_GOOD, "%s", status);
    emit(out, l, 1);
}

static void summary_text(FILE *out, struct line *l, const struct replay *r,
                         const struct suspect_list *suspects)
{
    const struct replay_summary *s = &r->summary;
    size_t total_suspects = suspects->total;
    char a[32], b[32], c[32], line[3 * SPARKLINE_WIDTH + 1];
    title_text(out, l, r);
    uint64_t period = r->sampling.sampled_period;
    if (period) {
        add(l, SGR_ALARM, "  SAMPLED: one allocation per %s on average; every figure below is estimated%s",
            units_human_bytes(period, a),
            r->sampling.escalations ? " (exact where everything was recorded: see the marks)" : "");
        emit(out, l, 1);
    }
    add(l, NULL, "  %s%s %s, %s %s, peak %s live", period ? "estimated " : "", units_grouped(s->allocations, a),
        units_noun(s->allocations, "allocation", "allocations"), units_grouped(s->frees, b),
        units_noun(s->frees, "free", "frees"), units_human_bytes(s->peak_bytes, c));
    emit(out, l, 1);
    if (suspects->last_bucket > suspects->first_bucket) {
        char after[64];
        snprintf(after, sizeof after, "  (live bytes, %.1f s)",
                 (double)(r->window.close_ns - r->window.open_ns) / 1e9);
        add(l, NULL, "  heap ");
        size_t width = sparkline_width(l, columns(after));
        if (width) {
            add(l, NULL, "%s%s", window_sparkline(suspects->heap, suspects, width, line), after);
            emit(out, l, 1);
        }
        line_clear(l);
    }
    window_text(out, l, r);
    add(l, NULL, "  %sleaked ", period ? "estimated: " : "");
    add(l, SGR_AMOUNT, "%s", units_human_bytes(s->leaked_bytes, a));
    add(l, NULL, " (%s %s) in %s %s from %zu %s", units_grouped(s->leaked_bytes, b),
        units_noun(s->leaked_bytes, "byte", "bytes"), units_grouped(s->leaked_blocks, c),
        units_noun(s->leaked_blocks, "block", "blocks"), total_suspects,
        units_noun(total_suspects, "stack", "stacks"));
    emit(out, l, 1);
    if (s->lost_events) {
        add(l, SGR_ALARM, "  %" PRIu64 " EVENTS LOST: the leaks above may be false", s->lost_events);
        emit(out, l, 1);
    }
    if (!r->complete) {
        add(l, SGR_ALARM, "  the process did not finish its trace: what it did after the cut is missing%s",
            s->recovered_events ? "" : " (no ring file was left to recover it from)");
        emit(out, l, 1);
    }
    if (s->recovered_events) {
        add(l, NULL, "  %" PRIu64 " %s recovered from the ring file the process left",
            s->recovered_events, units_noun(s->recovered_events, "event", "events"));
        emit(out, l, 1);
    }
    if (s->unmatched_frees) {
        add(l, NULL, "  %" PRIu64 " %s of blocks %s ignored", s->unmatched_frees,
            units_noun(s->unmatched_frees, "free", "frees"),
            period ? "the trace does not follow (not sampled, or inherited)"
                   : "allocated before this process (inherited)");
        emit(out, l, 1);
    }
}

static void suspect_text(FILE *out, struct line *l, size_t rank, const struct suspect *sp,
                         const struct suspect_list *suspects)
{
    char a[32], b[32], c[32], d[48], line[3 * SPARKLINE_WIDTH + 1];
    const struct growth_stats *g = &sp->growth;
    fputc('\n', out);
    add(l, SGR_BOLD, "#%zu", rank);
    add(l, NULL, "  ");
    add(l, SGR_AMOUNT, "%s", units_human_bytes(sp->leaked_bytes, a));
    add(l, NULL, " (%s %s) in %s %s, ", units_grouped(sp->leaked_bytes, b),
        units_noun(sp->leaked_bytes, "byte", "bytes"), units_grouped(sp->leaked_blocks, c),
        units_noun(sp->leaked_blocks, "block", "blocks"));
    if (g->growing)
        add(l, SGR_ALARM, "GROWING %s (steady %.0f%%)", rate(g->recent_growth_bytes_per_s, d),
            100 * g->steadiness);
    else
        add(l, SGR_DIM, "not growing (%.0f%% of its blocks freed)", 100 * sp->freed_share);
    size_t width = sparkline_width(l, 2);
    if (suspects->last_bucket > suspects->first_bucket && width)
        add(l, NULL, "  %s", window_sparkline(sp->series, suspects, width, line));
    emit(out, l, 1);
    uint32_t shown = sp->frame_count < TEXT_FRAMES_SHOWN ? sp->frame_count : TEXT_FRAMES_SHOWN;
    size_t column = function_column(sp, shown, l->style->width);
    for (uint32_t k = 0; k < shown; k++)
        frame_text(out, l, &sp->frames[k], column);
    if (sp->frame_count > shown) {
        uint32_t hidden = sp->frame_count - shown;
        add(l, SGR_DIM, "    ... %u more frame%s (--format json shows all)", hidden, hidden == 1 ? "" : "s");
        emit(out, l, 1);
    }
    if (!sp->frame_count) {
        add(l, SGR_DIM, "    (no stack recorded)");
        emit(out, l, 1);
    }
}

void report_text_styled(FILE *out, const struct replay *r, const struct suspect_list *suspects,
                        const struct text_style *style)
{
    static struct line l; /* large: kept off the stack */
    line_clear(&l);
    l.style = style;
    summary_text(out, &l, r, suspects);
    for (size_t i = 0; i < suspects->count; i++)
        suspect_text(out, &l, i + 1, &suspects->items[i], suspects);
    if (suspects->total > suspects->count) {
        fputc('\n', out);
        add(&l, SGR_DIM, "%zu more suspects not shown (--top 0 shows all)",
            suspects->total - suspects->count);
        emit(out, &l, 1);
    }
}

void report_text(FILE *out, const struct replay *r, const struct suspect_list *suspects)
{
    static const struct text_style plain = {0, 0};
    report_text_styled(out, r, suspects, &plain);
}
