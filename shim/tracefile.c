/* Creating the trace file and appending to it through 256 KiB shared mappings; see tracefile.h.
 * The pages of a mapping that are written whole are handed back (MADV_DONTNEED, every
 * RELEASE_BYTES): their bytes stay in the file's page cache, and the process keeps at most
 * about RELEASE_BYTES plus one append of the trace resident instead of the whole mapping.
 * Each extension opens the file again by its absolute path (or duplicates the held descriptor,
 * once tracefile_hold made one) and checks that it is still the same inode before touching it.
 * The descriptor lives at a high number (high_fd.h) and is checked again after the mapping is
 * made: a program that closed it meanwhile makes the extension fail with EBADF, and it is
 * tried again, never done on a file of the program's. */
#include "tracefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "high_fd.h"
#include "log.h"
#include "trace_format.h"

#define CHUNK_BYTES (256u << 10)
#define RELEASE_BYTES (32u << 10)
#define MAX_SUFFIX 10000

static size_t exe_basename(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(out, cap, "unknown");
        return strlen(out);
    }
    exe[n] = 0;
    const char *slash = strrchr(exe, '/');
    const char *name = slash ? slash + 1 : exe;
    size_t len = strnlen(name, cap - 1);
    memcpy(out, name, len);
    out[len] = 0;
    return len;
}

/* Writes the expanded template into out; -1 if it does not fit. */
static int expand_template(const char *template, char *out, size_t cap)
{
    size_t len = 0;
    if (template[0] != '/') {
        if (!getcwd(out, cap))
            return -1;
        len = strlen(out);
        if (len + 1 >= cap)
            return -1;
        out[len++] = '/';
    }
    for (const char *p = template; *p; p++) {
        char piece[NAME_MAX + 1];
        size_t n;
        if (p[0] == '%' && p[1] == 'p') {
            n = (size_t)snprintf(piece, sizeof piece, "%d", (int)getpid());
            p++;
        } else if (p[0] == '%' && p[1] == 'e') {
            n = exe_basename(piece, sizeof piece);
            p++;
        } else {
            piece[0] = *p;
            n = 1;
            if (p[0] == '%' && p[1] == '%')
                p++;
        }
        if (len + n >= cap)
            return -1;
        memcpy(out + len, piece, n);
        len += n;
    }
    out[len] = 0;
    return 0;
}

