/* `leakshim report [--format text|json|collapsed|pprof|html] [--top N] [--sort KEY] [--since B]
 * [--until B] [--value WHAT] [--alerts FILE] [--color WHEN] [-o FILE] TRACE`: replays TRACE
 * and writes the ranked suspects in one format, to stdout or FILE. Exit 0 when the trace was read (a trace cut short is reported with a warning and
 * process.complete false), 2 on a usage error, an invalid trace or a failed write. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "alerts.h"
#include "analysis.h"
#include "report.h"
#include "progress.h"
#include "report_html.h"
#include "terminal.h"

#define TEXT_DEFAULT_TOP 10
#define USAGE "usage: leakshim report [--format text|json|collapsed|pprof|html] [--top N]\n" \
              "                       [--sort score|bytes|count|growth] [--since SECONDS|MARK]\n" \
              "                       [--until SECONDS|MARK] [--value leaked|allocated|count]\n" \
              "                       [--alerts FILE] [--color auto|always|never] [-o FILE] TRACE\n"

enum format { FORMAT_TEXT, FORMAT_JSON, FORMAT_COLLAPSED, FORMAT_PPROF, FORMAT_HTML };

static int parse_format(const char *word, enum format *out)
{
    static const char *const words[] = {"text", "json", "collapsed", "pprof", "html"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcmp(word, words[i]) == 0) {
            *out = (enum format)i;
            return 0;
        }
    return -1;
}

static int parse_count(const char *text, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-')
        return -1;
    *out = (size_t)v;
    return 0;
}

/* One line for every module whose frames got function names only. */
static void note_missing_debuginfo(const symbolizer *sym)
{
    enum { SHOWN = 4 };
    const char *paths[SHOWN];
    size_t n = symbolizer_modules_without_debuginfo(sym, paths, SHOWN);
    if (!n)
        return;
    fputs("leakshim report: note: no debug info in", stderr);
    for (size_t i = 0; i < n && i < SHOWN; i++) {
        const char *slash = strrchr(paths[i], '/');
        fprintf(stderr, "%s %s", i ? "," : "", slash ? slash + 1 : paths[i]);
    }
    if (n > SHOWN)
        fprintf(stderr, " and %zu more", n - SHOWN);
    fputs(": their frames have function names only (files and lines need -g or the "
          "distribution's debug symbols)\n", stderr);
}

/* What shapes the output besides the suspects. */
struct report_options {
    enum format format;
    enum collapsed_value value;   /* collapsed */
    struct text_style style;      /* text */
    const struct alert_list *alerts; /* html */
};

