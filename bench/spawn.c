/* spawn: runs one command as its child and reports the child's resource usage (bench/run.py).
 *
 * Why not wait4() from Python directly: Linux keeps a process's peak RSS (ru_maxrss) across
 * exec, and a child forked (or vforked) by the Python harness starts with the harness's memory
 * mapped, so ru_maxrss of every program started from Python is at least the harness's own RSS
 * (tens of MiB), which hides the differences we want to see. A child forked by this small
 * program starts with this program's few hundred KiB instead.
 *
 * Usage: spawn REPORT_FILE COMMAND [ARG]...
 * Forks, execs COMMAND (PATH search), forwards SIGTERM, SIGINT, SIGHUP and SIGQUIT to it, waits
 * for it with wait4() and writes two lines to REPORT_FILE: right after the fork
 *   child P
 * and when the child has ended
 *   pid P status S start_ns T0 end_ns T1 utime_us U stime_us S maxrss_kib M
 * S is the exit status, or -N for death by signal N; T0 (just before fork) and T1 (just after
 * wait4 returned) are CLOCK_MONOTONIC nanoseconds (Python's time.monotonic_ns()). Then exits
 * with the child's status (dies of the child's signal). Exit 127 if COMMAND cannot be run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t child = -1;

static void forward(int sig)
{
    if (child > 0)
        kill(child, sig);
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: spawn REPORT_FILE COMMAND [ARG]...\n");
        return 2;
    }
    FILE *report = fopen(argv[1], "we");
    if (!report) {
        fprintf(stderr, "spawn: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigset_t block, old;
    sigemptyset(&block);
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&block, sigs[i]);
    /* No signal between fork and recording the child's pid goes unforwarded. */
    sigprocmask(SIG_BLOCK, &block, &old);
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);

    long long t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "spawn: fork: %s\n", strerror(errno));
        return 127;
    }
    if (pid == 0) {
        for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            signal(sigs[i], SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        fclose(report);
        execvp(argv[2], argv + 2);
        fprintf(stderr, "spawn: %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    child = pid;
    fprintf(report, "child %d\n", (int)pid);
    fflush(report);
    sigprocmask(SIG_SETMASK, &old, NULL);

    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "spawn: wait4: %s\n", strerror(errno));
            return 127;
        }
    }
    long long t1 = now_ns();
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    fprintf(report, "pid %d status %d start_ns %lld end_ns %lld utime_us %lld stime_us %lld maxrss_kib %ld\n",
            (int)pid, code, t0, t1,
            (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec,
            (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec, ru.ru_maxrss);
    fclose(report);
    if (code < 0) {
        signal(-code, SIG_DFL);
        kill(getpid(), -code);
        return 128 - code;
    }
    return code;
}
