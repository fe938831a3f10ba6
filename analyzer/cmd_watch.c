/* `leakshim watch [options] TRACE`: follows a trace while its process writes it (like
 * `tail -f`, trace_follow.h), keeping the books record by record (replay_apply, never
 * reading the file again from its start). At the end of each interval of trace time
 * (interval_tracker.h) it feeds the live heap's growth and the allocation rate to two anomaly
 * detectors (anomaly.h), raises alerts (watch_output.h: a line on stdout, a JSON line in
 * --alerts FILE) and, on a terminal, prints a status line. With --listen it serves the
 * figures as Prometheus metrics (metrics.h) from a server polled in this same thread
 * (http_server.h) while it waits for the trace to grow.
 *
 * The end: an END record, an EXEC record not followed by EXEC_FAILED within the grace period,
 * or the process gone (trace_follow_process_alive) for the grace period. Then it reads what is
 * left with the checks of a finished file, ends the trace as `leakshim report` does
 * (replay_conclude, then analysis_finish) and prints the same text report. SIGINT or SIGTERM
 * stop the watch early: the report then covers what was read, with a warning.
 *
 * Exit 0 after the report; 2 on a usage error, a trace that cannot be read or is invalid. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analysis.h"
#include "anomaly.h"
#include "commands.h"
#include "http_server.h"
#include "interval_tracker.h"
#include "metrics.h"
#include "report.h"
#include "stack_names.h"
#include "trace_follow.h"
#include "watch_output.h"

#define USAGE "usage: leakshim watch [--interval SECONDS] [--listen [ADDR:]PORT] [--top N]\n" \
              "                      [--learn SECONDS | --learn-until MARK] [--threshold SIGMAS]\n" \
              "                      [--consecutive N] [--alerts FILE] [--status auto|always|never]\n" \
              "                      [--wait SECONDS] TRACE\n"
#define REPORT_TOP 10            /* suspects in the final report, as `leakshim report` */
#define GRACE_S 1.0              /* after the process is gone (or exec'd), before the end */
#define BATCH_RECORDS 65536      /* records applied between two turns of the server */
#define EWMA_ALPHA 0.1           /* anomaly.h: the baseline's weight of a new interval */
#define GROWTH_MIN_SIGMA 1024.0  /* bytes/s: sigma's floor for the heap's growth */
#define RATE_MIN_SIGMA 1024.0    /* bytes/s: and for the allocation rate ... */
#define RATE_RELATIVE_SIGMA 0.05 /* ... or 5 % of its mean */

struct watch_options {
    double interval_s, learn_s, threshold, wait_s;
    const char *learn_until, *listen, *alerts_path;
    size_t top;
    unsigned consecutive;
    int status; /* print status lines */
};

struct watch {
    struct watch_options opt;
    const char *path;
    struct analysis a; /* a.replay is fed record by record */
    struct trace_follow follow;
    struct interval_tracker tracker;
    struct anomaly_detector detectors[ALERT_KINDS];
    struct stack_names names;
    struct stack_growth *growth; /* interval_tracker_top's output, 2 x top */
    struct metrics_stack *stacks; /* the top growing stacks by name, at most top */
    size_t stack_count;
    int learning;
    FILE *alerts;
    struct http_server *server;
    double exec_since, gone_since; /* monotonic seconds, 0 when not */
    int ring_tied;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- options ---------------------------------------------------------------------------- */

static int parse_number(const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v >= min && v <= max))
        return -1;
    *out = v;
    return 0;
}

