/* Signals under the shim.
 *
 *   life_signals dispositions
 *       after allocating (so the shim is recording) and starting and joining a thread, prints
 *       for every signal 1..31 its disposition (DFL, IGN or HANDLER) and sa_flags, then the
 *       main thread's blocked mask and a new thread's, then SigIgn and SigCgt from
 *       /proc/self/status. Identical with and without the shim.
 *   life_signals sigwait
 *       blocks SIGTERM in main before any thread of its own exists; 3 workers churn
 *       malloc/free (each leaks sw_worker_leak 32 B once at its start); a dedicated thread
 *       sigwait()s for SIGTERM. Prints "ready" once all run; when SIGTERM arrives the workers
 *       stop, main leaks sw_main_leak 64 B, prints "clean exit after SIGTERM" and returns 0.
 *   life_signals alarm SECONDS
 *       a SIGALRM handler (setitimer every 100 us) mallocs and frees 48 bytes, then frees the
 *       next of POOL_BLOCKS blocks of 64 bytes that main allocated first (pool_leak) and leaks
 *       a block of 64 bytes in their place (handler_leak), while there are any; main runs
 *       malloc(32)/free for SECONDS and calls alarm_main_leak (16 B) every 1000 rounds. Sizes
 *       are chosen so that, after a warm-up, glibc serves the handler from its per-thread cache
 *       (the handler would otherwise risk glibc's own arena lock: that is glibc's limit, not
 *       the shim's). Prints "leaks=N alarms=M swapped=K" (K pool blocks freed and replaced).
 *   life_signals alarm SECONDS PLUGIN
 *       the same, main also dlopening and dlclosing PLUGIN in every round (PLUGIN stays
 *       loaded: one handle is kept from the start).
 *   life_signals sigchld SECONDS
 *       SIGCHLD handler without SA_RESTART reaps children; a thread forks children that _exit
 *       at once, without pause; main allocates heavily for SECONDS, leaking chld_leak 24 B every
 *       500 rounds and writing progress lines to stdout (retrying on EINTR). Prints
 *       "leaks=N children=M pid=P". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink;

NOINLINE void sw_worker_leak(void) { sink = malloc(32); }
NOINLINE void sw_main_leak(void) { sink = malloc(64); }
NOINLINE void alarm_main_leak(void) { sink = malloc(16); }
NOINLINE void chld_leak(void) { sink = malloc(24); }
NOINLINE void *sig_churn(size_t n) { return malloc(n); }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- dispositions ---------------------------------------------------------------------- */

static void print_mask(const char *who, const sigset_t *m)
{
    printf("%s blocked:", who);
    for (int s = 1; s < 65; s++)
        if (sigismember(m, s) == 1)
            printf(" %d", s);
    printf("\n");
}

static void *mask_thread(void *arg)
{
    sigset_t m;
    pthread_sigmask(SIG_BLOCK, NULL, &m);
    print_mask("new thread", &m);
    (void)arg;
    return NULL;
}

static int dispositions(void)
{
    for (int i = 0; i < 100; i++)
        free(sig_churn(100));
    pthread_t th;
    pthread_create(&th, NULL, mask_thread, NULL);
    pthread_join(th, NULL);
    for (int s = 1; s < 32; s++) {
        struct sigaction sa;
        if (sigaction(s, NULL, &sa) != 0) {
            printf("signal %d: sigaction failed: %s\n", s, strerror(errno));
            continue;
        }
        const char *kind = sa.sa_handler == SIG_DFL ? "DFL" : sa.sa_handler == SIG_IGN ? "IGN" : "HANDLER";
        printf("signal %d: %s flags=%#x\n", s, kind, (unsigned)sa.sa_flags);
    }
    sigset_t m;
    pthread_sigmask(SIG_BLOCK, NULL, &m);
    print_mask("main", &m);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "SigIgn:", 7) == 0 || strncmp(line, "SigCgt:", 7) == 0)
            fputs(line, stdout);
    if (f)
        fclose(f);
    return 0;
}

/* --- sigwait ----------------------------------------------------------------------------- */

static atomic_int stop;
static atomic_int running;

static void *sw_worker(void *arg)
{
    (void)arg;
    sw_worker_leak();
    atomic_fetch_add(&running, 1);
    unsigned i = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        char *p = sig_churn(16 + (i++ % 900));
        p[0] = 1;
        free(p);
    }
    return NULL;
}

static void *sw_waiter(void *arg)
{
    sigset_t *set = arg;
    int sig = 0;
    atomic_fetch_add(&running, 1);
    if (sigwait(set, &sig) != 0 || sig != SIGTERM)
        printf("sigwait: unexpected %d\n", sig);
    atomic_store(&stop, 1);
    return NULL;
}

