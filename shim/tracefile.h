/* The trace file as the writer thread sees it: created once, then appended to through a shared
 * file mapping. No descriptor is kept open between appends, so a program that closes every
 * descriptor cannot take the trace's number and have trace bytes land in its own file; the
 * one exception is tracefile_hold, for a process about to lose the right to open the trace by
 * its path: from then on each use starts from that descriptor while it is still the trace.
 *
 * Guarantees: bytes appended are in the file's page cache at once, so they survive the
 * process being killed; space is reserved with fallocate before it is mapped, so a full disk
 * turns into an error here instead of SIGBUS in the program; the unused tail of the last chunk
 * reads as zeros (TRACE_REC_UNWRITTEN) until tracefile_close cuts the file to its length.
 * Only the writer thread calls these functions, except tracefile_hold. */
#ifndef LEAKSHIM_TRACEFILE_H
#define LEAKSHIM_TRACEFILE_H

#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tracefile {
    char path[PATH_MAX];
    dev_t dev;
    ino_t ino;
    uint8_t *chunk;          /* current mapping, or NULL */
    uint64_t chunk_offset;   /* file offset of the mapping */
    size_t chunk_used;       /* bytes written into the mapping */
    size_t chunk_released;   /* of which these (whole pages) are handed back to the kernel */
    int failed;              /* set once: appends are refused from then on */
    int direct;              /* appends are written at once, nothing is reserved (tracefile_trim) */
    _Atomic int held_fd;     /* the descriptor tracefile_hold keeps on the trace, or -1 */
};

/* Expands `template` (%p pid, %e executable base name, %% a percent sign), makes it absolute,
 * and creates it with mode 0600, O_EXCL and O_NOFOLLOW; if the name exists, tries NAME.1,
 * NAME.2, ... Writes the file header. Returns 0, or -1 with a warning already given. */
int tracefile_create(struct tracefile *t, const char *template);

/* Appends n bytes. Returns 0, or -1 (and stays failed) if the file cannot be extended. */
int tracefile_append(struct tracefile *t, const void *data, size_t n);

/* Appends a record whose header (type byte and lengths) is stored byte by byte, in order,
 * before its body: a process killed meanwhile leaves a prefix of the header, or the whole
 * header and part of the body, never body bytes after a missing type byte. Returns as
 * tracefile_append. */
int tracefile_append_record(struct tracefile *t, const uint8_t *header, size_t header_len,
                            const void *body, size_t body_len);

/* Bytes in the file so far, header included. */
uint64_t tracefile_length(const struct tracefile *t);

/* Opens the trace by its path, unless a descriptor is held already, and holds that descriptor
 * (high, close-on-exec) until tracefile_close or tracefile_abandon; every later use of the
 * trace duplicates it while it is still open on the trace, and opens the path again when it
 * is not (the program closed it or put another file at its number). Any thread may call this,
 * while the writer runs. Returns 0 when a descriptor is held, -1 with errno set if the trace
 * cannot be opened (the path is unreachable already). */
int tracefile_hold(struct tracefile *t);

/* Creates the hidden ring file .NAME.ring beside the trace, `bytes` long, maps it shared and
 * zeroed, and returns the mapping (NULL with a warning if it cannot). A stale file of that name
 * (left by an earlier process whose trace is gone) is replaced. */
void *tracefile_create_ring(struct tracefile *t, size_t bytes);
/* Removes the ring file (its mapping stays valid). */
void tracefile_remove_ring(struct tracefile *t);

/* Cuts the file to the bytes written and switches to direct appends, which reserve nothing:
 * an exec may replace the process at any moment now. tracefile_map_again switches back (the
 * exec failed). */
void tracefile_trim(struct tracefile *t);
void tracefile_map_again(struct tracefile *t);

/* Unmaps and cuts the file to the bytes written, and closes the held descriptor. */
void tracefile_close(struct tracefile *t);

/* Forgets the file without touching it (a forked child must not write its parent's trace), and
 * closes the held descriptor, the parent's, if the number still holds it. */
void tracefile_abandon(struct tracefile *t);

#endif