static int parse_options(int argc, char **argv, struct watch_options *o)
{
    static const struct option options[] = {
        {"interval", required_argument, NULL, 'i'}, {"listen", required_argument, NULL, 'l'},
        {"top", required_argument, NULL, 't'},      {"learn", required_argument, NULL, 'L'},
        {"learn-until", required_argument, NULL, 'U'}, {"threshold", required_argument, NULL, 'k'},
        {"consecutive", required_argument, NULL, 'c'}, {"alerts", required_argument, NULL, 'a'},
        {"status", required_argument, NULL, 's'},   {"wait", required_argument, NULL, 'w'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct watch_options){.interval_s = 1, .learn_s = 10, .threshold = 4, .wait_s = 10,
                                .top = 10, .consecutive = 3, .status = isatty(STDOUT_FILENO)};
    double v;
    int c;
    optind = 1;
    argv[0] = "leakshim watch";
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        const char *bad = NULL;
        switch (c) {
        case 'i': if (parse_number(optarg, 0.01, 3600, &o->interval_s) < 0) bad = "--interval takes seconds from 0.01 to 3600"; break;
        case 'L': if (parse_number(optarg, 0, 1e7, &o->learn_s) < 0) bad = "--learn takes seconds"; break;
        case 'k': if (parse_number(optarg, 0.1, 1000, &o->threshold) < 0) bad = "--threshold takes standard deviations from 0.1 to 1000"; break;
        case 'w': if (parse_number(optarg, 0, 1e6, &o->wait_s) < 0) bad = "--wait takes seconds"; break;
        case 't':
            if (parse_number(optarg, 1, 1000, &v) < 0 || v != floor(v)) bad = "--top takes a whole number from 1 to 1000";
            else o->top = (size_t)v;
            break;
        case 'c':
            if (parse_number(optarg, 1, INTERVAL_WINDOW_MAX, &v) < 0 || v != floor(v)) bad = "--consecutive takes a whole number from 1 to 64";
            else o->consecutive = (unsigned)v;
            break;
        case 'l': o->listen = optarg; break;
        case 'U': o->learn_until = optarg; break;
        case 'a': o->alerts_path = optarg; break;
        case 's':
            if (strcmp(optarg, "always") == 0) o->status = 1;
            else if (strcmp(optarg, "never") == 0) o->status = 0;
            else if (strcmp(optarg, "auto") != 0) bad = "--status takes auto, always or never";
            break;
        default: fputs(USAGE, stderr); return -1;
        }
        if (bad) {
            fprintf(stderr, "leakshim watch: %s, not '%s'\n", bad, optarg);
            return -1;
        }
    }
    if (optind != argc - 1) {
        fputs(USAGE, stderr);
        return -1;
    }
    return 0;
}

/* --- each interval ------------------------------------------------------------------------ */

static int by_growth(const void *x, const void *y)
{
    const struct metrics_stack *a = x, *b = y;
    return (a->growth_bytes_per_s < b->growth_bytes_per_s) - (a->growth_bytes_per_s > b->growth_bytes_per_s);
}

/* w->stacks: the stacks that grew fastest over the recent intervals, those that share a
 * short name summed into one (one series per label value), at most `top`. */
static void rank_stacks(struct watch *w)
{
    struct replay *r = &w->a.replay;
    size_t n = interval_tracker_top(&w->tracker, r, w->growth, 2 * w->opt.top);
    w->stack_count = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = stack_name(&w->names, r, w->growth[i].stack_id);
        size_t j = 0;
        while (j < w->stack_count && strcmp(w->stacks[j].name, name) != 0)
            j++;
        if (j == w->stack_count) {
            w->stacks[w->stack_count++] = (struct metrics_stack){name, 0, 0};
        }
        w->stacks[j].growth_bytes_per_s += w->growth[i].growth_bytes_per_s;
        w->stacks[j].live_bytes += w->growth[i].outstanding_bytes;
    }
    qsort(w->stacks, w->stack_count, sizeof *w->stacks, by_growth);
    if (w->stack_count > w->opt.top)
        w->stack_count = w->opt.top;
}

static void raise_alert(struct watch *w, enum alert_kind kind, double observed)
{
    const struct anomaly_detector *d = &w->detectors[kind];
    struct alert a = {kind, (double)w->tracker.last.end_ns / 1e9, observed, d->mean,
                      anomaly_bound(d), anomaly_sigma(d), d->config.threshold,
                      d->config.consecutive, w->stacks,
                      w->stack_count < ALERT_STACKS ? w->stack_count : ALERT_STACKS};
    watch_alert_text(stdout, &a);
    if (w->alerts)
        watch_alert_json(w->alerts, &a, w->a.replay.process.pid);
}

