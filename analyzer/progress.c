/* The progress bar; see progress.h. Drawn with a carriage return and erase-to-end-of-line,
 * fitted to the terminal's width. */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "terminal.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_bar_start(struct progress_bar *p, const char *command, const char *path)
{
    struct stat st;
    const char *slash = strrchr(path, '/');
    memset(p, 0, sizeof *p);
    p->command = command;
    p->name = slash ? slash + 1 : path;
    p->active = isatty(STDERR_FILENO) && stat(path, &st) == 0 && st.st_size > 0;
    p->total = p->active ? (uint64_t)st.st_size : 0;
    p->started = now_s();
}

void progress_bar_update(void *bar, uint64_t done)
{
    struct progress_bar *p = bar;
    if (!p->active)
        return;
    double t = now_s();
    if (t - p->started < PROGRESS_DELAY_S || (p->drawn && t - p->last < 1.0 / PROGRESS_PER_SECOND))
        return;
    p->last = t;
    p->drawn = 1;
    double share = done >= p->total ? 1.0 : (double)done / (double)p->total;
    char tail[64];
    int tail_len = snprintf(tail, sizeof tail, " %3.0f%%  %.1f of %.1f MiB", 100 * share,
                            (double)done / 1048576, (double)p->total / 1048576);
    size_t width = terminal_width(STDERR_FILENO);
    if (!width)
        width = 80;
    int name_len = (int)strlen(p->name);
    int room = (int)width - 1 - (int)strlen(p->command) - 10 - tail_len; /* ": reading " */
    if (name_len > room) /* keep the end of a long name, and the line on one row */
        name_len = room > 0 ? room : 0;
    int bar_cells = room - name_len - 3;
    if (bar_cells > 40)
        bar_cells = 40;
    fprintf(stderr, "\r%s: reading %s", p->command, p->name + strlen(p->name) - name_len);
    if (bar_cells >= 5) {
        int filled = (int)(share * bar_cells);
        fputs(" [", stderr);
        for (int i = 0; i < bar_cells; i++)
            fputc(i < filled ? '=' : i == filled ? '>' : ' ', stderr);
        fputc(']', stderr);
    }
    fprintf(stderr, "%s\033[K", tail);
    fflush(stderr);
}

void progress_bar_end(struct progress_bar *p)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->drawn = 0;
}
