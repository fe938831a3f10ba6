/* The background writer: the ring's only consumer. It interns stacks (each distinct stack is
 * written once, then referred to by id), keeps the trace's module map up to date, encodes
 * records (trace_format.h) and appends them to the trace file.
 *
 * The thread blocks every signal, never takes a lock that the program's threads can hold, and
 * never enters the dynamic loader: it learns about modules from /proc/self/maps. Its own
 * allocations are made with the re-entrancy guard set, so they are never traced. */
#ifndef LEAKSHIM_WRITER_H
#define LEAKSHIM_WRITER_H

#include "options.h"
#include "ring.h"

/* The ring producers push into; valid while the writer runs. */
extern struct ring writer_ring;

/* Creates the trace file, writes the process and module records and starts the thread.
 * Returns 0, or -1 (with a warning given) if tracing cannot start. */
int writer_start(const struct shim_options *options);

/* Drains every record committed so far into the trace file, then returns. Producers may go on
 * meanwhile. */
void writer_sync(void);

/* Before the process changes its user, group or root directory (and may lose the right to
 * open files by their paths): holds a descriptor on the trace from now on and removes the ring
 * file, while both can still be done. Any thread; the writer goes on meanwhile. */
void writer_before_identity_change(void);

/* Tells the writer that a library was unloaded: another one may take its address range, so
 * before the next stack it reads the module map again and writes every stack anew. */
void writer_note_unload(void);

/* Asks for the marks "signal-1" .. "signal-n" not written yet, at the stream's position when
 * the writer next wakes. Async-signal-safe: stores n and wakes the writer. */
void writer_note_mark_signal(unsigned n);

/* Drains everything, writes the END record, closes the trace and joins the thread. */
void writer_stop(void);

/* In a forked child: forgets the parent's writer (its thread does not exist here) without
 * writing to the parent's trace, so that writer_start can begin the child's own. */
void writer_forget_after_fork(void);

#endif
