/* `leakshim`: the analyzer's command line. Dispatches to the subcommands in commands.h. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const char usage[] =
    "usage: leakshim COMMAND [OPTIONS]      (leakshim --version, leakshim COMMAND --help)\n"
    "\n"
    "commands:\n"
    "  run [--output TEMPLATE] -- PROGRAM [ARGS...]\n"
    "        run PROGRAM with the tracer preloaded; prints where the trace went\n"
    "  report [--format text|json|collapsed|pprof|html] [--top N] [--sort KEY]\n"
    "         [--since SECONDS|MARK] [--until SECONDS|MARK] TRACE\n"
    "        replay TRACE and rank the stacks that still hold memory at its end,\n"
    "        growing ones first\n"
    "  timeline [--format text|csv|json] TRACE\n"
    "        the heap over time (one row per LEAKSHIM_INTERVAL) and the marks\n"
    "  check [--max-leaked-bytes SIZE] [--suppressions FILE] [--baseline OLD] ... TRACE\n"
    "        the CI gate: exit 0 when every leak budget holds, 1 when one is exceeded;\n"
    "        JUnit, SARIF and JSON verdicts on request (leakshim check --help)\n"
    "  diff [--threshold T] OLD NEW\n"
    "        the leaking stacks that are new, gone, grown or shrunk between two runs\n"
    "        (traces or report --format json files)\n"
    "  watch [--interval SECONDS] [--listen [ADDR:]PORT] [--learn SECONDS]\n"
    "        [--alerts FILE] ... TRACE\n"
    "        follow a trace while the process runs: status, anomaly alerts,\n"
    "        Prometheus metrics; the report when the process ends\n"
    "\n"
    "Recording without `run`: LD_PRELOAD=/path/to/libleakshim.so PROGRAM\n"
    "Settings: LEAKSHIM_OUTPUT, LEAKSHIM_DEPTH, LEAKSHIM_BUFFER, LEAKSHIM_INTERVAL,\n"
    "LEAKSHIM_MARK_SIGNAL, LEAKSHIM_COMPRESS, LEAKSHIM_FRAME_CACHE, LEAKSHIM_SAMPLE,\n"
    "LEAKSHIM_SAMPLE_SEED, LEAKSHIM_ESCALATE (see README.md).\n";

/* The commands whose options do not all fit in the overview above. */
static const char report_usage[] =
    "usage: leakshim report [--format text|json|collapsed|pprof|html] [--top N]\n"
    "                       [--sort score|bytes|count|growth] [--since B] [--until B]\n"
    "                       [--value leaked|allocated|count] [--alerts FILE]\n"
    "                       [--color auto|always|never] [-o FILE] TRACE\n"
    "  B: seconds from the start (2.5) or a mark's name; --top 0 shows every suspect\n"
    "  --value: what collapsed counts (pprof has every value); --alerts: watch's alerts on the\n"
    "  HTML time line\n"
    "  -o, --output FILE: the report goes to FILE (pprof needs it on a terminal)\n"
    "  Exit 0: the trace was read; 2: usage error, unreadable or invalid trace.\n";

static const char watch_usage[] =
    "usage: leakshim watch [--interval SECONDS] [--listen [ADDR:]PORT] [--top N]\n"
    "                      [--learn SECONDS | --learn-until MARK] [--threshold SIGMAS]\n"
    "                      [--consecutive N] [--alerts FILE] [--status auto|always|never]\n"
    "                      [--wait SECONDS] TRACE\n"
    "  follows TRACE while the process records it; alerts when the heap's growth or the\n"
    "  allocation rate leaves what the learning period showed; Prometheus metrics at\n"
    "  http://ADDR:PORT/metrics; the report when the process ends.\n"
    "  Exit 0: the process ended (or SIGINT/SIGTERM); 2: usage error, invalid trace.\n";

#define LEAKSHIM_VERSION "0.3.0"

static int wants_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
        int own_help;     /* prints its own --help */
        const char *help; /* else this, or the overview when NULL */
    } commands[] = {
        {"report", cmd_report, 0, report_usage}, {"run", cmd_run, 0, NULL},
        {"timeline", cmd_timeline, 0, NULL},     {"check", cmd_check, 1, NULL},
        {"diff", cmd_diff, 1, NULL},             {"watch", cmd_watch, 0, watch_usage},
    };
    for (size_t i = 0; argc >= 2 && i < sizeof commands / sizeof *commands; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (argc == 3 && wants_help(argv[2]) && !commands[i].own_help) {
            fputs(commands[i].help ? commands[i].help : usage, stdout);
            return 0;
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    if (argc >= 2 && wants_help(argv[1])) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        puts("leakshim " LEAKSHIM_VERSION);
        return 0;
    }
    if (argc >= 2)
        fprintf(stderr, "leakshim: unknown command '%s'\n\n", argv[1]);
    fputs(usage, stderr);
    return EXIT_USAGE;
}
