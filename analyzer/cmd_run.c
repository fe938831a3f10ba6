/* `leakshim run [--output TEMPLATE] -- PROGRAM ARGS...`: runs PROGRAM with libleakshim.so
 * preloaded and, when it has ended, says which trace files it left.
 *
 * The library is looked for next to this executable (the build tree) and then in
 * ../lib/leakshim/ relative to it (an installed prefix). The exit status is PROGRAM's; if it
 * died of a signal, this process dies of the same signal. Signals sent to this process with
 * kill(2) are passed on to PROGRAM; a terminal's Ctrl-C already reaches both. */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"

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

/* Lists the traces PROGRAM left: the template with %p = its pid and %e = any name, plus the
 * numbered variants used when a name was taken (an exec'd image writes a second trace). */
static void announce_traces(const char *template, pid_t pid, time_t started)
{
    char pattern[PATH_MAX];
    size_t o = 0;
    for (const char *p = template; *p && o + 24 < sizeof pattern; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            o += (size_t)snprintf(pattern + o, sizeof pattern - o, "%d", (int)pid);
            p++;
        } else if (p[0] == '%' && p[1] == 'e') {
            pattern[o++] = '*';
            p++;
        } else {
            if (p[0] == '%' && p[1] == '%')
                p++;
            if (strchr("*?[\\", *p))
                pattern[o++] = '\\';
            pattern[o++] = *p;
        }
    }
    pattern[o] = 0;
    glob_t g;
    int found = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass)
            strcat(pattern, ".[0-9]*");
        if (glob(pattern, 0, NULL, &g) != 0)
            continue;
        for (size_t i = 0; i < g.gl_pathc; i++) {
            struct stat st;
            if (stat(g.gl_pathv[i], &st) == 0 && st.st_mtime >= started) {
                fprintf(stderr, "leakshim: trace written to %s\n", g.gl_pathv[i]);
                found = 1;
            }
        }
        globfree(&g);
    }
    if (!found)
        fprintf(stderr, "leakshim: no trace found for pid %d (template %s)\n", (int)pid, template);
}

int cmd_run(int argc, char **argv)
{
    const char *template = NULL;
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--output") == 0 && i + 1 < argc)
            template = argv[++i];
        else if (strncmp(argv[i], "--output=", 9) == 0)
            template = argv[i] + 9;
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
        fputs("leakshim run: cannot find libleakshim.so next to the leakshim executable\n", stderr);
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

    time_t started = time(NULL);
    forward_signals();
    pid_t pid = fork();
    if (pid < 0) {
        perror("leakshim run: fork");
        return EXIT_USAGE;
    }
    if (pid == 0) {
        execvp(argv[i], argv + i);
        fprintf(stderr, "leakshim run: cannot run %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    child_pid = pid;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    announce_traces(template, pid, started);
    if (WIFSIGNALED(status)) {
        signal(WTERMSIG(status), SIG_DFL);
        raise(WTERMSIG(status));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
