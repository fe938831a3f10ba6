/* `leakshim report [--format text|json] [--top N] [--sort KEY] [--since B] [--until B] TRACE`:
 * replays TRACE and prints the ranked suspects. Exit 0 when the trace was read (a trace cut short is reported with a
 * warning and process.complete false), 2 on a usage error or an invalid trace. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "analysis.h"
#include "report.h"

#define TEXT_DEFAULT_TOP 10

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

int cmd_report(int argc, char **argv)
{
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'},
        {"top", required_argument, NULL, 't'},
        {"sort", required_argument, NULL, 's'},
        {"since", required_argument, NULL, 'S'},
        {"until", required_argument, NULL, 'U'},
        {NULL, 0, NULL, 0},
    };
    struct analysis_request request = {.order = ORDER_SCORE};
    const char *format = "text";
    size_t top = 0;
    int top_given = 0, c;
    optind = 1;
    argv[0] = "leakshim report"; /* getopt's messages name the command */
    while ((c = getopt_long(argc, argv, "f:t:", options, NULL)) != -1) {
        if (c == 'f') {
            format = optarg;
        } else if (c == 'S' || c == 'U') {
            *(c == 'S' ? &request.since : &request.until) = optarg;
        } else if (c == 's') {
            if (analysis_parse_order(optarg, &request.order) < 0) {
                fprintf(stderr, "leakshim report: --sort takes score, bytes, count or growth, not '%s'\n",
                        optarg);
                return EXIT_USAGE;
            }
        } else if (c == 't' && parse_count(optarg, &top) == 0) {
            top_given = 1;
        } else {
            if (c == 't')
                fprintf(stderr, "leakshim report: --top takes a whole number, not '%s'\n", optarg);
            return EXIT_USAGE;
        }
    }
    int json = strcmp(format, "json") == 0;
    if (!json && strcmp(format, "text") != 0) {
        fprintf(stderr, "leakshim report: unknown format '%s' (text or json)\n", format);
        return EXIT_USAGE;
    }
    if (optind != argc - 1) {
        fputs("usage: leakshim report [--format text|json] [--top N] [--sort score|bytes|count|growth]\n"
              "                       [--since SECONDS|MARK] [--until SECONDS|MARK] TRACE\n", stderr);
        return EXIT_USAGE;
    }
    if (!top_given && !json)
        top = TEXT_DEFAULT_TOP;

    request.top = top;
    struct analysis a;
    char error[700];
    if (analysis_run(&a, argv[optind], &request, error, sizeof error) < 0) {
        fprintf(stderr, "leakshim report: %s\n", error);
        analysis_free(&a);
        return EXIT_USAGE;
    }
    if (a.status == TRACE_TRUNCATED)
        fprintf(stderr, "leakshim report: warning: %s; reporting what it holds\n", a.warning);
    int rc = 0;
    if (json)
        report_json(stdout, &a.replay, &a.suspects);
    else
        report_text(stdout, &a.replay, &a.suspects);
    note_missing_debuginfo(a.replay.sym);
    analysis_free(&a);
    if (fflush(stdout) != 0)
        rc = EXIT_USAGE;
    return rc;
}
