/* `leakshim check TRACE [options]`: the CI gate. Reads a trace (or a saved JSON report),
 * applies suppressions, compares with a baseline when given one, measures every budget and
 * prints the verdict: a summary on stdout, and JUnit, SARIF and JSON files on request.
 * Exit 0 when every budget holds, 1 when one is exceeded, 2 on a usage error or a file that
 * cannot be read (CONTRACT.md). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_output.h"
#include "commands.h"
#include "gate.h"
#include "leak_run.h"
#include "suppressions.h"
#include "units.h"

#define EXIT_BUDGET_EXCEEDED 1
#define MAX_SUPPRESSION_FILES 64

static const char check_usage[] =
    "usage: leakshim check [--max-leaked-bytes SIZE] [--max-leaked-blocks N]\n"
    "                      [--max-growth RATE] [--since MARK|SECONDS] [--until MARK|SECONDS]\n"
    "                      [--suppressions FILE]... [--no-default-suppressions]\n"
    "                      [--baseline OLD] [--max-new-suspects N] [--baseline-threshold T]\n"
    "                      [--junit FILE] [--sarif FILE] [--json FILE] [--source-root DIR]\n"
    "                      TRACE\n"
    "  SIZE: bytes, or with a binary suffix K, M, G, T (1K = 1024 bytes); RATE: bytes/s (\"1K/s\")\n"
    "  T: the growth a baseline stack may show, \"PERCENT%\", \"SIZE\" or both (\"10%,1K\",\n"
    "     the default): a stack has grown when its increase is above both\n"
    "  With no budget, a run passes when nothing leaks after suppressions; with --baseline,\n"
    "  when no stack leaks that did not (or leaks more than it did).\n"
    "  Exit 0: every budget holds; 1: a budget is exceeded; 2: usage error, unreadable input.\n";

struct check_options {
    struct gate_limits limits;
    struct analysis_request request;
    const char *suppression_files[MAX_SUPPRESSION_FILES];
    size_t suppression_file_count;
    int default_suppressions;
    const char *baseline, *junit, *sarif, *json, *source_root, *trace;
};

static int bad_value(const char *option, const char *value, const char *what)
{
    fprintf(stderr, "leakshim check: --%s takes %s, not '%s'\n", option, what, value);
    return -1;
}

static int set_limit(struct check_options *o, enum budget_kind kind, double value)
{
    o->limits.set[kind] = 1;
    o->limits.limit[kind] = value;
    return 0;
}

/* One option. Returns 0, or -1 after saying what is wrong. */
static int take_option(struct check_options *o, int c, const char *name, const char *arg)
{
    uint64_t n;
    double rate;
    switch (c) {
    case 'b':
        return units_parse_size(arg, &n) < 0 ? bad_value(name, arg, "a size (4096, 64K, 2M)")
                                             : set_limit(o, BUDGET_LEAKED_BYTES, (double)n);
    case 'k':
        return units_parse_count(arg, &n) < 0 ? bad_value(name, arg, "a whole number")
                                              : set_limit(o, BUDGET_LEAKED_BLOCKS, (double)n);
    case 'n':
        return units_parse_count(arg, &n) < 0 ? bad_value(name, arg, "a whole number")
                                              : set_limit(o, BUDGET_NEW_SUSPECTS, (double)n);
    case 'g':
        return units_parse_rate(arg, &rate) < 0 ? bad_value(name, arg, "bytes per second (100, 2K/s)")
                                                : set_limit(o, BUDGET_GROWTH, rate);
    case 's':
    case 'u':
        if (units_classify_time(arg) < 0)
            return bad_value(name, arg, "seconds from the start (12.5) or a mark's name");
        *(c == 's' ? &o->request.since : &o->request.until) = arg;
        return 0;
    case 'S':
        if (o->suppression_file_count == MAX_SUPPRESSION_FILES) {
            fprintf(stderr, "leakshim check: at most %d suppression files\n", MAX_SUPPRESSION_FILES);
            return -1;
        }
        o->suppression_files[o->suppression_file_count++] = arg;
        return 0;
    case 'D':
        o->default_suppressions = 0;
        return 0;
    case 'B':
        o->baseline = arg;
        return 0;
    case 'T':
        return units_parse_threshold(arg, &o->limits.threshold) < 0
                   ? bad_value(name, arg, "a threshold (10%, 4K or 10%,4K)")
                   : 0;
    case 'j':
        o->junit = arg;
        return 0;
    case 'f':
        o->sarif = arg;
        return 0;
    case 'J':
        o->json = arg;
        return 0;
    case 'r':
        o->source_root = arg;
        return 0;
    default:
        return -1;
    }
}

