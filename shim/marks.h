/* Marks: named points in the trace's time line. The program makes them through
 * leakshim_record_mark (what leakshim.h's leakshim_mark calls); an operator makes them with
 * LEAKSHIM_MARK_SIGNAL, whose handler only tells the writer (writer_note_mark_signal), which
 * then writes a mark "signal-N": a handler must not wait on the ring (see ring.h). */
#ifndef LEAKSHIM_MARKS_H
#define LEAKSHIM_MARKS_H

/* Installs the mark handler for `signal` (0: none). Called when recording starts. */
void marks_watch_signal(int signal);

#endif
