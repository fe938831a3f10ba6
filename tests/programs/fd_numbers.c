/* Allocates a lot (the shim extends its trace file many times) while a second thread looks at
 * /proc/self/fd without pause; prints the lowest descriptor number it ever saw open on a file
 * whose name starts with argv[1] (the trace's path prefix), or -1 if it never saw one in 40
 * million allocations. */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *prefix;
static atomic_int done;
static atomic_int lowest = -1;

static void *watch(void *arg)
{
    (void)arg;
    char link[64], target[PATH_MAX];
    while (!atomic_load(&done)) {
        DIR *d = opendir("/proc/self/fd");
        if (!d)
            continue;
        for (struct dirent *e; (e = readdir(d));) {
            int fd = atoi(e->d_name);
            snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
            ssize_t n = readlink(link, target, sizeof target - 1);
            if (n <= 0)
                continue;
            target[n] = 0;
            int seen = atomic_load(&lowest);
            if (strncmp(target, prefix, strlen(prefix)) == 0 && (seen < 0 || fd < seen))
                atomic_store(&lowest, fd);
        }
        closedir(d);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    prefix = argv[1];
    pthread_t t;
    pthread_create(&t, NULL, watch, NULL);
    static void *volatile keep[256];
    /* at least 2 million, and on until the watcher caught the shim's descriptor once */
    for (int i = 0; i < 40000000 && (i < 2000000 || atomic_load(&lowest) < 0); i++) {
        free(keep[i & 255]);
        keep[i & 255] = malloc((size_t)(i % 200) + 1);
    }
    atomic_store(&done, 1);
    pthread_join(t, NULL);
    printf("%d\n", atomic_load(&lowest));
    return 0;
}
