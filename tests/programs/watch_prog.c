/* A server-like program for `leakshim watch`, one mode per argv[1]:
 *   steady_then_leak STEADY_MS LEAK_MS
 *       a request every millisecond that allocates and frees (steady), for STEADY_MS; then
 *       the mark "leak-start" and the line "leaking" on stdout, and for LEAK_MS each request
 *       also leaks 256 bytes from leak_session_token; exits normally
 *   hold FILE
 *       keeps 16 blocks of 64 KiB from hold_buffers (1 MiB), prints "holding", and idles until
 *       FILE exists; then frees nothing and exits normally
 *   churn
 *       steady requests until killed
 * Every request allocates a 300-byte buffer and a 40-byte header copy, and frees both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "leakshim.h"

#define NOINLINE __attribute__((noinline))

static void *volatile sink;

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

NOINLINE void *leak_session_token(void)
{
    char *p = malloc(256);
    memset(p, 7, 256);
    return p;
}

NOINLINE void handle_request(int leak)
{
    char *buffer = malloc(300);
    char *header = malloc(40);
    memset(buffer, 1, 300);
    memcpy(header, buffer, 40);
    sink = header;
    free(header);
    free(buffer);
    if (leak)
        sink = leak_session_token();
}

static void serve(long ms, int leak)
{
    long end = now_ms() + ms;
    while (now_ms() < end) {
        handle_request(leak);
        pause_ms(1);
    }
}

NOINLINE void hold_buffers(void **blocks, int n)
{
    for (int i = 0; i < n; i++) {
        blocks[i] = malloc(64 * 1024);
        memset(blocks[i], 3, 64 * 1024);
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 4 && strcmp(argv[1], "steady_then_leak") == 0) {
        serve(atol(argv[2]), 0);
        leakshim_mark("leak-start");
        puts("leaking");
        serve(atol(argv[3]), 1);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "hold") == 0) {
        static void *blocks[16];
        hold_buffers(blocks, 16);
        puts("holding");
        while (access(argv[2], F_OK) != 0)
            pause_ms(20);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "churn") == 0) {
        for (;;)
            serve(1000, 0);
    }
    fprintf(stderr, "usage: watch_prog steady_then_leak STEADY_MS LEAK_MS | hold FILE | churn\n");
    return 2;
}