static void on_interval(struct watch *w)
{
    const struct interval_figures *f = &w->tracker.last;
    const struct replay *r = &w->a.replay;
    w->learning = w->opt.learn_until ? !timeline_find_mark(&r->timeline, w->opt.learn_until)
                                     : (double)f->end_ns / 1e9 <= w->opt.learn_s;
    rank_stacks(w);
    const double observed[ALERT_KINDS] = {f->heap_growth_bytes_per_s, f->allocated_bytes_per_s};
    char state[64];
    snprintf(state, sizeof state, "%s", w->learning ? "learning" : "");
    for (int k = 0; k < ALERT_KINDS; k++) {
        enum anomaly_verdict v = anomaly_observe(&w->detectors[k], observed[k], w->learning);
        if (v == ANOMALY_ALERT)
            raise_alert(w, (enum alert_kind)k, observed[k]);
        if (w->detectors[k].active) {
            size_t used = strlen(state);
            snprintf(state + used, sizeof state - used, "%s%s", used ? " " : "ALERT ",
                     alert_kind_name((enum alert_kind)k));
        }
    }
    if (w->opt.status)
        watch_status_line(stdout, r, f, state, w->stacks, w->stack_count);
}

/* Applies one record; -1 with `error` set when it contradicts the trace. */
static int apply(struct watch *w, const struct trace_record *rec, char *error, size_t error_len)
{
    struct replay *r = &w->a.replay;
    char why[256];
    if (replay_apply(r, rec, why, sizeof why) < 0) {
        snprintf(error, error_len, "%s: %s", w->path, why);
        return -1;
    }
    if (rec->type == TRACE_REC_PROCESS && !w->ring_tied) {
        trace_follow_attach_ring(&w->follow, r->process.pid, r->process.start_ns);
        w->ring_tied = 1;
    }
    int closed = interval_tracker_update(&w->tracker, r);
    if (closed < 0) {
        snprintf(error, error_len, "out of memory");
        return -1;
    }
    if (closed)
        on_interval(w);
    return 0;
}

/* --- the metrics ---------------------------------------------------------------------------- */

static int serve_metrics(void *ctx, const char *path, FILE *body, const char **content_type)
{
    const struct watch *w = ctx;
    if (strcmp(path, "/metrics") != 0)
        return 404;
    struct metrics_view v = {&w->a.replay, w->tracker.last.heap_growth_bytes_per_s,
                             w->tracker.last.allocated_bytes_per_s, w->stacks, w->stack_count,
                             w->learning, {0}, {0}};
    for (int k = 0; k < ALERT_KINDS; k++) {
        v.alert_active[k] = w->detectors[k].active;
        v.alerts[k] = w->detectors[k].alerts;
    }
    metrics_write(body, &v);
    *content_type = METRICS_CONTENT_TYPE;
    return 200;
}