static int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int create_exclusive(struct tracefile *t, const char *base)
{
    for (int suffix = 0; suffix < MAX_SUFFIX; suffix++) {
        if (suffix == 0)
            snprintf(t->path, sizeof t->path, "%s", base);
        else if ((size_t)snprintf(t->path, sizeof t->path, "%s.%d", base, suffix) >= sizeof t->path)
            return -1;
        int fd = high_fd_open(t->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

int tracefile_create(struct tracefile *t, const char *template)
{
    char base[PATH_MAX];
    memset(t, 0, sizeof *t);
    atomic_store(&t->held_fd, -1);
    t->failed = 1;
    if (expand_template(template, base, sizeof base) < 0) {
        shim_warn("trace path from '%s' is too long; not tracing", template);
        return -1;
    }
    /* A device, FIFO, socket or directory of that name (LEAKSHIM_OUTPUT=/dev/null) is not a
     * trace someone left: NAME.1 beside it (in /dev, say) would surprise more than no trace. */
    struct stat existing;
    if (lstat(base, &existing) == 0 && !S_ISREG(existing.st_mode) && !S_ISLNK(existing.st_mode)) {
        shim_warn("trace path %s exists and is not a regular file; not tracing", base);
        return -1;
    }
    int fd = create_exclusive(t, base);
    if (fd < 0) {
        shim_warn("cannot create trace file %s: %s; not tracing", base, strerror(errno));
        return -1;
    }
    uint8_t header[TRACE_HEADER_LEN] = {0};
    memcpy(header, TRACE_MAGIC, TRACE_MAGIC_LEN);
    header[8] = TRACE_VERSION & 0xff;
    header[9] = TRACE_VERSION >> 8;
    struct stat st;
    int ok = write_all(fd, header, sizeof header) == 0 && fstat(fd, &st) == 0;
    close(fd);
    if (!ok) {
        shim_warn("cannot write trace file %s: %s; not tracing", t->path, strerror(errno));
        return -1;
    }
    t->dev = st.st_dev;
    t->ino = st.st_ino;
    t->chunk_offset = TRACE_HEADER_LEN; /* no mapping yet: the next one starts here */
    t->failed = 0;
    return 0;
}

#define REOPEN_ATTEMPTS 8 /* a program closing descriptors in a loop may close ours meanwhile */

/* 0 if `fd` is (still) the trace file, -1 with errno set otherwise. */
static int is_trace(const struct tracefile *t, int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -1;
    if (st.st_dev != t->dev || st.st_ino != t->ino) {
        errno = ESTALE;
        return -1;
    }
    return 0;
}

/* Opens the trace again by path at a high descriptor, checking it is still our file. */
static int open_by_path(const struct tracefile *t)
{
    int fd = high_fd_open(t->path, O_RDWR | O_NOFOLLOW, 0);
    if (fd < 0)
        return -1;
    if (is_trace(t, fd) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* A duplicate of the held descriptor while it is still open on our file (the program may have
 * closed it, or put another file at its number), else -1. Duplicated first, then checked: the
 * copy is the shim's alone, whatever the program does with the number meanwhile. */
static int dup_held(const struct tracefile *t)
{
    int held = atomic_load(&t->held_fd);
    int fd = held < 0 ? -1 : high_fd_dup(held);
    if (fd >= 0 && is_trace(t, fd) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* A descriptor of our own on the trace, checked to be it: from the held one, else by path.
 * When the path fails, the held one is asked again: another thread may have made it just
 * before the change of identity or root that makes the path fail. */
static int reopen(struct tracefile *t)
{
    int fd = dup_held(t);
    if (fd < 0)
        fd = open_by_path(t);
    if (fd < 0) {
        int saved = errno;
        fd = dup_held(t);
        if (fd < 0)
            errno = saved;
    }
    return fd;
}

int tracefile_hold(struct tracefile *t)
{
    if (atomic_load(&t->held_fd) >= 0)
        return 0;
    int fd = open_by_path(t);
    if (fd < 0)
        return -1;
    int none = -1;
    if (!atomic_compare_exchange_strong(&t->held_fd, &none, fd))
        close(fd); /* another thread holds one already */
    return 0;
}

/* Closes the held descriptor, if any, and only while it is still ours. */
static void release_held(struct tracefile *t)
{
    int held = atomic_exchange(&t->held_fd, -1);
    if (held >= 0 && is_trace(t, held) == 0)
        close(held);
}

static void unmap_chunk(struct tracefile *t)
{
    if (!t->chunk)
        return;
    munmap(t->chunk, CHUNK_BYTES);
    t->chunk = NULL;
    t->chunk_offset += t->chunk_used;
    t->chunk_used = 0;
    t->chunk_released = 0;
}

/* Hands back the whole pages written since the last release, once there are RELEASE_BYTES of
 * them. Their PTEs go, the file's dirty pages stay: nothing written is lost or reread. */
static void release_written(struct tracefile *t)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t end = t->chunk_used & ~(page - 1);
    if (end - t->chunk_released < RELEASE_BYTES)
        return;
    madvise(t->chunk + t->chunk_released, end - t->chunk_released, MADV_DONTNEED);
    t->chunk_released = end;
}

/* Maps `CHUNK_BYTES` of the trace from `start`, with its blocks reserved. Returns the mapping,
 * or MAP_FAILED with errno set (EBADF: the program closed the descriptor meanwhile). The
 * mapping is made first and the descriptor checked after it, so that the file it maps is
 * known to be ours before anything is written through it or the file extended. */
static void *map_chunk_at(struct tracefile *t, uint64_t start)
{
    int fd = reopen(t);
    if (fd < 0)
        return MAP_FAILED;
    void *m = mmap(NULL, CHUNK_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)start);
    int err = m == MAP_FAILED ? errno : is_trace(t, fd) < 0 ? errno : 0;
    if (!err) {
        err = posix_fallocate(fd, (off_t)start, CHUNK_BYTES);
        if (err == EOPNOTSUPP || err == EINVAL)
            err = ftruncate(fd, (off_t)(start + CHUNK_BYTES)) < 0 ? errno : 0;
    }
    if (err && m != MAP_FAILED) {
        munmap(m, CHUNK_BYTES);
        m = MAP_FAILED;
    }
    close(fd);
    errno = err;
    return m;
}

/* Maps the next chunk, which starts at the first unwritten byte (rounded down to a page). */
static int map_next_chunk(struct tracefile *t)
{
    unmap_chunk(t);
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t start = t->chunk_offset & ~(page - 1);
    void *m = MAP_FAILED;
    for (int attempt = 0; attempt < REOPEN_ATTEMPTS && m == MAP_FAILED; attempt++) {
        m = map_chunk_at(t, start);
        if (m == MAP_FAILED && errno != EBADF)
            break;
    }
    if (m == MAP_FAILED)
        return -1;
    t->chunk = m;
    t->chunk_used = (size_t)(t->chunk_offset - start);
    t->chunk_released = 0;
    t->chunk_offset = start;
    return 0;
}

/* Writes n bytes at the end of the file with pwrite, through a descriptor opened for it. */
static int append_direct(struct tracefile *t, const void *data, size_t n)
{
    const char *p = data;
    for (int attempt = 0; n && attempt < REOPEN_ATTEMPTS; attempt++) {
        int fd = reopen(t);
        if (fd < 0)
            return -1;
        while (n) {
            ssize_t w = pwrite(fd, p, n, (off_t)t->chunk_offset);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            p += w;
            n -= (size_t)w;
            t->chunk_offset += (uint64_t)w;
        }
        int saved = errno;
        close(fd);
        errno = saved;
        if (n && errno != EBADF) /* EBADF: the program closed it; open it again */
            break;
    }
    return n ? -1 : 0;
}

int tracefile_append(struct tracefile *t, const void *data, size_t n)
{
    const uint8_t *p = data;
    if (t->direct && n && !t->failed && append_direct(t, data, n) < 0) {
        shim_warn("cannot write trace file %s: %s; tracing stops here", t->path, strerror(errno));
        t->failed = 1;
    }
    while (n && !t->failed && !t->direct) {
        if (!t->chunk || t->chunk_used == CHUNK_BYTES) {
            if (map_next_chunk(t) < 0) {
                shim_warn("cannot extend trace file %s: %s; tracing stops here", t->path,
                          strerror(errno));
                t->failed = 1;
                break;
            }
        }
        size_t room = CHUNK_BYTES - t->chunk_used;
        size_t k = n < room ? n : room;
        memcpy(t->chunk + t->chunk_used, p, k);
        t->chunk_used += k;
        p += k;
        n -= k;
        release_written(t);
    }
    return t->failed ? -1 : 0;
}

int tracefile_append_record(struct tracefile *t, const uint8_t *header, size_t header_len,
                            const void *body, size_t body_len)
{
    for (size_t i = 0; i < header_len; i++) {
        tracefile_append(t, header + i, 1);
        atomic_signal_fence(memory_order_seq_cst); /* the compiler keeps the stores in order */
    }
    return tracefile_append(t, body, body_len);
}

uint64_t tracefile_length(const struct tracefile *t)
{
    return t->chunk_offset + t->chunk_used;
}

void *tracefile_create_ring(struct tracefile *t, size_t bytes)
{
    char path[PATH_MAX];
    if (ring_file_path(t->path, path, sizeof path) < 0)
        return NULL;
    unlink(path); /* our trace name is new, so a ring of that name is stale */
    int fd = high_fd_open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    int err = fd < 0 ? errno : posix_fallocate(fd, 0, (off_t)bytes);
    void *m = err ? MAP_FAILED : mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED && !err)
        err = errno;
    if (fd >= 0)
        close(fd);
    if (err) {
        if (fd >= 0)
            unlink(path);
        shim_warn("cannot create %s: %s; a crash would lose the last events", path, strerror(err));
        return NULL;
    }
    return m;
}

void tracefile_remove_ring(struct tracefile *t)
{
    char path[PATH_MAX];
    if (ring_file_path(t->path, path, sizeof path) == 0)
        unlink(path);
}

void tracefile_trim(struct tracefile *t)
{
    uint64_t length = tracefile_length(t);
    unmap_chunk(t); /* chunk_offset is now `length`, where direct appends go */
    int fd = reopen(t);
    if (fd >= 0) {
        if (ftruncate(fd, (off_t)length) < 0)
            shim_warn("cannot trim trace file %s: %s", t->path, strerror(errno));
        close(fd);
    } else if (!t->failed) { /* e.g. a change of user or root the shim did not see */
        shim_warn("cannot open trace file %s again to finish it: %s; it stays unfinished",
                  t->path, strerror(errno));
    }
    t->direct = 1;
}

void tracefile_map_again(struct tracefile *t)
{
    t->direct = 0;
}

void tracefile_close(struct tracefile *t)
{
    tracefile_trim(t);
    release_held(t);
    t->failed = 1;
}

void tracefile_abandon(struct tracefile *t)
{
    unmap_chunk(t);
    release_held(t);
    t->failed = 1;
}
