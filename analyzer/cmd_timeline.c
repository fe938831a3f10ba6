/* `leakshim timeline [--format text|csv|json] TRACE`: the heap time line of TRACE, one row per
 * heap sample (LEAKSHIM_INTERVAL apart) with the books at that point, and the marks. Exit 0
 * when the trace was read, 2 on a usage error or an invalid trace (as report). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "analysis.h"
#include "commands.h"
#include "json.h"
#include "sparkline.h"
#include "utf8.h"

#define TEXT_ROWS_MAX 40
#define TEXT_SPARKLINE_WIDTH 60

static const char *origin_name(unsigned origin)
{
    return origin == TRACE_MARK_SIGNAL ? "signal" : origin == TRACE_MARK_SHIM ? "shim" : "call";
}

/* A CSV field (RFC 4180): quoted, with quotes doubled. */
static void csv_text(FILE *out, const char *text)
{
    fputc('"', out);
    for (; *text; text++) {
        if (*text == '"')
            fputc('"', out);
        fputc(*text, out);
    }
    fputc('"', out);
}

/* One row per point; its last column names the marks made since the point before (several
 * separated by newlines, within the quotes). */
static void timeline_csv(FILE *out, const struct timeline *t)
{
    fputs("t_s,live_bytes,live_blocks,allocations,frees,allocated_bytes,freed_bytes,rss_bytes,"
          "marks\n", out);
    size_t next_mark = 0;
    for (size_t i = 0; i < t->count; i++) {
        const struct heap_point *p = &t->points[i];
        fprintf(out, "%.3f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                     ",%" PRIu64 ",",
                (double)p->ns / 1e9, p->live_bytes, p->live_blocks, p->allocations, p->frees,
                p->allocated_bytes, p->freed_bytes, p->rss_bytes);
        size_t first = next_mark;
        while (next_mark < t->mark_count &&
               (t->marks[next_mark].ns <= p->ns || i == t->count - 1))
            next_mark++;
        if (next_mark > first) {
            static char names[TRACE_MAX_MARK_NAME * 64 + 64];
            size_t used = 0;
            for (size_t m = first; m < next_mark && used + TRACE_MAX_MARK_NAME + 2 < sizeof names; m++)
                used += (size_t)snprintf(names + used, sizeof names - used, "%s%s",
                                         m > first ? "\n" : "", t->marks[m].name);
            csv_text(out, names);
        }
        fputc('\n', out);
    }
}

static void timeline_json(FILE *out, const struct replay *r)
{
    const struct timeline *t = &r->timeline;
    fprintf(out, "{\n  \"format\": \"leakshim-timeline\", \"version\": 1,\n"
                 "  \"process\": {\"pid\": %" PRIu64 ", \"exe\": ", r->process.pid);
    json_string(out, r->process.seen ? r->process.exe : NULL);
    fprintf(out, ", \"complete\": %s, \"sampling_period_bytes\": %" PRIu64
                 ", \"estimates\": %s},\n  \"points\": [",
            r->complete ? "true" : "false", r->sampling.sampled_period,
            r->sampling.sampled_period ? "true" : "false");
    for (size_t i = 0; i < t->count; i++) {
        const struct heap_point *p = &t->points[i];
        fprintf(out, "%s\n    {\"t_s\": %.3f, \"live_bytes\": %" PRIu64 ", \"live_blocks\": %" PRIu64
                     ", \"allocations\": %" PRIu64 ", \"frees\": %" PRIu64
                     ", \"allocated_bytes\": %" PRIu64 ", \"freed_bytes\": %" PRIu64
                     ", \"rss_bytes\": %" PRIu64 "}",
                i ? "," : "", (double)p->ns / 1e9, p->live_bytes, p->live_blocks, p->allocations,
                p->frees, p->allocated_bytes, p->freed_bytes, p->rss_bytes);
    }
    fputs(t->count ? "\n  ],\n  \"marks\": [" : "],\n  \"marks\": [", out);
    for (size_t i = 0; i < t->mark_count; i++) {
        fprintf(out, "%s\n    {\"name\": ", i ? "," : "");
        json_string(out, t->marks[i].name);
        fprintf(out, ", \"t_s\": %.3f, \"origin\": \"%s\"}", (double)t->marks[i].ns / 1e9,
                origin_name(t->marks[i].origin));
    }
    fputs(t->mark_count ? "\n  ]\n}\n" : "]\n}\n", out);
}

/* One column of the points as a sparkline. */
static const char *column_sparkline(const struct timeline *t, size_t offset, char *out)
{
    static uint64_t values[TEXT_SPARKLINE_WIDTH];
    size_t cells = t->count < TEXT_SPARKLINE_WIDTH ? t->count : TEXT_SPARKLINE_WIDTH;
    for (size_t c = 0; c < cells; c++) {
        const struct heap_point *p = &t->points[(c + 1) * t->count / cells - 1];
        memcpy(&values[c], (const char *)p + offset, sizeof values[c]);
    }
    return sparkline(values, cells, cells, out);
}

