/* Marks: named points in the trace's time line. The program makes them through
 * leakshim_record_mark (what leakshim.h's leakshim_mark calls); an operator makes them with
 * LEAKSHIM_MARK_SIGNAL: the N-th signal makes the mark "signal-N". Its handler records the
 * mark into the ring like any event, so that it sits exactly between what happened before
 * and after, unless the signal interrupted the shim's own hook (the thread may hold a
 * reservation it has not committed, and must not wait on the ring, see ring.h): then it
 * tells the writer (writer_note_mark_signal), which writes the mark when it next wakes. */
#ifndef LEAKSHIM_MARKS_H
#define LEAKSHIM_MARKS_H

/* Installs the mark handler for `signal` (0: none). Called when recording starts. */
void marks_watch_signal(int signal);

/* A forked child counts its own signals from 1. */
void marks_reset_after_fork(void);

#endif
