/* Ends in a chosen way after leaking 64 bytes from status_leak.
 *
 *   exit_status CODE          exit(CODE)
 *   exit_status signal SIG    raise(SIG) with the default action, 200 ms after the leak
 *                             (time enough for the shim to have written it out)
 *   exit_status _exit CODE    _exit(CODE): no atexit handlers, no destructors
 *   exit_status pause         print "ready", then wait for a signal (default actions) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink;

NOINLINE void status_leak(void) { sink = malloc(64); }

int main(int argc, char **argv)
{
    status_leak();
    if (argc > 2 && strcmp(argv[1], "signal") == 0) {
        int sig = atoi(argv[2]);
        struct timespec pause = {0, 200 * 1000 * 1000};
        nanosleep(&pause, NULL);
        signal(sig, SIG_DFL);
        raise(sig);
        return 100; /* not reached for a fatal signal */
    }
    if (argc > 1 && strcmp(argv[1], "pause") == 0) {
        printf("ready\n");
        fflush(stdout);
        for (;;)
            pause();
    }
    if (argc > 2 && strcmp(argv[1], "_exit") == 0)
        _exit(atoi(argv[2]));
    return argc > 1 ? atoi(argv[1]) : 0;
}
