/* A progress bar on stderr for long analyses: how much of the trace file has been read, as
 * `leakshim report: reading NAME [=====>    ] 42%  11.3 of 27.0 MiB`, redrawn in place at
 * most PROGRESS_PER_SECOND times a second, first after PROGRESS_DELAY_S (a quick analysis
 * shows nothing), erased when done. Only when stderr is a terminal: a log file never gets
 * one. progress_bar_update has the signature of the replay's progress callback. */
#ifndef LEAKSHIM_PROGRESS_H
#define LEAKSHIM_PROGRESS_H

#include <stdint.h>

#define PROGRESS_PER_SECOND 10
#define PROGRESS_DELAY_S 0.2

struct progress_bar {
    int active, drawn;
    uint64_t total;      /* bytes of the file */
    double started, last; /* monotonic seconds */
    const char *command, *name;
};

/* Starts the bar for reading the file `path` (it stays inactive unless stderr is a terminal
 * and the file's size is known). `command` prefixes the line ("leakshim report"). */
void progress_bar_start(struct progress_bar *p, const char *command, const char *path);
/* `bar` is a struct progress_bar; `done` the bytes read so far. */
void progress_bar_update(void *bar, uint64_t done);
/* Erases the bar if it was drawn. */
void progress_bar_end(struct progress_bar *p);

#endif
