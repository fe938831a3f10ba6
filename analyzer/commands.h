/* The subcommands of the `leakshim` command line; main.c dispatches to them. Each returns
 * the process exit status (CONTRACT.md: 0 success, 2 usage error or unreadable trace;
 * `check` also 1 when a budget is exceeded). */
#ifndef LEAKSHIM_COMMANDS_H
#define LEAKSHIM_COMMANDS_H

#define EXIT_USAGE 2

int cmd_report(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_timeline(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_watch(int argc, char **argv);

#endif