/* Waits up to `seconds`, serving the metrics meanwhile. */
static void pause_serving(struct watch *w, double seconds)
{
    if (w->server) {
        http_server_serve(w->server, (int)(seconds * 1000), serve_metrics, w);
    } else {
        struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* --- the end ------------------------------------------------------------------------------- */

/* 1 once the process has ended (its trace is finished, or it is gone) for the grace period. */
static int process_ended(struct watch *w)
{
    const struct replay *r = &w->a.replay;
    double now = monotonic_s();
    if (r->complete)
        return 1;
    if (r->ended_by_exec) { /* unless an EXEC_FAILED comes */
        if (!w->exec_since)
            w->exec_since = now;
        return now - w->exec_since >= GRACE_S;
    }
    w->exec_since = 0;
    if (!r->process.seen || trace_follow_process_alive(r->process.pid, r->process.start_ns)) {
        w->gone_since = 0;
        return 0;
    }
    if (!w->gone_since)
        w->gone_since = now;
    return now - w->gone_since >= GRACE_S;
}

/* Follows the trace until the process ends or a signal stops the watch. Returns 0, or -1 with
 * `error` set. */
static int follow(struct watch *w, char *error, size_t error_len)
{
    static struct trace_record rec; /* large (a full stack): kept off the stack */
    double pause_s = w->opt.interval_s / 4 < 0.1 ? w->opt.interval_s / 4 : 0.1;
    while (!interrupted) {
        enum trace_status s = TRACE_OK;
        for (int n = 0; n < BATCH_RECORDS && (s = trace_follow_next(&w->follow, &rec)) == TRACE_OK; n++)
            if (apply(w, &rec, error, error_len) < 0)
                return -1;
        if (s == TRACE_INVALID) {
            snprintf(error, error_len, "%s", w->follow.reader.error);
            return -1;
        }
        if (s == TRACE_OK) { /* more to read: let the clients in, then go on */
            pause_serving(w, 0);
            continue;
        }
        if (process_ended(w))
            return 0;
        pause_serving(w, pause_s);
    }
    return 0;
}

/* Reads what is left as a finished file and ends the trace as `leakshim report` does (after
 * a signal: what was read, without the ring file of a process still running). Returns the
 * status, `why` set unless TRACE_EOF. */
static enum trace_status conclude(struct watch *w, char *why, size_t why_len)
{
    static struct trace_record rec;
    struct replay *r = &w->a.replay;
    if (interrupted) {
        snprintf(why, why_len, "%s: the watch was stopped before the process ended", w->path);
        r->complete = 0;
        replay_finish(r);
        return TRACE_TRUNCATED;
    }
    if (trace_follow_last_pass(&w->follow) < 0) {
        snprintf(why, why_len, "%s", w->follow.reader.error);
        return TRACE_INVALID;
    }
    enum trace_status s;
    while ((s = trace_reader_next(&w->follow.reader, &rec)) == TRACE_OK)
        if (apply(w, &rec, why, why_len) < 0)
            return TRACE_INVALID;
    return replay_conclude(r, w->path, s, &w->follow.reader, why, why_len);
}

static int final_report(struct watch *w)
{
    char why[700] = "", error[700];
    enum trace_status s = conclude(w, why, sizeof why);
    struct analysis_request request = {.top = REPORT_TOP, .order = ORDER_SCORE};
    if (analysis_finish(&w->a, w->path, s, why, &request, error, sizeof error) < 0) {
        fprintf(stderr, "leakshim watch: %s\n", error);
        return EXIT_USAGE;
    }
    if (w->a.status == TRACE_TRUNCATED)
        fprintf(stderr, "leakshim watch: warning: %s; reporting what it holds\n", w->a.warning);
    if (w->opt.status)
        fputc('\n', stdout);
    report_text(stdout, &w->a.replay, &w->a.suspects);
    return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
}

/* --- the command ------------------------------------------------------------------------------ */

static int start(struct watch *w, char *error, size_t error_len)
{
    const struct watch_options *o = &w->opt;
    const struct anomaly_config growth = {o->threshold, o->consecutive, EWMA_ALPHA, GROWTH_MIN_SIGMA, 0};
    const struct anomaly_config rate = {o->threshold, o->consecutive, EWMA_ALPHA, RATE_MIN_SIGMA,
                                        RATE_RELATIVE_SIGMA};
    anomaly_init(&w->detectors[ALERT_GROWTH], &growth);
    anomaly_init(&w->detectors[ALERT_RATE], &rate);
    stack_names_init(&w->names);
    w->learning = 1;
    w->growth = calloc(2 * o->top, sizeof *w->growth);
    w->stacks = calloc(2 * o->top, sizeof *w->stacks);
    if (!w->growth || !w->stacks || replay_init(&w->a.replay) < 0 ||
        interval_tracker_init(&w->tracker, (uint64_t)(o->interval_s * 1e9), o->consecutive) < 0) {
        snprintf(error, error_len, "out of memory");
        return -1;
    }
    if (o->alerts_path && !(w->alerts = fopen(o->alerts_path, "a"))) {
        snprintf(error, error_len, "cannot open %s: %s", o->alerts_path, strerror(errno));
        return -1;
    }
    if (o->listen) {
        if (!(w->server = http_server_open(o->listen, error, error_len)))
            return -1;
        fprintf(stderr, "leakshim watch: metrics at http://%s/metrics\n",
                http_server_address(w->server));
    }
    return trace_follow_open(&w->follow, w->path, o->wait_s, error, error_len);
}

static void finish(struct watch *w)
{
    trace_follow_close(&w->follow);
    http_server_close(w->server);
    if (w->alerts)
        fclose(w->alerts);
    interval_tracker_free(&w->tracker);
    stack_names_free(&w->names);
    analysis_free(&w->a);
    free(w->growth);
    free(w->stacks);
}

int cmd_watch(int argc, char **argv)
{
    static struct watch w;
    memset(&w, 0, sizeof w);
    w.follow.reader.fd = -1; /* nothing to close until it is opened */
    if (parse_options(argc, argv, &w.opt) < 0)
        return EXIT_USAGE;
    w.path = argv[optind];
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: waits end at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    char error[700];
    int rc = start(&w, error, sizeof error) < 0 || follow(&w, error, sizeof error) < 0 ? -1 : 0;
    if (rc < 0) {
        fprintf(stderr, "leakshim watch: %s\n", error);
        rc = EXIT_USAGE;
    } else {
        rc = final_report(&w);
    }
    finish(&w);
    return rc;
}
