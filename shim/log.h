/* The shim's only way to say something: one formatter, a fixed stack buffer, write(2) to
 * standard error, errno preserved, at most LOG_MAX_MESSAGES messages per process. Callers hold
 * the re-entrancy guard, so anything vsnprintf allocates is passed through untraced. */
#ifndef LEAKSHIM_LOG_H
#define LEAKSHIM_LOG_H

#define LOG_MAX_MESSAGES 20

void shim_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