static int parse_options(int argc, char **argv, struct check_options *o)
{
    static const struct option options[] = {
        {"max-leaked-bytes", required_argument, NULL, 'b'},
        {"max-leaked-blocks", required_argument, NULL, 'k'},
        {"max-new-suspects", required_argument, NULL, 'n'},
        {"max-growth", required_argument, NULL, 'g'},
        {"since", required_argument, NULL, 's'},
        {"until", required_argument, NULL, 'u'},
        {"suppressions", required_argument, NULL, 'S'},
        {"no-default-suppressions", no_argument, NULL, 'D'},
        {"baseline", required_argument, NULL, 'B'},
        {"baseline-threshold", required_argument, NULL, 'T'},
        {"junit", required_argument, NULL, 'j'},
        {"sarif", required_argument, NULL, 'f'},
        {"json", required_argument, NULL, 'J'},
        {"source-root", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->default_suppressions = 1;
    o->limits.threshold = (struct growth_threshold){.percent = 10, .bytes = 1024};
    o->request.order = ORDER_SCORE;
    optind = 1;
    argv[0] = "leakshim check"; /* getopt's messages name the command */
    int c, index = 0;
    while ((c = getopt_long(argc, argv, "", options, &index)) != -1) {
        if (c == 'h') {
            fputs(check_usage, stdout);
            return 1;
        }
        if (c == '?' || take_option(o, c, options[index].name, optarg) < 0)
            return -1;
    }
    if (optind != argc - 1) {
        fputs(check_usage, stderr);
        return -1;
    }
    o->trace = argv[optind];
    return 0;
}

static int load_suppressions(const struct check_options *o, struct suppression_list *list)
{
    char error[700];
    for (size_t i = 0; i < o->suppression_file_count; i++)
        if (suppressions_load(list, o->suppression_files[i], error, sizeof error) < 0) {
            fprintf(stderr, "leakshim check: %s\n", error);
            return -1;
        }
    if (o->default_suppressions && suppressions_add_defaults(list) < 0) {
        fputs("leakshim check: out of memory\n", stderr);
        return -1;
    }
    return 0;
}

/* Writes one output file; 0, or -1 after saying why. */
static int write_output(const char *path, void (*format)(FILE *, const struct check_context *),
                        const struct check_context *c)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "leakshim check: %s: %m\n", path);
        return -1;
    }
    format(f, c);
    if (ferror(f) | fclose(f)) {
        fprintf(stderr, "leakshim check: %s: write error\n", path);
        return -1;
    }
    return 0;
}

static void warn_unused(const struct suppression_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        const struct suppression *s = &list->items[i];
        if (s->source && !s->suspects)
            fprintf(stderr, "leakshim check: warning: %s:%u: suppression 'leak:%s' matched nothing%s\n",
                    s->source, s->line, s->pattern,
                    strchr(s->pattern, '#') ? " (a '#' starts a comment only at the start of a line)" : "");
    }
}

/* The working directory, or the --source-root given, made absolute without a trailing
 * slash; NULL when it is the file system's root or cannot be resolved. */
static char *source_root(const char *given)
{
    char *root = realpath(given ? given : ".", NULL);
    if (root && strcmp(root, "/") == 0) {
        free(root);
        return NULL;
    }
    return root;
}

static int run_check(const struct check_options *o, struct suppression_list *supp,
                     struct leak_run *run, struct leak_run *baseline, struct gate *g)
{
    char error[700];
    if (leak_run_load(run, o->trace, &o->request, error, sizeof error) < 0) {
        fprintf(stderr, "leakshim check: %s\n", error);
        return EXIT_USAGE;
    }
    if (*run->warning)
        fprintf(stderr, "leakshim check: warning: %s; checking what it holds\n", run->warning);
    struct analysis_request whole = {.order = ORDER_SCORE};
    if (o->baseline && leak_run_load(baseline, o->baseline, &whole, error, sizeof error) < 0) {
        fprintf(stderr, "leakshim check: baseline: %s\n", error);
        return EXIT_USAGE;
    }
    struct gate_limits limits = o->limits;
    gate_default_limits(&limits, o->baseline != NULL);
    if (gate_evaluate(g, run, supp, o->baseline ? baseline : NULL, &limits) < 0) {
        fputs("leakshim check: out of memory\n", stderr);
        return EXIT_USAGE;
    }
    if (g->budgets[BUDGET_GROWTH].set && !g->budgets[BUDGET_GROWTH].measured) {
        fputs("leakshim check: --max-growth: the input has no growth rates (a JSON report of an "
              "older leakshim): give the trace\n", stderr);
        return EXIT_USAGE;
    }
    char *root = o->sarif ? source_root(o->source_root) : NULL;
    struct check_context c = {.trace = o->trace, .baseline_path = o->baseline, .run = run,
                              .gate = g, .suppressions = supp, .source_root = root};
    int rc = g->failed ? EXIT_BUDGET_EXCEEDED : 0;
    check_text(stdout, &c);
    warn_unused(supp);
    if ((o->junit && write_output(o->junit, check_junit, &c) < 0) ||
        (o->sarif && write_output(o->sarif, check_sarif, &c) < 0) ||
        (o->json && write_output(o->json, check_json, &c) < 0) || fflush(stdout) != 0)
        rc = EXIT_USAGE;
    free(root);
    return rc;
}

int cmd_check(int argc, char **argv)
{
    struct check_options o;
    int parsed = parse_options(argc, argv, &o);
    if (parsed != 0)
        return parsed > 0 ? 0 : EXIT_USAGE;
    struct suppression_list supp;
    suppressions_init(&supp);
    if (load_suppressions(&o, &supp) < 0) {
        suppressions_free(&supp);
        return EXIT_USAGE;
    }
    struct leak_run run, baseline;
    struct gate g;
    memset(&run, 0, sizeof run);
    memset(&baseline, 0, sizeof baseline);
    memset(&g, 0, sizeof g);
    int rc = run_check(&o, &supp, &run, &baseline, &g);
    gate_free(&g);
    leak_run_free(&baseline);
    leak_run_free(&run);
    suppressions_free(&supp);
    return rc;
}
