/* Following a trace that is still written; see trace_follow.h. */
#include "trace_follow.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OPEN_RETRY_NS 50000000L /* 50 ms between looks while waiting for the file */

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The file exists with at least a whole file header (the writer creates it, then writes the
 * header: a reader can come in between). */
static int header_written(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && (!S_ISREG(st.st_mode) || st.st_size >= TRACE_HEADER_LEN);
}

int trace_follow_open(struct trace_follow *f, const char *path, double wait_s, char *error,
                      size_t error_len)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    double deadline = monotonic_s() + wait_s;
    while (!header_written(path) && monotonic_s() < deadline) {
        struct timespec pause = {0, OPEN_RETRY_NS};
        nanosleep(&pause, NULL);
    }
    if (trace_reader_open(&f->reader, path) != TRACE_OK) {
        snprintf(error, error_len, "%s%s", f->reader.error,
                 wait_s > 0 && access(path, F_OK) != 0 ? " (waited for it)" : "");
        return -1;
    }
    if (trace_reader_resume(&f->reader, 1, UINT64_MAX) < 0) {
        snprintf(error, error_len, "%s", f->reader.error);
        trace_reader_close(&f->reader);
        return -1;
    }
    return 0;
}

static void unmap_ring(struct trace_follow *f)
{
    if (f->ring)
        munmap((void *)f->ring, RING_FILE_HEADER_BYTES);
    f->ring = NULL;
}

void trace_follow_attach_ring(struct trace_follow *f, uint64_t pid, uint64_t start_ns)
{
    char path[PATH_MAX];
    if (f->ring || ring_file_path(f->path, path, sizeof path) < 0)
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return;
    struct stat st;
    void *m = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= RING_FILE_HEADER_BYTES)
        m = mmap(NULL, RING_FILE_HEADER_BYTES, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return;
    const struct ring_file_header *h = m;
    if (memcmp(h->magic, RING_FILE_MAGIC, sizeof h->magic) != 0 ||
        h->version != RING_FILE_VERSION || h->pid != pid || h->start_ns != start_ns ||
        __atomic_load_n(&h->trace_written, __ATOMIC_ACQUIRE) == 0) {
        munmap(m, RING_FILE_HEADER_BYTES); /* not this trace's, or a writer that keeps no length */
        return;
    }
    f->ring = h;
    f->ring_dev = st.st_dev;
    f->ring_ino = st.st_ino;
}

/* How far the reader may go now: the writer's last complete append while its ring file is
 * there, else the end of the file. */
static uint64_t current_limit(struct trace_follow *f)
{
    if (!f->ring || f->ring_gone)
        return UINT64_MAX;
    /* Read the length before looking for the file: if the file is still there afterwards, the
     * length is one the writer published while recording into this trace. */
    uint64_t written = __atomic_load_n(&f->ring->trace_written, __ATOMIC_ACQUIRE);
    char path[PATH_MAX];
    struct stat st;
    if (ring_file_path(f->path, path, sizeof path) < 0 || lstat(path, &st) < 0 ||
        st.st_dev != f->ring_dev || st.st_ino != f->ring_ino) {
        f->ring_gone = 1; /* finished (END, exec): the file holds everything, checked as usual */
        unmap_ring(f);
        return UINT64_MAX;
    }
    return written;
}

enum trace_status trace_follow_next(struct trace_follow *f, struct trace_record *rec)
{
    if (f->paused) {
        uint64_t limit = current_limit(f);
        if (limit != UINT64_MAX && limit <= f->reader.records_end)
            return TRACE_EOF; /* nothing new */
        if (trace_reader_resume(&f->reader, 1, limit) < 0)
            return TRACE_INVALID;
        f->paused = 0;
    }
    enum trace_status s = trace_reader_next(&f->reader, rec);
    if (s == TRACE_OK || s == TRACE_INVALID)
        return s;
    f->paused = 1; /* the end for now, or a record not written yet */
    return TRACE_EOF;
}

int trace_follow_last_pass(struct trace_follow *f)
{
    f->paused = 0;
    return trace_reader_resume(&f->reader, 0, UINT64_MAX);
}

/* The process's state letter and start (ns since the Unix epoch) from /proc; -1 if unknown. */
static int process_stat(uint64_t pid, char *state, double *start_s)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%llu/stat", (unsigned long long)pid);
    FILE *in = fopen(path, "re");
    if (!in)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* after the command name, which may hold anything */
    unsigned long long start_ticks = 0;
    if (!p || sscanf(p + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
                            "%*s %*s %llu", state, &start_ticks) != 2)
        return -1;
    FILE *up = fopen("/proc/uptime", "re");
    double uptime = 0;
    int ok = up && fscanf(up, "%lf", &uptime) == 1;
    if (up)
        fclose(up);
    if (!ok)
        return -1;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double boot = (double)now.tv_sec + (double)now.tv_nsec / 1e9 - uptime;
    *start_s = boot + (double)start_ticks / (double)sysconf(_SC_CLK_TCK);
    return 0;
}

int trace_follow_process_alive(uint64_t pid, uint64_t start_ns)
{
    if (pid == 0 || pid > INT_MAX || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
        return 0;
    char state;
    double start_s;
    if (process_stat(pid, &state, &start_s) < 0)
        return 1; /* kill says it is there (perhaps another pid namespace's /proc) */
    if (state == 'Z' || state == 'X')
        return 0;
    /* A process that started after the trace did is another one with the same pid (2 s of
     * slack for the clocks' rounding). */
    return start_s <= (double)start_ns / 1e9 + 2.0;
}

void trace_follow_close(struct trace_follow *f)
{
    unmap_ring(f);
    trace_reader_close(&f->reader);
}
