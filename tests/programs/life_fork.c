/* fork, vfork, posix_spawn and system() under the shim. Every leak comes from a noinline
 * function with an exact size; the test checks each process's own trace.
 *
 *   life_fork basic        parent: parent_before_fork 1000 B in 1, inherited_block 10 x 64 B
 *                          (kept by the parent), then fork; the child frees 9 inherited blocks,
 *                          reallocs the 10th to 5000 B (child_realloc), leaks child_leak 3 x 333 B,
 *                          churns 1000 blocks and exits with exit(0); the parent waits, then
 *                          leaks parent_after_fork 555 B.
 *                          Prints "parent pid=P child=C status=S" and "child pid=C".
 *   life_fork loop N       N children one after the other; child i leaks child_loop_leak
 *                          (100 + i) B and ends with exit(0), _exit(0) or return from main
 *                          (i % 3); the parent leaks parent_loop_leak 77 B. Prints
 *                          "child I pid=P" for each and "loop done".
 *   life_fork hammer N     a thread churns malloc/free/realloc without pause while main forks
 *                          N times; each child leaks child_hammer_leak 2 x 48 B and exit(0)s.
 *                          A child that does not end within 10 s is killed and reported
 *                          ("HANG"), exit status 3. Parent leaks parent_hammer_leak 99 B.
 *   life_fork vfork CHILD  parent_spawn_leak 1234 B, then while a thread churns: vfork+execv
 *                          CHILD, vfork + execv of a missing file + _exit(127) in the child,
 *                          then parent_after_spawn 432 B.
 *   life_fork spawn CHILD  the same with posix_spawn, posix_spawnp and system(CHILD). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

extern char **environ;
static void *volatile sink;

NOINLINE void parent_before_fork(size_t n) { sink = malloc(n); }
NOINLINE void *inherited_block(size_t n) { return malloc(n); }
NOINLINE void *child_realloc(void *p, size_t n) { return realloc(p, n); }
NOINLINE void child_leak(size_t n) { sink = malloc(n); }
NOINLINE void *child_churn(size_t n) { return malloc(n); }
NOINLINE void parent_after_fork(size_t n) { sink = malloc(n); }
NOINLINE void child_loop_leak(size_t n) { sink = malloc(n); }
NOINLINE void parent_loop_leak(size_t n) { sink = malloc(n); }
NOINLINE void child_hammer_leak(size_t n) { sink = malloc(n); }
NOINLINE void parent_hammer_leak(size_t n) { sink = malloc(n); }
NOINLINE void *hammer_alloc(size_t n) { return malloc(n); }
NOINLINE void parent_spawn_leak(size_t n) { sink = malloc(n); }
NOINLINE void parent_after_spawn(size_t n) { sink = malloc(n); }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* waitpid with a deadline: -1 (and the child killed) if it does not end in time. */
static int wait_child(pid_t pid, double seconds, int *status)
{
    double end = now() + seconds;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR) {
            perror("waitpid");
            return -1;
        }
        if (now() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, status, 0);
            return -1;
        }
        struct timespec ts = {0, 500 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void churn(int n)
{
    for (int i = 0; i < n; i++) {
        char *p = child_churn(8 + (size_t)(i % 300));
        p[0] = (char)i;
        free(p);
    }
}

static atomic_int stop_hammer;

static void *hammer(void *arg)
{
    (void)arg;
    void *slots[64] = {0};
    unsigned i = 0;
    while (!atomic_load_explicit(&stop_hammer, memory_order_relaxed)) {
        unsigned s = (i * 7) & 63;
        if (i % 5 == 0 && slots[s]) {
            void *q = realloc(slots[s], 16 + (i % 1000));
            if (q)
                slots[s] = q;
        } else {
            free(slots[s]);
            slots[s] = hammer_alloc(16 + (i % 700));
        }
        i++;
    }
    for (int s = 0; s < 64; s++)
        free(slots[s]);
    return NULL;
}

static int basic(void)
{
    parent_before_fork(1000);
    void *inherited[10];
    for (int i = 0; i < 10; i++)
        inherited[i] = inherited_block(64);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        for (int i = 1; i < 10; i++)
            free(inherited[i]);
        sink = child_realloc(inherited[0], 5000);
        for (int i = 0; i < 3; i++)
            child_leak(333);
        churn(1000);
        printf("child pid=%d\n", (int)getpid());
        exit(0);
    }
    int status = 0;
    if (wait_child(pid, 20, &status) < 0) {
        printf("HANG child %d\n", (int)pid);
        return 3;
    }
    parent_after_fork(555);
    printf("parent pid=%d child=%d status=%d\n", (int)getpid(), (int)pid, status);
    return 0;
}

