/* `leakshim run [--output TEMPLATE] -- PROGRAM ARGS...`: runs PROGRAM with libleakshim.so
 * preloaded and, when it has ended, says which trace files it left.
 *
 * The library is looked for next to this executable (the build tree) and then in
 * ../lib/leakshim/ relative to it (an installed prefix). The exit status is PROGRAM's; if it
 * died of a signal, this process dies of the same signal. Signals sent to this process with
 * kill(2) are passed on to PROGRAM; a terminal's Ctrl-C already reaches both. The traces named
 * at the end are the files matching the template that were not there before the start. */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"

#define EXIT_CANNOT_RUN 127 /* as the shell says a command could not be run */

#define DEFAULT_TEMPLATE "leakshim.%e.%p.trace"

static volatile sig_atomic_t child_pid;

static int find_library(char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    *slash = 0;
    static const char *candidates[] = {"/libleakshim.so", "/../lib/leakshim/libleakshim.so"};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
        if (strlen(self) + strlen(candidates[i]) >= cap)
            continue;
        strcpy(out, self);
        strcat(out, candidates[i]);
        if (access(out, R_OK) == 0)
            return 0;
    }
    return -1;
}

static void forward(int sig, siginfo_t *info, void *ctx)
{
    (void)ctx;
    if (child_pid > 0 && info->si_code <= 0) /* sent by a process, not the terminal */
        kill((pid_t)child_pid, sig);
}

static void forward_signals(void)
{
    static const int signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
        sigaction(signals[i], &sa, NULL);
}

/* The glob pattern of every trace the template can name: %p and %e match anything, and the
 * numbered variants used when a name was taken are matched in a second pass. */
static void trace_pattern(const char *template, char *pattern, size_t cap)
{
    size_t o = 0;
    for (const char *p = template; *p && o + 3 < cap; p++) {
        if (p[0] == '%' && (p[1] == 'p' || p[1] == 'e')) {
            pattern[o++] = '*';
            p++;
            continue;
        }
        if (p[0] == '%' && p[1] == '%')
            p++;
        if (strchr("*?[\\", *p))
            pattern[o++] = '\\';
        pattern[o++] = *p;
    }
    pattern[o] = 0;
}

/* The files the pattern (and its numbered variants) matches now; globfree both. */
static void list_traces(const char *pattern, glob_t *plain, glob_t *numbered)
{
    char with_suffix[PATH_MAX + 8];
    snprintf(with_suffix, sizeof with_suffix, "%s.[0-9]*", pattern);
    memset(plain, 0, sizeof *plain);
    memset(numbered, 0, sizeof *numbered);
    glob(pattern, 0, NULL, plain);
    glob(with_suffix, 0, NULL, numbered);
}

static int listed(const glob_t *g, const char *path)
{
    for (size_t i = 0; i < g->gl_pathc; i++)
        if (strcmp(g->gl_pathv[i], path) == 0)
            return 1;
    return 0;
}

/* Names the traces that appeared while PROGRAM ran: its own, its children's and those of the
 * images it exec'd; says so when there is none, unless PROGRAM could not even start. */
static void announce_new_traces(const char *pattern, glob_t before[2], int started)
{
    glob_t after[2];
    int found = 0;
    list_traces(pattern, &after[0], &after[1]);
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < after[k].gl_pathc; i++)
            if (!listed(&before[k], after[k].gl_pathv[i])) {
                fprintf(stderr, "leakshim run: trace written to %s\n", after[k].gl_pathv[i]);
                found = 1;
            }
    if (!found && started)
        fprintf(stderr, "leakshim run: no new trace matches %s\n", pattern);
    for (int k = 0; k < 2; k++) {
        globfree(&after[k]);
        globfree(&before[k]);
    }
}

static int usage_error(const char *option)
{
    fprintf(stderr, "leakshim run: bad option '%s'\n"
                    "usage: leakshim run [--output TEMPLATE] -- PROGRAM [ARGS...]\n", option);
    return EXIT_USAGE;
}

int cmd_run(int argc, char **argv)
{
    const char *template = NULL;
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--output") == 0 && i + 1 < argc && strcmp(argv[i + 1], "--") != 0)
            template = argv[++i];
        else if (strncmp(argv[i], "--output=", 9) == 0)
            template = argv[i] + 9;
        else if (argv[i][0] == '-')
            return usage_error(argv[i]);
        else
            break;
    }
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    if (i >= argc) {
        fputs("usage: leakshim run [--output TEMPLATE] -- PROGRAM [ARGS...]\n", stderr);
        return EXIT_USAGE;
    }
    char library[PATH_MAX];
    if (find_library(library, sizeof library) < 0) {
        fputs("leakshim run: cannot find libleakshim.so next to the leakshim executable or in "
              "../lib/leakshim/ from it\n", stderr);
        return EXIT_USAGE;
    }
    const char *old = getenv("LD_PRELOAD");
    char preload[2 * PATH_MAX];
    snprintf(preload, sizeof preload, "%s%s%s", library, old && *old ? ":" : "", old ? old : "");
    setenv("LD_PRELOAD", preload, 1);
    if (template)
        setenv("LEAKSHIM_OUTPUT", template, 1);
    else if (!(template = getenv("LEAKSHIM_OUTPUT")) || !*template)
        template = DEFAULT_TEMPLATE;

    char pattern[PATH_MAX];
    glob_t before[2];
    trace_pattern(template, pattern, sizeof pattern);
    list_traces(pattern, &before[0], &before[1]);
    forward_signals();
    pid_t pid = fork();
    if (pid < 0) {
        perror("leakshim run: fork");
        return EXIT_USAGE;
    }
    if (pid == 0) {
        execvp(argv[i], argv + i);
        fprintf(stderr, "leakshim run: cannot run %s: %s\n", argv[i], strerror(errno));
        _exit(EXIT_CANNOT_RUN);
    }
    child_pid = pid;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    announce_new_traces(pattern, before, !WIFEXITED(status) || WEXITSTATUS(status) != EXIT_CANNOT_RUN);
    if (WIFSIGNALED(status)) {
        signal(WTERMSIG(status), SIG_DFL);
        raise(WTERMSIG(status));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
