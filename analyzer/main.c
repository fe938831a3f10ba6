/* `leakshim`: the analyzer's command line. Dispatches to the subcommands in commands.h. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const char usage[] =
    "usage: leakshim COMMAND [OPTIONS]\n"
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
    "LEAKSHIM_MARK_SIGNAL (see README.md).\n";

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "report") == 0)
        return cmd_report(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "timeline") == 0)
        return cmd_timeline(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "diff") == 0)
        return cmd_diff(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "watch") == 0)
        return cmd_watch(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "help") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc >= 2)
        fprintf(stderr, "leakshim: unknown command '%s'\n\n", argv[1]);
    fputs(usage, stderr);
    return EXIT_USAGE;
}
