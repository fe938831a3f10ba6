/* What the text outputs need to know about where they write: a terminal's width, and
 * whether to colour (--color auto|always|never; auto colours a terminal only, and never when
 * NO_COLOR is set to a non-empty value, https://no-color.org). Output that is not a terminal
 * is never shaped: files and pipes get the same bytes whatever the terminal. Used by
 * `leakshim report` (text) and its progress bar. */
#ifndef LEAKSHIM_TERMINAL_H
#define LEAKSHIM_TERMINAL_H

#include <stddef.h>

enum color_mode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

/* "auto", "always", "never": 0, or -1 for another word. */
int terminal_parse_color(const char *word, enum color_mode *out);

/* The columns of the terminal on `fd`: COLUMNS when it is a positive number, else the
 * terminal's own (TIOCGWINSZ); 0 when `fd` is not a terminal or its width is unknown. */
size_t terminal_width(int fd);

/* 1 when output to `fd` should be coloured. */
int terminal_use_color(enum color_mode mode, int fd);

#endif