static int sigwaiting(void)
{
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_t workers[3], waiter;
    for (int i = 0; i < 3; i++)
        pthread_create(&workers[i], NULL, sw_worker, NULL);
    pthread_create(&waiter, NULL, sw_waiter, &set);
    while (atomic_load(&running) < 4) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    printf("ready\n");
    fflush(stdout);
    pthread_join(waiter, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(workers[i], NULL);
    sw_main_leak();
    printf("clean exit after SIGTERM\n");
    return 0;
}

/* --- SIGALRM at high frequency ------------------------------------------------------------- */

static volatile sig_atomic_t alarms, swapped;
#define POOL_BLOCKS 40000
static void *pool[POOL_BLOCKS];

NOINLINE void *pool_leak(void) { return malloc(64); }
NOINLINE void handler_leak(void) { sink = malloc(64); }

static void on_alarm(int sig)
{
    (void)sig;
    int saved = errno;
    char *p = malloc(48);
    if (p) {
        p[0] = 1;
        free(p);
    }
    if (swapped < POOL_BLOCKS) {
        free(pool[swapped]);
        swapped++;
        handler_leak();
    }
    alarms++;
    errno = saved;
}

static int alarming(double seconds, const char *plugin)
{
    /* warm up: both sizes have a block in this thread's cache */
    free(malloc(48));
    free(malloc(32));
    for (int i = 0; i < POOL_BLOCKS; i++)
        pool[i] = pool_leak();
    /* One handle kept: the plugin stays loaded, so the loop's dlopen and dlclose only count
     * references and never change the list of loaded objects. Changing it takes the loader's
     * lock, which a handler's unwinding waits for (dl_iterate_phdr): see README, signals. */
    if (plugin && !dlopen(plugin, RTLD_NOW | RTLD_LOCAL))
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 100}, {0, 100}};
    setitimer(ITIMER_REAL, &it, NULL);
    double end = now() + seconds;
    long leaks = 0, rounds = 0;
    while (now() < end) {
        for (int k = 0; k < 50; k++) {
            char *p = sig_churn(32);
            p[0] = (char)k;
            free(p);
        }
        if (++rounds % 1000 == 0) {
            alarm_main_leak();
            leaks++;
        }
        if (plugin) { /* most of the time inside dlclose, which the shim hooks */
            void *h = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
            if (h)
                dlclose(h);
        }
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    signal(SIGALRM, SIG_IGN);
    printf("leaks=%ld alarms=%ld swapped=%ld\n", leaks, (long)alarms, (long)swapped);
    return 0;
}

/* --- SIGCHLD without SA_RESTART ----------------------------------------------------------- */

static atomic_long children;

static void on_chld(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

static void *forker(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid > 0)
            atomic_fetch_add(&children, 1);
    }
    return NULL;
}

static int write_all(int fd, const char *buf, size_t n)
{
    while (n) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

static int chld(double seconds)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;
    sa.sa_flags = 0; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    pthread_t th;
    pthread_create(&th, NULL, forker, NULL);
    double end = now() + seconds;
    long leaks = 0, rounds = 0;
    void *keep[16] = {0};
    while (now() < end) {
        for (int k = 0; k < 64; k++) {
            int s = k & 15;
            free(keep[s]);
            keep[s] = sig_churn(8 + (size_t)((k * 53 + rounds) % 2000));
        }
        if (++rounds % 500 == 0) {
            chld_leak();
            leaks++;
            char text[64];
            int n = snprintf(text, sizeof text, "progress %ld\n", rounds);
            if (write_all(1, text, (size_t)n) < 0)
                return 1;
        }
    }
    for (int s = 0; s < 16; s++)
        free(keep[s]);
    atomic_store(&stop, 1);
    pthread_join(th, NULL);
    signal(SIGCHLD, SIG_DFL);
    while (waitpid(-1, NULL, 0) > 0)
        ;
    printf("leaks=%ld children=%ld pid=%d\n", leaks, (long)atomic_load(&children), (int)getpid());
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "dispositions") == 0)
        return dispositions();
    if (strcmp(mode, "sigwait") == 0)
        return sigwaiting();
    if (strcmp(mode, "alarm") == 0 && argc > 2)
        return alarming(atof(argv[2]), argc > 3 ? argv[3] : NULL);
    if (strcmp(mode, "sigchld") == 0 && argc > 2)
        return chld(atof(argv[2]));
    fprintf(stderr, "usage: life_signals dispositions|sigwait|alarm SECONDS|sigchld SECONDS\n");
    return 2;
}