/* A mark between the rows; its name comes from the program, so it is made printable to keep
 * to one line. */
static void mark_row(FILE *out, const struct mark *m)
{
    char name[TRACE_MAX_MARK_NAME + 1]; /* a printable copy is never longer */
    fprintf(out, "%9.3f   -- mark '%s' (%s)\n", (double)m->ns / 1e9,
            utf8_printable(m->name, name, sizeof name), origin_name(m->origin));
}

static void timeline_text(FILE *out, const struct replay *r)
{
    const struct timeline *t = &r->timeline;
    char line[3 * TEXT_SPARKLINE_WIDTH + 1];
    fprintf(out, "leakshim timeline: %s (pid %" PRIu64 "), %zu samples over %.1f s%s\n",
            r->process.seen ? r->process.exe : "unknown program", r->process.pid, t->count,
            (double)r->summary.last_time_ns / 1e9, r->complete ? "" : ", TRACE INCOMPLETE");
    if (r->sampling.sampled_period)
        fprintf(out, "  SAMPLED: one allocation per %" PRIu64 " bytes on average; live bytes and "
                     "blocks, allocations and frees are estimated\n", r->sampling.sampled_period);
    if (t->count) {
        fprintf(out, "  live bytes %s\n", column_sparkline(t, offsetof(struct heap_point, live_bytes), line));
        fprintf(out, "  rss        %s\n", column_sparkline(t, offsetof(struct heap_point, rss_bytes), line));
    }
    fprintf(out, "\n%9s %14s %11s %12s %12s %14s\n", "t (s)", "live bytes", "live blocks",
            "allocations", "frees", "rss bytes");
    size_t step = t->count > TEXT_ROWS_MAX ? (t->count + TEXT_ROWS_MAX - 1) / TEXT_ROWS_MAX : 1;
    size_t next_mark = 0;
    for (size_t i = 0; i < t->count; i++) {
        const struct heap_point *p = &t->points[i];
        for (; next_mark < t->mark_count && t->marks[next_mark].ns <= p->ns; next_mark++)
            mark_row(out, &t->marks[next_mark]);
        if (i % step && i != t->count - 1)
            continue;
        fprintf(out, "%9.3f %14" PRIu64 " %11" PRIu64 " %12" PRIu64 " %12" PRIu64 " %14" PRIu64 "\n",
                (double)p->ns / 1e9, p->live_bytes, p->live_blocks, p->allocations, p->frees,
                p->rss_bytes);
    }
    for (; next_mark < t->mark_count; next_mark++)
        mark_row(out, &t->marks[next_mark]);
    if (step > 1)
        fprintf(out, "(every %zu%s sample shown; --format csv gives all)\n", step,
                step == 2 ? "nd" : step == 3 ? "rd" : "th");
}

int cmd_timeline(int argc, char **argv)
{
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    const char *format = "text";
    int c;
    optind = 1;
    argv[0] = "leakshim timeline";
    while ((c = getopt_long(argc, argv, "f:", options, NULL)) != -1) {
        if (c != 'f')
            return EXIT_USAGE;
        format = optarg;
    }
    if (strcmp(format, "text") && strcmp(format, "csv") && strcmp(format, "json")) {
        fprintf(stderr, "leakshim timeline: unknown format '%s' (text, csv or json)\n", format);
        return EXIT_USAGE;
    }
    if (optind != argc - 1) {
        fputs("usage: leakshim timeline [--format text|csv|json] TRACE\n", stderr);
        return EXIT_USAGE;
    }
    struct analysis_request request = {.top = 1, .order = ORDER_SCORE};
    struct analysis a;
    char error[700];
    if (analysis_run(&a, argv[optind], &request, error, sizeof error) < 0) {
        fprintf(stderr, "leakshim timeline: %s\n", error);
        analysis_free(&a);
        return EXIT_USAGE;
    }
    if (a.status == TRACE_TRUNCATED)
        fprintf(stderr, "leakshim timeline: warning: %s; showing what it holds\n", a.warning);
    if (a.replay.timeline_mismatch)
        fputs("leakshim timeline: warning: the recorded running totals disagree with the events "
              "in the trace (events lost?)\n", stderr);
    if (format[0] == 'c')
        timeline_csv(stdout, &a.replay.timeline);
    else if (format[0] == 'j')
        timeline_json(stdout, &a.replay);
    else
        timeline_text(stdout, &a.replay);
    analysis_free(&a);
    return fflush(stdout) ? EXIT_USAGE : 0;
}