/* Writes the report in its format to `out`; 0, or -1 with `error` set. */
static int write_report(FILE *out, const struct report_options *o, struct analysis *a, char *error,
                        size_t error_len)
{
    switch (o->format) {
    case FORMAT_TEXT:
        report_text_styled(out, &a->replay, &a->suspects, &o->style);
        break;
    case FORMAT_JSON:
        report_json(out, &a->replay, &a->suspects);
        break;
    case FORMAT_COLLAPSED:
        if (report_collapsed(out, &a->suspects, o->value) < 0) {
            snprintf(error, error_len, "out of memory");
            return -1;
        }
        break;
    case FORMAT_PPROF:
        if (report_pprof(out, &a->replay, &a->suspects, error, error_len) < 0)
            return -1;
        break;
    case FORMAT_HTML:
        if (report_html(out, &a->replay, &a->suspects, o->alerts, error, error_len) < 0)
            return -1;
        break;
    }
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(error, error_len, "%s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Runs the analysis with a progress bar on stderr (a terminal only); 0, or -1 (said). */
static int analyse(struct analysis *a, const char *trace, const struct analysis_request *request)
{
    struct progress_bar bar;
    char error[700];
    progress_bar_start(&bar, "leakshim report", trace);
    struct analysis_request with_bar = *request;
    with_bar.progress = progress_bar_update;
    with_bar.progress_ctx = &bar;
    int rc = analysis_run(a, trace, &with_bar, error, sizeof error);
    progress_bar_end(&bar);
    if (rc < 0) {
        fprintf(stderr, "leakshim report: %s\n", error);
        return -1;
    }
    if (a->status == TRACE_TRUNCATED)
        fprintf(stderr, "leakshim report: warning: %s; reporting what it holds\n", a->warning);
    return 0;
}

int cmd_report(int argc, char **argv)
{
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'},
        {"top", required_argument, NULL, 't'},
        {"value", required_argument, NULL, 'v'},
        {"output", required_argument, NULL, 'o'},
        {"sort", required_argument, NULL, 's'},
        {"since", required_argument, NULL, 'S'},
        {"until", required_argument, NULL, 'U'},
        {"alerts", required_argument, NULL, 'A'},
        {"color", required_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    struct analysis_request request = {.order = ORDER_SCORE};
    struct report_options o = {.format = FORMAT_TEXT, .value = COLLAPSED_LEAKED};
    enum color_mode color = COLOR_AUTO;
    const char *output = "-", *alerts_path = NULL;
    size_t top = 0;
    int top_given = 0, value_given = 0, c;
    optind = 1;
    argv[0] = "leakshim report"; /* getopt's messages name the command */
    while ((c = getopt_long(argc, argv, "f:t:v:o:", options, NULL)) != -1) {
        if (c == 'f' && parse_format(optarg, &o.format) == 0) {
            continue;
        } else if (c == 't' && parse_count(optarg, &top) == 0) {
            top_given = 1;
        } else if (c == 'v' && collapsed_parse_value(optarg, &o.value) == 0) {
            value_given = 1;
        } else if (c == 'o') {
            output = optarg;
        } else if (c == 'A') {
            alerts_path = optarg;
        } else if (c == 'C' && terminal_parse_color(optarg, &color) == 0) {
            continue;
        } else if (c == 'S' || c == 'U') {
            *(c == 'S' ? &request.since : &request.until) = optarg;
        } else if (c == 's' && analysis_parse_order(optarg, &request.order) == 0) {
            continue;
        } else {
            if (c == 'f')
                fprintf(stderr, "leakshim report: unknown format '%s' (text, json, collapsed, pprof or html)\n", optarg);
            if (c == 't')
                fprintf(stderr, "leakshim report: --top takes a whole number, not '%s'\n", optarg);
            if (c == 'v')
                fprintf(stderr, "leakshim report: --value takes leaked, allocated or count, not '%s'\n", optarg);
            if (c == 's')
                fprintf(stderr, "leakshim report: --sort takes score, bytes, count or growth, not '%s'\n", optarg);
            if (c == 'C')
                fprintf(stderr, "leakshim report: --color takes auto, always or never, not '%s'\n", optarg);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    if (value_given && o.format != FORMAT_COLLAPSED) {
        fputs("leakshim report: --value applies to --format collapsed only\n", stderr);
        return EXIT_USAGE;
    }
    if (alerts_path && o.format != FORMAT_HTML) {
        fputs("leakshim report: --alerts applies to --format html only\n", stderr);
        return EXIT_USAGE;
    }
    int to_stdout = strcmp(output, "-") == 0;
    if (o.format == FORMAT_PPROF && to_stdout && isatty(STDOUT_FILENO)) {
        fputs("leakshim report: pprof is binary (gzip): give -o FILE, or redirect stdout\n", stderr);
        return EXIT_USAGE;
    }
    if (!top_given && o.format == FORMAT_TEXT)
        top = TEXT_DEFAULT_TOP;
    if (to_stdout) {
        o.style.width = terminal_width(STDOUT_FILENO);
        o.style.color = terminal_use_color(color, STDOUT_FILENO);
    } else {
        o.style.color = color == COLOR_ALWAYS;
    }
    struct alert_list alerts = {0};
    char error[700];
    if (alerts_path && alerts_read(alerts_path, &alerts, error, sizeof error) < 0) {
        fprintf(stderr, "leakshim report: %s\n", error);
        return EXIT_USAGE;
    }
    o.alerts = &alerts;

    /* The exports and the page carry what every stack allocated, freed or not. */
    request.top = top;
    request.include_freed = o.format == FORMAT_PPROF || o.format == FORMAT_HTML ||
                            o.value == COLLAPSED_ALLOCATED;
    struct analysis a;
    if (analyse(&a, argv[optind], &request) < 0) {
        analysis_free(&a);
        alerts_free(&alerts);
        return EXIT_USAGE;
    }
    FILE *out = to_stdout ? stdout : fopen(output, "wb");
    int rc = 0;
    if (!out) {
        fprintf(stderr, "leakshim report: cannot create %s: %s\n", output, strerror(errno));
        rc = EXIT_USAGE;
    } else if (write_report(out, &o, &a, error, sizeof error) < 0) {
        fprintf(stderr, "leakshim report: cannot write %s: %s\n", to_stdout ? "stdout" : output, error);
        rc = EXIT_USAGE;
    }
    if (out && !to_stdout && fclose(out) != 0 && rc == 0) {
        fprintf(stderr, "leakshim report: cannot write %s: %s\n", output, strerror(errno));
        rc = EXIT_USAGE;
    }
    note_missing_debuginfo(a.replay.sym);
    analysis_free(&a);
    alerts_free(&alerts);
    return rc;
}
