/* Thousands of short-lived threads: N threads (default 5000), created and joined BATCH at a
 * time (default 4). Each allocates and frees 20 blocks (thread_churn) and leaks exactly 8 bytes
 * from thread_leak8. At the end prints "threads=N" and the peak resident set size in KiB
 * ("VmHWM=K", from /proc/self/status). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink;

NOINLINE void thread_leak8(void) { sink = malloc(8); }
NOINLINE void *thread_churn(size_t n) { return malloc(n); }

static void *body(void *arg)
{
    size_t salt = (size_t)arg;
    for (int i = 0; i < 20; i++) {
        char *p = thread_churn(16 + (salt * 7 + (size_t)i * 61) % 3000);
        p[0] = 1;
        free(p);
    }
    thread_leak8();
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 5000;
    int batch = argc > 2 ? atoi(argv[2]) : 4;
    int done = 0;
    pthread_t th[64];
    while (done < n) {
        int k = 0;
        for (; k < batch && done + k < n; k++)
            if (pthread_create(&th[k], NULL, body, (void *)(size_t)(done + k)) != 0) {
                perror("pthread_create");
                return 1;
            }
        for (int j = 0; j < k; j++)
            pthread_join(th[j], NULL);
        done += k;
    }
    printf("threads=%d\n", done);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        long kib;
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            printf("VmHWM=%ld\n", kib);
    }
    if (f)
        fclose(f);
    return 0;
}