static int loop(int n)
{
    for (int i = 0; i < n; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            child_loop_leak(100 + (size_t)i);
            churn(50);
            if (i % 3 == 0)
                exit(0);
            if (i % 3 == 1)
                _exit(0);
            return 0; /* from main */
        }
        int status = 0;
        if (wait_child(pid, 20, &status) < 0) {
            printf("HANG child %d pid=%d\n", i, (int)pid);
            return 3;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            printf("child %d pid=%d failed: status %d\n", i, (int)pid, status);
            return 4;
        }
        printf("child %d pid=%d\n", i, (int)pid);
    }
    parent_loop_leak(77);
    printf("loop done\n");
    return 0;
}

static int hammered(int n)
{
    pthread_t th;
    pthread_create(&th, NULL, hammer, NULL);
    struct timespec warm = {0, 20 * 1000 * 1000};
    nanosleep(&warm, NULL);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            rc = 1;
            break;
        }
        if (pid == 0) {
            child_hammer_leak(48);
            churn(20);
            child_hammer_leak(48);
            exit(0);
        }
        int status = 0;
        if (wait_child(pid, 10, &status) < 0) {
            printf("HANG child %d pid=%d\n", i, (int)pid);
            rc = 3;
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            printf("child %d pid=%d failed: status %d\n", i, (int)pid, status);
            rc = 4;
        } else {
            printf("child %d pid=%d\n", i, (int)pid);
        }
    }
    atomic_store(&stop_hammer, 1);
    pthread_join(th, NULL);
    parent_hammer_leak(99);
    printf("hammer done\n");
    return rc;
}

static int report_status(const char *what, pid_t pid, int status)
{
    printf("%s pid=%d status=%d\n", what, (int)pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    fflush(stdout);
    return 0;
}

static int spawn_children(const char *how, const char *child)
{
    pthread_t th;
    pthread_create(&th, NULL, hammer, NULL);
    parent_spawn_leak(1234);
    fflush(stdout);
    int status = 0;
    if (strcmp(how, "vfork") == 0) {
        char *argv[] = {(char *)child, "pid", NULL};
        pid_t pid = vfork();
        if (pid == 0) {
            execv(child, argv);
            _exit(126);
        }
        if (pid < 0 || wait_child(pid, 20, &status) < 0)
            return 3;
        report_status("vfork-exec", pid, status);
        char *missing[] = {"/nonexistent/leakshim-missing", NULL};
        pid = vfork();
        if (pid == 0) {
            execv(missing[0], missing);
            _exit(errno == ENOENT ? 127 : 125);
        }
        if (pid < 0 || wait_child(pid, 20, &status) < 0)
            return 3;
        report_status("vfork-fail", pid, status);
    } else {
        char *argv[] = {(char *)child, "pid", NULL};
        pid_t pid;
        int err = posix_spawn(&pid, child, NULL, NULL, argv, environ);
        if (err || wait_child(pid, 20, &status) < 0)
            return 3;
        report_status("posix_spawn", pid, status);
        err = posix_spawnp(&pid, child, NULL, NULL, argv, environ);
        if (err || wait_child(pid, 20, &status) < 0)
            return 3;
        report_status("posix_spawnp", pid, status);
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "%s pid", child);
        int rc = system(cmd);
        printf("system status=%d\n", WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
    }
    atomic_store(&stop_hammer, 1);
    pthread_join(th, NULL);
    parent_after_spawn(432);
    printf("parent pid=%d\n", (int)getpid());
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "basic";
    if (strcmp(mode, "basic") == 0)
        return basic();
    if (strcmp(mode, "loop") == 0 && argc > 2) {
        int n = atoi(argv[2]);
        /* the loop's children return from main here */
        return loop(n);
    }
    if (strcmp(mode, "hammer") == 0 && argc > 2)
        return hammered(atoi(argv[2]));
    if ((strcmp(mode, "vfork") == 0 || strcmp(mode, "spawn") == 0) && argc > 2)
        return spawn_children(mode, argv[2]);
    fprintf(stderr, "usage: life_fork basic|loop N|hammer N|vfork CHILD|spawn CHILD\n");
    return 2;
}
