/* Interposed exits that run no destructors: _exit and _Exit end the process, the exec family
 * replaces its image, abort and failed assertions kill it. Before each, what was recorded is
 * drained into the trace (lifecycle.h).
 *
 * glibc's own exit() reaches _exit internally, not through these symbols; posix_spawn and
 * system() exec in a child through internal calls too, so neither comes here. A vfork child
 * that calls these shares the parent's memory: lifecycle.c's pid check leaves it alone.
 * daemon() ends its parent with such an internal _exit, so it is done here, as glibc does it,
 * with the parent's end through _exit. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lifecycle.h"

#define EXPORT __attribute__((visibility("default")))
#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))

extern char **environ;

EXPORT void _exit(int status)
{
    shim_finish_trace();
    REAL("_exit", void (*)(int))(status);
    __builtin_unreachable();
}

EXPORT void _Exit(int status)
{
    shim_finish_trace();
    REAL("_Exit", void (*)(int))(status);
    __builtin_unreachable();
}

/* glibc 2.36's daemon(3), step for step: fork, the parent exits 0, the child leads a new
 * session, moves to / unless nochdir, and puts /dev/null (checked to be that device) on
 * descriptors 0 to 2 unless noclose. */
EXPORT int daemon(int nochdir, int noclose)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        return -1;
    if (!nochdir)
        (void)chdir("/");
    if (!noclose) {
        int fd = open("/dev/null", O_RDWR);
        struct stat st;
        if (fd < 0)
            return -1;
        if (fstat(fd, &st) < 0) {
            close(fd);
            return -1;
        }
        if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
            close(fd);
            errno = ENODEV; /* as glibc: no call failed, the device is not /dev/null */
            return -1;
        }
        (void)dup2(fd, STDIN_FILENO);
        (void)dup2(fd, STDOUT_FILENO);
        (void)dup2(fd, STDERR_FILENO);
        if (fd > 2)
            close(fd);
    }
    return 0;
}

EXPORT void abort(void)
{
    shim_flush_trace();
    REAL("abort", void (*)(void))();
    __builtin_unreachable();
}

/* assert() calls these from the program's code; glibc then aborts internally. */
EXPORT void __assert_fail(const char *assertion, const char *file, unsigned line, const char *function)
{
    shim_flush_trace();
    REAL("__assert_fail", void (*)(const char *, const char *, unsigned, const char *))(
        assertion, file, line, function);
    __builtin_unreachable();
}

EXPORT void __assert_perror_fail(int errnum, const char *file, unsigned line, const char *function)
{
    shim_flush_trace();
    REAL("__assert_perror_fail", void (*)(int, const char *, unsigned, const char *))(
        errnum, file, line, function);
    __builtin_unreachable();
}

typedef int (*exec_fn)(const char *, char *const[], char *const[]);

/* execve, execvpe and the forms built on them: mark the trace's end, try, say if it failed. */
static int traced_exec(const char *name, const char *file, char *const argv[], char *const envp[])
{
    exec_fn real = REAL(name, exec_fn);
    shim_before_exec();
    int rc = real(file, argv, envp);
    shim_exec_failed();
    return rc;
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    return traced_exec("execve", path, argv, envp);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    return traced_exec("execvpe", file, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[])
{
    return traced_exec("execve", path, argv, environ);
}

EXPORT int execvp(const char *file, char *const argv[])
{
    return traced_exec("execvpe", file, argv, environ);
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    int (*real)(int, const char *, char *const[], char *const[], int) =
        REAL("execveat", int (*)(int, const char *, char *const[], char *const[], int));
    shim_before_exec();
    int rc = real(dirfd, path, argv, envp, flags);
    shim_exec_failed();
    return rc;
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    int (*real)(int, char *const[], char *const[]) =
        REAL("fexecve", int (*)(int, char *const[], char *const[]));
    shim_before_exec();
    int rc = real(fd, argv, envp);
    shim_exec_failed();
    return rc;
}

/* The execl forms: gather the variadic arguments into an argv on the stack. */
#define GATHER_ARGS(first, argv, last_ap)                                                     \
    size_t argc = 1;                                                                        \
    va_list count_ap;                                                                       \
    va_start(count_ap, first);                                                              \
    while (va_arg(count_ap, const char *))                                                  \
        argc++;                                                                             \
    va_end(count_ap);                                                                       \
    const char *argv[argc + 1];                                                             \
    va_list last_ap;                                                                        \
    va_start(last_ap, first);                                                               \
    argv[0] = first;                                                                        \
    for (size_t i = 1; i <= argc; i++)                                                      \
        argv[i] = i < argc ? va_arg(last_ap, const char *) : NULL;                          \
    if (argc)                                                                               \
        (void)va_arg(last_ap, const char *); /* the terminating NULL */

EXPORT int execl(const char *path, const char *arg, ...)
{
    GATHER_ARGS(arg, argv, ap)
    va_end(ap);
    return traced_exec("execve", path, (char *const *)argv, environ);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
    GATHER_ARGS(arg, argv, ap)
    va_end(ap);
    return traced_exec("execvpe", file, (char *const *)argv, environ);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
    GATHER_ARGS(arg, argv, ap)
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return traced_exec("execve", path, (char *const *)argv, envp);
}
