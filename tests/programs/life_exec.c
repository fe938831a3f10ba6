/* exec under the shim: the old image leaks X, execs itself (`life_exec after`), the new image
 * leaks Y. Both images print their pid.
 *
 *   X: leak_before_exec 1111 B in 1, leak_before_small 3 x 50 B
 *   Y: leak_after_exec 2222 B in 1
 *
 *   life_exec MODE         MODE: execv execvp execl execlp execle execve execvpe fexecve
 *                          execveat (execvp/execlp/execvpe use the base name and PATH)
 *   life_exec thread-execv the same as execv while a second thread churns malloc/free
 *                          without pause (and leaks nothing)
 *   life_exec fail         X, then execv of a missing file and execvp of a missing name:
 *                          each returns -1 with ENOENT ("fail1 rc=-1 errno=ENOENT", "fail2 ...");
 *                          after each, leak_after_fail 3333 B in 1 / leak_after_fail2 444 B in 1,
 *                          with malloc/free churn around them; exit 0
 *   life_exec thread-fail  X, then 20 failed execv (missing file), 1 ms apart, while a second
 *                          thread churns malloc/free and leaks thread_fail_leak 8 B every 8th
 *                          round; then leak_after_fail 3333 B. Prints "thread leaks=N". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

extern char **environ;
static void *volatile sink[16];

NOINLINE void leak_before_exec(void) { sink[0] = malloc(1111); }
NOINLINE void leak_before_small(int i) { sink[1 + i] = malloc(50); }
NOINLINE void leak_after_exec(void) { sink[4] = malloc(2222); }
NOINLINE void leak_after_fail(void) { sink[5] = malloc(3333); }
NOINLINE void leak_after_fail2(void) { sink[6] = malloc(444); }
NOINLINE void *exec_churn(size_t n) { return malloc(n); }
NOINLINE void thread_fail_leak(void) { sink[7] = malloc(8); }

static void churn(int n)
{
    for (int i = 0; i < n; i++) {
        char *p = exec_churn(8 + (size_t)(i % 500));
        p[0] = (char)i;
        free(p);
    }
}

static atomic_int stop;
static atomic_long thread_leaks;

static void *churner(void *arg)
{
    (void)arg;
    unsigned i = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        char *p = exec_churn(16 + (i++ % 1000));
        p[0] = 1;
        free(p);
    }
    return NULL;
}

static void *leaking_churner(void *arg)
{
    (void)arg;
    unsigned i = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        char *p = exec_churn(16 + (i % 1000));
        p[0] = 1;
        free(p);
        if (++i % 8 == 0) {
            thread_fail_leak();
            atomic_fetch_add(&thread_leaks, 1);
        }
    }
    return NULL;
}

static void before(void)
{
    leak_before_exec();
    for (int i = 0; i < 3; i++)
        leak_before_small(i);
    churn(2000);
    printf("before pid=%d\n", (int)getpid());
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "after") == 0) {
        leak_after_exec();
        churn(500);
        printf("after pid=%d\n", (int)getpid());
        return 0;
    }
    const char *mode = argc > 1 ? argv[1] : "execv";
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        perror("readlink");
        return 1;
    }
    self[n] = 0;
    const char *base = strrchr(self, '/') + 1;

    if (strcmp(mode, "fail") == 0) {
        before();
        char *argv1[] = {"/nonexistent/leakshim-missing", "after", NULL};
        errno = 0;
        int rc = execv(argv1[0], argv1);
        printf("fail1 rc=%d errno=%s\n", rc, errno == ENOENT ? "ENOENT" : strerror(errno));
        churn(1000);
        leak_after_fail();
        churn(1000);
        char *argv2[] = {"leakshim-no-such-program", "after", NULL};
        errno = 0;
        rc = execvp(argv2[0], argv2);
        printf("fail2 rc=%d errno=%s\n", rc, errno == ENOENT ? "ENOENT" : strerror(errno));
        churn(1000);
        leak_after_fail2();
        churn(1000);
        printf("still running pid=%d\n", (int)getpid());
        return 0;
    }

    if (strcmp(mode, "thread-fail") == 0) {
        pthread_t th;
        pthread_create(&th, NULL, leaking_churner, NULL);
        before();
        for (int i = 0; i < 20; i++) {
            char *argv1[] = {"/nonexistent/leakshim-missing", "after", NULL};
            if (execv(argv1[0], argv1) != -1 || errno != ENOENT)
                return 1;
            struct timespec ts = {0, 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        atomic_store(&stop, 1);
        pthread_join(th, NULL);
        leak_after_fail();
        printf("thread leaks=%ld\n", (long)atomic_load(&thread_leaks));
        return 0;
    }

    pthread_t th;
    int threaded = strncmp(mode, "thread-", 7) == 0;
    if (threaded) {
        mode += 7;
        pthread_create(&th, NULL, churner, NULL);
    }
    before();
    char *args[] = {(char *)self, "after", NULL};
    char *pargs[] = {(char *)base, "after", NULL};
    if (strcmp(mode, "execv") == 0) {
        execv(self, args);
    } else if (strcmp(mode, "execvp") == 0) {
        execvp(base, pargs);
    } else if (strcmp(mode, "execl") == 0) {
        execl(self, self, "after", (char *)NULL);
    } else if (strcmp(mode, "execlp") == 0) {
        execlp(base, base, "after", (char *)NULL);
    } else if (strcmp(mode, "execle") == 0) {
        execle(self, self, "after", (char *)NULL, environ);
    } else if (strcmp(mode, "execve") == 0) {
        execve(self, args, environ);
    } else if (strcmp(mode, "execvpe") == 0) {
        execvpe(base, pargs, environ);
    } else if (strcmp(mode, "fexecve") == 0) {
        int fd = open(self, O_RDONLY | O_CLOEXEC);
        fexecve(fd, args, environ);
    } else if (strcmp(mode, "execveat") == 0) {
        int fd = open(self, O_RDONLY | O_CLOEXEC);
        execveat(fd, "", args, environ, AT_EMPTY_PATH);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    perror(mode);
    return 1;
}
